"""Write and read the coded tables of a run: one .xlsx workbook, or a folder of CSV, Parquet or
JSON Lines files, always with the run's provenance.

The output format follows the path (:func:`output_format`). Every writer works in a temporary
file or folder beside the target (``.trustcode-tmp-…``) and renames it into place at the end, so
a failed run leaves nothing partial behind and never damages an earlier output.

Column dtypes are the contract's: ids and texts are strings (a missing text is written as the
empty string), offsets and counts ``int64``, ``score`` and ``share`` ``float64`` (NaN for none),
matrix code columns ``int64``. Extra (metadata) columns come back as strings from CSV, JSON Lines
and xlsx; Parquet keeps their types.
"""

from __future__ import annotations

import json
import math
import os
import re
import secrets
import shutil
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

import pandas as pd

from trustcode.errors import InputError, OutputError, TrustcodeError, TrustcodeWarning
from trustcode.types import (
    CODING_COLUMNS,
    DOCUMENT_COLUMNS,
    MATRIX_KEY_COLUMNS,
    PASSAGE_COLUMNS,
    SUMMARY_COLUMNS,
    TABLE_NAMES,
    Codebook,
)

__all__ = [
    "TableWriter",
    "check_output",
    "output_format",
    "read_tables",
    "unescape_cell_text",
    "write_tables",
]

FORMATS: tuple[str, ...] = ("xlsx", "csv", "parquet", "jsonl")
TMP_PREFIX = ".trustcode-tmp-"
PROVENANCE_FILE = "provenance.json"
PARQUET_KEY = b"trustcode"
EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_COLUMNS = 16_384
EXCEL_MAX_CELL = 32_767
#: batches of the documents table a TableWriter holds before joining them into one
HELD_DOCUMENT_BATCHES = 256

_SUFFIX_FORMAT = {".xlsx": "xlsx", ".parquet": "parquet", ".jsonl": "jsonl"}
_FOLDER_EXT = {"csv": ".csv", "parquet": ".parquet", "jsonl": ".jsonl"}
_REQUIRED: dict[str, tuple[str, ...]] = {
    "documents": DOCUMENT_COLUMNS,
    "passages": PASSAGE_COLUMNS,
    "codings": CODING_COLUMNS,
    "matrix": MATRIX_KEY_COLUMNS,
    "summary": SUMMARY_COLUMNS,
}
# Contract columns that are not strings; every other contract column is a string.
_NUMERIC = {
    "n_chars": "int",
    "index": "int",
    "start": "int",
    "end": "int",
    "passages": "int",
    "score": "float",
    "share": "float",
}
_PathLike = str | os.PathLike[str]


# --- format and target checks ---------------------------------------------------------------


