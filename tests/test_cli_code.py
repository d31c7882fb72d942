"""`trustcode code`: outputs, messages, exit codes, and every bad input of the pipeline issue."""

from __future__ import annotations

import os
import re
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from trustcode.cli import main
from trustcode.io.tables import read_tables

from .conftest import REPO

BAD_CODEBOOKS = {
    "malformed YAML": ("name: x\ncodes: [\n", r"cb\.yaml:\d+: .*YAML"),
    "duplicate code ids": (
        "name: x\ncodes:\n  - {id: a, label: A}\n  - {id: a, label: B}\n",
        r"cb\.yaml:4: codes\[1\]\.id: .*duplicate",
    ),
    "unknown parent": (
        "name: x\ncodes:\n  - {id: a, label: A, parent: nope}\n",
        r"cb\.yaml:3: codes\[0\]\.parent: .*nope",
    ),
    "parent cycle": (
        "name: x\ncodes:\n  - {id: a, label: A, parent: b}\n  - {id: b, label: B, parent: a}\n",
        r"cycle",
    ),
    "invalid regex": (
        "name: x\ncodes:\n  - id: a\n    label: A\n    rules:\n      - regex: '(unclosed'\n",
        r"cb\.yaml:6: codes\[0\]\.rules\[0\]\.regex: ",
    ),
    "unknown token attribute": (
        "name: x\ncodes:\n  - id: a\n    label: A\n    rules:\n      - pattern: [{LOWR: court}]\n",
        r"codes\[0\]\.rules\[0\]\.pattern\[0\]\.LOWR: .*did you mean 'LOWER'",
    ),
}


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text(
        "Volunteers write letters to political prisoners.\n\nThe weather was fine.",
        encoding="utf-8",
    )
    return folder


def _no_traceback(result) -> None:  # type: ignore[no-untyped-def]
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_code_writes_a_workbook_with_rule_codings_and_evidence(
    runner: CliRunner, tmp_path: Path
) -> None:
    out = tmp_path / "coded.xlsx"
    result = runner.invoke(main, ["code", str(REPO / "corpus"), "-o", str(out), "-m", "none"])
    assert result.exit_code == 0, result.output
    assert "Wrote" in result.output
    book = openpyxl.load_workbook(out, read_only=True)
    assert book.sheetnames[:5] == ["documents", "passages", "codings", "matrix", "summary"]
    assert {"Codebook", "Provenance"} <= set(book.sheetnames)
    tables, _ = read_tables(out)
    codings = tables["codings"]
    assert len(set(codings["code"])) == 10
    assert (codings["source"] == "rule").all() and (codings["evidence"] != "").all()


def test_code_without_output_writes_coded_folder_and_says_so(
    runner: CliRunner, docs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["code", str(docs), "-m", "none"])
    assert result.exit_code == 0, result.output
    assert "Wrote coded" in result.output
    assert sorted(os.listdir(tmp_path / "coded")) == [
        "codings.csv",
        "documents.csv",
        "matrix.csv",
        "passages.csv",
        "provenance.json",
        "summary.csv",
    ]


