"""Adapting a model to reviewed passages without its training texts (classify.adapting), the
order of a review sheet (review.selection), and ``train --base`` / ``code --review-size``."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from trustcode.classify import (
    ADAPT_WEIGHT,
    adapt_model,
    load_model,
    model_bytes,
    model_metadata,
    save_model,
)
from trustcode.cli import main
from trustcode.errors import GoldError, ModelError, TrustcodeWarning
from trustcode.review import choose_for_review, review_order
from trustcode.review.selection import teaching_value
from trustcode.types import Code, Codebook

from .test_classify import TEXTS, _codebook, _fit

# the researcher's material: hunger strikes are 'arrests' in their codebook, a word the base
# never saw coded
NEW = [
    ("m1", "The prisoner began a hunger strike in the colony.", ("arrests",)),
    ("m1", "Another hunger strike followed in the detention centre.", ("arrests",)),
    ("m1", "A hunger strike of the inmates lasted ten days.", ("arrests",)),
    ("m2", "The museum extended its hours for the festival.", ()),
    ("m2", "The bakery near the station sold bread all night.", ()),
    ("m2", "Volunteers wrote letters to the inmates on hunger strike.", ("arrests", "support")),
]
PROBE = ["A hunger strike began in the prison."]


def _gold(rows=NEW, start: int = 0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "doc_id": [d for d, _, _ in rows],
            "passage_id": [f"{d}#{i}" for i, (d, _, _) in enumerate(rows, start)],
            "start": [10 * i for i in range(start, start + len(rows))],
            "end": [10 * i + 9 for i in range(start, start + len(rows))],
            "text": [t for _, t, _ in rows],
            "codes": [c for _, _, c in rows],
            "language": ["en"] * len(rows),
            "coder": ["anna"] * len(rows),
        }
    )


@pytest.fixture(scope="module")
def base():  # type: ignore[no-untyped-def]
    model = _fit()
    model.codebook_sha256_ = "a" * 64
    return model


def _arrests(model, texts=PROBE) -> float:  # type: ignore[no-untyped-def]
    return float(model.predict_scores(texts)["arrests"].iloc[0])


def test_adapting_learns_the_reviewed_material_and_leaves_the_base(base) -> None:  # type: ignore[no-untyped-def]
    before = base.coef_.copy()
    adapted = adapt_model(base, _gold(), _codebook(), base_name="base.skops")
    assert _arrests(adapted) > _arrests(base) + 0.1
    np.testing.assert_array_equal(base.coef_, before)
    # what the reviewed passages say nothing about, the base still knows
    assert adapted.predict(["Police detained a young musician at the rally."]) == [("arrests",)]
    assert adapted.adapt_keys_ and len(adapted.adapt_keys_) == len(NEW)
    assert adapted.adapt_weight_ == ADAPT_WEIGHT
    assert adapted.n_training_ == base.n_training_ + len(NEW)


def test_reviewed_passages_weigh_more_with_a_larger_weight(base) -> None:  # type: ignore[no-untyped-def]
    light = adapt_model(base, _gold(), _codebook(), weight=0.5)
    heavy = adapt_model(base, _gold(), _codebook(), weight=20)
    assert _arrests(heavy) > _arrests(light)


def test_adapted_model_file_round_trips_and_names_its_base(base, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    book = _codebook()
    adapted = adapt_model(base, _gold(), book, base_name="base.skops")
    path = save_model(adapted, tmp_path / "adapted.skops", book)
    assert model_bytes(adapted, book) == path.read_bytes()
    meta = model_metadata(path)
    assert meta["adapted"] == {
        "base": "base.skops",
        "prior": {"name": "base.skops", "training_size": base.n_training_},
        "weight": ADAPT_WEIGHT,
        "reviewed_passages": len(NEW),
        "rule_cuts": {},
    }
    loaded = load_model(path, book)
    pd.testing.assert_frame_equal(loaded.predict_scores(PROBE), adapted.predict_scores(PROBE))
    assert loaded.adapt_keys_ == adapted.adapt_keys_
    np.testing.assert_array_equal(
        loaded.adapt_features_.toarray(), adapted.adapt_features_.toarray()
    )
    # a trained model carries none of it, so its file keeps its bytes
    assert "adapted" not in model_metadata(save_model(base, tmp_path / "base.skops", book))


def test_a_second_round_accumulates(base, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    book = _codebook()
    first, second = _gold(NEW[:3]), _gold(NEW[3:], start=3)
    once = adapt_model(base, pd.concat([first, second], ignore_index=True), book)
    path = save_model(adapt_model(base, first, book, base_name="base"), tmp_path / "a.skops", book)
    twice = adapt_model(load_model(path, book), second, book, base_name=str(path))
    np.testing.assert_allclose(twice.coef_, once.coef_, atol=1e-6)
    assert twice.prior_["name"] == "base" and twice.base_name_ == str(path)
    assert len(twice.adapt_keys_) == len(NEW)


def test_a_passage_reviewed_twice_counts_once_the_later_decision_winning(base) -> None:  # type: ignore[no-untyped-def]
    book = _codebook()
    said_yes = _gold()
    said_no = _gold()
    said_no["codes"] = [()] * len(said_no)
    changed_mind = adapt_model(adapt_model(base, said_yes, book), said_no, book)
    only_no = adapt_model(base, said_no, book)
    np.testing.assert_allclose(changed_mind.coef_, only_no.coef_, atol=1e-6)
    assert len(changed_mind.adapt_keys_) == len(NEW)
    # within one gold table too: the later row wins
    both = adapt_model(base, pd.concat([said_yes, said_no], ignore_index=True), book)
    np.testing.assert_allclose(both.coef_, only_no.coef_, atol=1e-6)


def test_bad_adaptations_are_refused(base) -> None:  # type: ignore[no-untyped-def]
    other = Codebook("other", (Code("support", "S"), Code("protest", "P")), sha256="c" * 64)
    with pytest.raises(
        ModelError,
        match=r"codes the base lacks: protest; base codes the "
        r"codebook lacks: arrests, exile",
    ):
        adapt_model(base, _gold(), other)
    with pytest.raises(GoldError, match="no passage"):
        adapt_model(base, _gold().iloc[:0], _codebook())
    with pytest.raises(GoldError, match="weight"):
        adapt_model(base, _gold(), _codebook(), weight=0)


# --- rule cuts: what the review says of the rules -----------------------------------------------

# the researcher's material: their 'police' passages are mostly a brass band, which the rule for
# 'arrests' (the word 'police') codes all the same
BAND = [
    ("b1", "The police band played a waltz at the spring festival.", ()),
    ("b1", "Children danced while the police band played in the park.", ()),
    ("b1", "The police band rehearsed marches for the city parade.", ()),
    ("b2", "A new trumpet player joined the police band this season.", ()),
    ("b2", "The police band gave a free concert by the river.", ()),
    ("b2", "Tickets for the police band concert sold out quickly.", ()),
    ("b3", "Police detained five students at the rally.", ("arrests",)),
    ("b3", "Police arrested two journalists outside the court.", ("arrests",)),
    ("b3", "Police held the protesters overnight without charge.", ("arrests",)),
    ("b4", "Police detained a pensioner for a single picket.", ("arrests",)),
    ("b4", "The market opened early on Saturday.", ()),
    ("b4", "Volunteers wrote letters to prisoners.", ("support",)),
]


def _ruled_codebook(term: str = "police") -> Codebook:
    from trustcode.types import Rule

    book = _codebook()
    police = Rule(f"arrests.{term}", "arrests", "phrases", terms=(term,))
    codes = tuple(
        Code(c.id, c.label, rules=(police,) if c.id == "arrests" else ()) for c in book.codes
    )
    return Codebook(
        book.name,
        codes,
        version=book.version,
        sha256=book.sha256,
        path=book.path,
        languages=("en",),
    )


def _coded(model, book, text: str) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    from trustcode.pipeline import Coder
    from trustcode.types import Document

    coded = Coder(book, model=model).code_document(Document("new", text, language="en"))
    return [(c.passage_id, c.code) for c in coded.codings]


def test_review_rejecting_rule_hits_teaches_a_rule_cut(base, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    book = _ruled_codebook()
    adapted = adapt_model(base, _gold(BAND), book)
    assert adapted.rule_cuts_.get("arrests", 0) > 0
    assert adapted.adapt_rules_[:, list(adapted.codes_).index("arrests")].sum() == 10
    text = (
        "The police band played marches at the autumn festival.\n\n"
        "Police detained three students at the rally.\n"
    )
    assert _coded(base, book, text) == [("new#0", "arrests"), ("new#1", "arrests")]
    assert _coded(adapted, book, text) == [("new#1", "arrests")]
    # kept in the model file, and through a second round
    path = save_model(adapted, tmp_path / "adapted.skops", book)
    assert model_metadata(path)["adapted"]["rule_cuts"] == adapted.rule_cuts_
    loaded = load_model(path, book)
    assert loaded.rule_cuts_ == adapted.rule_cuts_
    np.testing.assert_array_equal(loaded.adapt_rules_, adapted.adapt_rules_)
    again = adapt_model(loaded, _gold(NEW, start=len(BAND)), book)
    assert len(again.adapt_keys_) == len(BAND) + len(NEW)
    assert again.adapt_rules_[: len(BAND)].sum() == adapted.adapt_rules_.sum()
    # the same review without the rule: nothing to cut
    assert adapt_model(base, _gold(BAND), _codebook()).rule_cuts_ == {}


def test_no_cut_where_the_rules_were_right(base) -> None:  # type: ignore[no-untyped-def]
    right = [row for row in BAND if row[2] or "police" not in row[1]]
    more = [
        ("b5", f"Police detained {n} people near the station.", ("arrests",))
        for n in ("six", "seven", "eight", "nine")
    ]
    adapted = adapt_model(base, _gold(right + more), _ruled_codebook())
    assert adapted.rule_cuts_ == {}


# --- the order of a review sheet -----------------------------------------------------------------


def test_choice_spreads_over_documents_and_skips_near_duplicates() -> None:
    value = np.array([0.9, 0.89, 0.88, 0.6, 0.1])
    docs = ["a", "a", "a", "b", "b"]
    words = [{"x", "y"}, {"x", "z"}, {"w"}, {"v"}, {"x", "y"}]
    # "a" already has its share after one: "b" comes second; 4 repeats the words of 0
    assert choose_for_review(value, docs, ["en"] * 5, words, 5) == [0, 3, 1, 2]
    assert choose_for_review(value, docs, ["en"] * 5, words, 2) == [0, 3]
    assert choose_for_review(value, docs, ["en"] * 5, words, 0) == []


def test_choice_prefers_passages_unlike_those_chosen() -> None:
    from scipy.sparse import csr_matrix

    value = np.array([0.9, 0.85, 0.5])
    features = csr_matrix(np.array([[1.0, 0.1, 0.0], [1.0, 0.2, 0.0], [0.0, 0.1, 1.0]]))
    words = [{"a"}, {"b"}, {"c"}]
    assert choose_for_review(value, ["d"] * 3, ["en"] * 3, words, 2) == [0, 1]
    assert choose_for_review(value, ["d"] * 3, ["en"] * 3, words, 2, features=features) == [0, 2]


def test_review_order_is_deterministic_and_prefers_unsure_codes(base) -> None:  # type: ignore[no-untyped-def]
    texts = list(TEXTS[:40]) + [t for _, t, _ in NEW]
    docs = [f"d{i % 4}" for i in range(len(texts))]
    order, chosen = review_order(base, texts, docs, ["en"] * len(texts), 10)
    assert chosen == 10 and sorted(order) == list(range(len(texts)))
    assert review_order(base, texts, docs, ["en"] * len(texts), 10) == (order, chosen)
    cut = [base.thresholds_[c] for c in base.classifier_codes_]
    value = teaching_value(base.score_matrix(texts), cut).sum(axis=1)
    # the first is the passage that teaches most; the chosen teach more than those left
    assert value[order[0]] == value.max()
    assert value[order[:10]].mean() > value[order[10:]].mean()


def test_review_sheet_puts_rule_hits_the_classifier_doubts_first(base, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A rule coding the classifier scores low is where a review can show the rules wrong: the
    sheet puts it first (write_review reads the rule hits from the run's codings)."""
    from trustcode.pipeline import Coder, tables_for
    from trustcode.review import write_review
    from trustcode.types import Document

    book = _ruled_codebook("festival")  # a rule the classifier does not share
    text = "\n\n".join(
        ["The museum extended its hours for the festival.", *[t for _, t, _ in NEW], *TEXTS[:12]]
    )
    document = Document("d", text, language="en")
    tables = tables_for(
        [Coder(book, model=base).code_document(document)], [c.id for c in book.leaf_codes]
    )
    texts = list(tables["passages"]["text"])
    plain, _ = review_order(base, texts, ["d"] * len(texts), ["en"] * len(texts), 3)
    assert 0 not in plain[:3]  # by the classifier's doubt alone, the rule hit is not chosen
    sheet = write_review(tables, tmp_path / "review.xlsx", codebook=book, model=base, review_size=3)
    first = next(load_workbook(sheet)["review"].iter_rows(min_row=2, values_only=True))
    assert first[0] == "d#0"


