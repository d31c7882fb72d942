"""Writing any named DataFrames (a comparison's, an evaluation's) as a report of tables."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from trustcode.atomic import atomic_output
from trustcode.errors import OutputError

from .cells import CSV_ESCAPE, CSV_ESCAPE_KEY, escape_csv_frame
from .provenance import provenance_json, provenance_rows
from .targets import PROVENANCE_FILE, PathLike, check_output
from .xlsx import check_excel_limits, save_workbook, write_sheet


def write_frames(
    frames: Mapping[str, pd.DataFrame],
    path: PathLike,
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

            check_excel_limits(frames, target)
            wb = Workbook(write_only=True)
            for name, frame in frames.items():
                write_sheet(wb, name[:31], frame)
            if provenance is not None:
                write_sheet(wb, "Provenance", provenance_rows(provenance))
            save_workbook(wb, tmp)
        else:
            tmp.mkdir()
            for name, frame in frames.items():
                out = escape_csv_frame(frame)
                out.to_csv(tmp / f"{name}.csv", index=False, lineterminator="\n")
            if provenance is not None:
                marked = {**provenance, CSV_ESCAPE_KEY: CSV_ESCAPE}
                (tmp / PROVENANCE_FILE).write_text(provenance_json(marked) + "\n", "utf-8")
    return target
