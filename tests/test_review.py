"""The review loop: write a review workbook, edit it as a reviewer would, read it back."""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from trustcode.agreement import agree
from trustcode.coded import gold_to_tables, read_coded
from trustcode.errors import GoldError, InputError, OutputError, TrustcodeWarning, UsageError
from trustcode.gold import GOLD_COLUMNS, read_gold
from trustcode.pipeline import CodedDocument, tables_for
from trustcode.review import (
    DECISION_SUFFIX,
    is_review_workbook,
    read_review,
    uncertainty,
    write_review,
)
from trustcode.segment import segment
from trustcode.types import Code, Codebook, Coding, Document

BOOK = Codebook(
    name="review test codebook",
    codes=(
        Code("help", "Help", definition="Any help to people in trouble."),
        Code(
            "letters",
            "Letters",
            definition="Writing to prisoners.",
            parent="help",
            colour="#1b9e77",
        ),
        Code("arrests", "Arrests", definition="Detentions and fines.", colour="#d95f02"),
        Code("exile", "Exile", definition="Leaving the country."),
    ),
    languages=("en", "ru"),
    sha256="0123abcd",
)
LEAVES = ("letters", "arrests", "exile")

EN = Document(
    "en1",
    "Volunteers in two towns sent letters to people in jail.\n\n"
    "The police held nine people after the rally and fined them.\n\n"
    "It rained all week, and the market was quiet.\n",
    language="en",
)
RU = Document(
    "ru1",
    "Друзья уехали за границу, но пишут письма тем, кто сидит.\n\n"
    "На площади задержали пятерых студентов.\n\n"
    "Весной в парке снова открыли кафе.\n",
    language="ru",
)
#: passage ids in the order the sheet must list them: least sure first
SHEET_ORDER = ["en1#1", "ru1#0", "en1#0", "ru1#1", "en1#2", "ru1#2"]


def _coding(
    doc: Document, index: int, code: str, source: str, score: float | None, evidence: str
) -> Coding:
    passage = segment(doc)[index]
    return Coding(
        doc.doc_id, passage.passage_id, passage.start, passage.end, code, source, score, evidence
    )


def _run() -> dict[str, pd.DataFrame]:
    en_codings = [
        _coding(EN, 0, "letters", "rule", None, 'letters.en: "letters" [35-42]'),
        _coding(EN, 1, "arrests", "classifier", 0.55, "classifier 0.55: 'police', 'held'"),
    ]
    ru_codings = [
        _coding(RU, 0, "letters", "rule+classifier", 0.95, 'letters.ru: "письма" [35-41]'),
        _coding(RU, 0, "exile", "classifier", 0.8, "classifier 0.80: 'уехали'"),
        _coding(RU, 1, "arrests", "rule", None, 'arrests.ru: "задержали" [11-20]'),
    ]
    coded = [
        CodedDocument(EN, segment(EN), en_codings),
        CodedDocument(RU, segment(RU), ru_codings),
    ]
    return tables_for(coded, LEAVES)


@pytest.fixture
def run() -> dict[str, pd.DataFrame]:
    return _run()


@pytest.fixture
def sheet(tmp_path: Path, run: dict[str, pd.DataFrame]) -> Path:
    return write_review(
        run,
        tmp_path / "review.xlsx",
        codebook=BOOK,
        provenance={"unit": "paragraph", "options": {"jobs": 1}},
    )


def _letters(ws) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """header -> column letter of the review sheet."""
    return {c.value: c.column_letter for c in ws[1]}


def _row_of(ws, passage: str) -> int:  # type: ignore[no-untyped-def]
    for cell in ws["A"]:
        if cell.value == passage:
            return cell.row
    raise AssertionError(f"no row for {passage}")


def _edit(path: Path, out: Path, edits: dict[tuple[str, str], object]) -> Path:
    """Set cells as a reviewer would: (passage_id, column header) -> value; save to ``out``."""
    wb = load_workbook(path)
    ws = wb["review"]
    letters = _letters(ws)
    for (passage, column), value in edits.items():
        ws[f"{letters[column]}{_row_of(ws, passage)}"] = value
    wb.save(out)
    return out


