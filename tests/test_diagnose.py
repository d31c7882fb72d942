"""Codebook diagnostics and diffs: every figure checked against a small corpus counted by hand,
then the shipped codebook on the shared corpus."""

from __future__ import annotations

import csv
import math
import re
import warnings
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trustcode.classify import CodeClassifier
from trustcode.codebook import load_codebook
from trustcode.diagnose import diagnose, diff_codebooks
from trustcode.errors import CodebookError, GoldError, TrustcodeWarning, UsageError
from trustcode.io.readers import read_corpus
from trustcode.rules import RuleSet
from trustcode.segment import segment

# the loader's advice on the small test codebooks (no examples, a rule for French) is expected
pytestmark = [
    pytest.mark.filterwarnings("ignore:.*has no examples"),
    pytest.mark.filterwarnings("ignore:.*is not among the codebook's languages"),
]

# --- a small corpus whose answers are counted by hand -------------------------------------------

CODEBOOK = """\
name: Diagnose test
languages: [en, ru]
codes:
  - id: support
    label: Support of prisoners
    rules:
      - id: letters
        phrases: [letters]
      - id: parcels
        phrases: [parcels]
      - id: ru_letters
        lang: ru
        phrases: [письма]
      - id: never
        phrases: [zebra crossing]
      - id: not_spam
        veto: true
        phrases: [spam letters]
  - id: repression
    label: Repression
    rules:
      - id: arrest
        globs: [arrest*]
      - id: ru_arrest
        lang: ru
        globs: [задерж*]
      - id: fr_only
        lang: fr
        phrases: [prison]
"""

# doc_id -> (language, paragraphs); the comment after each says which rules fire there
DOCS: dict[str, tuple[str, list[str]]] = {
    "a": (
        "en",
        [
            "Volunteers sent letters and parcels to the prisoners.",  # letters, parcels
            "The family wrote letters every week.",  # letters
            "Police arrested two students at the rally.",  # arrest
            "Someone sent spam letters to the office.",  # letters + veto not_spam
        ],
    ),
    "b": (
        "en",
        [
            "Volunteers packed parcels after the arrest of the editor.",  # parcels, arrest
            "The weather was calm.",  # nothing
        ],
    ),
    "c": (
        "ru",
        [
            "Волонтёры писали письма заключённым.",  # ru_letters
            "Полиция задержала активиста.",  # ru_arrest
        ],
    ),
    "d": (
        "ru",
        [
            "Письма и посылки дошли до адресата.",  # ru_letters
            "Ничего не случилось.",  # nothing
        ],
    ),
}

# gold codes of documents a, b, c (d has no gold, so its passages stay out of every metric)
GOLD = {
    "a": ["support", "support", "repression", ""],
    "b": ["repression", ""],
    "c": ["support", "repression"],
}


