"""One fitted n-gram vocabulary's TF-IDF, computed without scikit-learn: :class:`NgramTfidf`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import chain
from typing import TYPE_CHECKING, Any

import numpy as np

from .features import NgramFeatures
from .tables import TOKEN, CharTables, WordTables

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

#: the analyzers :class:`NgramTfidf` reproduces, as scikit-learn names them
ANALYZERS = ("word", "char_wb")


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

    def __init__(
        self,
        analyzer: str,
        ngram_range: tuple[int, int],
        vocabulary: Iterable[str],
        idf: Iterable[float],
        *,
        sublinear_tf: bool = True,
        stop_words: Iterable[str] = (),
    ) -> None:
        if analyzer not in ANALYZERS:
            raise ValueError(f"analyzer must be one of {', '.join(ANALYZERS)}, not {analyzer!r}")
        low, high = (int(n) for n in ngram_range)
        if not 1 <= low <= high:
            raise ValueError(f"ngram_range must be (low, high), 1 <= low <= high: {ngram_range}")
        self.analyzer = analyzer
        self.ngram_range = (low, high)
        self.sublinear_tf = sublinear_tf
        #: words left out before n-grams are formed: word n-grams skip them, character n-grams
        #: skip the white-space chunks made of them alone (see :func:`drop_stop_chunks`)
        self.stop_words_: frozenset[str] = frozenset(map(str, stop_words))
        # a saved model's vocabulary is a numpy array: tolist() gives Python strings at once
        terms = vocabulary.tolist() if isinstance(vocabulary, np.ndarray) else list(vocabulary)
        self.vocabulary_: dict[str, int] = dict(
            zip(map(str, terms), range(len(terms)), strict=True)
        )
        self.idf_ = np.array(list(idf), dtype=np.float64)
        if len(self.idf_) != len(self.vocabulary_):
            raise ValueError(
                f"{len(self.vocabulary_)} distinct vocabulary entries but {len(self.idf_)} idf "
                "weights: they must pair one to one"
            )
        self._tables: WordTables | None = None
        self._chars: CharTables | None = None
        self._alone: NgramFeatures | None = None

    @classmethod
    def from_sklearn(cls, vectorizer: Any, stop_words: Iterable[str] = ()) -> NgramTfidf:
        """The fitted ``TfidfVectorizer``'s features, computed the fast way.

        Only what this class reproduces is accepted: the default token pattern and
        preprocessing, lower-casing, l2 norm and idf. With ``stop_words``, a word vectorizer
        must have been fitted with the same stop words, and a ``char_wb`` one on texts that
        :func:`drop_stop_chunks` cleared of them.
        """
        params = vectorizer.get_params()
        stop = frozenset(stop_words)
        expected = {
            "lowercase": True,
            "preprocessor": None,
            "tokenizer": None,
            "stop_words": sorted(stop) if stop and params["analyzer"] == "word" else None,
            "strip_accents": None,
            "norm": "l2",
            "use_idf": True,
            "binary": False,
            "token_pattern": TOKEN.pattern,
        }
        found = dict(params)
        if isinstance(found.get("stop_words"), (list, tuple, set, frozenset)):
            found["stop_words"] = sorted(found["stop_words"])
        odd = {k: params[k] for k, v in expected.items() if found.get(k, v) != v}
        if odd or params["analyzer"] not in ANALYZERS:
            raise ValueError(f"NgramTfidf cannot reproduce a vectorizer with {odd or params}")
        return cls(
            params["analyzer"],
            params["ngram_range"],
            vectorizer.get_feature_names_out(),
            vectorizer.idf_,
            sublinear_tf=params["sublinear_tf"],
            stop_words=stop,
        )

    def __getstate__(self) -> dict[str, Any]:
        # the tables rebuild themselves: a copy sent to a worker process leaves them behind
        return {**self.__dict__, "_tables": None, "_chars": None, "_alone": None}

    def get_feature_names_out(self) -> np.ndarray:
        return np.asarray(list(self.vocabulary_), dtype=str)

    def transform(self, texts: Sequence[str]) -> csr_matrix:
        """The TF-IDF rows of ``texts``: a CSR matrix of ``len(texts)`` x vocabulary size."""
        alone = self._alone
        if alone is None:  # two threads may both build one: either serves
            alone = self._alone = NgramFeatures([self])
        return alone.transform(texts)

    # --- what NgramFeatures asks of each part --------------------------------------------------

    def _word_tables(self) -> WordTables:
        tables = self._tables
        if tables is None:
            tables = self._tables = WordTables(self.vocabulary_, self.stop_words_)
        return tables

    def _char_rows(self, chunks: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The character n-gram rows of new ``chunks``: per chunk its number of features, then
        all their features and counts (see :meth:`CharTables.rows`)."""
        tables = getattr(self, "_chars", None)  # a copy pickled before this table existed
        if tables is None:
            tables = self._chars = CharTables(self.vocabulary_, self.ngram_range[1])
        if tables.usable:
            return tables.rows(chunks, *self.ngram_range)
        grams = [self._char_counts(chunk) for chunk in chunks]
        sizes = np.fromiter(map(len, grams), dtype=np.int64, count=len(grams))
        total = int(sizes.sum())
        cols = np.fromiter(chain.from_iterable(grams), dtype=np.int64, count=total)
        counts = np.fromiter(
            chain.from_iterable(g.values() for g in grams), dtype=np.int64, count=total
        )
        return sizes, cols, counts

    def _char_counts(self, chunk: str) -> Counter[int | None]:
        """The vocabulary features among one chunk's character n-grams, with their counts, in
        the order the n-grams first occur (short ones first); never the key None."""
        padded = f" {chunk} "
        size = len(padded)
        low, high = self.ngram_range
        grams = [
            padded[i : i + n]
            for n in range(low, min(high, size - 1) + 1)
            for i in range(size - n + 1)
        ]
        if high >= size:  # a word shorter than n counts once, as the padded word itself
            grams.append(padded)
        counted = Counter(map(self.vocabulary_.get, grams))
        counted.pop(None, None)  # n-grams outside the vocabulary
        return counted
