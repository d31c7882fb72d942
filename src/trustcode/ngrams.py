"""Fast TF-IDF features for a fitted n-gram vocabulary: what the classifier computes per passage.

scikit-learn's ``TfidfVectorizer`` learns the vocabulary and the idf weights when a model is
trained; applying them afterwards is a pure-Python walk that builds every n-gram string of every
passage, which made the classifier ten times slower than the rules. :class:`NgramTfidf` gives the
same matrix (the same counts, sublinear tf, idf and l2 norm; equal to float rounding, as tests
check against scikit-learn) from the fitted vocabulary, and :class:`NgramFeatures` the rows of
several of them side by side (the classifier's word and character n-grams) from one pass over
the texts. Neither n-gram kind crosses white space except word pairs, so the work is per
white-space *chunk* of the lower-cased text:

- each distinct chunk gets a number in a chunk table kept across batches (bounded by
  ``CACHE_SIZE``), with its character n-gram counts (``char_wb``: n-grams inside word
  boundaries) and the numbers of its words (the ``(?u)\\b\\w\\w+\\b`` tokens) in growing arrays.
  A batch's new chunks are counted together with numpy, each character a digit of an integer
  key (:class:`_CharTables`), which matters on real text, where new chunks keep coming;
- a batch is then one lower-casing, one split and one dictionary look-up per chunk; its words
  are gathered from the chunks' rows with numpy, and word n-grams found by number;
- one sparse product sums it all: each text's row holds its chunks (whose rows carry their
  character n-gram counts) and its word n-grams (rows that carry just that feature).

Only numpy and scipy are needed, so coding with a saved model does not import scikit-learn.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import chain, repeat
from operator import methodcaller
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

__all__ = ["ANALYZERS", "NgramFeatures", "NgramTfidf"]

#: the analyzers :class:`NgramTfidf` reproduces, as scikit-learn names them
ANALYZERS = ("word", "char_wb")

#: scikit-learn's default token pattern for word n-grams
_TOKEN = re.compile(r"(?u)\b\w\w+\b")

#: the spaces of a word n-gram (one less than its words)
_SPACES = methodcaller("count", " ")


class _Index(dict[str, int]):
    """A word -> number dictionary that answers -1 for a word it does not hold."""

    def __missing__(self, key: str) -> int:
        return -1


class _WordTables:
    """A word vocabulary by number: word -> number, number -> unigram feature, and each longer
    n-gram's key (its words' numbers in base ``size``) -> feature, keys sorted."""

    def __init__(self, vocabulary: dict[str, int]) -> None:
        terms = list(vocabulary)
        # all words of all n-grams from one join and split: a list per n-gram costs 5 times more
        flat = " ".join(terms).split(" ") if terms else []
        distinct = dict.fromkeys(flat)  # words numbered in order of first appearance
        words = _Index(zip(distinct, range(len(distinct)), strict=True))
        size = len(words)
        lengths = np.fromiter(map(_SPACES, terms), dtype=np.int64, count=len(terms)) + 1
        numbers = np.fromiter(map(words.__getitem__, flat), dtype=np.int64, count=len(flat))
        first = np.cumsum(lengths) - lengths  # where each gram's word numbers start
        features = np.fromiter(vocabulary.values(), dtype=np.int64, count=len(terms))
        # the last entry answers for word number -1 (a word outside the vocabulary)
        unigram = np.full(size + 1, -1, dtype=np.int64)
        single = np.flatnonzero(lengths == 1)
        unigram[numbers[first[single]]] = features[single]
        keys: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        # per n, which words begin and which end some n-gram (the last entry: word -1, none)
        ends: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for n in np.unique(lengths[lengths > 1]).tolist():
            chosen = np.flatnonzero(lengths == n)
            parts = numbers[first[chosen][:, None] + np.arange(n)]  # one row of words per gram
            if size**n >= 2**63:  # keys past int64 stay Python integers
                key = np.zeros(len(chosen), dtype=object)
                for k in range(n):
                    key = key * size + parts[:, k].astype(object)
            else:
                key = parts @ (size ** np.arange(n - 1, -1, -1, dtype=np.int64))
            order = np.argsort(key, kind="stable")
            keys[n] = (key[order], features[chosen][order])
            begins, finishes = np.zeros(size + 1, dtype=bool), np.zeros(size + 1, dtype=bool)
            begins[parts[:, 0]] = True
            finishes[parts[:, -1]] = True
            ends[n] = (begins, finishes)
        self.words, self.size, self.unigram, self.keys, self.ends = words, size, unigram, keys, ends
        self.hashed = {n: _HashIndex(*pair) for n, pair in keys.items() if pair[0].dtype != object}

    def ngrams(self, flat: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Features of the n-grams starting at each position of the word numbers ``flat`` that
        are in the vocabulary, and those positions."""
        if n == 1:
            found = self.unigram[flat]  # -1 indexes the last entry: no feature
            positions = np.flatnonzero(found >= 0)
            return found[positions], positions
        keys, feats = self.keys.get(n, (np.empty(0, np.int64), np.empty(0, np.int64)))
        count = len(flat) - n + 1
        if not len(keys) or count <= 0:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        # only positions whose first and last words begin and end some n-gram are looked up
        begins, finishes = self.ends[n]
        known = begins[flat[:count]] & finishes[flat[n - 1 :]]
        for k in range(1, n - 1):
            known &= flat[k : k + count] >= 0
        positions = np.flatnonzero(known)
        key = np.zeros(len(positions), dtype=keys.dtype)
        for k in range(n):
            key = key * self.size + flat[positions + k].astype(keys.dtype)
        hashed = self.hashed.get(n)
        if hashed is not None:
            found = hashed.lookup(key)
            hit = found >= 0
            return found[hit], positions[hit]
        slot = np.searchsorted(keys, key)
        slot[slot >= len(keys)] = 0
        hit = keys[slot] == key
        return feats[slot[hit]], positions[hit]


