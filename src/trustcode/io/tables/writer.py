"""Writing a run's tables: :class:`TableWriter` batch by batch, :func:`write_tables` at
once."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import pandas as pd

from trustcode.atomic import (
    check_target,
    close_quietly,
    disk_size,
    move_into_place,
    remove_quietly,
    temporary_beside,
    write_failed,
)
from trustcode.errors import OutputError
from trustcode.types import DOCUMENT_COLUMNS, MATRIX_KEY_COLUMNS, TABLE_NAMES, Codebook

from .cells import CSV_ESCAPE, CSV_ESCAPE_KEY, escape_csv_frame
from .contract import REQUIRED, check_columns, coerce, empty_table, is_missing
from .provenance import provenance_json
from .targets import (
    FOLDER_EXT,
    PARQUET_KEY,
    PROVENANCE_FILE,
    PathLike,
    check_output,
    check_replaceable,
    output_format,
)
from .xlsx import check_excel_limits, check_excel_rows, write_xlsx

#: batches of the documents table a TableWriter holds before joining them into one
HELD_DOCUMENT_BATCHES = 256


class TableWriter:
    """Write the tables of a run batch by batch, into place atomically at :meth:`close`.

    CSV, JSON Lines and Parquet batches of passages, codings, matrix and summary go to disk as
    they come, so memory does not grow with the corpus; an .xlsx workbook is buffered and
    written at :meth:`close`. The documents table (one short row per document, no texts) is
    held until :meth:`close`, because its metadata columns may first appear in any batch: it is
    written as one batch of all documents would be, contract columns then metadata columns in
    first-seen order, with "" where a batch had no such column (that column is then text).
    The other tables keep the columns of their first batch. Used as a context manager it closes
    on success and aborts on an exception; a failed :meth:`append` or :meth:`close` aborts by
    itself, leaving no partial output and any earlier output untouched. Tables that never get a
    batch are written empty, with their contract columns.

    >>> with TableWriter("coded", provenance={"unit": "paragraph"}, code_ids=["trust"]) as w:
    ...     w.append({"codings": codings_batch})  # doctest: +SKIP
    """

    def __init__(
        self,
        path: PathLike,
        *,
        provenance: Mapping[str, Any],
        codebook: Codebook | None = None,
        force: bool = False,
        code_ids: list[str],
    ) -> None:
        self.path = Path(path)
        self.format = output_format(self.path)
        check_output(self.path, force=force)
        self._provenance_text = provenance_json(provenance)
        self._provenance = json.loads(self._provenance_text)
        self._codebook = codebook
        self._force = force
        self._code_ids = [str(c) for c in code_ids]
        clash = sorted(
            {c for c in self._code_ids if self._code_ids.count(c) > 1 or c in MATRIX_KEY_COLUMNS}
        )
        if clash:
            raise OutputError(
                f"code ids {', '.join(clash)} repeat or clash with the matrix's key columns; "
                "each code id must be unique and not doc_id or passage_id."
            )
        self._columns: dict[str, list[str]] = {"matrix": list(MATRIX_KEY_COLUMNS) + self._code_ids}
        self._started: set[str] = set()
        self._buffers: dict[str, list[pd.DataFrame]] = {t: [] for t in TABLE_NAMES}
        self._rows = dict.fromkeys(TABLE_NAMES, 0)
        # the documents table is held until close, as checked batches, with the metadata
        # columns seen so far in first-seen order
        self._documents: list[pd.DataFrame] = []
        self._document_extras: list[str] = []
        self._document_rows = 0
        self._handles: dict[str, IO[str]] = {}
        self._parquet: dict[str, Any] = {}
        self._sinks: list[Any] = []  # the parquet files, opened here so that we close them
        self._state = "open"
        self._tmp = temporary_beside(self.path, ".xlsx" if self.format == "xlsx" else "")
        if self.format != "xlsx":
            self._guard(lambda: self._tmp.mkdir())

    # public ----------------------------------------------------------------------------------

    def append(self, tables: Mapping[str, pd.DataFrame]) -> None:
        """Add a batch of rows to some of the tables (any subset of :data:`TABLE_NAMES`)."""
        self._require_open()
        self._guard(lambda: self._append(tables))

    def close(self) -> Path:
        """Finish every table, write the provenance and move the output into place."""
        if self._state == "closed":
            return self.path
        self._require_open()
        self._guard(self._close)
        self._state = "closed"
        return self.path

    def abort(self) -> None:
        """Remove the temporary output; an earlier output at the path stays as it was.

        It cannot fail: on a full or failing disk, closing a half-written file raises again,
        and that error is dropped (the file is deleted next)."""
        if self._state != "open":
            return
        self._state = "aborted"
        close_quietly(*self._handles.values(), *self._parquet.values(), *self._sinks)
        for writer in self._parquet.values():
            writer.is_open = False  # else pyarrow's __del__ retries the failed close, and prints
        remove_quietly(self._tmp)

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None:
            self.abort()
        elif self._state == "open":
            self.close()

    # internals -------------------------------------------------------------------------------

    def _require_open(self) -> None:
        if self._state != "open":
            raise OutputError(f"the writer of {self.path} is already {self._state}.")

    def _guard(self, step: Any) -> None:
        try:
            step()
        except OSError as exc:
            written = disk_size(self._tmp)
            self.abort()
            raise write_failed(self.path, exc, written=written) from exc
        except BaseException:
            self.abort()
            raise

    def _append(self, tables: Mapping[str, pd.DataFrame]) -> None:
        unknown = [n for n in tables if n not in TABLE_NAMES]
        if unknown:
            raise OutputError(
                f"unknown table(s) {', '.join(map(str, unknown))}; expected some of "
                f"{', '.join(TABLE_NAMES)}."
            )
        for name in TABLE_NAMES:
            if name == "documents" and name in tables:
                self._hold_documents(tables[name])
            elif name in tables:
                self._write(name, self._conform(name, tables[name]))

    def _hold_documents(self, frame: pd.DataFrame) -> None:
        """Check a batch of the documents table now (so a bad value fails at its batch) and
        keep it for :meth:`_documents_frame`."""
        where = f"writing {self.path}"
        check_columns(frame, "documents", where, OutputError)
        if not all(isinstance(c, str) for c in frame.columns):
            frame = frame.rename(columns=str)  # the header of a written table is text
        for column in frame.columns:
            if column not in DOCUMENT_COLUMNS and column not in self._document_extras:
                self._document_extras.append(column)
        self._document_rows += len(frame)
        if self.format == "xlsx":
            check_excel_rows("documents", self._document_rows, self.path)
        frame = coerce(frame, "documents", where=where, error=OutputError, extras_as_text=False)
        self._documents.append(frame)
        if len(self._documents) >= HELD_DOCUMENT_BATCHES:
            # many small frames cost more memory and a slower concat than one; joining them
            # early gives the same table, since joining joined batches changes nothing
            self._documents = [self._documents_frame()]

    def _documents_frame(self) -> pd.DataFrame:
        """The held batches as one documents table, as one batch of all documents gives it."""
        columns = [*DOCUMENT_COLUMNS, *self._document_extras]
        parts = []
        for frame in self._documents:
            absent = [c for c in columns if c not in frame.columns]
            if absent or list(frame.columns) != columns:
                # a metadata column a batch lacks is empty text there, as in one batch
                frame = frame.assign(**dict.fromkeys(absent, ""))[columns]
            parts.append(frame)
        whole = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
        # a column of numbers in some batches and "" in others is text: converted here
        where = f"writing {self.path}"
        return coerce(whole, "documents", where=where, error=OutputError, extras_as_text=False)

    def _conform(self, name: str, frame: pd.DataFrame) -> pd.DataFrame:
        where = f"writing {self.path}"
        check_columns(frame, name, where, OutputError)
        required = list(REQUIRED[name])
        extras = [str(c) for c in frame.columns if c not in required]
        if name not in self._columns:
            self._columns[name] = required + extras
        columns = self._columns[name]
        unexpected = [c for c in extras if c not in columns]
        absent = [c for c in columns if c not in frame.columns]
        if name == "matrix" and (unexpected or absent):
            raise OutputError(
                f"{where}: the matrix's code columns must be the code ids "
                f"{', '.join(self._code_ids) or '(none)'}; unexpected: "
                f"{', '.join(unexpected) or 'none'}, missing: {', '.join(absent) or 'none'}."
            )
        if unexpected:
            raise OutputError(
                f"{where}: table {name} got column(s) {', '.join(unexpected)} that its first "
                f"batch did not have ({', '.join(columns)}); give every batch the same columns."
            )
        if list(frame.columns) != columns:
            frame = frame.reset_index(drop=True)
            for column in absent:  # an extra column a later batch lacks stays empty
                frame[column] = ""
            frame = frame[columns]
        return coerce(frame, name, where=where, error=OutputError, extras_as_text=False)

    def _write(self, name: str, frame: pd.DataFrame) -> None:
        self._rows[name] += len(frame)
        if self.format == "xlsx":
            # fail at the batch that overflows, long before the workbook is built
            check_excel_rows(name, self._rows[name], self.path)
            self._buffers[name].append(frame)
            self._started.add(name)
            return
        file = self._tmp / f"{name}{FOLDER_EXT[self.format]}"
        first = name not in self._started
        self._started.add(name)
        if self.format == "csv":
            if first:
                self._handles[name] = open(file, "w", encoding="utf-8", newline="")
            text = escape_csv_frame(frame)
            text.to_csv(self._handles[name], header=first, index=False, lineterminator="\n")
        elif self.format == "jsonl":
            if first:
                self._handles[name] = open(file, "w", encoding="utf-8", newline="\n")
            handle = self._handles[name]
            for record in frame.to_dict("records"):
                clean = {k: (None if is_missing(v) else v) for k, v in record.items()}
                handle.write(json.dumps(clean, ensure_ascii=False, default=str) + "\n")
        else:
            self._write_parquet(name, file, frame, first)

    def _write_parquet(self, name: str, file: Path, frame: pd.DataFrame, first: bool) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            # one thread: a pool of threads per small batch costs more than it saves (10x)
            if first:
                table = pa.Table.from_pandas(frame, preserve_index=False, nthreads=1)
                meta = dict(table.schema.metadata or {})
                meta[PARQUET_KEY] = self._provenance_text.encode("utf-8")
                table = table.replace_schema_metadata(meta)
                # our own file: a writer that fails (even in its constructor) leaves it to us to
                # close, rather than open on a deleted file, holding its disk space
                self._sinks.append(pa.OSFile(str(file), "wb"))
                self._parquet[name] = pq.ParquetWriter(self._sinks[-1], table.schema)
            else:
                schema = self._parquet[name].schema
                table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False, nthreads=1)
            self._parquet[name].write_table(table)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
            raise OutputError(
                f"writing {self.path}: table {name} cannot be stored as Parquet ({exc}); give "
                "every batch the same column types."
            ) from None

    def _close(self) -> None:
        if self._documents:
            self._write("documents", self._documents_frame())
            self._documents = []
        for name in TABLE_NAMES:
            if name not in self._started:
                self._write(name, empty_table(name, self._code_ids if name == "matrix" else []))
        if self.format == "xlsx":
            frames = {n: pd.concat(self._buffers[n], ignore_index=True) for n in TABLE_NAMES}
            check_excel_limits(frames, self.path)
            write_xlsx(self._tmp, frames, self._provenance, self._codebook)
        else:
            for handle in self._handles.values():
                handle.close()
            for writer in self._parquet.values():
                writer.close()
            for sink in self._sinks:
                sink.close()
            provenance_text = self._provenance_text
            if self.format == "csv":  # tells read_tables to undo the escaping
                provenance_text = provenance_json({**self._provenance, CSV_ESCAPE_KEY: CSV_ESCAPE})
            (self._tmp / PROVENANCE_FILE).write_text(provenance_text + "\n", "utf-8")
        self._move_into_place()

    def _move_into_place(self) -> None:
        target = self.path
        if target.exists() or target.is_symlink():
            check_target(target, force=self._force)
            check_replaceable(target, self.format)
        move_into_place(self._tmp, target)


def write_tables(
    tables: Mapping[str, pd.DataFrame],
    path: PathLike,
    *,
    provenance: Mapping[str, Any],
    codebook: Codebook | None = None,
    force: bool = False,
) -> Path:
    """Write a run's tables and provenance to ``path`` in the format its suffix names.

    The matrix's code columns are its columns after ``doc_id`` and ``passage_id``. A
    ``codebook`` colours the xlsx codes and adds a Codebook sheet; other formats ignore it.

    >>> write_tables(tables, "coded.xlsx", provenance={"unit": "paragraph"})  # doctest: +SKIP
    PosixPath('coded.xlsx')
    """
    if "matrix" in tables:
        code_ids = [str(c) for c in tables["matrix"].columns if c not in MATRIX_KEY_COLUMNS]
    elif codebook is not None:
        code_ids = [c.id for c in codebook.leaf_codes]
    else:
        code_ids = []
    with TableWriter(
        path, provenance=provenance, codebook=codebook, force=force, code_ids=code_ids
    ) as writer:
        writer.append(tables)
    return writer.path
