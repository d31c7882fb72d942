"""Fast TF-IDF features for a fitted n-gram vocabulary: what the classifier computes per passage.

scikit-learn's ``TfidfVectorizer`` learns the vocabulary and the idf weights when a model is
trained; applying them afterwards is a pure-Python walk that builds every n-gram string of every
passage, which made the classifier ten times slower than the rules. :class:`NgramTfidf` gives the
same matrix (the same counts, sublinear tf, idf and l2 norm; equal to float rounding, as tests
check against scikit-learn) from the fitted vocabulary, with the per-token work in C:

- word n-grams (the ``(?u)\\b\\w\\w+\\b`` tokens, lower-cased): each token is looked up once, in a
  dictionary of the words the vocabulary uses, and word pairs are found by number with numpy;
- character n-grams inside word boundaries (``char_wb``): a word's n-grams depend on the word
  alone, so they are computed once per distinct word and kept in a cache; a passage's counts
  are then its word counts times the words' n-gram counts, one sparse product per batch.

Only numpy and scipy are needed, so coding with a saved model does not import scikit-learn.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import chain
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

__all__ = ["ANALYZERS", "NgramTfidf"]

#: the analyzers :class:`NgramTfidf` reproduces, as scikit-learn names them
ANALYZERS = ("word", "char_wb")

#: scikit-learn's default token pattern for word n-grams
_TOKEN = re.compile(r"(?u)\b\w\w+\b")


class _Index(dict[str, int]):
    """A word -> number dictionary that answers -1 for a word it does not hold."""

    def __missing__(self, key: str) -> int:
        return -1


class NgramTfidf:
    """The TF-IDF rows of texts over a fixed n-gram ``vocabulary`` with weights ``idf``.

    ``vocabulary[i]`` is feature ``i`` (as ``get_feature_names_out()`` lists a fitted
    ``TfidfVectorizer``), ``analyzer`` is ``"word"`` or ``"char_wb"``, and ``ngram_range`` the
    n-gram sizes it was fitted with. Texts are lower-cased; term counts get ``1 + log(tf)``
    when ``sublinear_tf``, are multiplied by idf, and each row has unit length.

    >>> tfidf = NgramTfidf("word", (1, 2), ["letters", "letters prisoners", "prisoners"],
    ...                    [1.0, 2.0, 1.0])
    >>> tfidf.transform(["Letters to prisoners", "letters prisoners"]).toarray().round(3)
    array([[0.707, 0.   , 0.707],
           [0.408, 0.816, 0.408]])
    """

    #: distinct words whose character n-grams are kept (a word costs a few hundred bytes)
    CACHE_SIZE = 300_000

    def __init__(
        self,
        analyzer: str,
        ngram_range: tuple[int, int],
        vocabulary: Iterable[str],
        idf: Iterable[float],
        *,
        sublinear_tf: bool = True,
    ) -> None:
        if analyzer not in ANALYZERS:
            raise ValueError(f"analyzer must be one of {', '.join(ANALYZERS)}, not {analyzer!r}")
        low, high = (int(n) for n in ngram_range)
        if not 1 <= low <= high:
            raise ValueError(f"ngram_range must be (low, high), 1 <= low <= high: {ngram_range}")
        self.analyzer = analyzer
        self.ngram_range = (low, high)
        self.sublinear_tf = sublinear_tf
        self.vocabulary_: dict[str, int] = {str(t): i for i, t in enumerate(vocabulary)}
        self.idf_ = np.array(list(idf), dtype=np.float64)
        if len(self.idf_) != len(self.vocabulary_):
            raise ValueError(
                f"{len(self.vocabulary_)} distinct vocabulary entries but {len(self.idf_)} idf "
                "weights: they must pair one to one"
            )
        self._words: _Index | None = None
        self._cache: dict[str, tuple[np.ndarray, np.ndarray, int]] = {}
        self._tokens: dict[str, tuple[int, ...]] = {}  # white-space chunk -> word numbers

    @classmethod
    def from_sklearn(cls, vectorizer: Any) -> NgramTfidf:
        """The fitted ``TfidfVectorizer``'s features, computed the fast way.

        Only what this class reproduces is accepted: the default token pattern and
        preprocessing, lower-casing, no stop words, l2 norm and idf.
        """
        params = vectorizer.get_params()
        expected = {
            "lowercase": True, "preprocessor": None, "tokenizer": None, "stop_words": None,
            "strip_accents": None, "norm": "l2", "use_idf": True, "binary": False,
            "token_pattern": _TOKEN.pattern,
        }
        odd = {k: params[k] for k, v in expected.items() if params.get(k, v) != v}
        if odd or params["analyzer"] not in ANALYZERS:
            raise ValueError(f"NgramTfidf cannot reproduce a vectorizer with {odd or params}")
        return cls(
            params["analyzer"], params["ngram_range"], vectorizer.get_feature_names_out(),
            vectorizer.idf_, sublinear_tf=params["sublinear_tf"],
        )

    def __getstate__(self) -> dict[str, Any]:
        # the caches rebuild themselves: a copy sent to a worker process leaves them behind
        return {**self.__dict__, "_words": None, "_cache": {}, "_tokens": {}}

    def get_feature_names_out(self) -> np.ndarray:
        return np.asarray(list(self.vocabulary_), dtype=str)

    # --- transforming -------------------------------------------------------------------------

    def transform(self, texts: Sequence[str]) -> csr_matrix:
        """The TF-IDF rows of ``texts``: a CSR matrix of ``len(texts)`` x vocabulary size."""
        lowered = [str(t).lower() for t in texts]
        if self.analyzer == "word":
            return self._weigh(self._word_counts(lowered))
        return self._weigh(self._char_counts(lowered))

    def _weigh(self, counts: csr_matrix) -> csr_matrix:
        """Counts -> sublinear tf times idf, each row scaled to unit length."""
        # the order of features within a row does not matter to the classifier; not sorting
        # them saves a third of the time
        data = counts.data.astype(np.float64)
        if self.sublinear_tf:
            np.log(data, out=data)
            data += 1.0
        data *= self.idf_[counts.indices]
        lengths = np.diff(counts.indptr)
        filled = lengths > 0
        norms = np.ones(len(lengths))
        if len(data):
            # a row's slice ends where the next non-empty row starts, so reduceat sums rows
            norms[filled] = np.sqrt(np.add.reduceat(data * data, counts.indptr[:-1][filled]))
        data /= np.repeat(norms, lengths)
        counts.data = data
        return counts

    def _word_counts(self, texts: list[str]) -> csr_matrix:
        """Counts of the vocabulary's word n-grams (unigrams and longer, scikit-learn's way)."""
        # a token never spans white space, so a text's tokens are those of its white-space
        # chunks in order: each distinct chunk is tokenized once and its word numbers cached
        chunks = [text.split() for text in texts]
        flat_chunks = list(chain.from_iterable(chunks))
        words = self._word_index()
        cache = self._tokens
        if len(cache) > self.CACHE_SIZE:
            cache.clear()
        for chunk in set(flat_chunks).difference(cache):
            cache[chunk] = tuple(map(words.__getitem__, _TOKEN.findall(chunk)))
        per_chunk = list(map(cache.__getitem__, flat_chunks))
        chunk_sizes = np.fromiter(map(len, per_chunk), dtype=np.int64, count=len(per_chunk))
        flat = np.fromiter(chain.from_iterable(per_chunk), dtype=np.int64,
                           count=int(chunk_sizes.sum()))
        through = np.concatenate(([0], np.cumsum(chunk_sizes)))
        last_chunk = np.cumsum(np.fromiter(map(len, chunks), dtype=np.int64, count=len(chunks)))
        lengths = np.diff(np.concatenate(([0], through[last_chunk])))
        starts = np.concatenate(([0], np.cumsum(lengths)))
        rows: list[np.ndarray] = []
        features: list[np.ndarray] = []
        low, high = self.ngram_range
        doc_of = np.repeat(np.arange(len(texts)), lengths)
        for n in range(low, high + 1):
            if len(flat) < n:
                break
            found, where = self._ngram_features(flat, n)
            # an n-gram must not run across the end of one text into the next
            where_doc = doc_of[where]
            inside = where + n - 1 < starts[where_doc + 1]
            rows.append(where_doc[inside])
            features.append(found[inside])
        return _count_matrix(rows, features, len(texts), len(self.vocabulary_))

    def _word_index(self) -> _Index:
        """Every word some word n-gram of the vocabulary holds -> a number for it."""
        if self._words is None:
            words = _Index()
            for gram in self.vocabulary_:
                for word in gram.split(" "):
                    words.setdefault(word, len(words))
            self._words = words
            size = len(words)
            # n-gram -> feature, keyed by its words' numbers in base ``size``
            self._keys: dict[int, tuple[np.ndarray, np.ndarray]] = {}
            by_n: dict[int, list[tuple[int, int]]] = {}
            for gram, feature in self.vocabulary_.items():
                parts = gram.split(" ")
                key = 0
                for part in parts:
                    key = key * size + words[part]
                by_n.setdefault(len(parts), []).append((key, feature))
            for n, pairs in by_n.items():
                pairs.sort()
                self._keys[n] = (np.array([k for k, _ in pairs], dtype=object if
                                          size ** n >= 2**63 else np.int64),
                                 np.array([f for _, f in pairs], dtype=np.int64))
        return self._words

    def _ngram_features(self, flat: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Features of the n-grams starting at each token position that are in the vocabulary,
        and those positions."""
        keys, feats = self._keys.get(n, (np.empty(0, np.int64), np.empty(0, np.int64)))
        count = len(flat) - n + 1
        if not len(keys) or count <= 0:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        known = np.ones(count, dtype=bool)
        size = len(self._words or ())
        key = np.zeros(count, dtype=keys.dtype)
        for k in range(n):
            part = flat[k : k + count]
            known &= part >= 0
            key = key * size + np.where(part >= 0, part, 0).astype(keys.dtype)
        positions = np.flatnonzero(known)
        key = key[positions]
        slot = np.searchsorted(keys, key)
        slot[slot >= len(keys)] = 0
        hit = keys[slot] == key
        return feats[slot[hit]], positions[hit]

    def _char_counts(self, texts: list[str]) -> csr_matrix:
        """Counts of character n-grams inside word boundaries: per-word n-grams, cached."""
        from scipy.sparse import csr_matrix

        words = [text.split() for text in texts]
        flat = list(chain.from_iterable(words))
        distinct = {w: i for i, w in enumerate(dict.fromkeys(flat))}
        lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
        word_of = np.fromiter(map(distinct.__getitem__, flat), dtype=np.int64, count=len(flat))
        # one entry per word occurrence, repeats included: the sparse product sums them
        per_word = csr_matrix(
            (np.ones(len(flat), dtype=np.float64), word_of,
             np.concatenate(([0], np.cumsum(lengths)))),
            shape=(len(texts), len(distinct)),
        )
        if len(self._cache) + len(distinct) > self.CACHE_SIZE:
            self._cache.clear()
        cache = self._cache
        grams = [cache[w] if w in cache else self._grams_of(w) for w in distinct]
        sizes = np.fromiter((g[2] for g in grams), dtype=np.int64, count=len(grams))
        empty = np.empty(0, np.int64)
        # each word's features are distinct (its counts sum repeats), so there are no duplicates
        word_grams = csr_matrix(
            (np.concatenate([g[1] for g in grams]) if grams else empty.astype(np.float64),
             np.concatenate([g[0] for g in grams]) if grams else empty,
             np.concatenate(([0], np.cumsum(sizes)))),
            shape=(len(distinct), len(self.vocabulary_)),
        )
        counts = (per_word @ word_grams).tocsr()
        counts.eliminate_zeros()
        return counts

    def _grams_of(self, word: str) -> tuple[np.ndarray, np.ndarray, int]:
        """The vocabulary features of one word's character n-grams, their counts and how many
        there are; cached."""
        padded = f" {word} "
        size = len(padded)
        low, high = self.ngram_range
        grams = [padded[i : i + n] for n in range(low, min(high, size - 1) + 1)
                 for i in range(size - n + 1)]
        if high >= size:  # a word shorter than n counts once, as the padded word itself
            grams.append(padded)
        counted = Counter(map(self.vocabulary_.get, grams))
        counted.pop(None, None)  # n-grams outside the vocabulary
        found = len(counted)
        result = (
            np.fromiter(counted.keys(), dtype=np.int64, count=found),
            np.fromiter(counted.values(), dtype=np.float64, count=found),
            found,
        )
        self._cache[word] = result
        return result


def _count_matrix(
    rows: list[np.ndarray], features: list[np.ndarray], n_rows: int, n_features: int
) -> csr_matrix:
    from scipy.sparse import csr_matrix

    row = np.concatenate(rows) if rows else np.empty(0, np.int64)
    col = np.concatenate(features) if features else np.empty(0, np.int64)
    counts = csr_matrix(
        (np.ones(len(row), dtype=np.float64), (row, col)), shape=(n_rows, n_features)
    )
    counts.sum_duplicates()
    return counts
