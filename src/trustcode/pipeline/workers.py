"""The local engine: documents -> tables batch by batch, in this process or in ``jobs`` worker
processes (fork, or spawn where fork is missing).

The worker's coder is the module-level ``_WORKER``, which :func:`pooled_tables` sets (fork)
or :func:`_init_worker` builds (spawn) and :func:`_work` reads: all of them live here, so
that they share one global, and are top-level, so that they pickle by module path.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from typing import Any

import pandas as pd

from ..errors import InputError
from ..io.readers import CorpusEntry, CorpusReader
from ..types import Codebook, Document
from .coder import CodedDocument, Coder
from .frames import concat_tables, tables_for
from .models import load_run_model

_WORKER: Coder | None = None

#: documents a worker codes per task: enough that building their tables costs little per
#: document, few enough that both workers stay busy on a small corpus
_WORKER_CHUNK = 8

#: what a worker says of each item of its chunk, in order: None for a document it was sent;
#: for a file it read, the documents (or, when the parent needs no texts, their ids and
#: sources), the reason it was skipped, or the error that ends the run (``strict``)
_Outcome = list[Document] | list[tuple[str, str]] | str | InputError | None


def _init_worker(codebook: Codebook, model_path: str | None, unit: str) -> None:
    global _WORKER
    model = load_run_model(model_path, codebook) if model_path else None
    _WORKER = Coder(codebook, model=model, unit=unit)


def _work(
    task: tuple[list[Document | CorpusEntry], dict[str, Any], bool],
) -> tuple[dict[str, pd.DataFrame], list[_Outcome]]:
    """Read (entries) and code (everything) one chunk in a worker; its tables and outcomes."""
    assert _WORKER is not None, "worker not initialized"
    items, options, send_documents = task
    coded: list[CodedDocument] = []
    outcomes: list[_Outcome] = []
    for item in items:
        outcome: _Outcome = None
        if isinstance(item, Document):
            documents = [item]
        else:
            try:
                documents, skipped = item.read(**options)
            except InputError as err:  # strict: the parent raises it when its turn comes
                outcomes.append(err)
                break
            if skipped is not None:
                outcomes.append(skipped)
                continue
            outcome = documents if send_documents else [(d.doc_id, d.source) for d in documents]
        outcomes.append(outcome)
        coded.extend(_WORKER.code_document(d) for d in documents)
    return tables_for(coded, _WORKER.leaf_ids), outcomes


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Lists of ``size`` items; when the items fail, the items before the failure first."""
    chunk: list[Any] = []
    try:
        for item in items:
            chunk.append(item)
            if len(chunk) >= size:
                yield chunk
                chunk = []
    except Exception:
        if chunk:
            yield chunk
        raise
    if chunk:
        yield chunk


def iter_tables(
    documents: Iterable[Document],
    coder: Coder,
    *,
    jobs: int = 1,
    model_path: str | None = None,
    batch_size: int = 64,
    progress: Callable[[Document], None] | None = None,
) -> Iterator[tuple[int, dict[str, pd.DataFrame]]]:
    """Code documents in order, in this process or in ``jobs`` worker processes; yield
    ``(number of documents, their tables)`` a batch at a time. ``progress`` is called with
    each document once it is coded.

    In this process a batch is ``batch_size`` documents. Workers take a few documents each
    (at most ``batch_size``) and send back their tables rather than the coded documents: the
    tables are smaller than the texts and passages, and building them is work this process,
    which also reads and writes, need not do. Their tables are joined into batches of about
    ``batch_size`` documents.

    >>> from trustcode.codebook import load_codebook
    >>> coder = Coder(load_codebook(), model=None)
    >>> [n for n, _ in iter_tables([Document("d", "Letters to prisoners.")], coder)]
    [1]
    """
    if jobs <= 1:
        for batch in _chunks(documents, batch_size):
            coded = []
            for document in batch:
                coded.append(coder.code_document(document))
                if progress is not None:
                    progress(document)
            yield len(batch), tables_for(coded, coder.leaf_ids)
        return
    yield from pooled_tables(
        documents,
        coder,
        jobs=jobs,
        model_path=model_path,
        batch_size=batch_size,
        progress=progress,
    )


