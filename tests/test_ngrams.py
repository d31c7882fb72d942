"""NgramTfidf gives scikit-learn's TfidfVectorizer matrix from a fitted vocabulary."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import hstack, vstack
from sklearn.feature_extraction.text import TfidfVectorizer

from trustcode.ngrams import NgramFeatures, NgramTfidf

TRAIN = [
    "Volunteers write letters to political prisoners every week.",
    "The hotline answers calls from detainees' relatives at night.",
    "Волонтёры пишут письма политзаключённым каждую неделю.",
    "Адвокаты ездят в суды по всей стране, а семьи собирают передачи.",
    "A court fined her twice; the appeal failed. Letters kept coming!",
    "Ёжик и ёлка: не путать е и ё. Слово «правозащитник» длинное.",
    "I a x yz — short words, digits 2024 and co-operation, e-mail, don't.",
]

#: a mix of words the vocabulary knows, unknown ones, odd spacing and scripts
WORDS = st.sampled_from(
    [
        "letters",
        "Prisoners",
        "письма",
        "Суды",
        "a",
        "x",
        "yz",
        "e-mail",
        "don't",
        "2024",
        "unknownword",
        "ёлка",
        "ЁЖИК",
        "co-operation",
        "!",
        "—",
        "неделю.",
        "calls,",
    ]
)
SPACES = st.sampled_from([" ", "  ", "\n", "\t", " \n\n ", "\u00a0", "\u2003"])


#: the training texts' own words, so that texts hold the vocabulary's word pairs too
TRAIN_WORDS = st.sampled_from(sorted({w for text in TRAIN for w in text.split()}))


@st.composite
def texts(draw: st.DrawFn) -> str:
    words = draw(st.lists(st.one_of(WORDS, TRAIN_WORDS, st.text(max_size=6)), max_size=12))
    out = draw(SPACES) if draw(st.booleans()) else ""
    for word in words:
        out += word + draw(SPACES)
    return out


def _pair(analyzer: str, ngram_range: tuple[int, int], **extra: object) -> tuple:
    vectorizer = TfidfVectorizer(
        analyzer=analyzer, ngram_range=ngram_range, sublinear_tf=True, **extra
    ).fit(TRAIN)
    return vectorizer, NgramTfidf.from_sklearn(vectorizer)


CASES = [
    ("word", (1, 2)),
    ("word", (1, 1)),
    ("word", (2, 3)),
    ("char_wb", (2, 5)),
    ("char_wb", (3, 5)),
    ("char_wb", (1, 1)),
]
PAIRS = {case: _pair(*case) for case in CASES}


def _same(expected, found) -> None:
    assert found.shape == expected.shape
    assert (abs(expected - found) > 1e-12).nnz == 0
    assert found.nnz == expected.nnz


@pytest.mark.parametrize("case", CASES, ids=[f"{a}-{lo}-{hi}" for a, (lo, hi) in CASES])
def test_matches_scikit_learn_on_the_training_texts(case) -> None:
    vectorizer, fast = PAIRS[case]
    expected = vectorizer.transform(TRAIN)
    assert expected.nnz > 0
    _same(expected, fast.transform(TRAIN))
    assert list(fast.get_feature_names_out()) == list(vectorizer.get_feature_names_out())


@settings(max_examples=60, deadline=None)
@given(batch=st.lists(texts(), min_size=1, max_size=6))
def test_matches_scikit_learn_on_any_text(batch: list[str]) -> None:
    for case in CASES:
        vectorizer, fast = PAIRS[case]
        _same(vectorizer.transform(batch), fast.transform(batch))


@settings(max_examples=30, deadline=None)
@given(batch=st.lists(texts(), min_size=2, max_size=6))
def test_rows_do_not_depend_on_the_batch(batch: list[str]) -> None:
    """No n-gram runs from one text into the next; the word cache changes nothing."""
    for case in CASES:
        _, fast = PAIRS[case]
        whole = fast.transform(batch).toarray()
        alone = vstack([fast.transform([text]) for text in batch]).toarray()
        assert np.allclose(whole, alone, rtol=0, atol=1e-12)


def test_no_word_pair_runs_across_two_texts() -> None:
    vectorizer, fast = PAIRS[("word", (1, 2))]
    assert "letters to" in vectorizer.vocabulary_
    batch = ["Volunteers write letters", "to political prisoners"]
    _same(vectorizer.transform(batch), fast.transform(batch))


@pytest.mark.parametrize("case", [("char_wb", (2, 5)), ("word", (1, 2))], ids=["char", "word"])
def test_a_full_chunk_table_is_replaced_and_results_stay_the_same(case) -> None:
    vectorizer, _ = PAIRS[case]
    fast = NgramTfidf.from_sklearn(vectorizer)
    features = fast._alone = NgramFeatures([fast])
    features.CACHE_SIZE = 14
    tables, largest = set(), 0
    # one text at a time (each of at most 14 chunks), all at once, one by one again, then a
    # text of new words
    for batch in [*([t] for t in TRAIN), TRAIN, *([t] for t in TRAIN[::-1]), ["Зебра, окапи"]]:
        _same(vectorizer.transform(batch), fast.transform(batch))
        tables.add(id(features._table))
        largest = max(largest, len(set(" ".join(batch).lower().split())))
        # only a batch larger than the table makes it larger
        assert len(features._table.index) <= max(14, largest)
    assert len(features._table.index) == 2
    assert len(tables) >= 3  # the table was replaced, more than once


def test_a_text_with_no_known_ngram_is_a_zero_row() -> None:
    _, fast = PAIRS[("word", (1, 2))]
    rows = fast.transform(["", "   ", "zzzz qqqq", "letters"])
    assert rows.shape[0] == 4
    assert [rows[i].nnz for i in range(3)] == [0, 0, 0]
    assert np.isclose(np.linalg.norm(rows[3].toarray()), 1.0)


def test_refuses_what_it_cannot_reproduce() -> None:
    for extra in (
        {"stop_words": ["the"]},
        {"lowercase": False},
        {"norm": "l1"},
        {"token_pattern": r"\w+"},
        {"binary": True},
    ):
        vectorizer = TfidfVectorizer(**extra).fit(TRAIN)
        with pytest.raises(ValueError, match="cannot reproduce"):
            NgramTfidf.from_sklearn(vectorizer)
    with pytest.raises(ValueError, match="analyzer"):
        NgramTfidf("char", (2, 5), ["ab"], [1.0])
    with pytest.raises(ValueError, match="pair one to one"):
        NgramTfidf("word", (1, 1), ["ab", "cd"], [1.0])
    with pytest.raises(ValueError, match="ngram_range"):
        NgramTfidf("word", (2, 1), ["ab"], [1.0])


def test_a_pickled_copy_drops_its_caches_and_gives_the_same_rows() -> None:
    import pickle

    vectorizer, _ = PAIRS[("char_wb", (2, 5))]
    fast = NgramTfidf.from_sklearn(vectorizer)
    first = fast.transform(TRAIN)
    copy = pickle.loads(pickle.dumps(fast))
    assert fast._alone._table.index and copy._alone is None
    _same(first, copy.transform(TRAIN))


# --- several parts at once: NgramFeatures ----------------------------------------------------


def _stacked(parts, batch):
    """The expected rows: scikit-learn's matrices of each part, side by side."""
    return hstack([vectorizer.transform(batch) for vectorizer in parts]).tocsr()


