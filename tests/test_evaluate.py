"""Evaluation: metrics against sklearn and krippendorff, grouped folds, side-by-side systems."""

from __future__ import annotations

import warnings
from pathlib import Path

import krippendorff
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import precision_recall_fscore_support

import trustcode.evaluate as evaluate_module
from trustcode.classify import CodeClassifier
from trustcode.errors import GoldError, TrustcodeWarning, UsageError
from trustcode.evaluate import ALL, SYSTEMS, evaluate, metric_rows
from trustcode.types import Code, Codebook, Rule

# --- metrics on a hand example ------------------------------------------------------------------

GOLD = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 0], [1, 0, 0], [0, 1, 0]])
PRED = np.array([[1, 0, 0], [0, 1, 0], [0, 1, 1], [0, 0, 0], [1, 1, 0], [0, 0, 0]])


def test_metrics_equal_sklearn_and_krippendorff() -> None:
    rows = {r["code"]: r for r in metric_rows(GOLD, PRED, ["a", "b", "c"])}
    p, r, f, s = precision_recall_fscore_support(GOLD, PRED, average=None, zero_division=0)
    for j, code in enumerate("abc"):
        assert rows[code]["precision"] == pytest.approx(p[j])
        assert rows[code]["recall"] == pytest.approx(r[j])
        assert rows[code]["f1"] == pytest.approx(f[j])
        assert rows[code]["support"] == s[j]
    # hand count for code a: tp 2, fp 0, fn 1
    assert (rows["a"]["precision"], rows["a"]["recall"]) == (1.0, pytest.approx(2 / 3))
    micro = precision_recall_fscore_support(GOLD, PRED, average="micro", zero_division=0)
    assert rows["micro"]["f1"] == pytest.approx(micro[2])
    assert rows["micro"]["f1"] == pytest.approx(2 * 4 / (2 * 4 + 2 + 2))  # tp 4, fp 2, fn 2
    # macro over the codes the gold uses (c never occurs in the gold)
    macro = precision_recall_fscore_support(
        GOLD, PRED, labels=[0, 1], average="macro", zero_division=0
    )
    assert rows["macro"]["f1"] == pytest.approx(macro[2])
    for j, code in enumerate("ab"):
        expected = krippendorff.alpha(
            reliability_data=np.vstack([GOLD[:, j], PRED[:, j]]), level_of_measurement="nominal"
        )
        assert rows[code]["alpha"] == pytest.approx(expected)
    pooled = krippendorff.alpha(
        reliability_data=np.vstack([GOLD.ravel(), PRED.ravel()]), level_of_measurement="nominal"
    )
    assert rows["micro"]["alpha"] == pytest.approx(pooled)
    assert rows["macro"]["alpha"] == pytest.approx((rows["a"]["alpha"] + rows["b"]["alpha"]) / 2)


def test_alpha_undefined_for_a_single_value() -> None:
    rows = {r["code"]: r for r in metric_rows(np.zeros((4, 1)), np.zeros((4, 1)), ["a"])}
    assert np.isnan(rows["a"]["alpha"])
    assert "macro" not in rows  # no code occurs in this gold


# --- a small bilingual gold, written for these tests --------------------------------------------

BOOK = Codebook(
    "eval book",
    (
        Code(
            "help",
            "Help",
            rules=(Rule("help.phrases-1", "help", "phrases", terms=("letters", "письма")),),
        ),
        Code("arrest", "Arrest", positive_examples=("Police detained a blogger.",)),
    ),
    languages=("en", "ru"),
    sha256="c" * 64,
)

_EN = [
    ("Volunteers wrote letters to the detained student.", ("help",)),
    ("Police detained a teacher near the court.", ("arrest",)),
    ("Officers detained two reporters at dawn.", ("arrest",)),
    ("The bakery sells fresh bread every morning.", ()),
    ("Friends sent letters and parcels to the prisoner.", ("help",)),
    ("Police detained the artist and friends wrote letters.", ("arrest", "help")),
]
_RU = [
    ("Волонтёры написали письма задержанному студенту.", ("help",)),
    ("Полиция задержала учителя у здания суда.", ("arrest",)),
    ("Силовики задержали двух журналистов утром.", ("arrest",)),
    ("Пекарня продаёт свежий хлеб каждое утро.", ()),
    ("Друзья отправили письма и посылки заключённому.", ("help",)),
    ("Полиция задержала художника, а друзья написали письма.", ("arrest", "help")),
]


def _gold() -> pd.DataFrame:
    rows = []
    for d in range(4):
        for lang, items in (("en", _EN), ("ru", _RU)):
            doc = f"{lang}{d}"
            for i, (text, codes) in enumerate(items):
                rows.append(
                    {
                        "doc_id": doc,
                        "passage_id": f"{doc}#{i}",
                        "start": None,
                        "end": None,
                        "text": text,
                        "language": lang,
                        "codes": tuple(sorted(codes)),
                        "coder": "ann",
                    }
                )
    return pd.DataFrame(rows)


class KeywordRules:
    """A stand-in rule engine: 'letters'/'письма' code help; 'bakery'/'пекарня' vetoes arrest."""

    def match(self, passages, language):
        return [[p.text.lower()] for p in passages]

    def codes(self, hits):
        text = hits[0]
        return {"help": ["hit"]} if "letters" in text or "письма" in text else {}

    def vetoed(self, hits):
        return {"arrest"} if "bakery" in hits[0] or "пекарня" in hits[0] else set()