def output_format(path: _PathLike) -> str:
    """The output format a path asks for, by its suffix.

    ``.xlsx`` is one workbook; ``.parquet`` and ``.jsonl`` are folders with one file per table;
    no suffix (or an existing folder) is a folder of CSV files.

    >>> output_format("run/coded.xlsx"), output_format("run/coded")
    ('xlsx', 'csv')
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in _SUFFIX_FORMAT:
        return _SUFFIX_FORMAT[suffix]
    if suffix == "" or p.is_dir():
        return "csv"
    raise OutputError(
        f"{p}: unknown output format '{suffix}'. Expected a name ending in .xlsx (one workbook), "
        ".parquet or .jsonl (a folder with one file per table), or a name without suffix "
        f"(a folder of CSV files, e.g. '{p.with_suffix('')}')."
    )


def check_output(path: _PathLike, *, force: bool) -> None:
    """Check, before any work starts, that ``path`` can be written.

    Raises :class:`OutputError` for an unknown format, a missing or read-only parent folder, or
    an existing output without ``force``. With ``force`` an existing output may be replaced only
    if it is an .xlsx file or a folder holding nothing but trustcode's own table files.

    >>> check_output("coded.xlsx", force=False)  # doctest: +SKIP
    """
    p = Path(path)
    fmt = output_format(p)
    parent = p.parent
    if not parent.exists():
        raise OutputError(
            f"cannot write {p}: its folder {parent} does not exist; create it or choose another "
            "output path."
        )
    if not parent.is_dir():
        raise OutputError(
            f"cannot write {p}: {parent} is not a folder; choose another output path."
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(
            f"cannot write {p}: its folder {parent} is not writable; choose another output path "
            "or change the folder's permissions."
        )
    if p.exists() or p.is_symlink():
        if not force:
            raise OutputError(f"{p} exists; pass --force to overwrite it (or choose another path).")
        _check_replaceable(p, fmt)


def _check_replaceable(p: Path, fmt: str) -> None:
    # --force must never delete a folder of the user's own files (a corpus, a home folder).
    if fmt == "xlsx":
        if p.is_dir():
            raise OutputError(
                f"{p} is a folder, but an .xlsx output is a file; remove it yourself or choose "
                "another path."
            )
        return
    if not p.is_dir():
        raise OutputError(
            f"{p} is a file, but the {fmt} output is a folder; remove it yourself or choose "
            "another path."
        )
    own = {f"{t}{ext}" for t in TABLE_NAMES for ext in _FOLDER_EXT.values()} | {PROVENANCE_FILE}
    foreign = sorted(e.name for e in p.iterdir() if e.name not in own or not e.is_file())
    if foreign:
        shown = ", ".join(foreign[:5]) + (", …" if len(foreign) > 5 else "")
        raise OutputError(
            f"{p} holds files trustcode did not write ({shown}); --force only replaces a "
            "trustcode output. Choose another path or remove the folder yourself."
        )


# --- column contract ------------------------------------------------------------------------


def _kind(table: str, column: str) -> str | None:
    """'str', 'int' or 'float' for a contract column; None for an extra (metadata) column."""
    if table == "matrix" and column not in MATRIX_KEY_COLUMNS:
        return "int"
    if column in _REQUIRED[table]:
        return _NUMERIC.get(column, "str")
    return None


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _text(value: Any) -> str:
    if _is_missing(value):
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        # a spreadsheet may turn the id "12" into the number 12.0
        return str(int(value))
    return str(value)


def _as_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise ValueError(value)
    if isinstance(value, str):
        return int(value.strip())
    return int(value)  # numpy integers


def _as_float(value: Any) -> float:
    if _is_missing(value) or (isinstance(value, str) and not value.strip()):
        return math.nan
    if isinstance(value, bool):
        raise ValueError(value)
    return float(value)


def _convert(series: pd.Series, kind: str, where: str, error: type[TrustcodeError]) -> pd.Series:
    if kind == "str":
        if series.dtype == "str" and not series.isna().any():
            return series
        return pd.Series([_text(v) for v in series], index=series.index, dtype="str")
    if kind == "int" and series.dtype == "int64":
        return series
    if kind == "float" and series.dtype == "float64":
        return series
    convert: Callable[[Any], float]
    if kind == "int":
        convert, expected, fix = _as_int, "a whole number", "give a whole number"
    else:
        convert, expected, fix = _as_float, "a number", "give a number, or leave it empty for none"
    values = []
    for row, value in enumerate(series, 1):
        try:
            values.append(convert(value))
        except (TypeError, ValueError, OverflowError):
            raise error(
                f"{where}, column '{series.name}', row {row} below the header: expected "
                f"{expected}, found {value!r}; {fix}."
            ) from None
    return pd.Series(values, index=series.index, dtype="int64" if kind == "int" else "float64")


def _coerce(
    frame: pd.DataFrame,
    table: str,
    *,
    where: str,
    error: type[TrustcodeError],
    extras_as_text: bool,
) -> pd.DataFrame:
    """Contract dtypes for contract columns; extra columns as strings when asked."""
    out = {}
    changed = False
    for column in frame.columns:
        series = frame[column]
        kind = _kind(table, column)
        if kind is None:
            numeric = pd.api.types.is_numeric_dtype(series.dtype)
            kind = "str" if extras_as_text or not numeric else None
        out[column] = series if kind is None else _convert(series, kind, where, error)
        changed = changed or out[column] is not series
    if not changed and _has_default_index(frame):
        # the common case (the pipeline's own tables): nothing to convert, so no new frame
        return frame.copy(deep=False)
    return pd.DataFrame(out, columns=list(frame.columns)).reset_index(drop=True)


def _has_default_index(frame: pd.DataFrame) -> bool:
    index = frame.index
    return isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1


def _check_columns(
    frame: pd.DataFrame, table: str, where: str, error: type[TrustcodeError]
) -> None:
    missing = [c for c in _REQUIRED[table] if c not in frame.columns]
    if missing:
        raise error(
            f"{where}: table {table} lacks column(s) {', '.join(missing)}; expected "
            f"{', '.join(_REQUIRED[table])} (found {', '.join(map(str, frame.columns)) or 'none'})."
        )


def _empty(table: str, code_ids: list[str]) -> pd.DataFrame:
    columns = list(_REQUIRED[table]) + (code_ids if table == "matrix" else [])
    frame = pd.DataFrame({c: pd.Series([], dtype="object") for c in columns})
    return _coerce(frame, table, where=table, error=OutputError, extras_as_text=True)


#: Characters that make a spreadsheet read a cell as a formula (OWASP's CSV injection list).
FORMULA_START = frozenset("=+-@\t\r")
#: Key of ``provenance.json`` that marks a CSV folder whose cells trustcode escaped.
CSV_ESCAPE_KEY = "trustcode_csv_escape"
CSV_ESCAPE = "leading-apostrophe"


def _cell_text(value: str) -> str:
    """A string as it goes into a CSV cell: safe from CSV injection, and reversible.

    A cell starting with "=", "+", "-", "@", tab or CR can run as a formula when a spreadsheet
    opens a CSV file. As OWASP recommends, such a cell gets a leading apostrophe, which
    spreadsheets read as "this is text". So that :func:`unescape_cell_text` can undo exactly
    this, a text that already starts with an apostrophe followed by one of those characters or
    another apostrophe gets one more. (xlsx needs no change of text: see :func:`_xlsx_value`.)

    >>> _cell_text("=SUM(A1:A2)"), _cell_text("-5"), _cell_text("'=x"), _cell_text("'Twas")
    ("'=SUM(A1:A2)", "'-5", "''=x", "'Twas")
    """
    if _is_formula_like(value) or _apostrophe_escaped(value):
        return "'" + value
    return value


def unescape_cell_text(value: str) -> str:
    """Undo :func:`_cell_text`: the text of a cell of a CSV table trustcode escaped.

    Use it only on tables whose ``provenance.json`` has ``trustcode_csv_escape``; a file from
    elsewhere was not escaped. :func:`read_tables` does this by itself.

    >>> unescape_cell_text("'=SUM(A1:A2)"), unescape_cell_text("''=x"), unescape_cell_text("'Twas")
    ('=SUM(A1:A2)', "'=x", "'Twas")
    """
    return value[1:] if _apostrophe_escaped(value) else value


def _is_formula_like(value: str) -> bool:
    return bool(value) and value[0] in FORMULA_START


def _apostrophe_escaped(value: str) -> bool:
    """An apostrophe followed by a formula character or another apostrophe."""
    return len(value) > 1 and value[0] == "'" and (value[1] in FORMULA_START or value[1] == "'")


def _escape_csv_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Every text cell and header of ``frame`` through :func:`_cell_text`."""
    out = frame.copy()
    for column in out.columns:
        if not pd.api.types.is_numeric_dtype(out[column].dtype):
            out[column] = out[column].map(lambda v: _cell_text(v) if isinstance(v, str) else v)
    out.columns = [_cell_text(str(c)) for c in out.columns]
    return out


