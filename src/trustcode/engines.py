"""Coding beyond one machine: the per-document coder on a Dask cluster.

:func:`code_with_dask` sends file *paths* (never texts) to the workers of a ``dask.distributed``
cluster. Each task reads one file with :mod:`trustcode.io.readers`, codes its documents with the
same :class:`~trustcode.pipeline.Coder` the local engine uses, and writes the file's five tables
as Parquet parts into a staging folder beside the output, which the workers must be able to see
(a shared file system). The client then appends the parts, in corpus order and in batches, to
the standard output through :class:`~trustcode.io.tables.TableWriter` and removes the staging
folder, so the result reads with :func:`~trustcode.io.tables.read_tables` and its tables are
identical to those of ``code_corpus(..., jobs=1)``.

Each worker thread builds its coder (codebook, compiled rules, model) once and keeps it for the
tasks that follow. Dask is an optional dependency: ``pip install "trustcode[dask]"``.
"""

from __future__ import annotations

import os
import secrets
import shutil
import threading
import warnings
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from .atomic import is_write_failure, write_failed
from .errors import DocumentSkipped, InputError, UsageError
from .types import TABLE_NAMES, Codebook

__all__ = ["code_with_dask"]

#: tasks in flight at once per worker thread, so a huge corpus does not flood the scheduler
_IN_FLIGHT_PER_THREAD = 4

#: the prefix of a model "path" that names a shipped model (``trustcode:muse``): each worker
#: resolves it to its own installation's copy
_SHIPPED = "trustcode:"


@dataclass(frozen=True)
class _Task:
    """One file to read and code; what the folder layout or manifest says about it."""

    index: int
    path: str  # absolute, so that a worker with another working folder finds it
    doc_id: str
    source: str  # the path as the user gave it, which the documents table records
    title: str = ""
    language: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass
class _Result:
    """What a worker reports back: never texts, only ids and where the parts are."""

    index: int
    doc_ids: list[str]
    sources: list[str]
    parts: dict[str, str] | None = None
    skipped: str | None = None  # the reason the file could not be read


# --- worker side ------------------------------------------------------------------------------

#: per thread: (codebook sha256, model path, unit) -> Coder, built once. A coder's spaCy
#: vocabulary and word caches change as it matches, so threads of one worker do not share it.
_LOCAL = threading.local()


def _coder(codebook: Codebook, model_path: str | None, unit: str) -> Any:
    from .pipeline import Coder, shipped_model_path
    from .pipeline.models import load_run_model

    coders: dict[tuple[str, str | None, str], Any] = _LOCAL.__dict__.setdefault("coders", {})
    key = (codebook.sha256, model_path, unit)
    coder = coders.get(key)
    if coder is None:
        # a shipped model lives in the worker's own installation, wherever that is
        if model_path and model_path.startswith(_SHIPPED):
            path: str | None = str(shipped_model_path(model_path.removeprefix(_SHIPPED)))
        else:
            path = model_path
        model = load_run_model(path, codebook) if path else None
        coder = Coder(codebook, model=model, unit=unit)
        coders[key] = coder
    return coder


def _code_file(
    task: _Task,
    codebook: Codebook,
    model_path: str | None,
    unit: str,
    options: dict[str, Any],
    staging: str,
    strict: bool,
) -> _Result:
    """Read one file, code its documents, write its tables as Parquet parts (on a worker)."""
    from .io.readers import read_entry
    from .pipeline import tables_for

    coder = _coder(codebook, model_path, unit)
    documents, skipped = read_entry(
        Path(task.path),
        doc_id=task.doc_id,
        title=task.title,
        file_language=task.language,
        metadata=task.metadata,
        strict=strict,
        **options,
    )
    if skipped is not None:
        return _Result(task.index, [], [], skipped=skipped)
    # the documents table records the path as the user gave it, as the local engine does
    documents = [
        replace(doc, source=task.source + doc.source[len(task.path) :])
        if doc.source.startswith(task.path)
        else doc
        for doc in documents
    ]
    coded = [coder.code_document(doc) for doc in documents]
    tables = tables_for(coded, coder.leaf_ids)
    parts: dict[str, str] = {}
    for name, frame in tables.items():
        folder = Path(staging) / name
        folder.mkdir(parents=True, exist_ok=True)
        part = folder / f"part-{task.index:05d}.parquet"
        frame.to_parquet(part, index=False)
        parts[name] = str(part)
    return _Result(task.index, [d.doc_id for d in documents], [d.source for d in documents], parts)