def test_existing_output_needs_force(runner: CliRunner, docs: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.xlsx"
    out.write_bytes(b"keep me")
    result = runner.invoke(main, ["code", str(docs), "-o", str(out), "-m", "none"])
    assert result.exit_code == 2
    assert (
        "exists; pass force=True to overwrite it (or choose another path). Command line: --force."
    ) in result.output
    assert out.read_bytes() == b"keep me"
    _no_traceback(result)
    result = runner.invoke(main, ["code", str(docs), "-o", str(out), "-m", "none", "--force"])
    assert result.exit_code == 0, result.output
    assert out.read_bytes() != b"keep me"


def test_unwritable_output_is_a_clear_error(runner: CliRunner, docs: Path, tmp_path: Path) -> None:
    out = tmp_path / "no" / "such" / "folder" / "out.xlsx"
    result = runner.invoke(main, ["code", str(docs), "-o", str(out), "-m", "none"])
    assert result.exit_code == 2
    assert "Error:" in result.output and "folder" in result.output
    assert not out.exists()
    _no_traceback(result)


@pytest.mark.parametrize("case", sorted(BAD_CODEBOOKS))
def test_bad_codebooks_fail_with_file_line_and_path(
    runner: CliRunner, docs: Path, tmp_path: Path, case: str
) -> None:
    text, pattern = BAD_CODEBOOKS[case]
    codebook = tmp_path / "cb.yaml"
    codebook.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    result = runner.invoke(main, ["code", str(docs), "-c", str(codebook), "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("Error:")
    assert re.search(pattern, result.output), result.output
    assert not out.exists()
    _no_traceback(result)


def _bad_input(tmp_path: Path, kind: str) -> list[str]:
    if kind == "empty folder":
        (tmp_path / "empty").mkdir()
        return [str(tmp_path / "empty")]
    if kind == "empty file":
        (tmp_path / "e.txt").write_text("", encoding="utf-8")
        return [str(tmp_path / "e.txt")]
    if kind == "binary file":
        (tmp_path / "b.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20)
        return [str(tmp_path / "b.txt")]
    if kind == "undecodable bytes":
        (tmp_path / "u.txt").write_bytes(bytes(range(0x80, 0x100)) * 4 + bytes(range(1, 32)) * 8)
        return [str(tmp_path / "u.txt")]
    if kind == "xlsx without the text column":
        book = openpyxl.Workbook()
        book.active.append(["id", "answer"])
        book.active.append(["r1", "Lawyers visited the detainees."])
        book.save(tmp_path / "t.xlsx")
        return [str(tmp_path / "t.xlsx"), "--text-column", "body"]
    raise AssertionError(kind)


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("empty folder", "empty"),
        ("empty file", "empty"),
        ("binary file", "binary"),
        ("undecodable bytes", "cannot be decoded"),
        ("xlsx without the text column", "body"),
    ],
)
def test_bad_inputs_exit_2_with_a_message_and_no_output(
    runner: CliRunner, tmp_path: Path, kind: str, message: str
) -> None:
    out = tmp_path / "out.xlsx"
    args = ["code", *_bad_input(tmp_path, kind), "-o", str(out), "-m", "none"]
    result = runner.invoke(main, args)
    assert result.exit_code == 2, result.output
    assert "Error:" in result.output and message in result.output
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".trustcode-tmp")]
    _no_traceback(result)


def test_a_bad_document_is_skipped_and_the_rest_coded(
    runner: CliRunner, docs: Path, tmp_path: Path
) -> None:
    (docs / "broken.txt").write_bytes(b"\x00\x01\x02" * 100)
    out = tmp_path / "out"
    result = runner.invoke(main, ["code", str(docs), "-o", str(out), "-m", "none"])
    assert result.exit_code == 0, result.output
    assert "broken.txt" in result.output and "skipped" in result.output
    tables, _ = read_tables(out)
    assert tables["documents"]["doc_id"].tolist() == ["a"]
    strict = runner.invoke(
        main, ["code", str(docs), "-o", str(tmp_path / "o2"), "-m", "none", "--strict"]
    )
    assert strict.exit_code == 2 and "broken.txt" in strict.output
    assert not (tmp_path / "o2").exists()


def test_bad_unit_is_a_usage_error(runner: CliRunner, docs: Path, tmp_path: Path) -> None:
    result = runner.invoke(main, ["code", str(docs), "-u", "page", "-o", str(tmp_path / "o")])
    assert result.exit_code == 2 and "Unknown unit 'page'" in result.output


