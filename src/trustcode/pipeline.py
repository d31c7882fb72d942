"""read -> segment -> rules + classifier -> combine -> tables.

The per-document function :func:`code_document` is the unit of work: the local engine runs it in
this process or in ``jobs`` worker processes, in document order, so every engine gives identical
tables. Workers read the corpus's plain files themselves (this process reads only tables, .csv and
.xlsx, and every file when redacting), so reading is not this process's serial share. Documents
stream through; tables are written batch by batch when an output is given.
"""

from __future__ import annotations

import functools
import gc
import os
import warnings
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import __version__
from .codebook import load_codebook
from .combine import combine
from .errors import InputError, TrustcodeWarning, UsageError
from .io.readers import CorpusEntry, CorpusReader
from .segment import parse_unit, segment
from .types import (
    CODING_COLUMNS,
    DOCUMENT_COLUMNS,
    MATRIX_KEY_COLUMNS,
    PASSAGE_COLUMNS,
    SUMMARY_COLUMNS,
    Codebook,
    Coding,
    Document,
    Passage,
    RuleHit,
)

#: the name that selects the model shipped in the package
DEFAULT_MODEL = "default"

#: how many classifier features a classifier coding's evidence names
EVIDENCE_FEATURES = 5


@dataclass
class CodedDocument:
    """What coding one document produced."""

    document: Document
    passages: list[Passage]
    codings: list[Coding]


@dataclass
class CodingRun:
    """The tables of a coding run and its provenance."""

    tables: dict[str, pd.DataFrame]
    provenance: dict[str, Any]
    output: Path | None = None
    skipped: list[str] = field(default_factory=list)


# --- the coder: codebook, rules and model, built once per process -----------------------------


class Coder:
    """Codes documents with a codebook's rules and, when given, a trained model.

    >>> coder = Coder(load_codebook(), model=None)
    >>> coded = coder.code_document(Document("d", "Volunteers wrote letters to political "
    ...     "prisoners.", language="en"))
    >>> sorted({c.code for c in coded.codings})
    ['prisoner_support']
    """

    def __init__(
        self, codebook: Codebook, *, model: Any = None, unit: str = "paragraph"
    ) -> None:
        from .rules import RuleSet

        self.codebook = codebook
        self.model = model
        self.unit = parse_unit(unit)
        self.ruleset = RuleSet(codebook)
        self.leaf_ids = [c.id for c in codebook.leaf_codes]

    def code_document(self, document: Document) -> CodedDocument:
        passages = segment(document, self.unit)
        hits_per_passage = self.ruleset.match(passages, document.language)
        scores = features = None
        if self.model is not None and passages:
            # the features are computed once and serve both the scores and the explanations
            features = self.model.features([p.text for p in passages])
            scores = self.model.predict_scores([p.text for p in passages], features=features)
        codings: list[Coding] = []
        explain_rows: dict[str, list[int]] = {}
        thresholds = None if self.model is None else self.model.thresholds_
        columns: list[str] = []
        values = None
        may_code = None  # passages the classifier may code (None: any)
        if scores is not None:
            columns, values = list(scores.columns), scores.to_numpy()
            if not self.codebook.exclusive and thresholds is not None:
                cut = np.array([thresholds.get(c, np.inf) for c in columns], dtype=np.float64)
                may_code = (values >= cut).any(axis=1)
        for row, (passage, hits) in enumerate(zip(passages, hits_per_passage, strict=True)):
            if not hits and (scores is None or (may_code is not None and not may_code[row])):
                continue  # no rule hit and no score at its threshold: no code (the common case)
            rule_codes = self.ruleset.codes(hits)
            vetoed = self.ruleset.vetoed(hits)
            passage_scores = (
                None if values is None else dict(zip(columns, values[row].tolist(), strict=True))
            )
            for code, source, score in combine(
                self.codebook, rule_codes, vetoed, passage_scores, thresholds
            ):
                evidence = _rule_evidence(rule_codes.get(code, []), passage)
                if "classifier" in source:
                    explain_rows.setdefault(code, []).append(len(codings))
                codings.append(
                    Coding(
                        doc_id=document.doc_id,
                        passage_id=passage.passage_id,
                        start=passage.start,
                        end=passage.end,
                        code=code,
                        source=source,
                        score=score,
                        evidence=evidence,
                        coder="trustcode",
                    )
                )
        if explain_rows:
            codings = self._explain(codings, explain_rows, passages, features)
        return CodedDocument(document, passages, codings)

    def _explain(
        self,
        codings: list[Coding],
        rows: dict[str, list[int]],
        passages: list[Passage],
        features: Any,
    ) -> list[Coding]:
        """Add the top contributing features to each classifier coding's evidence."""
        row_of = {p.passage_id: i for i, p in enumerate(passages)}
        out = list(codings)
        # all of the document's classifier codings in one call, whatever their codes
        indexes = [i for found in rows.values() for i in found]
        explained = self.model.explain_many(
            features, [row_of[codings[i].passage_id] for i in indexes],
            [codings[i].code for i in indexes], k=EVIDENCE_FEATURES,
        )
        for i, feats in zip(indexes, explained, strict=True):
            coding = codings[i]
            terms = ", ".join(f"'{term}'" for term, _ in feats)
            note = f"classifier {coding.score:.2f}: {terms}"
            evidence = f"{coding.evidence}; {note}" if coding.evidence else note
            out[i] = Coding(**{**coding.__dict__, "evidence": evidence})
        return out


