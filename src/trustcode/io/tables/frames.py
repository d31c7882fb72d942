"""Writing any named DataFrames (a comparison's, an evaluation's) as a report of tables."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from trustcode.atomic import atomic_output
from trustcode.errors import OutputError

from .cells import CSV_ESCAPE, CSV_ESCAPE_KEY, _escape_csv_frame
from .provenance import _provenance_json, _provenance_rows
from .targets import PROVENANCE_FILE, _PathLike, check_output
from .xlsx import _check_excel_limits, _write_sheet, save_workbook


def write_frames(
    frames: Mapping[str, pd.DataFrame],
    path: _PathLike,
    *,
    force: bool = False,
    provenance: Mapping[str, Any] | None = None,
) -> Path:
    """Write any named DataFrames (a comparison's, an evaluation's) as a report of tables.

    ``.xlsx``: one sheet per frame (header frozen, filters on, widths set), plus a Provenance
    sheet when given; otherwise a folder with one CSV per frame (and ``provenance.json``).
    Written to a temporary output and renamed into place, like :func:`write_tables`.

    >>> write_frames({"per_code": frame}, "agreement.xlsx")  # doctest: +SKIP
    PosixPath('agreement.xlsx')
    """
    target = Path(path)
    fmt = "xlsx" if target.suffix.lower() == ".xlsx" else "csv"
    if target.suffix and fmt == "csv":
        raise OutputError(
            f"{target}: unknown output format '{target.suffix}'. Expected a name ending in .xlsx "
            f"(one workbook) or a name without suffix (a folder of CSV files, e.g. "
            f"'{target.with_suffix('')}')."
        )
    check_output(target, force=force, tables=frames)
    with atomic_output(target, suffix=target.suffix) as tmp:
        if fmt == "xlsx":
            from openpyxl import Workbook

            _check_excel_limits(frames, target)
            wb = Workbook(write_only=True)
            for name, frame in frames.items():
                _write_sheet(wb, name[:31], frame)
            if provenance is not None:
                _write_sheet(wb, "Provenance", _provenance_rows(provenance))
            save_workbook(wb, tmp)
        else:
            tmp.mkdir()
            for name, frame in frames.items():
                out = _escape_csv_frame(frame)
                out.to_csv(tmp / f"{name}.csv", index=False, lineterminator="\n")
            if provenance is not None:
                marked = {**provenance, CSV_ESCAPE_KEY: CSV_ESCAPE}
                (tmp / PROVENANCE_FILE).write_text(_provenance_json(marked) + "\n", "utf-8")
    return target