# --- client side ------------------------------------------------------------------------------


def _tasks(paths: Sequence[Path]) -> list[_Task]:
    """The files to code, in the order :func:`~trustcode.io.readers.read_corpus` reads them."""
    from .io.readers import folder_entries

    tasks: list[_Task] = []
    for root in paths:
        if not root.exists():
            raise InputError(f"{root}: no such file or folder; check the path")
        entries: list[Any]
        if root.is_dir():
            entries, _reason = folder_entries(root)
        else:
            entries = [None]  # a single file: read as itself
        for entry in entries:
            if entry is None:
                tasks.append(_Task(len(tasks), str(root.resolve()), root.stem, str(root)))
                continue
            tasks.append(
                _Task(
                    len(tasks),
                    str(Path(entry.path).resolve()),
                    entry.doc_id,
                    str(entry.path),
                    entry.title,
                    entry.language,
                    dict(entry.metadata),
                )
            )
    return tasks


def _client(scheduler: Any) -> tuple[Any, Any]:
    """A Dask client for ``scheduler`` (address, Client, or None: a cluster in this process),
    and the cluster to close afterwards, if this function started one."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise UsageError(
            "The Dask engine needs dask.distributed, which is not installed. Install it with "
            "pip install 'trustcode[dask]' (or dask[distributed]) on the client and every worker."
        ) from exc
    if isinstance(scheduler, Client):
        return scheduler, None
    if scheduler is None:
        # its diagnostics pages listen on the loopback address only: nothing is exposed
        cluster = LocalCluster(
            processes=False,
            n_workers=1,
            threads_per_worker=1,
            dashboard_address="127.0.0.1:0",
            worker_dashboard_address="127.0.0.1:0",
        )
        return Client(cluster), cluster
    return Client(str(scheduler)), None


def _read_parts(results: Sequence[_Result]) -> dict[str, pd.DataFrame]:
    """One batch of files' tables, concatenated in corpus order."""
    tables: dict[str, pd.DataFrame] = {}
    for name in TABLE_NAMES:
        frames = [pd.read_parquet(r.parts[name]) for r in results if r.parts]
        frame = pd.concat(frames, ignore_index=True)
        if name == "documents":
            # a metadata column missing from one file's documents is empty text, as locally
            frame = frame.fillna("")
        tables[name] = frame
    return tables