# --- the command line ----------------------------------------------------------------------------


def _review_sheet(tmp_path: Path, runner: CliRunner) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text(
        "Police detained forty people at the rally in Moscow.\n\n"
        "Volunteers wrote letters to political prisoners every week.\n\n"
        "The bakery near the station sold bread all night.\n",
        "utf-8",
    )
    (docs / "b.txt").write_text(
        "The court fined the activist for a single picket.\n\n"
        "The museum extended its hours for the festival.\n",
        "utf-8",
    )
    out = tmp_path / "review.xlsx"
    result = runner.invoke(
        main, ["code", str(docs), "--review", "--review-size", "3", "-o", str(out), "-q"]
    )
    assert result.exit_code == 0, result.output
    return out


def test_code_review_size_says_how_many_were_chosen(tmp_path: Path) -> None:
    out = _review_sheet(tmp_path, CliRunner())
    wb = load_workbook(out)
    lines = [c.value for c in wb["instructions"]["A"] if c.value]
    assert any("holds 5 passage(s). The first 3 were chosen" in line for line in lines)
    provenance = {r[0]: r[1] for r in wb["provenance"].iter_rows(min_row=2, values_only=True)}
    assert provenance["review_passages"] == 5 and provenance["review_chosen"] == 3
    again = tmp_path / "again.xlsx"
    result = CliRunner().invoke(
        main,
        ["code", str(tmp_path / "docs"), "--review", "--review-size", "3", "-o", str(again), "-q"],
    )
    assert result.exit_code == 0
    first = [r[0] for r in wb["review"].iter_rows(min_row=2, values_only=True)]
    second = [r[0] for r in load_workbook(again)["review"].iter_rows(min_row=2, values_only=True)]
    assert first == second  # the same run, the same order