JOINT = [
    (("word", (1, 2)), ("char_wb", (2, 5))),
    (("char_wb", (3, 5)), ("word", (2, 3))),
    (("word", (1, 1)),),
    (("char_wb", (1, 1)),),
]


@settings(max_examples=40, deadline=None)
@given(
    batches=st.lists(st.lists(texts(), min_size=1, max_size=5), min_size=1, max_size=4),
    cache=st.sampled_from([3, 40, 10_000]),
)
def test_parts_side_by_side_match_scikit_learn_across_batches(
    batches: list[list[str]], cache: int
) -> None:
    """Batches on one instance share its chunk table (and replace it when it fills); a fresh
    instance gives the same rows."""
    for joint in JOINT:
        vectorizers = [PAIRS[case][0] for case in joint]
        shared = NgramFeatures([NgramTfidf.from_sklearn(v) for v in vectorizers])
        shared.CACHE_SIZE = cache
        for batch in batches:
            expected = _stacked(vectorizers, batch)
            _same(expected, shared.transform(batch))
            fresh = NgramFeatures([NgramTfidf.from_sklearn(v) for v in vectorizers])
            _same(expected, fresh.transform(batch))


def test_word_features_come_first_in_each_row_in_column_order() -> None:
    """The classifier's sums run over a row in order; this order is the one the earlier
    separate word and character matrices, stacked, had (so scores keep their last bits)."""
    word, char = PAIRS[("word", (1, 2))][1], PAIRS[("char_wb", (2, 5))][1]
    rows = NgramFeatures([word, char]).transform(TRAIN)
    n_words = len(word.vocabulary_)
    for i in range(len(TRAIN)):
        cols = rows.indices[rows.indptr[i] : rows.indptr[i + 1]]
        words = cols[cols < n_words]
        assert len(words) > 0 and list(cols[: len(words)]) == sorted(words)


