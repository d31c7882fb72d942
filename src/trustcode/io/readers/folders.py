"""The entries of a folder: its files in order, or as its ``manifest.csv`` lists them."""

from __future__ import annotations

import csv
import io
import os
import warnings
from pathlib import Path
from types import MappingProxyType

from trustcode.errors import InputError, TrustcodeWarning

from .common import SUPPORTED_SUFFIXES, TABLE_SUFFIXES, read_bytes
from .decoding import decode_bytes
from .entries import CorpusEntry

_MANIFEST_NAME = "manifest.csv"
_MANIFEST_REQUIRED = ("doc_id", "path")
_MANIFEST_FIELDS = ("doc_id", "path", "title", "language")


def _is_hidden(name: str) -> bool:
    # '~$' files are Office's lock files beside an open document.
    return name.startswith((".", "~$"))


def folder_entries(folder: Path) -> tuple[list[CorpusEntry], str | None]:
    """The files a folder holds, in the order :func:`read_corpus` reads them (as its
    ``manifest.csv`` lists, or by relative path), and if none, the reason.

    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "b.txt").write_text("Second.", encoding="utf-8")
    >>> _ = (folder / "a.md").write_text("First.", encoding="utf-8")
    >>> [entry.doc_id for entry in folder_entries(folder)[0]]
    ['a', 'b']
    """
    manifest = folder / _MANIFEST_NAME
    if manifest.is_file():
        entries = _manifest_entries(manifest)
        return entries, None if entries else f"{manifest} lists no documents"
    found: list[tuple[str, Path]] = []
    others = 0
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not _is_hidden(d)]
        root_path = Path(root)
        for name in files:
            if _is_hidden(name):
                continue
            file = root_path / name
            if name == _MANIFEST_NAME:
                warnings.warn(
                    TrustcodeWarning(
                        f"{file}: a manifest in a subfolder is not used; read "
                        f"{root_path} on its own to use it"
                    ),
                    stacklevel=4,
                )
                continue
            if file.suffix.lower() in SUPPORTED_SUFFIXES:
                found.append((file.relative_to(folder).as_posix(), file))
            else:
                others += 1
    found.sort()
    entries = [CorpusEntry(path=file, doc_id=rel[: -len(file.suffix)]) for rel, file in found]
    reason = None
    if not entries:
        state = "is empty: it has no" if others == 0 else f"has {others} file(s) but no"
        reason = (
            f"the folder {folder} {state} files trustcode reads ({', '.join(SUPPORTED_SUFFIXES)})"
        )
    return entries, reason


def _manifest_entries(manifest: Path) -> list[CorpusEntry]:
    text = decode_bytes(read_bytes(manifest), str(manifest))
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        header = [h.strip() for h in next(reader, [])]
        rows = [(reader.line_num, row) for row in reader]
    except csv.Error as err:
        raise InputError(f"{manifest}: is not a valid CSV file ({err})") from None
    missing = [c for c in _MANIFEST_REQUIRED if c not in header]
    if missing:
        raise InputError(
            f"{manifest}: a manifest needs the columns doc_id and path; missing "
            f"{', '.join(missing)} (it has: {', '.join(header) or 'no header'})"
        )
    entries: list[CorpusEntry] = []
    seen: dict[str, int] = {}
    for number, (line, row) in enumerate(rows, start=1):
        if not any(cell.strip() for cell in row):
            continue
        where = f"{manifest}:{line}: row {number}"
        if len(row) > len(header):
            raise InputError(
                f"{where} has {len(row)} fields but the header has {len(header)}; quote fields "
                "that contain commas"
            )
        values = dict(zip(header, (cell.strip() for cell in row), strict=False))
        doc_id, rel = values.get("doc_id", ""), values.get("path", "")
        if not doc_id or not rel:
            raise InputError(f"{where}: doc_id and path must both be filled in")
        if doc_id in seen:
            raise InputError(
                f"{where}: duplicate doc_id {doc_id!r} (also on row {seen[doc_id]}); "
                "document ids must be unique"
            )
        seen[doc_id] = number
        file = manifest.parent / rel
        if not file.is_file():
            raise InputError(
                f"{where} (doc_id {doc_id!r}): the file {rel!r} does not exist "
                f"(looked for {file}); fix the path or remove the row"
            )
        if file.suffix.lower() in TABLE_SUFFIXES:
            raise InputError(
                f"{where} (doc_id {doc_id!r}): {rel!r} is a table; a manifest lists one "
                "document per row — read the table directly instead"
            )
        metadata = {k: v for k, v in values.items() if k not in _MANIFEST_FIELDS and k and v}
        entries.append(
            CorpusEntry(
                path=file,
                doc_id=doc_id,
                title=values.get("title", ""),
                language=values.get("language") or None,
                metadata=MappingProxyType(metadata),
            )
        )
    return entries