def _codes(gold: pd.DataFrame) -> dict[str, tuple[str, ...]]:
    return dict(zip(gold["passage_id"], gold["codes"], strict=True))


def _quiet_read(path: Path, **kwargs: object) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TrustcodeWarning)
        return read_review(path, **kwargs)  # type: ignore[arg-type]


# --- uncertainty ---------------------------------------------------------------------------------


def test_uncertainty_values() -> None:
    assert uncertainty([0.5]) == 1.0
    assert uncertainty([0.95, 0.8]) == pytest.approx(0.4)
    assert uncertainty([None]) == 0.0
    assert uncertainty([]) is None


@given(st.lists(st.one_of(st.none(), st.floats(0, 1)), min_size=1, max_size=6))
def test_uncertainty_bounded_and_symmetric(scores: list[float | None]) -> None:
    value = uncertainty(scores)
    assert value is not None and 0.0 <= value <= 1.0
    mirrored = [None if s is None else 1.0 - s for s in scores]
    assert uncertainty(mirrored) == pytest.approx(value, abs=1e-6)


# --- writing -------------------------------------------------------------------------------------


def test_review_sheet_columns_and_order(sheet: Path) -> None:
    wb = load_workbook(sheet)
    assert wb.sheetnames == ["review", "instructions", "codebook", "provenance", "documents"]
    ws = wb["review"]
    header = [c.value for c in ws[1]]
    expected = ["passage_id", "doc_id", "start", "end", "text", "machine_codes", "uncertainty"]
    for code in LEAVES:
        expected += [code, f"{code}{DECISION_SUFFIX}"]
    expected += ["added_codes", "reviewer", "note", "language"]
    assert header == expected
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in rows] == SHEET_ORDER
    assert [r[6] for r in rows][:4] == pytest.approx([0.9, 0.4, 0.0, 0.0])
    assert [r[6] for r in rows][4:] == [None, None]
    by_id = {r[0]: r for r in rows}
    assert by_id["ru1#0"][5] == "letters; exile"
    assert by_id["ru1#0"][-1] == "ru" and by_id["en1#2"][-1] == "en"
    # offsets point into the document, the text is the passage's
    start, end, text = by_id["ru1#1"][2:5]
    assert RU.text[start:end] == text


def test_decision_dropdowns_and_added_hint(sheet: Path) -> None:
    ws = load_workbook(sheet)["review"]
    letters = _letters(ws)
    validations = ws.data_validations.dataValidation
    lists = [v for v in validations if v.type == "list"]
    assert len(lists) == 1
    dropdown = lists[0]
    assert dropdown.formula1 == '"accept,reject"'
    assert dropdown.allow_blank
    assert dropdown.showErrorMessage
    ranges = {str(r) for r in dropdown.sqref.ranges}
    assert ranges == {
        f"{letters[f'{c}{DECISION_SUFFIX}']}2:{letters[f'{c}{DECISION_SUFFIX}']}7" for c in LEAVES
    }
    # pre-filled empty: nothing is reviewed yet
    for code in LEAVES:
        column = letters[f"{code}{DECISION_SUFFIX}"]
        assert all(ws[f"{column}{r}"].value is None for r in range(2, 8))
    hints = [v for v in validations if v.type != "list"]
    assert len(hints) == 1
    assert str(hints[0].sqref) == f"{letters['added_codes']}2:{letters['added_codes']}7"
    assert all(code in hints[0].prompt for code in LEAVES)