def test_threads_sharing_one_instance_get_the_right_rows() -> None:
    from concurrent.futures import ThreadPoolExecutor

    vectorizers = [PAIRS[("word", (1, 2))][0], PAIRS[("char_wb", (2, 5))][0]]
    shared = NgramFeatures([NgramTfidf.from_sklearn(v) for v in vectorizers])
    shared.CACHE_SIZE = 20  # small: threads keep replacing the table under each other
    batches = [TRAIN[i : i + j] for i in range(len(TRAIN)) for j in (1, 2, 3)] * 4
    with ThreadPoolExecutor(4) as pool:
        found = list(pool.map(shared.transform, batches))
    for batch, rows in zip(batches, found, strict=True):
        _same(_stacked(vectorizers, batch), rows)


def test_mixed_sublinear_parts_and_bad_part_lists() -> None:
    word = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=False).fit(TRAIN)
    char = PAIRS[("char_wb", (2, 5))][0]
    both = NgramFeatures([NgramTfidf.from_sklearn(word), NgramTfidf.from_sklearn(char)])
    batch = [TRAIN[0] + " letters letters", TRAIN[2] * 2]
    _same(_stacked([word, char], batch), both.transform(batch))
    with pytest.raises(ValueError, match="one part per analyzer"):
        NgramFeatures([NgramTfidf.from_sklearn(word)] * 2)
    with pytest.raises(ValueError, match="one part per analyzer"):
        NgramFeatures([])


def test_a_pickled_instance_leaves_its_table_and_lock_behind() -> None:
    import pickle

    vectorizers = [PAIRS[("word", (1, 2))][0], PAIRS[("char_wb", (2, 5))][0]]
    shared = NgramFeatures([NgramTfidf.from_sklearn(v) for v in vectorizers])
    first = shared.transform(TRAIN)
    copy = pickle.loads(pickle.dumps(shared))
    assert shared._table is not None and copy._table is None
    _same(first, copy.transform(TRAIN))


