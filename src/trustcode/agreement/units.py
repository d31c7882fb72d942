"""The units agreement is measured on, and which coder coded each unit with which code.

``passage`` units are the first coding's passages, ``document`` units whole documents and
``character`` units runs of characters between span boundaries (weighted by their length).
Each builder returns a :class:`Units`: the units as rows and the decision cube
``coded[unit, code, coder]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from trustcode.errors import InputError

from .inputs import Coder

AGREEMENT_UNITS: tuple[str, ...] = ("passage", "document", "character")
#: a unit is coded when a span covers at least this share of it (``passage`` units)
MIN_OVERLAP = 0.5


@dataclass
class Units:
    """The units as rows, and the decision cube ``coded[unit, code, coder]``."""

    frame: pd.DataFrame  # unit, doc_id, start, end
    weight: np.ndarray  # how many units each row stands for (characters in a run)
    coded: np.ndarray


def _spans(c: Coder, doc: str, code_ids: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(starts, ends, code index) of one coder's codings of one document, known codes only."""
    if c.by_doc is None:
        col = {code: j for j, code in enumerate(code_ids)}
        rows = c.codings.assign(_code=c.codings["code"].astype(str).map(col))
        rows = rows[rows["_code"].notna()]
        c.by_doc = {
            str(d): (
                g["start"].to_numpy(np.int64),
                g["end"].to_numpy(np.int64),
                g["_code"].to_numpy(np.int64),
            )
            for d, g in rows.groupby(rows["doc_id"].astype(str), sort=False)
        }
    empty = np.zeros(0, dtype=np.int64)
    return c.by_doc.get(doc, (empty, empty, empty))


def passage_units(coders: list[Coder], docs: list[str], code_ids: list[str]) -> Units:
    first = coders[0]
    p = first.passages
    if p is None or p.empty or not {"doc_id", "start", "end"} <= set(p.columns):
        raise InputError(
            f"agree: unit='passage' takes the passages of the first coding (coder "
            f"{first.name!r}) as units, but it has no passages table with doc_id, start, end. "
            "Fix: put a coding with passages first, or use unit='document' or 'character'."
        )
    p = p[p["doc_id"].astype(str).isin(docs)].copy()
    p["doc_id"] = p["doc_id"].astype(str)
    rank = {d: i for i, d in enumerate(docs)}
    p = p.sort_values(["doc_id", "start"], key=lambda s: s.map(rank) if s.name == "doc_id" else s)
    p = p[p["end"] > p["start"]].reset_index(drop=True)  # an empty passage cannot be coded
    ids = p["passage_id"].astype(str) if "passage_id" in p.columns else p.index.astype(str)
    frame = pd.DataFrame(
        {
            "unit": ids.to_numpy(),
            "doc_id": p["doc_id"].to_numpy(),
            "start": p["start"].to_numpy(np.int64),
            "end": p["end"].to_numpy(np.int64),
        }
    )
    if "text" in p.columns:
        frame["text"] = p["text"].astype(str).to_numpy()
    coded = np.zeros((len(frame), len(code_ids), len(coders)), dtype=bool)
    for doc, rows in frame.groupby("doc_id", sort=False).indices.items():
        us, ue = frame["start"].to_numpy()[rows], frame["end"].to_numpy()[rows]
        for k, c in enumerate(coders):
            ss, se, sc = _spans(c, doc, code_ids)
            if not len(ss):
                continue
            overlap = np.minimum(ue[:, None], se[None, :]) - np.maximum(us[:, None], ss[None, :])
            hit = (overlap > 0) & (overlap >= MIN_OVERLAP * (ue - us)[:, None])
            ui, si = np.nonzero(hit)
            coded[rows[ui], sc[si], k] = True
    return Units(frame, np.ones(len(frame), dtype=np.int64), coded)


def document_units(
    coders: list[Coder], docs: list[str], n_chars: dict[str, int], code_ids: list[str]
) -> Units:
    col = {code: j for j, code in enumerate(code_ids)}
    row = {d: i for i, d in enumerate(docs)}
    coded = np.zeros((len(docs), len(code_ids), len(coders)), dtype=bool)
    for k, c in enumerate(coders):
        pairs = c.codings[["doc_id", "code"]].astype(str)
        pairs = pairs[pairs["code"].isin(col) & pairs["doc_id"].isin(row)]
        coded[pairs["doc_id"].map(row).to_numpy(int), pairs["code"].map(col).to_numpy(int), k] = 1
    frame = pd.DataFrame(
        {"unit": docs, "doc_id": docs, "start": 0, "end": [n_chars.get(d, pd.NA) for d in docs]}
    )
    return Units(frame, np.ones(len(docs), dtype=np.int64), coded)


def character_units(
    coders: list[Coder], docs: list[str], n_chars: dict[str, int], code_ids: list[str]
) -> Units:
    """Runs of characters between consecutive span boundaries: within a run nothing changes."""
    frames, weights, cubes = [], [], []
    passage_ends = _passage_ends(coders)
    for doc in docs:
        spans = [_spans(c, doc, code_ids) for c in coders]
        ends = [int(s[1].max()) for s in spans if len(s[1])]
        length = n_chars.get(doc, passage_ends.get(doc, max(ends, default=0)))
        bounds = np.unique(
            np.clip(
                np.concatenate(
                    [np.array([0, length], dtype=np.int64)] + [np.concatenate(s[:2]) for s in spans]
                ),
                0,
                length,
            )
        )
        n_runs = len(bounds) - 1
        if n_runs <= 0:
            continue
        cube = np.zeros((n_runs, len(code_ids), len(coders)), dtype=bool)
        for k, (ss, se, sc) in enumerate(spans):
            # Difference array over runs: +1 where a span starts, -1 where it ends.
            diff = np.zeros((n_runs + 1, len(code_ids)), dtype=np.int64)
            first = np.searchsorted(bounds, np.clip(ss, 0, length))
            last = np.searchsorted(bounds, np.clip(se, 0, length))
            np.add.at(diff, (first, sc), 1)
            np.add.at(diff, (last, sc), -1)
            cube[:, :, k] = np.cumsum(diff, axis=0)[:-1] > 0
        starts, stops = bounds[:-1], bounds[1:]
        frames.append(
            pd.DataFrame(
                {
                    "unit": [f"{doc}:{s}-{e}" for s, e in zip(starts, stops, strict=True)],
                    "doc_id": doc,
                    "start": starts,
                    "end": stops,
                }
            )
        )
        weights.append(stops - starts)
        cubes.append(cube)
    if not frames:
        empty = pd.DataFrame(columns=["unit", "doc_id", "start", "end"])
        return Units(
            empty,
            np.zeros(0, dtype=np.int64),
            np.zeros((0, len(code_ids), len(coders)), dtype=bool),
        )
    return Units(
        pd.concat(frames, ignore_index=True), np.concatenate(weights), np.concatenate(cubes)
    )


def _passage_ends(coders: list[Coder]) -> dict[str, int]:
    """Where each document's last passage ends: its length when the documents table omits it."""
    for c in coders:
        p = c.passages
        if p is not None and "end" in p.columns and len(p):
            ends = p.groupby(p["doc_id"].astype(str))["end"].max()
            return {str(d): int(e) for d, e in ends.items()}
    return {}
