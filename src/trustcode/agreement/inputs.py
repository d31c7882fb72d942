"""Reading the codings to compare: one coder per coding, the documents they share, the codes.

Each input is one coding's tables; an input with several names in its ``coder`` column is split
into one coding per coder, and every coder gets a distinct name. The codings must cover the same
documents in the same text versions, or their offsets would not line up: where two inputs give a
document's ``sha256`` the hashes must be equal, and where both have passages with their text, the
texts must be the same at the same offsets (that is how gold, which knows passages and not whole
documents, is held to the text it was coded on).
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
class Coder:
    name: str
    codings: pd.DataFrame
    documents: pd.DataFrame | None
    passages: pd.DataFrame | None
    #: which input (1, 2, ...) it came from; coders split from one input share its tables
    input: int = 0
    #: doc_id -> (starts, ends, code index), filled on first use
    by_doc: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None


def split_coders(codings_list: Sequence[Tables]) -> list[Coder]:
    if isinstance(codings_list, Mapping):
        codings_list = [codings_list]
    coders: list[Coder] = []
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
            coders.append(Coder(names[0] if names else "", codings, documents, passages, i + 1))
        else:
            for name in names:
                own = codings[codings["coder"].astype(str) == name]
                coders.append(Coder(name, own, documents, passages, i + 1))
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


def _doc_ids(c: Coder) -> list[str] | None:
    """The documents a coder's coding covers, or None when its tables do not say."""
    for table in (c.documents, c.passages):
        if table is not None and "doc_id" in table.columns and len(table):
            return [str(d) for d in dict.fromkeys(table["doc_id"])]
    if len(c.codings):
        return [str(d) for d in dict.fromkeys(c.codings["doc_id"])]
    return None


def shared_documents(coders: list[Coder]) -> tuple[list[str], dict[str, int]]:
    """The documents every coding covers, in order, and their lengths where known.

    Raises :class:`InputError` naming every document that only some codings cover and every
    document whose text differs between codings (by ``sha256``, or by the passages' texts at
    the same offsets)."""
    known = [(c, ids) for c in coders if (ids := _doc_ids(c)) is not None]
    if not known:
        raise InputError(
            "agree: none of the codings names a document (no documents, passages or codings "
            "rows). Fix: pass each coding with its documents table."
        )
    every = set().union(*(set(ids) for _, ids in known))
    lacking = [(c.name, sorted(every - set(ids))) for c, ids in known if every - set(ids)]
    shared = [d for d in known[0][1] if all(d in set(ids) for _, ids in known)]
    differ = _hash_differences(coders, set(shared)) or _text_differences(coders, shared)
    if lacking or differ:
        problems = [f"coder {name!r} lacks {', '.join(docs)}" for name, docs in lacking]
        problems += differ
        fixes = []
        if lacking:
            fixes.append("restrict every coding to the shared documents")
        if differ:
            fixes.append(
                "code the very texts the other coding was made on (for gold: the "
                "documents its offsets were coded on, given in documents=[...])"
            )
        what = (
            "cover different documents or different texts of them"
            if lacking and differ
            else "cover different documents"
            if lacking
            else "refer to different texts of the same document(s)"
        )
        raise InputError(
            f"agree: the codings {what}, so their offsets do not line up: "
            f"{'; '.join(problems)}. Agreement compares codings of the same texts; fix: "
            f"{' and '.join(fixes)}.",
            params=("documents",) if differ else (),
        )
    n_chars: dict[str, int] = {}
    for c in coders:
        if c.documents is None or "n_chars" not in c.documents.columns:
            continue
        for doc, n in zip(c.documents["doc_id"], c.documents["n_chars"], strict=True):
            if pd.notna(n) and str(doc) not in n_chars:
                n_chars[str(doc)] = int(n)
    return known[0][1], n_chars


def _label(c: Coder, coders: list[Coder]) -> str:
    names = [o.name for o in coders if o.input == c.input]
    return (
        f"coding {c.input} (coder{'s' if len(names) > 1 else ''} "
        f"{', '.join(repr(n) for n in names)})"
    )


def _one_per_input(coders: list[Coder]) -> list[Coder]:
    first: dict[int, Coder] = {}
    for c in coders:
        first.setdefault(c.input, c)
    return list(first.values())


