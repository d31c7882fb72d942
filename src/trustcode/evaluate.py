"""How well rules, classifier and their combination reproduce gold codings.

Cross-validation is grouped by document: each fold trains a classifier on the gold passages of
some documents (plus the codebook's examples) and codes the passages of the others, so no passage
of a test document is ever trained on. With a given model, all gold is a held-out test set.

Metrics per code and overall (micro: pooled over every passage x code decision; macro: the mean
over codes that occur in the gold of that subset), for all passages and per language:
precision, recall, F1 and Krippendorff's alpha (nominal, on the binary passage x {gold, predicted}
reliability data; undefined -- NaN -- when gold and prediction use a single value).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from .classify import ILLUSTRATIVE_CODER, CodeClassifier, train_model
from .classify.evidence import passage_thresholds
from .classify.training import written_for_codebook
from .combine import combine
from .errors import GoldError, TrustcodeWarning, UsageError
from .types import Codebook, Passage, RuleHit

SYSTEMS: tuple[str, ...] = ("rules", "classifier", "combined")
METRICS: tuple[str, ...] = ("precision", "recall", "f1", "alpha")
METRIC_COLUMNS: tuple[str, ...] = (
    "system",
    "language",
    "code",
    "precision",
    "recall",
    "f1",
    "alpha",
    "support",
    "predicted",
)
DISAGREEMENT_COLUMNS: tuple[str, ...] = (
    "passage_id",
    "doc_id",
    "language",
    "text",
    "gold",
    "predicted",
    "missing",
    "extra",
    "source",
    "fold",
)
#: the language value of rows over all passages
ALL = "all"


class RuleEngine(Protocol):
    """What :func:`evaluate` needs of rules (:class:`trustcode.rules.RuleSet` provides it)."""

    def match(self, passages: Sequence[Passage], language: str | None) -> list[list[RuleHit]]: ...
    def codes(self, hits: Sequence[RuleHit]) -> dict[str, list[RuleHit]]: ...
    def vetoed(self, hits: Sequence[RuleHit]) -> set[str]: ...


@dataclass(frozen=True)
class Fold:
    """One cross-validation fold: the documents trained on and those tested on."""

    index: int
    train_docs: tuple[str, ...]
    test_docs: tuple[str, ...]
    #: what the test part is, when the folds are grouped by a metadata column ("group=analysis")
    label: str = ""


@dataclass
class EvaluationResult:
    """Metrics (long table, :data:`METRIC_COLUMNS`), the disagreements of the combined coding
    with the gold, every passage's predictions, and the folds used."""

    metrics: pd.DataFrame
    disagreements: pd.DataFrame
    predictions: pd.DataFrame
    folds: list[Fold] = field(default_factory=list)

    def side_by_side(self, language: str = ALL) -> pd.DataFrame:
        """One row per code (then micro, macro), one column per (system, metric).

        >>> result.side_by_side().loc["micro", ("combined", "f1")]  # doctest: +SKIP
        0.81
        """
        part = self.metrics[self.metrics["language"] == language]
        if part.empty:
            known = ", ".join(dict.fromkeys(self.metrics["language"]))
            raise UsageError(f"No metrics for language {language!r}; the gold has: {known}.")
        wide = part.pivot(index="code", columns="system", values=list(METRICS))
        wide = wide.swaplevel(axis=1)
        columns = [(s, m) for s in SYSTEMS for m in METRICS if (s, m) in wide.columns]
        order = list(dict.fromkeys(part["code"]))
        return wide.loc[order, columns]


# --- metrics ------------------------------------------------------------------------------------


def _alpha(gold: np.ndarray, predicted: np.ndarray) -> float:
    import krippendorff

    data = np.vstack([gold.ravel(), predicted.ravel()]).astype(float)
    if data.size == 0 or len(np.unique(data)) < 2:
        return float("nan")  # one value only: alpha is undefined
    return float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))