def _write_corpus(folder: Path) -> Path:
    folder.mkdir()
    rows = []
    for doc_id, (language, paragraphs) in DOCS.items():
        (folder / f"{doc_id}.txt").write_text("\n\n".join(paragraphs) + "\n", encoding="utf-8")
        rows.append({"doc_id": doc_id, "path": f"{doc_id}.txt", "language": language})
    with (folder / "manifest.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["doc_id", "path", "language"])
        writer.writeheader()
        writer.writerows(rows)
    return folder


def _write_gold(path: Path, docs: dict[str, list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["doc_id", "text", "codes"])
        for doc_id, codes in docs.items():
            paragraphs = DOCS[doc_id][1] if doc_id in DOCS else ["A text no corpus holds."]
            for text, code in zip(paragraphs, codes, strict=True):
                writer.writerow([doc_id, text, code])
    return path


@pytest.fixture
def small(tmp_path: Path) -> dict[str, Path]:
    book = tmp_path / "codebook.yaml"
    book.write_text(CODEBOOK, encoding="utf-8")
    return {
        "codebook": book,
        "corpus": _write_corpus(tmp_path / "corpus"),
        "gold": _write_gold(tmp_path / "gold.csv", GOLD),
        "tmp": tmp_path,
    }


def _quiet_diagnose(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TrustcodeWarning)
        return diagnose(*args, **kwargs)  # type: ignore[arg-type]


def _by_rule(frame: pd.DataFrame) -> dict[str, dict[str, object]]:
    return {row["rule_id"]: row for row in frame.to_dict("records")}


# --- diagnose: coverage, overlap, conflicts, never fired ------------------------------------------


def test_coverage_unique_and_conflicts_by_hand(small: dict[str, Path]) -> None:
    result = _quiet_diagnose(small["corpus"], codebook=small["codebook"], model=None)
    rules = _by_rule(result.rules)
    expected = {  # rule: (fired, coverage, unique, conflicts)
        "support.letters": (3, 2, 1, 1),  # a#0 a#1 a#3; a#3 vetoed; alone in a#1
        "support.parcels": (2, 2, 1, 0),  # a#0 b#0; alone in b#0
        "support.ru_letters": (2, 2, 2, 0),  # c#0 d#0
        "support.never": (0, 0, 0, 0),
        "repression.arrest": (2, 2, 2, 0),  # a#2 b#0
        "repression.ru_arrest": (1, 1, 1, 0),  # c#1
        "repression.fr_only": (0, 0, 0, 0),
    }
    for rule_id, (fired, coverage, unique, conflicts) in expected.items():
        row = rules[rule_id]
        assert (row["fired"], row["coverage"], row["unique"], row["conflicts"]) == (
            fired,
            coverage,
            unique,
            conflicts,
        ), rule_id
    veto = rules["support.not_spam"]
    assert (veto["veto"], veto["fired"], veto["coverage"], veto["conflicts"]) == (True, 1, 1, 1)
    assert pd.isna(veto["unique"])
    # without gold every precision is undefined
    assert result.rules["precision"].isna().all()
    unique_ids = result.rule_passages.query("rule_id == 'support.letters' and unique")
    assert unique_ids["passage_id"].tolist() == ["a#1"]
    vetoed = result.rule_passages.query("rule_id == 'support.letters' and vetoed")
    assert vetoed["passage_id"].tolist() == ["a#3"]


def test_overlap_is_pairwise_passages_and_jaccard(small: dict[str, Path]) -> None:
    result = _quiet_diagnose(small["corpus"], codebook=small["codebook"], model=None)
    overlap = result.overlap
    # only letters and parcels share a passage (a#0); together they code a#0, a#1, b#0
    assert len(overlap) == 1
    row = overlap.iloc[0]
    assert (row["code"], row["rule_a"], row["rule_b"]) == (
        "support",
        "support.letters",
        "support.parcels",
    )
    assert (row["passages_a"], row["passages_b"], row["both"]) == (2, 2, 1)
    assert row["jaccard"] == pytest.approx(1 / 3)


def test_veto_conflict_lists_count_and_passages(small: dict[str, Path]) -> None:
    result = _quiet_diagnose(small["corpus"], codebook=small["codebook"], model=None)
    assert result.conflicts.to_dict("records") == [
        {
            "kind": "veto",
            "code": "support",
            "rule_id": "support.not_spam",
            "other": "support.letters",
            "passages": 1,
            "passage_ids": "a#3",
        }
    ]
    passage = result.conflict_passages.iloc[0]
    assert passage["passage_id"] == "a#3"
    assert passage["text"] == DOCS["a"][1][3]


def test_exclusive_codebook_reports_codes_firing_together(small: dict[str, Path]) -> None:
    exclusive = small["tmp"] / "exclusive.yaml"
    exclusive.write_text(
        CODEBOOK.replace("languages: [en, ru]\n", "languages: [en, ru]\nexclusive: true\n"),
        encoding="utf-8",
    )
    result = _quiet_diagnose(small["corpus"], codebook=exclusive, model=None)
    together = result.conflicts[result.conflicts["kind"] == "exclusive"]
    # only b#0 has a support rule (parcels) and a repression rule (arrest)
    assert together[["code", "other", "passages", "passage_ids"]].values.tolist() == [
        ["support", "repression", 1, "b#0"]
    ]
    detail = result.conflict_passages[result.conflict_passages["kind"] == "exclusive"]
    assert detail["rule_id"].tolist() == ["repression.arrest;support.parcels"]


def test_rules_that_never_fire_warn_each_with_their_code(small: dict[str, Path]) -> None:
    with pytest.warns(TrustcodeWarning) as caught:
        result = diagnose(small["corpus"], codebook=small["codebook"], model=None)
    never = [str(w.message) for w in caught if "never fires" in str(w.message)]
    assert len(never) == 2
    assert any("'support.never' of code 'support'" in m for m in never)
    assert any("'repression.fr_only' of code 'repression'" in m for m in never)
    table = result.never_fired.set_index("rule_id")
    assert sorted(table.index) == ["repression.fr_only", "support.never"]
    assert "language 'fr'" in table.loc["repression.fr_only", "reason"]
    assert table.loc["support.never", "reason"] == "no passage matches it"
    codes = result.codes.set_index("code")
    assert codes.loc["support", "never_fired"] == 1
    assert codes.loc["support", "rules"] == 4 and codes.loc["support", "veto_rules"] == 1


# --- diagnose with gold --------------------------------------------------------------------------


def test_rule_and_code_precision_recall_against_gold(small: dict[str, Path]) -> None:
    result = _quiet_diagnose(
        small["corpus"], codebook=small["codebook"], gold=small["gold"], model=None
    )
    rules = _by_rule(result.rules)
    # gold support passages: a#0 a#1 c#0; gold repression: a#2 b#0 c#1; d has no gold
    expected = {  # rule: (gold passages it codes, true positives, precision, recall)
        "support.letters": (2, 2, 1.0, 2 / 3),  # a#0 a#1
        "support.parcels": (2, 1, 0.5, 1 / 3),  # a#0 yes, b#0 no
        "support.ru_letters": (1, 1, 1.0, 1 / 3),  # c#0 (d#0 has no gold)
        "repression.arrest": (2, 2, 1.0, 2 / 3),
        "repression.ru_arrest": (1, 1, 1.0, 1 / 3),
    }
    for rule_id, (on_gold, tp, precision, recall) in expected.items():
        row = rules[rule_id]
        assert (row["gold_passages"], row["true_positives"]) == (on_gold, tp), rule_id
        assert row["precision"] == pytest.approx(precision), rule_id
        assert row["recall"] == pytest.approx(recall), rule_id
    # a never-firing rule has no precision, and recalls nothing of its code
    assert math.isnan(rules["support.never"]["precision"])
    assert rules["support.never"]["recall"] == 0.0
    # the veto fired on a#3, whose gold lacks support: a right veto
    assert rules["support.not_spam"]["precision"] == 1.0
    assert math.isnan(rules["support.not_spam"]["recall"])

    codes = result.codes.set_index("code")
    # support by rules on gold passages: a#0 a#1 b#0 c#0 predicted, 3 right of 4
    assert codes.loc["support", "gold_support"] == 3
    assert codes.loc["support", "rules_precision"] == pytest.approx(3 / 4)
    assert codes.loc["support", "rules_recall"] == 1.0
    assert codes.loc["support", "rules_f1"] == pytest.approx(6 / 7)
    assert codes.loc["support", "rule_passages"] == 5  # d#0 too, on all passages
    # without a model: no classifier figures, and combined is the rules
    assert codes["classifier_f1"].isna().all()
    assert codes.loc["support", "combined_f1"] == pytest.approx(6 / 7)
    assert codes.loc["repression", "rules_f1"] == 1.0


def test_gold_documents_not_in_the_corpus_are_listed(small: dict[str, Path]) -> None:
    gold = _write_gold(small["tmp"] / "partial.csv", {**GOLD, "elsewhere": ["support"]})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TrustcodeWarning)
        result = diagnose(small["corpus"], codebook=small["codebook"], gold=gold, model=None)
    said = [str(w.message) for w in caught if "not in the corpus" in str(w.message)]
    assert len(said) == 1 and "elsewhere" in said[0]
    assert any("elsewhere" in note for note in result.notes)
    assert result.frames()["notes"]["note"].str.contains("elsewhere").any()
    # the other documents still count
    assert _by_rule(result.rules)["support.letters"]["gold_passages"] == 2


def test_gold_with_no_document_in_the_corpus_is_an_error(small: dict[str, Path]) -> None:
    gold = _write_gold(
        small["tmp"] / "foreign.csv", {"elsewhere": ["support"], "nowhere": ["repression"]}
    )
    with pytest.raises(GoldError, match=r"None of the gold's documents.*elsewhere, nowhere"):
        _quiet_diagnose(small["corpus"], codebook=small["codebook"], gold=gold, model=None)


def test_gold_aligns_by_containing_span(small: dict[str, Path]) -> None:
    text = "\n\n".join(DOCS["a"][1]) + "\n"
    first, second = DOCS["a"][1][0], DOCS["a"][1][1]
    two = len(first) + 2 + len(second)  # a#0 and a#1 as one gold passage
    inner = len(first) + 2  # a part of a#1 only: it contains no corpus passage
    gold = pd.DataFrame(
        {
            "doc_id": ["a", "a", "b"],
            "passage_id": ["a#0", "a#1", "b#0"],
            "start": [0, inner, 0],
            "end": [two, inner + 10, 12],
            "text": [text[:two], text[inner : inner + 10], "Not b's text"],
            "language": ["en", "en", "en"],
            "codes": [("support",), ("repression",), ("repression",)],
            "coder": ["me", "me", "me"],
        }
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TrustcodeWarning)
        result = diagnose(small["corpus"], codebook=small["codebook"], gold=gold, model=None)
    said = " | ".join(str(w.message) for w in caught)
    assert "1 gold passage(s) contain no corpus passage" in said
    assert "1 gold passage(s) do not fit the corpus text" in said and "b (1)" in said
    rules = _by_rule(result.rules)
    # a#0 and a#1 take the support of the passage holding both; nothing else has gold
    assert (rules["support.letters"]["gold_passages"], rules["support.letters"]["recall"]) == (
        2,
        1.0,
    )
    assert rules["support.parcels"]["gold_passages"] == 1  # a#0 (b#0's gold did not fit)
    codes = result.codes.set_index("code")
    assert codes.loc["repression", "gold_support"] == 0
    assert math.isnan(rules["repression.arrest"]["recall"])


def test_sentence_unit_takes_the_codes_of_the_gold_paragraph(small: dict[str, Path]) -> None:
    folder = small["tmp"] / "long"
    folder.mkdir()
    (folder / "a.txt").write_text(
        "Volunteers sent letters. Police arrested them.\n\nThe weather was calm.\n",
        encoding="utf-8",
    )
    gold = _write_gold(small["tmp"] / "long.csv", {})
    with gold.open("a", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(
            [
                ["a", "Volunteers sent letters. Police arrested them.", "support"],
                ["a", "The weather was calm.", ""],
            ]
        )
    result = _quiet_diagnose(
        folder, codebook=small["codebook"], gold=gold, model=None, unit="sentence"
    )
    rules = _by_rule(result.rules)
    # both sentences of the first paragraph are gold support: letters is right, arrest is not
    assert (rules["support.letters"]["gold_passages"], rules["support.letters"]["precision"]) == (
        1,
        1.0,
    )
    assert (
        rules["repression.arrest"]["gold_passages"],
        rules["repression.arrest"]["precision"],
    ) == (1, 0.0)
    assert result.n_passages == 3
    assert result.codes.set_index("code").loc["support", "gold_support"] == 2


def test_negative_limits_are_refused(small: dict[str, Path]) -> None:
    with pytest.raises(UsageError, match=r"'max_terms' parameter of diagnose .* Got -1"):
        diagnose(small["corpus"], codebook=small["codebook"], model=None, max_terms=-1)


def test_duplicated_rule_ids_surface_the_loader_error(small: dict[str, Path]) -> None:
    duplicated = small["tmp"] / "duplicated.yaml"
    duplicated.write_text(
        CODEBOOK.replace("      - id: parcels\n", "      - id: letters\n"), encoding="utf-8"
    )
    with pytest.raises(CodebookError, match="duplicate rule id 'support.letters'"):
        _quiet_diagnose(small["corpus"], codebook=duplicated, model=None)
    with pytest.raises(CodebookError, match="duplicate rule id"):
        diff_codebooks(small["codebook"], duplicated, small["corpus"])


# --- suggested terms and disagreements ------------------------------------------------------------


def _tokens(text: str) -> list[str]:
    return re.findall(r"\w\w+", text.lower())


def test_log_odds_terms_without_a_model(small: dict[str, Path]) -> None:
    result = _quiet_diagnose(small["corpus"], codebook=small["codebook"], model=None)
    terms = result.suggested_terms
    support = terms[terms["code"] == "support"]
    assert set(support["method"]) == {"log-odds (rules)"}
    # words of at least two support passages: letters, parcels, письма (covered by rules),
    # "the" (a stop word) and "volunteers" (a#0 and b#0): the only candidate
    assert support["term"].tolist() == ["volunteers"]
    coded = [DOCS["a"][1][0], DOCS["a"][1][1], DOCS["b"][1][0], DOCS["c"][1][0], DOCS["d"][1][0]]
    others = [DOCS["a"][1][2], DOCS["a"][1][3], DOCS["b"][1][1], DOCS["c"][1][1], DOCS["d"][1][1]]
    n_in = sum(len(_tokens(t)) for t in coded)
    n_out = sum(len(_tokens(t)) for t in others)
    expected = math.log(2.5 / (n_in - 2 + 0.5)) - math.log(0.5 / (n_out + 0.5))
    row = support.iloc[0]
    assert row["weight"] == pytest.approx(expected)
    assert (row["passages"], row["coded_passages"]) == (2, 2)
    assert row["example_1"].startswith("a#0: Volunteers sent")
    assert row["example_2"].startswith("b#0: Volunteers packed")
    assert row["example_3"] == ""


@pytest.mark.parametrize(
    "rule",
    [
        {"id": "network", "phrases": ["volunteers network"]},  # the term is part of a phrase
        {"id": "volunteer", "globs": ["volunteer*"]},  # a rule matches the term itself
    ],
)
def test_terms_a_rule_covers_are_not_suggested(
    small: dict[str, Path], rule: dict[str, object]
) -> None:
    def edit(data: dict) -> None:  # type: ignore[type-arg]
        data["codes"][0]["rules"].append(rule)

    book = _variant(small, "covered.yaml", edit)
    result = _quiet_diagnose(small["corpus"], codebook=book, model=None)
    terms = result.suggested_terms
    assert "volunteers" not in set(terms.loc[terms["code"] == "support", "term"])


@pytest.fixture
def tiny_model() -> CodeClassifier:
    texts = [
        "Volunteers mailed letters to the prisoners.",
        "She wrote letters to a jailed friend.",
        "Parcels with warm clothes reached the prisoners.",
        "Friends collected parcels for the inmates.",
        "The sunny weather held all week.",
        "The train left the station on time.",
        "Police detained a protester downtown.",
    ]
    labels = [["support"], ["support"], ["support"], ["support"], [], [], ["repression"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TrustcodeWarning)  # repression: too few positives
        return CodeClassifier(min_positives=2, folds=2).fit(
            texts, labels, codes=["support", "repression"]
        )


def test_classifier_terms_and_disagreements(
    small: dict[str, Path], tiny_model: CodeClassifier
) -> None:
    assert tiny_model.classifier_codes_ == ("support",)
    result = _quiet_diagnose(
        small["corpus"],
        codebook=small["codebook"],
        gold=small["gold"],
        model=tiny_model,
        max_terms=5,
    )
    terms = result.suggested_terms
    support = terms[terms["code"] == "support"]
    assert len(support) == 5 and set(support["method"]) == {"classifier weight"}
    assert (support["weight"] > 0).all()
    assert support["weight"].is_monotonic_decreasing
    book = load_codebook(small["codebook"])
    ruleset = RuleSet(book)
    vocabulary = tiny_model.vectorizers_[0].vocabulary_
    for term in support["term"]:
        assert term in vocabulary
        for language in ("en", "ru"):  # no rule of the code matches the term itself
            hits = ruleset.match([segment_of(term)], language)[0]
            assert not [h for h in hits if h.code == "support"], term
        assert term not in ("letters", "parcels", "spam letters")
    # repression has no classifier: its terms come from the gold's word frequencies
    assert set(terms.loc[terms["code"] == "repression", "method"]) <= {"log-odds (gold)"}
    codes = result.codes.set_index("code")
    assert bool(codes.loc["support", "has_classifier"])
    assert not bool(codes.loc["repression", "has_classifier"])
    assert not math.isnan(codes.loc["support", "classifier_f1"])
    assert math.isnan(codes.loc["repression", "classifier_f1"])

    # disagreements, recomputed from the model's scores and the rule coding counted by hand
    passages = [p for d in read_corpus(small["corpus"]) for p in segment(d)]
    scores = tiny_model.predict_scores([p.text for p in passages])["support"]
    threshold = tiny_model.thresholds_["support"]
    ruled = {"a#0", "a#1", "b#0", "c#0", "d#0"}
    expected = {
        p.passage_id: abs(s - (p.passage_id in ruled))
        for p, s in zip(passages, scores, strict=True)
        if (p.passage_id in ruled) != (s >= threshold)
    }
    table = result.disagreements
    assert dict(zip(table["passage_id"], table["disagreement"], strict=True)) == pytest.approx(
        expected
    )
    assert table["disagreement"].is_monotonic_decreasing
    for row in table.to_dict("records"):
        assert row["kind"] == ("rule, low score" if row["rule"] else "high score, no rule")


def segment_of(term: str):  # type: ignore[no-untyped-def]
    from trustcode.types import Passage

    return Passage("term", 0, 0, len(term), term)


# --- diff_codebooks on the small corpus ----------------------------------------------------------


def _variant(small: dict[str, Path], name: str, edit) -> Path:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(CODEBOOK)
    edit(data)
    path = small["tmp"] / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _drop_rule(code: str, rule: str):  # type: ignore[no-untyped-def]
    def edit(data: dict) -> None:  # type: ignore[type-arg]
        for entry in data["codes"]:
            if entry["id"] == code:
                entry["rules"] = [r for r in entry["rules"] if r.get("id") != rule]

    return edit


def test_diff_removed_rule_loses_exactly_its_unique_passages(small: dict[str, Path]) -> None:
    new = _variant(small, "no-letters.yaml", _drop_rule("support", "letters"))
    change = diff_codebooks(small["codebook"], new, small["corpus"], gold=small["gold"])
    assert change.passages[["code", "change", "passage_id", "rule_ids"]].values.tolist() == [
        ["support", "lost", "a#1", "support.letters"]
    ]
    codes = change.codes.set_index("code")
    assert codes.loc["support", "status"] == "changed"
    assert (codes.loc["support", "old_passages"], codes.loc["support", "new_passages"]) == (5, 4)
    assert (codes.loc["support", "gained"], codes.loc["support", "lost"]) == (0, 1)
    assert codes.loc["support", "rules_removed"] == 1
    assert codes.loc["repression", "status"] == "unchanged"
    matrix = change.matrix.set_index(["doc_id", "code"])
    assert matrix.loc[("a", "support")].tolist() == [2, 1, -1]  # a#0 a#1 -> a#0
    assert (matrix.drop(index=[("a", "support")])["delta"] == 0).all()
    agreement = change.agreement.set_index("code")
    # gold passages predicted old: a#0 a#1 b#0 c#0 (3 right); new: a#0 b#0 c#0 (2 right)
    assert agreement.loc["support", "old_precision"] == pytest.approx(3 / 4)
    assert agreement.loc["support", "new_precision"] == pytest.approx(2 / 3)
    assert agreement.loc["support", "new_recall"] == pytest.approx(2 / 3)
    assert agreement.loc["support", "delta_f1"] == pytest.approx(2 / 3 - 6 / 7)
    assert "support: +0 / -1" in change.summary()


def test_diff_added_rule_gains_passages(small: dict[str, Path]) -> None:
    def edit(data: dict) -> None:  # type: ignore[type-arg]
        data["codes"][0]["rules"].append({"id": "weather", "phrases": ["calm"]})

    change = diff_codebooks(small["codebook"], _variant(small, "calm.yaml", edit), small["corpus"])
    assert change.passages[["code", "change", "passage_id", "rule_ids"]].values.tolist() == [
        ["support", "gained", "b#1", "support.weather"]
    ]
    assert change.codes.set_index("code").loc["support", "rules_added"] == 1


def test_diff_renamed_code_keeps_its_passages(small: dict[str, Path]) -> None:
    def edit(data: dict) -> None:  # type: ignore[type-arg]
        data["codes"][0]["id"] = "prisoner_support"  # same label, same rules

    change = diff_codebooks(
        small["codebook"], _variant(small, "renamed.yaml", edit), small["corpus"]
    )
    row = change.codes.set_index("code").loc["prisoner_support"]
    assert (row["old_code"], row["status"], row["gained"], row["lost"]) == (
        "support",
        "renamed",
        0,
        0,
    )
    assert change.passages.empty
    assert "Renamed codes: support -> prisoner_support." in change.summary()


def test_diff_with_no_code_in_common_says_so_and_still_reports(small: dict[str, Path]) -> None:
    def edit(data: dict) -> None:  # type: ignore[type-arg]
        data["codes"] = [{"id": "weather", "label": "Weather", "rules": [{"phrases": ["weather"]}]}]

    other = _variant(small, "other.yaml", edit)
    with pytest.warns(TrustcodeWarning, match="no code id in common"):
        change = diff_codebooks(small["codebook"], other, small["corpus"], gold=small["gold"])
    assert any("no code id in common" in note for note in change.notes)
    status = dict(zip(change.codes["code"], change.codes["status"], strict=True))
    assert status == {"support": "removed", "repression": "removed", "weather": "added"}
    matrix = change.matrix.set_index(["doc_id", "code"])
    assert pd.isna(matrix.loc[("b", "weather"), "old"])  # the old codebook has no such code
    assert matrix.loc[("b", "weather"), ["new", "delta"]].tolist() == [1, 1]
    assert matrix.loc[("a", "support"), "delta"] == -2
    assert len(change.agreement) == 3


def test_diff_of_a_codebook_with_itself_changes_nothing(small: dict[str, Path]) -> None:
    change = diff_codebooks(small["codebook"], small["codebook"], small["corpus"])
    assert set(change.codes["status"]) == {"unchanged"}
    assert change.passages.empty
    assert (change.matrix["delta"] == 0).all()
    assert change.summary() == "No code gains or loses a passage."


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    removed=st.sets(
        st.sampled_from(
            [
                "support.letters",
                "support.parcels",
                "support.ru_letters",
                "support.not_spam",
                "repression.arrest",
                "repression.ru_arrest",
            ]
        )
    )
)
def test_removing_rules_loses_the_passages_only_they_coded(
    small: dict[str, Path], removed: set[str]
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TrustcodeWarning)
        book = load_codebook(small["codebook"])
        base = diagnose(small["corpus"], codebook=book, model=None)
        codes = tuple(
            replace(c, rules=tuple(r for r in c.rules if r.id not in removed)) for c in book.codes
        )
        change = diff_codebooks(book, replace(book, codes=codes), small["corpus"])
    fired = base.rule_passages
    expected_lost, expected_gained = set(), set()
    for (code, pid), part in fired.groupby(["code", "passage_id"]):
        rule_ids = set(part["rule_id"])
        veto_ids = {r for r in rule_ids if r.endswith("not_spam")}
        coders = rule_ids - veto_ids
        before = bool(coders) and not veto_ids
        after = bool(coders - removed) and not (veto_ids - removed)
        if before and not after:
            expected_lost.add((code, pid))
        if after and not before:
            expected_gained.add((code, pid))
    lost = change.passages[change.passages["change"] == "lost"]
    gained = change.passages[change.passages["change"] == "gained"]
    assert set(zip(lost["code"], lost["passage_id"], strict=True)) == expected_lost
    assert set(zip(gained["code"], gained["passage_id"], strict=True)) == expected_gained


# --- the shipped codebook on the shared corpus ---------------------------------------------------


def test_shipped_codebook_every_rule_with_coverage_and_precision(
    corpus_sources: Path, repo_dir: Path
) -> None:
    book = load_codebook()
    result = _quiet_diagnose(
        corpus_sources,
        codebook=book,
        gold=repo_dir / "corpus/gold/coding",
        model=None,
        documents=[repo_dir / "corpus", corpus_sources],
    )
    assert result.rules["rule_id"].tolist() == [r.id for r in book.rules]
    assert (result.rules["coverage"] >= result.rules["unique"].fillna(0)).all()
    assert (result.rules["fired"] >= result.rules["coverage"]).all()
    scored = result.rules[result.rules["gold_passages"] > 0]
    assert len(scored) > 10
    assert scored["precision"].between(0, 1).all()
    assert result.rules.loc[result.rules["gold_passages"] == 0, "precision"].isna().all()
    assert set(result.never_fired["rule_id"]) == set(
        result.rules.loc[result.rules["fired"] == 0, "rule_id"]
    )
    frames = result.frames()
    assert list(frames) == [
        "codes",
        "rules",
        "overlap",
        "conflicts",
        "conflict_passages",
        "never_fired",
        "rule_passages",
        "disagreements",
        "suggested_terms",
        "notes",
    ]
    assert "rules of 10 codes" in result.summary()


def test_shipped_codebook_rule_that_cannot_match_never_fires(
    corpus_sources: Path, repo_dir: Path, tmp_path: Path
) -> None:
    data = yaml.safe_load((repo_dir / "codebook.yaml").read_text(encoding="utf-8"))
    code = next(c for c in data["codes"] if c.get("rules"))
    code["rules"].append({"id": "impossible", "regex": "qq(?!)zz"})
    path = tmp_path / "codebook.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TrustcodeWarning)
        result = diagnose(corpus_sources, codebook=path, model=None)
    said = [str(w.message) for w in caught if "impossible" in str(w.message)]
    assert len(said) == 1
    assert f"'{code['id']}.impossible' of code '{code['id']}' never fires" in said[0]
    assert f"{code['id']}.impossible" in set(result.never_fired["rule_id"])


@pytest.mark.parametrize("where", ["article", "shared"])
def test_shipped_codebook_diff_one_rule_removed_is_what_it_alone_coded(
    where: str, corpus_sources: Path, repo_dir: Path, tmp_path: Path
) -> None:
    corpus = repo_dir / "corpus" if where == "article" else corpus_sources
    book = load_codebook()
    # an oracle apart from diagnose: each rule's passages where it is its code's only rule
    alone: dict[str, set[str]] = {r.id: set() for r in book.rules}
    ruleset = RuleSet(book)
    for document in read_corpus(corpus):
        passages = segment(document)
        for passage, hits in zip(passages, ruleset.match(passages, document.language), strict=True):
            for code_hits in ruleset.codes(hits).values():
                rule_ids = {h.rule_id for h in code_hits}
                if len(rule_ids) == 1:
                    alone[rule_ids.pop()].add(passage.passage_id)
    rule_id = max(alone, key=lambda r: (len(alone[r]), r))
    assert alone[rule_id]
    code_id = rule_id.split(".", 1)[0]
    position = [r.id for r in book.code(code_id).rules].index(rule_id)
    data = yaml.safe_load((repo_dir / "codebook.yaml").read_text(encoding="utf-8"))
    entry = next(c for c in data["codes"] if c["id"] == code_id)
    del entry["rules"][position]
    path = tmp_path / "one-rule-less.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TrustcodeWarning)
        change = diff_codebooks(book, path, corpus)
        report = diagnose(corpus, codebook=book, model=None)
    lost = change.passages[change.passages["change"] == "lost"]
    assert set(lost["code"]) == {code_id}
    assert set(lost["passage_id"]) == alone[rule_id]
    assert (change.passages["change"] == "lost").all()
    assert _by_rule(report.rules)[rule_id]["unique"] == len(alone[rule_id])