def _evaluate(**kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TrustcodeWarning)
        options = {"rules": KeywordRules(), "folds": 3, "train_params": {"min_positives": 3}}
        return evaluate(_gold(), BOOK, **{**options, **kwargs})


def test_grouped_cv_never_trains_on_a_test_document(monkeypatch) -> None:
    trained_on: list[set[str]] = []
    real = evaluate_module.train_model

    def spy(gold, codebook, **params):
        trained_on.append(set(gold["doc_id"]))
        return real(gold, codebook, **params)

    monkeypatch.setattr(evaluate_module, "train_model", spy)
    result = _evaluate()
    assert len(result.folds) == 3 == len(trained_on)
    all_docs = set(_gold()["doc_id"])
    tested = [set(f.test_docs) for f in result.folds]
    assert set().union(*tested) == all_docs
    assert sum(len(t) for t in tested) == len(all_docs)  # each document tested exactly once
    for fold, docs, test in zip(result.folds, trained_on, tested, strict=True):
        assert docs == set(fold.train_docs) == all_docs - test
        scored = set(result.predictions.loc[result.predictions["fold"] == fold.index, "doc_id"])
        assert scored == test and not scored & docs


def test_systems_side_by_side_per_language() -> None:
    result = _evaluate()
    assert set(result.metrics["system"]) == set(SYSTEMS)
    assert set(result.metrics["language"]) == {ALL, "en", "ru"}
    wide = result.side_by_side()
    assert list(wide.index) == ["help", "arrest", "micro", "macro"]
    assert [s for s, _ in wide.columns[::4]] == list(SYSTEMS)
    # the rules find every 'help' passage and nothing else, so they score perfectly on it
    assert wide.loc["help", ("rules", "f1")] == 1.0
    assert wide.loc["arrest", ("rules", "recall")] == 0.0
    # combined is the union of rules and classifier here, so its recall is at least either's
    for code in ("help", "arrest"):
        for system in ("rules", "classifier"):
            assert wide.loc[code, ("combined", "recall")] >= wide.loc[code, (system, "recall")]
    # the classifier learned 'arrest', which no rule codes
    assert wide.loc["arrest", ("classifier", "recall")] > 0.5
    assert result.side_by_side("ru").loc["micro", ("rules", "precision")] == 1.0
    with pytest.raises(UsageError, match="language 'de'; the gold has: all, en, ru"):
        result.side_by_side("de")


def test_rules_alone_matches_a_hand_count() -> None:
    result = _evaluate()
    metrics = result.metrics
    rules_micro = metrics[
        (metrics["system"] == "rules") & (metrics["language"] == ALL) & (metrics["code"] == "micro")
    ]
    # rules code help on 3 of 6 passages per document; gold has 3 help + 3 arrest per document
    assert rules_micro["precision"].item() == 1.0
    assert rules_micro["recall"].item() == pytest.approx(3 / 6)


def test_disagreements_are_exactly_the_differences() -> None:
    result = _evaluate()
    preds = result.predictions
    pairs = zip(preds["gold"], preds["combined"], strict=True)
    differ = preds[[set(g) != set(c) for g, c in pairs]]
    assert result.disagreements["passage_id"].tolist() == differ["passage_id"].tolist()
    for row in result.disagreements.itertuples():
        assert row.gold != row.predicted
        assert set(row.missing.split(";") if row.missing else []) <= set(row.gold.split(";"))


def test_with_a_model_all_gold_is_held_out() -> None:
    gold = _gold()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TrustcodeWarning)
        model = CodeClassifier(folds=2, min_positives=1).fit(
            [
                "Police detained a man.",
                "Полиция задержала женщину.",
                "Bread is fresh.",
                "Хлеб свежий.",
                "Officers detained them.",
                "Силовики задержали его.",
            ],
            [["arrest"], ["arrest"], [], [], ["arrest"], ["arrest"]],
            ["help", "arrest"],
        )
    result = _evaluate(model=model)
    assert len(result.folds) == 1 and result.folds[0].train_docs == ()
    assert result.predictions["classifier"].tolist() == model.predict(gold["text"].tolist())


def test_vetoed_codes_are_not_combined() -> None:
    result = _evaluate()
    bakery = result.predictions[result.predictions["passage_id"].str.endswith("#3")]
    assert all("arrest" not in codes for codes in bakery["combined"])


def test_gold_from_one_document_cannot_be_cross_validated() -> None:
    gold = _gold()
    one = gold[gold["doc_id"] == "en0"]
    with pytest.raises(GoldError, match="at least 2 documents"):
        evaluate(one, BOOK, rules=KeywordRules())


def test_real_rule_engine_runs(tmp_path: Path) -> None:
    """The default rule engine (trustcode.rules) plugs in: the phrase rule codes 'help'."""
    pytest.importorskip("trustcode.rules")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TrustcodeWarning)
        result = evaluate(_gold(), BOOK, folds=2)
    help_rules = result.side_by_side().loc["help", ("rules", "recall")]
    assert help_rules == 1.0
