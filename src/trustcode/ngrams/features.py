"""Several vocabularies' rows side by side from one pass over the texts: the chunk table
kept across batches, :class:`NgramFeatures`, and the sparse product that sums each row."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from itertools import chain, repeat
from typing import TYPE_CHECKING, Any

import numpy as np

from .tables import TOKEN, WordTables, is_stop_chunk

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

    from .tfidf import NgramTfidf


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

    def add(
        self, chunks: list[str], char: NgramTfidf | None, char_offset: int, words: WordTables | None
    ) -> None:
        """Give ``chunks`` (distinct, not yet in the table) their numbers and rows."""
        count = len(chunks)
        if char is not None:
            if char.stop_words_:  # a chunk of stop words alone has no character n-grams
                kept = np.flatnonzero([not is_stop_chunk(c, char.stop_words_) for c in chunks])
                sizes = np.zeros(count, dtype=np.int64)
                sizes[kept], cols, counts = char._char_rows([chunks[i] for i in kept.tolist()])
            else:
                sizes, cols, counts = char._char_rows(chunks)
            self.cols.extend(cols + char_offset)
            self.counts.extend(counts)
        else:
            sizes = np.zeros(count, dtype=np.int64)
        self.ptr.extend(self.ptr.array[self.ptr.size - 1] + np.cumsum(sizes))
        if words is not None:
            lookup = words.words.__getitem__
            stop = words.stop_words
            numbers = (
                [[lookup(t) for t in TOKEN.findall(chunk) if t not in stop] for chunk in chunks]
                if stop
                else [list(map(lookup, TOKEN.findall(chunk))) for chunk in chunks]
            )
            lengths = np.fromiter(map(len, numbers), dtype=np.int64, count=count)
            self.word_numbers.extend(
                np.fromiter(chain.from_iterable(numbers), dtype=np.int64, count=int(lengths.sum()))
            )
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

    >>> from trustcode.ngrams import NgramTfidf
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

    def _numbers(self, flat: list[str], words: WordTables | None) -> tuple[_ChunkTable, np.ndarray]:
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
        if (
            len(table.index) + len(new) > self.CACHE_SIZE
            or table.entries() > self.ENTRIES_PER_CHUNK * self.CACHE_SIZE
        ):
            table = self._table = _ChunkTable(self._n_word(), self._word_offset)
            new, missing = list(dict.fromkeys(flat)), np.arange(len(flat))
        table.add(new, self._char, self._char_offset, words)
        lookup = table.index.__getitem__
        ids[missing] = np.fromiter(
            map(lookup, (flat[i] for i in missing.tolist())), dtype=np.int64, count=len(missing)
        )
        return table, ids

    def _n_word(self) -> int:
        return 0 if self._word is None else len(self._word.vocabulary_)

    def _word_ngrams(
        self,
        words: WordTables,
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
        self,
        indptr: np.ndarray,
        indices: np.ndarray,
        counts: np.ndarray,
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
    left_ptr: np.ndarray,
    left: np.ndarray,
    ptr: np.ndarray,
    cols: np.ndarray,
    counts: np.ndarray,
    n_features: int,
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
    csr_matmat(
        n_rows,
        n_features,
        left_ptr.astype(np.int32),
        left.astype(np.int32, copy=False),
        np.ones(len(left), dtype=np.int32),
        ptr,
        cols,
        counts.astype(np.int32, copy=False),
        out_ptr,
        out_cols,
        out_counts,
    )
    nnz = int(out_ptr[-1])
    return out_ptr, out_cols[:nnz], out_counts[:nnz]
