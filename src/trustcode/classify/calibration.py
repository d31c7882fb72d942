"""Fitting helpers of the per-code models: sample weights, Platt scaling and the F1 threshold."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import UsageError


def check_weights(sample_weight: Sequence[float] | np.ndarray | None, n: int) -> np.ndarray | None:
    if sample_weight is None:
        return None
    weights = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
    if len(weights) != n:
        raise UsageError(f"fit got {n} texts but {len(weights)} sample weights: give one per text.")
    if not np.all(np.isfinite(weights)) or np.any(weights <= 0):
        raise UsageError(
            "The 'sample_weight' parameter of fit must hold numbers in (0, inf). "
            f"Got {weights[~(np.isfinite(weights) & (weights > 0))][:3].tolist()} among them."
        )
    return weights


def sigmoid(values: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(values, -500, 500)))


def fit_platt(decision: np.ndarray, y: np.ndarray, random_state: int) -> tuple[float, float]:
    """Platt scaling: a logistic curve from raw decision values to probabilities."""
    from sklearn.linear_model import LogisticRegression

    platt = LogisticRegression(C=1e4, solver="lbfgs", random_state=random_state)
    platt.fit(decision.reshape(-1, 1), y)
    return float(platt.coef_[0, 0]), float(platt.intercept_[0])


def best_threshold(scores: np.ndarray, y: np.ndarray) -> float:
    """The cut that maximizes F1 on these scores: halfway between the last score kept and the
    next one below, so that a new passage scoring just under the best kept one still counts."""
    order = np.argsort(-scores, kind="stable")
    sorted_scores, sorted_y = scores[order], y[order]
    tp = np.cumsum(sorted_y)
    kept = np.arange(1, len(y) + 1)
    f1 = 2 * tp / (kept + y.sum())
    # only cut between distinct scores: every passage with an equal score gets the same answer
    last_of_run = np.append(sorted_scores[1:] != sorted_scores[:-1], True)
    f1 = np.where(last_of_run, f1, -1.0)
    best = int(np.argmax(f1))
    if best + 1 < len(sorted_scores):
        return float((sorted_scores[best] + sorted_scores[best + 1]) / 2)
    return float(sorted_scores[best])
