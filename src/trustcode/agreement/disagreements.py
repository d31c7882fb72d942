"""The disagreements table: the units on which coders differ, with each coder's codes and text."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .inputs import Coder
from .units import Units


def disagreement_rows(
    units: Units, coders: list[Coder], code_ids: list[str], unit: str
) -> pd.DataFrame:
    coded = units.coded
    split = np.any(coded, axis=2) & ~np.all(coded, axis=2)  # [unit, code]: coders differ
    rows = np.flatnonzero(np.any(split, axis=1))
    frame = units.frame.iloc[rows].reset_index(drop=True)
    if "text" not in frame.columns:
        frame["text"] = _texts(frame, coders[0].passages, unit)
    frame["codes"] = ["; ".join(code_ids[j] for j in np.flatnonzero(split[r])) for r in rows]
    fixed = set(frame.columns)
    for k, c in enumerate(coders):
        column = c.name if c.name not in fixed else f"{c.name} (coder)"
        frame[column] = [
            "; ".join(code_ids[j] for j in np.flatnonzero(coded[r, :, k])) for r in rows
        ]
    return frame


def _texts(frame: pd.DataFrame, passages: pd.DataFrame | None, unit: str) -> list[str]:
    """Each unit's text, cut from the document text the passages rebuild ("" where unknown)."""
    if unit == "document" or passages is None or frame.empty or "text" not in passages:
        return [""] * len(frame)
    texts: dict[str, str] = {}
    for doc, g in passages.groupby(passages["doc_id"].astype(str)):
        parts, at = [], 0
        g = g.sort_values("start")
        for start, text in zip(g["start"], g["text"].astype(str), strict=True):
            start = int(start)
            # Gaps between passages are separators (blank lines); overlapping windows repeat.
            parts.append(" " * max(start - at, 0) + text[max(at - start, 0) :])
            at = max(at, start + len(text))
        texts[doc] = "".join(parts)
    return [
        texts.get(str(d), "")[int(s) : int(e)]
        for d, s, e in zip(frame["doc_id"], frame["start"], frame["end"], strict=True)
    ]