def test_proposals_comments_colours_and_layout(sheet: Path) -> None:
    ws = load_workbook(sheet)["review"]
    letters = _letters(ws)
    row = _row_of(ws, "en1#1")
    cell = ws[f"{letters['arrests']}{row}"]
    assert cell.value == "coded"
    assert "classifier" in cell.comment.text and "0.55" in cell.comment.text
    assert "'police'" in cell.comment.text
    assert ws[f"{letters['letters']}{row}"].value is None
    rule_cell = ws[f"{letters['letters']}{_row_of(ws, 'en1#0')}"]
    assert rule_cell.comment.text.startswith("rule\n")
    assert ws[f"{letters['letters']}1"].fill.fgColor.rgb == "FF1B9E77"
    assert ws[f"{letters['letters: decision']}1"].fill.fgColor.rgb == "FF1B9E77"
    assert ws[f"{letters['arrests']}1"].fill.fgColor.rgb == "FFD95F02"
    assert ws["A1"].font.bold
    assert ws.freeze_panes == "B2"
    assert ws.auto_filter.ref == f"A1:{letters['language']}7"
    assert ws[f"{letters['text']}2"].alignment.wrap_text
    assert ws.column_dimensions[letters["text"]].width >= 40


def test_other_sheets(sheet: Path) -> None:
    wb = load_workbook(sheet)
    instructions = " ".join(str(c.value) for c in wb["instructions"]["A"] if c.value)
    for word in (
        "accept",
        "reject",
        "added_codes",
        "NOT confirmed",
        "--unreviewed accept",
        "for example: letters; arrests",
    ):
        assert word in instructions
    codebook = list(wb["codebook"].iter_rows(values_only=True))
    assert codebook[0] == ("id", "label", "definition", "colour")
    assert [r[0] for r in codebook[1:]] == ["help", "letters", "arrests", "exile"]
    assert codebook[2][2] == "Writing to prisoners."
    assert wb["codebook"]["A3"].fill.fgColor.rgb == "FF1B9E77"
    provenance = dict(wb["provenance"].iter_rows(min_row=2, values_only=True))
    assert provenance["review_codebook_sha256"] == "0123abcd"
    assert provenance["unit"] == "paragraph"
    assert provenance["options"] == '{"jobs": 1}'


def test_text_starting_with_equals_stays_text(tmp_path: Path) -> None:
    doc = Document("f", "=1+1 is what the leaflet said.\n", language="en")
    tables = tables_for([CodedDocument(doc, segment(doc), [])], LEAVES)
    path = write_review(tables, tmp_path / "f.xlsx", codebook=BOOK)
    cell = load_workbook(path)["review"]["E2"]
    assert cell.data_type == "s" and cell.value == "=1+1 is what the leaflet said."
    path = _edit(path, tmp_path / "g.xlsx", {("f#0", "reviewer"): "Anna"})
    assert _quiet_read(path)["text"].tolist() == ["=1+1 is what the leaflet said."]


def test_codes_outside_the_leaves_warn(tmp_path: Path, run: dict[str, pd.DataFrame]) -> None:
    extra = run["codings"].iloc[[0]].assign(code="help")
    tables = {**run, "codings": pd.concat([run["codings"], extra], ignore_index=True)}
    with pytest.warns(TrustcodeWarning, match="help"):
        write_review(tables, tmp_path / "r.xlsx", codebook=BOOK)