def test_version_and_every_help_has_an_example(runner: CliRunner) -> None:
    from trustcode import __version__

    result = runner.invoke(main, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output

    def walk(group, prefix):  # type: ignore[no-untyped-def]
        for name, command in group.commands.items():
            yield [*prefix, name], command
            if hasattr(command, "commands"):
                yield from walk(command, [*prefix, name])

    for args, _ in walk(main, []):
        help_text = runner.invoke(main, [*args, "--help"])
        assert help_text.exit_code == 0
        assert "Example:" in help_text.output, args


def test_progress_shows_done_of_total_rate_and_time_left_on_a_terminal_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import io
    import sys

    from trustcode.cli.common import progress_bar
    from trustcode.types import Document

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    step, bar = progress_bar(False, "Coding", lambda: 3)
    assert step is not None and bar is not None
    step(Document("report-1", "four words of text"))
    step(Document("report-2", "two words"))
    bar.close()
    last = terminal.getvalue().split("\r")[-1]
    # tqdm's line: done/total, [elapsed<time left, documents per second, words per second]
    assert re.match(
        r"Coding:  67%\|.*\| 2/3 \[\d\d:\d\d<\d\d:\d\d, +\S+ ?doc/s, "
        r"\S+ words/s, report-2\]",
        last,
    ), last
    counted: list[int] = []
    assert progress_bar(True, "Coding", lambda: counted.append(1) or 3) == (None, None)
    monkeypatch.setattr(sys, "stderr", io.StringIO())  # not a terminal
    assert progress_bar(False, "Coding", lambda: counted.append(1) or 3) == (None, None)
    assert counted == []  # nothing is counted for a bar that is not shown


def test_code_counts_files_and_table_rows_before_coding(
    runner: CliRunner, docs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from trustcode.cli import common

    (docs / "rows.csv").write_text("text\nOne letter.\n\nTwo letters.\nThree.\n", encoding="utf-8")
    shown: list[tuple[int, list[str]]] = []

    class Recorder:
        def __init__(self, label: str, total: int) -> None:
            shown.append((total, []))

        def __call__(self, document) -> None:  # type: ignore[no-untyped-def]
            shown[-1][1].append(document.doc_id)

        def close(self) -> None:
            pass

    monkeypatch.setattr(common, "_Progress", Recorder)
    monkeypatch.setattr(common, "_on_terminal", lambda: True)  # CliRunner's stderr is none
    result = runner.invoke(main, ["code", str(docs), "-m", "none", "-o", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    assert shown == [(4, ["a", "rows-1", "rows-3", "rows-4"])]
    shown.clear()
    result = runner.invoke(
        main, ["code", str(docs), "-m", "none", "-o", str(tmp_path / "q"), "--quiet"]
    )
    assert result.exit_code == 0 and shown == []


# --- the codebook in the working directory ---------------------------------------------------

LOCAL_CODEBOOK = (
    "name: my edit\n"
    "codes:\n"
    "  - id: correspondence\n"
    "    label: Correspondence\n"
    "    rules: [{phrases: [letters]}]\n"
    "    examples: {positive: [We wrote letters.], negative: [We met.]}\n"
)


def test_code_uses_the_codebook_in_the_working_directory_and_names_it(
    runner: CliRunner, docs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "codebook.yaml").write_text(LOCAL_CODEBOOK, encoding="utf-8")
    result = runner.invoke(main, ["code", str(docs), "-m", "none", "-o", "out"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == (
        "Wrote out (codebook codebook.yaml, model none (rules only))."
    )
    tables, _ = read_tables(tmp_path / "out")
    assert set(tables["codings"]["code"]) == {"correspondence"}


def test_code_without_a_local_codebook_uses_the_shipped_one(
    runner: CliRunner, docs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from trustcode.codebook import DEFAULT_CODEBOOK

    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["code", str(docs), "-m", "none", "-o", "out"])
    assert result.exit_code == 0, result.output
    assert f"(codebook {DEFAULT_CODEBOOK}," in result.output.strip().splitlines()[-1]
    tables, _ = read_tables(tmp_path / "out")
    assert "correspondence" not in set(tables["codings"]["code"])


def test_a_named_codebook_wins_over_the_local_one(
    runner: CliRunner, docs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "codebook.yaml").write_text("not: [a codebook", encoding="utf-8")
    (tmp_path / "mine.yaml").write_text(LOCAL_CODEBOOK, encoding="utf-8")
    result = runner.invoke(main, ["code", str(docs), "-m", "none", "-o", "out", "-c", "mine.yaml"])
    assert result.exit_code == 0, result.output
    assert "(codebook mine.yaml," in result.output


# --- warnings that say something once ----------------------------------------------------------


def test_codebook_advice_is_one_line_pointing_to_check_and_data_warnings_stay(
    runner: CliRunner, docs: Path, tmp_path: Path
) -> None:
    codebook = tmp_path / "cb.yaml"
    codes = "".join(
        f"  - {{id: c{i}, label: C{i}, rules: [{{phrases: [word{i}]}}]}}\n" for i in range(5)
    )
    codebook.write_text(f"name: no examples\ncodes:\n{codes}", encoding="utf-8")
    (docs / "broken.docx").write_bytes(b"not a zip")
    result = runner.invoke(
        main, ["code", str(docs), "-c", str(codebook), "-m", "none", "-o", str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    assert "has no examples" not in result.output
    pointers = [line for line in result.output.splitlines() if "codebook check" in line]
    assert pointers == [
        f"note: {codebook} has advice on how it is written (codes with no rules or no "
        f"examples): 'trustcode codebook check {codebook}' lists it."
    ]
    assert result.output.strip().splitlines()[-1].startswith("Wrote ")
    assert re.search(r"warning: .*broken\.docx.*skipped", result.output), result.output


def test_a_command_leaves_the_process_warning_display_as_it_found_it(
    runner: CliRunner, docs: Path, tmp_path: Path
) -> None:
    import warnings

    before = warnings.showwarning
    filters = list(warnings.filters)
    (docs / "broken.txt").write_bytes(b"\x00\x01binary")  # a skipped document warns
    result = runner.invoke(main, ["code", str(docs), "-o", str(tmp_path / "o"), "-m", "none"])
    assert result.exit_code == 0, result.output
    assert "warning: " in result.output and "broken.txt" in result.output
    assert warnings.showwarning is before
    assert warnings.filters == filters
    # a warning after the command is not shown the command's way
    with pytest.warns(UserWarning, match="after the command"):
        warnings.warn("after the command", UserWarning, stacklevel=1)
