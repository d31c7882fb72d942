"""The data every section shares: the checked tables, code colours, labels and order.

:meth:`Data.build` checks the tables (required columns; passage offsets that slice back to
the text) and gives each code its colour, label and place; codes the codebook lacks are shown
in grey (:data:`UNKNOWN_COLOUR`). :func:`passage_blocks` cuts a document's passages at every
boundary, so overlapping passages show once.

>>> _colour("#1f77b4"), _colour("red")
('#1f77b4', '#999999')
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from trustcode.errors import InputError, TrustcodeWarning, UsageError
from trustcode.types import Codebook, check_tables

Tables = Mapping[str, pd.DataFrame]

#: colour of a code the codebook does not know
UNKNOWN_COLOUR = "#999999"

_REQUIRED = {
    "documents": ("doc_id",),
    "passages": ("doc_id", "passage_id", "start", "end", "text"),
    "codings": ("doc_id", "passage_id", "code"),
}
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


@dataclass
class Block:
    """A stretch of a document's text and the passages covering it (several when they overlap)."""

    text: str
    passage_ids: list[str]


@dataclass
class Data:
    codebook: Codebook
    by: str | None
    documents: pd.DataFrame
    passages: pd.DataFrame
    codings: pd.DataFrame
    colours: dict[str, str]
    labels: dict[str, str]
    order: dict[str, int]
    unknown: list[str]

    @property
    def coded_any(self) -> bool:
        return not self.codings.empty

    @classmethod
    def build(cls, tables: Tables, codebook: Codebook, by: str | None) -> Data:
        check_tables(tables, _REQUIRED, where="report")
        documents = tables["documents"].drop_duplicates("doc_id").reset_index(drop=True)
        if by is not None and by not in documents.columns:
            raise UsageError(
                f"report: by={by!r} is not a column of the documents table. Available columns: "
                f"{', '.join(map(str, documents.columns))}. Fix: pass one of them, e.g. by='group'."
            )
        passages = tables["passages"].copy()
        passages["text"] = passages["text"].fillna("").astype(str)
        for column in ("start", "end"):
            passages[column] = pd.to_numeric(passages[column], errors="coerce")
        _check_offsets(passages)
        passages = passages.astype({"start": "int64", "end": "int64"})
        passages["doc_id"] = passages["doc_id"].astype(str)
        passages["passage_id"] = passages["passage_id"].astype(str)
        codings = tables["codings"].copy()
        for column, default in (("source", ""), ("evidence", ""), ("coder", "")):
            if column not in codings.columns:
                codings[column] = default
            codings[column] = codings[column].fillna("").astype(str)
        if "score" not in codings.columns:
            codings["score"] = math.nan
        codings["score"] = pd.to_numeric(codings["score"], errors="coerce")
        for column in ("doc_id", "passage_id", "code"):
            codings[column] = codings[column].astype(str)

        order = {c.id: i for i, c in enumerate(codebook.codes)}
        colours = {c.id: _colour(c.colour) for c in codebook.codes}
        labels = {c.id: c.label or c.id for c in codebook.codes}
        unknown = sorted(set(codings["code"]) - set(order))
        if unknown:
            warnings.warn(
                f"report: code(s) {', '.join(unknown)} appear in the codings but not in codebook "
                f"{codebook.name!r}; they are shown in grey under their ids. Fix: report with "
                "the codebook the tables were coded with.",
                TrustcodeWarning,
                stacklevel=3,
            )
        for i, code in enumerate(unknown):
            order[code] = len(codebook.codes) + i
            colours[code] = UNKNOWN_COLOUR
            labels[code] = code
        return cls(codebook, by, documents, passages, codings, colours, labels, order, unknown)

    def sort_codes(self, codes: Any) -> list[str]:
        return sorted(set(codes), key=lambda c: (self.order.get(c, len(self.order)), c))

    def doc_order(self) -> list[str]:
        docs = self.documents["doc_id"].astype(str)
        return list(dict.fromkeys([*docs, *self.passages["doc_id"]]))


def _check_offsets(passages: pd.DataFrame) -> None:
    """Offsets must slice back to the text, or highlighting would cut words in the wrong place."""
    bad = passages["start"].isna() | passages["end"].isna()
    bad |= ~bad & (passages["end"] - passages["start"] != passages["text"].str.len())
    if bad.any():
        row = passages[bad].iloc[0]
        raise InputError(
            f"report: passage {row['passage_id']!r} (row {int(bad.to_numpy().argmax()) + 2} of the "
            f"passages table) has start={row['start']!r}, end={row['end']!r} but a text of "
            f"{len(row['text'])} characters. Expected end - start == len(text); fix: use the "
            f"passages table of the same run ({int(bad.sum())} row(s) differ)."
        )


def _colour(value: str) -> str:
    # Colours go into style attributes, so only a well-formed #rrggbb may pass.
    return value if _COLOUR.fullmatch(value or "") else UNKNOWN_COLOUR


def passage_blocks(passages: pd.DataFrame) -> list[Block]:
    """A document's passages cut at every passage boundary, so overlapping windows show once.

    Non-overlapping passages (paragraphs, sentences) come back one block each.
    """
    rows = passages.sort_values(["start", "end"], kind="stable")
    starts, ends = rows["start"].tolist(), rows["end"].tolist()
    texts, ids = rows["text"].tolist(), rows["passage_id"].tolist()
    bounds = sorted(set(starts) | set(ends))
    blocks, active, i = [], [], 0
    for a, b in zip(bounds, bounds[1:], strict=False):
        while i < len(starts) and starts[i] <= a:
            active.append(i)
            i += 1
        active = [k for k in active if ends[k] > a]
        if active:
            k = active[0]
            blocks.append(Block(texts[k][a - starts[k] : b - starts[k]], [ids[j] for j in active]))
    return blocks