def test_write_refuses_bad_targets(tmp_path: Path, run: dict[str, pd.DataFrame]) -> None:
    with pytest.raises(OutputError, match=r"\.xlsx"):
        write_review(run, tmp_path / "review.csv", codebook=BOOK)
    target = tmp_path / "review.xlsx"
    target.write_bytes(b"earlier work")
    with pytest.raises(OutputError, match="force=True"):
        write_review(run, target, codebook=BOOK)
    assert target.read_bytes() == b"earlier work"
    write_review(run, target, codebook=BOOK, force=True)
    assert is_review_workbook(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["review.xlsx"]


def test_write_refuses_codings_of_unknown_passages(
    tmp_path: Path, run: dict[str, pd.DataFrame]
) -> None:
    tables = {**run, "codings": run["codings"].assign(passage_id="zz#9")}
    with pytest.raises(InputError, match="zz#9"):
        write_review(tables, tmp_path / "r.xlsx", codebook=BOOK)
    assert not list(tmp_path.iterdir())


# --- the round trip ------------------------------------------------------------------------------


REVIEWED = {
    ("en1#1", "arrests: decision"): "accept",
    ("en1#1", "reviewer"): "Anna",
    ("ru1#0", "letters: decision"): "reject",
    ("ru1#0", "exile: decision"): " Accept ",  # case and spaces do not matter
    ("ru1#0", "reviewer"): "Anna",
    ("en1#0", "letters: decision"): "accept",
    ("en1#2", "added_codes"): "exile; arrests",
    ("en1#2", "reviewer"): "Boris",
    ("en1#2", "note"): "not sure about this one",
    ("ru1#2", "exile: decision"): "accept",  # accepting a code nobody proposed adds it
    ("ru1#1", "reviewer"): "Anna",  # reviewed, its proposal left without a decision
}


def test_round_trip(sheet: Path, tmp_path: Path, run: dict[str, pd.DataFrame]) -> None:
    path = _edit(sheet, tmp_path / "reviewed.xlsx", REVIEWED)
    with pytest.warns(TrustcodeWarning, match=r"1 machine proposal.*\(arrests\)"):
        gold = read_review(path, codebook=BOOK)
    assert list(gold.columns) == list(GOLD_COLUMNS)
    assert _codes(gold) == {
        "en1#0": ("letters",),
        "en1#1": ("arrests",),
        "en1#2": ("arrests", "exile"),
        "ru1#0": ("exile",),
        "ru1#1": (),  # its rule proposal was left unreviewed
        "ru1#2": ("exile",),
    }
    coders = dict(zip(gold["passage_id"], gold["coder"], strict=True))
    assert coders == {
        "en1#0": "reviewer",
        "en1#1": "Anna",
        "en1#2": "Boris",
        "ru1#0": "Anna",
        "ru1#1": "Anna",
        "ru1#2": "reviewer",
    }
    # document order again, offsets and texts as the run had them
    passages = run["passages"]
    assert gold["passage_id"].tolist() == passages["passage_id"].tolist()
    assert gold["start"].tolist() == passages["start"].tolist()
    assert gold["end"].tolist() == passages["end"].tolist()
    assert gold["text"].tolist() == passages["text"].tolist()
    assert gold["language"].tolist() == ["en"] * 3 + ["ru"] * 3
    assert str(gold["start"].dtype) == "Int64"


def test_unreviewed_accept(sheet: Path, tmp_path: Path) -> None:
    path = _edit(sheet, tmp_path / "reviewed.xlsx", REVIEWED)
    with warnings.catch_warnings():
        warnings.simplefilter("error", TrustcodeWarning)
        gold = read_review(path, unreviewed="accept")
    codes = _codes(gold)
    assert codes["ru1#1"] == ("arrests",)
    assert codes["ru1#0"] == ("exile",)  # a rejection still counts


def test_untouched_sheet_is_refused(sheet: Path) -> None:
    for unreviewed in ("reject", "accept"):
        with pytest.raises(GoldError, match=r"nothing was reviewed: none of its 6 passage"):
            read_review(sheet, unreviewed=unreviewed)
        with pytest.raises(GoldError, match="nothing was reviewed"):
            read_gold(sheet, unreviewed=unreviewed)


def test_partial_review_reads_only_the_reviewed_rows(sheet: Path, tmp_path: Path) -> None:
    """Rows left as trustcode wrote them are nobody's coding, whatever --unreviewed says; a
    note alone does not make a row reviewed (trustcode does not read notes)."""
    path = _edit(
        sheet,
        tmp_path / "part.xlsx",
        {
            ("en1#1", "arrests: decision"): "reject",
            ("ru1#2", "added_codes"): "exile",
            ("ru1#0", "reviewer"): "Anna",
            ("en1#0", "note"): "later",
        },
    )
    for unreviewed in ("reject", "accept"):
        gold = _quiet_read(path, unreviewed=unreviewed)
        assert sorted(gold["passage_id"]) == ["en1#1", "ru1#0", "ru1#2"]
    assert _codes(_quiet_read(path))["ru1#0"] == ()
    assert _codes(_quiet_read(path, unreviewed="accept"))["ru1#0"] == ("exile", "letters")
    # only the reviewed row's proposals are reported as unconfirmed
    with pytest.warns(TrustcodeWarning, match=r"2 machine proposal\(s\).*\(letters, exile\)\);"):
        read_review(path)


def test_rejected_and_added_warns_and_keeps_added(sheet: Path, tmp_path: Path) -> None:
    path = _edit(
        sheet,
        tmp_path / "r.xlsx",
        {("en1#1", "arrests: decision"): "reject", ("en1#1", "added_codes"): "arrests"},
    )
    with pytest.warns(TrustcodeWarning, match=r"both rejected and added on rows \d+ \(arrests\)"):
        gold = read_review(path, unreviewed="accept")
    assert _codes(gold)["en1#1"] == ("arrests",)


def test_blank_rows_are_skipped(sheet: Path, tmp_path: Path) -> None:
    wb = load_workbook(_edit(sheet, tmp_path / "reviewed.xlsx", REVIEWED))
    wb["review"].insert_rows(3)
    wb.save(tmp_path / "gap.xlsx")
    assert len(_quiet_read(tmp_path / "gap.xlsx")) == 6


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    decisions=st.lists(
        st.sampled_from(["accept", "reject", "", "ACCEPT", "reject "]), min_size=18, max_size=18
    ),
    unreviewed=st.sampled_from(["reject", "accept"]),
)
def test_decisions_property(decisions: list[str], unreviewed: str) -> None:
    """Whatever the reviewer decides, the codes read back follow the documented rule."""
    with tempfile.TemporaryDirectory() as folder:
        base = write_review(_run(), Path(folder) / "r.xlsx", codebook=BOOK)
        proposed = {
            (r[0], code)
            for r in load_workbook(base)["review"].iter_rows(min_row=2, values_only=True)
            for code in LEAVES
            if code in str(r[5] or "")
        }
        edits: dict[tuple[str, str], object] = {}
        expected: dict[str, set[str]] = {p: set() for p in SHEET_ORDER}
        touched = {
            p
            for p in SHEET_ORDER
            for c in LEAVES
            if decisions[SHEET_ORDER.index(p) * len(LEAVES) + LEAVES.index(c)].strip()
        }
        for i, (passage, code) in enumerate((p, c) for p in SHEET_ORDER for c in LEAVES):
            decision = decisions[i]
            if decision:
                edits[(passage, f"{code}{DECISION_SUFFIX}")] = decision
            chosen = decision.strip().lower()
            if chosen == "accept" or (
                not chosen and unreviewed == "accept" and (passage, code) in proposed
            ):
                expected[passage].add(code)
        path = _edit(base, Path(folder) / "edited.xlsx", edits)
        if not touched:
            with pytest.raises(GoldError, match="nothing was reviewed"):
                _quiet_read(path, unreviewed=unreviewed)
            return
        gold = _quiet_read(path, unreviewed=unreviewed)
    # a row without any decision is not reviewed and is left out
    assert {p: set(c) for p, c in _codes(gold).items()} == {
        p: codes for p, codes in expected.items() if p in touched
    }


