"""Adapting a trained model to a researcher's own reviewed passages, without the texts the model
was trained on (:func:`adapt_model`).

The base model's coefficients are the prior: each code's adapted linear model is the base's
plus a correction learned from the reviewed passages only, penalized towards zero as the base
was penalized (its C per code), so that where the reviewed passages say nothing the base
stands. Each reviewed passage counts ``weight`` times as much as one of the base's training
passages did (:data:`ADAPT_WEIGHT`, chosen by the benchmark in ``benchmarks/adapt``). The
base's features (vocabulary and idf), calibration and thresholds are kept.

A review also says where the codebook's rules are wrong on this material, which a correction of
the classifier alone cannot undo: under the ``union`` policy a rule hit is a coding whatever the
classifier scores. So the adapted model learns a *rule cut* per ``union`` code
(:func:`choose_rule_cuts`): a score of :data:`RULE_CUTS` under which the code's rule hits no
longer stand, chosen by cross-validation on the reviewed passages to reproduce most of the
reviewer's decisions (ties: the lower cut; 0, every rule hit standing, unless a cut pays).

An adapted model carries what a further round needs: the base's coefficients (the prior) and
the reviewed passages as feature rows (numbers, not text) with their codes, the codes the rules
gave them and a key per passage. Adapting it again starts from that same prior and learns
from the passages of every round, a passage reviewed twice counting once (the later decision
wins).

>>> adapted = adapt_model(load_model("model.skops", book), reviewed, book)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import GoldError, ModelError
from ..types import Codebook, meets_threshold
from .calibration import sigmoid
from .classifier import CodeClassifier

#: how much one reviewed passage counts against one of the base's training passages (measured:
#: benchmarks/README.md, "The review loop")
ADAPT_WEIGHT = 30.0
#: the scores a code's rule hits may be made to meet (:func:`choose_rule_cuts`); 0: all stand
RULE_CUTS: tuple[float, ...] = (0.0, 0.02, 0.05, 0.1, 0.2, 0.3)
#: folds of the cross-validation that chooses the rule cuts; fewer than two passages per fold:
#: no cut is chosen
_CUT_FOLDS = 5


def passage_keys(gold: pd.DataFrame) -> list[str]:
    """One key per gold row that names its passage across review rounds: document and offsets,
    or document and passage id where the offsets are unknown.

    >>> passage_keys(pd.DataFrame({"doc_id": ["d"], "passage_id": ["d#0"], "start": [0],
    ...                            "end": [9]}))
    ['d\\x1f0\\x1f9']
    """
    keys = []
    starts = gold["start"] if "start" in gold.columns else [None] * len(gold)
    ends = gold["end"] if "end" in gold.columns else [None] * len(gold)
    pids = gold["passage_id"] if "passage_id" in gold.columns else range(len(gold))
    for doc, pid, start, end in zip(gold["doc_id"], pids, starts, ends, strict=True):
        if start is None or end is None or pd.isna(start) or pd.isna(end):
            keys.append(f"{doc}\x1f{pid}")
        else:
            keys.append(f"{doc}\x1f{int(start)}\x1f{int(end)}")
    return keys


def check_base_codes(base_labels: Sequence[str], codebook: Codebook, where: str) -> None:
    """Refuse a base model whose codes are not the codebook's leaf codes, naming the
    differences."""
    leaves = [c.id for c in codebook.leaf_codes]
    missing = [c for c in leaves if c not in base_labels]
    extra = [c for c in base_labels if c not in leaves]
    if missing or extra:
        raise ModelError(
            f"The base model {where} was trained for other codes than the codebook "
            f"{codebook.path or codebook.name!s}: codes the base lacks: "
            f"{', '.join(missing) or '-'}; base codes the codebook lacks: "
            f"{', '.join(extra) or '-'}. Adapt a model trained for this codebook, or train "
            "a new one (base=None).",
            params=("base",),
        )


def _fit_correction(
    x: Any, margin: np.ndarray, y: np.ndarray, strength: float
) -> tuple[np.ndarray, float]:
    """The correction (delta, intercept) that minimizes ``strength * sum(logloss) +
    |delta|^2/2 + intercept^2/2`` on margins ``margin + x @ delta + intercept``.

    The penalty is a plain L2 norm, so the best delta lies in the span of the passages' feature
    rows: with their Gram matrix ``U diag(s) U.T``, ``delta = x.T @ U diag(s)^-1/2 @ b`` turns
    the problem into a ridge logistic regression over one number per reviewed passage
    (``|delta| = |b|``), solved by Newton's method with step halving in milliseconds."""
    n = x.shape[0]
    gram = np.asarray((x @ x.T).toarray(), dtype=np.float64)
    eigen, vectors = np.linalg.eigh(gram)
    keep = eigen > 1e-10 * max(float(eigen.max(initial=0.0)), 1.0)
    basis = vectors[:, keep] / np.sqrt(eigen[keep])
    design = np.hstack([vectors[:, keep] * np.sqrt(eigen[keep]), np.ones((n, 1))])
    theta = np.zeros(design.shape[1])

    def objective(t: np.ndarray) -> float:
        z = margin + design @ t
        return strength * float(np.sum(np.logaddexp(0.0, z) - y * z)) + 0.5 * float(t @ t)

    current = objective(theta)
    for _ in range(100):
        p = sigmoid(margin + design @ theta)
        grad = strength * design.T @ (p - y) + theta
        hessian = strength * (design.T * (p * (1.0 - p))) @ design + np.eye(len(theta))
        step = np.linalg.solve(hessian, grad)
        size = 1.0
        while size > 1e-6:
            trial = theta - size * step
            value = objective(trial)
            if value <= current:
                break
            size /= 2
        else:
            break
        theta, moved, current = trial, float(np.abs(size * step).max()), value
        if moved < 1e-9:
            break
    delta = np.asarray(x.T @ (basis @ theta[:-1])).reshape(-1)
    return delta, float(theta[-1])


