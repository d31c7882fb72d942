"""Whether a reviewed sheet still fits its documents (:func:`check_stale`).

A review row names its passage by document and offsets. When the document was edited after the
sheet was written, its text at those offsets is no longer the passage the reviewer decided on:
read as it is, the row would be keyed, compared and trained on as a passage of a text that no
longer holds it. Such rows are refused, naming row, passage and document.

A review workbook records each document's source and text hash on its ``documents`` sheet
(:func:`write_documents_sheet`). Read back, each reviewed passage's document is looked up: in
the ``documents`` given (CLI: ``--documents``), else at its recorded source (the path as given
when it was coded, then that name beside the workbook), else in the folders above the workbook
that hold a ``manifest.csv``. A document whose text has the recorded hash is unchanged;
otherwise each reviewed passage's text is compared with the document's text at its offsets. A
document found nowhere (or a row of a table file) cannot be checked: its passages are read as
the sheet holds them, with the text that was reviewed.

>>> _as_in_sheet("a\\x07b")
'a\\ufffdb'
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import GoldError, InputError, listing
from ..gold import default_documents, find_documents
from ..io.tables import is_missing
from ..types import Document
from .layout import DOCUMENTS_SHEET, REVIEW_SHEET

# documents read from a table file (one per row) are not re-read to be checked
_TABLE_SUFFIXES = (".csv", ".xlsx")


def _as_in_sheet(text: str) -> str:
    """A text as a review sheet's cell holds it (characters Excel refuses replaced)."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return str(ILLEGAL_CHARACTERS_RE.sub("\ufffd", text))


def write_documents_sheet(ws: Any, documents: pd.DataFrame | None) -> None:
    """The ``documents`` sheet: each coded document's id, source and text hash, what
    :func:`check_stale` compares a reviewed sheet's passages with."""
    from openpyxl.styles import Font

    columns = ("doc_id", "source", "sha256")
    for c, name in enumerate(columns, 1):
        ws.cell(row=1, column=c, value=name).font = Font(bold=True)
    ws.column_dimensions["A"].width = 30
    ws.column_dimensions["B"].width = 60
    ws.column_dimensions["C"].width = 66
    if documents is None or not set(columns) <= set(documents.columns):
        return
    for r, record in enumerate(documents[list(columns)].to_dict("records"), 2):
        for c, name in enumerate(columns, 1):
            value = record[name]
            cell = ws.cell(row=r, column=c, value=None if is_missing(value) else str(value))
            cell.data_type = "s"
    ws.freeze_panes = "A2"


def recorded_documents(wb: Any) -> dict[str, tuple[str, str]]:
    """doc_id -> (source, sha256) from an open workbook's ``documents`` sheet (none: empty)."""
    if DOCUMENTS_SHEET not in wb.sheetnames:
        return {}
    found: dict[str, tuple[str, str]] = {}
    rows = wb[DOCUMENTS_SHEET].iter_rows(min_row=2, max_col=3, values_only=True)
    for row in rows:
        doc_id, source, digest = (
            ("" if is_missing(v) else str(v).strip()) for v in (*row, None, None, None)[:3]
        )
        if doc_id:
            found[doc_id] = (source, digest)
    return found


def _at_source(doc_id: str, source: str, workbook: Path) -> Document | None:
    """The document re-read from where it was coded (or that name beside the workbook)."""
    from ..io.readers import read_entry

    if not source:
        return None
    for candidate in (Path(source), workbook.parent / Path(source).name):
        if candidate.suffix.lower() in _TABLE_SUFFIXES or not candidate.is_file():
            continue
        try:
            documents, _ = read_entry(candidate, doc_id=doc_id)
        except InputError:
            return None
        return documents[0] if documents else None
    return None


def _current(
    doc_ids: Sequence[str],
    workbook: Path,
    recorded: Mapping[str, tuple[str, str]],
    documents: Sequence[str | os.PathLike[str]],
) -> dict[str, Document]:
    """The documents of ``doc_ids`` as they are now, where they can be found."""
    if documents:
        return find_documents(doc_ids, documents)
    found: dict[str, Document] = {}
    for doc_id in doc_ids:
        document = _at_source(doc_id, recorded.get(doc_id, ("", ""))[0], workbook)
        if document is not None:
            found[doc_id] = document
    rest = [d for d in doc_ids if d not in found]
    nearby = default_documents(workbook)
    if rest and nearby:
        found.update(find_documents(rest, nearby))
    return found


def check_stale(
    rows: Sequence[Mapping[str, Any]],
    workbook: str | os.PathLike[str],
    recorded: Mapping[str, tuple[str, str]],
    documents: Sequence[str | os.PathLike[str]] = (),
) -> None:
    """Raise a :class:`GoldError` naming every reviewed row (``rows`` as the review reader
    gives them: ``doc_id``, ``passage_id``, ``start``, ``end``, ``text``, ``_line``) whose
    text is not its document's text at its offsets, where the document can be found now.

    >>> check_stale([], "review.xlsx", {})  # nothing to check: nothing raised
    """
    p = Path(workbook)
    doc_ids = list(dict.fromkeys(str(row["doc_id"]) for row in rows))
    if not doc_ids:
        return
    now = _current(doc_ids, p, recorded, documents)
    stale: list[str] = []
    sources: dict[str, str] = {}
    for row in rows:
        document = now.get(str(row["doc_id"]))
        if document is None:
            continue
        digest = recorded.get(document.doc_id, ("", ""))[1]
        if digest and digest == document.sha256:
            continue  # the very text the sheet was written from
        start, end, text = row["start"], row["end"], document.text
        fits = 0 <= start < end <= len(text) and _as_in_sheet(text[start:end]) == row["text"]
        if not fits:
            sources[document.doc_id] = document.source
            stale.append(f"row {row['_line']} (passage {row['passage_id']}, {start}-{end})")
    if stale:
        read_from = "; ".join(f"{doc} ({src})" for doc, src in sources.items())
        raise GoldError(
            f"{p}, sheet {REVIEW_SHEET!r}: stale passages: {len(stale)} reviewed row(s) no "
            f"longer match their document's text at their offsets: {listing(stale)}. "
            f"Document(s) as read now: {read_from}. "
            "The document was edited after the sheet was written: code it again (trustcode "
            "code --review) and review the new sheet, or give the text the sheet was written "
            "from with --documents. Nothing was read."
        )