# --- bad input -----------------------------------------------------------------------------------


def test_unknown_decision_names_sheet_row_column_value(sheet: Path, tmp_path: Path) -> None:
    path = _edit(
        sheet,
        tmp_path / "r.xlsx",
        {("ru1#1", "arrests: decision"): "maybe", ("en1#0", "exile: decision"): "yes"},
    )
    ws = load_workbook(path)["review"]
    letters = _letters(ws)
    with pytest.raises(GoldError) as caught:
        read_review(path)
    message = str(caught.value)
    assert "sheet 'review'" in message and "2 problem(s)" in message
    assert (
        f"row {_row_of(ws, 'ru1#1')}, column {letters['arrests: decision']} "
        "('arrests: decision'): unknown decision 'maybe'"
    ) in message
    assert f"row {_row_of(ws, 'en1#0')}" in message and "'yes'" in message
    assert "accept, reject or an empty cell" in message


def test_unknown_added_codes_listed_with_rows(sheet: Path, tmp_path: Path) -> None:
    path = _edit(
        sheet,
        tmp_path / "r.xlsx",
        {("en1#2", "added_codes"): "exile; protest", ("ru1#2", "added_codes"): "protest; exil"},
    )
    ws = load_workbook(path)["review"]
    rows = sorted([_row_of(ws, "en1#2"), _row_of(ws, "ru1#2")])
    with pytest.raises(GoldError) as caught:
        read_review(path)
    message = str(caught.value)
    assert f"'protest' (rows {rows[0]}, {rows[1]})" in message
    assert f"'exil' (row {_row_of(ws, 'ru1#2')})" in message
    assert "column " + _letters(ws)["added_codes"] in message