class _HashIndex:
    """Sorted non-negative int64 keys -> values, looked up many at once: an open-addressing
    table (linear probing, at most a quarter full) answers most keys in one or two probes, a
    binary search the few left; together several times faster than the search alone."""

    #: probes before the binary search takes the keys still unanswered
    PROBES = 2

    def __init__(self, keys: np.ndarray, values: np.ndarray) -> None:
        self.sorted_keys, self.sorted_values = keys, values
        bits = max(4, (4 * len(keys)).bit_length())
        self.mask = (1 << bits) - 1
        self.shift = np.uint64(64 - bits)
        self.keys = np.full(1 << bits, -1, dtype=np.int64)  # -1: an empty slot
        self.values = np.zeros(1 << bits, dtype=np.int64)
        slot = self._slots(keys)
        pending = np.arange(len(keys))
        while len(pending):
            free = self.keys[slot[pending]] == -1
            # of the keys that want one free slot, the first takes it; the others probe on
            _, first = np.unique(slot[pending[free]], return_index=True)
            placed = pending[free][first]
            self.keys[slot[placed]] = keys[placed]
            self.values[slot[placed]] = values[placed]
            pending = np.setdiff1d(pending, placed, assume_unique=True)
            slot[pending] = (slot[pending] + 1) & self.mask

    def _slots(self, keys: np.ndarray) -> np.ndarray:
        # Fibonacci hashing: the top bits of the key times 2**64 / golden ratio
        spread = keys.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        return (spread >> self.shift).astype(np.int64)

    def lookup(self, keys: np.ndarray) -> np.ndarray:
        """The value of each key, -1 for a key not in the table."""
        found = np.full(len(keys), -1, dtype=np.int64)
        slot = self._slots(keys)
        pending = np.arange(len(keys))
        for _ in range(self.PROBES):
            held = self.keys[slot]
            hit = held == keys[pending]
            found[pending[hit]] = self.values[slot[hit]]
            going = ~hit & (held != -1)  # an empty slot ends the probe: the key is absent
            pending, slot = pending[going], (slot[going] + 1) & self.mask
            if not len(pending):
                return found
        if not len(self.sorted_keys):
            return found
        rest = keys[pending]
        where = np.minimum(np.searchsorted(self.sorted_keys, rest), len(self.sorted_keys) - 1)
        hit = self.sorted_keys[where] == rest
        found[pending[hit]] = self.sorted_values[where[hit]]
        return found


