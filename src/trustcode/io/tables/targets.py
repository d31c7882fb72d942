"""The output's formats and file names, and checks of a target path before anything is
written."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from trustcode.atomic import check_target
from trustcode.errors import OutputError
from trustcode.types import TABLE_NAMES

PROVENANCE_FILE = "provenance.json"
PARQUET_KEY = b"trustcode"

SUFFIX_FORMAT = {".xlsx": "xlsx", ".parquet": "parquet", ".jsonl": "jsonl"}
FOLDER_EXT = {"csv": ".csv", "parquet": ".parquet", "jsonl": ".jsonl"}

PathLike = str | os.PathLike[str]


def output_format(path: PathLike) -> str:
    """The output format a path asks for, by its suffix.

    ``.xlsx`` is one workbook; ``.parquet`` and ``.jsonl`` are folders with one file per table;
    no suffix (or an existing folder) is a folder of CSV files.

    >>> output_format("run/coded.xlsx"), output_format("run/coded")
    ('xlsx', 'csv')
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in SUFFIX_FORMAT:
        return SUFFIX_FORMAT[suffix]
    if suffix == "" or p.is_dir():
        return "csv"
    if suffix == ".qdpx":
        raise OutputError(
            f"{p}: a REFI-QDA project is not a table output; trustcode.workflows.code_files "
            "codes documents into one, and trustcode.refiqda.export_qdpx writes tables as one."
        )
    raise OutputError(
        f"{p}: unknown output format '{suffix}'. Expected a name ending in .xlsx (one workbook), "
        ".parquet or .jsonl (a folder with one file per table), or a name without suffix "
        f"(a folder of CSV files, e.g. '{p.with_suffix('')}')."
    )


def check_output(
    path: PathLike, *, force: bool, tables: Iterable[str] | None = TABLE_NAMES
) -> None:
    """Check, before any work starts, that ``path`` can be written.

    Raises :class:`OutputError` for an unknown format, a missing or read-only parent folder, or
    an existing output without ``force``. With ``force`` an existing output may be replaced only
    if it is an .xlsx file or a folder holding nothing but trustcode's own table files: those of
    ``tables`` (a run's five by default; a comparison or an evaluation names its own) and the
    provenance. ``tables=None`` leaves a folder's contents to a later check, by a writer that
    knows its table names.

    >>> check_output("coded.xlsx", force=False)  # doctest: +SKIP
    """
    p = Path(path)
    fmt = output_format(p)
    check_target(p, force=force)
    if p.exists() or p.is_symlink():
        check_replaceable(p, fmt, tables)


def check_replaceable(p: Path, fmt: str, tables: Iterable[str] | None = TABLE_NAMES) -> None:
    # force must never delete a folder of the user's own files (a corpus, a home folder).
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
    if tables is None:
        return
    own = {f"{t}{ext}" for t in tables for ext in FOLDER_EXT.values()} | {PROVENANCE_FILE}
    foreign = sorted(e.name for e in p.iterdir() if e.name not in own or not e.is_file())
    if foreign:
        shown = ", ".join(foreign[:5]) + (", …" if len(foreign) > 5 else "")
        raise OutputError(
            f"{p} holds files trustcode did not write ({shown}); force only replaces a "
            "trustcode output. Choose another path or remove the folder yourself."
        )