def test_parent_code_may_be_added_with_the_codebook(sheet: Path, tmp_path: Path) -> None:
    path = _edit(sheet, tmp_path / "r.xlsx", {("en1#2", "added_codes"): "help"})
    assert _codes(_quiet_read(path, codebook=BOOK))["en1#2"] == ("help",)


def test_decision_column_for_a_code_the_codebook_lacks(sheet: Path) -> None:
    other = Codebook(name="other", codes=(Code("letters", "Letters"), Code("arrests", "A")))
    with pytest.raises(GoldError, match=r"'exile: decision'.*not in the codebook 'other'"):
        read_review(sheet, codebook=other)


def test_bad_offsets(sheet: Path, tmp_path: Path) -> None:
    path = _edit(sheet, tmp_path / "r.xlsx", {("en1#0", "start"): "ten"})
    with pytest.raises(GoldError, match=r"column C \('start'\): expected a whole number"):
        read_review(path)


def test_missing_sheet_and_columns(sheet: Path, tmp_path: Path) -> None:
    wb = load_workbook(sheet)
    wb["review"].title = "checked"
    wb.save(tmp_path / "renamed.xlsx")
    with pytest.raises(GoldError, match="no sheet named 'review'.*checked"):
        read_review(tmp_path / "renamed.xlsx")

    wb = load_workbook(sheet)
    ws = wb["review"]
    ws.delete_cols(ws.max_column - 3)  # added_codes
    wb.save(tmp_path / "cut.xlsx")
    with pytest.raises(GoldError, match="lacks the column.*added_codes"):
        read_review(tmp_path / "cut.xlsx")

    wb = load_workbook(sheet)
    ws = wb["review"]
    for cell in ws[1]:
        if str(cell.value).endswith(DECISION_SUFFIX):
            cell.value = f"choice {cell.column}"
    wb.save(tmp_path / "nodecisions.xlsx")
    with pytest.raises(GoldError, match="decision' columns"):
        read_review(tmp_path / "nodecisions.xlsx")


def test_bad_unreviewed_option(sheet: Path) -> None:
    with pytest.raises(UsageError, match="'reject' or 'accept'. Got 'maybe'"):
        read_review(sheet, unreviewed="maybe")


# --- stale rows: the document changed after the sheet was written -------------------------------


def _sheet_of_files(tmp_path: Path) -> tuple[Path, Path]:
    """A review sheet of a run over two documents read from files, its first two passages of
    each document reviewed; and the folder of the files."""
    from trustcode.io.readers import read_corpus

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "en1.txt").write_text(EN.text, "utf-8")
    (folder / "ru1.txt").write_text(RU.text, "utf-8")
    documents = list(read_corpus(folder))
    tables = tables_for([CodedDocument(d, segment(d), []) for d in documents], LEAVES)
    wb_path = write_review(tables, tmp_path / "review.xlsx", codebook=BOOK)
    reviewed = _edit(
        wb_path,
        tmp_path / "reviewed.xlsx",
        {
            ("en1#0", "letters: decision"): "accept",
            ("en1#1", "arrests: decision"): "accept",
            ("ru1#0", "letters: decision"): "accept",
            ("ru1#1", "reviewer"): "Anna",
        },
    )
    return reviewed, folder


def test_documents_sheet_records_sources_and_hashes(tmp_path: Path) -> None:
    reviewed, folder = _sheet_of_files(tmp_path)
    rows = list(load_workbook(reviewed)["documents"].iter_rows(values_only=True))
    assert rows[0] == ("doc_id", "source", "sha256")
    assert {r[0]: r[1] for r in rows[1:]} == {
        "en1": str(folder / "en1.txt"),
        "ru1": str(folder / "ru1.txt"),
    }
    assert {r[0]: r[2] for r in rows[1:]} == {"en1": EN.sha256, "ru1": RU.sha256}