@settings(max_examples=60, deadline=None)
@given(
    keys=st.sets(st.integers(0, 2**62), max_size=300),
    probes=st.lists(st.integers(0, 2**62), max_size=50),
    hashed=st.sampled_from([0, 1, 2, 50]),
)
def test_hash_index_answers_like_a_dictionary(
    keys: set[int], probes: list[int], hashed: int
) -> None:
    """Whatever share the table answers and the binary search answers."""
    from trustcode.ngrams.tables import _HashIndex

    table = dict(zip(sorted(keys), range(7, 7 + len(keys)), strict=True))
    index = _HashIndex(
        np.array(sorted(keys), dtype=np.int64), np.array(list(table.values()), dtype=np.int64)
    )
    index.PROBES = hashed
    asked = [*keys, *probes]
    found = index.lookup(np.array(asked, dtype=np.int64)).tolist()
    assert found == [table.get(key, -1) for key in asked]


def test_the_public_sparse_product_gives_the_same_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without scipy's kernel at hand (a scipy that moved it), the public ``@`` serves."""
    import scipy.sparse._sparsetools as kernels

    vectorizers = [PAIRS[("word", (1, 2))][0], PAIRS[("char_wb", (2, 5))][0]]
    direct = NgramFeatures([NgramTfidf.from_sklearn(v) for v in vectorizers]).transform(TRAIN)
    monkeypatch.delattr(kernels, "csr_matmat")
    public = NgramFeatures([NgramTfidf.from_sklearn(v) for v in vectorizers]).transform(TRAIN)
    assert np.array_equal(direct.indptr, public.indptr)
    assert np.array_equal(direct.indices, public.indices)
    assert np.array_equal(direct.data, public.data)


def _one_by_one(fast: NgramTfidf, chunks: list[str]) -> tuple[list[int], list[int], list[int]]:
    """The chunk-by-chunk count (the reference): sizes, features and counts, chunk after chunk."""
    counted = [fast._char_counts(chunk) for chunk in chunks]
    return (
        [len(c) for c in counted],
        [f for c in counted for f in c],
        [n for c in counted for n in c.values()],
    )


#: chunks as NgramFeatures meets them: lower-cased, no white space; some characters the
#: vocabulary never saw (at the start, inside, alone), a lone surrogate, long and short words
CHUNKS = st.lists(
    st.one_of(
        st.sampled_from(sorted({w.lower() for t in TRAIN for w in t.split()})),
        st.sampled_from(["a", "x", "yz", "ж", "ё", "日本", "?le", "le?", "\ud800", "letters" * 3]),
        st.text(
            st.characters(blacklist_categories=("Zs", "Zl", "Zp", "Cc")), min_size=1, max_size=8
        ),
    ),
    max_size=30,
)


@settings(max_examples=80, deadline=None)
@given(chunks=CHUNKS)
def test_new_chunks_are_counted_in_bulk_as_one_by_one(chunks: list[str]) -> None:
    """The numpy count of many new chunks' character n-grams gives each chunk's features and
    counts in the very order the one-by-one count does (the order fixes a row's last bits)."""
    for case in [c for c in CASES if c[0] == "char_wb"]:
        _, fast = PAIRS[case]
        sizes, cols, counts = fast._char_rows(chunks)
        assert fast._chars is not None and fast._chars.usable
        assert (sizes.tolist(), cols.tolist(), counts.tolist()) == _one_by_one(fast, chunks)


def test_an_alphabet_too_large_for_integer_keys_is_counted_one_by_one() -> None:
    """7,000 characters in base 7,001 would need keys past int64 for 5-grams: the table says
    it cannot serve, and the rows are still right."""
    vocabulary = [" " + chr(0x4E00 + i) for i in range(7000)] + ["ab", "b "]
    fast = NgramTfidf("char_wb", (2, 5), vocabulary, np.ones(len(vocabulary)))
    chunks = [chr(0x4E00 + 5) + "ab", "ab", chr(0x4E00 + 6999)]
    sizes, cols, counts = fast._char_rows(chunks)
    assert fast._chars is not None and not fast._chars.usable
    assert (sizes.tolist(), cols.tolist(), counts.tolist()) == _one_by_one(fast, chunks)
    assert sizes.tolist() == [3, 2, 1]  # " 丅", "ab", "b "; "ab", "b "; " 楗"
