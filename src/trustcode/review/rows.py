"""A coding run's tables -> the rows of the review sheet: the machine's proposals per passage,
how unsure it is about each passage, least sure first.

>>> uncertainty([0.5, None])
1.0
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ..errors import LIST_LIMIT, InputError, TrustcodeWarning
from ..io.tables import is_missing


def _proposals(
    codings: pd.DataFrame,
) -> dict[str, dict[str, tuple[float | None, list[str], list[str]]]]:
    """passage_id -> code -> (highest score or None, sources, evidences)."""
    out: dict[str, dict[str, tuple[float | None, list[str], list[str]]]] = {}
    for record in codings.to_dict("records"):
        pid, code = str(record["passage_id"]), str(record["code"]).strip()
        score = record.get("score")
        score = None if is_missing(score) else float(score)
        best, sources, evidences = out.setdefault(pid, {}).get(code, (None, [], []))
        if score is not None and (best is None or score > best):
            best = score
        source = "" if is_missing(record.get("source")) else str(record["source"])
        evidence = "" if is_missing(record.get("evidence")) else str(record["evidence"])
        out[pid][code] = (
            best,
            sources + [source] if source and source not in sources else sources,
            evidences + [evidence] if evidence and evidence not in evidences else evidences,
        )
    return out


def uncertainty(scores: Sequence[float | None]) -> float | None:
    """How unsure the machine is about a passage: the largest ``1 - |2*score - 1|`` over its
    proposed codes; a code without a score (a rule hit) counts as sure; no code at all: None.

    >>> uncertainty([0.9, None]), uncertainty([None]), uncertainty([])
    (0.2, 0.0, None)
    """
    if not scores:
        return None
    return round(max(0.0 if s is None else 1.0 - abs(2.0 * s - 1.0) for s in scores), 6)


def check_run_tables(tables: Mapping[str, pd.DataFrame]) -> None:
    for name, columns in (
        ("passages", ("doc_id", "passage_id", "start", "end", "text")),
        ("codings", ("passage_id", "code")),
    ):
        if name not in tables:
            raise InputError(
                f"write_review: the tables need a {name!r} table; found "
                f"{', '.join(tables) or 'none'}. Pass the tables of a coding run."
            )
        missing = [c for c in columns if c not in tables[name].columns]
        if missing:
            raise InputError(
                f"write_review: the {name} table lacks column(s) {', '.join(missing)}; it needs "
                f"{', '.join(columns)}. Pass the tables of a coding run."
            )


def review_rows(
    tables: Mapping[str, pd.DataFrame], leaf_ids: Sequence[str]
) -> list[dict[str, Any]]:
    """One dict per passage, least sure first."""
    proposals = _proposals(tables["codings"])
    passage_ids = {str(p) for p in tables["passages"]["passage_id"]}
    strange = sorted({c for codes in proposals.values() for c in codes} - set(leaf_ids))
    orphans = sorted(set(proposals) - passage_ids)
    if strange:
        warnings.warn(
            f"write_review: codings with code(s) {', '.join(strange)} that are not leaf codes of "
            "the codebook get no review column and are left out of the review sheet; pass the "
            "codebook the run was coded with.",
            TrustcodeWarning,
            stacklevel=3,
        )
    if orphans:
        raise InputError(
            f"write_review: codings name passages the passages table lacks: "
            f"{', '.join(orphans[:LIST_LIMIT])}. Pass the passages and codings of the same run."
        )
    languages: dict[str, str] = {}
    documents = tables.get("documents")
    if documents is not None and {"doc_id", "language"} <= set(documents.columns):
        for doc_id, language in zip(documents["doc_id"], documents["language"], strict=True):
            if isinstance(language, str) and language.strip():
                languages[str(doc_id)] = language.strip()
    rows: list[dict[str, Any]] = []
    for record in tables["passages"].to_dict("records"):
        pid = str(record["passage_id"])
        mine = {c: v for c, v in proposals.get(pid, {}).items() if c in leaf_ids}
        rows.append(
            {
                "passage_id": pid,
                "doc_id": str(record["doc_id"]),
                "start": int(record["start"]),
                "end": int(record["end"]),
                "text": "" if is_missing(record["text"]) else str(record["text"]),
                "machine_codes": "; ".join(c for c in leaf_ids if c in mine),
                "uncertainty": uncertainty([v[0] for v in mine.values()]),
                "language": languages.get(str(record["doc_id"]), ""),
                "_proposals": mine,
            }
        )
    order = sorted(
        range(len(rows)),
        key=lambda i: (rows[i]["uncertainty"] is None, -(rows[i]["uncertainty"] or 0.0), i),
    )
    return [rows[i] for i in order]
