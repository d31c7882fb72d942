"""The validation's file-to-file steps behind ``trustcode validate``: draw a sample from a coded
output, estimate from a coded sample, plan a sample's size.

>>> sample = draw("coded.xlsx", "sample.xlsx", per_code=20, seed=7)  # doctest: +SKIP
>>> result = estimate("sample.xlsx", "coded.xlsx")  # doctest: +SKIP
"""

from __future__ import annotations

import os
import secrets
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import InputError, TrustcodeWarning
from ..types import Codebook
from .design import (
    Design,
    MachineCoding,
    draw_sample,
    inclusion_probabilities,
    machine_coding,
    make_design,
)
from .estimate import ValidationResult, add_targets, estimate_codes
from .plan import expected_sample, plan_sizes
from .sheet import check_rows, check_sample_target, design_error, read_sample, write_sample

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class DrawnSample:
    """What :func:`draw` wrote: the workbook's path and its design."""

    path: Path
    design: Design


def _book(codebook: Codebook | PathLike | None) -> Codebook:
    from ..codebook import load_codebook

    return codebook if isinstance(codebook, Codebook) else load_codebook(codebook)


def _coded(
    path: PathLike, codes: tuple[str, ...] | list[str]
) -> tuple[dict[str, pd.DataFrame], dict[str, Any], MachineCoding]:
    from ..io.tables import read_tables

    tables, provenance = read_tables(path)
    return tables, provenance, machine_coding(tables, codes)


def draw(
    coded: PathLike,
    output: PathLike,
    *,
    codebook: Codebook | PathLike | None = None,
    per_code: int = 20,
    seed: int | None = None,
    show_machine: bool = False,
    force: bool = False,
) -> DrawnSample:
    """Draw a stratified random sample of a coded output's passages and write it as a sample
    workbook to code by hand (blind unless ``show_machine``). Without ``seed`` one is chosen
    and stored in the workbook; the same seed and coded output give the same sample.

    >>> draw("coded.xlsx", "sample.xlsx", per_code=20, seed=7).design.sample_size  # doctest: +SKIP
    183
    """
    check_sample_target(output, force=force)
    book = _book(codebook)
    codes = [c.id for c in book.leaf_codes]
    tables, provenance, coding = _coded(coded, codes)
    design, rows = make_design(
        coding,
        per_code=per_code,
        seed=secrets.randbelow(2**32) if seed is None else seed,
        show_machine=show_machine,
    )
    small = [
        f"{s.code} ({s.stratum}: {s.passages})" for s in design.strata if 0 < s.passages < per_code
    ]
    if small:
        warnings.warn(
            f"per_code={per_code} is more than the stratum holds for {', '.join(small)}; the "
            "whole stratum is taken (its estimate there is exact).",
            TrustcodeWarning,
            stacklevel=2,
        )
    empty = [f"{s.code} ({s.stratum})" for s in design.strata if s.passages == 0]
    if empty:
        warnings.warn(
            f"no passage in the stratum of {', '.join(empty)}: the machine gave that code to "
            "every passage or to none, so precision (or the misses) cannot be estimated there.",
            TrustcodeWarning,
            stacklevel=2,
        )
    path = write_sample(
        coding,
        rows,
        design,
        output,
        codebook=book,
        tables=tables,
        provenance=provenance,
        force=force,
    )
    return DrawnSample(path, design)