def test_stale_rows_are_refused_naming_row_passage_and_document(tmp_path: Path) -> None:
    reviewed, folder = _sheet_of_files(tmp_path)
    assert sorted(_quiet_read(reviewed)["passage_id"]) == ["en1#0", "en1#1", "ru1#0", "ru1#1"]
    # edited after the sheet was written: a sentence put before the first paragraph
    (folder / "en1.txt").write_text("A note added later.\n\n" + EN.text, "utf-8")
    ws = load_workbook(reviewed)["review"]
    rows = {pid: _row_of(ws, pid) for pid in ("en1#0", "en1#1")}
    with pytest.raises(GoldError) as caught:
        read_review(reviewed)
    message = str(caught.value)
    assert "stale passages: 2 reviewed row(s) no longer match" in message
    assert f"row {rows['en1#0']} (passage en1#0, 0-55)" in message
    assert f"row {rows['en1#1']} (passage en1#1" in message
    assert f"en1 ({folder / 'en1.txt'})" in message and "ru1#" not in message
    with pytest.raises(GoldError, match="stale passages"):
        read_gold(reviewed)
    # the text the sheet was written from, given with documents=, reads again
    original = tmp_path / "original"
    original.mkdir()
    (original / "en1.txt").write_text(EN.text, "utf-8")
    (original / "ru1.txt").write_text(RU.text, "utf-8")
    assert len(_quiet_read(reviewed, documents=[original])) == 4
    assert len(read_gold(reviewed, documents=[original])) == 4


def test_an_edit_that_leaves_the_reviewed_rows_in_place_is_not_stale(tmp_path: Path) -> None:
    reviewed, folder = _sheet_of_files(tmp_path)
    # the third paragraph (not reviewed) changed: the reviewed rows still fit
    (folder / "en1.txt").write_text(EN.text.replace("It rained", "It snowed"), "utf-8")
    assert len(_quiet_read(reviewed)) == 4
    # a document found nowhere cannot be checked: the sheet's text is what was reviewed
    (folder / "en1.txt").unlink()
    assert len(_quiet_read(reviewed)) == 4


def test_a_moved_corpus_is_found_beside_the_workbook(tmp_path: Path) -> None:
    """The recorded source is gone, but the workbook lies beside the corpus's manifest.csv."""
    reviewed, folder = _sheet_of_files(tmp_path)
    moved = tmp_path / "moved"
    moved.mkdir()
    (moved / "manifest.csv").write_text("doc_id,path\nen1,en1.txt\nru1,ru1.txt\n", "utf-8")
    (moved / "en1.txt").write_text("Changed.\n\n" + EN.text, "utf-8")
    (moved / "ru1.txt").write_text(RU.text, "utf-8")
    for name in ("en1.txt", "ru1.txt"):
        (folder / name).unlink()
    target = moved / "sheets" / "reviewed.xlsx"
    target.parent.mkdir()
    reviewed.rename(target)
    with pytest.raises(GoldError, match=r"stale passages: 2 reviewed row\(s\).*passage en1#0"):
        read_review(target)


# --- through read_gold, read_coded and agree -----------------------------------------------------


def test_read_gold_recognises_a_review_workbook(sheet: Path, tmp_path: Path) -> None:
    path = _edit(sheet, tmp_path / "reviewed.xlsx", REVIEWED)
    direct = _quiet_read(path, codebook=BOOK)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TrustcodeWarning)
        via_gold = read_gold(path, codebook=BOOK)
        accepting = read_gold(path, unreviewed="accept")
    pd.testing.assert_frame_equal(via_gold, direct)
    assert _codes(accepting)["ru1#1"] == ("arrests",)
    bad = _edit(sheet, tmp_path / "bad.xlsx", {("en1#2", "exile: decision"): "perhaps"})
    with pytest.raises(GoldError, match="perhaps"):
        read_gold(bad)


