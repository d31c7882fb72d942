"""Table files (.csv, .xlsx) read into documents, one row per document."""

from __future__ import annotations

import csv
import datetime as _dt
import io
import warnings
from pathlib import Path
from types import MappingProxyType
from typing import Any

from trustcode.errors import DocumentSkipped, InputError
from trustcode.types import Document

from .common import DocumentError, read_bytes, require_text
from .decoding import decode_bytes, normalize_newlines
from .language import detect_language


def _cell_str(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, _dt.datetime) and value.time() == _dt.time():
        return value.date().isoformat()
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    return str(value)


def _csv_rows(text: str) -> list[list[str]]:
    first_line = text.split("\n", 1)[0]
    # A header line says the delimiter: Excel in many locales writes ';'.
    delimiter = max((",", ";", "\t"), key=first_line.count)
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def read_table_rows(path: Path) -> list[list[str]]:
    if path.suffix.lower() == ".csv":
        data = read_bytes(path)
        if not data:
            raise DocumentError(str(path), "is empty (0 bytes): it has no header and no rows")
        try:
            return _csv_rows(require_text(decode_bytes(data, str(path)), str(path)))
        except csv.Error as err:
            raise DocumentError(str(path), f"is not a valid CSV file ({err})") from None
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(str(path), read_only=True, data_only=True)
    except Exception as err:  # openpyxl raises zipfile/KeyError/XML errors on bad files
        raise DocumentError(
            str(path), f"is not a valid .xlsx file ({type(err).__name__}: {err})"
        ) from None
    try:
        sheet = workbook.worksheets[0]
        rows = [[_cell_str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()
    return [[normalize_newlines(v) for v in row] for row in rows]


def _column(header: list[str], name: str | None, role: str, param: str, source: str) -> int:
    columns = ", ".join(repr(c) for c in header)
    if name is None:
        if "text" in header:
            return header.index("text")
        raise DocumentError(
            source,
            f"has no column named 'text'; name the {role} column with {param}=... "
            f"(columns: {columns})",
            params=(param,),
        )
    if name not in header:
        raise DocumentError(source, f"has no {role} column {name!r}; its columns are: {columns}")
    return header.index(name)


def read_table(
    path: Path, id_base: str, text_column: str | None, id_column: str | None, language: str | None
) -> list[Document]:
    source = str(path)
    rows = read_table_rows(path)
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise DocumentError(source, "is empty: it has no header row")
    header = [h.strip() or f"column_{i + 1}" for i, h in enumerate(rows[0])]
    text_at = _column(header, text_column, "text", "text_column", source)
    id_at = _column(header, id_column, "id", "id_column", source) if id_column is not None else None
    documents: list[Document] = []
    seen: dict[str, str] = {}
    for number, row in enumerate(rows[1:], start=1):
        if not any(cell.strip() for cell in row):
            continue  # blank rows trail many spreadsheets
        row_source = f"{source}#{number}"
        if len(row) > len(header):
            raise DocumentError(
                source,
                f"row {number} has {len(row)} fields but the header has {len(header)}; quote "
                "fields that contain the delimiter",
            )
        row = row + [""] * (len(header) - len(row))
        text = row[text_at]
        if not text.strip():
            warnings.warn(
                DocumentSkipped(f"{row_source}: its text column is empty; skipped"),
                stacklevel=3,
            )
            continue
        doc_id = row[id_at].strip() if id_at is not None else f"{id_base}-{number}"
        if not doc_id:
            raise DocumentError(source, f"row {number} has an empty id in column {id_column!r}")
        if doc_id in seen:
            raise InputError(
                f"Duplicate document id {doc_id!r}: {seen[doc_id]} and {row_source}; "
                "document ids must be unique"
            )
        seen[doc_id] = row_source
        metadata = {
            header[i]: value
            for i, value in enumerate(row)
            if i not in (text_at, id_at) and value.strip()
        }
        title = metadata.pop("title", "") or doc_id
        row_language = metadata.pop("language", "") or None
        documents.append(
            Document(
                doc_id=doc_id,
                text=text,
                source=row_source,
                title=title,
                language=row_language or detect_language(text) or language,
                metadata=MappingProxyType(metadata),
            )
        )
    if not documents:
        raise DocumentError(source, f"has no row with text in column {header[text_at]!r}")
    return documents
