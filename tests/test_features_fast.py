"""The classifier's per-passage fast paths give what the plain computations give, to the bit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import csr_matrix, hstack

from trustcode.classify import CodeClassifier
from trustcode.classify.evidence import _kth_bound, _stable_order, best_distinct

TRAINING = [
    ("Volunteers send letters and parcels to political prisoners.", ["support"]),
    ("A lawyer visited the prisoner and brought letters from home.", ["support"]),
    ("Волонтёры пишут письма политзаключённым и собирают передачи.", ["support"]),
    ("Друзья отправили посылку в колонию и письмо адвокату.", ["support"]),
    ("Police detained ten protesters near the square on Sunday.", ["arrest"]),
    ("Officers arrested a student for a poster against the war.", ["arrest"]),
    ("Полиция задержала участников пикета у здания суда.", ["arrest"]),
    ("Студентку задержали за антивоенную надпись в подъезде.", ["arrest"]),
    ("The weather was mild and the market opened late.", []),
    ("Погода была тёплой, рынок открылся поздно.", []),
]
PASSAGES = [
    "Letters to prisoners keep coming; volunteers answer every one.",
    "Полиция снова задержала студентов, адвокат приехал ночью.",
    "",
    "x y z",
    "Arrested, detained, arrested again: police, police, police!",
    "Письма, письма и ещё письма политзаключённым",
]


@pytest.fixture(scope="module")
def model() -> CodeClassifier:
    texts, labels = zip(*TRAINING, strict=True)
    return CodeClassifier(folds=2, min_positives=1).fit(
        list(texts), list(labels), ["support", "arrest"]
    )


def test_features_equal_the_stacked_parts_bit_for_bit(model: CodeClassifier) -> None:
    """One pass for both parts gives the very matrix the parts gave stacked: same entries in
    the same order, so sums over a row keep their last bits."""
    word, char = model.vectorizers_
    joint = model.features(PASSAGES)
    stacked = hstack([word.transform(PASSAGES), char.transform(PASSAGES)]).tocsr()
    assert joint.nnz > 0
    assert np.array_equal(joint.indptr, stacked.indptr)
    assert np.array_equal(joint.indices, stacked.indices)
    assert np.array_equal(joint.data, stacked.data)


def _plain_scores(model: CodeClassifier, x) -> np.ndarray:
    raw = x @ model.coef_.T + model.intercept_
    return 1.0 / (1.0 + np.exp(-np.clip(raw * model.platt_[:, 0] + model.platt_[:, 1], -500, 500)))


def test_score_matrix_is_predict_scores_as_an_array(model: CodeClassifier) -> None:
    """The coder's array of scores: predict_scores' values, columns in classifier_codes_
    order, with or without precomputed features; no texts, no rows."""
    x = model.features(PASSAGES)
    scores = model.score_matrix(PASSAGES, features=x)
    assert isinstance(scores, np.ndarray) and scores.dtype == np.float64
    assert scores.shape == (len(PASSAGES), len(model.classifier_codes_))
    assert np.array_equal(scores, model.predict_scores(PASSAGES).to_numpy())
    assert np.array_equal(model.score_matrix(PASSAGES), _plain_scores(model, x))
    assert model.score_matrix([]).shape == (0, len(model.classifier_codes_))


def test_scores_equal_the_plain_formula_and_follow_a_new_coef(model: CodeClassifier) -> None:
    x = model.features(PASSAGES)
    scores = model.predict_scores(PASSAGES, features=x)
    assert list(scores.columns) == list(model.classifier_codes_)
    assert np.array_equal(scores.to_numpy(), _plain_scores(model, x))
    # the cached transposed coefficients follow a replaced coef_
    original = model.coef_
    try:
        model.coef_ = -original
        flipped = model.predict_scores(PASSAGES, features=x).to_numpy()
        assert not np.array_equal(flipped, scores.to_numpy())
        assert np.array_equal(flipped, _plain_scores(model, x))
    finally:
        model.coef_ = original


def test_explain_does_not_depend_on_the_order_within_rows(model: CodeClassifier) -> None:
    x = model.features(PASSAGES)
    shuffled = x.copy()
    rng = np.random.default_rng(3)
    for i in range(x.shape[0]):
        lo, hi = x.indptr[i], x.indptr[i + 1]
        order = lo + rng.permutation(hi - lo)
        shuffled.indices[lo:hi] = x.indices[order]
        shuffled.data[lo:hi] = x.data[order]
    for code in model.classifier_codes_:
        for k in (1, 5, 40):
            expected = model.explain(PASSAGES, code, k=k, features=x)
            assert any(expected)
            assert model.explain(PASSAGES, code, k=k, features=shuffled) == expected
    assert model.explain(PASSAGES, "support", k=0) == [[] for _ in PASSAGES]


# --- the pieces, against plain Python -------------------------------------------------------


@st.composite
def entries(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (row, column) entries with values (ties likely) and a name per column (some
    shared), in random order."""
    pairs = draw(
        st.lists(st.tuples(st.integers(0, 6), st.integers(0, 30)), unique=True, max_size=80)
    )
    vals = draw(
        st.lists(
            st.sampled_from([0.5, 1.0, 1.5, 2.0, 3.25]), min_size=len(pairs), max_size=len(pairs)
        )
    )
    names = draw(st.lists(st.integers(0, 20), min_size=31, max_size=31))
    rows = np.array([r for r, _ in pairs], dtype=np.int64)
    cols = np.array([c for _, c in pairs], dtype=np.int32)
    return rows, cols, np.array(vals, dtype=np.float64), np.array(names, dtype=np.int64)


