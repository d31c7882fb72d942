"""How many passages to code before anyone starts: per code and stratum, the sample size for
95 % intervals of a given half-width at the machine's current shares.

The planning assumes the worst case, a true share of one half in every stratum, and the normal
approximation with the finite-population correction:

- the coded stratum of a code (N1 passages) needs ``n1`` for its precision's half-width;
- the not-coded stratum (N0) needs ``n0`` so that the prevalence, weighted by the strata's
  shares N1/N and N0/N, keeps the half-width given ``n1``.

Recall's interval also depends on how many passages the machine misses, which no plan can know
beforehand; code more than planned for a rare code whose recall matters.

>>> _needed(0.1, 10_000_000)
97
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..errors import UsageError
from .design import inclusion_probabilities

PLAN_COLUMNS: tuple[str, ...] = (
    "code",
    "coded_passages",
    "not_coded_passages",
    "machine_prevalence",
    "n_coded",
    "n_not_coded",
)
_Z = 1.959963984540054


def _fpc(n0: float, size: int) -> int:
    """A sample size for an infinite population -> for a stratum of ``size``."""
    if size <= 0:
        return 0
    return min(size, math.ceil(n0 / (1 + (n0 - 1) / size)))


def _needed(half_width: float, size: int, weight: float = 1.0) -> int:
    return _fpc(_Z**2 * 0.25 * weight**2 / half_width**2, size)


def plan_sizes(
    machine: np.ndarray, codes: list[str] | tuple[str, ...], *, half_width: float
) -> pd.DataFrame:
    """One row per code: its strata's sizes and the passages to code in each.

    >>> import numpy as np
    >>> plan_sizes(np.array([[1], [0], [0], [0]], dtype=bool), ["a"], half_width=0.1)[
    ...     ["n_coded", "n_not_coded"]].iloc[0].tolist()
    [1, 3]
    """
    if not 0 < half_width < 0.5:
        raise UsageError(
            f"The 'half-width' option of validate plan must be a share in "
            f"(0, 0.5). Got {half_width} instead."
        )
    total = machine.shape[0]
    rows = []
    for k, code in enumerate(codes):
        big1 = int(machine[:, k].sum())
        big0 = total - big1
        n1 = _needed(half_width, big1)
        w1, w0 = big1 / total, big0 / total
        # what the coded stratum leaves of the prevalence's variance budget
        used = w1**2 * 0.25 / n1 * (1 - n1 / big1) if n1 else 0.0
        left = (half_width / _Z) ** 2 - used
        n0 = _fpc(w0**2 * 0.25 / left, big0) if big0 else 0
        rows.append((code, big1, big0, round(w1, 4), n1, n0))
    return pd.DataFrame(rows, columns=list(PLAN_COLUMNS))


def expected_sample(machine: np.ndarray, per_code: int) -> float:
    """How many distinct passages a draw of ``per_code`` per stratum takes, on average.

    >>> import numpy as np
    >>> expected_sample(np.array([[1], [0], [0]], dtype=bool), 5)
    3.0
    """
    return float(np.round(inclusion_probabilities(machine, per_code).sum(), 1))