def metric_rows(
    gold: np.ndarray, predicted: np.ndarray, codes: Sequence[str]
) -> list[dict[str, Any]]:
    """Per-code, micro and macro metrics of binary passage x code matrices.

    >>> rows = metric_rows(np.array([[1], [0]]), np.array([[1], [1]]), ["a"])
    >>> [(r["code"], r["precision"]) for r in rows]
    [('a', 0.5), ('micro', 0.5), ('macro', 0.5)]
    """
    from sklearn.metrics import precision_recall_fscore_support

    gold = np.asarray(gold, dtype=int).reshape(-1, len(codes))
    predicted = np.asarray(predicted, dtype=int).reshape(-1, len(codes))
    rows: list[dict[str, Any]] = []
    if len(gold) == 0:
        return rows
    # sklearn reads a single column as a binary target: pad with an empty code to stay multi-label
    pad = 1 if len(codes) == 1 else 0
    sk_gold = np.hstack([gold, np.zeros((len(gold), pad), dtype=int)])
    sk_pred = np.hstack([predicted, np.zeros((len(predicted), pad), dtype=int)])
    p, r, f, support = precision_recall_fscore_support(
        sk_gold, sk_pred, average=None, zero_division=0
    )
    alphas = [_alpha(gold[:, j], predicted[:, j]) for j in range(len(codes))]
    for j, code in enumerate(codes):
        rows.append(
            {
                "code": code,
                "precision": float(p[j]),
                "recall": float(r[j]),
                "f1": float(f[j]),
                "alpha": alphas[j],
                "support": int(support[j]),
                "predicted": int(predicted[:, j].sum()),
            }
        )
    mp, mr, mf, _ = precision_recall_fscore_support(
        sk_gold, sk_pred, average="micro", zero_division=0
    )
    rows.append(
        {
            "code": "micro",
            "precision": float(mp),
            "recall": float(mr),
            "f1": float(mf),
            "alpha": _alpha(gold, predicted),
            "support": int(gold.sum()),
            "predicted": int(predicted.sum()),
        }
    )
    # macro over codes the gold of this subset uses: a code absent here has no recall to average
    present = [j for j in range(len(codes)) if support[j] > 0]
    if present:
        ap, ar, af, _ = precision_recall_fscore_support(
            sk_gold, sk_pred, labels=present, average="macro", zero_division=0
        )
        macro_alpha = [alphas[j] for j in present if not np.isnan(alphas[j])]
        rows.append(
            {
                "code": "macro",
                "precision": float(ap),
                "recall": float(ar),
                "f1": float(af),
                "alpha": float(np.mean(macro_alpha)) if macro_alpha else float("nan"),
                "support": int(gold.sum()),
                "predicted": int(predicted.sum()),
            }
        )
    return rows


def _matrix(code_sets: Sequence[Sequence[str]], codes: Sequence[str]) -> np.ndarray:
    column = {c: j for j, c in enumerate(codes)}
    out = np.zeros((len(code_sets), len(codes)), dtype=int)
    for i, found in enumerate(code_sets):
        for code in found:
            if code in column:
                out[i, column[code]] = 1
    return out


# --- evaluation ---------------------------------------------------------------------------------


def _passages(gold: pd.DataFrame) -> list[Passage]:
    passages = []
    for row, record in enumerate(gold.to_dict("records")):
        text = str(record["text"])
        start = record.get("start")
        start = 0 if start is None or pd.isna(start) else int(start)
        end = record.get("end")
        end = start + len(text) if end is None or pd.isna(end) else int(end)
        pid = str(record.get("passage_id") or "")
        tail = pid.rsplit("#", 1)[-1] if "#" in pid else ""
        index = int(tail) if tail.isdigit() else row
        passages.append(Passage(str(record["doc_id"]), index, start, end, text))
    return passages


def _rule_results(
    rules: RuleEngine, passages: list[Passage], languages: list[str | None]
) -> list[tuple[dict[str, list[RuleHit]], set[str]]]:
    results: list[tuple[dict[str, list[RuleHit]], set[str]]] = [({}, set()) for _ in passages]
    by_language: dict[str | None, list[int]] = {}
    for i, language in enumerate(languages):
        by_language.setdefault(language, []).append(i)
    for language, rows in by_language.items():
        hits = rules.match([passages[i] for i in rows], language)
        for i, found in zip(rows, hits, strict=True):
            results[i] = (rules.codes(found), set(rules.vetoed(found)))
    return results


def _folds(gold: pd.DataFrame, folds: int) -> list[Fold]:
    from sklearn.model_selection import GroupKFold

    docs = list(dict.fromkeys(gold["doc_id"].astype(str)))
    if len(docs) < 2:
        raise GoldError(
            f"Grouped cross-validation needs gold passages from at least 2 documents; the gold "
            f"has {len(docs)} ({', '.join(docs) or 'none'}). Code more documents, or evaluate "
            "a trained model on this gold with model=..."
        )
    if folds < 2:
        raise GoldError(
            f"The 'folds' parameter of evaluate must be an int in [2, inf). Got {folds!r} instead."
        )
    splitter = GroupKFold(n_splits=min(folds, len(docs)))
    groups = gold["doc_id"].astype(str).to_numpy()
    out = []
    for k, (train, test) in enumerate(splitter.split(np.zeros(len(groups)), groups=groups)):
        out.append(Fold(k, tuple(dict.fromkeys(groups[train])), tuple(dict.fromkeys(groups[test]))))
    return out