def pooled_tables(
    items: Iterable[Document | CorpusEntry],
    coder: Coder,
    *,
    jobs: int,
    model_path: str | None,
    batch_size: int,
    reader: CorpusReader | None = None,
    progress: Callable[[Document], None] | None = None,
) -> Iterator[tuple[int, dict[str, pd.DataFrame]]]:
    """:func:`iter_tables` in ``jobs`` worker processes, which also read the corpus entries
    among ``items`` (a ``reader``'s, which then hears of each document and skipped file in
    corpus order, as :func:`~trustcode.io.readers.read_corpus` would)."""
    import multiprocessing as mp

    global _WORKER
    fork = "fork" in mp.get_all_start_methods()
    context = mp.get_context("fork" if fork else "spawn")
    if fork:
        # forked workers inherit this coder (model loaded, rules compiled) instead of each
        # importing, loading and compiling it again
        for language in coder.codebook.languages:
            coder.ruleset.prepare(language)
        if coder.model is not None:
            coder.model.features(["-"])  # builds the feature indexes once, for every worker
        _WORKER = coder
        init: Callable[..., None] | None = None
        initargs: tuple[Any, ...] = ()
    else:
        init, initargs = _init_worker, (coder.codebook, model_path, str(coder.unit))
    options = reader.options if reader is not None else {}
    # the worker sends texts back only for the progress callback
    send_documents = progress is not None

    def settle(
        chunk: list[Document | CorpusEntry], result: Any
    ) -> tuple[int, dict[str, pd.DataFrame]]:
        tables, outcomes = result
        for item, outcome in zip(chunk, outcomes, strict=False):  # a worker stops at an error
            if isinstance(outcome, InputError):
                raise outcome
            if isinstance(outcome, str):
                assert reader is not None, "only a reader's entries are read in workers"
                reader.skip(outcome)
                continue
            read: Sequence[Document | tuple[str, str]] = (
                outcome if outcome is not None else [item] if isinstance(item, Document) else []
            )
            for document in read:
                if isinstance(document, Document):
                    if reader is not None:
                        reader.accept(document.doc_id, document.source)
                    if progress is not None:
                        progress(document)
                elif reader is not None:
                    reader.accept(*document)
        return len(tables["documents"]), tables

    def settled() -> Generator[tuple[int, dict[str, pd.DataFrame]], None, None]:
        # the chunks are read and sent from this thread, at most 4 per worker ahead of the one
        # awaited: the corpus never piles up in the task queue, and every skip warning or
        # error, whether found here or in a worker, comes in corpus order
        window = 4 * jobs
        pending: deque[tuple[list[Document | CorpusEntry], Any]] = deque()
        chunks = _chunks(items, max(1, min(_WORKER_CHUNK, batch_size)))
        if fork:
            # the first chunk is coded here, before the workers fork: they inherit the caches
            # it filled (the rules' and the classifier's tables of the commonest words), which
            # each of them would otherwise fill again on its own
            first = next(chunks, None)
            if first is None:
                return
            yield settle(first, _work((first, options, send_documents)))
        with context.Pool(jobs, initializer=init, initargs=initargs) as pool:
            while True:
                try:
                    chunk = next(chunks)
                except StopIteration:
                    break
                except Exception:  # reading here failed: what came before it is settled first
                    while pending:
                        chunk, result = pending.popleft()
                        yield settle(chunk, result.get())
                    raise
                task = (chunk, options, send_documents)
                pending.append((chunk, pool.apply_async(_work, (task,))))
                if len(pending) > window:
                    chunk, result = pending.popleft()
                    yield settle(chunk, result.get())
            while pending:
                chunk, result = pending.popleft()
                yield settle(chunk, result.get())

    # the workers' small chunks are joined into batches of about batch_size documents, as in
    # one process: each batch written costs a Parquet row group and a round of conversions
    parts: list[dict[str, pd.DataFrame]] = []
    count = 0
    results = settled()
    try:
        for n, tables in results:
            parts.append(tables)
            count += n
            if count >= batch_size:
                yield count, concat_tables(parts)
                parts, count = [], 0
    finally:
        results.close()  # the pool ends before the coder its workers inherit is let go
        if fork:
            _WORKER = None
    if count:
        yield count, concat_tables(parts)
    if reader is not None:
        reader.finish()
