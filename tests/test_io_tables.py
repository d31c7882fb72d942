"""Tests of trustcode.io.tables: the coded-table writers and readers."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from trustcode.errors import InputError, OutputError, TrustcodeWarning
from trustcode.io.tables import (
    TableWriter,
    check_output,
    output_format,
    read_tables,
    write_tables,
)
from trustcode.io.tables import xlsx as tables_xlsx
from trustcode.types import TABLE_NAMES, Code, Codebook, Rule

FORMATS = {"xlsx": "coded.xlsx", "csv": "coded", "parquet": "coded.parquet", "jsonl": "coded.jsonl"}
PROVENANCE = {
    "trustcode": "0.1.0",
    "codebook_sha256": "ab" * 32,
    "model": None,
    "unit": "paragraph",
    "options": {"jobs": 2, "languages": ["en", "ru"]},
    "threshold": 0.5,
    "strict": False,
    "note": "[not json, just text]",
    "empty": "",
}


def make_codebook() -> Codebook:
    return Codebook(
        name="Test codebook",
        codes=(
            Code(id="strategy", label="Strategies", colour="#444444"),
            Code(
                id="mutual_aid",
                label="Mutual aid",
                parent="strategy",
                definition="People help each other across the border.",
                colour="#ffd92f",  # light: wants black text
                rules=(
                    Rule(id="mutual_aid.help", code="mutual_aid", kind="phrases", terms=("help",)),
                    Rule(id="mutual_aid.ru", code="mutual_aid", kind="lemmas", terms=("помощь",)),
                ),
            ),
            Code(
                id="openness",
                label="Openness",
                parent="strategy",
                colour="#1f2a44",  # dark navy: wants white text
                rules=(Rule(id="openness.open", code="openness", kind="globs", terms=("open*",)),),
            ),
        ),
    )


def make_tables() -> dict[str, pd.DataFrame]:
    documents = pd.DataFrame(
        {
            "doc_id": ["letter", "interview"],
            "source": ["letters/letter.txt", "interviews.csv#2"],
            "title": ["NA", "Интервью с волонтёром"],  # "NA" must stay text
            "language": ["en", "ru"],
            "n_chars": [64, 58],
            "sha256": ["1" * 64, "2" * 64],
            "group": ["left", ""],  # a metadata column, with one empty value
        }
    )
    passages = pd.DataFrame(
        {
            "doc_id": ["letter", "letter", "interview"],
            "passage_id": ["letter#0", "letter#1", "interview#0"],
            "index": [0, 1, 0],
            "start": [0, 30, 0],
            "end": [28, 64, 58],
            "text": [
                "We sent help to the cells.",
                'She said "NA", then 1,5 words;\nnew line.',
                "Мы открыто говорим о помощи тем, кто остался.",
            ],
        }
    )
    codings = pd.DataFrame(
        {
            "doc_id": ["letter", "interview", "interview"],
            "passage_id": ["letter#0", "interview#0", "interview#0"],
            "start": [0, 0, 0],
            "end": [28, 58, 58],
            "code": ["mutual_aid", "mutual_aid", "openness"],
            "source": ["rule", "rule+classifier", "classifier"],
            "score": [np.nan, 0.8125, 1 / 3],
            "evidence": ["mutual_aid.help: help", "mutual_aid.ru: помощи", ""],
            "coder": ["trustcode", "trustcode", "trustcode"],
        }
    )
    matrix = pd.DataFrame(
        {
            "doc_id": ["letter", "letter", "interview"],
            "passage_id": ["letter#0", "letter#1", "interview#0"],
            "mutual_aid": [1, 0, 1],
            "openness": [0, 0, 1],
        }
    )
    summary = pd.DataFrame(
        {
            "doc_id": ["letter", "letter", "interview", "interview"],
            "code": ["mutual_aid", "openness", "mutual_aid", "openness"],
            "passages": [1, 0, 1, 1],
            "share": [0.5, 0.0, 1.0, 1.0],
        }
    )
    return {
        "documents": documents,
        "passages": passages,
        "codings": codings,
        "matrix": matrix,
        "summary": summary,
    }


def assert_tables_equal(left: dict[str, pd.DataFrame], right: dict[str, pd.DataFrame]) -> None:
    assert list(left) == list(right)
    for name in left:
        pd.testing.assert_frame_equal(left[name], right[name], obj=name)


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(".trustcode-tmp-")]


# --- output_format and check_output ---------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("out.xlsx", "xlsx"),
        ("OUT.XLSX", "xlsx"),
        ("out.parquet", "parquet"),
        ("out.jsonl", "jsonl"),
        ("out", "csv"),
        ("results/run_1", "csv"),
    ],
)
def test_output_format_by_suffix(name: str, expected: str) -> None:
    assert output_format(name) == expected


def test_output_format_existing_folder_is_csv(tmp_path: Path) -> None:
    folder = tmp_path / "run.2024"
    folder.mkdir()
    assert output_format(folder) == "csv"


@pytest.mark.parametrize("name", ["out.csv", "out.txt", "run.2024"])
def test_output_format_unknown_suffix_lists_choices(tmp_path: Path, name: str) -> None:
    with pytest.raises(OutputError) as info:
        output_format(tmp_path / name)
    message = str(info.value)
    for choice in (".xlsx", ".parquet", ".jsonl", "without suffix"):
        assert choice in message
    assert Path(name).suffix in message


def test_write_tables_unknown_suffix_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="unknown output format"):
        write_tables(make_tables(), tmp_path / "coded.ods", provenance=PROVENANCE)
    assert list(tmp_path.iterdir()) == []


def test_check_output_missing_parent(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="does not exist") as info:
        check_output(tmp_path / "nowhere" / "coded.xlsx", force=False)
    assert str(tmp_path / "nowhere") in str(info.value)


def test_check_output_parent_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("x", encoding="utf-8")
    with pytest.raises(OutputError, match="is not a folder"):
        check_output(tmp_path / "plain" / "coded", force=False)


def test_check_output_unwritable_parent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            # root ignores permission bits: make the check see the folder as the user would
            real_access = os.access
            monkeypatch.setattr(
                os,
                "access",
                lambda p, mode, **kw: False if Path(p) == locked else real_access(p, mode, **kw),
            )
        with pytest.raises(OutputError, match="not writable") as info:
            write_tables(make_tables(), locked / "coded", provenance=PROVENANCE)
        assert str(locked) in str(info.value)
    finally:
        locked.chmod(0o700)
    assert list(locked.iterdir()) == []


def test_check_output_existing_path_needs_force(tmp_path: Path) -> None:
    target = tmp_path / "coded.xlsx"
    target.write_bytes(b"old workbook")
    with pytest.raises(OutputError, match="coded.xlsx exists; pass force=True to overwrite it"):
        check_output(target, force=False)
    assert check_output(target, force=True) is None
    assert target.read_bytes() == b"old workbook"


def test_check_output_passes_for_new_path(tmp_path: Path) -> None:
    assert check_output(tmp_path / "coded.xlsx", force=False) is None
    assert not (tmp_path / "coded.xlsx").exists()


# --- round trips ----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_round_trip(tmp_path: Path, fmt: str) -> None:
    tables = make_tables()
    path = write_tables(tables, tmp_path / FORMATS[fmt], provenance=PROVENANCE)
    assert path == tmp_path / FORMATS[fmt]
    back, provenance = read_tables(path)
    assert_tables_equal(tables, back)
    assert provenance == PROVENANCE
    assert back["codings"]["evidence"].tolist()[2] == ""
    assert math.isnan(back["codings"]["score"].iloc[0])
    assert back["passages"]["index"].dtype == "int64"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_folder_layout_and_provenance_file(tmp_path: Path, fmt: str) -> None:
    path = write_tables(make_tables(), tmp_path / FORMATS[fmt], provenance=PROVENANCE)
    ext = {"csv": ".csv", "jsonl": ".jsonl", "parquet": ".parquet"}[fmt]
    expected = sorted([f"{t}{ext}" for t in TABLE_NAMES] + ["provenance.json"])
    assert sorted(p.name for p in path.iterdir()) == expected
    stored = json.loads((path / "provenance.json").read_text(encoding="utf-8"))
    # a CSV folder also says its cells were escaped against CSV injection (read_tables undoes it)
    marker = {"trustcode_csv_escape": "leading-apostrophe"} if fmt == "csv" else {}
    assert stored == {**PROVENANCE, **marker}


def test_parquet_schema_carries_provenance(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    path = write_tables(make_tables(), tmp_path / "coded.parquet", provenance=PROVENANCE)
    for name in TABLE_NAMES:
        meta = pq.read_schema(path / f"{name}.parquet").metadata
        assert json.loads(meta[b"trustcode"]) == PROVENANCE
    # without provenance.json the embedded copy is read
    (path / "provenance.json").unlink()
    assert read_tables(path)[1] == PROVENANCE


def test_csv_is_plain_utf8(tmp_path: Path) -> None:
    path = write_tables(make_tables(), tmp_path / "coded", provenance=PROVENANCE)
    raw = (path / "documents.csv").read_bytes()
    assert raw.startswith(b"doc_id,source,title,language,n_chars,sha256,group\n")
    assert "Интервью с волонтёром".encode() in raw


def test_empty_tables_keep_their_columns(tmp_path: Path) -> None:
    with TableWriter(
        tmp_path / "coded", provenance=PROVENANCE, code_ids=["mutual_aid", "openness"]
    ) as writer:
        writer.append({"documents": make_tables()["documents"]})
    back, _ = read_tables(tmp_path / "coded")
    assert len(back["codings"]) == 0
    assert list(back["matrix"].columns) == ["doc_id", "passage_id", "mutual_aid", "openness"]
    assert back["matrix"]["openness"].dtype == "int64"
    assert back["summary"]["share"].dtype == "float64"
    assert back["documents"]["group"].tolist() == ["left", ""]


texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from("\n\t,\"'="),
    max_size=40,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    values=st.lists(
        st.tuples(texts, st.one_of(st.none(), st.floats(0, 1)), st.integers(0, 10**9)),
        min_size=1,
        max_size=5,
    ),
    fmt=st.sampled_from(["csv", "jsonl", "parquet", "xlsx"]),
)
def test_round_trip_property(tmp_path: Path, values: list, fmt: str) -> None:
    n = len(values)
    tables = make_tables()
    tables["codings"] = pd.DataFrame(
        {
            "doc_id": [f"d{i}" for i in range(n)],
            "passage_id": [f"d{i}#0" for i in range(n)],
            "start": [v[2] for v in values],
            "end": [v[2] + 1 for v in values],
            "code": ["openness"] * n,
            "source": ["human"] * n,
            "score": [np.nan if v[1] is None else v[1] for v in values],
            "evidence": [v[0] for v in values],
            "coder": ["ana"] * n,
        }
    )
    out = tmp_path / f"prop-{os.urandom(4).hex()}{Path(FORMATS[fmt]).suffix}"
    back, _ = read_tables(write_tables(tables, out, provenance={"run": 1}))
    pd.testing.assert_frame_equal(tables["codings"], back["codings"])


# --- incremental writing --------------------------------------------------------------------


def split(tables: dict[str, pd.DataFrame]) -> tuple[dict, dict]:
    first = {name: frame.iloc[:1] for name, frame in tables.items()}
    second = {name: frame.iloc[1:] for name, frame in tables.items() if name != "documents"}
    second["documents"] = tables["documents"].iloc[1:]
    return first, second


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_two_batches_equal_one_write(tmp_path: Path, fmt: str) -> None:
    tables = make_tables()
    (tmp_path / "once").mkdir()
    (tmp_path / "batched").mkdir()
    at_once = write_tables(tables, tmp_path / "once" / FORMATS[fmt], provenance=PROVENANCE)
    first, second = split(tables)
    with TableWriter(
        tmp_path / "batched" / FORMATS[fmt],
        provenance=PROVENANCE,
        code_ids=["mutual_aid", "openness"],
    ) as writer:
        writer.append(first)
        assert not (tmp_path / "batched" / FORMATS[fmt]).exists()  # nothing in place yet
        writer.append(second)
    batched, provenance = read_tables(tmp_path / "batched" / FORMATS[fmt])
    once, _ = read_tables(at_once)
    assert_tables_equal(once, batched)
    assert_tables_equal(tables, batched)
    assert provenance == PROVENANCE
    if fmt in ("csv", "jsonl"):
        for name in TABLE_NAMES:
            ext = "." + fmt
            assert (at_once / f"{name}{ext}").read_bytes() == (
                tmp_path / "batched" / FORMATS[fmt] / f"{name}{ext}"
            ).read_bytes()


def test_later_batch_may_lack_a_metadata_column(tmp_path: Path) -> None:
    documents = make_tables()["documents"]
    with TableWriter(tmp_path / "coded", provenance={}, code_ids=[]) as writer:
        writer.append({"documents": documents.iloc[:1]})
        writer.append({"documents": documents.iloc[1:].drop(columns=["group"])})
    back, _ = read_tables(tmp_path / "coded")
    assert back["documents"]["group"].tolist() == ["left", ""]


def test_later_batch_with_a_new_column_is_kept(tmp_path: Path) -> None:
    documents = make_tables()["documents"]
    with TableWriter(tmp_path / "coded", provenance={}, code_ids=[]) as writer:
        writer.append({"documents": documents.iloc[:1]})
        writer.append({"documents": documents.iloc[1:].assign(date="2023-05-01")})
    back, _ = read_tables(tmp_path / "coded")
    assert list(back["documents"].columns)[-2:] == ["group", "date"]
    assert back["documents"]["date"].tolist() == ["", "2023-05-01"]
    assert leftovers(tmp_path) == []


def test_matrix_columns_must_be_the_code_ids(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="unexpected: mutual_aid"):
        with TableWriter(tmp_path / "coded", provenance={}, code_ids=["openness"]) as writer:
            writer.append({"matrix": make_tables()["matrix"]})
    assert list(tmp_path.iterdir()) == []


def test_unknown_table_and_missing_column_are_refused(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="unknown table.*codngs"):
        write_tables({"codngs": make_tables()["codings"]}, tmp_path / "a", provenance={})
    broken = make_tables()
    broken["codings"] = broken["codings"].drop(columns=["score", "coder"])
    with pytest.raises(OutputError, match="codings lacks column\\(s\\) score, coder"):
        write_tables(broken, tmp_path / "b", provenance={})
    assert list(tmp_path.iterdir()) == []


def test_non_integer_offset_is_refused(tmp_path: Path) -> None:
    tables = make_tables()
    tables["passages"]["start"] = [0.0, 1.5, 2.0]
    with pytest.raises(
        OutputError, match="'start', row 2 below the header: expected a whole number"
    ):
        write_tables(tables, tmp_path / "coded", provenance={})
    assert list(tmp_path.iterdir()) == []


def test_provenance_must_be_json(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="provenance cannot be stored as JSON"):
        write_tables(make_tables(), tmp_path / "coded", provenance={"when": object()})
    assert list(tmp_path.iterdir()) == []


def test_writer_after_close_refuses_more(tmp_path: Path) -> None:
    writer = TableWriter(tmp_path / "coded.jsonl", provenance={}, code_ids=[])
    assert writer.close() == tmp_path / "coded.jsonl"
    with pytest.raises(OutputError, match="already closed"):
        writer.append({"documents": make_tables()["documents"]})
    writer.abort()  # after close, abort must not remove the finished output
    assert (tmp_path / "coded.jsonl" / "documents.jsonl").is_file()


# --- atomicity and --force ------------------------------------------------------------------


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_exception_in_context_leaves_nothing(tmp_path: Path, fmt: str) -> None:
    first, _ = split(make_tables())
    with pytest.raises(RuntimeError, match="worker died"):
        with TableWriter(
            tmp_path / FORMATS[fmt], provenance=PROVENANCE, code_ids=["mutual_aid", "openness"]
        ) as writer:
            writer.append(first)
            assert leftovers(tmp_path) or fmt == "xlsx"  # folder formats write as they go
            raise RuntimeError("worker died")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_existing_output_without_force_is_untouched(tmp_path: Path, fmt: str) -> None:
    path = write_tables(make_tables(), tmp_path / FORMATS[fmt], provenance={"run": 1})
    before = _snapshot(path)
    with pytest.raises(OutputError, match="exists; pass force=True to overwrite it"):
        write_tables(make_tables(), path, provenance={"run": 2})
    assert _snapshot(path) == before
    assert read_tables(path)[1] == {"run": 1}
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_force_replaces(tmp_path: Path, fmt: str) -> None:
    path = write_tables(make_tables(), tmp_path / FORMATS[fmt], provenance={"run": 1})
    smaller = make_tables()
    smaller["summary"] = smaller["summary"].iloc[:1]
    write_tables(smaller, path, provenance={"run": 2}, force=True)
    back, provenance = read_tables(path)
    assert provenance == {"run": 2}
    assert len(back["summary"]) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_failed_forced_write_keeps_old_output(tmp_path: Path) -> None:
    path = write_tables(make_tables(), tmp_path / "coded", provenance={"run": 1})
    before = _snapshot(path)
    with pytest.raises(RuntimeError):
        with TableWriter(path, provenance={"run": 2}, force=True, code_ids=[]) as writer:
            writer.append({"documents": make_tables()["documents"]})
            raise RuntimeError("interrupted")
    assert _snapshot(path) == before
    assert leftovers(tmp_path) == []


def test_force_refuses_a_folder_of_other_files(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "letter.txt").write_text("Письмо домой.", encoding="utf-8")
    with pytest.raises(OutputError, match="letter.txt") as info:
        write_tables(make_tables(), corpus, provenance={}, force=True)
    assert "force only replaces a trustcode output" in str(info.value)
    assert [p.name for p in corpus.iterdir()] == ["letter.txt"]
    assert leftovers(tmp_path) == []


def _snapshot(path: Path) -> dict[str, bytes]:
    if path.is_file():
        return {path.name: path.read_bytes()}
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())}


# --- xlsx formatting ------------------------------------------------------------------------


@pytest.fixture
def workbook(tmp_path: Path):
    path = write_tables(
        make_tables(), tmp_path / "coded.xlsx", provenance=PROVENANCE, codebook=make_codebook()
    )
    wb = load_workbook(path)
    yield wb
    wb.close()


def test_xlsx_sheets_in_order(workbook) -> None:
    assert workbook.sheetnames == [*TABLE_NAMES, "Codebook", "Provenance"]


def test_xlsx_header_frozen_bold_filtered(workbook) -> None:
    for ws in workbook.worksheets:
        assert ws.freeze_panes == "A2", ws.title
        assert ws["A1"].font.bold, ws.title
    assert workbook["codings"].auto_filter.ref == "A1:I4"
    assert workbook["matrix"].auto_filter.ref == "A1:D4"
    assert workbook["documents"].auto_filter.ref == "A1:G3"


def test_xlsx_code_cells_filled_with_readable_font(workbook) -> None:
    ws = workbook["codings"]
    header = [c.value for c in ws[1]]
    col = header.index("code") + 1
    cells = {ws.cell(row=r, column=col).value: ws.cell(row=r, column=col) for r in (2, 3, 4)}
    assert cells["mutual_aid"].fill.fgColor.rgb == "FFFFD92F"
    assert cells["mutual_aid"].font.color.rgb == "FF000000"
    assert cells["openness"].fill.fgColor.rgb == "FF1F2A44"
    assert cells["openness"].font.color.rgb == "FFFFFFFF"
    # other columns stay unfilled
    assert ws.cell(row=2, column=1).fill.fill_type is None


def test_xlsx_matrix_code_headers_filled(workbook) -> None:
    ws = workbook["matrix"]
    assert [c.value for c in ws[1]] == ["doc_id", "passage_id", "mutual_aid", "openness"]
    assert ws["C1"].fill.fgColor.rgb == "FFFFD92F"
    assert ws["D1"].fill.fgColor.rgb == "FF1F2A44"
    assert ws["D1"].font.color.rgb == "FFFFFFFF" and ws["D1"].font.bold
    assert ws["A1"].fill.fill_type is None


def test_xlsx_codebook_sheet(workbook) -> None:
    ws = workbook["Codebook"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == (
        "id",
        "parent",
        "label",
        "definition",
        "include",
        "exclude",
        "colour",
        "combine",
        "rules",
    )
    by_id = {r[0]: r for r in rows[1:]}
    assert list(by_id) == ["strategy", "mutual_aid", "openness"]
    assert by_id["mutual_aid"][1] == "strategy"
    assert by_id["mutual_aid"][8] == 2
    assert by_id["strategy"][8] == 0
    assert ws["A3"].fill.fgColor.rgb == "FFFFD92F"
    assert ws["A2"].fill.fgColor.rgb == "FF444444"


def test_xlsx_provenance_sheet(workbook) -> None:
    rows = list(workbook["Provenance"].iter_rows(values_only=True))
    values = {r[0]: r[1] for r in rows[1:]}
    assert values["trustcode"] == "0.1.0"
    assert values["threshold"] == 0.5
    assert json.loads(values["options"]) == {"jobs": 2, "languages": ["en", "ru"]}


def test_xlsx_column_widths_capped_and_long_text_wrapped(tmp_path: Path) -> None:
    tables = make_tables()
    tables["passages"].loc[0, "text"] = "Долгий рассказ о доверии. " * 20
    path = write_tables(tables, tmp_path / "coded.xlsx", provenance={})
    wb = load_workbook(path)
    ws = wb["passages"]
    assert ws.column_dimensions["F"].width == 60
    assert ws["F2"].alignment.wrap_text
    assert 6 <= ws.column_dimensions["C"].width < 20  # "index" column stays narrow
    wb.close()


def test_xlsx_text_starting_with_equals_stays_text(tmp_path: Path) -> None:
    tables = make_tables()
    tables["codings"].loc[2, "evidence"] = "=SUM(A1:A2)"
    path = write_tables(tables, tmp_path / "coded.xlsx", provenance={})
    wb = load_workbook(path)
    cell = wb["codings"]["H4"]
    # a typed text cell with Excel's quote prefix: shown as text, stays text when edited
    assert cell.value == "=SUM(A1:A2)" and cell.data_type == "s" and cell.quotePrefix
    assert not wb["codings"]["H2"].quotePrefix
    wb.close()
    assert read_tables(path)[0]["codings"]["evidence"].iloc[2] == "=SUM(A1:A2)"


# --- CSV injection ----------------------------------------------------------------------------

DANGEROUS = [
    '=HYPERLINK("http://x")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1)",
    "\tTab first",
    "\rCR first",
    "'=already quoted",
    "''",
    "'Twas fine",
]


def _dangerous_tables() -> dict[str, pd.DataFrame]:
    tables = make_tables()
    n = len(tables["passages"])
    tables["passages"]["text"] = [DANGEROUS[i % len(DANGEROUS)] for i in range(n)]
    tables["documents"]["title"] = DANGEROUS[: len(tables["documents"])]
    return tables


def test_csv_cells_cannot_start_a_formula(tmp_path: Path) -> None:
    import csv as csv_module

    path = write_tables(_dangerous_tables(), tmp_path / "coded", provenance={})
    for file in path.glob("*.csv"):
        with open(file, encoding="utf-8", newline="") as handle:
            for row in csv_module.reader(handle):
                for cell in row:
                    assert cell[:1] not in set("=+-@\t\r"), (file.name, cell)
    raw = (path / "passages.csv").read_text(encoding="utf-8")
    assert "'=HYPERLINK" in raw and "'-2+3" in raw
    assert "'+1+cmd" in (path / "documents.csv").read_text(encoding="utf-8")


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "jsonl", "parquet"])
def test_escaped_texts_read_back_exactly(tmp_path: Path, fmt: str) -> None:
    tables = _dangerous_tables()
    back, provenance = read_tables(write_tables(tables, tmp_path / FORMATS[fmt], provenance={}))
    pd.testing.assert_frame_equal(tables["passages"], back["passages"])
    assert back["documents"]["title"].tolist() == tables["documents"]["title"].tolist()
    assert "trustcode_csv_escape" not in provenance


def test_xlsx_formula_like_texts_are_quote_prefixed(tmp_path: Path) -> None:
    path = write_tables(_dangerous_tables(), tmp_path / "coded.xlsx", provenance={})
    wb = load_workbook(path)
    cells = [row[5] for row in wb["passages"].iter_rows(min_row=2)]
    assert cells and all(c.data_type == "s" for c in cells)
    risky = [c for c in cells if c.value[:1] in set("=+-@\t\r")]
    assert risky and all(c.quotePrefix for c in risky)
    wb.close()


def test_csv_not_escaped_by_trustcode_is_read_as_is(tmp_path: Path) -> None:
    path = write_tables(_dangerous_tables(), tmp_path / "coded", provenance={"run": 1})
    stored = json.loads((path / "provenance.json").read_text(encoding="utf-8"))
    del stored["trustcode_csv_escape"]
    (path / "provenance.json").write_text(json.dumps(stored), encoding="utf-8")
    back, _ = read_tables(path)
    assert back["passages"]["text"].iloc[0] == '\'=HYPERLINK("http://x")'


def test_write_frames_csv_escapes_every_text_column(tmp_path: Path) -> None:
    from trustcode.io.tables import write_frames

    frame = pd.DataFrame({"=head": ["=1+1", "plain", "-x"], "n": [-1, 2, 3]})
    out = write_frames({"per_code": frame}, tmp_path / "agreement", provenance={"a": 1})
    raw = (out / "per_code.csv").read_text(encoding="utf-8").splitlines()
    assert raw == ["'=head,n", "'=1+1,-1", "plain,2", "'-x,3"]
    out_x = write_frames({"per_code": frame}, tmp_path / "agreement.xlsx")
    wb = load_workbook(out_x)
    ws = wb["per_code"]
    assert ws["A1"].value == "=head" and ws["A1"].quotePrefix
    assert ws["A2"].value == "=1+1" and ws["A2"].data_type == "s" and ws["A2"].quotePrefix
    wb.close()


@given(st.text(alphabet=st.sampled_from("=+-@\t\r'a ") | st.characters(), max_size=8))
def test_cell_escape_round_trips_and_is_safe(value: str) -> None:
    from trustcode.io.tables.cells import _cell_text, unescape_cell_text

    escaped = _cell_text(value)
    assert unescape_cell_text(escaped) == value
    assert escaped[:1] not in set("=+-@\t\r")


def test_xlsx_row_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tables_xlsx, "EXCEL_MAX_ROWS", 3)  # header + 2 rows
    with pytest.raises(OutputError, match="table passages has 3 rows.*\\.parquet"):
        write_tables(make_tables(), tmp_path / "coded.xlsx", provenance={})
    assert list(tmp_path.iterdir()) == []


def test_xlsx_control_characters_warn(tmp_path: Path) -> None:
    tables = make_tables()
    tables["passages"].loc[1, "text"] = "page\x0cbreak"
    with pytest.warns(TrustcodeWarning, match="control character"):
        path = write_tables(tables, tmp_path / "coded.xlsx", provenance={})
    assert read_tables(path)[0]["passages"]["text"].iloc[1] == "page\ufffdbreak"


# --- reading what is not a trustcode output -------------------------------------------------


def test_read_folder_missing_a_table(tmp_path: Path) -> None:
    path = write_tables(make_tables(), tmp_path / "coded", provenance={})
    (path / "matrix.csv").unlink()
    with pytest.raises(InputError, match="lacks matrix.csv") as info:
        read_tables(path)
    assert str(path) in str(info.value)


def test_read_table_missing_columns(tmp_path: Path) -> None:
    path = write_tables(make_tables(), tmp_path / "coded.jsonl", provenance={})
    lines = (path / "summary.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines]
    for row in rows:
        del row["share"]
    (path / "summary.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8"
    )
    with pytest.raises(InputError, match="summary.jsonl: table summary lacks column\\(s\\) share"):
        read_tables(path)


def test_read_bad_number_names_row(tmp_path: Path) -> None:
    path = write_tables(make_tables(), tmp_path / "coded", provenance={})
    text = (
        (path / "passages.csv").read_text(encoding="utf-8").replace("letter#1,1,30", "letter#1,1,x")
    )
    (path / "passages.csv").write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match="passages.csv, column 'start', row 2.*'x'"):
        read_tables(path)


def test_read_folder_of_other_files(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("nothing here", encoding="utf-8")
    with pytest.raises(InputError, match="not a trustcode output"):
        read_tables(tmp_path)


def test_read_workbook_without_table_sheets(tmp_path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.title = "codings"
    wb.save(tmp_path / "mine.xlsx")
    with pytest.raises(InputError, match="lacks the sheet\\(s\\) documents, passages, matrix"):
        read_tables(tmp_path / "mine.xlsx")


def test_read_missing_path(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        read_tables(tmp_path / "gone.xlsx")


def test_read_without_provenance_warns(tmp_path: Path) -> None:
    path = write_tables(make_tables(), tmp_path / "coded", provenance={"run": 1})
    (path / "provenance.json").unlink()
    with pytest.warns(TrustcodeWarning, match="no provenance"):
        tables, provenance = read_tables(path)
    assert provenance == {}
    assert_tables_equal(make_tables(), tables)
