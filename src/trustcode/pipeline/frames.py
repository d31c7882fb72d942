"""Coded documents -> the five tables of the contract (documents, passages, codings, matrix,
summary), with the contract's columns and dtypes, and batches' tables joined into one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import pandas as pd

from ..types import (
    CODING_COLUMNS,
    DOCUMENT_COLUMNS,
    MATRIX_KEY_COLUMNS,
    PASSAGE_COLUMNS,
    SUMMARY_COLUMNS,
    Coding,
    Document,
    Passage,
)
from .coder import CodedDocument


class PassageKey(Protocol):
    """What the matrix and the summary need of a passage (a :class:`Passage`, or a passage
    read from elsewhere with an id of its own)."""

    @property
    def doc_id(self) -> str: ...

    @property
    def passage_id(self) -> str: ...


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
    passages: Sequence[PassageKey], codings: Sequence[Coding], code_ids: Sequence[str]
) -> pd.DataFrame:
    """One row per passage, one 0/1 column per code."""
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
    passages: Sequence[PassageKey],
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


def concat_tables(parts: Sequence[dict[str, pd.DataFrame]]) -> dict[str, pd.DataFrame]:
    """Batches' tables as one batch's; a metadata column some batch lacks is empty text there,
    as in the documents table of one batch."""
    if len(parts) == 1:
        return parts[0]
    tables = {name: pd.concat([t[name] for t in parts], ignore_index=True) for name in parts[0]}
    documents = tables["documents"]
    extra = [c for c in documents.columns if c not in DOCUMENT_COLUMNS]
    tables["documents"] = documents.fillna(dict.fromkeys(extra, ""))
    return tables
