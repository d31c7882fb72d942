"""NgramTfidf gives scikit-learn's TfidfVectorizer matrix from a fitted vocabulary."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import vstack
from sklearn.feature_extraction.text import TfidfVectorizer

from trustcode.ngrams import NgramTfidf

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
    ["letters", "Prisoners", "письма", "Суды", "a", "x", "yz", "e-mail", "don't", "2024",
     "unknownword", "ёлка", "ЁЖИК", "co-operation", "!", "—", "неделю.", "calls,"]
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
    ("word", (1, 2)), ("word", (1, 1)), ("word", (2, 3)),
    ("char_wb", (2, 5)), ("char_wb", (3, 5)), ("char_wb", (1, 1)),
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
def test_a_full_cache_is_emptied_and_results_stay_the_same(case) -> None:
    vectorizer, _ = PAIRS[case]
    fast = NgramTfidf.from_sklearn(vectorizer)
    fast.CACHE_SIZE = 5
    distinct = len(set(" ".join(TRAIN).lower().split()))
    first = fast.transform(TRAIN)
    assert len(fast._cache) + len(fast._tokens) <= 5 + distinct
    again = fast.transform(TRAIN[::-1])
    assert len(fast._cache) + len(fast._tokens) <= 5 + distinct
    _same(vectorizer.transform(TRAIN), first)
    _same(vectorizer.transform(TRAIN[::-1]), again)


def test_a_text_with_no_known_ngram_is_a_zero_row() -> None:
    _, fast = PAIRS[("word", (1, 2))]
    rows = fast.transform(["", "   ", "zzzz qqqq", "letters"])
    assert rows.shape[0] == 4
    assert [rows[i].nnz for i in range(3)] == [0, 0, 0]
    assert np.isclose(np.linalg.norm(rows[3].toarray()), 1.0)


def test_refuses_what_it_cannot_reproduce() -> None:
    for extra in ({"stop_words": ["the"]}, {"lowercase": False}, {"norm": "l1"},
                  {"token_pattern": r"\w+"}, {"binary": True}):
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
    assert fast._cache and not copy._cache
    _same(first, copy.transform(TRAIN))
