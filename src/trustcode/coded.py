"""Any coding a researcher hands trustcode -> the tables of the contract.

``compare``, ``agree``, ``report`` and ``export`` read codings from wherever they came from: a
trustcode output (any format it writes), a gold file (hand-coded offsets or a plain passage
table with ``doc_id``, ``text``, ``codes``), or a REFI-QDA project from another tool. This module
turns each into the same ``documents``, ``passages`` and ``codings`` tables.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import InputError
from .types import CODING_COLUMNS, DOCUMENT_COLUMNS, PASSAGE_COLUMNS, Codebook


def gold_to_tables(gold: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """A gold table (from :func:`trustcode.gold.read_gold`) as documents, passages, codings.

    Every code of a passage becomes a coding with ``source = human`` and the gold's coder.

    >>> from trustcode.gold import read_gold
    >>> tables = gold_to_tables(read_gold("g.csv", documents=["corpus"]))  # doctest: +SKIP
    """
    gold = gold.reset_index(drop=True)
    docs = []
    for doc_id, part in gold.groupby("doc_id", sort=False):
        language = next((str(v) for v in part["language"] if isinstance(v, str) and v), "")
        ends = pd.to_numeric(part["end"], errors="coerce")
        docs.append(
            {
                "doc_id": doc_id,
                "source": "",
                "title": str(doc_id),
                "language": language,
                "n_chars": int(ends.max()) if ends.notna().any() else 0,
                "sha256": None,  # gold knows passages, not the whole text
            }
        )
    documents = pd.DataFrame(docs, columns=list(DOCUMENT_COLUMNS))
    index = gold.groupby("doc_id", sort=False).cumcount()
    starts = pd.to_numeric(gold["start"], errors="coerce")
    ends = pd.to_numeric(gold["end"], errors="coerce")
    if starts.isna().any() or ends.isna().any():
        starts, ends = _joined_offsets(gold, starts, ends)
    passages = pd.DataFrame(
        {
            "doc_id": gold["doc_id"].astype(str),
            "passage_id": gold["passage_id"].astype(str),
            "index": index.astype("int64"),
            "start": starts,
            "end": ends,
            "text": gold["text"].fillna("").astype(str),
        },
        columns=list(PASSAGE_COLUMNS),
    )
    rows = []
    for row, s, e in zip(gold.itertuples(index=False), starts, ends, strict=True):
        for code in row.codes:
            rows.append(
                (
                    row.doc_id,
                    row.passage_id,
                    s,
                    e,
                    code,
                    "human",
                    float("nan"),
                    "",
                    row.coder or "gold",
                )
            )
    codings = pd.DataFrame(rows, columns=list(CODING_COLUMNS))
    codings["score"] = codings["score"].astype("float64")
    return {"documents": documents, "passages": passages, "codings": codings}


def _joined_offsets(
    gold: pd.DataFrame, starts: pd.Series, ends: pd.Series
) -> tuple[pd.Series, pd.Series]:
    """Offsets for passages that came without them (a spreadsheet of passages): each document's
    text is taken to be its passages joined by a blank line, in table order."""
    starts, ends = starts.copy(), ends.copy()
    position: dict[str, int] = {}
    for i, (doc_id, text) in enumerate(zip(gold["doc_id"], gold["text"].fillna(""), strict=True)):
        if pd.isna(starts.iloc[i]) or pd.isna(ends.iloc[i]):
            start = position.get(doc_id, 0)
            starts.iloc[i], ends.iloc[i] = start, start + len(text)
        position[doc_id] = int(ends.iloc[i]) + 2
    return starts.astype("int64"), ends.astype("int64")


def _is_trustcode_output(path: Path) -> bool:
    from .gold import is_trustcode_tables

    return is_trustcode_tables(path)


def read_coded(
    path: str | os.PathLike[str],
    *,
    codebook: Codebook | None = None,
    unreviewed: str = "reject",
    documents: Sequence[str | os.PathLike[str]] = (),
) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Read one coding from any format trustcode knows; return its tables and provenance.

    ``unreviewed`` says what a review workbook's undecided machine codes count as (see
    :func:`trustcode.review.read_review`); ``documents`` where the documents of hand-coded gold
    offsets are (see :func:`trustcode.gold.read_gold`).

    >>> tables, provenance = read_coded("coded.xlsx")  # doctest: +SKIP
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p} does not exist: name a trustcode output, a gold file or a .qdpx.")
    if p.suffix.lower() == ".qdpx":
        from .refiqda import import_qdpx

        return import_qdpx(p), {"source": str(p), "format": "qdpx"}
    from .review import is_review_workbook

    if _is_trustcode_output(p) and not is_review_workbook(p):
        from .io.tables import read_tables

        return read_tables(p)
    from .gold import read_gold

    gold = read_gold([p], codebook=codebook, unreviewed=unreviewed, documents=documents)
    if gold.empty:
        raise InputError(f"{p} holds no coded passages.")
    return gold_to_tables(gold), {"source": str(p), "format": "gold"}


def read_coded_many(
    paths: Sequence[str | os.PathLike[str]],
    *,
    codebook: Codebook | None = None,
    unreviewed: str = "reject",
    documents: Sequence[str | os.PathLike[str]] = (),
) -> list[dict[str, pd.DataFrame]]:
    """:func:`read_coded` for each path, in order (tables only)."""
    return [
        read_coded(p, codebook=codebook, unreviewed=unreviewed, documents=documents)[0]
        for p in paths
    ]
