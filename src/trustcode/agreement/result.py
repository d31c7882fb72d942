"""The entry point :func:`agree` and what it returns, :class:`AgreementResult`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from trustcode.errors import UsageError

from .disagreements import disagreement_rows
from .inputs import Tables, add_note, codes_compared, shared_documents, split_coders
from .stats import STAT_COLUMNS, statistics, statistics_pooled
from .units import (
    AGREEMENT_UNITS,
    Units,
    character_units,
    document_units,
    passage_units,
)


@dataclass
class AgreementResult:
    """What :func:`agree` found.

    - ``overall``: one row over every (unit, code) decision pooled: ``n_units, n_decisions``,
      the statistics of :data:`STAT_COLUMNS`, and ``note``
    - ``per_code``: one row per code: ``code, n_units`` and the same statistics and ``note``
    - ``disagreements``: ``unit, doc_id, start, end, text, codes`` (the codes in dispute) and
      one column per coder with that coder's codes for the unit, ``"; "``-joined
    """

    unit: str
    coders: tuple[str, ...]
    codes: tuple[str, ...]
    overall: pd.DataFrame
    per_code: pd.DataFrame
    disagreements: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain lists and dicts (JSON-ready) of every table.

        >>> agree([a, b]).to_dict()["overall"][0]["krippendorff_alpha"]  # doctest: +SKIP
        0.82
        """

        def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
            return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")

        return {
            "unit": self.unit,
            "coders": list(self.coders),
            "codes": list(self.codes),
            "notes": list(self.notes),
            "overall": records(self.overall),
            "per_code": records(self.per_code),
            "disagreements": records(self.disagreements),
        }


def agree(
    codings_list: Sequence[Tables],
    *,
    unit: str = "passage",
    coded_only: bool = False,
    codes: Sequence[str] | None = None,
    bootstrap: int = 1000,
    random_state: int = 0,
) -> AgreementResult:
    """Agreement between two or more codings of the same documents.

    Each item of ``codings_list`` is one coding's tables (``codings``, and ``documents`` /
    ``passages`` where known). The coder is named by the ``coder`` column; an input with several
    coders there is split into one coding per coder; an input without a name becomes ``coderN``.
    ``bootstrap`` resamples units (percentile interval, 95%) with a fixed ``random_state``.

    >>> result = agree([gold_tables, machine_tables], unit="passage")  # doctest: +SKIP
    >>> result.per_code[["code", "krippendorff_alpha"]]  # doctest: +SKIP
    """
    if unit not in AGREEMENT_UNITS:
        raise UsageError(
            f"agree: unit={unit!r} is not one of {', '.join(AGREEMENT_UNITS)}. "
            "Fix: pass unit='passage', 'document' or 'character'."
        )
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, int) or bootstrap < 0:
        raise UsageError(f"agree: bootstrap must be an int >= 0. Got {bootstrap!r} instead.")
    coders = split_coders(codings_list)
    notes: list[str] = []
    doc_order, n_chars = shared_documents(coders)
    code_ids = codes_compared(coders, codes)
    for c in coders:
        if c.codings.empty:
            add_note(notes, f"agree: coder {c.name!r} coded nothing.")

    if unit == "passage":
        units = passage_units(coders, doc_order, code_ids)
    elif unit == "document":
        units = document_units(coders, doc_order, n_chars, code_ids)
    else:
        units = character_units(coders, doc_order, n_chars, code_ids)
    if coded_only:
        keep = units.coded.any(axis=(1, 2))
        units = Units(
            units.frame[keep].reset_index(drop=True), units.weight[keep], units.coded[keep]
        )

    rng = np.random.default_rng(random_state)
    names = [c.name for c in coders]
    rows = []
    for j, code in enumerate(code_ids):
        stats = statistics(units.coded[:, j, :], units.weight, bootstrap, rng, names)
        rows.append({"code": code, "n_units": int(units.weight.sum()), **stats})
    per_code = pd.DataFrame(rows, columns=["code", "n_units", *STAT_COLUMNS, "note"])
    per_code = per_code.astype({"n_units": "int64"})

    pooled = statistics_pooled(units, bootstrap, rng, names)
    overall = pd.DataFrame(
        [
            {
                "n_units": int(units.weight.sum()),
                "n_decisions": int(units.weight.sum()) * len(code_ids),
                **pooled,
            }
        ]
    )
    return AgreementResult(
        unit=unit,
        coders=tuple(names),
        codes=tuple(code_ids),
        overall=overall,
        per_code=per_code,
        disagreements=disagreement_rows(units, coders, code_ids, unit),
        notes=notes,
    )