def _rule_evidence(hits: Sequence[RuleHit], passage: Passage) -> str:
    """``rule_id: "matched words" [start-end]`` for each hit, in text order."""
    parts = []
    for hit in sorted(hits, key=lambda h: (h.start, h.end, h.rule_id)):
        parts.append(f'{hit.rule_id}: "{hit.text}" [{hit.start}-{hit.end}]')
    return "; ".join(parts)


# --- tables -----------------------------------------------------------------------------------


def _strings(values: list[str]) -> Any:
    """A text column's values; an empty one typed as text too (an empty list would become a
    float64 column), so that an empty batch joins the others without changing their dtype."""
    return values if values else pd.array([], dtype="str")


# The frames are built column by column from lists and int64/float64 arrays: a frame of row
# tuples goes through an object array and an astype copy per numeric column, which cost about
# as much again. The dtypes and column order are the contract's (test_pipeline_tables checks).


def document_frame(documents: Sequence[Document]) -> pd.DataFrame:
    """The documents table: contract columns, then metadata columns in first-seen order.

    >>> frame = document_frame([Document("d", "Hello.", language="en", metadata={"group": 1})])
    >>> frame[["doc_id", "language", "n_chars", "group"]].values.tolist()
    [['d', 'en', 6, '1']]
    """
    meta_cols: list[str] = []
    for doc in documents:
        for key in doc.metadata:
            if key not in meta_cols and key not in DOCUMENT_COLUMNS:
                meta_cols.append(key)
    columns: dict[str, Any] = {
        "doc_id": _strings([d.doc_id for d in documents]),
        "source": _strings([d.source for d in documents]),
        "title": _strings([d.title for d in documents]),
        "language": _strings([d.language or "" for d in documents]),
        "n_chars": np.array([d.n_chars for d in documents], dtype=np.int64),
        "sha256": _strings([d.sha256 for d in documents]),
    }
    for key in meta_cols:
        values = (d.metadata.get(key, "") for d in documents)
        columns[key] = _strings(["" if v is None else str(v) for v in values])
    return pd.DataFrame(columns, columns=[*DOCUMENT_COLUMNS, *meta_cols])