def _unescape_csv_frame(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out.columns = [unescape_cell_text(str(c)) for c in out.columns]
    for column in out.columns:
        out[column] = out[column].map(lambda v: unescape_cell_text(v) if isinstance(v, str) else v)
    return out


# --- provenance -----------------------------------------------------------------------------


def _provenance_json(provenance: Mapping[str, Any]) -> str:
    try:
        return json.dumps(dict(provenance), ensure_ascii=False, indent=2, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise OutputError(
            f"the provenance cannot be stored as JSON ({exc}); give it only strings, numbers, "
            "booleans, None, lists and dicts."
        ) from None


def _provenance_rows(provenance: Mapping[str, Any]) -> pd.DataFrame:
    # key/value rows; the type column lets a reader tell the text "[1]" from the list [1]
    rows: list[tuple[str, Any, str]] = []
    for key, value in provenance.items():
        if value is None:
            rows.append((str(key), None, "null"))
        elif isinstance(value, bool):
            rows.append((str(key), value, "boolean"))
        elif isinstance(value, int | float):
            rows.append((str(key), value, "number"))
        elif isinstance(value, str):
            rows.append((str(key), value, "text"))
        else:
            rows.append((str(key), json.dumps(value, ensure_ascii=False), "json"))
    return pd.DataFrame(rows, columns=["key", "value", "type"], dtype="object")


def _provenance_from_rows(rows: list[tuple[Any, ...]], where: str) -> dict[str, Any]:
    provenance: dict[str, Any] = {}
    for key, value, kind in rows:
        if key is None:
            continue
        if kind == "null":
            provenance[str(key)] = None
        elif kind == "text":
            provenance[str(key)] = _text(value)
        elif kind == "json":
            try:
                provenance[str(key)] = json.loads(value)
            except (TypeError, ValueError):
                raise InputError(
                    f"{where}, Provenance sheet, key '{key}': expected JSON, found {value!r}."
                ) from None
        else:
            provenance[str(key)] = value
    return provenance


# --- xlsx -----------------------------------------------------------------------------------


def _font_colour(hex_rgb: str) -> str:
    """Black or white, whichever reads better on a fill of ``hex_rgb`` (WCAG luminance)."""
    channels = [int(hex_rgb[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return "FF000000" if luminance > 0.179 else "FFFFFFFF"


def _code_styles(codebook: Codebook | None) -> dict[str, tuple[Any, str]]:
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


def _check_excel_rows(name: str, rows: int, path: Path) -> None:
    if rows + 1 > EXCEL_MAX_ROWS:
        raise OutputError(
            f"cannot write {path}: table {name} has {rows:,} rows, more than an Excel sheet "
            f"holds ({EXCEL_MAX_ROWS - 1:,} below the header); write a .parquet or CSV folder "
            "instead (e.g. give the output path without suffix)."
        )


def _check_excel_limits(frames: Mapping[str, pd.DataFrame], path: Path) -> None:
    for name, frame in frames.items():
        _check_excel_rows(name, len(frame), path)
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


def _write_sheet(
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
        content = sample.iloc[:, i - 1].map(lambda v: len(_text(v))).max() if len(sample) else 0
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
        cell.quotePrefix = _is_formula_like(column)
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
            if _is_missing(value):
                out.append(None)
                continue
            styled = column in wrapped or (column in cell_styles and value in cell_styles[column])
            formula_like = False
            if isinstance(value, str):
                if ILLEGAL_CHARACTERS_RE.search(value):
                    value, n = ILLEGAL_CHARACTERS_RE.subn("\ufffd", value)
                    replaced += n
                # a text starting like a formula stays text, exactly, even when edited
                formula_like = _is_formula_like(value)
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


def _write_xlsx(
    file: Path,
    frames: Mapping[str, pd.DataFrame],
    provenance: Mapping[str, Any],
    codebook: Codebook | None,
) -> None:
    from openpyxl import Workbook

    styles = _code_styles(codebook)
    wb = Workbook(write_only=True)
    for name in TABLE_NAMES:
        frame = frames[name]
        if name == "matrix":
            _write_sheet(wb, name, frame, header_styles=styles)
        elif name == "codings":
            _write_sheet(wb, name, frame, cell_styles={"code": styles})
        else:
            _write_sheet(wb, name, frame)
    if codebook is not None:
        _write_sheet(wb, "Codebook", _codebook_frame(codebook), cell_styles={"id": styles})
    _write_sheet(wb, "Provenance", _provenance_rows(provenance))
    wb.save(file)


def _read_xlsx(path: Path) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
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
            frame = pd.DataFrame(data, columns=[_text(h) for h in header], dtype="object")
            tables[name] = _finish_read(frame, name, f"{path}, sheet {name}", extras_as_text=True)
        provenance: dict[str, Any] = {}
        if "Provenance" in wb.sheetnames:
            rows = list(wb["Provenance"].iter_rows(min_row=2, max_col=3, values_only=True))
            provenance = _provenance_from_rows(
                [tuple(r) + (None,) * (3 - len(r)) for r in rows], str(path)
            )
        else:
            _warn_no_provenance(path)
    finally:
        wb.close()
    return tables, provenance


# --- folders --------------------------------------------------------------------------------


def _read_csv(file: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(
            file, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8-sig"
        )
    except pd.errors.EmptyDataError:
        raise InputError(f"{file}: empty file; a table needs at least its header row.") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{file}: not a readable UTF-8 CSV table ({exc}).") from None


def _read_jsonl(file: Path) -> pd.DataFrame:
    records = []
    with open(file, encoding="utf-8-sig") as handle:
        for lineno, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(
                    f"{file}, line {lineno}, column {exc.colno}: not valid JSON ({exc.msg}); each "
                    "line must be one JSON object, one table row."
                ) from None
            if not isinstance(record, dict):
                raise InputError(
                    f"{file}, line {lineno}: expected a JSON object (a table row), found "
                    f"{type(record).__name__}."
                )
            records.append(record)
    columns = list(dict.fromkeys(k for r in records for k in r))
    return pd.DataFrame.from_records(records, columns=columns).astype("object")


def _read_parquet(file: Path) -> tuple[pd.DataFrame, dict[str, Any] | None]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(file)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{file}: not a readable Parquet file ({exc}).") from None
    meta = (table.schema.metadata or {}).get(PARQUET_KEY)
    return table.to_pandas(), (json.loads(meta) if meta else None)


def _folder_format(path: Path) -> str:
    counts = {
        fmt: sum((path / f"{t}{ext}").is_file() for t in TABLE_NAMES)
        for fmt, ext in _FOLDER_EXT.items()
    }
    by_suffix = _SUFFIX_FORMAT.get(path.suffix.lower())
    if by_suffix in counts and counts[by_suffix]:
        return by_suffix
    best = max(counts, key=lambda f: counts[f])
    if not counts[best]:
        raise InputError(
            f"{path} is not a trustcode output: it holds none of the tables "
            f"({', '.join(t + '.csv' for t in TABLE_NAMES)}, or the same as .parquet or .jsonl)."
        )
    return best


def _read_folder(path: Path) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    fmt = _folder_format(path)
    ext = _FOLDER_EXT[fmt]
    missing = [f"{t}{ext}" for t in TABLE_NAMES if not (path / f"{t}{ext}").is_file()]
    if missing:
        raise InputError(
            f"{path} is not a complete trustcode output: it lacks {', '.join(missing)}. "
            "Write the tables again, or restore the missing file(s)."
        )
    provenance_file = path / PROVENANCE_FILE
    provenance: dict[str, Any] | None = None
    if provenance_file.is_file():
        try:
            provenance = json.loads(provenance_file.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise InputError(f"{provenance_file}: not valid JSON ({exc}).") from None
        if not isinstance(provenance, dict):
            raise InputError(
                f"{provenance_file}: expected a JSON object (key: value pairs), found "
                f"{type(provenance).__name__}; restore the file or delete it."
            )
    # only a CSV folder that says trustcode escaped it is unescaped: others hold the user's text
    escaped = provenance is not None and provenance.pop(CSV_ESCAPE_KEY, None) == CSV_ESCAPE
    tables = {}
    embedded = None
    for name in TABLE_NAMES:
        file = path / f"{name}{ext}"
        if fmt == "csv":
            frame = _read_csv(file)
            if escaped:
                frame = _unescape_csv_frame(frame)
        elif fmt == "jsonl":
            frame = _read_jsonl(file)
        else:
            frame, meta = _read_parquet(file)
            embedded = embedded if embedded is not None else meta
        tables[name] = _finish_read(frame, name, str(file), extras_as_text=fmt != "parquet")
    if provenance is None and embedded is not None:
        provenance = embedded
    if provenance is None:
        _warn_no_provenance(path)
        provenance = {}
    return tables, provenance


def _finish_read(
    frame: pd.DataFrame, table: str, where: str, *, extras_as_text: bool
) -> pd.DataFrame:
    if len(frame.columns) == 0 and len(frame) == 0:
        # an empty JSON Lines file has no header: give the contract columns
        return _empty(table, [])
    _check_columns(frame, table, where, InputError)
    return _coerce(frame, table, where=where, error=InputError, extras_as_text=extras_as_text)


def _warn_no_provenance(path: Path) -> None:
    warnings.warn(
        f"{path}: no provenance found; which codebook, model and trustcode version made these "
        "tables is unknown.",
        TrustcodeWarning,
        stacklevel=4,
    )


def read_tables(path: _PathLike) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Read the tables and provenance that :func:`write_tables` wrote, in any format.

    Raises :class:`InputError` naming the file and what is missing when ``path`` is not a
    trustcode output.

    >>> tables, provenance = read_tables("coded.xlsx")  # doctest: +SKIP
    >>> list(tables)  # doctest: +SKIP
    ['documents', 'passages', 'codings', 'matrix', 'summary']
    """
    p = Path(path)
    if not p.exists():
        raise InputError(
            f"{p} does not exist; give a trustcode output (an .xlsx workbook or a folder of "
            "tables)."
        )
    if p.is_dir():
        return _read_folder(p)
    if p.suffix.lower() == ".xlsx":
        return _read_xlsx(p)
    raise InputError(
        f"{p} is not a trustcode output: expected an .xlsx workbook or a folder of tables."
    )


# --- writing --------------------------------------------------------------------------------


class TableWriter:
    """Write the tables of a run batch by batch, into place atomically at :meth:`close`.

    CSV, JSON Lines and Parquet batches of passages, codings, matrix and summary go to disk as
    they come, so memory does not grow with the corpus; an .xlsx workbook is buffered and
    written at :meth:`close`. The documents table (one short row per document, no texts) is
    held until :meth:`close`, because its metadata columns may first appear in any batch: it is
    written as one batch of all documents would be, contract columns then metadata columns in
    first-seen order, with "" where a batch had no such column (that column is then text).
    The other tables keep the columns of their first batch. Used as a context manager it closes
    on success and aborts on an exception; a failed :meth:`append` or :meth:`close` aborts by
    itself, leaving no partial output and any earlier output untouched. Tables that never get a
    batch are written empty, with their contract columns.

    >>> with TableWriter("coded", provenance={"unit": "paragraph"}, code_ids=["trust"]) as w:
    ...     w.append({"codings": codings_batch})  # doctest: +SKIP
    """

    def __init__(
        self,
        path: _PathLike,
        *,
        provenance: Mapping[str, Any],
        codebook: Codebook | None = None,
        force: bool = False,
        code_ids: list[str],
    ) -> None:
        self.path = Path(path)
        self.format = output_format(self.path)
        check_output(self.path, force=force)
        self._provenance_text = _provenance_json(provenance)
        self._provenance = json.loads(self._provenance_text)
        self._codebook = codebook
        self._force = force
        self._code_ids = [str(c) for c in code_ids]
        clash = sorted(
            {c for c in self._code_ids if self._code_ids.count(c) > 1 or c in MATRIX_KEY_COLUMNS}
        )
        if clash:
            raise OutputError(
                f"code ids {', '.join(clash)} repeat or clash with the matrix's key columns; "
                "each code id must be unique and not doc_id or passage_id."
            )
        self._columns: dict[str, list[str]] = {"matrix": list(MATRIX_KEY_COLUMNS) + self._code_ids}
        self._started: set[str] = set()
        self._buffers: dict[str, list[pd.DataFrame]] = {t: [] for t in TABLE_NAMES}
        self._rows = dict.fromkeys(TABLE_NAMES, 0)
        # the documents table is held until close, as checked batches, with the metadata
        # columns seen so far in first-seen order
        self._documents: list[pd.DataFrame] = []
        self._document_extras: list[str] = []
        self._document_rows = 0
        self._handles: dict[str, IO[str]] = {}
        self._parquet: dict[str, Any] = {}
        self._state = "open"
        self._tmp = self.path.parent / f"{TMP_PREFIX}{secrets.token_hex(8)}"
        if self.format == "xlsx":
            self._tmp = self._tmp.with_suffix(".xlsx")
        else:
            self._guard(lambda: self._tmp.mkdir())

    # public ----------------------------------------------------------------------------------

    def append(self, tables: Mapping[str, pd.DataFrame]) -> None:
        """Add a batch of rows to some of the tables (any subset of :data:`TABLE_NAMES`)."""
        self._require_open()
        self._guard(lambda: self._append(tables))

    def close(self) -> Path:
        """Finish every table, write the provenance and move the output into place."""
        if self._state == "closed":
            return self.path
        self._require_open()
        self._guard(self._close)
        self._state = "closed"
        return self.path

    def abort(self) -> None:
        """Remove the temporary output; an earlier output at the path stays as it was."""
        if self._state != "open":
            return
        self._state = "aborted"
        for handle in self._handles.values():
            handle.close()
        for writer in self._parquet.values():
            try:
                writer.close()
            except Exception:  # the file is deleted next; its writer's state no longer matters
                pass
        _remove(self._tmp)

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None:
            self.abort()
        elif self._state == "open":
            self.close()

    # internals -------------------------------------------------------------------------------

    def _require_open(self) -> None:
        if self._state != "open":
            raise OutputError(f"the writer of {self.path} is already {self._state}.")

    def _guard(self, step: Any) -> None:
        try:
            step()
        except OSError as exc:
            self.abort()
            raise OutputError(f"cannot write {self.path}: {exc.strerror or exc}.") from exc
        except BaseException:
            self.abort()
            raise

    def _append(self, tables: Mapping[str, pd.DataFrame]) -> None:
        unknown = [n for n in tables if n not in TABLE_NAMES]
        if unknown:
            raise OutputError(
                f"unknown table(s) {', '.join(map(str, unknown))}; expected some of "
                f"{', '.join(TABLE_NAMES)}."
            )
        for name in TABLE_NAMES:
            if name == "documents" and name in tables:
                self._hold_documents(tables[name])
            elif name in tables:
                self._write(name, self._conform(name, tables[name]))

    def _hold_documents(self, frame: pd.DataFrame) -> None:
        """Check a batch of the documents table now (so a bad value fails at its batch) and
        keep it for :meth:`_documents_frame`."""
        where = f"writing {self.path}"
        _check_columns(frame, "documents", where, OutputError)
        if not all(isinstance(c, str) for c in frame.columns):
            frame = frame.rename(columns=str)  # the header of a written table is text
        for column in frame.columns:
            if column not in DOCUMENT_COLUMNS and column not in self._document_extras:
                self._document_extras.append(column)
        self._document_rows += len(frame)
        if self.format == "xlsx":
            _check_excel_rows("documents", self._document_rows, self.path)
        frame = _coerce(frame, "documents", where=where, error=OutputError, extras_as_text=False)
        self._documents.append(frame)
        if len(self._documents) >= HELD_DOCUMENT_BATCHES:
            # many small frames cost more memory and a slower concat than one; joining them
            # early gives the same table, since joining joined batches changes nothing
            self._documents = [self._documents_frame()]

    def _documents_frame(self) -> pd.DataFrame:
        """The held batches as one documents table, as one batch of all documents gives it."""
        columns = [*DOCUMENT_COLUMNS, *self._document_extras]
        parts = []
        for frame in self._documents:
            absent = [c for c in columns if c not in frame.columns]
            if absent or list(frame.columns) != columns:
                # a metadata column a batch lacks is empty text there, as in one batch
                frame = frame.assign(**dict.fromkeys(absent, ""))[columns]
            parts.append(frame)
        whole = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
        # a column of numbers in some batches and "" in others is text: converted here
        where = f"writing {self.path}"
        return _coerce(whole, "documents", where=where, error=OutputError, extras_as_text=False)

    def _conform(self, name: str, frame: pd.DataFrame) -> pd.DataFrame:
        where = f"writing {self.path}"
        _check_columns(frame, name, where, OutputError)
        required = list(_REQUIRED[name])
        extras = [str(c) for c in frame.columns if c not in required]
        if name not in self._columns:
            self._columns[name] = required + extras
        columns = self._columns[name]
        unexpected = [c for c in extras if c not in columns]
        absent = [c for c in columns if c not in frame.columns]
        if name == "matrix" and (unexpected or absent):
            raise OutputError(
                f"{where}: the matrix's code columns must be the code ids "
                f"{', '.join(self._code_ids) or '(none)'}; unexpected: "
                f"{', '.join(unexpected) or 'none'}, missing: {', '.join(absent) or 'none'}."
            )
        if unexpected:
            raise OutputError(
                f"{where}: table {name} got column(s) {', '.join(unexpected)} that its first "
                f"batch did not have ({', '.join(columns)}); give every batch the same columns."
            )
        if list(frame.columns) != columns:
            frame = frame.reset_index(drop=True)
            for column in absent:  # an extra column a later batch lacks stays empty
                frame[column] = ""
            frame = frame[columns]
        return _coerce(frame, name, where=where, error=OutputError, extras_as_text=False)

    def _write(self, name: str, frame: pd.DataFrame) -> None:
        self._rows[name] += len(frame)
        if self.format == "xlsx":
            # fail at the batch that overflows, long before the workbook is built
            _check_excel_rows(name, self._rows[name], self.path)
            self._buffers[name].append(frame)
            self._started.add(name)
            return
        file = self._tmp / f"{name}{_FOLDER_EXT[self.format]}"
        first = name not in self._started
        self._started.add(name)
        if self.format == "csv":
            if first:
                self._handles[name] = open(file, "w", encoding="utf-8", newline="")
            text = _escape_csv_frame(frame)
            text.to_csv(self._handles[name], header=first, index=False, lineterminator="\n")
        elif self.format == "jsonl":
            if first:
                self._handles[name] = open(file, "w", encoding="utf-8", newline="\n")
            handle = self._handles[name]
            for record in frame.to_dict("records"):
                clean = {k: (None if _is_missing(v) else v) for k, v in record.items()}
                handle.write(json.dumps(clean, ensure_ascii=False, default=str) + "\n")
        else:
            self._write_parquet(name, file, frame, first)

    def _write_parquet(self, name: str, file: Path, frame: pd.DataFrame, first: bool) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            # one thread: a pool of threads per small batch costs more than it saves (10x)
            if first:
                table = pa.Table.from_pandas(frame, preserve_index=False, nthreads=1)
                meta = dict(table.schema.metadata or {})
                meta[PARQUET_KEY] = self._provenance_text.encode("utf-8")
                table = table.replace_schema_metadata(meta)
                self._parquet[name] = pq.ParquetWriter(file, table.schema)
            else:
                schema = self._parquet[name].schema
                table = pa.Table.from_pandas(
                    frame, schema=schema, preserve_index=False, nthreads=1
                )
            self._parquet[name].write_table(table)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
            raise OutputError(
                f"writing {self.path}: table {name} cannot be stored as Parquet ({exc}); give "
                "every batch the same column types."
            ) from None

    def _close(self) -> None:
        if self._documents:
            self._write("documents", self._documents_frame())
            self._documents = []
        for name in TABLE_NAMES:
            if name not in self._started:
                self._write(name, _empty(name, self._code_ids if name == "matrix" else []))
        if self.format == "xlsx":
            frames = {n: pd.concat(self._buffers[n], ignore_index=True) for n in TABLE_NAMES}
            _check_excel_limits(frames, self.path)
            _write_xlsx(self._tmp, frames, self._provenance, self._codebook)
        else:
            for handle in self._handles.values():
                handle.close()
            for writer in self._parquet.values():
                writer.close()
            provenance_text = self._provenance_text
            if self.format == "csv":  # tells read_tables to undo the escaping
                provenance_text = _provenance_json({**self._provenance, CSV_ESCAPE_KEY: CSV_ESCAPE})
            (self._tmp / PROVENANCE_FILE).write_text(provenance_text + "\n", "utf-8")
        self._move_into_place()

    def _move_into_place(self) -> None:
        target = self.path
        if target.exists() or target.is_symlink():
            if not self._force:
                raise OutputError(f"{target} exists; pass --force to overwrite it.")
            _check_replaceable(target, self.format)
            if self.format == "xlsx":
                os.replace(self._tmp, target)
                return
            # keep the old output until the new one is in place, then remove it
            old = target.parent / f"{TMP_PREFIX}old-{secrets.token_hex(8)}"
            os.rename(target, old)
            try:
                os.rename(self._tmp, target)
            except BaseException:
                os.rename(old, target)
                raise
            _remove(old)
        else:
            os.rename(self._tmp, target)


def _remove(path: Path) -> None:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
    except OSError as exc:
        warnings.warn(
            f"could not remove the temporary {path} ({exc.strerror}); delete it by hand.",
            TrustcodeWarning,
            stacklevel=3,
        )


def write_tables(
    tables: Mapping[str, pd.DataFrame],
    path: _PathLike,
    *,
    provenance: Mapping[str, Any],
    codebook: Codebook | None = None,
    force: bool = False,
) -> Path:
    """Write a run's tables and provenance to ``path`` in the format its suffix names.

    The matrix's code columns are its columns after ``doc_id`` and ``passage_id``. A
    ``codebook`` colours the xlsx codes and adds a Codebook sheet; other formats ignore it.

    >>> write_tables(tables, "coded.xlsx", provenance={"unit": "paragraph"})  # doctest: +SKIP
    PosixPath('coded.xlsx')
    """
    if "matrix" in tables:
        code_ids = [str(c) for c in tables["matrix"].columns if c not in MATRIX_KEY_COLUMNS]
    elif codebook is not None:
        code_ids = [c.id for c in codebook.leaf_codes]
    else:
        code_ids = []
    with TableWriter(
        path, provenance=provenance, codebook=codebook, force=force, code_ids=code_ids
    ) as writer:
        writer.append(tables)
    return writer.path


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
    check_output(target, force=force)
    if target.exists() and fmt == "csv":
        known = {f"{name}.csv" for name in frames} | {PROVENANCE_FILE}
        strange = [p.name for p in target.iterdir() if p.name not in known]
        if strange:
            raise OutputError(
                f"{target} holds files trustcode did not write ({', '.join(sorted(strange)[:5])}); "
                "choose another output folder."
            )
    tmp = target.parent / f"{TMP_PREFIX}{secrets.token_hex(8)}{target.suffix}"
    try:
        if fmt == "xlsx":
            from openpyxl import Workbook

            _check_excel_limits(frames, target)
            wb = Workbook(write_only=True)
            for name, frame in frames.items():
                _write_sheet(wb, name[:31], frame)
            if provenance is not None:
                _write_sheet(wb, "Provenance", _provenance_rows(provenance))
            wb.save(tmp)
        else:
            tmp.mkdir()
            for name, frame in frames.items():
                out = _escape_csv_frame(frame)
                out.to_csv(tmp / f"{name}.csv", index=False, lineterminator="\n")
            if provenance is not None:
                marked = {**provenance, CSV_ESCAPE_KEY: CSV_ESCAPE}
                (tmp / PROVENANCE_FILE).write_text(_provenance_json(marked) + "\n", "utf-8")
        if target.exists():
            old = target.parent / f"{TMP_PREFIX}old-{secrets.token_hex(8)}"
            os.rename(target, old)
            os.rename(tmp, target)
            _remove(old)
        else:
            os.rename(tmp, target)
    except BaseException:
        _remove(tmp)
        raise
    return target
