"""The vocabularies as lookup tables: word numbers and word n-gram keys, character n-gram keys,
and an integer hash index that answers many keys at once."""

from __future__ import annotations

import re
from operator import methodcaller

import numpy as np

#: scikit-learn's default token pattern for word n-grams
TOKEN = re.compile(r"(?u)\b\w\w+\b")

#: the spaces of a word n-gram (one less than its words)
_SPACES = methodcaller("count", " ")


class _Index(dict[str, int]):
    """A word -> number dictionary that answers -1 for a word it does not hold."""

    def __missing__(self, key: str) -> int:
        return -1


class WordTables:
    """A word vocabulary by number: word -> number, number -> unigram feature, and each longer
    n-gram's key (its words' numbers in base ``size``) -> feature, keys sorted."""

    def __init__(
        self, vocabulary: dict[str, int], stop_words: frozenset[str] = frozenset()
    ) -> None:
        #: tokens left out of a text's word sequence before its n-grams are formed
        self.stop_words = stop_words
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


class CharTables:
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

    def rows(
        self, chunks: list[str], low: int, high: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
            places.append(
                np.repeat(starts[longer] - (through - each), each)
                + np.arange(through[-1] if len(through) else 0)
            )
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


def is_stop_chunk(chunk: str, stop_words: frozenset[str]) -> bool:
    """Whether a lower-cased white-space chunk holds words and all of them are stop words.

    >>> is_stop_chunk("(the", frozenset({"the"})), is_stop_chunk("theory", frozenset({"the"}))
    (True, False)
    """
    tokens = TOKEN.findall(chunk)
    return bool(tokens) and all(token in stop_words for token in tokens)


def drop_stop_chunks(text: str, stop_words: frozenset[str]) -> str:
    """``text`` lower-cased, without the white-space chunks made of stop words alone: what a
    ``char_wb`` vectorizer is fitted on for :class:`NgramTfidf` with ``stop_words``.

    >>> drop_stop_chunks("The court of appeal", frozenset({"the", "of"}))
    'court appeal'
    """
    return " ".join(c for c in text.lower().split() if not is_stop_chunk(c, stop_words))
