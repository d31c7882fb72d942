"""The .xlsx workbook: Excel's limits, styled sheets, writing and reading a workbook."""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from trustcode.atomic import close_quietly, remove_quietly
from trustcode.errors import InputError, OutputError, TrustcodeWarning
from trustcode.types import TABLE_NAMES, Codebook

from .cells import is_formula_like
from .contract import as_text, finish_read, is_missing
from .provenance import provenance_from_rows, provenance_rows, warn_no_provenance

EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_COLUMNS = 16_384
EXCEL_MAX_CELL = 32_767


def _font_colour(hex_rgb: str) -> str:
    """Black or white, whichever reads better on a fill of ``hex_rgb`` (WCAG luminance)."""
    channels = [int(hex_rgb[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return "FF000000" if luminance > 0.179 else "FFFFFFFF"


def code_styles(codebook: Codebook | None) -> dict[str, tuple[Any, str]]:
    """Code id -> (cell fill, font colour) for each code with a ``#rrggbb`` colour: how the
    xlsx sheets (and the review workbooks) show a code.

    >>> from trustcode.types import Code
    >>> book = Codebook("cb", (Code("a", "A", colour="#1f3b73"), Code("b", "B", colour="#ffe680")))
    >>> {code: font for code, (_fill, font) in code_styles(book).items()}  # dark fill, light text
    {'a': 'FFFFFFFF', 'b': 'FF000000'}
    """
    from openpyxl.styles import PatternFill

    styles: dict[str, tuple[Any, str]] = {}
    for code in codebook.codes if codebook is not None else ():
        if re.fullmatch(r"#[0-9a-fA-F]{6}", code.colour or ""):
            rgb = code.colour[1:].upper()
            fill = PatternFill(fill_type="solid", fgColor="FF" + rgb)
            styles[code.id] = (fill, _font_colour(rgb))
    return styles


def _codebook_frame(codebook: Codebook) -> pd.DataFrame:
    rows = [
        (
            c.id,
            c.parent or "",
            c.label,
            c.definition,
            c.include,
            c.exclude,
            c.colour,
            c.combine,
            len(c.rules),
        )
        for c in codebook.codes
    ]
    columns = [
        "id",
        "parent",
        "label",
        "definition",
        "include",
        "exclude",
        "colour",
        "combine",
        "rules",
    ]
    return pd.DataFrame(rows, columns=columns, dtype="object")


def check_excel_rows(name: str, rows: int, path: Path) -> None:
    if rows + 1 > EXCEL_MAX_ROWS:
        raise OutputError(
            f"cannot write {path}: table {name} has {rows:,} rows, more than an Excel sheet "
            f"holds ({EXCEL_MAX_ROWS - 1:,} below the header); write a .parquet or CSV folder "
            "instead (e.g. give the output path without suffix)."
        )


def check_excel_limits(frames: Mapping[str, pd.DataFrame], path: Path) -> None:
    for name, frame in frames.items():
        check_excel_rows(name, len(frame), path)
        if frame.shape[1] > EXCEL_MAX_COLUMNS:
            raise OutputError(
                f"cannot write {path}: table {name} has {frame.shape[1]:,} columns, more than an "
                "Excel sheet holds; write a .parquet or CSV folder instead."
            )
        for column in frame.columns:
            if frame[column].dtype == "str" or frame[column].dtype == object:
                lengths = frame[column].map(lambda v: len(v) if isinstance(v, str) else 0)
                if len(lengths) and lengths.max() > EXCEL_MAX_CELL:
                    row = int(lengths.to_numpy().argmax()) + 1
                    raise OutputError(
                        f"cannot write {path}: table {name}, column '{column}', row {row} holds "
                        f"{lengths.max():,} characters, more than an Excel cell holds "
                        f"({EXCEL_MAX_CELL:,}); write a .parquet or CSV folder instead."
                    )


def write_sheet(
    wb: Any,
    title: str,
    frame: pd.DataFrame,
    *,
    header_styles: Mapping[str, tuple[Any, str]] | None = None,
    cell_styles: Mapping[str, Mapping[str, tuple[Any, str]]] | None = None,
) -> None:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    header_styles = header_styles or {}
    cell_styles = cell_styles or {}
    ws = wb.create_sheet(title)
    columns = [str(c) for c in frame.columns]
    last = get_column_letter(max(len(columns), 1))
    # write-only sheets take column widths, panes and filters before the first row
    wrapped = set()
    sample = frame.head(1000)
    for i, column in enumerate(columns, 1):
        content = sample.iloc[:, i - 1].map(lambda v: len(as_text(v))).max() if len(sample) else 0
        if int(content) > 60:
            wrapped.add(column)
        width = min(max(len(column) + 4, int(content) + 2, 6), 60)
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{last}{len(frame) + 1}"

    header = []
    for column in columns:
        cell = WriteOnlyCell(ws, value=column)
        cell.data_type = "s"
        cell.quotePrefix = is_formula_like(column)
        cell.font = Font(bold=True)
        if column in header_styles:
            fill, colour = header_styles[column]
            cell.fill, cell.font = fill, Font(bold=True, color=colour)
        header.append(cell)
    ws.append(header)

    wrap = Alignment(wrap_text=True, vertical="top")
    fonts = {
        colour: Font(color=colour)
        for _, colour in (s for styles in cell_styles.values() for s in styles.values())
    }
    replaced = 0
    values = [frame.iloc[:, i].tolist() for i in range(len(columns))]
    for row in zip(*values, strict=True):
        out: list[Any] = []
        for column, value in zip(columns, row, strict=True):
            if is_missing(value):
                out.append(None)
                continue
            styled = column in wrapped or (column in cell_styles and value in cell_styles[column])
            formula_like = False
            if isinstance(value, str):
                if ILLEGAL_CHARACTERS_RE.search(value):
                    value, n = ILLEGAL_CHARACTERS_RE.subn("\ufffd", value)
                    replaced += n
                # a text starting like a formula stays text, exactly, even when edited
                formula_like = is_formula_like(value)
                styled = styled or formula_like
            if not styled:
                out.append(value)
                continue
            cell = WriteOnlyCell(ws, value=value)
            if isinstance(value, str):
                cell.data_type = "s"
            if formula_like:
                cell.quotePrefix = True
            if column in wrapped:
                cell.alignment = wrap
            if column in cell_styles and value in cell_styles[column]:
                fill, colour = cell_styles[column][value]
                cell.fill, cell.font = fill, fonts[colour]
            out.append(cell)
        ws.append(out)
    if replaced:
        warnings.warn(
            f"sheet {title}: {replaced} control character(s) that xlsx cannot hold were replaced "
            "by U+FFFD; write .parquet or CSV to keep the texts exact.",
            TrustcodeWarning,
            stacklevel=4,
        )


def write_xlsx(
    file: Path,
    frames: Mapping[str, pd.DataFrame],
    provenance: Mapping[str, Any],
    codebook: Codebook | None,
) -> None:
    from openpyxl import Workbook

    styles = code_styles(codebook)
    wb = Workbook(write_only=True)
    for name in TABLE_NAMES:
        frame = frames[name]
        if name == "matrix":
            write_sheet(wb, name, frame, header_styles=styles)
        elif name == "codings":
            write_sheet(wb, name, frame, cell_styles={"code": styles})
        else:
            write_sheet(wb, name, frame)
    if codebook is not None:
        write_sheet(wb, "Codebook", _codebook_frame(codebook), cell_styles={"id": styles})
    write_sheet(wb, "Provenance", provenance_rows(provenance))
    save_workbook(wb, file)


def save_workbook(wb: Any, file: Path) -> None:
    """Save an openpyxl workbook to ``file``, leaving nothing open if the save fails.

    ``Workbook.save`` leaves its zip archive open when a write fails; the garbage collector
    then closes it, which writes to the full disk again and prints a traceback ("Exception
    ignored in ZipFile.__del__"). Here the archive is ours and is closed on every path, and the
    temporary files of write-only sheets are removed.
    """
    import datetime
    import zipfile

    from openpyxl.writer.excel import ExcelWriter

    if wb.write_only and not wb.worksheets:
        wb.create_sheet()
    archive = None
    try:
        archive = zipfile.ZipFile(file, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
        # what Workbook.save sets before writing
        wb.properties.modified = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
        ExcelWriter(wb, archive).save()
    except BaseException:
        close_quietly(archive)
        _discard_sheet_files(wb)
        raise


def _discard_sheet_files(wb: Any) -> None:
    """Close the write-only sheets a failed save left open and remove their temporary files
    (openpyxl keeps each such sheet's rows in a file of its own until the save)."""
    if not wb.write_only:
        return
    for ws in wb.worksheets:
        if not ws.closed:
            close_quietly(ws)
        out = getattr(getattr(ws, "_writer", None), "out", None)
        if isinstance(out, str):
            remove_quietly(Path(out))


def read_xlsx(path: Path) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged or foreign file
        raise InputError(f"{path}: not a readable .xlsx workbook ({exc}).") from None
    try:
        missing = [n for n in TABLE_NAMES if n not in wb.sheetnames]
        if missing:
            raise InputError(
                f"{path} is not a trustcode output: it lacks the sheet(s) {', '.join(missing)} "
                f"(found {', '.join(wb.sheetnames)})."
            )
        tables = {}
        for name in TABLE_NAMES:
            rows = list(wb[name].iter_rows(values_only=True))
            header = list(rows[0]) if rows else []
            while header and header[-1] is None:
                header.pop()
            width = len(header)
            data = [tuple(r[:width]) + (None,) * (width - len(r)) for r in rows[1:]]
            data = [r for r in data if any(v is not None for v in r)]
            frame = pd.DataFrame(data, columns=[as_text(h) for h in header], dtype="object")
            tables[name] = finish_read(frame, name, f"{path}, sheet {name}", extras_as_text=True)
        provenance: dict[str, Any] = {}
        if "Provenance" in wb.sheetnames:
            rows = list(wb["Provenance"].iter_rows(min_row=2, max_col=3, values_only=True))
            provenance = provenance_from_rows(
                [tuple(r) + (None,) * (3 - len(r)) for r in rows], str(path)
            )
        else:
            warn_no_provenance(path)
    finally:
        wb.close()
    return tables, provenance
