"""Reading the codings to compare: one coder per coding, the documents they share, the codes.

Each input is one coding's tables; an input with several names in its ``coder`` column is split
into one coding per coder, and every coder gets a distinct name. The codings must cover the same
documents in the same text versions (same ``sha256``), or their offsets would not line up.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from trustcode.errors import InputError, TrustcodeWarning, UsageError

Tables = Mapping[str, pd.DataFrame]


@dataclass
class _Coder:
    name: str
    codings: pd.DataFrame
    documents: pd.DataFrame | None
    passages: pd.DataFrame | None
    #: doc_id -> (starts, ends, code index), filled on first use
    by_doc: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None



def _split_coders(codings_list: Sequence[Tables]) -> list[_Coder]:
    if isinstance(codings_list, Mapping):
        codings_list = [codings_list]
    coders: list[_Coder] = []
    for i, tables in enumerate(codings_list):
        if not isinstance(tables, Mapping) or "codings" not in tables:
            found = sorted(tables) if isinstance(tables, Mapping) else type(tables).__name__
            raise InputError(
                f"agree: input {i + 1} has no 'codings' table (found {found}). Expected a dict "
                "with keys codings, documents, passages; fix: read it with read_tables()."
            )
        codings = tables["codings"]
        missing = [c for c in ("doc_id", "start", "end", "code") if c not in codings.columns]
        if missing:
            raise InputError(
                f"agree: the codings table of input {i + 1} lacks column(s) {missing}; it has "
                f"{list(codings.columns)}. Fix: use the column names of the table contract."
            )
        spans = codings[["start", "end"]].apply(pd.to_numeric, errors="coerce")
        if spans.isna().any(axis=None):
            bad = int(spans.isna().any(axis=1).sum())
            raise InputError(
                f"agree: {bad} row(s) of the codings table of input {i + 1} have no numeric "
                "start/end offsets. Expected character offsets into the document text; fix: "
                "fill them in (a passage's start and end) or drop those rows."
            )
        documents = tables.get("documents")
        passages = tables.get("passages")
        names = []
        if "coder" in codings.columns:
            names = [n for n in dict.fromkeys(codings["coder"].dropna().astype(str)) if n]
        if len(names) <= 1:
            coders.append(_Coder(names[0] if names else "", codings, documents, passages))
        else:
            for name in names:
                own = codings[codings["coder"].astype(str) == name]
                coders.append(_Coder(name, own, documents, passages))
    taken: set[str] = set()
    for k, c in enumerate(coders, start=1):
        name = c.name or f"coder{k}"
        n = 2
        while name in taken:  # two machine runs both called "trustcode", say
            name, n = f"{c.name or f'coder{k}'} ({n})", n + 1
        c.name = name
        taken.add(name)
    if len(coders) < 2:
        raise UsageError(
            f"agree: agreement needs at least two codings; got {len(coders)} coder(s) "
            f"({', '.join(c.name for c in coders)}). Fix: pass a list of two or more codings."
        )
    return coders


def _doc_ids(c: _Coder) -> list[str] | None:
    """The documents a coder's coding covers, or None when its tables do not say."""
    for table in (c.documents, c.passages):
        if table is not None and "doc_id" in table.columns and len(table):
            return [str(d) for d in dict.fromkeys(table["doc_id"])]
    if len(c.codings):
        return [str(d) for d in dict.fromkeys(c.codings["doc_id"])]
    return None


def _shared_documents(coders: list[_Coder]) -> tuple[list[str], dict[str, int]]:
    known = [(c, ids) for c in coders if (ids := _doc_ids(c)) is not None]
    if not known:
        raise InputError(
            "agree: none of the codings names a document (no documents, passages or codings "
            "rows). Fix: pass each coding with its documents table."
        )
    every = set().union(*(set(ids) for _, ids in known))
    lacking = [(c.name, sorted(every - set(ids))) for c, ids in known if every - set(ids)]
    if lacking:
        detail = "; ".join(f"coder {name!r} lacks {', '.join(docs)}" for name, docs in lacking)
        raise InputError(
            f"agree: the codings cover different documents ({detail}). Agreement compares "
            "codings of the same documents; fix: restrict every coding to the shared documents."
        )
    hashes: dict[str, set[str]] = {}
    n_chars: dict[str, int] = {}
    for c in coders:
        if c.documents is None:
            continue
        for row in c.documents.to_dict(orient="records"):
            doc = str(row["doc_id"])
            if isinstance(row.get("sha256"), str) and row["sha256"]:
                hashes.setdefault(doc, set()).add(row["sha256"])
            if pd.notna(row.get("n_chars")) and doc not in n_chars:
                n_chars[doc] = int(row["n_chars"])
    clash = sorted(d for d, h in hashes.items() if len(h) > 1)
    if clash:
        raise InputError(
            f"agree: document(s) {', '.join(clash)} have different texts in different codings "
            "(sha256 differs), so their offsets do not line up. Fix: code the same text versions."
        )
    return known[0][1], n_chars


def _code_ids(coders: list[_Coder], codes: Sequence[str] | None) -> list[str]:
    if codes is not None:
        return [codes] if isinstance(codes, str) else [str(c) for c in codes]
    found = set().union(*(set(c.codings["code"].astype(str)) for c in coders))
    if not found:
        raise InputError(
            "agree: no coding contains any code, so there is nothing to agree on. Fix: pass "
            "codes=[...] to measure agreement on codes nobody applied, or check the inputs."
        )
    return sorted(found)


def _warn(notes: list[str], message: str) -> None:
    notes.append(message)
    warnings.warn(message, TrustcodeWarning, stacklevel=3)
