"""Write and read the coded tables of a run: one .xlsx workbook, or a folder of CSV, Parquet or
JSON Lines files, always with the run's provenance.

The output format follows the path (:func:`output_format`). Every writer works in a temporary
file or folder beside the target (``.trustcode-tmp-…``) and renames it into place at the end, so
a failed run leaves nothing partial behind and never damages an earlier output.

Column dtypes are the contract's: ids and texts are strings (a missing text is written as the
empty string), offsets and counts ``int64``, ``score`` and ``share`` ``float64`` (NaN for none),
matrix code columns ``int64``. Extra (metadata) columns come back as strings from CSV, JSON Lines
and xlsx; Parquet keeps their types.

The modules:

- :mod:`.targets`: the formats and file names of an output, and checks of a target path;
- :mod:`.contract`: the required columns of each table and their dtypes, checked and converted;
- :mod:`.cells`: escaping CSV cells against formula injection (:func:`unescape_cell_text`);
- :mod:`.provenance`: the run's provenance as JSON or as rows of the Provenance sheet;
- :mod:`.xlsx`: Excel's limits, and writing and reading the workbook;
- :mod:`.reading`: reading the table folders, and :func:`read_tables` for any format;
- :mod:`.writer`: :class:`TableWriter` (batch by batch) and :func:`write_tables`;
- :mod:`.frames`: :func:`write_frames`, any named DataFrames as a report.

>>> output_format("run/coded.xlsx"), output_format("run/coded.parquet")
('xlsx', 'parquet')
"""

from __future__ import annotations

from .cells import CSV_ESCAPE_KEY, unescape_cell_text
from .contract import is_missing
from .frames import write_frames
from .reading import read_tables
from .targets import PROVENANCE_FILE, check_output, output_format
from .writer import TableWriter, write_tables

__all__ = [
    "CSV_ESCAPE_KEY",
    "PROVENANCE_FILE",
    "TableWriter",
    "check_output",
    "is_missing",
    "output_format",
    "read_tables",
    "unescape_cell_text",
    "write_frames",
    "write_tables",
]