def passage_frame(passages: Sequence[Passage]) -> pd.DataFrame:
    """The passages table.

    >>> passage_frame([Passage("d", 0, 0, 6, "Hello.")])["passage_id"].tolist()
    ['d#0']
    """
    return pd.DataFrame(
        {
            "doc_id": _strings([p.doc_id for p in passages]),
            "passage_id": _strings([p.passage_id for p in passages]),
            "index": np.array([p.index for p in passages], dtype=np.int64),
            "start": np.array([p.start for p in passages], dtype=np.int64),
            "end": np.array([p.end for p in passages], dtype=np.int64),
            "text": _strings([p.text for p in passages]),
        },
        columns=list(PASSAGE_COLUMNS),
    )


def coding_frame(codings: Sequence[Coding]) -> pd.DataFrame:
    """The codings table; a coding without a score has NaN.

    >>> coding_frame([Coding("d", "d#0", 0, 6, "trust", "rule")])["score"].isna().tolist()
    [True]
    """
    nan = float("nan")
    return pd.DataFrame(
        {
            "doc_id": _strings([c.doc_id for c in codings]),
            "passage_id": _strings([c.passage_id for c in codings]),
            "start": np.array([c.start for c in codings], dtype=np.int64),
            "end": np.array([c.end for c in codings], dtype=np.int64),
            "code": _strings([c.code for c in codings]),
            "source": _strings([c.source for c in codings]),
            "score": np.array(
                [nan if c.score is None else c.score for c in codings], dtype=np.float64
            ),
            "evidence": _strings([c.evidence for c in codings]),
            "coder": _strings([c.coder for c in codings]),
        },
        columns=list(CODING_COLUMNS),
    )


def matrix_frame(
    passages: Sequence[Passage], codings: Sequence[Coding], code_ids: Sequence[str]
) -> pd.DataFrame:
    ids = [p.passage_id for p in passages]
    row_of = {pid: i for i, pid in enumerate(ids)}
    column_of = {code: j for j, code in enumerate(code_ids)}
    cells = np.zeros((len(ids), len(code_ids)), dtype=np.int64)
    for c in codings:
        i, j = row_of.get(c.passage_id), column_of.get(c.code)
        if i is not None and j is not None:
            cells[i, j] = 1
    keys = pd.DataFrame(
        {
            MATRIX_KEY_COLUMNS[0]: _strings([p.doc_id for p in passages]),
            MATRIX_KEY_COLUMNS[1]: _strings(ids),
        }
    )
    return pd.concat([keys, pd.DataFrame(cells, columns=list(code_ids))], axis=1)


def summary_frame(
    documents: Sequence[Document],
    passages: Sequence[Passage],
    codings: Sequence[Coding],
    code_ids: Sequence[str],
) -> pd.DataFrame:
    """Per document and code: how many passages have the code, and their share.

    >>> doc = Document("d", "A.")
    >>> summary_frame([doc], [Passage("d", 0, 0, 2, "A.")], [], ["trust"])["share"].tolist()
    [0.0]
    """
    n_passages: dict[str, int] = {}
    for p in passages:
        n_passages[p.doc_id] = n_passages.get(p.doc_id, 0) + 1
    coded: dict[tuple[str, str], set[str]] = {}
    for c in codings:
        coded.setdefault((c.doc_id, c.code), set()).add(c.passage_id)
    doc_ids = [d.doc_id for d in documents]
    counts = np.array(
        [len(coded.get((doc_id, code), ())) for doc_id in doc_ids for code in code_ids],
        dtype=np.int64,
    )
    totals = np.repeat(
        np.array([n_passages.get(doc_id, 0) for doc_id in doc_ids], dtype=np.float64),
        len(code_ids),
    )
    # a document without passages has a share of 0.0, not NaN
    share = np.divide(counts, totals, out=np.zeros(len(counts)), where=totals > 0)
    return pd.DataFrame(
        {
            "doc_id": _strings([doc_id for doc_id in doc_ids for _ in code_ids]),
            "code": _strings(list(code_ids) * len(doc_ids)),
            "passages": counts,
            "share": share,
        },
        columns=list(SUMMARY_COLUMNS),
    )