class _CharTables:
    """A character n-gram vocabulary as integer keys, so that the n-grams of many new chunks
    are found with numpy rather than one Python step per n-gram.

    Each character of the vocabulary is a digit ``1 .. base - 1`` (sorted code points); an
    n-gram's key is its digits in base ``base``. Keys of n-grams of different lengths never
    meet: an n-gram's key lies in ``[base ** (n - 1), base ** n)`` (its first digit is not 0).
    A character outside the vocabulary is the digit 0, so an n-gram holding one matches no
    key, and one starting with it is not looked up at all. ``usable`` is False when the keys
    would not fit in int64 (an alphabet of thousands of characters): the caller then counts
    chunk by chunk.
    """

    def __init__(self, vocabulary: dict[str, int], high: int) -> None:
        terms = list(vocabulary)
        self.alphabet = np.unique(_code_points("".join(terms)))
        self.base = len(self.alphabet) + 1
        longest = max(map(len, terms), default=0)
        self.usable = self.base ** max(high, longest) < 2**63
        if not self.usable:
            return
        lengths = np.fromiter(map(len, terms), dtype=np.int64, count=len(terms))
        keys = self._keys(self._digits("".join(terms)), np.cumsum(lengths) - lengths, lengths)
        features = np.fromiter(vocabulary.values(), dtype=np.int64, count=len(terms))
        order = np.argsort(keys, kind="stable")
        self.index = _HashIndex(keys[order], features[order])

    def _digits(self, text: str) -> np.ndarray:
        points = _code_points(text)
        where = np.minimum(np.searchsorted(self.alphabet, points), max(len(self.alphabet) - 1, 0))
        known = self.alphabet[where] == points if len(self.alphabet) else points < 0
        return np.where(known, where + 1, 0)

    def _keys(self, digits: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """The key of each stretch ``digits[start : start + length]``."""
        keys = np.zeros(len(starts), dtype=np.int64)
        for k in range(int(lengths.max(initial=0))):
            more = lengths > k  # stretches that still have a k-th character
            keys[more] = keys[more] * self.base + digits[starts[more] + k]
        return keys

    def rows(self, chunks: list[str], low: int, high: int) -> tuple[np.ndarray, np.ndarray,
                                                                   np.ndarray]:
        """Each chunk's vocabulary features with their counts, as ``_char_counts`` gives them
        (in the order they first occur, short n-grams first): the number of features of each
        chunk, then all features and all counts, chunk after chunk."""
        count = len(chunks)
        sizes = np.fromiter(map(len, chunks), dtype=np.int64, count=count) + 2  # padded
        # the padded chunks one after another: " a  b " holds " a " and " b "
        digits = self._digits(" " + "  ".join(chunks) + " ") if count else np.zeros(0, np.int64)
        starts = np.cumsum(sizes) - sizes
        owners: list[np.ndarray] = []
        places: list[np.ndarray] = []
        lengths: list[np.ndarray] = []
        for n in range(low, high + 1):  # every n-gram of each chunk longer than n ...
            longer = np.flatnonzero(sizes > n)
            each = sizes[longer] - n + 1
            through = np.cumsum(each)
            owners.append(np.repeat(longer, each))
            places.append(np.repeat(starts[longer] - (through - each), each)
                          + np.arange(through[-1] if len(through) else 0))
            lengths.append(np.full(len(owners[-1]), n, dtype=np.int64))
        short = np.flatnonzero(sizes <= high)  # ... and, last, a short chunk whole, once
        owners.append(short)
        places.append(starts[short])
        lengths.append(sizes[short])
        owner, place, length = (np.concatenate(parts) for parts in (owners, places, lengths))
        features = np.full(len(place), -1, dtype=np.int64)
        led = np.flatnonzero(digits[place] > 0) if len(place) else place
        features[led] = self.index.lookup(self._keys(digits, place[led], length[led]))
        found = np.flatnonzero(features >= 0)
        # the n-grams in each chunk's order (the blocks above are by n, then by chunk)
        found = found[np.argsort(owner[found], kind="stable")]
        width = int(self.index.sorted_values.max(initial=0)) + 1
        pairs = owner[found] * width + features[found]
        distinct, first, counts = np.unique(pairs, return_index=True, return_counts=True)
        order = np.argsort(first, kind="stable")  # each chunk's features as first met
        distinct, counts = distinct[order], counts[order]
        per_chunk = np.bincount(distinct // width, minlength=count)
        return per_chunk, distinct % width, counts


def _code_points(text: str) -> np.ndarray:
    """The code points of ``text`` (lone surrogates included) as an int64 array."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4").astype(np.int64)


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
    ) -> None:
        if analyzer not in ANALYZERS:
            raise ValueError(f"analyzer must be one of {', '.join(ANALYZERS)}, not {analyzer!r}")
        low, high = (int(n) for n in ngram_range)
        if not 1 <= low <= high:
            raise ValueError(f"ngram_range must be (low, high), 1 <= low <= high: {ngram_range}")
        self.analyzer = analyzer
        self.ngram_range = (low, high)
        self.sublinear_tf = sublinear_tf
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
        self._tables: _WordTables | None = None
        self._chars: _CharTables | None = None
        self._alone: NgramFeatures | None = None

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

    def _word_tables(self) -> _WordTables:
        tables = self._tables
        if tables is None:
            tables = self._tables = _WordTables(self.vocabulary_)
        return tables

    def _char_rows(self, chunks: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The character n-gram rows of new ``chunks``: per chunk its number of features, then
        all their features and counts (see :meth:`_CharTables.rows`)."""
        tables = getattr(self, "_chars", None)  # a copy pickled before this table existed
        if tables is None:
            tables = self._chars = _CharTables(self.vocabulary_, self.ngram_range[1])
        if tables.usable:
            return tables.rows(chunks, *self.ngram_range)
        grams = [self._char_counts(chunk) for chunk in chunks]
        sizes = np.fromiter(map(len, grams), dtype=np.int64, count=len(grams))
        total = int(sizes.sum())
        cols = np.fromiter(chain.from_iterable(grams), dtype=np.int64, count=total)
        counts = np.fromiter(chain.from_iterable(g.values() for g in grams),
                             dtype=np.int64, count=total)
        return sizes, cols, counts

    def _char_counts(self, chunk: str) -> Counter[int | None]:
        """The vocabulary features among one chunk's character n-grams, with their counts, in
        the order the n-grams first occur (short ones first); never the key None."""
        padded = f" {chunk} "
        size = len(padded)
        low, high = self.ngram_range
        grams = [padded[i : i + n] for n in range(low, min(high, size - 1) + 1)
                 for i in range(size - n + 1)]
        if high >= size:  # a word shorter than n counts once, as the padded word itself
            grams.append(padded)
        counted = Counter(map(self.vocabulary_.get, grams))
        counted.pop(None, None)  # n-grams outside the vocabulary
        return counted


class _Growing:
    """An int32 array that grows by appending, in place while it has room."""

    def __init__(self, first: np.ndarray | None = None) -> None:
        self.size = 0 if first is None else len(first)
        self.array = np.zeros(max(1024, 2 * self.size), dtype=np.int32)
        if first is not None:
            self.array[: self.size] = first

    def extend(self, values: np.ndarray) -> None:
        end = self.size + len(values)
        if end > len(self.array):
            # a new array: a reader holding a view of the old one keeps valid contents
            bigger = np.zeros(max(end, 2 * len(self.array)), dtype=np.int32)
            bigger[: self.size] = self.array[: self.size]
            self.array = bigger
        self.array[self.size : end] = values
        self.size = end

    def view(self) -> np.ndarray:
        return self.array[: self.size]


class _ChunkTable:
    """Distinct white-space chunks -> numbers, with each chunk's row of the sparse product
    (its character n-gram counts) and its words' numbers.

    Rows ``0 .. n_word_features - 1`` of the product's right-hand matrix hold one word feature
    each; chunk ``i`` is row ``n_word_features + i``.
    """

    def __init__(self, n_word_features: int, word_offset: int) -> None:
        self.index: dict[str, int] = {}
        self.ptr = _Growing(np.arange(n_word_features + 1))
        self.cols = _Growing(np.arange(n_word_features) + word_offset)
        self.counts = _Growing(np.ones(n_word_features))
        self.word_ptr = _Growing(np.zeros(1))
        self.word_numbers = _Growing()

    def add(self, chunks: list[str], char: NgramTfidf | None, char_offset: int,
            words: _WordTables | None) -> None:
        """Give ``chunks`` (distinct, not yet in the table) their numbers and rows."""
        count = len(chunks)
        if char is not None:
            sizes, cols, counts = char._char_rows(chunks)
            self.cols.extend(cols + char_offset)
            self.counts.extend(counts)
        else:
            sizes = np.zeros(count, dtype=np.int64)
        self.ptr.extend(self.ptr.array[self.ptr.size - 1] + np.cumsum(sizes))
        if words is not None:
            lookup = words.words.__getitem__
            numbers = [list(map(lookup, _TOKEN.findall(chunk))) for chunk in chunks]
            lengths = np.fromiter(map(len, numbers), dtype=np.int64, count=count)
            self.word_numbers.extend(np.fromiter(
                chain.from_iterable(numbers), dtype=np.int64, count=int(lengths.sum())
            ))
            self.word_ptr.extend(self.word_ptr.array[self.word_ptr.size - 1] + np.cumsum(lengths))
        # numbers are published last, once the rows they point to are written
        self.index.update(zip(chunks, range(len(self.index), len(self.index) + count), strict=True))

    def entries(self) -> int:
        return self.cols.size


class NgramFeatures:
    """The TF-IDF rows of several fitted :class:`NgramTfidf` parts side by side, each part of
    unit length per text: the same matrix as stacking the parts' own ``transform`` results
    horizontally, from one lower-casing and split of the texts.

    At most one part of each analyzer. The chunk table behind it is bounded (``CACHE_SIZE``
    chunks) and guarded by a lock, so threads may share one instance.

    >>> word = NgramTfidf("word", (1, 1), ["letters", "prisoners"], [1.0, 1.0])
    >>> char = NgramTfidf("char_wb", (3, 3), [" le", "ers"], [1.0, 1.0])
    >>> NgramFeatures([word, char]).transform(["Letters to prisoners"]).toarray().round(3)
    array([[0.707, 0.707, 0.509, 0.861]])
    """

    #: distinct chunks whose rows are kept (a chunk costs a few hundred bytes)
    CACHE_SIZE = 300_000
    #: at most this many entries per chunk on average, so long chunks cannot swell the table
    ENTRIES_PER_CHUNK = 64

    def __init__(self, parts: Sequence[NgramTfidf]) -> None:
        self.parts = tuple(parts)
        kinds = [part.analyzer for part in self.parts]
        if len(set(kinds)) != len(kinds) or not kinds:
            raise ValueError(f"NgramFeatures takes one part per analyzer, at least one: {kinds}")
        sizes = [len(part.vocabulary_) for part in self.parts]
        offsets = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
        self.n_features = int(offsets[-1])
        self._idf = np.concatenate([part.idf_ for part in self.parts])
        self._offsets = offsets
        by_kind: dict[str, tuple[NgramTfidf, int]] = {
            part.analyzer: (part, int(offsets[i])) for i, part in enumerate(self.parts)
        }
        self._word: NgramTfidf | None = by_kind.get("word", (None, 0))[0]
        self._word_offset: int = by_kind.get("word", (None, 0))[1]
        self._char: NgramTfidf | None = by_kind.get("char_wb", (None, 0))[0]
        self._char_offset: int = by_kind.get("char_wb", (None, 0))[1]
        self._lock = threading.Lock()
        self._table: _ChunkTable | None = None

    def __getstate__(self) -> dict[str, Any]:
        # a copy sent to a worker process leaves the table (and the lock) behind
        return {**self.__dict__, "_lock": None, "_table": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def transform(self, texts: Sequence[str]) -> csr_matrix:
        """The rows of ``texts``: a CSR matrix of ``len(texts)`` x all parts' features.

        The order of features within a row is not sorted (the classifier does not need it).
        """
        from scipy.sparse import csr_matrix

        per_text = [str(text).lower().split() for text in texts]
        flat = list(chain.from_iterable(per_text))
        n_texts = len(per_text)
        chunks_per_text = np.fromiter(map(len, per_text), dtype=np.int64, count=n_texts)
        words = None if self._word is None else self._word._word_tables()
        with self._lock:
            table, ids = self._numbers(flat, words)
            # views of what the table holds now: it may grow or be replaced once unlocked
            ptr, cols, counts = table.ptr.view(), table.cols.view(), table.counts.view()
            word_ptr, word_numbers = table.word_ptr.view(), table.word_numbers.view()
        n_word = self._n_word()
        if words is not None:
            rows, features, keys = self._word_ngrams(
                words, ids, chunks_per_text, word_ptr, word_numbers
            )
        else:
            rows = features = keys = np.empty(0, dtype=np.int64)
        # each text's row of the left-hand matrix: its chunks in order, then its word n-grams
        # in decreasing order (the product lists a row's features newest first, so the words
        # come out in increasing order, before the character n-grams)
        per_chunk = chunks_per_text if self._char is not None else np.zeros_like(chunks_per_text)
        per_word = np.bincount(rows, minlength=n_texts)
        indptr = np.concatenate(([0], np.cumsum(per_chunk + per_word)))
        left = np.empty(int(indptr[-1]), dtype=np.int32)
        if self._char is not None:
            before = np.cumsum(chunks_per_text) - chunks_per_text
            where = np.arange(len(ids)) + np.repeat(indptr[:-1] - before, chunks_per_text)
            left[where] = ids + n_word
        if len(rows):
            before = np.cumsum(per_word) - per_word
            where = np.arange(len(rows)) + np.repeat(indptr[:-1] + per_chunk - before, per_word)
            left[where] = features
        indptr, indices, counts = _product(indptr, left, ptr, cols, counts, self.n_features)
        # the product sums a feature's repeats: a row has as many word features as distinct pairs
        distinct = np.concatenate(([True], keys[1:] != keys[:-1])) if len(keys) else keys > 0
        data = self._weigh(indptr, indices, counts, np.bincount(rows[distinct], minlength=n_texts))
        return csr_matrix((data, indices, indptr), shape=(n_texts, self.n_features))

    def _numbers(self, flat: list[str], words: _WordTables | None) -> tuple[_ChunkTable,
                                                                             np.ndarray]:
        """The chunk table and the number of each chunk of ``flat`` in it (new chunks added,
        the table replaced by a new one when full). Called under the lock."""
        table = self._table
        if table is None:
            table = self._table = _ChunkTable(self._n_word(), self._word_offset)
        # a list first: numpy pulling from the map item by item costs twice as much
        ids = np.array(list(map(table.index.get, flat, repeat(-1))), dtype=np.int64)
        missing = np.flatnonzero(ids < 0)
        if not len(missing):
            return table, ids
        new = list(dict.fromkeys(flat[i] for i in missing.tolist()))
        if (len(table.index) + len(new) > self.CACHE_SIZE
                or table.entries() > self.ENTRIES_PER_CHUNK * self.CACHE_SIZE):
            table = self._table = _ChunkTable(self._n_word(), self._word_offset)
            new, missing = list(dict.fromkeys(flat)), np.arange(len(flat))
        table.add(new, self._char, self._char_offset, words)
        lookup = table.index.__getitem__
        ids[missing] = np.fromiter(map(lookup, (flat[i] for i in missing.tolist())),
                                   dtype=np.int64, count=len(missing))
        return table, ids

    def _n_word(self) -> int:
        return 0 if self._word is None else len(self._word.vocabulary_)

    def _word_ngrams(
        self,
        words: _WordTables,
        ids: np.ndarray,
        chunks_per_text: np.ndarray,
        word_ptr: np.ndarray,
        word_numbers: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The word n-grams of the vocabulary in each text: (text, feature) pairs, sorted by
        text and then by decreasing feature, and a key for each pair (equal pairs, equal keys)."""
        assert self._word is not None
        starts = word_ptr[ids].astype(np.int64)
        sizes = word_ptr[ids + 1] - starts
        through = np.concatenate(([0], np.cumsum(sizes)))
        # the words of all chunks in order: each chunk's slice of the table's word numbers
        flat = word_numbers[np.repeat(starts - through[:-1], sizes) + np.arange(through[-1])]
        ends = through[np.cumsum(chunks_per_text)]  # where each text's words end
        lengths = np.diff(np.concatenate(([0], ends)))
        doc_of = np.repeat(np.arange(len(chunks_per_text)), lengths)
        rows: list[np.ndarray] = []
        features: list[np.ndarray] = []
        low, high = self._word.ngram_range
        for n in range(low, high + 1):
            if len(flat) < n:
                break
            found, where = words.ngrams(flat, n)
            # an n-gram must not run across the end of one text into the next
            where_doc = doc_of[where]
            inside = where + n - 1 < ends[where_doc]
            rows.append(where_doc[inside])
            features.append(found[inside])
        if not rows:
            return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64)
        size = len(self._word.vocabulary_)
        key = np.concatenate(rows) * size + (size - 1 - np.concatenate(features))
        if len(chunks_per_text) * size < 2**31:
            key = key.astype(np.int32)  # sorts twice as fast
        key.sort()
        return key // size, size - 1 - key % size, key

    def _weigh(
        self, indptr: np.ndarray, indices: np.ndarray, counts: np.ndarray,
        words_per_row: np.ndarray,
    ) -> np.ndarray:
        """The CSR rows' counts -> sublinear tf times idf, each part of each row scaled to unit
        length. A row holds its ``words_per_row`` word features first, then its character
        n-grams."""
        data = counts.astype(np.float64)
        sublinear = [part.sublinear_tf for part in self.parts]
        if all(sublinear):
            np.log(data, out=data)
            data += 1.0
        elif any(sublinear):
            start, stop = self._columns(sublinear.index(True))
            chosen = (indices >= start) & (indices < stop)
            data[chosen] = np.log(data[chosen]) + 1.0
        data *= self._idf[indices]
        if len(data):
            # each row's stretch of word features, then of character n-grams
            stretches = np.empty(2 * len(words_per_row), dtype=np.int64)
            stretches[0::2] = words_per_row
            stretches[1::2] = np.diff(indptr) - words_per_row
            filled = stretches > 0
            starts = (np.cumsum(stretches) - stretches)[filled]
            norms = np.sqrt(np.add.reduceat(data * data, starts))
            data /= np.repeat(norms, stretches[filled])
        return data

    def _columns(self, part: int) -> tuple[int, int]:
        return int(self._offsets[part]), int(self._offsets[part + 1])


def _product(
    left_ptr: np.ndarray, left: np.ndarray, ptr: np.ndarray, cols: np.ndarray,
    counts: np.ndarray, n_features: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR (indptr, indices, data) of L @ R, where L's rows list rows of R (each entry 1,
    ``left_ptr``/``left``) and R is the CSR matrix (``ptr``, ``cols``, ``counts``).

    A row's features come out most recently first seen first: this is scipy's ``@``, with
    scipy's kernel called directly. ``@`` first counts the result's entries in a pass of its
    own; here the lengths of the rows L lists, summed, bound them (each entry of the result
    is first met in one of those rows), which costs next to nothing.
    """
    sizes = ptr[left + 1] - ptr[left]
    bound = int(sizes.sum())
    n_rows = len(left_ptr) - 1
    try:
        from scipy.sparse._sparsetools import csr_matmat
    except ImportError:  # pragma: no cover - scipy moved it: the public way, a little slower
        csr_matmat = None
    if csr_matmat is None or bound >= 2**31 or len(ptr) >= 2**31:
        from scipy.sparse import csr_matrix

        product = csr_matrix(
            (np.ones(len(left), dtype=counts.dtype), left, left_ptr), shape=(n_rows, len(ptr) - 1)
        ) @ csr_matrix((counts, cols, ptr), shape=(len(ptr) - 1, n_features))
        return product.indptr, product.indices, product.data
    out_ptr = np.empty(n_rows + 1, dtype=np.int32)
    out_cols = np.empty(bound, dtype=np.int32)
    out_counts = np.empty(bound, dtype=np.int32)
    csr_matmat(n_rows, n_features, left_ptr.astype(np.int32), left.astype(np.int32, copy=False),
               np.ones(len(left), dtype=np.int32), ptr, cols, counts.astype(np.int32, copy=False),
               out_ptr, out_cols, out_counts)
    nnz = int(out_ptr[-1])
    return out_ptr, out_cols[:nnz], out_counts[:nnz]
