"""CSV injection: escaping the text cells of a CSV table, and undoing it."""

from __future__ import annotations

import pandas as pd

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
    another apostrophe gets one more. (xlsx needs no change of text: see
    :func:`~trustcode.io.tables.xlsx.write_sheet`.)

    >>> _cell_text("=SUM(A1:A2)"), _cell_text("-5"), _cell_text("'=x"), _cell_text("'Twas")
    ("'=SUM(A1:A2)", "'-5", "''=x", "'Twas")
    """
    if is_formula_like(value) or _apostrophe_escaped(value):
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


def is_formula_like(value: str) -> bool:
    return bool(value) and value[0] in FORMULA_START


def _apostrophe_escaped(value: str) -> bool:
    """An apostrophe followed by a formula character or another apostrophe."""
    return len(value) > 1 and value[0] == "'" and (value[1] in FORMULA_START or value[1] == "'")


def escape_csv_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Every text cell and header of ``frame`` through :func:`_cell_text`."""
    out = frame.copy()
    for column in out.columns:
        if not pd.api.types.is_numeric_dtype(out[column].dtype):
            out[column] = out[column].map(lambda v: _cell_text(v) if isinstance(v, str) else v)
    out.columns = [_cell_text(str(c)) for c in out.columns]
    return out


def unescape_csv_frame(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out.columns = [unescape_cell_text(str(c)) for c in out.columns]
    for column in out.columns:
        out[column] = out[column].map(lambda v: unescape_cell_text(v) if isinstance(v, str) else v)
    return out
