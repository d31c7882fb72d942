"""The statistics of one code or of all codes pooled, from the decision cube.

Percent agreement, Cohen's kappa (two coders), Fleiss' kappa and Krippendorff's alpha (nominal)
with a bootstrap interval; :func:`alpha_from_counts` and :func:`fleiss_from_counts` compute the
last two from pattern counts (how many units exactly ``j`` coders coded), which is what weighted
units and bootstrap replicates need.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .units import Units

STAT_COLUMNS: tuple[str, ...] = (
    "percent_agreement",
    "cohen_kappa",
    "fleiss_kappa",
    "krippendorff_alpha",
    "alpha_ci_low",
    "alpha_ci_high",
)
#: bootstrap replicates drawn at once: bounds memory at (units x this) integers
_CHUNK = 100


def statistics(
    x: np.ndarray, w: np.ndarray, bootstrap: int, rng: np.random.Generator, names: list[str]
) -> dict[str, Any]:
    """Agreement on one code: ``x[unit, coder]`` decisions, ``w[unit]`` unit weights."""
    n_coders = x.shape[1]
    m = x.sum(axis=1)
    counts = np.bincount(m, weights=w, minlength=n_coders + 1).astype(np.int64)
    out: dict[str, Any] = dict.fromkeys(STAT_COLUMNS, np.nan)
    out["note"] = _note(counts, x, names)
    if counts.sum() == 0:
        return out
    out["percent_agreement"] = (counts[0] + counts[-1]) / counts.sum()
    if counts[0] == counts.sum() or counts[-1] == counts.sum():
        return out  # one value everywhere: chance agreement is 1, every kappa is 0/0
    weighted = bool((w != 1).any())
    if n_coders == 2:
        from sklearn.metrics import cohen_kappa_score

        out["cohen_kappa"] = float(
            cohen_kappa_score(
                x[:, 0].astype(int),
                x[:, 1].astype(int),
                labels=[0, 1],
                sample_weight=w if weighted else None,
            )
        )
    if weighted:
        # The references take one row per unit; a run of characters stands for many, so
        # compute from the pattern counts (tests check these equal the references).
        out["fleiss_kappa"] = float(fleiss_from_counts(counts))
        out["krippendorff_alpha"] = float(alpha_from_counts(counts))
    else:
        import krippendorff
        from statsmodels.stats.inter_rater import fleiss_kappa

        out["fleiss_kappa"] = float(fleiss_kappa(np.column_stack([m, n_coders - m])))
        out["krippendorff_alpha"] = float(
            krippendorff.alpha(
                reliability_data=x.T.astype(float),
                level_of_measurement="nominal",
                value_domain=[0.0, 1.0],
            )
        )
    # Resampling units from their empirical distribution: units with the same number of
    # "coded" votes are interchangeable, so a replicate is a multinomial draw of pattern counts.
    if bootstrap:
        total = int(counts.sum())
        draws = rng.multinomial(total, counts / total, size=bootstrap)
        alphas = np.asarray(alpha_from_counts(draws))
        out["alpha_ci_low"], out["alpha_ci_high"] = _interval(alphas)
    return out


def statistics_pooled(
    units: Units, bootstrap: int, rng: np.random.Generator, names: list[str]
) -> dict[str, Any]:
    """Every (unit, code) decision pooled; the bootstrap resamples units with all their codes."""
    n_units, n_codes, n_coders = units.coded.shape
    x = units.coded.reshape(n_units * n_codes, n_coders)
    w = np.repeat(units.weight, n_codes)
    out = statistics(x, w, 0, rng, names)
    if bootstrap and n_units and not np.isnan(out["krippendorff_alpha"]):
        # patterns[u, j]: how many codes of unit u were coded by exactly j coders
        per_unit = units.coded.sum(axis=2)
        patterns = np.zeros((n_units, n_coders + 1), dtype=np.int64)
        np.add.at(patterns, (np.repeat(np.arange(n_units), n_codes), per_unit.ravel()), 1)
        # Units with the same pattern are interchangeable, so resampling units is a multinomial
        # draw over the distinct patterns (few, whatever the number of units or characters).
        distinct, inverse = np.unique(patterns, axis=0, return_inverse=True)
        weight = np.bincount(inverse.ravel(), weights=units.weight, minlength=len(distinct))
        total = int(units.weight.sum())
        alphas = []
        for start in range(0, bootstrap, _CHUNK):
            size = min(_CHUNK, bootstrap - start)
            draws = rng.multinomial(total, weight / weight.sum(), size=size)
            alphas.append(np.asarray(alpha_from_counts(draws @ distinct)))
        out["alpha_ci_low"], out["alpha_ci_high"] = _interval(np.concatenate(alphas))
    return out


def _interval(alphas: np.ndarray) -> tuple[float, float]:
    alphas = alphas[~np.isnan(alphas)]
    if not len(alphas):
        return np.nan, np.nan
    low, high = np.percentile(alphas, [2.5, 97.5])
    return float(low), float(high)


def _note(counts: np.ndarray, x: np.ndarray, names: list[str]) -> str:
    total = counts.sum()
    if total == 0:
        return "no units"
    if counts[0] == total:
        return "no variation: every unit uncoded by every coder"
    if counts[-1] == total:
        return "no variation: every unit coded by every coder"
    never = [names[k] for k in range(x.shape[1]) if not x[:, k].any()]
    if never:
        return f"never applied by {', '.join(never)}"
    return ""


def alpha_from_counts(counts: np.ndarray) -> np.ndarray | float:
    """Krippendorff's alpha (nominal, yes/no) from pattern counts.

    ``counts[..., j]`` is how many units exactly ``j`` of the coders coded (every coder judges
    every unit, so the data have no gaps). NaN when one value is all there is.

    >>> round(float(alpha_from_counts(np.array([3, 0, 1]))), 3)  # 2 coders agree on 4 units
    1.0
    """
    counts = np.asarray(counts, dtype=float)
    n_coders = counts.shape[-1] - 1
    j = np.arange(n_coders + 1, dtype=float)
    # Coincidences of a unit with j "yes" of m coders: o11 = j(j-1)/(m-1), o01 = j(m-j)/(m-1).
    o01 = (counts * j * (n_coders - j)).sum(axis=-1) / (n_coders - 1)
    n1 = (counts * j).sum(axis=-1)
    n = counts.sum(axis=-1) * n_coders
    n0 = n - n1
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = np.where((n0 > 0) & (n1 > 0), 1 - (n - 1) * o01 / (n0 * n1), np.nan)
    return alpha if alpha.ndim else float(alpha)


def fleiss_from_counts(counts: np.ndarray) -> float:
    """Fleiss' kappa (yes/no) from pattern counts, as :func:`alpha_from_counts` takes them.

    >>> fleiss_from_counts(np.array([2, 0, 2]))
    1.0
    """
    counts = np.asarray(counts, dtype=float)
    n_coders = len(counts) - 1
    j = np.arange(n_coders + 1, dtype=float)
    total = counts.sum()
    p_yes = (counts * j).sum() / (total * n_coders)
    chance = p_yes**2 + (1 - p_yes) ** 2
    per_unit = (j**2 + (n_coders - j) ** 2 - n_coders) / (n_coders * (n_coders - 1))
    observed = (counts * per_unit).sum() / total
    if chance == 1:
        return float("nan")
    return float((observed - chance) / (1 - chance))
