"""Reading an output back: the folders of CSV, JSON Lines or Parquet files, and
:func:`read_tables` for any format."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from trustcode.errors import InputError
from trustcode.types import TABLE_NAMES

from .cells import CSV_ESCAPE, CSV_ESCAPE_KEY, unescape_csv_frame
from .contract import finish_read
from .provenance import warn_no_provenance
from .targets import (
    FOLDER_EXT,
    PARQUET_KEY,
    PROVENANCE_FILE,
    SUFFIX_FORMAT,
    PathLike,
)
from .xlsx import read_xlsx


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
        for fmt, ext in FOLDER_EXT.items()
    }
    by_suffix = SUFFIX_FORMAT.get(path.suffix.lower())
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
    ext = FOLDER_EXT[fmt]
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
                frame = unescape_csv_frame(frame)
        elif fmt == "jsonl":
            frame = _read_jsonl(file)
        else:
            frame, meta = _read_parquet(file)
            embedded = embedded if embedded is not None else meta
        tables[name] = finish_read(frame, name, str(file), extras_as_text=fmt != "parquet")
    if provenance is None and embedded is not None:
        provenance = embedded
    if provenance is None:
        warn_no_provenance(path)
        provenance = {}
    return tables, provenance


def read_tables(path: PathLike) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
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
        return read_xlsx(p)
    raise InputError(
        f"{p} is not a trustcode output: expected an .xlsx workbook or a folder of tables."
    )