def _split_illustrative(
    gold: pd.DataFrame, training_only: pd.DataFrame | None
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The gold to test on, and what is only trained on: ``training_only`` plus the passages
    written for the codebook (coder ``illustrative``), which are never a test fold."""
    written = written_for_codebook(gold)
    if not written.any():
        return gold, training_only
    if written.all():
        raise GoldError(
            f"Every gold passage is of coder {ILLUSTRATIVE_CODER!r} (written for the codebook): "
            "those are trained on, never tested on. Give gold coded on real documents too."
        )
    parts = [p for p in (training_only, gold[written]) if p is not None and not p.empty]
    return gold[~written], pd.concat(parts, ignore_index=True)


def _folds_by(gold: pd.DataFrame, column: str) -> list[Fold]:
    """One fold per value of a document metadata column: its documents are tested on, the
    others trained on (train on reports, test on the article; train on English, test on
    Russian)."""
    if column not in gold.columns:
        extra = [
            c
            for c in gold.columns
            if c not in ("passage_id", "start", "end", "text", "codes", "coder")
        ]
        raise GoldError(
            f"The gold has no column {column!r} to group the folds by; it has: "
            f"{', '.join(extra)}. Put {column!r} in the documents' manifest.csv or in the "
            "gold table."
        )
    values = gold[column]
    lacking = sorted(set(gold["doc_id"].astype(str)[values.isna() | (values.astype(str) == "")]))
    if lacking:
        raise GoldError(
            f"These gold documents have no {column!r} value, so no fold can hold them: "
            f"{', '.join(lacking)}. Fill it in their manifest or gold table."
        )
    distinct = list(dict.fromkeys(values.astype(str)))
    if len(distinct) < 2:
        raise GoldError(
            f"Grouping by {column!r} needs at least 2 values; the gold has "
            f"{', '.join(distinct)}. Group by another column."
        )
    docs = gold["doc_id"].astype(str)
    out = []
    for k, value in enumerate(distinct):
        inside = (values.astype(str) == value).to_numpy()
        out.append(
            Fold(
                k,
                tuple(dict.fromkeys(docs[~inside])),
                tuple(dict.fromkeys(docs[inside])),
                label=f"{column}={value}",
            )
        )
    return out


def _describe(found: Sequence[tuple[str, str, float | None]]) -> str:
    parts = []
    for code, source, score in found:
        parts.append(f"{code}:{source}" + (f" {score:.2f}" if score is not None else ""))
    return "; ".join(parts)


def evaluate(
    gold: pd.DataFrame,
    codebook: Codebook,
    *,
    folds: int = 5,
    model: CodeClassifier | None = None,
    rules: RuleEngine | None = None,
    train_params: Mapping[str, Any] | None = None,
    training_only: pd.DataFrame | None = None,
    group_by: str | None = None,
) -> EvaluationResult:
    """Compare rules alone, classifier alone and combined against ``gold`` (from read_gold).

    Without ``model``, grouped ``folds``-fold cross-validation by document trains a classifier
    per fold (``train_params`` go to :func:`~trustcode.classify.train_model`); with a model, the
    gold is its held-out test set. ``group_by`` names a document metadata column of the gold
    (``language``, ``group``, ...): then each value in turn is the test part, trained on the
    others. ``training_only`` passages, and gold passages of coder ``illustrative`` (written
    for the codebook), join every fold's training and are never tested on. ``rules``
    defaults to the codebook's :class:`~trustcode.rules.RuleSet`.

    >>> result = evaluate(read_gold("corpus/gold/coding"), load_codebook())  # doctest: +SKIP
    >>> result.side_by_side()  # doctest: +SKIP
    """
    missing = [c for c in ("doc_id", "passage_id", "text", "codes") if c not in gold.columns]
    if missing:
        raise GoldError(
            f"The gold table lacks the columns {', '.join(missing)}: read it with "
            "trustcode.gold.read_gold."
        )
    if gold.empty:
        raise GoldError("The gold table has no passages: nothing to evaluate.")
    gold, training_only = _split_illustrative(gold, training_only)
    gold = gold.reset_index(drop=True)
    codes = [c.id for c in codebook.leaf_codes]
    fallback = codebook.languages[0] if codebook.languages else None
    languages = [
        str(v) if v is not None and not pd.isna(v) and str(v) else fallback
        for v in (gold["language"] if "language" in gold.columns else [None] * len(gold))
    ]
    if rules is None:
        from .rules import RuleSet

        rules = RuleSet(codebook)
    passages = _passages(gold)
    rule_results = _rule_results(rules, passages, languages)
    texts = [p.text for p in passages]

    scores: list[dict[str, float]] = [{} for _ in texts]
    thresholds: list[Mapping[str, float]] = [{} for _ in texts]
    # a given adapted model's cuts under which rule hits do not stand (classify.adapting)
    rule_cuts = getattr(model, "rule_cuts_", None) if model is not None else None
    classified: list[tuple[str, ...]] = [() for _ in texts]
    fold_of = [-1] * len(texts)
    fold_list: list[Fold]
    if model is not None:
        fold_list = [Fold(0, (), tuple(dict.fromkeys(gold["doc_id"].astype(str))))]
        _predict(model, range(len(texts)), texts, scores, thresholds, classified)
        fold_of = [0] * len(texts)
    else:
        fold_list = _folds(gold, folds) if group_by is None else _folds_by(gold, group_by)
        params = dict(train_params or {})
        params.setdefault("folds", 3)  # inner folds (calibration) only: keep it quick
        doc_ids = gold["doc_id"].astype(str)
        seen_warnings: set[str] = set()
        for fold in fold_list:
            train_rows = doc_ids.isin(fold.train_docs).to_numpy()
            test_rows = np.flatnonzero(doc_ids.isin(fold.test_docs).to_numpy())
            train_part = gold[train_rows]
            if training_only is not None and not training_only.empty:
                train_part = pd.concat([train_part, training_only], ignore_index=True)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", TrustcodeWarning)
                fitted = train_model(train_part, codebook, **params)
            for w in caught:  # the same warning from every fold is said once
                if str(w.message) not in seen_warnings:
                    seen_warnings.add(str(w.message))
                    warnings.warn(f"fold {fold.index}: {w.message}", w.category, stacklevel=2)
            _predict(fitted, test_rows, texts, scores, thresholds, classified)
            for i in test_rows:
                fold_of[i] = fold.index

    leaf = set(codes)
    gold_sets = [tuple(c for c in found if c in leaf) for found in gold["codes"]]
    rule_sets = [
        tuple(c for c in codes if c in rc and c not in vetoed) for rc, vetoed in rule_results
    ]
    classifier_sets = [tuple(c for c in found if c in leaf) for found in classified]
    combined_full = [
        combine(codebook, rc, vetoed, scores[i] or None, thresholds[i] or None, rule_cuts)
        for i, (rc, vetoed) in enumerate(rule_results)
    ]
    combined_sets = [tuple(code for code, _, _ in found) for found in combined_full]

    predictions = pd.DataFrame(
        {
            "passage_id": gold["passage_id"].astype(str),
            "doc_id": gold["doc_id"].astype(str),
            "language": languages,
            "fold": fold_of,
            "gold": gold_sets,
            "rules": rule_sets,
            "classifier": classifier_sets,
            "combined": combined_sets,
        }
    )
    truth = _matrix(gold_sets, codes)
    systems = {"rules": rule_sets, "classifier": classifier_sets, "combined": combined_sets}
    rows = []
    subsets = [(ALL, np.ones(len(texts), dtype=bool))]
    for language in sorted({str(x) for x in languages}):
        subsets.append((language, np.array([str(x) == language for x in languages])))
    for system, code_sets in systems.items():
        predicted = _matrix(code_sets, codes)
        for language, mask in subsets:
            for row in metric_rows(truth[mask], predicted[mask], codes):
                rows.append({"system": system, "language": language, **row})
    metrics = pd.DataFrame(rows, columns=list(METRIC_COLUMNS))

    disagreements = []
    for at, (expected, found) in enumerate(zip(gold_sets, combined_sets, strict=True)):
        if set(expected) != set(found):
            disagreements.append(
                {
                    "passage_id": predictions["passage_id"][at],
                    "doc_id": predictions["doc_id"][at],
                    "language": languages[at],
                    "text": texts[at],
                    "gold": ";".join(expected),
                    "predicted": ";".join(found),
                    "missing": ";".join(c for c in expected if c not in found),
                    "extra": ";".join(c for c in found if c not in expected),
                    "source": _describe(combined_full[at]),
                    "fold": fold_of[at],
                }
            )
    return EvaluationResult(
        metrics=metrics,
        disagreements=pd.DataFrame(disagreements, columns=list(DISAGREEMENT_COLUMNS)),
        predictions=predictions,
        folds=fold_list,
    )


def _predict(
    model: CodeClassifier,
    rows: Sequence[int] | range | np.ndarray,
    texts: Sequence[str],
    scores: list[dict[str, float]],
    thresholds: list[Mapping[str, float]],
    classified: list[tuple[str, ...]],
) -> None:
    rows = list(rows)
    if not rows:
        return
    chosen = [texts[i] for i in rows]
    features = model.features(chosen)
    values = model.score_matrix(chosen, features=features)
    codes = list(model.classifier_codes_)
    # as the coder does: a score at its threshold on too few words proposes nothing
    cuts = passage_thresholds(model, features, values)
    predicted = model.predict(chosen)
    for k, i in enumerate(rows):
        scores[i] = dict(zip(codes, values[k].tolist(), strict=True))
        thresholds[i] = cuts[k]
        classified[i] = predicted[k]