def tables_for(coded: Sequence[CodedDocument], code_ids: Sequence[str]) -> dict[str, pd.DataFrame]:
    """The five tables of the contract for some coded documents."""
    documents = [c.document for c in coded]
    passages = [p for c in coded for p in c.passages]
    codings = [k for c in coded for k in c.codings]
    return {
        "documents": document_frame(documents),
        "passages": passage_frame(passages),
        "codings": coding_frame(codings),
        "matrix": matrix_frame(passages, codings, code_ids),
        "summary": summary_frame(documents, passages, codings, code_ids),
    }


# --- the engines ------------------------------------------------------------------------------

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
    model = _load_model(model_path, codebook) if model_path else None
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
) -> Iterator[tuple[int, dict[str, pd.DataFrame]]]:
    """Code documents in order, in this process or in ``jobs`` worker processes; yield
    ``(number of documents, their tables)`` a batch at a time.

    In this process a batch is ``batch_size`` documents. Workers take a few documents each
    (at most ``batch_size``) and send back their tables rather than the coded documents: the
    tables are smaller than the texts and passages, and building them is work this process,
    which also reads and writes, need not do. Their tables are joined into batches of about
    ``batch_size`` documents.

    >>> coder = Coder(load_codebook(), model=None)
    >>> [n for n, _ in iter_tables([Document("d", "Letters to prisoners.")], coder)]
    [1]
    """
    if jobs <= 1:
        for batch in _chunks(documents, batch_size):
            yield len(batch), tables_for([coder.code_document(d) for d in batch], coder.leaf_ids)
        return
    yield from _pooled_tables(
        documents, coder, jobs=jobs, model_path=model_path, batch_size=batch_size
    )