def code_with_dask(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    output: str | os.PathLike[str],
    *,
    codebook: Codebook | str | os.PathLike[str] | None = None,
    model: str | os.PathLike[str] | None = "default",
    unit: str = "paragraph",
    language: str | None = None,
    text_column: str | None = None,
    id_column: str | None = None,
    strict: bool = False,
    scheduler: Any = None,
    force: bool = False,
    batch_size: int = 64,
) -> Path:
    """Code a corpus on a Dask cluster; write the standard tables to ``output``; return its path.

    ``scheduler`` is a scheduler address (``"tcp://10.0.0.5:8786"``), a ``distributed.Client``,
    or None for a small cluster in this process. Workers read the input files and write Parquet
    parts beside ``output``, so both must be on a file system every worker sees, and every worker
    needs trustcode (with the same version) installed. The tables equal those of
    :func:`trustcode.code_corpus` with the same options.

    >>> code_with_dask("corpus", "out.parquet", scheduler="tcp://10.0.0.5:8786")  # doctest: +SKIP
    PosixPath('out.parquet')
    """
    from .codebook import load_codebook
    from .io.tables import TableWriter, check_output
    from .pipeline import provenance, resolve_model, shipped_model_name
    from .segment import parse_unit

    if batch_size < 1:
        raise UsageError(f"batch_size must be an int in [1, inf), got {batch_size}.")
    book = codebook if isinstance(codebook, Codebook) else load_codebook(codebook)
    unit = str(parse_unit(unit))
    model_path = resolve_model(model, book)
    if model_path is not None:
        from .pipeline.models import load_run_model

        load_run_model(model_path, book)  # a wrong model fails here, before any worker starts
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    roots = [Path(p) for p in paths]
    output = Path(output)
    check_output(output, force=force)
    tasks = _tasks(roots)
    options = {"text_column": text_column, "id_column": id_column, "language": language}
    prov = provenance(
        book,
        model_path,
        unit,
        # the local engine's options, in its order, and which engine ran
        {
            "paths": [str(p) for p in roots],
            **options,
            "strict": strict,
            "jobs": 1,
            "redacted": False,
            "engine": "dask",
        },
    )
    shipped = shipped_model_name(model_path)
    worker_model = _SHIPPED + shipped if shipped else model_path
    if worker_model is not None and not shipped:
        worker_model = str(Path(worker_model).resolve())
    staging = output.resolve().parent / f".{output.name}.parts-{secrets.token_hex(6)}"
    client, cluster = _client(scheduler)
    try:
        threads = max(sum(client.nthreads().values()), 1)
        window = threads * _IN_FLIGHT_PER_THREAD
        from .pipeline import Coder

        code_ids = Coder(book, model=None, unit=unit).leaf_ids
        book_future = client.scatter(book, broadcast=True)
        seen: dict[str, str] = {}
        reasons: list[str] = []
        written = 0
        with TableWriter(
            output, provenance=prov, codebook=book, force=force, code_ids=code_ids
        ) as writer:
            pending: deque[Any] = deque()
            batch: list[_Result] = []
            docs_in_batch = 0
            todo = iter(tasks)
            exhausted = False
            while pending or not exhausted:
                while not exhausted and len(pending) < window:
                    task = next(todo, None)
                    if task is None:
                        exhausted = True
                        break
                    pending.append(
                        client.submit(
                            _code_file,
                            task,
                            book_future,
                            worker_model,
                            unit,
                            options,
                            str(staging),
                            strict,
                            pure=False,
                        )
                    )
                if not pending:
                    break
                result: _Result = pending.popleft().result()
                if result.skipped:
                    reasons.append(result.skipped)
                    warnings.warn(DocumentSkipped(result.skipped), stacklevel=2)
                    continue
                for doc_id, source in zip(result.doc_ids, result.sources, strict=True):
                    if doc_id in seen:
                        raise InputError(
                            f"Duplicate document id {doc_id!r}: {seen[doc_id]} and {source}; "
                            "give one of them another id (a manifest.csv can set ids)"
                        )
                    seen[doc_id] = source
                batch.append(result)
                docs_in_batch += len(result.doc_ids)
                if docs_in_batch >= batch_size:
                    writer.append(_read_parts(batch))
                    written += docs_in_batch
                    batch, docs_in_batch = [], 0
            if batch:
                writer.append(_read_parts(batch))
                written += docs_in_batch
            if not written:
                where = ", ".join(str(r) for r in roots)
                raise InputError(
                    f"No documents to code in {where}: {'; '.join(reasons) or 'no files'}"
                )
    except OSError as exc:
        if not is_write_failure(exc):  # not the disk: a scheduler's closed connection, say
            raise
        # a worker's part of the staging folder beside the output, on a disk that filled
        shutil.rmtree(staging, ignore_errors=True)
        raise write_failed(output, exc) from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if cluster is not None:
            client.close()
            cluster.close()
    return output
