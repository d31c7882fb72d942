"""The sampling design of a validation: the machine's coding as a passage x code matrix, its
hash, the stratified draw, and the design record the sample workbook keeps.

For every code the corpus splits into two strata, the passages the machine coded with the code
and the passages it did not. The draw takes a simple random sample of ``per_code`` passages from
each of these 2 x K strata, independently, and merges them (a passage drawn for several codes is
coded once). Each passage's chance of being drawn is known exactly
(:func:`inclusion_probabilities`): that is what :mod:`.estimate` weights by.

>>> import numpy as np
>>> machine = np.array([[1, 0], [1, 1], [0, 0], [0, 0]], dtype=bool)
>>> picked, strata = draw_sample(machine, ("a", "b"), per_code=1, seed=3)
>>> [(s.code, s.stratum, s.passages, s.drawn) for s in strata]
[('a', 'coded', 2, 1), ('a', 'not coded', 2, 1), ('b', 'coded', 1, 1), ('b', 'not coded', 3, 1)]
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError

CODED = "coded"
NOT_CODED = "not coded"
#: what the design sheet says it is; a later layout gets a new number
DESIGN_FORMAT = "trustcode validation sample, version 1"


@dataclass(frozen=True)
class MachineCoding:
    """A coded output reduced to what a validation needs: the passages, in table order, and
    which of the design's codes the machine gave each (``machine[i, k]``)."""

    passages: pd.DataFrame
    codes: tuple[str, ...]
    machine: np.ndarray
    sha256: str


@dataclass(frozen=True)
class Stratum:
    """One stratum of the draw: the passages the machine coded (or did not code) with a code."""

    code: str
    stratum: str
    passages: int
    drawn: int

    @property
    def inclusion_probability(self) -> float:
        """The chance that the stratum's own draw picks a given passage of it."""
        return self.drawn / self.passages if self.passages else 0.0