def _decide(sheet: Path, out: Path, rows: int) -> Path:
    """Review the first ``rows`` rows: accept what the machine proposed, reject the rest."""
    wb = load_workbook(sheet)
    ws = wb["review"]
    header = [c.value for c in ws[1]]
    for r in range(2, 2 + rows):
        for i, name in enumerate(header):
            if name and name.endswith(": decision"):
                code = name.removesuffix(": decision")
                proposed = ws.cell(row=r, column=header.index(code) + 1).value
                ws.cell(row=r, column=i + 1).value = "accept" if proposed else "reject"
    wb.save(out)
    return out


def test_train_base_default_adapts_the_shipped_model(tmp_path: Path) -> None:
    runner = CliRunner()
    reviewed = _decide(_review_sheet(tmp_path, runner), tmp_path / "reviewed.xlsx", 3)
    out = tmp_path / "adapted.skops"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TrustcodeWarning)
        result = runner.invoke(main, ["train", str(reviewed), "--base", "default", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "Adapted default to 3 reviewed passage(s)" in result.output
    meta = model_metadata(out)
    assert meta["adapted"]["base"] == "default (shipped)"
    assert meta["adapted"]["reviewed_passages"] == 3
    # a second round on the adapted model
    out2 = tmp_path / "adapted-2.skops"
    result = runner.invoke(
        main,
        [
            "train",
            str(_decide(reviewed, tmp_path / "r2.xlsx", 5)),
            "--base",
            str(out),
            "-o",
            str(out2),
        ],
    )
    assert result.exit_code == 0, result.output
    meta2 = model_metadata(out2)
    assert meta2["adapted"]["base"] == str(out)
    assert meta2["adapted"]["prior"]["name"] == "default (shipped)"
    assert meta2["adapted"]["reviewed_passages"] == 5


def test_train_base_bad_input_writes_nothing(tmp_path: Path) -> None:
    runner = CliRunner()
    sheet = _review_sheet(tmp_path, runner)
    out = tmp_path / "adapted.skops"
    result = runner.invoke(main, ["train", str(sheet), "--base", "default", "-o", str(out)])
    assert result.exit_code == 2
    assert "nothing was reviewed" in result.output
    reviewed = _decide(sheet, tmp_path / "reviewed.xlsx", 2)
    result = runner.invoke(
        main, ["train", str(reviewed), "--base", str(tmp_path / "no.skops"), "-o", str(out)]
    )
    assert result.exit_code == 2 and "does not exist" in result.output
    # a base trained for another codebook's codes
    book = _codebook()
    other = save_model(_fit(), tmp_path / "other.skops", book)
    result = runner.invoke(main, ["train", str(reviewed), "--base", str(other), "-o", str(out)])
    assert result.exit_code == 2
    assert "codes the base lacks:" in result.output and "exile" in result.output
    # in the library's terms, with the command's own option added by the CLI
    assert "base=None" in result.output and "Command line: --base" in result.output
    assert not out.exists()


def _spoil(sheet: Path, out: Path, how: str) -> tuple[Path, str]:
    """A reviewed sheet spoiled one way, and what the error must say."""
    wb = load_workbook(sheet)
    ws = wb["review"]
    header = [c.value for c in ws[1]]
    decisions = [i for i, name in enumerate(header) if name and name.endswith(": decision")]
    added = header.index("added_codes") + 1
    if how == "renamed column":
        ws.cell(row=1, column=added).value = "extra codes"
        expected = r"lacks the column\(s\) added_codes"
    elif how == "bad decision":
        ws.cell(row=3, column=decisions[0] + 1).value = "maybe"
        expected = rf"row 3, column .*\({header[decisions[0]]!r}\): unknown decision 'maybe'"
    elif how == "unknown added code":
        ws.cell(row=2, column=added).value = "hunger_strike"
        expected = r"unknown code id\(s\) 'hunger_strike' \(row 2\)"
    elif how == "another codebook":
        ws.cell(row=1, column=decisions[0] + 1).value = "strikes: decision"
        expected = r"'strikes: decision'\): code 'strikes' is not in the codebook"
    else:  # stale: the document was edited after the sheet was written
        doc = sheet.parent / "docs" / f"{ws.cell(row=2, column=2).value}.txt"
        doc.write_text("A line written later.\n\n" + doc.read_text("utf-8"), "utf-8")
        expected = rf"stale passages: .*row 2 \(passage .*{doc.stem} \({doc}\)"
    wb.save(out)
    return out, expected


@pytest.mark.parametrize(
    "how", ["renamed column", "bad decision", "unknown added code", "another codebook", "stale"]
)
def test_train_base_refuses_a_spoiled_review_sheet(tmp_path: Path, how: str) -> None:
    """Each bad review sheet of issue 16: a clear error naming the problem, exit code 2, and
    no model written."""
    import re

    runner = CliRunner()
    reviewed = _decide(_review_sheet(tmp_path, runner), tmp_path / "reviewed.xlsx", 3)
    spoiled, expected = _spoil(reviewed, tmp_path / "spoiled.xlsx", how)
    out = tmp_path / "adapted.skops"
    result = runner.invoke(main, ["train", str(spoiled), "--base", "default", "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert re.search(expected, " ".join(result.output.split())), result.output
    assert not out.exists()