def _pooled_tables(
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
                yield count, _concat_tables(parts)
                parts, count = [], 0
    finally:
        results.close()  # the pool ends before the coder its workers inherit is let go
        if fork:
            _WORKER = None
    if count:
        yield count, _concat_tables(parts)
    if reader is not None:
        reader.finish()


def _concat_tables(parts: Sequence[dict[str, pd.DataFrame]]) -> dict[str, pd.DataFrame]:
    """Batches' tables as one batch's; a metadata column some batch lacks is empty text there,
    as in the documents table of one batch."""
    if len(parts) == 1:
        return parts[0]
    tables = {
        name: pd.concat([t[name] for t in parts], ignore_index=True) for name in parts[0]
    }
    documents = tables["documents"]
    extra = [c for c in documents.columns if c not in DOCUMENT_COLUMNS]
    tables["documents"] = documents.fillna(dict.fromkeys(extra, ""))
    return tables


# --- models -----------------------------------------------------------------------------------


def default_model_path() -> Path:
    """Where the model shipped in the package lives."""
    return Path(__file__).parent / "data" / "default-model.skops"


def resolve_model(model: str | os.PathLike[str] | None, codebook: Codebook) -> str | None:
    """The model file to use, or None for rules only.

    ``"default"`` selects the shipped model when it exists and was trained for this codebook;
    otherwise coding is rules only, with a warning when the user's codebook is not the default one.
    """
    if model is None:
        return None
    if str(model) != DEFAULT_MODEL:
        path = Path(model)
        if not path.is_file():
            raise UsageError(f"Model file {path} does not exist: pass a model written by "
                             "'trustcode train', or leave --model out to use the default model.")
        return str(path)
    path = default_model_path()
    if not path.is_file():
        return None
    from .classify import model_codebook_sha256

    if model_codebook_sha256(path) != codebook.sha256:
        warnings.warn(
            "The default model was trained for the shipped codebook, not for "
            f"{codebook.path or 'this codebook'}: coding with rules only. Train a model for it "
            "with 'trustcode train' and pass it with --model.",
            TrustcodeWarning,
            stacklevel=2,
        )
        return None
    return str(path)


def _load_model(path: str, codebook: Codebook) -> Any:
    from .classify import load_model

    return load_model(path, codebook)


def _sha256_file(path: str) -> str:
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def provenance(
    codebook: Codebook, model_path: str | None, unit: str, options: dict[str, Any]
) -> dict[str, Any]:
    """What produced a run: versions, codebook and model hashes, unit, options, time."""
    from importlib.metadata import version

    # the installed versions, read without importing the libraries (scikit-learn alone takes
    # seconds to import, and a rules-only run never needs it)
    return {
        "trustcode_version": __version__,
        "spacy_version": version("spacy"),
        "sklearn_version": version("scikit-learn"),
        "codebook": codebook.path,
        "codebook_name": codebook.name,
        "codebook_sha256": codebook.sha256,
        "model": (
            "default (shipped)" if model_path == str(default_model_path()) else model_path
        ),
        "model_sha256": _sha256_file(model_path) if model_path else None,
        "unit": unit,
        "options": options,
        "created": datetime.now(UTC).replace(microsecond=0).isoformat(),
    }


# --- the main job -----------------------------------------------------------------------------


@contextmanager
def _frozen_heap() -> Iterator[None]:
    """Keep the objects that exist now (imported modules: spaCy, pandas, scikit-learn, ...) out
    of the garbage collector's full passes until the block ends.

    A run creates enough objects for Python to walk the whole heap twice or more, about 0.1 s
    each on a rules-only run of a few seconds, to find no garbage among objects that live as
    long as the process. Frozen, they are left alone; afterwards they are collectable again.
    Nothing happens if someone else froze objects (a server that forks workers, say).

    The youngest generation is also collected less often (every :data:`_GC_YOUNG` new
    containers rather than Python's 700): coding makes millions of short-lived tuples, lists
    and dicts without cycles, and hundreds of young collections, each promoting survivors
    towards full passes, cost about 0.2 s of a 20 MB run. Cycles are still collected.

    >>> with _frozen_heap():
    ...     pass
    """
    if gc.get_freeze_count():
        yield
        return
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(threshold[0], _GC_YOUNG), *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


#: new containers between two collections of the youngest generation during a run
_GC_YOUNG = 20_000


def _in_frozen_heap(function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _frozen_heap():
            return function(*args, **kwargs)

    return wrapper


def _read(
    reader: CorpusReader, redact: Any, progress: Callable[[Document], None] | None
) -> Iterator[Document]:
    """The corpus as :func:`~trustcode.io.readers.read_corpus` reads it, each document
    redacted and reported as soon as it is read."""
    for doc in reader.items():
        reader.accept(doc.doc_id, doc.source)
        if redact is not None:
            doc = redact.redact_document(doc)
        if progress is not None:
            progress(doc)
        yield doc
    reader.finish()


@_in_frozen_heap
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
    called with each document in corpus order: as it is read, or with ``jobs`` > 1 as its
    tables come back from a worker.

    >>> run = code_corpus("corpus")  # doctest: +SKIP
    >>> run.tables["codings"].groupby("code").size()  # doctest: +SKIP
    """
    if jobs < 1:
        raise UsageError(f"The 'jobs' parameter of code must be an int in [1, inf). Got {jobs}.")
    if output is not None:
        from .io.tables import check_output

        check_output(output, force=force)  # before loading anything: a bad name fails at once
    book = codebook if isinstance(codebook, Codebook) else load_codebook(codebook)
    unit = str(parse_unit(unit))
    model_path = resolve_model(model, book)
    loaded = _load_model(model_path, book) if model_path else None
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
        batches = _pooled_tables(
            items, coder, jobs=jobs, model_path=model_path, batch_size=batch_size,
            reader=reader, progress=progress,
        )
    else:
        batches = iter_tables(_read(reader, redact, progress), coder, batch_size=batch_size)
    if output is None:
        parts = [tables for _, tables in batches]
        if not parts:
            raise InputError(f"No documents to code in {', '.join(map(str, paths))}.")
        return CodingRun(_concat_tables(parts), prov)

    from .io.tables import TableWriter

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