@dataclass(frozen=True)
class Design:
    """Everything the estimate needs besides the person's decisions and the coded output."""

    codes: tuple[str, ...]
    per_code: int
    seed: int
    coded_sha256: str
    passages: int
    sample_size: int
    sample_sha256: str
    show_machine: bool
    strata: tuple[Stratum, ...] = field(default=())

    def entries(self) -> dict[str, Any]:
        """The key/value rows of the design sheet (without the checksum)."""
        return {
            "format": DESIGN_FORMAT,
            "codes": json.dumps(list(self.codes), ensure_ascii=False),
            "per_code": self.per_code,
            "seed": self.seed,
            "coded_sha256": self.coded_sha256,
            "passages": self.passages,
            "sample_size": self.sample_size,
            "sample_sha256": self.sample_sha256,
            "show_machine": "yes" if self.show_machine else "no",
        }

    def strata_frame(self) -> pd.DataFrame:
        """The strata as a table: code, stratum, passages, drawn, inclusion_probability."""
        return pd.DataFrame(
            [
                (s.code, s.stratum, s.passages, s.drawn, round(s.inclusion_probability, 12))
                for s in self.strata
            ],
            columns=["code", "stratum", "passages", "drawn", "inclusion_probability"],
        )

    def checksum(self) -> str:
        """A hash of every entry and stratum, so an edit of the design sheet shows."""
        payload = {
            "entries": {k: str(v) for k, v in self.entries().items()},
            "strata": [[s.code, s.stratum, s.passages, s.drawn] for s in self.strata],
        }
        text = json.dumps(payload, ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def machine_coding(tables: Mapping[str, pd.DataFrame], codes: Sequence[str]) -> MachineCoding:
    """A coded output's ``passages`` and ``codings`` -> the passage x code matrix and its hash.

    The hash covers the codes, each passage id in table order and the matrix, so the same coding
    hashes alike in every format trustcode writes.

    >>> import pandas as pd
    >>> passages = pd.DataFrame({"doc_id": ["d"], "passage_id": ["d#0"], "start": [0],
    ...                          "end": [2], "text": ["hi"]})
    >>> codings = pd.DataFrame({"passage_id": ["d#0"], "code": ["a"]})
    >>> machine_coding({"passages": passages, "codings": codings}, ["a", "b"]).machine.tolist()
    [[True, False]]
    """
    for name, columns in (
        ("passages", ("doc_id", "passage_id", "start", "end", "text")),
        ("codings", ("passage_id", "code")),
    ):
        if name not in tables:
            raise InputError(
                f"the coded output has no {name!r} table; give the output of 'trustcode code'."
            )
        missing = [c for c in columns if c not in tables[name].columns]
        if missing:
            raise InputError(
                f"the coded output's {name} table lacks column(s) "
                f"{', '.join(missing)}; give the output of 'trustcode code'."
            )
    passages = tables["passages"].reset_index(drop=True)
    if passages.empty:
        raise InputError("the coded output has no passages; there is nothing to validate.")
    ids = passages["passage_id"].astype(str)
    if ids.duplicated().any():
        raise InputError(
            f"the coded output names passage {ids[ids.duplicated()].iloc[0]} twice; "
            "give the output of one 'trustcode code' run."
        )
    codings = tables["codings"]
    k = pd.Index(list(codes)).get_indexer(codings["code"].astype(str).str.strip())
    i = pd.Index(ids).get_indexer(codings["passage_id"].astype(str))
    keep = (k >= 0) & (i >= 0)
    machine = np.zeros((len(ids), len(codes)), dtype=bool)
    machine[i[keep], k[keep]] = True
    digest = hashlib.sha256()
    digest.update(json.dumps(list(codes), ensure_ascii=False).encode("utf-8"))
    digest.update("\n".join(ids).encode("utf-8"))
    digest.update(np.packbits(machine, axis=None).tobytes())
    return MachineCoding(passages, tuple(codes), machine, digest.hexdigest())


def draw_sample(
    machine: np.ndarray, codes: Sequence[str], *, per_code: int, seed: int
) -> tuple[np.ndarray, tuple[Stratum, ...]]:
    """Draw ``per_code`` passages at random from each code's coded and not-coded stratum
    (the whole stratum when it is smaller) and merge them; return the drawn rows of
    ``machine`` in table order, and the strata. The same arguments give the same sample.

    >>> import numpy as np
    >>> draw_sample(np.array([[1], [0], [0]], dtype=bool), ["a"], per_code=5, seed=1)[0]
    array([0, 1, 2])
    """
    rng = np.random.default_rng(seed)
    chosen = np.zeros(machine.shape[0], dtype=bool)
    strata = []
    for k, code in enumerate(codes):
        for name, mask in ((CODED, machine[:, k]), (NOT_CODED, ~machine[:, k])):
            members = np.flatnonzero(mask)
            n = min(per_code, len(members))
            if n:
                chosen[rng.choice(members, size=n, replace=False)] = True
            strata.append(Stratum(code, name, len(members), n))
    return np.flatnonzero(chosen), tuple(strata)


def sample_hash(passage_ids: Sequence[str]) -> str:
    """A hash of a sample's passage ids, whatever their order."""
    text = "\n".join(sorted(str(p) for p in passage_ids)) + "\n"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def make_design(
    coding: MachineCoding, *, per_code: int, seed: int, show_machine: bool = False
) -> tuple[Design, np.ndarray]:
    """Draw a sample from a machine coding; return its :class:`Design` and the drawn rows.

    >>> design, rows = make_design(coding, per_code=20, seed=7)  # doctest: +SKIP
    """
    if isinstance(per_code, bool) or not isinstance(per_code, int | np.integer) or per_code < 1:
        raise InputError(
            f"The 'per_code' parameter of validate draw must be an int in [1, inf). "
            f"Got {per_code!r} instead."
        )
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise InputError(
            f"The 'seed' parameter of validate draw must be an int in [0, inf). "
            f"Got {seed!r} instead."
        )
    rows, strata = draw_sample(coding.machine, coding.codes, per_code=int(per_code), seed=int(seed))
    ids = coding.passages["passage_id"].astype(str).to_numpy()[rows]
    design = Design(
        codes=coding.codes,
        per_code=int(per_code),
        seed=int(seed),
        coded_sha256=coding.sha256,
        passages=len(coding.passages),
        sample_size=len(rows),
        sample_sha256=sample_hash(ids),
        show_machine=show_machine,
        strata=strata,
    )
    return design, rows


def inclusion_probabilities(machine: np.ndarray, per_code: int) -> np.ndarray:
    """Each passage's chance to be in the merged sample: one minus the chance that every
    stratum it belongs to (one per code) leaves it out.

    >>> import numpy as np
    >>> inclusion_probabilities(np.array([[1], [0], [0], [0]], dtype=bool), 1).round(3).tolist()
    [1.0, 0.333, 0.333, 0.333]
    """
    missed = np.ones(machine.shape[0])
    for k in range(machine.shape[1]):
        column = machine[:, k]
        for mask in (column, ~column):
            size = int(mask.sum())
            if size:
                missed[mask] *= 1 - min(per_code, size) / size
    return 1 - missed