def test_read_coded_gives_human_codings(sheet: Path, tmp_path: Path) -> None:
    path = _edit(sheet, tmp_path / "reviewed.xlsx", REVIEWED)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TrustcodeWarning)
        tables, provenance = read_coded(path, codebook=BOOK)
    codings = tables["codings"]
    assert set(codings["source"]) == {"human"}
    got = sorted(zip(codings["passage_id"], codings["code"], codings["coder"], strict=True))
    assert got == [
        ("en1#0", "letters", "reviewer"),
        ("en1#1", "arrests", "Anna"),
        ("en1#2", "arrests", "Boris"),
        ("en1#2", "exile", "Boris"),
        ("ru1#0", "exile", "Anna"),
        ("ru1#2", "exile", "reviewer"),
    ]
    assert provenance["format"] == "gold"


def test_agreement_between_machine_and_review(
    sheet: Path, tmp_path: Path, run: dict[str, pd.DataFrame]
) -> None:
    everyone = {(p, "reviewer"): "Anna" for p in SHEET_ORDER}
    same = _edit(sheet, tmp_path / "same.xlsx", everyone)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TrustcodeWarning)
        agreed = read_gold(same, unreviewed="accept")
    result = agree([run, gold_to_tables(agreed)], unit="passage", bootstrap=0)
    assert result.coders == ("trustcode", "Anna")
    assert result.overall["percent_agreement"].iloc[0] == pytest.approx(1.0)

    changed = _edit(
        sheet,
        tmp_path / "changed.xlsx",
        {
            **everyone,
            ("en1#1", "arrests: decision"): "reject",
            ("en1#0", "letters: decision"): "accept",
            ("en1#2", "added_codes"): "exile",
        },
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TrustcodeWarning)
        reviewed = read_coded(changed, codebook=BOOK)[0]
    result = agree([run, reviewed], unit="passage", bootstrap=0)
    per_code = result.per_code.set_index("code")["percent_agreement"]
    # unreviewed proposals are not confirmed: of five proposals only en1#0's letters remains
    assert per_code["letters"] == pytest.approx(5 / 6)
    assert per_code["arrests"] == pytest.approx(4 / 6)
    assert per_code["exile"] == pytest.approx(4 / 6)
    assert set(result.disagreements["unit"]) >= {"en1#1", "en1#2", "ru1#1"}


def test_only_review_workbooks_are_recognised(sheet: Path, tmp_path: Path) -> None:
    from openpyxl import Workbook

    assert is_review_workbook(sheet)
    plain = Workbook()
    plain.active.title = "review"
    plain.active.append(["doc_id", "text", "codes"])
    plain.save(tmp_path / "plain.xlsx")
    assert not is_review_workbook(tmp_path / "plain.xlsx")
    (tmp_path / "gold.csv").write_text("doc_id,text,codes\nd,Some words.,exile\n", "utf-8")
    assert not is_review_workbook(tmp_path / "gold.csv")
    assert _codes(read_gold(tmp_path / "plain.xlsx")) == {}


def test_empty_run(tmp_path: Path) -> None:
    tables = tables_for([], LEAVES)
    path = write_review(tables, tmp_path / "empty.xlsx", codebook=BOOK)
    with pytest.raises(GoldError, match="nothing was reviewed: none of its 0 passage"):
        read_review(path)


def test_a_passage_longer_than_an_excel_cell_is_refused_naming_the_unit(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from trustcode.cli import main

    # one paragraph of 40,000 characters: more than an Excel cell holds (32,767)
    (tmp_path / "long.txt").write_text("Police detained him. " * 1905, encoding="utf-8")
    out = tmp_path / "review.xlsx"
    result = CliRunner().invoke(
        main,
        ["code", str(tmp_path / "long.txt"), "--review", "-m", "none", "-o", str(out), "-q"],
    )
    assert result.exit_code == 2, result.output
    assert "more than an Excel cell holds" in result.output
    assert "unit='sentence'" in result.output and "Command line: --unit" in result.output
    assert not out.exists() and "Traceback" not in result.output