def _plain(rows, cols, vals, k, names=None, first=()):
    """Per row: the ``first`` entries, then the others by value (high first) and column,
    each name once, at most k."""
    out = []
    for row in sorted(set(rows.tolist()) | {r for r, _, _ in first}):
        items = [(c, v) for r, c, v in first if r == row]
        items += sorted(
            (
                (c, v)
                for r, c, v in zip(rows.tolist(), cols.tolist(), vals.tolist(), strict=True)
                if r == row
            ),
            key=lambda item: (-item[1], item[0]),
        )
        seen: set[int] = set()
        for col, val in items:
            name = col if names is None else int(names[col])
            if name not in seen and len(seen) < k:
                seen.add(name)
                out.append((row, col, val))
    return out


@settings(max_examples=150, deadline=None)
@given(data=entries(), k=st.integers(0, 7), named=st.booleans())
def test_best_distinct_equals_the_plain_rule(data, k: int, named: bool) -> None:
    rows, cols, vals, names = data
    found = best_distinct(rows, cols, vals, k, (names, 21) if named else None)
    as_list = list(zip(*(part.tolist() for part in found), strict=True))
    assert as_list == _plain(rows, cols, vals, k, names if named else None)


@settings(max_examples=80, deadline=None)
@given(data=entries(), k=st.integers(1, 6))
def test_best_distinct_puts_given_entries_first(data, k: int) -> None:
    rows, cols, vals, names = data
    # the entries with columns under 10 stand for the words, already chosen
    low = cols < 10
    first = best_distinct(rows[low], cols[low], vals[low], k)
    found = best_distinct(rows[~low], cols[~low], vals[~low], k, (names, 21), first=first)
    chosen = list(zip(*(part.tolist() for part in first), strict=True))
    expected = _plain(rows[~low], cols[~low], vals[~low], k, names, first=chosen)
    assert list(zip(*(part.tolist() for part in found), strict=True)) == expected


@settings(max_examples=80, deadline=None)
@given(data=entries(), k=st.integers(1, 6))
def test_kth_bound_never_exceeds_a_rows_kth_largest_value(data, k: int) -> None:
    rows, cols, vals, _ = data
    order = np.lexsort((cols, rows))
    rows, vals = rows[order], vals[order]
    bound = _kth_bound(rows, vals, k)
    for i, row in enumerate(rows.tolist()):
        values = sorted(vals[rows == row].tolist(), reverse=True)
        if len(values) < k:
            assert bound[i] == -np.inf
        else:
            assert bound[i] <= values[k - 1] and bound[i] in values


@given(rows=st.lists(st.integers(0, 2**20), max_size=40), small=st.booleans())
def test_stable_order_is_a_stable_argsort(rows: list[int], small: bool) -> None:
    values = np.array([r % 7 if small else r for r in rows], dtype=np.int64)
    assert np.array_equal(_stable_order(values), np.argsort(values, kind="stable"))


def test_explain_accepts_any_sparse_rows(model: CodeClassifier) -> None:
    x = model.features(PASSAGES)
    expected = model.explain(PASSAGES, "arrest", features=x)
    assert model.explain(PASSAGES, "arrest", features=csr_matrix(x.toarray())) == expected
    assert model.explain(PASSAGES, "arrest", features=x.tocoo()) == expected


def test_a_pickled_model_leaves_its_caches_behind_and_scores_the_same(
    model: CodeClassifier,
) -> None:
    import pickle

    scores = model.predict_scores(PASSAGES)
    copy = pickle.loads(pickle.dumps(model))
    assert hasattr(model, "_prediction_cache") and hasattr(model, "_ngram_cache")
    assert not hasattr(copy, "_prediction_cache") and not hasattr(copy, "_ngram_cache")
    assert np.array_equal(copy.predict_scores(PASSAGES).to_numpy(), scores.to_numpy())


def test_explaining_picked_rows_equals_explaining_them_taken_out(model: CodeClassifier) -> None:
    x = model.features(PASSAGES)
    for picked in ([4, 0, 1], [5], [], [1, 1, 3]):
        texts = [PASSAGES[i] for i in picked]
        for code in model.classifier_codes_:
            expected = model.explain(texts, code, k=3, features=x[picked])
            assert len(expected) == len(picked)
            assert model.explain(texts, code, k=3, features=x, rows=picked) == expected
    assert any(model.explain(PASSAGES[:2], "support", features=x, rows=[0, 1]))


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, len(PASSAGES) - 1), st.sampled_from(["support", "arrest"])),
        max_size=12,
    )
)
def test_explain_many_gives_what_explain_gives_per_code(
    model: CodeClassifier, pairs: list[tuple[int, str]]
) -> None:
    x = model.features(PASSAGES)
    rows = [row for row, _ in pairs]
    codes = [code for _, code in pairs]
    expected = [
        model.explain([PASSAGES[row]], code, k=4, features=x, rows=[row])[0] for row, code in pairs
    ]
    assert model.explain_many(x, rows, codes, k=4) == expected


def test_explain_many_names_a_code_the_model_cannot_explain(model: CodeClassifier) -> None:
    from trustcode.errors import UsageError

    with pytest.raises(UsageError, match="'risk' has no classifier"):
        model.explain_many(model.features(PASSAGES), [0, 1], ["support", "risk"])
