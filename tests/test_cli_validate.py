"""``trustcode validate draw|estimate|plan`` driven through the CLI: outputs, messages, exit codes,
and nothing written on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from openpyxl import load_workbook

from trustcode.cli import main
from trustcode.io.tables import write_tables
from trustcode.validation import DESIGN_SHEET, ESTIMATE_COLUMNS, read_design

from .test_validation import BOOK, _corpus, code_by_hand


@pytest.fixture(scope="module")
def corpus() -> tuple[dict[str, pd.DataFrame], dict[str, set[str]]]:
    return _corpus(seed=9, docs=3, per_doc=80)


@pytest.fixture
def codebook(tmp_path: Path) -> Path:
    path = tmp_path / "codebook.yaml"
    data = {
        "name": BOOK.name,
        "languages": ["en"],
        "codes": [
            {
                "id": c.id,
                "label": c.label,
                "definition": c.definition,
                "rules": [{"phrases": [f"{c.id} term"]}],
            }
            for c in BOOK.codes
        ],
    }
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.fixture
def coded(tmp_path: Path, corpus) -> Path:  # type: ignore[no-untyped-def]
    return write_tables(corpus[0], tmp_path / "coded", provenance={"unit": "paragraph"})


def _invoke(*args: object) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.output


def _draw(coded: Path, codebook: Path, out: Path, *more: object) -> Path:
    code, output = _invoke("validate", "draw", coded, "-o", out, "-c", codebook, *more)
    assert code == 0, output
    return out


def test_draw_estimate_plan(tmp_path: Path, coded: Path, codebook: Path, corpus) -> None:  # type: ignore[no-untyped-def]
    code, output = _invoke(
        "validate",
        "draw",
        coded,
        "-o",
        tmp_path / "s.xlsx",
        "-c",
        codebook,
        "--per-code",
        15,
        "--seed",
        4,
    )
    assert code == 0, output
    design = read_design(tmp_path / "s.xlsx")
    assert f"Drew {design.sample_size} of 240 passages (seed 4, blind)." in output
    assert (design.per_code, design.seed, design.show_machine) == (15, 4, False)
    done = code_by_hand(tmp_path / "s.xlsx", tmp_path / "done.xlsx", corpus[1])

    code, output = _invoke(
        "validate",
        "estimate",
        done,
        coded,
        "-o",
        tmp_path / "est.xlsx",
        "--target-precision",
        0.5,
        "--target-recall",
        0.3,
    )
    assert code == 0, output
    assert "precision_low" in output and "Wrote" in output
    estimates = pd.read_excel(tmp_path / "est.xlsx", sheet_name="estimates")
    assert list(estimates.columns) == [*ESTIMATE_COLUMNS, "meets_target"]
    assert list(estimates["code"]) == ["common", "medium", "rare"]
    strata = pd.read_excel(tmp_path / "est.xlsx", sheet_name="strata")
    assert len(strata) == 6

    code, output = _invoke("validate", "estimate", done, coded, "-o", tmp_path / "est")
    assert code == 0, output
    assert (tmp_path / "est" / "estimates.csv").is_file()
    provenance = json.loads((tmp_path / "est" / "provenance.json").read_text(encoding="utf-8"))
    assert provenance["coded_sha256"] == design.coded_sha256 and provenance["seed"] == 4

    # the report shows the validation beside the machine's counts
    for validation in (tmp_path / "est.xlsx", tmp_path / "est"):
        page = tmp_path / "report.html"
        code, output = _invoke(
            "report", coded, "-c", codebook, "--validation", validation, "-o", page, "--force"
        )
        assert code == 0, output
        html = page.read_text(encoding="utf-8")
        assert "Validation on a hand-coded sample" in html
        common = estimates.set_index("code").loc["common"]
        assert (
            f'{common["precision"]:.2f} <span class="n">[{common["precision_low"]:.2f}, '
            f"{common['precision_high']:.2f}]</span>"
        ) in html
    code, output = _invoke(
        "report",
        coded,
        "-c",
        codebook,
        "--validation",
        tmp_path / "x.xlsx",
        "-o",
        tmp_path / "r2.html",
    )
    assert code == 2 and "no such validation output" in output
    assert not (tmp_path / "r2.html").exists()

    code, output = _invoke("validate", "plan", coded, "--half-width", 0.1, "-c", codebook)
    assert code == 0, output
    assert "n_coded" in output and "Draw with --per-code" in output


def test_draw_is_deterministic_and_show_machine(
    tmp_path: Path, coded: Path, codebook: Path
) -> None:
    a = _draw(coded, codebook, tmp_path / "a.xlsx", "--seed", 2)
    b = _draw(coded, codebook, tmp_path / "b.xlsx", "--seed", 2)
    ids = [[c.value for c in load_workbook(p)["review"]["A"]] for p in (a, b)]
    assert ids[0] == ids[1]
    shown = _draw(coded, codebook, tmp_path / "shown.xlsx", "--seed", 2, "--show-machine")
    header = [c.value for c in load_workbook(shown)["review"][1]]
    assert "machine_codes" in header and "common" in header
    assert [c.value for c in load_workbook(shown)["review"]["A"]] == ids[0]


def test_per_code_larger_than_a_stratum(tmp_path: Path, coded: Path, codebook: Path) -> None:
    code, output = _invoke(
        "validate",
        "draw",
        coded,
        "-o",
        tmp_path / "s.xlsx",
        "-c",
        codebook,
        "--per-code",
        500,
        "--seed",
        1,
    )
    assert code == 0, output
    assert "is more than the stratum holds for common (coded:" in output
    assert "the whole stratum is taken" in output
    assert read_design(tmp_path / "s.xlsx").sample_size == 240


def _refused(args: list[object], message: str, out: Path) -> None:
    code, output = _invoke(*args)
    assert code == 2, output
    assert message in output, output
    assert "Traceback" not in output
    assert not out.exists()
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".trustcode-tmp-")]


def test_bad_inputs_exit_2_and_write_nothing(
    tmp_path: Path, coded: Path, codebook: Path, corpus
) -> None:  # type: ignore[no-untyped-def]
    tables, truth = corpus
    sample = _draw(coded, codebook, tmp_path / "s.xlsx", "--per-code", 10, "--seed", 5)
    done = code_by_hand(sample, tmp_path / "done.xlsx", truth)
    out = tmp_path / "est.xlsx"
    estimate = ["validate", "estimate"]

    # nothing coded
    _refused([*estimate, sample, coded, "-o", out], "nothing was coded", out)
    # a decision other than accept/reject
    pid = load_workbook(done)["review"].cell(2, 1).value
    odd = code_by_hand(sample, tmp_path / "odd.xlsx", truth, edits={(pid, "rare: decision"): "yes"})
    _refused([*estimate, odd, coded, "-o", out], "unknown decision 'yes'", out)
    # an edited design sheet
    wb = load_workbook(done)
    for row in wb[DESIGN_SHEET].iter_rows():
        if row[0].value == "common" and row[1].value == "coded":
            row[2].value = 1000
    wb.save(tmp_path / "edited.xlsx")
    _refused(
        [*estimate, tmp_path / "edited.xlsx", coded, "-o", out],
        "sheet 'design': it was edited",
        out,
    )
    # rows removed
    wb = load_workbook(done)
    wb["review"].delete_rows(3, 2)
    wb.save(tmp_path / "cut.xlsx")
    _refused(
        [*estimate, tmp_path / "cut.xlsx", coded, "-o", out], "2 drawn passage(s) are missing", out
    )
    # a coded output that changed since the draw
    changed = write_tables(
        dict(tables, codings=tables["codings"].iloc[:-1]), tmp_path / "changed", provenance={}
    )
    _refused([*estimate, done, changed, "-o", out], "changed since the draw", out)
    # an existing output without --force, and a sample target that is not a workbook
    out.write_text("keep")
    code, output = _invoke(*estimate, done, coded, "-o", out)
    assert code == 2 and "exists; pass force=True" in output and out.read_text() == "keep"
    assert "Command line: --force." in output
    _refused(
        ["validate", "draw", coded, "-o", tmp_path / "s.csv", "-c", codebook],
        "a validation sample is an Excel workbook",
        tmp_path / "s.csv",
    )
    # a bad half-width
    code, output = _invoke("validate", "plan", coded, "--half-width", 0, "-c", codebook)
    assert code == 2 and "'half-width' option of validate plan" in output