def _hash_differences(coders: list[Coder], shared: set[str]) -> list[str]:
    """``doc: coding 1 (...) has a text of N characters (sha256 ...), coding 2 ...`` for each
    shared document two codings give different hashes for."""
    versions: dict[str, dict[str, tuple[str, object]]] = {}
    for c in _one_per_input(coders):
        if c.documents is None or "sha256" not in c.documents.columns:
            continue
        for row in c.documents.to_dict(orient="records"):
            doc, digest = str(row["doc_id"]), row.get("sha256")
            if doc in shared and isinstance(digest, str) and digest:
                versions.setdefault(doc, {}).setdefault(
                    digest, (_label(c, coders), row.get("n_chars"))
                )
    problems = []
    for doc, by_hash in versions.items():
        if len(by_hash) > 1:
            sides = ", ".join(
                f"{label} has a text of {_chars(n)} (sha256 {digest[:12]})"
                for digest, (label, n) in by_hash.items()
            )
            problems.append(f"{doc}: {sides}")
    return problems


def _chars(n: object) -> str:
    return (
        f"{int(n):,} characters"
        if isinstance(n, (int, float)) and pd.notna(n)
        else "unknown length"
    )


def _text_differences(coders: list[Coder], shared: list[str]) -> list[str]:
    """For each shared document where two codings' passages hold different characters at the
    same offset: where, and what each reads there. Passages whose text is not exactly
    ``end - start`` characters long say nothing about the offsets and are left out."""
    inputs = []
    for c in _one_per_input(coders):
        p = c.passages
        if p is None or not {"doc_id", "start", "end", "text"} <= set(p.columns) or p.empty:
            continue
        spans: dict[str, list[tuple[int, int, str]]] = {}
        for doc, start, end, text in zip(
            p["doc_id"].astype(str), p["start"], p["end"], p["text"], strict=True
        ):
            if pd.isna(start) or pd.isna(end) or not isinstance(text, str):
                continue
            if int(end) - int(start) == len(text) and text:
                spans.setdefault(doc, []).append((int(start), int(end), text))
        inputs.append((_label(c, coders), spans))
    problems = []
    for doc in shared:
        having = [(label, spans[doc]) for label, spans in inputs if doc in spans]
        for k in range(1, len(having)):
            found = _first_difference(having[0][1], having[k][1])
            if found is not None:
                at, first, other = found
                problems.append(
                    f"{doc}: at character {at:,} {having[0][0]} reads {first!r} where "
                    f"{having[k][0]} reads {other!r}"
                )
                break
    return problems


def _first_difference(
    a: list[tuple[int, int, str]], b: list[tuple[int, int, str]]
) -> tuple[int, str, str] | None:
    """The first offset both passage lists cover with different characters, and what each
    reads from there (up to 30 characters of its covered text)."""
    length = max(e for _, e, _ in (*a, *b))
    chars = []
    for spans in (a, b):
        codes = np.zeros(length, dtype=np.uint32)  # 0: no passage covers the character
        for start, end, text in spans:
            codes[start:end] = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        # an xlsx output holds the control characters it cannot store as U+FFFD (see
        # trustcode.io.tables.xlsx): the same text read back from a workbook must still match
        control = (codes > 0) & (codes < 32) & ~np.isin(codes, (9, 10, 13))
        codes[control] = 0xFFFD
        chars.append(codes)
    first, other = chars
    differs = (first != other) & (first != 0) & (other != 0)
    if not differs.any():
        return None
    at = int(np.argmax(differs))

    def reading(codes: np.ndarray) -> str:
        stretch = codes[at : at + 30]
        gap = np.flatnonzero(stretch == 0)
        stretch = stretch[: gap[0]] if len(gap) else stretch
        text = stretch.astype("<u4").tobytes().decode("utf-32-le")
        return text + ("…" if len(stretch) == 30 else "")

    return at, reading(first), reading(other)


def codes_compared(coders: list[Coder], codes: Sequence[str] | None) -> list[str]:
    if codes is not None:
        return [codes] if isinstance(codes, str) else [str(c) for c in codes]
    found = set().union(*(set(c.codings["code"].astype(str)) for c in coders))
    if not found:
        raise InputError(
            "agree: no coding contains any code, so there is nothing to agree on. Fix: pass "
            "codes=[...] to measure agreement on codes nobody applied, or check the inputs."
        )
    return sorted(found)


def add_note(notes: list[str], message: str) -> None:
    notes.append(message)
    warnings.warn(message, TrustcodeWarning, stacklevel=3)
