"""One corpus entry (a file, with what a manifest says of it) read into its documents."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from trustcode.types import Document

from .common import SUPPORTED_SUFFIXES, TABLE_SUFFIXES, DocumentError
from .formats import FORMATS
from .language import detect_language
from .table_files import read_table


def read_file(
    path: Path,
    *,
    doc_id: str,
    text_column: str | None,
    id_column: str | None,
    language: str | None,
    title: str = "",
    file_language: str | None = None,
    metadata: Mapping[str, str] | None = None,
) -> list[Document]:
    suffix = path.suffix.lower()
    if suffix in TABLE_SUFFIXES:
        return read_table(path, doc_id, text_column, id_column, language)
    reader = FORMATS.get(suffix)
    if reader is None:
        raise DocumentError(
            str(path),
            f"has the suffix {path.suffix or '(none)'!r}, which trustcode does not read; "
            f"it reads {', '.join(SUPPORTED_SUFFIXES)}",
        )
    content = reader(path)
    return [
        Document(
            doc_id=doc_id,
            text=content.text,
            source=str(path),
            title=title or content.title or path.stem,
            language=file_language or detect_language(content.text) or language,
            metadata=MappingProxyType({**content.metadata, **(metadata or {})}),
        )
    ]


def read_entry(
    path: Path,
    *,
    doc_id: str,
    title: str = "",
    file_language: str | None = None,
    metadata: Mapping[str, str] | None = None,
    text_column: str | None = None,
    id_column: str | None = None,
    language: str | None = None,
    strict: bool = False,
) -> tuple[list[Document], str | None]:
    """The documents of one corpus entry (a file, with what a manifest says of it), and None;
    or, when it cannot be read and not ``strict``, no documents and why (``"{source}: {reason};
    skipped"``). With ``strict`` the problem is raised as an :class:`InputError`.

    :func:`read_corpus` reads its entries through this, and so do Dask workers, one file each.

    >>> read_entry(Path("empty.txt"), doc_id="empty")  # doctest: +SKIP
    ([], 'empty.txt: is empty; skipped')
    """
    try:
        documents = read_file(
            path,
            doc_id=doc_id,
            text_column=text_column,
            id_column=id_column,
            language=language,
            title=title,
            file_language=file_language,
            metadata=metadata,
        )
    except DocumentError as err:
        if strict:
            raise
        return [], f"{err.source}: {err.reason}; skipped"
    return documents, None


@dataclass(frozen=True)
class CorpusEntry:
    """A file of a corpus to read, with what a manifest (or the folder layout) says about it.

    >>> CorpusEntry(Path("notes/a.txt"), "notes/a").doc_id
    'notes/a'
    """

    path: Path
    doc_id: str
    title: str = ""
    language: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)

    def read(
        self,
        *,
        text_column: str | None = None,
        id_column: str | None = None,
        language: str | None = None,
        strict: bool = False,
    ) -> tuple[list[Document], str | None]:
        """Its documents, or none and why it was skipped: see :func:`read_entry`."""
        return read_entry(
            self.path,
            doc_id=self.doc_id,
            title=self.title,
            file_language=self.language,
            metadata=self.metadata,
            text_column=text_column,
            id_column=id_column,
            language=language,
            strict=strict,
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # a manifest's read-only metadata view cannot be pickled; workers get entries pickled
        return (
            CorpusEntry,
            (self.path, self.doc_id, self.title, self.language, dict(self.metadata)),
        )
