"""The column contract of the five tables: required columns and their dtypes, checked and
converted on the way in and out."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pandas as pd

from trustcode.errors import InputError, OutputError, TrustcodeError
from trustcode.types import (
    CODING_COLUMNS,
    DOCUMENT_COLUMNS,
    MATRIX_KEY_COLUMNS,
    PASSAGE_COLUMNS,
    SUMMARY_COLUMNS,
)

REQUIRED: dict[str, tuple[str, ...]] = {
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


def _kind(table: str, column: str) -> str | None:
    """'str', 'int' or 'float' for a contract column; None for an extra (metadata) column."""
    if table == "matrix" and column not in MATRIX_KEY_COLUMNS:
        return "int"
    if column in REQUIRED[table]:
        return _NUMERIC.get(column, "str")
    return None


def is_missing(value: Any) -> bool:
    """Whether a table cell holds no value: None, NaN, ``pd.NA`` or ``NaT``. A list or other
    non-scalar is a value.

    >>> [is_missing(v) for v in (None, float("nan"), pd.NA, "", 0, [None])]
    [True, True, True, False, False, False]
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, (str, int)):
        return False
    try:
        return bool(pd.isna(value))  # numpy's NaN and NaT of every width
    except (TypeError, ValueError):
        return False


def as_text(value: Any) -> str:
    if is_missing(value):
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
    if is_missing(value) or (isinstance(value, str) and not value.strip()):
        return math.nan
    if isinstance(value, bool):
        raise ValueError(value)
    return float(value)


def _convert(series: pd.Series, kind: str, where: str, error: type[TrustcodeError]) -> pd.Series:
    if kind == "str":
        if series.dtype == "str" and not series.isna().any():
            return series
        return pd.Series([as_text(v) for v in series], index=series.index, dtype="str")
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


def coerce(
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


def check_columns(frame: pd.DataFrame, table: str, where: str, error: type[TrustcodeError]) -> None:
    missing = [c for c in REQUIRED[table] if c not in frame.columns]
    if missing:
        raise error(
            f"{where}: table {table} lacks column(s) {', '.join(missing)}; expected "
            f"{', '.join(REQUIRED[table])} (found {', '.join(map(str, frame.columns)) or 'none'})."
        )


def empty_table(table: str, code_ids: list[str]) -> pd.DataFrame:
    columns = list(REQUIRED[table]) + (code_ids if table == "matrix" else [])
    frame = pd.DataFrame({c: pd.Series([], dtype="object") for c in columns})
    return coerce(frame, table, where=table, error=OutputError, extras_as_text=True)


def finish_read(
    frame: pd.DataFrame, table: str, where: str, *, extras_as_text: bool
) -> pd.DataFrame:
    if len(frame.columns) == 0 and len(frame) == 0:
        # an empty JSON Lines file has no header: give the contract columns
        return empty_table(table, [])
    check_columns(frame, table, where, InputError)
    return coerce(frame, table, where=where, error=InputError, extras_as_text=extras_as_text)
