"""Design-weighted estimates for the whole coded corpus from a person's coding of a sample.

The method. Every passage i has a known chance pi_i of being drawn (:mod:`.design`: one minus the
chance that each of its strata leaves it out). For code c, take one side at a time: the N1
passages the machine coded with c, then the N0 it did not. Of a side's N passages, n were
checked by the person and x of those carry c; those are known. The N - n unchecked passages are
represented by the checked ones, passage i standing for (1 - pi_i) / pi_i of them, so their share
carrying c is estimated by the weighted mean p = sum w_i y_i / sum w_i with w_i = 1/pi_i - 1,
worth n_eff = (sum w_i)^2 / sum w_i^2 passages (Kish's effective sample size). The side's true
number of carriers is then drawn as

    T = x + U,   U ~ BetaBinomial(N - n, n_eff p + 1/2, n_eff (1 - p) + 1/2),

a finite-population posterior with Jeffreys' prior: a fully checked side is known exactly, and a
simple random sample (equal weights) gives the exact Jeffreys model. From Monte Carlo draws of
T1 and T0:

    precision = T1 / N1,  recall = T1 / (T1 + T0),  prevalence = (T1 + T0) / N,

and each interval is the 2.5 and 97.5 percentiles of its draws (rounded outwards). Where the
sample cannot rule out a boundary (every checked passage of a side carries c, or none does), the
interval reaches it, as Brown, Cai and DasGupta (2001) advise for Jeffreys intervals. Point
estimates put the weighted mean in place of the draw: T = x + (N - n) p.

>>> import numpy as np
>>> _side(4, np.array([1.0, 1.0, 1.0, 1.0]), np.array([1, 1, 1, 0]), 10,
...       np.random.default_rng(0))[1].tolist()
[3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .design import CODED, NOT_CODED

#: the columns of the estimates table, in order
ESTIMATE_COLUMNS: tuple[str, ...] = (
    "code",
    "checked",
    "precision",
    "precision_low",
    "precision_high",
    "recall",
    "recall_low",
    "recall_high",
    "f1",
    "prevalence",
    "prevalence_low",
    "prevalence_high",
    "machine_prevalence",
    "kappa",
)
#: the columns of the strata table, in order
STRATA_COLUMNS: tuple[str, ...] = (
    "code",
    "stratum",
    "passages",
    "checked",
    "person_coded",
    "share_person_coded",
)
#: Monte Carlo draws per code
DRAWS = 4000
LEVEL = 0.95


@dataclass(frozen=True)
class ValidationResult:
    """The estimates (one row per code), the strata they rest on, and what they came from."""

    estimates: pd.DataFrame
    strata: pd.DataFrame
    provenance: dict[str, Any] = field(default_factory=dict)


def _side(
    size: int,
    inclusion: np.ndarray,
    found: np.ndarray,
    draws: int,
    rng: np.random.Generator,
) -> tuple[float, np.ndarray, int, int]:
    """One side of a code: its point total, draws of its total, and its checked and found
    counts, from the checked passages' inclusion probabilities and the person's yes/no."""
    n, x = len(found), int(found.sum())
    rest = size - n
    if rest <= 0:
        return float(x), np.full(draws, float(x)), n, x
    weights = 1.0 / inclusion - 1.0
    if n == 0 or weights.sum() <= 0:
        # nothing checked stands for the unchecked passages: only the prior speaks
        p = rng.beta(0.5, 0.5, size=draws)
        return float("nan"), x + rng.binomial(rest, p).astype(float), n, x
    share = float((weights * found).sum() / weights.sum())
    n_eff = float(weights.sum() ** 2 / (weights**2).sum())
    p = rng.beta(n_eff * share + 0.5, n_eff * (1 - share) + 0.5, size=draws)
    return x + rest * share, x + rng.binomial(rest, p).astype(float), n, x


def _interval(values: np.ndarray) -> tuple[float, float]:
    values = values[np.isfinite(values)]
    if not len(values):
        return float("nan"), float("nan")
    tail = (1 - LEVEL) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else float("nan")


def _kappa(machine: np.ndarray, person: np.ndarray) -> float:
    """Cohen's kappa of two yes/no codings of the same passages; NaN where it is 0/0 (both
    codings give one answer throughout). From the 2 x 2 table, without scikit-learn's import.

    >>> import numpy as np
    >>> _kappa(np.array([1, 1, 0, 0], dtype=bool), np.array([1, 0, 0, 0], dtype=bool))
    0.5
    """
    n = len(machine)
    if not n:
        return float("nan")
    observed = float((machine == person).mean())
    m, p = float(machine.mean()), float(person.mean())
    chance = m * p + (1 - m) * (1 - p)
    return (observed - chance) / (1 - chance) if chance < 1 else float("nan")


def _outward(low: float, high: float) -> tuple[float, float]:
    """Bounds rounded to four places away from the estimate, so rounding never narrows."""
    return math.floor(low * 1e4) / 1e4, math.ceil(high * 1e4) / 1e4


def estimate_codes(
    machine: np.ndarray,
    codes: Sequence[str],
    checked_rows: np.ndarray,
    person: np.ndarray,
    inclusion: np.ndarray,
    *,
    seed: int = 0,
    draws: int = DRAWS,
) -> ValidationResult:
    """Estimates for every code from the machine's coding of all passages (``machine``, a
    passage x code bool matrix), the rows the person checked, their coding of them (``person``,
    checked row x code) and those rows' inclusion probabilities. ``seed`` makes the Monte Carlo
    intervals repeatable.

    >>> import numpy as np
    >>> machine = np.array([[1], [1], [0], [0]], dtype=bool)
    >>> result = estimate_codes(machine, ["a"], np.array([0, 1, 2, 3]),
    ...                         np.array([[1], [0], [0], [0]], dtype=bool), np.ones(4))
    >>> result.estimates[["precision", "precision_low", "recall", "prevalence"]].iloc[0].tolist()
    [0.5, 0.5, 1.0, 0.25]
    """
    n_total = machine.shape[0]
    rows, strata_rows = [], []
    for k, code in enumerate(codes):
        rng = np.random.default_rng([seed, k])
        on = machine[checked_rows, k]
        yes = person[:, k].astype(bool)
        big1 = int(machine[:, k].sum())
        big0 = n_total - big1
        t1, d1, n1, x1 = _side(big1, inclusion[on], yes[on], draws, rng)
        t0, d0, n0, x0 = _side(big0, inclusion[~on], yes[~on], draws, rng)
        with np.errstate(invalid="ignore", divide="ignore"):
            precision_draws = d1 / big1 if big1 else np.full(draws, np.nan)
            recall_draws = np.where(d1 + d0 > 0, d1 / (d1 + d0), np.nan)
        p_low, p_high = _interval(precision_draws)
        r_low, r_high = _interval(recall_draws)
        v_low, v_high = _interval((d1 + d0) / n_total)
        # a boundary the sample cannot rule out stays inside the interval
        if n1 and x1 == n1:
            p_high = 1.0
        if n1 and x1 == 0:
            p_low = r_low = 0.0
        if x0 == 0 and big1:
            r_high = 1.0
        if x0 + x1 == 0:
            v_low = 0.0
        if x0 + x1 == n0 + n1 and n0 + n1:
            v_high = 1.0
        precision = _ratio(t1, big1)
        recall = _ratio(t1, t1 + t0)
        rows.append(
            {
                "code": code,
                "checked": int(len(checked_rows)),
                "precision": precision,
                "recall": recall,
                "f1": _ratio(2 * precision * recall, precision + recall),
                "prevalence": _ratio(t1 + t0, n_total),
                "machine_prevalence": big1 / n_total,
                "kappa": _kappa(on, yes),
            }
        )
        for name, (low, high) in (
            ("precision", (p_low, p_high)),
            ("recall", (r_low, r_high)),
            ("prevalence", (v_low, v_high)),
        ):
            if math.isnan(low):
                rows[-1][f"{name}_low"] = rows[-1][f"{name}_high"] = float("nan")
            else:
                rows[-1][f"{name}_low"], rows[-1][f"{name}_high"] = _outward(low, high)
        for name, big, n, x in ((CODED, big1, n1, x1), (NOT_CODED, big0, n0, x0)):
            strata_rows.append((code, name, big, n, x, _ratio(x, n)))
    estimates = pd.DataFrame(rows, columns=list(ESTIMATE_COLUMNS))
    for column in ("precision", "recall", "f1", "prevalence", "machine_prevalence", "kappa"):
        estimates[column] = estimates[column].astype(float).round(4)
    strata = pd.DataFrame(strata_rows, columns=list(STRATA_COLUMNS))
    strata["share_person_coded"] = strata["share_person_coded"].astype(float).round(4)
    return ValidationResult(estimates, strata)


def add_targets(
    estimates: pd.DataFrame, *, precision: float | None = None, recall: float | None = None
) -> pd.DataFrame:
    """Add ``meets_target``: whether each code's interval lies at or above the targets (its
    lower bounds reach them), so a code is certified only when the sample shows it.

    >>> import pandas as pd
    >>> frame = pd.DataFrame({"precision_low": [0.8, 0.6], "recall_low": [0.7, 0.9]})
    >>> add_targets(frame, precision=0.7, recall=0.7)["meets_target"].tolist()
    [True, False]
    """
    from ..errors import UsageError

    for name, value in (("target-precision", precision), ("target-recall", recall)):
        if value is not None and not 0 <= value <= 1:
            raise UsageError(
                f"The '{name}' option of validate estimate must be a share in "
                f"[0, 1]. Got {value} instead."
            )
    if precision is None and recall is None:
        return estimates
    meets = pd.Series(True, index=estimates.index)
    if precision is not None:
        meets &= estimates["precision_low"].fillna(-1.0) >= precision
    if recall is not None:
        meets &= estimates["recall_low"].fillna(-1.0) >= recall
    return estimates.assign(meets_target=meets)
