"""`trustcode.workflows.code_files`: every output form of a coding run through one function, the
one the `code` command calls."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

import trustcode.pipeline
from trustcode.cli import main
from trustcode.errors import OutputError, UsageError
from trustcode.io.tables import read_tables
from trustcode.pipeline import code_corpus
from trustcode.refiqda import read_qdpx
from trustcode.workflows import code_files


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text(
        "Volunteers write letters to political prisoners.\n\nPolice detained forty people at "
        "the rally and the court fined them.",
        encoding="utf-8",
    )
    (folder / "b.txt").write_text("The weather was fine.", encoding="utf-8")
    return folder


def _refuse_to_code(*args: object, **kwargs: object) -> None:
    raise AssertionError("the corpus was coded although the target was refused")


def test_qdpx_from_the_library_is_the_one_the_command_writes(docs: Path, tmp_path: Path) -> None:
    run = code_files([docs], tmp_path / "api.qdpx", model=None)
    assert run.output == tmp_path / "api.qdpx"
    assert run.provenance["model"] is None and len(run.tables["codings"]) > 0
    result = CliRunner().invoke(
        main,
        [
            "code",
            str(docs),
            "-o",
            str(tmp_path / "cli.qdpx"),
            "-m",
            "none",
            "-c",
            run.provenance["codebook"],
        ],
    )
    assert result.exit_code == 0, result.output

    def codings(path: Path) -> list[tuple[object, ...]]:
        frame = read_qdpx(path).tables["codings"]
        return sorted(frame[["doc_id", "start", "end", "code"]].itertuples(index=False))

    assert codings(run.output) == codings(tmp_path / "cli.qdpx")
    assert len(codings(run.output)) == len(run.tables["codings"])


def test_code_corpus_names_the_functions_that_write_a_qdpx(docs: Path, tmp_path: Path) -> None:
    with pytest.raises(
        OutputError, match="REFI-QDA project is not a table output; trustcode.workflows.code_files"
    ):
        code_corpus([docs], model=None, output=tmp_path / "p.qdpx")


def test_a_qdpx_in_a_missing_folder_is_refused_before_any_coding(
    docs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(trustcode.pipeline, "code_corpus", _refuse_to_code)
    with pytest.raises(OutputError, match="its folder .*nowhere does not exist"):
        code_files([docs], tmp_path / "nowhere" / "p.qdpx", model=None)


def test_an_existing_qdpx_is_refused_before_any_coding(
    docs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "p.qdpx"
    target.write_bytes(b"keep")
    monkeypatch.setattr(trustcode.pipeline, "code_corpus", _refuse_to_code)
    with pytest.raises(OutputError, match="exists; pass force=True") as info:
        code_files([docs], target, model=None)
    assert info.value.params == ("force",)
    assert target.read_bytes() == b"keep"


def test_review_workbook_from_the_library(docs: Path, tmp_path: Path) -> None:
    run = code_files([docs], tmp_path / "r.xlsx", model=None, review=True, review_size=1)
    assert run.output == tmp_path / "r.xlsx"
    sheets = openpyxl.load_workbook(run.output).sheetnames
    assert sheets[0] == "review" and "provenance" in sheets


def test_review_needs_an_xlsx_name(
    docs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(trustcode.pipeline, "code_corpus", _refuse_to_code)
    with pytest.raises(UsageError, match="review writes a workbook") as info:
        code_files([docs], tmp_path / "r.parquet", review=True)
    assert info.value.params == ("review", "output")
    assert not (tmp_path / "r.parquet").exists()


@pytest.mark.parametrize(
    "options",
    [{"review": True}, {"jobs": 2}, {"redact": object()}],
    ids=["review", "jobs", "redact"],
)
def test_dask_engine_refuses_what_it_cannot_do(docs: Path, tmp_path: Path, options: dict) -> None:
    with pytest.raises(UsageError, match="engine='dask' writes Parquet tables"):
        code_files([docs], tmp_path / "d.parquet", engine="dask", **options)
    assert not (tmp_path / "d.parquet").exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"engine": "spark"}, "'engine' parameter of code must be 'local' or 'dask'"),
        ({"review_size": -1}, r"'review_size' parameter of code must be an int in \[0, inf\)"),
    ],
)
def test_bad_options_are_named(docs: Path, tmp_path: Path, options: dict, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        code_files([docs], tmp_path / "o", **options)
    assert not (tmp_path / "o").exists()


def test_tables_are_those_of_code_corpus(docs: Path, tmp_path: Path) -> None:
    run = code_files([docs], tmp_path / "t.parquet", model=None)
    written, _ = read_tables(run.output)
    direct = code_corpus([docs], model=None).tables
    for name, frame in direct.items():
        assert written[name].equals(frame), name


def test_the_command_reads_the_codebook_once(
    docs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import trustcode.codebook.loading as loading

    calls: list[str] = []
    parse = loading.parse_codebook

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(str(args[1]) if len(args) > 1 else "")
        return parse(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(loading, "parse_codebook", counted)
    for extra in (
        [],
        ["--review", "-o", str(tmp_path / "r.xlsx")],
        ["-o", str(tmp_path / "p.qdpx")],
        ["--redact", "-o", str(tmp_path / "t")],
    ):
        calls.clear()
        result = CliRunner().invoke(
            main, ["code", str(docs), "-m", "none", "-o", str(tmp_path / "x"), *extra, "--force"]
        )
        assert result.exit_code == 0, result.output
        assert len(calls) == 1, (extra, calls)