def rule_flags(gold: pd.DataFrame, codebook: Codebook, codes: Sequence[str]) -> np.ndarray:
    """Passages x ``codes``: which codes the codebook's rules give each gold passage (vetoes
    applied).

    >>> from trustcode.codebook import load_codebook
    >>> rule_flags(pd.DataFrame({"text": ["Volunteers wrote letters to political prisoners."],
    ...                          "language": ["en"]}), load_codebook(), ["prisoner_support"])
    array([[ True]])
    """
    from .training import rule_codes_of

    languages = list(gold["language"]) if "language" in gold.columns else [None] * len(gold)
    languages = [v if isinstance(v, str) and v else None for v in languages]
    said = rule_codes_of([str(t) for t in gold["text"]], languages, codebook)
    return np.array([[c in found for c in codes] for found in said], dtype=bool).reshape(
        len(gold), len(codes)
    )


def _corrections(
    base: CodeClassifier,
    x: Any,
    labels: np.ndarray,
    prior_coef: np.ndarray,
    prior_intercept: np.ndarray,
    weight: float,
) -> tuple[np.ndarray, np.ndarray]:
    """The adapted coefficients and intercepts: the prior plus each code's correction."""
    codes = list(base.codes_)
    coef = np.array(prior_coef, dtype=np.float64, copy=True)
    intercept = np.array(prior_intercept, dtype=np.float64, copy=True)
    for j, code in enumerate(base.classifier_codes_):
        y = labels[:, codes.index(code)].astype(np.float64)
        margin = np.asarray(x @ prior_coef[j]).reshape(-1) + prior_intercept[j]
        delta, shift = _fit_correction(x, margin, y, weight * float(base.C_[code]))
        coef[j] += delta
        intercept[j] += shift
    return coef, intercept


def choose_rule_cuts(
    base: CodeClassifier,
    codebook: Codebook,
    x: Any,
    labels: np.ndarray,
    rules: np.ndarray,
    prior_coef: np.ndarray,
    prior_intercept: np.ndarray,
    weight: float,
) -> dict[str, float]:
    """Per ``union`` code with a classifier and rule hits among the reviewed passages: the cut
    of :data:`RULE_CUTS` under which the code's rule hits do not stand, when one reproduces
    more of the reviewer's decisions than letting every rule hit stand. Each passage is scored
    by the model adapted to the others (:data:`_CUT_FOLDS` folds by position); ties go to the
    lower cut. Codes left out have no cut. Vetoes are left out of the count."""
    n = x.shape[0]
    if n < 2 * _CUT_FOLDS or codebook.exclusive or not base.classifier_codes_:
        return {}
    codes = list(base.codes_)
    fold = np.arange(n) % _CUT_FOLDS
    raw = np.zeros((n, len(base.classifier_codes_)), dtype=np.float64)
    for f in range(_CUT_FOLDS):
        train, test = fold != f, fold == f
        coef, intercept = _corrections(
            base, x[train], labels[train], prior_coef, prior_intercept, weight
        )
        raw[test] = np.asarray(x[test] @ coef.T) + intercept
    scores = sigmoid(raw * base.platt_[:, 0] + base.platt_[:, 1])
    policy = {c.id: c.combine for c in codebook.leaf_codes}
    cuts: dict[str, float] = {}
    for q, code in enumerate(base.classifier_codes_):
        j = codes.index(code)
        if policy.get(code) != "union" or not rules[:, j].any():
            continue
        score, truth, threshold = scores[:, q], labels[:, j], base.thresholds_[code]

        def right(
            cut: float,
            score: np.ndarray = score,
            truth: np.ndarray = truth,
            hit: np.ndarray = rules[:, j],
            threshold: float = threshold,
        ) -> int:
            said = (hit & meets_threshold(score, cut)) | meets_threshold(score, threshold)
            return int((said == truth).sum())

        best = max(RULE_CUTS, key=lambda cut: (right(cut), -cut))
        if best > 0:
            cuts[code] = best
    return cuts


