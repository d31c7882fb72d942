"""The main job, :func:`code_corpus`: read a corpus, code it with the local engine, and return
its tables or write them batch by batch."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..codebook import load_codebook
from ..errors import InputError, UsageError
from ..io.readers import CorpusEntry, CorpusReader
from ..segment import parse_unit
from ..types import Codebook, Document
from .coder import Coder
from .frames import concat_tables, tables_for
from .heap import in_frozen_heap
from .models import DEFAULT_MODEL, load_run_model, provenance, resolve_model
from .workers import iter_tables, pooled_tables


@dataclass
class CodingRun:
    """The tables of a coding run and its provenance."""

    tables: dict[str, pd.DataFrame]
    provenance: dict[str, Any]
    output: Path | None = None
    skipped: list[str] = field(default_factory=list)


def _read(reader: CorpusReader, redact: Any) -> Iterator[Document]:
    """The corpus as :func:`~trustcode.io.readers.read_corpus` reads it, each document
    redacted as soon as it is read."""
    for doc in reader.items():
        reader.accept(doc.doc_id, doc.source)
        if redact is not None:
            doc = redact.redact_document(doc)
        yield doc
    reader.finish()


@in_frozen_heap
def code_corpus(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    codebook: Codebook | str | os.PathLike[str] | None = None,
    unit: str = "paragraph",
    model: str | os.PathLike[str] | None = DEFAULT_MODEL,
    language: str | None = None,
    text_column: str | None = None,
    id_column: str | None = None,
    strict: bool = False,
    jobs: int = 1,
    output: str | os.PathLike[str] | None = None,
    force: bool = False,
    batch_size: int = 64,
    progress: Callable[[Document], None] | None = None,
    redact: Any = None,
) -> CodingRun:
    """Code documents with a codebook; return the tables, and write them when ``output`` is given.

    ``paths`` are files or folders (see :func:`trustcode.io.readers.read_corpus`). ``codebook`` is a
    path or a loaded :class:`Codebook` (default: the shipped one). ``model`` is ``"default"`` (the
    model shipped in the package, when it fits the codebook), a model file, or None (rules only).
    With ``output``, tables are written batch by batch and the returned tables are empty frames
    (streaming keeps memory flat); without it, the tables are returned in full. ``redact`` (a
    :class:`trustcode.redact.Redactor`) replaces personal identifiers in each document's text as
    soon as it is read, so every table and offset refers to the redacted text. ``progress`` is
    called with each document in corpus order once it is coded (with ``jobs`` > 1, as its
    tables come back from a worker).

    >>> run = code_corpus("corpus")  # doctest: +SKIP
    >>> run.tables["codings"].groupby("code").size()  # doctest: +SKIP
    """
    if jobs < 1:
        raise UsageError(f"The 'jobs' parameter of code must be an int in [1, inf). Got {jobs}.")
    if output is not None:
        from ..io.tables import check_output

        check_output(output, force=force)  # before loading anything: a bad name fails at once
    book = codebook if isinstance(codebook, Codebook) else load_codebook(codebook)
    unit = str(parse_unit(unit))
    model_path = resolve_model(model, book)
    loaded = load_run_model(model_path, book) if model_path else None
    coder = Coder(book, model=loaded, unit=unit)
    code_ids = coder.leaf_ids
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    options = {
        "paths": [str(p) for p in paths],
        "language": language,
        "text_column": text_column,
        "id_column": id_column,
        "strict": strict,
        "jobs": jobs,
        "redacted": redact is not None,
    }
    prov = provenance(book, model_path, unit, options)
    reader = CorpusReader(
        paths, text_column=text_column, id_column=id_column, language=language, strict=strict
    )
    batches: Iterator[tuple[int, dict[str, pd.DataFrame]]]
    if jobs > 1:
        # workers read the plain files themselves, so that reading, decoding and detecting
        # the language are not this process's serial share; a redactor numbers pseudonyms in
        # corpus order, so with one every document is read (and redacted) here
        items: Iterable[Document | CorpusEntry]
        if redact is None:
            items = reader.items(defer_files=True)
        else:
            items = (redact.redact_document(doc) for doc in reader.items())
        batches = pooled_tables(
            items,
            coder,
            jobs=jobs,
            model_path=model_path,
            batch_size=batch_size,
            reader=reader,
            progress=progress,
        )
    else:
        batches = iter_tables(
            _read(reader, redact), coder, batch_size=batch_size, progress=progress
        )
    if output is None:
        parts = [tables for _, tables in batches]
        if not parts:
            raise InputError(f"No documents to code in {', '.join(map(str, paths))}.")
        return CodingRun(concat_tables(parts), prov)

    from ..io.tables import TableWriter

    written = 0
    with TableWriter(
        output, provenance=prov, codebook=book, force=force, code_ids=code_ids
    ) as writer:
        for count, tables in batches:
            writer.append(tables)
            written += count
        if not written:
            raise InputError(f"No documents to code in {', '.join(map(str, paths))}.")
    empty = tables_for([], code_ids)
    return CodingRun(empty, prov, output=Path(output))