def estimate(
    sample: PathLike,
    coded: PathLike,
    *,
    target_precision: float | None = None,
    target_recall: float | None = None,
) -> ValidationResult:
    """Estimate each code's precision, recall and prevalence in the whole coded output, with
    95 % intervals, from a sample workbook a person coded. Refuses a sample drawn from another
    coded output, one whose rows were changed and one in which nothing was coded.

    >>> estimate("sample.xlsx", "coded.xlsx").estimates  # doctest: +SKIP
    """
    p = Path(sample)
    coded_sample = read_sample(p)
    design = coded_sample.design
    _tables, _provenance, coding = _coded(coded, design.codes)
    if coding.sha256 != design.coded_sha256:
        raise InputError(
            f"{p} was drawn from another coded output, or {coded} changed since the draw (its "
            "passages or codes differ). Give the coded output the sample was drawn from, or "
            "draw a new sample from this one."
        )
    rows, strata = draw_sample(
        coding.machine, design.codes, per_code=design.per_code, seed=design.seed
    )
    if strata != design.strata:
        raise design_error(p, "its strata do not match a new draw from the coded output")
    ids = coding.passages["passage_id"].astype(str).tolist()
    check_rows(p, coded_sample, [ids[i] for i in rows])
    if not coded_sample.checked.any():
        raise InputError(
            f"{p}: nothing was coded: every decision cell is empty. Code the sample (accept or "
            "reject per code) and save it before estimating."
        )
    position = {pid: i for i, pid in enumerate(ids)}
    checked_rows = [
        position[pid]
        for pid, on in zip(coded_sample.passage_ids, coded_sample.checked, strict=True)
        if on
    ]
    import numpy as np

    checked = np.array(checked_rows, dtype=np.int64)
    # rows left uncoded at random thin every passage's chance alike
    inclusion = inclusion_probabilities(coding.machine, design.per_code)[checked]
    inclusion = inclusion * (len(checked) / len(rows))
    result = estimate_codes(
        coding.machine,
        design.codes,
        checked,
        coded_sample.person[coded_sample.checked],
        inclusion,
        seed=design.seed,
    )
    estimates = add_targets(result.estimates, precision=target_precision, recall=target_recall)
    from .. import __version__

    provenance = {
        "trustcode_version": __version__,
        "sample": str(p),
        "coded": str(coded),
        "coded_sha256": design.coded_sha256,
        "seed": design.seed,
        "per_code": design.per_code,
        "checked": len(checked),
        "method": "inclusion-weighted finite-population Jeffreys (beta-binomial) posterior, "
        "Monte Carlo percentiles, 95 %",
    }
    return ValidationResult(estimates, result.strata, provenance)


def validation_frames(result: ValidationResult) -> dict[str, pd.DataFrame]:
    """The sheets an estimate writes: ``estimates`` and ``strata``."""
    return {"estimates": result.estimates, "strata": result.strata}


def plan(
    coded: PathLike,
    *,
    half_width: float = 0.1,
    codebook: Codebook | PathLike | None = None,
) -> tuple[pd.DataFrame, int, float]:
    """The passages to code per code and stratum for intervals of ``half_width``; also the
    ``--per-code`` that covers every stratum and how many passages such a draw takes.

    >>> table, per_code, expected = plan("coded.xlsx", half_width=0.1)  # doctest: +SKIP
    """
    book = _book(codebook)
    codes = [c.id for c in book.leaf_codes]
    _tables, _provenance, coding = _coded(coded, codes)
    table = plan_sizes(coding.machine, codes, half_width=half_width)
    per_code = int(max(table["n_coded"].max(), table["n_not_coded"].max(), 1))
    return table, per_code, expected_sample(coding.machine, per_code)


def read_estimates(path: PathLike) -> pd.DataFrame:
    """The ``estimates`` table an estimate wrote (a workbook or a CSV folder), for the report.

    >>> read_estimates("estimates.xlsx").columns[0]  # doctest: +SKIP
    'code'
    """
    from .estimate import ESTIMATE_COLUMNS

    p = Path(path)
    if p.is_dir():
        file = p / "estimates.csv"
        if not file.is_file():
            raise InputError(
                f"{p} holds no estimates.csv; give the output of 'trustcode validate estimate'."
            )
        frame = pd.read_csv(file)
    elif p.suffix.lower() == ".xlsx" and p.is_file():
        try:
            frame = pd.read_excel(p, sheet_name="estimates")
        except ValueError:
            raise InputError(
                f"{p} has no 'estimates' sheet; give the output of 'trustcode validate estimate'."
            ) from None
    else:
        raise InputError(
            f"{p}: no such validation output; give the .xlsx or folder 'trustcode "
            "validate estimate' wrote."
        )
    missing = [c for c in ESTIMATE_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(
            f"{p}: the estimates lack column(s) {', '.join(missing)}; give the "
            "output of 'trustcode validate estimate'."
        )
    frame["code"] = frame["code"].astype(str)
    return frame