def _merge(
    old_x: Any,
    old_labels: np.ndarray,
    old_keys: Sequence[str],
    new_x: Any,
    new_labels: np.ndarray,
    new_keys: Sequence[str],
) -> tuple[Any, np.ndarray, list[str]]:
    """The passages of earlier rounds and this one, each key once: the later row wins."""
    from scipy.sparse import vstack

    x = vstack([old_x, new_x]).tocsr()
    labels = np.vstack([old_labels, new_labels])
    keys = [*old_keys, *new_keys]
    last = {key: i for i, key in enumerate(keys)}
    keep = sorted(last.values())
    return x[keep], labels[keep], [keys[i] for i in keep]


def adapt_model(
    base: CodeClassifier,
    gold: pd.DataFrame,
    codebook: Codebook,
    *,
    weight: float = ADAPT_WEIGHT,
    base_name: str = "model",
) -> CodeClassifier:
    """A copy of ``base`` adapted to ``gold`` (reviewed passages, from
    :func:`~trustcode.gold.read_gold`); ``base`` is left as it was.

    >>> adapted = adapt_model(load_model("default", book), read_gold("review.xlsx"), book)
    ... # doctest: +SKIP
    """
    import copy

    base._check_fitted()
    check_base_codes(base.codes_, codebook, base_name)
    if gold.empty:
        raise GoldError("Nothing to adapt to: the reviewed gold has no passage.")
    if not np.isfinite(weight) or weight <= 0:
        raise GoldError(
            f"The 'weight' parameter of adapt_model must be a number in (0, inf). "
            f"Got {weight!r} instead."
        )
    codes = list(base.codes_)
    unknown = sorted({c for found in gold["codes"] for c in found} - set(codes))
    if unknown:
        raise GoldError(
            f"The reviewed gold names codes the base model does not know: {', '.join(unknown)}."
        )
    x_new = base.features([str(t) for t in gold["text"]])
    labels_new = np.array([[c in found for c in codes] for found in gold["codes"]], dtype=bool)
    labels_new = labels_new.reshape(len(gold), len(codes))
    # the codes and the rules' codes of each passage, merged as one row
    rows_new = np.hstack([labels_new, rule_flags(gold, codebook, codes)])
    keys_new = passage_keys(gold)
    # within one round too, a passage given twice counts once: the later row
    x, rows, keys = _merge(x_new[:0], rows_new[:0], [], x_new, rows_new, keys_new)
    previous = getattr(base, "adapt_keys_", None)
    if previous is not None:
        old_rules = getattr(base, "adapt_rules_", None)
        if old_rules is None:
            old_rules = np.zeros_like(base.adapt_labels_)
        x, rows, keys = _merge(
            base.adapt_features_,
            np.hstack([base.adapt_labels_, old_rules]),
            previous,
            x,
            rows,
            keys,
        )
        prior_coef, prior_intercept = base.prior_coef_, base.prior_intercept_
        root = dict(base.prior_)
    else:
        prior_coef, prior_intercept = base.coef_, base.intercept_
        root = {"name": base_name, "training_size": int(base.n_training_)}

    from threadpoolctl import threadpool_limits

    labels, rules = rows[:, : len(codes)], rows[:, len(codes) :]
    # small dense problems: BLAS threads only wait for each other (measured: 4x slower on 2 cores)
    with threadpool_limits(limits=1):
        coef, intercept = _corrections(base, x, labels, prior_coef, prior_intercept, weight)
        cuts = choose_rule_cuts(
            base, codebook, x, labels, rules, prior_coef, prior_intercept, weight
        )

    adapted = copy.copy(base)
    adapted.coef_ = coef
    adapted.intercept_ = intercept
    adapted.prior_coef_ = np.asarray(prior_coef, dtype=np.float64)
    adapted.prior_intercept_ = np.asarray(prior_intercept, dtype=np.float64)
    adapted.adapt_features_ = x
    adapted.adapt_labels_ = labels
    adapted.adapt_rules_ = rules
    adapted.rule_cuts_ = cuts
    adapted.adapt_keys_ = keys
    adapted.adapt_weight_ = float(weight)
    adapted.prior_ = root
    adapted.base_name_ = base_name
    adapted.n_training_ = int(root["training_size"]) + len(keys)
    for cache in ("_prediction_cache",):
        adapted.__dict__.pop(cache, None)
    return adapted
