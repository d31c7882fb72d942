"""Validation of a coded corpus: the draw, the sample workbook, the estimates and their intervals
(measured by simulation against a known truth), and the plan."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from trustcode.errors import GoldError, InputError, TrustcodeWarning, UsageError
from trustcode.io.tables import write_tables
from trustcode.pipeline import CodedDocument, tables_for
from trustcode.segment import segment
from trustcode.types import Code, Codebook, Coding, Document
from trustcode.validation import (
    CODED,
    DESIGN_SHEET,
    NOT_CODED,
    add_targets,
    draw,
    estimate,
    estimate_codes,
    machine_coding,
    make_design,
    plan,
    plan_sizes,
    read_design,
    read_estimates,
    read_sample,
)
from trustcode.validation.design import draw_sample, inclusion_probabilities
from trustcode.validation.plan import expected_sample

BOOK = Codebook(
    name="validation test codebook",
    codes=(
        Code("common", "Common", definition="Found in many passages."),
        Code("medium", "Medium", definition="Found in some passages."),
        Code("rare", "Rare", definition="Found in few passages."),
    ),
    languages=("en",),
    sha256="feed",
)
CODES = ("common", "medium", "rare")
#: per code: true share, the machine's chance to code a carrier, and a non-carrier
SPECS = ((0.35, 0.85, 0.08), (0.12, 0.7, 0.03), (0.03, 0.6, 0.004))


def _corpus(
    seed: int = 5, docs: int = 4, per_doc: int = 100
) -> tuple[dict[str, pd.DataFrame], dict[str, set[str]]]:
    """A coded corpus with a known truth: tables as a run writes them, and each passage's true
    codes."""
    rng = np.random.default_rng(seed)
    coded, truth = [], {}
    for j in range(docs):
        text = "\n\n".join(f"Passage {i} of document {j} says something." for i in range(per_doc))
        doc = Document(f"d{j}", text + "\n", language="en")
        passages = segment(doc)
        codings = []
        for p in passages:
            mine = set()
            for code, (share, sens, fpr) in zip(CODES, SPECS, strict=True):
                carrier = rng.random() < share
                if carrier:
                    mine.add(code)
                if rng.random() < (sens if carrier else fpr):
                    codings.append(
                        Coding(
                            doc.doc_id,
                            p.passage_id,
                            p.start,
                            p.end,
                            code,
                            "rule",
                            None,
                            f"{code}: rule",
                        )
                    )
            truth[p.passage_id] = mine
        coded.append(CodedDocument(doc, passages, codings))
    return tables_for(coded, CODES), truth


@pytest.fixture(scope="module")
def corpus() -> tuple[dict[str, pd.DataFrame], dict[str, set[str]]]:
    return _corpus()


@pytest.fixture
def coded(tmp_path: Path, corpus: tuple[dict[str, pd.DataFrame], dict[str, set[str]]]) -> Path:
    return write_tables(corpus[0], tmp_path / "coded", provenance={"unit": "paragraph"})


def _header(ws) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {c.value: c.column for c in ws[1]}


def code_by_hand(
    sample: Path,
    out: Path,
    truth: dict[str, set[str]],
    *,
    skip: set[str] = frozenset(),
    edits: dict | None = None,
) -> Path:  # type: ignore[type-arg]
    """Code a sample workbook as a person who knows the truth would; ``skip``: passages left
    uncoded; ``edits``: (passage id, column) -> value, written afterwards."""
    wb = load_workbook(sample)
    ws = wb["review"]
    header = _header(ws)
    for r in range(2, ws.max_row + 1):
        pid = ws.cell(r, header["passage_id"]).value
        if pid in skip:
            continue
        for code in CODES:
            on = code in truth[pid]
            ws.cell(r, header[f"{code}: decision"]).value = "accept" if on else "reject"
        ws.cell(r, header["reviewer"]).value = "ana"
    for (pid, column), value in (edits or {}).items():
        row = next(
            r for r in range(2, ws.max_row + 1) if ws.cell(r, header["passage_id"]).value == pid
        )
        ws.cell(row, header[column]).value = value
    wb.save(out)
    return out


def _quiet_draw(*args, **kwargs):  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TrustcodeWarning)
        return draw(*args, **kwargs)


# --- the draw ---------------------------------------------------------------------------------


def test_draw_covers_every_stratum_and_is_deterministic(corpus) -> None:  # type: ignore[no-untyped-def]
    tables, _truth = corpus
    coding = machine_coding(tables, CODES)
    design, rows = make_design(coding, per_code=15, seed=11)
    again, rows_again = make_design(coding, per_code=15, seed=11)
    other, rows_other = make_design(coding, per_code=15, seed=12)
    assert design == again and rows.tolist() == rows_again.tolist()
    assert rows.tolist() != rows_other.tolist()
    for k, code in enumerate(CODES):
        column = coding.machine[:, k]
        coded, not_coded = (s for s in design.strata if s.code == code)
        assert (coded.stratum, coded.passages) == (CODED, int(column.sum()))
        assert (not_coded.stratum, not_coded.passages) == (NOT_CODED, int((~column).sum()))
        # each stratum holds at least per_code sampled passages (or all of it)
        assert column[rows].sum() >= min(15, column.sum())
        assert (~column[rows]).sum() >= 15
    assert design.sample_size == len(rows) == len(set(rows.tolist()))
    assert rows.tolist() == sorted(rows.tolist())  # coded-output order, not stratum order


def test_inclusion_probabilities_match_the_draw() -> None:
    rng = np.random.default_rng(0)
    machine = rng.random((60, 2)) < np.array([0.2, 0.5])
    counts = np.zeros(60)
    for seed in range(3000):
        counts[draw_sample(machine, ["a", "b"], per_code=4, seed=seed)[0]] += 1
    expected = inclusion_probabilities(machine, 4)
    assert np.abs(counts / 3000 - expected).max() < 0.04
    assert expected_sample(machine, 4) == pytest.approx(expected.sum(), abs=0.05)


def test_hash_follows_the_coding_not_the_format(corpus, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    tables, _truth = corpus
    first = machine_coding(tables, CODES).sha256
    changed = dict(tables, codings=tables["codings"].iloc[1:])
    assert machine_coding(changed, CODES).sha256 != first
    # a workbook of the same run hashes alike
    from trustcode.io.tables import read_tables

    path = write_tables(tables, tmp_path / "coded.xlsx", provenance={})
    assert machine_coding(read_tables(path)[0], CODES).sha256 == first


def test_bad_per_code_and_seed(corpus) -> None:  # type: ignore[no-untyped-def]
    coding = machine_coding(corpus[0], CODES)
    with pytest.raises(InputError, match="'per_code' parameter.*Got 0"):
        make_design(coding, per_code=0, seed=1)
    with pytest.raises(InputError, match="'seed' parameter.*Got -1"):
        make_design(coding, per_code=5, seed=-1)


# --- the sample workbook ----------------------------------------------------------------------


def test_blind_sheet_reveals_no_machine_code(coded: Path, tmp_path: Path, corpus) -> None:  # type: ignore[no-untyped-def]
    drawn = _quiet_draw(coded, tmp_path / "sample.xlsx", codebook=BOOK, per_code=10, seed=3)
    wb = load_workbook(drawn.path)
    assert wb.sheetnames == ["review", "instructions", "codebook", "provenance", DESIGN_SHEET]
    assert all(ws.sheet_state == "visible" for ws in wb.worksheets)
    assert not list(wb.defined_names)
    ws = wb["review"]
    assert [c.value for c in ws[1]] == [
        "passage_id",
        "doc_id",
        "start",
        "end",
        "text",
        "common: decision",
        "medium: decision",
        "rare: decision",
        "added_codes",
        "reviewer",
        "note",
        "language",
    ]
    ids = [ws.cell(r, 1).value for r in range(2, ws.max_row + 1)]
    order = {p: i for i, p in enumerate(corpus[0]["passages"]["passage_id"])}
    assert ids == sorted(ids, key=order.__getitem__)  # rows in the coded output's order
    for sheet in wb.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.comment is None, (sheet.title, cell.coordinate)
                if sheet.title == "review" and cell.row > 1:
                    # only the passage itself; decisions and the rest are empty
                    assert cell.value is None or cell.column <= 5 or cell.column == 12
                elif sheet.title != "review":
                    # no passage is named anywhere else
                    assert cell.value not in order, (sheet.title, cell.coordinate)
    # the design sheet holds aggregates only, and is locked
    assert wb[DESIGN_SHEET].protection.sheet
    assert read_design(drawn.path) == drawn.design


def test_show_machine_shows_the_codes(coded: Path, tmp_path: Path, corpus) -> None:  # type: ignore[no-untyped-def]
    drawn = _quiet_draw(
        coded, tmp_path / "sample.xlsx", codebook=BOOK, per_code=10, seed=3, show_machine=True
    )
    ws = load_workbook(drawn.path)["review"]
    header = _header(ws)
    assert "machine_codes" in header and "common" in header
    codings = corpus[0]["codings"]
    pid = ws.cell(2, 1).value
    machine = sorted(codings.loc[codings["passage_id"] == pid, "code"])
    shown = ws.cell(2, header["machine_codes"]).value or ""
    assert sorted(c for c in shown.split("; ") if c) == machine
    instructions = " ".join(str(c.value) for c in load_workbook(drawn.path)["instructions"]["A"])
    assert "SHOWS the machine's codes" in instructions


def test_per_code_larger_than_a_stratum_takes_it_whole(coded: Path, tmp_path: Path) -> None:
    with pytest.warns(TrustcodeWarning, match=r"more than the stratum holds for rare \(coded: "):
        drawn = draw(coded, tmp_path / "sample.xlsx", codebook=BOOK, per_code=40, seed=1)
    rare = next(s for s in drawn.design.strata if (s.code, s.stratum) == ("rare", CODED))
    assert rare.drawn == rare.passages < 40


def test_read_sample_round_trip(coded: Path, tmp_path: Path, corpus) -> None:  # type: ignore[no-untyped-def]
    drawn = _quiet_draw(coded, tmp_path / "sample.xlsx", codebook=BOOK, per_code=10, seed=3)
    first = drawn.design.sample_size
    truth = corpus[1]
    wb = load_workbook(drawn.path)
    skipped = {wb["review"].cell(2, 1).value}
    done = code_by_hand(drawn.path, tmp_path / "done.xlsx", truth, skip=skipped)
    sample = read_sample(done)
    assert len(sample.passage_ids) == first and sample.checked.sum() == first - 1
    for pid, on, codes in zip(sample.passage_ids, sample.checked, sample.person, strict=True):
        if on:
            assert {c for c, yes in zip(CODES, codes, strict=True) if yes} == truth[pid]


# --- the estimates ----------------------------------------------------------------------------


def test_hand_computed_small_case() -> None:
    # 10 passages coded, 90 not; 5 checked in each: 4 and 1 carry the code
    machine = np.array([True] * 10 + [False] * 90)[:, None]
    checked = np.array([0, 1, 2, 3, 4, 10, 11, 12, 13, 14])
    person = np.array([1, 1, 1, 1, 0, 1, 0, 0, 0, 0], dtype=bool)[:, None]
    inclusion = np.array([5 / 10] * 5 + [5 / 90] * 5)
    row = estimate_codes(machine, ["a"], checked, person, inclusion).estimates.iloc[0]
    # unchecked carriers: 5 * 4/5 = 4 coded, 85 * 1/5 = 17 not coded
    assert row["precision"] == 0.8  # (4 + 4) / 10
    assert row["prevalence"] == 0.26  # (8 + 18) / 100
    assert row["recall"] == round(8 / 26, 4)
    assert row["f1"] == round(2 * 0.8 * (8 / 26) / (0.8 + 8 / 26), 4)
    assert row["machine_prevalence"] == 0.1
    # kappa on the sample: agreement 8/10, chance 0.5 * 0.5 + 0.5 * 0.5
    assert row["kappa"] == 0.6
    # precision: 4 + BetaBinomial(5, 4.5, 1.5), whose 2.5 % and 97.5 % points are 1 and 5
    assert (row["precision_low"], row["precision_high"]) == (0.5, 0.9)
    assert row["checked"] == 10


def test_a_census_is_exact_and_boundaries_stay_inside() -> None:
    machine = np.array([True] * 4 + [False] * 6)[:, None]
    person = np.array([1, 1, 1, 0, 0, 0, 0, 0, 0, 0], dtype=bool)[:, None]
    row = estimate_codes(machine, ["a"], np.arange(10), person, np.ones(10)).estimates.iloc[0]
    assert (row["precision_low"], row["precision"], row["precision_high"]) == (0.75, 0.75, 0.75)
    assert (row["recall_low"], row["recall_high"]) == (1.0, 1.0)
    # a sample where every checked coded passage carries the code cannot rule out precision 1
    machine = np.array([True] * 1000 + [False] * 1000)[:, None]
    checked = np.r_[np.arange(20), 1000 + np.arange(20)]
    person = np.r_[np.ones(20), np.zeros(20)].astype(bool)[:, None]
    row = estimate_codes(machine, ["a"], checked, person, np.full(40, 0.02)).estimates.iloc[0]
    assert row["precision_high"] == 1.0 and row["precision_low"] < 0.95
    assert row["recall_high"] == 1.0 and row["prevalence_high"] < 0.6


def test_kappa_agrees_with_scikit_learn() -> None:
    from sklearn.metrics import cohen_kappa_score

    from trustcode.validation.estimate import _kappa

    rng = np.random.default_rng(4)
    for _ in range(20):
        a, b = rng.random(30) < 0.4, rng.random(30) < 0.5
        assert _kappa(a, b) == pytest.approx(cohen_kappa_score(a, b))


def _coverage(reps: int) -> tuple[dict[tuple[str, str], float], dict[tuple[str, str], float]]:
    """Simulated corpora with a known truth: the share of draws whose interval covers the true
    precision, recall and prevalence, per code and quantity, and the median widths."""
    specs = {  # share, machine's chance on a carrier, on a non-carrier
        "common": (0.30, 0.8, 0.05),
        "medium": (0.08, 0.6, 0.02),
        "rare": (0.01, 0.5, 0.002),
        "near_one": (0.6, 0.99, 0.3),  # recall close to 1
        "rare_precise": (0.02, 0.98, 0.0005),  # precision close to 1
    }
    codes = list(specs)
    hits: dict[tuple[str, str], list[bool]] = {}
    widths: dict[tuple[str, str], list[float]] = {}
    for r in range(reps):
        rng = np.random.default_rng([2026, r])
        n = 1500
        truth = np.column_stack([rng.random(n) < s for s, _, _ in specs.values()])
        chance = np.where(truth, [v[1] for v in specs.values()], [v[2] for v in specs.values()])
        machine = rng.random((n, len(codes))) < chance
        rows, _ = draw_sample(machine, codes, per_code=20, seed=r)
        est = estimate_codes(
            machine,
            codes,
            rows,
            truth[rows],
            inclusion_probabilities(machine, 20)[rows],
            seed=r,
            draws=2000,
        ).estimates.set_index("code")
        for k, code in enumerate(codes):
            m, y = machine[:, k], truth[:, k]
            true = {"prevalence": y.mean()}
            if m.any():
                true["precision"] = (m & y).sum() / m.sum()
            if y.any():
                true["recall"] = (m & y).sum() / y.sum()
            for quantity, value in true.items():
                low, high = est.loc[code, f"{quantity}_low"], est.loc[code, f"{quantity}_high"]
                hits.setdefault((code, quantity), []).append(low <= value <= high)
                widths.setdefault((code, quantity), []).append(high - low)
    return (
        {k: float(np.mean(v)) for k, v in hits.items()},
        {k: float(np.median(v)) for k, v in widths.items()},
    )


def test_intervals_keep_their_coverage_in_simulation() -> None:
    coverage, widths = _coverage(300)
    assert len(coverage) == 15
    low = {key: round(value, 3) for key, value in coverage.items() if value < 0.93}
    assert not low, f"coverage below 93 %: {low}"
    # and the intervals are informative, not [0, 1]
    assert widths[("common", "precision")] < 0.25
    assert widths[("near_one", "recall")] < 0.1


def test_targets() -> None:
    frame = pd.DataFrame({"precision_low": [0.8, 0.6, np.nan], "recall_low": [0.7, 0.9, 0.9]})
    assert add_targets(frame, precision=0.7)["meets_target"].tolist() == [True, False, False]
    assert add_targets(frame, recall=0.8)["meets_target"].tolist() == [False, True, True]
    assert "meets_target" not in add_targets(frame)
    with pytest.raises(UsageError, match="'target-precision'.*Got 1.5"):
        add_targets(frame, precision=1.5)


# --- the whole loop on files ------------------------------------------------------------------


def test_estimate_from_a_coded_sample(coded: Path, tmp_path: Path, corpus) -> None:  # type: ignore[no-untyped-def]
    tables, truth = corpus
    drawn = _quiet_draw(coded, tmp_path / "sample.xlsx", codebook=BOOK, per_code=20, seed=8)
    done = code_by_hand(drawn.path, tmp_path / "done.xlsx", truth)
    result = estimate(done, coded, target_precision=0.5, target_recall=0.5)
    est = result.estimates.set_index("code")
    assert list(result.estimates.columns[:14]) == [
        "code",
        "checked",
        "precision",
        "precision_low",
        "precision_high",
        "recall",
        "recall_low",
        "recall_high",
        "f1",
        "prevalence",
        "prevalence_low",
        "prevalence_high",
        "machine_prevalence",
        "kappa",
    ]
    assert "meets_target" in est
    coding = machine_coding(tables, CODES)
    for k, code in enumerate(CODES):
        m = coding.machine[:, k]
        y = np.array([code in truth[p] for p in coding.passages["passage_id"]])
        assert est.loc[code, "machine_prevalence"] == round(m.mean(), 4)
        for quantity in ("precision", "recall", "prevalence"):
            low, point, high = (est.loc[code, f"{quantity}{s}"] for s in ("_low", "", "_high"))
            assert low <= point <= high
        assert est.loc[code, "checked"] == drawn.design.sample_size
    # the rare code's coded stratum was taken whole: its precision is known exactly
    m = coding.machine[:, 2]
    y = np.array(["rare" in truth[p] for p in coding.passages["passage_id"]])
    assert est.loc["rare", "precision"] == round((m & y).sum() / m.sum(), 4)
    strata = result.strata.set_index(["code", "stratum"])
    assert strata.loc[("rare", CODED), "checked"] == m.sum()


def test_estimate_refusals(coded: Path, tmp_path: Path, corpus) -> None:  # type: ignore[no-untyped-def]
    tables, truth = corpus
    drawn = _quiet_draw(coded, tmp_path / "sample.xlsx", codebook=BOOK, per_code=10, seed=8)
    with pytest.raises(InputError, match="nothing was coded"):
        estimate(drawn.path, coded)
    done = code_by_hand(drawn.path, tmp_path / "done.xlsx", truth)
    other = dict(tables, codings=tables["codings"].iloc[2:])
    changed = write_tables(other, tmp_path / "changed", provenance={})
    with pytest.raises(InputError, match="drawn from another coded output.*changed since"):
        estimate(done, changed)
    pid = load_workbook(done)["review"].cell(3, 1).value
    bad = code_by_hand(
        drawn.path, tmp_path / "bad.xlsx", truth, edits={(pid, "medium: decision"): "maybe"}
    )
    with pytest.raises(
        GoldError,
        match=r"row 3, column G \('medium: decision'\): unknown "
        "decision 'maybe'",
    ):
        estimate(bad, coded)


def test_rows_added_or_removed_are_refused(coded: Path, tmp_path: Path, corpus) -> None:  # type: ignore[no-untyped-def]
    tables, truth = corpus
    drawn = _quiet_draw(coded, tmp_path / "sample.xlsx", codebook=BOOK, per_code=10, seed=8)
    done = code_by_hand(drawn.path, tmp_path / "done.xlsx", truth)
    wb = load_workbook(done)
    removed = wb["review"].cell(4, 1).value
    wb["review"].delete_rows(4)
    wb.save(tmp_path / "cut.xlsx")
    with pytest.raises(InputError, match=f"1 drawn passage.*missing \\({removed}\\)"):
        estimate(tmp_path / "cut.xlsx", coded)
    wb = load_workbook(done)
    ws = wb["review"]
    drawn_ids = {ws.cell(r, 1).value for r in range(2, ws.max_row + 1)}
    extra = next(p for p in tables["passages"]["passage_id"] if p not in drawn_ids)
    last = ws.max_row + 1
    for column, value in enumerate((extra, "d0", 0, 5, "Some text."), 1):
        ws.cell(last, column).value = value
    wb.save(tmp_path / "grown.xlsx")
    with pytest.raises(InputError, match=f"1 row\\(s\\) that were not drawn \\({extra}\\)"):
        estimate(tmp_path / "grown.xlsx", coded)


def test_an_edited_design_is_refused(coded: Path, tmp_path: Path, corpus) -> None:  # type: ignore[no-untyped-def]
    drawn = _quiet_draw(coded, tmp_path / "sample.xlsx", codebook=BOOK, per_code=10, seed=8)
    done = code_by_hand(drawn.path, tmp_path / "done.xlsx", corpus[1])
    wb = load_workbook(done)
    ws = wb[DESIGN_SHEET]
    for row in ws.iter_rows():
        if row[0].value == "seed":
            row[1].value = 9
    wb.save(tmp_path / "edited.xlsx")
    with pytest.raises(InputError, match="sheet 'design': it was edited"):
        estimate(tmp_path / "edited.xlsx", coded)
    wb = load_workbook(done)
    del wb[DESIGN_SHEET]
    wb.save(tmp_path / "nodesign.xlsx")
    with pytest.raises(InputError, match="not a validation sample: it has no 'design' sheet"):
        estimate(tmp_path / "nodesign.xlsx", coded)


def test_plan_sizes_by_hand() -> None:
    machine = np.array([True] * 1000 + [False] * 9000)[:, None]
    row = plan_sizes(machine, ["a"], half_width=0.1).iloc[0]
    # 1.96^2 / 4 / 0.1^2 = 96.04, corrected for a stratum of 1000: 87.7 -> 88
    assert (row["coded_passages"], row["not_coded_passages"], row["n_coded"]) == (1000, 9000, 88)
    # the rest of the prevalence's variance budget, at weight 0.9, for the other stratum
    z = 1.959963984540054
    left = (0.1 / z) ** 2 - 0.1**2 * 0.25 / 88 * (1 - 88 / 1000)
    n0 = 0.9**2 * 0.25 / left
    assert row["n_not_coded"] == int(np.ceil(n0 / (1 + (n0 - 1) / 9000)))
    with pytest.raises(UsageError, match="'half-width'.*Got 0.7"):
        plan_sizes(machine, ["a"], half_width=0.7)


def test_plan_on_files(coded: Path) -> None:
    table, per_code, expected = plan(coded, half_width=0.15, codebook=BOOK)
    assert list(table["code"]) == list(CODES)
    assert per_code == max(table["n_coded"].max(), table["n_not_coded"].max())
    assert 0 < expected <= 400


def test_read_estimates(tmp_path: Path) -> None:
    from trustcode.io.tables import write_frames
    from trustcode.validation import ESTIMATE_COLUMNS

    frame = pd.DataFrame([["a", *range(13)]], columns=list(ESTIMATE_COLUMNS))
    for target in (tmp_path / "est.xlsx", tmp_path / "est"):
        write_frames({"estimates": frame}, target)
        assert read_estimates(target)["code"].tolist() == ["a"]
    with pytest.raises(InputError, match="no such validation output"):
        read_estimates(tmp_path / "none.xlsx")
