"""Reading a corpus: :class:`CorpusReader` and :func:`read_corpus` for files and folders,
and :func:`read_document` for one file."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal, overload

from trustcode.errors import DocumentSkipped, InputError
from trustcode.types import Document

from .common import TABLE_SUFFIXES
from .entries import CorpusEntry, read_file
from .folders import folder_entries
from .table_files import read_table_rows

_PathLike = str | os.PathLike[str]


def read_document(
    path: _PathLike,
    *,
    text_column: str | None = None,
    id_column: str | None = None,
    language: str | None = None,
) -> list[Document]:
    """Read one file into documents: one for a text file, one per row for ``.csv``/``.xlsx``.

    The id is the file stem (table rows: ``id_column``'s value, or ``{stem}-{row}``). A folder
    is read as by :func:`read_corpus` with ``strict=True``.

    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "note.txt"
    >>> _ = p.write_text("Neighbours kept in touch across the border.", encoding="utf-8")
    >>> [(d.doc_id, d.title, d.language) for d in read_document(p)]
    [('note', 'note', 'en')]
    """
    path = Path(path)
    if path.is_dir():
        return list(
            read_corpus(
                [path], text_column=text_column, id_column=id_column, language=language, strict=True
            )
        )
    if not path.exists():
        raise InputError(f"{path}: no such file or folder; check the path")
    return read_file(
        path, doc_id=path.stem, text_column=text_column, id_column=id_column, language=language
    )


class CorpusReader:
    """Reads the files and folders of a corpus in order and keeps its books: the documents
    read and their ids, the files skipped and why.

    :func:`read_corpus` is the simple use. Worker processes use the parts: :meth:`items` hands
    out plain files as :class:`CorpusEntry` for a worker to read (``defer_files``); the caller
    then reports, in corpus order, each document (:meth:`accept`) or skipped file
    (:meth:`skip`) of each entry, and calls :meth:`finish` at the end. The ids, warnings and
    errors are then those :func:`read_corpus` gives. Missing paths raise
    :class:`InputError` at once.

    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "a.txt").write_text("First letter home.", encoding="utf-8")
    >>> reader = CorpusReader(folder)
    >>> [entry.doc_id for entry in reader.items(defer_files=True)]
    ['a']
    """

    def __init__(
        self,
        paths: _PathLike | Iterable[_PathLike],
        *,
        text_column: str | None = None,
        id_column: str | None = None,
        language: str | None = None,
        strict: bool = False,
    ) -> None:
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        self.roots = [Path(p) for p in paths]
        for root in self.roots:
            if not root.exists():
                raise InputError(f"{root}: no such file or folder; check the path")
        #: what :meth:`CorpusEntry.read` needs besides the entry
        self.options: dict[str, Any] = {
            "text_column": text_column,
            "id_column": id_column,
            "language": language,
            "strict": strict,
        }
        self._seen: dict[str, str] = {}
        self._reasons: list[str] = []

    @overload
    def items(self, *, defer_files: Literal[False] = False) -> Iterator[Document]: ...

    @overload
    def items(self, *, defer_files: bool) -> Iterator[Document | CorpusEntry]: ...

    def items(self, *, defer_files: bool = False) -> Iterator[Document | CorpusEntry]:
        """The corpus in order: its documents, read here (skipped files are :meth:`skip`-ped),
        or with ``defer_files`` an entry for each file that is not a table (.csv, .xlsx: they
        hold many documents and are read here). Documents read here are not yet accepted."""
        for root in self.roots:
            if root.is_dir():
                entries, reason = folder_entries(root)
                if reason:
                    self._reasons.append(reason)
            else:
                entries = [CorpusEntry(path=root, doc_id=root.stem)]
            for entry in entries:
                if defer_files and entry.path.suffix.lower() not in TABLE_SUFFIXES:
                    yield entry
                    continue
                documents, skipped = entry.read(**self.options)
                if skipped is not None:
                    self.skip(skipped)
                yield from documents

    def accept(self, doc_id: str, source: str) -> None:
        """Count a document read; raise :class:`InputError` if its id was seen before."""
        if doc_id in self._seen:
            raise InputError(
                f"Duplicate document id {doc_id!r}: {self._seen[doc_id]} and {source}; give one "
                "of them another id (a manifest.csv can set ids)"
            )
        self._seen[doc_id] = source

    def skip(self, skipped: str) -> None:
        """Record a file that could not be read (``"{source}: {reason}; skipped"``), with a
        :class:`DocumentSkipped` warning."""
        self._reasons.append(skipped.removesuffix("; skipped"))
        warnings.warn(DocumentSkipped(skipped), stacklevel=3)

    def finish(self) -> None:
        """Raise :class:`InputError` if no document at all was read, saying why."""
        if not self._seen:
            where = ", ".join(str(r) for r in self.roots) or "(no paths given)"
            because = "; ".join(self._reasons) or "no paths were given"
            raise InputError(f"No documents to read in {where}: {because}")


def read_corpus(
    paths: _PathLike | Iterable[_PathLike],
    *,
    text_column: str | None = None,
    id_column: str | None = None,
    language: str | None = None,
    strict: bool = False,
) -> Iterator[Document]:
    """Yield the documents of files and folders, one at a time, in order.

    A folder is read recursively in order of relative path (hidden files skipped), or as its
    ``manifest.csv`` lists. A document that cannot be read raises :class:`InputError` with
    ``strict``; otherwise it is skipped with a :class:`DocumentSkipped` warning. A missing
    path, a duplicate id, or nothing to read at all raise :class:`InputError`.

    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "a.txt").write_text("First letter home.", encoding="utf-8")
    >>> [d.doc_id for d in read_corpus(folder)]
    ['a']
    """
    reader = CorpusReader(
        paths, text_column=text_column, id_column=id_column, language=language, strict=strict
    )
    for document in reader.items():
        reader.accept(document.doc_id, document.source)
        yield document
    reader.finish()


def count_documents(paths: _PathLike | Iterable[_PathLike]) -> int:
    """How many documents the corpus at ``paths`` should give, known before any is coded: one
    per file, one per row with any text of a .csv/.xlsx file (those are parsed to count them).
    A progress display's total: files that turn out unreadable are counted all the same.

    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "a.txt").write_text("First letter home.", encoding="utf-8")
    >>> _ = (folder / "b.csv").write_text("text\\nOne.\\nTwo.\\n\\n", encoding="utf-8")
    >>> count_documents(folder)
    3
    """
    reader = CorpusReader(paths)  # checks that the paths exist
    total = 0
    for root in reader.roots:
        entries = folder_entries(root)[0] if root.is_dir() else [CorpusEntry(root, root.stem)]
        for entry in entries:
            if entry.path.suffix.lower() not in TABLE_SUFFIXES:
                total += 1
                continue
            try:
                rows = read_table_rows(entry.path)
            except InputError:  # reading it for real says why, when its turn comes
                total += 1
                continue
            total += sum(1 for row in rows[1:] if any(cell.strip() for cell in row))
    return total
