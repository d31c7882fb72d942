"""The bad-input matrix: one case per row, driven through the CLI (click's CliRunner).

Every case checks what a user sees: the documented error (exit 2, ``Error:`` naming the file and
what to do) or a warning naming the item, never a traceback, never a partial output, and for a
document that cannot be read, the other documents of the same run still coded (``--strict``
makes it fatal).
"""

from __future__ import annotations

import codecs
import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner, Result

from trustcode.cli import main
from trustcode.io.tables import read_tables, write_tables

GOOD_TEXT = (
    "Volunteers wrote letters to political prisoners every week.\n\n"
    "Соседи, которые остались, собирали посылки для задержанных."
)


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def assert_clean_failure(result: Result, *fragments: str) -> None:
    """Exit code 2, an ``Error:`` line holding each fragment, no traceback."""
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.output
    assert "Error:" in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)


def no_leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".trustcode-tmp-"))


# --- builders of real files, then damaged -----------------------------------------------------


def _docx_bytes(text: str) -> bytes:
    import docx

    document = docx.Document()
    for paragraph in text.split("\n\n"):
        document.add_paragraph(paragraph)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _xlsx_bytes(rows: list[list[str]]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _pdf_bytes(text: str) -> bytes:
    """A one-page PDF with ``text`` (ASCII) in Helvetica, built by hand."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _half(data: bytes) -> bytes:
    return data[: len(data) // 2]


BINARY = bytes(range(256)) * 8  # NUL bytes on both parities: not UTF-16 either

# name, file, bytes, what the warning / error says
UNREADABLE: list[tuple[str, str, Callable[[], bytes], str]] = [
    ("empty", "empty.txt", lambda: b"", "is empty (0 bytes)"),
    ("white-space-only", "blank.md", lambda: b"  \n\n\t\r\n", "is empty"),
    ("binary", "photo.txt", lambda: BINARY, "is a binary file"),
    ("truncated-docx", "letter.docx", lambda: _half(_docx_bytes(GOOD_TEXT)), "not a valid .docx"),
    ("zip-not-docx", "archive.docx", lambda: b"PK\x03\x04" + b"\x00" * 40, "not a valid .docx"),
    (
        "truncated-pdf",
        "report.pdf",
        lambda: _half(_pdf_bytes("Letters to prisoners")),
        "not a valid PDF",
    ),
    ("pdf-without-text", "scan.pdf", lambda: _pdf_bytes(""), "has no extractable text"),
    (
        "truncated-xlsx",
        "rows.xlsx",
        lambda: _half(_xlsx_bytes([["text"], ["a row"]])),
        "not a valid .xlsx",
    ),
    (
        "xlsx-no-text-column",
        "sheet.xlsx",
        lambda: _xlsx_bytes([["body"], ["a row"]]),
        "has no column named 'text'",
    ),
    ("csv-ragged-row", "rows.csv", lambda: b'text\n"one",two,three\n', "row 1 has 3 fields"),
    (
        "bad-utf8-after-bom",
        "bom.txt",
        lambda: codecs.BOM_UTF8 + b"ok \xff\xfe bad",
        "byte-order mark",
    ),
    ("utf16-bom-odd-bytes", "u16.txt", lambda: codecs.BOM_UTF16_LE + b"a\x00b", "UTF-16"),
    (
        "html-without-visible-text",
        "page.html",
        lambda: (
            b"<html><head><title>t</title><script>var x = 1;</script></head><body></body></html>"
        ),
        "no visible text",
    ),
]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "good.txt").write_text(GOOD_TEXT, encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    ("case", "name", "make", "reason"), UNREADABLE, ids=[c[0] for c in UNREADABLE]
)
def test_unreadable_document_is_skipped_and_the_rest_coded(
    corpus: Path, tmp_path: Path, case: str, name: str, make: Callable[[], bytes], reason: str
) -> None:
    (corpus / name).write_bytes(make())
    out = tmp_path / "out.xlsx"
    result = invoke("code", str(corpus), "-o", str(out), "-m", "none", "-q")
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    warning = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert any(name in line and reason in line and "skipped" in line for line in warning), (
        result.stderr
    )
    tables, _ = read_tables(out)
    assert tables["documents"]["doc_id"].tolist() == ["good"]
    assert len(tables["passages"]) == 2


@pytest.mark.parametrize(
    ("case", "name", "make", "reason"), UNREADABLE, ids=[c[0] for c in UNREADABLE]
)
def test_unreadable_document_is_fatal_with_strict(
    corpus: Path, tmp_path: Path, case: str, name: str, make: Callable[[], bytes], reason: str
) -> None:
    (corpus / name).write_bytes(make())
    out = tmp_path / "out.parquet"
    result = invoke("code", str(corpus), "-o", str(out), "-m", "none", "-q", "--strict")
    assert_clean_failure(result, name, reason)
    assert not out.exists() and no_leftovers(tmp_path) == []


def test_only_unreadable_documents_is_an_error(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "empty.txt").write_bytes(b"")
    (folder / "photo.txt").write_bytes(BINARY)
    out = tmp_path / "out"
    result = invoke("code", str(folder), "-o", str(out), "-m", "none", "-q")
    assert_clean_failure(result, "No documents", "empty.txt", "photo.txt")
    assert not out.exists() and no_leftovers(tmp_path) == []


def test_missing_path_and_unsupported_file(tmp_path: Path) -> None:
    assert_clean_failure(
        invoke("code", str(tmp_path / "nowhere"), "-m", "none"), "nowhere", "no such file or folder"
    )
    odd = tmp_path / "notes.rtf"
    odd.write_text("{\\rtf1 text}", encoding="utf-8")
    assert_clean_failure(
        invoke("code", str(odd), "-m", "none", "-o", str(tmp_path / "o")),
        "notes.rtf",
        "does not read",
    )


# --- texts that are odd but readable ------------------------------------------------------------

RTL_ZW = (
    "\u05e9\u05dc\u05d5\u05dd \u200fvolunteers\u200b wrote\u200d letters.\n\n"
    "\u0645\u0631\u062d\u0628\u0627 \u2067isolated\u2069 prisoners\ufeff."
)
READABLE: list[tuple[str, bytes, list[str]]] = [
    ("crlf", GOOD_TEXT.replace("\n", "\r\n").encode("utf-8"), GOOD_TEXT.split("\n\n")),
    ("cr-only", GOOD_TEXT.replace("\n", "\r").encode("utf-8"), GOOD_TEXT.split("\n\n")),
    ("utf16-le-bom", codecs.BOM_UTF16_LE + GOOD_TEXT.encode("utf-16-le"), GOOD_TEXT.split("\n\n")),
    (
        "cp1251",
        "Соседи писали письма.\n\nПомогали задержанным.".encode("cp1251"),
        ["Соседи писали письма.", "Помогали задержанным."],
    ),
    ("rtl-and-zero-width", RTL_ZW.encode("utf-8"), RTL_ZW.split("\n\n")),
    (
        "nul-after-8k",
        ("x " * 4200 + "x\n\n" + "late\x00nul").encode("utf-8"),
        ["x " * 4200 + "x", "late\x00nul"],
    ),
]


@pytest.mark.parametrize(("case", "data", "paragraphs"), READABLE, ids=[c[0] for c in READABLE])
def test_odd_but_readable_text_keeps_exact_offsets(
    corpus: Path, tmp_path: Path, case: str, data: bytes, paragraphs: list[str]
) -> None:
    (corpus / "odd.txt").write_bytes(data)
    out = tmp_path / "out.parquet"  # parquet keeps every character, control ones included
    result = invoke("code", str(corpus), "-o", str(out), "-m", "none", "-q")
    assert result.exit_code == 0, result.output
    tables, _ = read_tables(out)
    passages = tables["passages"][tables["passages"]["doc_id"] == "odd"]
    assert passages["text"].tolist() == paragraphs
    # offsets index the normalized text: consecutive paragraphs are two characters apart
    starts, ends = passages["start"].tolist(), passages["end"].tolist()
    assert [e - s for s, e in zip(starts, ends, strict=True)] == [len(p) for p in paragraphs]
    assert all(b == a + 2 for a, b in zip(ends, starts[1:], strict=False))


def test_nul_in_text_warns_when_xlsx_cannot_hold_it(corpus: Path, tmp_path: Path) -> None:
    (corpus / "odd.txt").write_bytes(("y " * 4200 + "\n\nlate\x00nul").encode("utf-8"))
    out = tmp_path / "out.xlsx"
    result = invoke("code", str(corpus), "-o", str(out), "-m", "none", "-q")
    assert result.exit_code == 0, result.output
    assert "control character(s) that xlsx cannot hold" in result.stderr
    assert "late\ufffdnul" in read_tables(out)[0]["passages"]["text"].tolist()


def test_mixed_encodings_are_read_or_reported(corpus: Path, tmp_path: Path) -> None:
    mixed = "Письмо в UTF-8.\n\n".encode() + "Письмо в cp1251.".encode("cp1251")
    (corpus / "mixed.txt").write_bytes(mixed)
    out = tmp_path / "out.parquet"
    result = invoke("code", str(corpus), "-o", str(out), "-m", "none", "-q")
    assert result.exit_code == 0 and "Traceback" not in result.output
    doc_ids = read_tables(out)[0]["documents"]["doc_id"].tolist()
    assert "good" in doc_ids
    assert "mixed" in doc_ids or "mixed.txt" in result.stderr


# A 50 MB document of one line: it is cut at white space into passages of at most
# segment.MAX_PASSAGE_CHARS, with a warning, and coded like any other.
def test_fifty_megabyte_single_line(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    line = "Volunteers wrote letters to political prisoners and neighbours. "
    with open(folder / "line.txt", "w", encoding="utf-8") as handle:
        for _ in range(50 * 2**20 // len(line)):
            handle.write(line)
    (folder / "good.txt").write_text(GOOD_TEXT, encoding="utf-8")
    book = tmp_path / "codebook.yaml"
    book.write_text(
        "name: one rule\ncodes:\n- id: letters\n  label: Letters\n  rules:\n"
        "  - phrases: [political prisoners]\n",
        encoding="utf-8",
    )
    out = tmp_path / "out.parquet"
    result = invoke("code", str(folder), "-c", str(book), "-o", str(out), "-m", "none", "-q")
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.exit_code in (0, 2) and "Traceback" not in result.output
    if result.exit_code == 0:
        assert set(read_tables(out)[0]["documents"]["doc_id"]) == {"line", "good"}


# --- codebooks --------------------------------------------------------------------------------

CODEBOOKS: list[tuple[str, str, str]] = [
    ("not-yaml", "name: x\ncodes: [\n", ":3: column 1: invalid YAML"),
    ("tab-indent", "name: x\ncodes:\n\t- id: a\n", "replace the tab with spaces"),
    ("top-level-list", "- a\n- b\n", "expected a mapping with 'name:'"),
    ("no-name", "codes:\n- {id: a, label: A}\n", "missing required key 'name'"),
    ("no-codes", "name: x\n", "missing required key 'codes'"),
    ("empty-codes", "name: x\ncodes: []\n", "the list of codes is empty"),
    (
        "duplicate-id",
        "name: x\ncodes:\n- {id: a, label: A}\n- {id: a, label: B}\n",
        ":4: codes[1].id: duplicate code id 'a'",
    ),
    ("bad-id", "name: x\ncodes:\n- {id: A-b, label: A}\n", "try 'a_b'"),
    (
        "unknown-parent",
        "name: x\ncodes:\n- {id: a, label: A, parent: zz}\n",
        "parent 'zz' is not a code",
    ),
    (
        "parent-cycle",
        "name: x\ncodes:\n- {id: a, label: A, parent: b}\n- {id: b, label: B, parent: a}\n",
        "parent cycle: a -> b -> a",
    ),
    ("unknown-key", "name: x\ncodes:\n- {id: a, label: A, lable: B}\n", "did you mean 'label'"),
    (
        "bad-regex",
        "name: x\ncodes:\n- id: a\n  label: A\n  rules:\n  - regex: '(unclosed'\n",
        ":6: codes[0].rules[0].regex: invalid regular expression",
    ),
    (
        "two-kinds",
        "name: x\ncodes:\n- id: a\n  label: A\n  rules:\n  - {phrases: [x], regex: y}\n",
        "a rule has exactly one kind",
    ),
    (
        "no-kind",
        "name: x\ncodes:\n- id: a\n  label: A\n  rules:\n  - {lang: en}\n",
        "a rule needs one kind key",
    ),
    ("bad-colour", "name: x\ncodes:\n- {id: a, label: A, colour: red}\n", "'#rrggbb'"),
    (
        "bad-combine",
        "name: x\ncodes:\n- {id: a, label: A, combine: maybe}\n",
        "unknown combine policy 'maybe'",
    ),
    (
        "bad-near",
        "name: x\ncodes:\n- id: a\n  label: A\n  rules:\n  - near: {a: [x], b: [y], within: -1}\n",
        "near.within: expected a positive whole number",
    ),
    (
        "bad-pattern",
        "name: x\ncodes:\n- id: a\n  label: A\n  rules:\n  - pattern: [{NOSUCH: 1}]\n",
        "unknown token attribute 'NOSUCH'",
    ),
    ("wrong-types", "name: [1]\ncodes:\n- {id: a, label: 5}\n", "codes[0].label: expected text"),
    (
        "empty-term",
        "name: x\ncodes:\n- id: a\n  label: A\n  rules:\n  - phrases: ['']\n",
        "empty term",
    ),
    ("duplicate-key", "name: x\nname: y\ncodes:\n- {id: a, label: A}\n", "duplicate key 'name'"),
    ("empty-file", "", "the codebook is empty"),
    (
        "bad-language",
        "name: x\nlanguages: [zz-notalang]\ncodes:\n- {id: a, label: A}\n",
        "languages[0]",
    ),
    (
        "bad-exclusive",
        "name: x\nexclusive: maybe\ncodes:\n- {id: a, label: A}\n",
        "expected true or false",
    ),
    (
        "bad-redact",
        "name: x\nredact: ['']\ncodes:\n- {id: a, label: A}\n",
        "a name to redact cannot be empty",
    ),
    (
        "python-tag",
        "name: !!python/object/apply:os.getcwd []\ncodes:\n- {id: a, label: A}\n",
        "codebook.yaml:1",
    ),
]


@pytest.mark.parametrize(("case", "text", "message"), CODEBOOKS, ids=[c[0] for c in CODEBOOKS])
def test_codebook_errors_through_every_command_that_loads_one(
    corpus: Path, tmp_path: Path, case: str, text: str, message: str
) -> None:
    book = tmp_path / "codebook.yaml"
    book.write_text(text, encoding="utf-8")
    assert_clean_failure(invoke("codebook", "check", str(book)), "codebook.yaml", message)
    out = tmp_path / "out.xlsx"
    assert_clean_failure(
        invoke("code", str(corpus), "-c", str(book), "-o", str(out), "-m", "none"), message
    )
    qdc = tmp_path / "book.qdc"
    assert_clean_failure(invoke("codebook", "export", str(book), "-o", str(qdc)), message)
    assert not out.exists() and not qdc.exists() and no_leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("case", "data", "message"),
    [
        ("missing", None, "no such codebook file"),
        ("not-utf8", b"name: \xff\xfe\ncodes: []\n", "not UTF-8"),
        ("binary", BINARY, "not UTF-8"),
    ],
)
def test_codebook_file_problems(
    tmp_path: Path, case: str, data: bytes | None, message: str
) -> None:
    book = tmp_path / "codebook.yaml"
    if data is not None:
        book.write_bytes(data)
    assert_clean_failure(invoke("codebook", "check", str(book)), message)


# --- tables: read_tables, read_gold, read_coded, import_qdpx ----------------------------------


@pytest.fixture
def coded(corpus: Path, tmp_path: Path) -> Path:
    """A real CSV-folder output of ``trustcode code`` to damage."""
    out = tmp_path / "coded"
    result = invoke("code", str(corpus), "-o", str(out), "-m", "none", "-q")
    assert result.exit_code == 0, result.output
    return out


def _edit_csv(file: Path, edit: Callable[[pd.DataFrame], pd.DataFrame]) -> None:
    frame = pd.read_csv(file, dtype=str, keep_default_na=False)
    edit(frame).to_csv(file, index=False)


TABLE_DAMAGE: list[tuple[str, str, Callable[[pd.DataFrame], pd.DataFrame], str]] = [
    (
        "codings-missing-column",
        "codings.csv",
        lambda f: f.drop(columns=["code"]),
        "table codings lacks column(s) code",
    ),
    (
        "passages-start-not-a-number",
        "passages.csv",
        lambda f: f.assign(start="soon"),
        "column 'start', row 1 below the header: expected a whole number, found 'soon'",
    ),
    (
        "score-not-a-number",
        "codings.csv",
        lambda f: f.assign(score="high"),
        "column 'score', row 1 below the header: expected a number",
    ),
    (
        "documents-missing-doc-id",
        "documents.csv",
        lambda f: f.drop(columns=["doc_id"]),
        "table documents lacks column(s) doc_id",
    ),
]


@pytest.mark.parametrize(
    ("case", "file", "edit", "message"), TABLE_DAMAGE, ids=[c[0] for c in TABLE_DAMAGE]
)
@pytest.mark.parametrize("command", ["report", "export", "compare", "agree"])
def test_damaged_output_tables(
    coded: Path,
    tmp_path: Path,
    case: str,
    file: str,
    edit: Callable[[pd.DataFrame], pd.DataFrame],
    message: str,
    command: str,
) -> None:
    _edit_csv(coded / file, edit)
    target = {"report": "r.html", "export": "p.qdpx", "compare": "c.xlsx", "agree": "a.xlsx"}
    out = tmp_path / target[command]
    args = [command, str(coded)] + ([str(coded)] if command == "agree" else []) + ["-o", str(out)]
    assert_clean_failure(invoke(*args), file, message)
    assert not out.exists() and no_leftovers(tmp_path) == []


def test_extra_columns_in_output_tables_are_kept(coded: Path, tmp_path: Path) -> None:
    _edit_csv(coded / "passages.csv", lambda f: f.assign(note="checked"))
    tables, _ = read_tables(coded)
    assert tables["passages"]["note"].tolist() == ["checked", "checked"]
    result = invoke("report", str(coded), "-o", str(tmp_path / "r.html"))
    assert result.exit_code == 0, result.output


def test_output_missing_a_table(coded: Path, tmp_path: Path) -> None:
    (coded / "matrix.csv").unlink()
    assert_clean_failure(invoke("report", str(coded), "-o", str(tmp_path / "r.html")), "matrix.csv")


GOLD_DAMAGE: list[tuple[str, str, str]] = [
    ("hand-coded-missing-end", "doc_id,index,start,codes\ngood,0,0,repression\n", "missing end"),
    (
        "hand-coded-start-not-number",
        "doc_id,index,start,end,codes\ngood,0,x,10,repression\n",
        "gold.csv:2: column 'start' must be a whole number; found 'x'",
    ),
    (
        "passage-table-unknown-code",
        "doc_id,text,codes\ngood,Some text,no_such_code\n",
        "no_such_code",
    ),
    ("passage-table-no-codes-column", "doc_id,text\ngood,Some text\n", "missing codes"),
    ("empty-gold", "", "cannot read the gold table"),
]


@pytest.mark.parametrize(("case", "text", "message"), GOLD_DAMAGE, ids=[c[0] for c in GOLD_DAMAGE])
@pytest.mark.parametrize("command", ["train", "evaluate", "agree", "compare"])
def test_bad_gold_tables(
    corpus: Path, tmp_path: Path, case: str, text: str, message: str, command: str
) -> None:
    gold = tmp_path / "gold.csv"
    gold.write_text(text, encoding="utf-8")
    out = (
        tmp_path
        / {"train": "m.skops", "evaluate": "e.xlsx", "agree": "a.xlsx", "compare": "c.xlsx"}[
            command
        ]
    )
    args = [command, str(gold)] + ([str(gold)] if command == "agree" else []) + ["-o", str(out)]
    assert_clean_failure(invoke(*args), "gold.csv", message)
    assert not out.exists() and no_leftovers(tmp_path) == []


def test_extra_gold_columns_are_ignored(tmp_path: Path) -> None:
    from trustcode.gold import read_gold

    gold = tmp_path / "gold.csv"
    gold.write_text("doc_id,text,codes,mood\ngood,Some text,repression,calm\n", encoding="utf-8")
    table = read_gold([gold])
    assert table["codes"].tolist() == [("repression",)]


def _qdpx(project_xml: str | None, extra: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        if project_xml is not None:
            archive.writestr("project.qde", project_xml)
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture
def real_qdpx(coded: Path, tmp_path: Path) -> bytes:
    out = tmp_path / "real.qdpx"
    result = invoke("export", str(coded), "-o", str(out))
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    out.unlink()
    return data


QDPX_DAMAGE: list[tuple[str, Callable[[bytes], bytes], str]] = [
    ("truncated", _half, "not a REFI-QDA project"),
    ("empty-file", lambda real: b"", "not a REFI-QDA project"),
    ("no-project-file", lambda real: _qdpx(None, {"sources/a.txt": b"text"}), "no .qde"),
    (
        "project-not-xml",
        lambda real: _qdpx("this is not < xml"),
        "project.qde:1:0: not well-formed XML",
    ),
    (
        "wrong-root",
        lambda real: _qdpx("<?xml version='1.0'?><Other/>"),
        "expected a REFI-QDA project (root element <Project>), found <Other>",
    ),
]


@pytest.mark.parametrize(
    ("case", "damage", "message"), QDPX_DAMAGE, ids=[c[0] for c in QDPX_DAMAGE]
)
@pytest.mark.parametrize("command", ["import", "report"])
def test_bad_qdpx(
    real_qdpx: bytes,
    tmp_path: Path,
    case: str,
    damage: Callable[[bytes], bytes],
    message: str,
    command: str,
) -> None:
    project = tmp_path / "project.qdpx"
    project.write_bytes(damage(real_qdpx))
    out = tmp_path / {"import": "gold.xlsx", "report": "r.html", "agree": "a.xlsx"}[command]
    args = [command, str(project)] + ([str(project)] if command == "agree" else [])
    assert_clean_failure(invoke(*args, "-o", str(out)), "project.qdpx", message)
    assert not out.exists() and no_leftovers(tmp_path) == []


def test_real_qdpx_imports(real_qdpx: bytes, tmp_path: Path) -> None:
    project = tmp_path / "project.qdpx"
    project.write_bytes(real_qdpx)
    result = invoke("import", str(project), "-o", str(tmp_path / "gold.xlsx"))
    assert result.exit_code == 0, result.output
    assert json.dumps(read_tables(tmp_path / "gold.xlsx")[1]).count("REFI-QDA") == 1


def test_table_reader_on_a_foreign_workbook(tmp_path: Path) -> None:
    foreign = tmp_path / "budget.xlsx"
    foreign.write_bytes(_xlsx_bytes([["year", "amount"], ["2024", "10"]]))
    assert_clean_failure(
        invoke("report", str(foreign), "-o", str(tmp_path / "r.html")), "budget.xlsx"
    )
    assert not (tmp_path / "r.html").exists()


def test_write_tables_fixture_round_trip_sanity(tmp_path: Path) -> None:
    # the damage above is applied to real outputs; this pins that an undamaged one reads
    from tests.test_io_tables import make_tables

    path = write_tables(make_tables(), tmp_path / "ok", provenance={"run": 1})
    assert read_tables(path)[1] == {"run": 1}
