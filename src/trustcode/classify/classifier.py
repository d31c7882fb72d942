"""The classifier itself: :class:`CodeClassifier` (features, one linear model per code, chosen C,
calibration, thresholds, prediction and explanation)."""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import GoldError, TrustcodeWarning, UsageError
from ..ngrams import NgramFeatures, NgramTfidf, drop_stop_chunks
from ..types import meets_threshold
from .calibration import best_threshold, check_weights, fit_platt, sigmoid
from .evidence import Names, best_distinct, contributions, evidence_entries

if TYPE_CHECKING:
    from scipy.sparse import spmatrix

#: the regularization strengths ``C="auto"`` chooses from, per code, by inner cross-validation
C_GRID: tuple[float, ...] = (1.0, 10.0, 100.0)
#: counted (real gold) passages of a code needed before cross-validation may take its classifier
#: away for not beating its rules
DECISIVE_POSITIVES = 10
# C when a code has too few passages to compare strengths on (the old fixed default)
_FALLBACK_C = 10.0


def _rule_matrix(
    rule_codes: Sequence[Iterable[str]] | None, codes: Sequence[str], n: int
) -> np.ndarray | None:
    """Texts x codes: which codes the rules give each text (None: no comparison asked)."""
    if rule_codes is None:
        return None
    found = [frozenset(c) for c in rule_codes]
    if len(found) != n:
        raise UsageError(f"fit got {n} texts but {len(found)} sets of rule codes.")
    return np.array([[code in f for code in codes] for f in found], dtype=bool).reshape(
        n, len(codes)
    )


def _gain_over_rules(
    y: np.ndarray,
    rules: np.ndarray,
    counted: np.ndarray,
    oof: np.ndarray | None,
    platt: tuple[float, float],
    threshold: float,
) -> tuple[float, float] | None:
    """None when rules plus this code's out-of-fold classifier do at least as well as the rules
    alone (F1 over the counted texts), or when the counted texts hold fewer than
    :data:`DECISIVE_POSITIVES` passages of the code; else the two F1 values, which say why the
    classifier is left out."""
    from sklearn.metrics import f1_score

    if oof is None:  # too few examples to test the classifier on unseen passages
        return (float("nan"), float("nan"))
    if y[counted].sum() < DECISIVE_POSITIVES:
        # a handful of real passages cannot tell the two apart, and the rules were most likely
        # written while reading those very passages: the classifier stays
        return None
    chosen = counted
    said = meets_threshold(sigmoid(platt[0] * oof + platt[1]), threshold)
    with_it = float(f1_score(y[chosen], (rules | said)[chosen], zero_division=0))
    alone = float(f1_score(y[chosen], rules[chosen], zero_division=0))
    return None if with_it >= alone else (with_it, alone)


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _is_ngram_range(value: Any) -> bool:
    return (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(_is_int(v) for v in value)
        and 1 <= value[0] <= value[1]
    )


def _same(value: Any, default: Any) -> bool:
    try:
        return bool(value == default) and type(value) is type(default)
    except (TypeError, ValueError):
        return False


class CodeClassifier:
    """Multi-label passage classifier with calibrated scores and per-code thresholds.

    ``exclusive=True`` gives every passage exactly one code, the best-scoring one. A code with
    no positive example, or fewer than ``min_positives``, gets no model (a
    :class:`TrustcodeWarning`): it is rules-only, never predicted, and absent from
    :meth:`predict_scores`. ``C`` is a fixed regularization strength or ``"auto"`` (chosen per
    code by inner cross-validation, recorded in ``C_``).

    >>> clf = CodeClassifier(folds=2, min_positives=1).fit(
    ...     ["letters to prisoners", "a prisoner got letters", "police arrested them",
    ...      "the police detained him"],
    ...     [["support"], ["support"], ["repression"], ["repression"]],
    ...     codes=["support", "repression"])
    >>> clf.predict(["letters for a prisoner"])
    [('support',)]
    """

    # learned state, set by fit (load_model restores it from a model file)
    codes_: tuple[str, ...]
    classifier_codes_: tuple[str, ...]
    vectorizers_: tuple[Any, Any]
    feature_names_: np.ndarray
    coef_: np.ndarray
    intercept_: np.ndarray
    platt_: np.ndarray
    thresholds_: dict[str, float]
    C_: dict[str, float]  # the regularization strength each classifier code was trained with
    n_training_: int
    # what fit was told of its training data: the codebook the codes come from (None: not said)
    # and whether that codebook's descriptions of the codes joined the passages
    codebook_sha256_: str | None
    definitions_: bool
    metadata_: dict[str, Any]  # set by load_model: the model file's metadata
    # set by adapt_model (classify.adapting) on an adapted model only: the prior, the reviewed
    # passages as feature rows with their codes and keys, the weight, the base's names
    prior_coef_: np.ndarray
    prior_intercept_: np.ndarray
    adapt_features_: Any
    adapt_labels_: np.ndarray
    adapt_rules_: np.ndarray  # the codes the codebook's rules gave each reviewed passage
    rule_cuts_: dict[str, float]  # per code: the score below which its rule hits do not stand
    adapt_keys_: list[str]
    adapt_weight_: float
    base_name_: str
    prior_: dict[str, Any]

    def __init__(
        self,
        *,
        folds: int = 5,
        random_state: int = 0,
        exclusive: bool = False,
        C: float | str = "auto",
        class_weight: str | None = "balanced",
        word_ngrams: tuple[int, int] = (1, 2),
        char_ngrams: tuple[int, int] = (2, 5),
        min_df: int = 1,
        max_features: int | None = 60000,
        min_threshold: float = 0.7,
        min_positives: int = 5,
        embeddings: str | None = None,
        stop_words: Sequence[str] | None = None,
    ) -> None:
        self.folds = folds
        self.random_state = random_state
        self.exclusive = exclusive
        self.C = C
        self.class_weight = class_weight
        self.word_ngrams = word_ngrams
        self.char_ngrams = char_ngrams
        self.min_df = min_df
        self.max_features = max_features
        self.min_threshold = min_threshold
        self.min_positives = min_positives
        self.embeddings = embeddings
        self.stop_words = stop_words

    # --- parameters: scikit-learn's estimator contract ------------------------------------------
    # CodeClassifier keeps the contract of sklearn.base.BaseEstimator (parameters are exactly
    # those of __init__, stored unchanged; get_params, set_params, clone) without inheriting from
    # it: coding with a saved model must not import scikit-learn, which takes seconds to load.

    @classmethod
    def _get_param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return sorted(name for name in signature.parameters if name != "self")

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The parameters, as given to ``__init__`` (``deep`` is accepted for scikit-learn;
        no parameter is an estimator).

        >>> CodeClassifier(folds=3).get_params()["folds"]
        3
        """
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params: Any) -> CodeClassifier:
        """Set parameters by name, as scikit-learn's search tools do; returns ``self``. They are
        checked when :meth:`fit` runs.

        >>> CodeClassifier().set_params(C=10.0).C
        10.0
        """
        valid = self._get_param_names()
        unknown = sorted(set(params) - set(valid))
        if unknown:
            raise UsageError(
                f"CodeClassifier has no parameter {', '.join(map(repr, unknown))}. Valid "
                f"parameters are: {', '.join(valid)}."
            )
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def __sklearn_tags__(self) -> Any:
        """scikit-learn's tags (asked only by scikit-learn, which is then loaded): a classifier
        of texts with several codes per text."""
        from sklearn.base import BaseEstimator

        tags = BaseEstimator.__sklearn_tags__(self)  # type: ignore[arg-type]
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.target_tags.required = True
        return tags

    def __repr__(self) -> str:
        defaults = inspect.signature(type(self).__init__).parameters
        changed = [
            f"{name}={value!r}"
            for name, value in self.get_params().items()
            if not _same(value, defaults[name].default)
        ]
        return f"{type(self).__name__}({', '.join(changed)})"

    def _check_params(self) -> None:
        """Every parameter checked, in one place, before fit does anything (scikit-learn's
        message template)."""
        problems: list[str] = []

        def need(ok: bool, name: str, what: str) -> None:
            if not ok:
                problems.append(
                    f"The {name!r} parameter of CodeClassifier must be {what}. "
                    f"Got {getattr(self, name)!r} instead."
                )

        need(_is_int(self.folds) and self.folds >= 2, "folds", "an int in [2, inf)")
        need(
            self.random_state is None or _is_int(self.random_state),
            "random_state",
            "an int or None",
        )
        need(isinstance(self.exclusive, bool), "exclusive", "a bool")
        need(
            self.C == "auto" or (_is_number(self.C) and float(self.C) > 0),
            "C",
            "a float in (0, inf) or 'auto'",
        )
        need(self.class_weight in ("balanced", None), "class_weight", "'balanced' or None")
        for name in ("word_ngrams", "char_ngrams"):
            need(
                _is_ngram_range(getattr(self, name)),
                name,
                "a pair of ints (low, high) with 1 <= low <= high",
            )
        need(_is_int(self.min_df) and self.min_df >= 1, "min_df", "an int in [1, inf)")
        need(
            self.max_features is None or (_is_int(self.max_features) and self.max_features >= 1),
            "max_features",
            "an int in [1, inf) or None",
        )
        need(
            _is_number(self.min_threshold) and 0 <= self.min_threshold <= 1,
            "min_threshold",
            "a float in [0, 1]",
        )
        need(
            _is_int(self.min_positives) and self.min_positives >= 1,
            "min_positives",
            "an int in [1, inf)",
        )
        need(
            self.embeddings is None or isinstance(self.embeddings, str),
            "embeddings",
            "the name of a sentence encoder or None",
        )
        need(
            self.stop_words is None
            or (
                not isinstance(self.stop_words, str)
                and all(isinstance(w, str) for w in self.stop_words)
            ),
            "stop_words",
            "a sequence of words or None",
        )
        if problems:
            raise UsageError(" ".join(problems))
        if self.embeddings is not None:
            from ..embeddings import check_encoder

            check_encoder(self.embeddings)

    def _stop(self) -> frozenset[str]:
        return frozenset(self.stop_words or ())

    def _vectorizers(self) -> tuple[Any, Any]:
        from sklearn.feature_extraction.text import TfidfVectorizer

        stop = self._stop()
        word = TfidfVectorizer(
            stop_words=sorted(stop) if stop else None,
            ngram_range=tuple(self.word_ngrams),
            sublinear_tf=True,
            min_df=self.min_df,
            max_features=self.max_features,
        )
        char = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=tuple(self.char_ngrams),
            sublinear_tf=True,
            min_df=self.min_df,
            max_features=self.max_features,
        )
        return word, char

    # --- training -----------------------------------------------------------------------------

    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[Iterable[str]],
        codes: Sequence[str],
        groups: Sequence[Any] | None = None,
        sample_weight: Sequence[float] | np.ndarray | None = None,
        rule_codes: Sequence[Iterable[str]] | None = None,
        counted: Sequence[bool] | np.ndarray | None = None,
        *,
        codebook_sha256: str | None = None,
        definitions: bool = False,
    ) -> CodeClassifier:
        """Learn features, one model per code, calibration and thresholds; returns ``self``.

        ``sample_weight`` (one positive number per text, default 1) says how much each passage
        counts when the linear models are fitted; choosing C, calibration and thresholds count
        every passage once.

        ``rule_codes`` (the codes the codebook's rules give each text) makes each code's
        classifier earn its place: it is kept only when, on the out-of-fold scores of the
        (grouped) cross-validation, rules plus classifier code that code with a higher F1 than
        the rules alone (a :class:`TrustcodeWarning` names the codes left to their rules, with
        both figures). ``counted`` says which texts that comparison counts (default: all); a
        code with fewer than :data:`DECISIVE_POSITIVES` counted passages keeps its classifier.

        ``codebook_sha256`` (the fingerprint of the codebook the codes come from) and
        ``definitions`` (whether the texts include that codebook's descriptions of the codes)
        describe the training data; they are kept as ``codebook_sha256_`` and ``definitions_``.
        """
        self._check_params()
        texts = [str(t) for t in texts]
        label_sets = [frozenset(lab) for lab in labels]
        codes = tuple(dict.fromkeys(codes))
        if len(texts) != len(label_sets):
            raise UsageError(
                f"fit got {len(texts)} texts but {len(label_sets)} label sets: give one set of "
                "codes (possibly empty) per text."
            )
        if groups is not None and len(groups) != len(texts):
            raise UsageError(f"fit got {len(texts)} texts but {len(groups)} groups.")
        weights = check_weights(sample_weight, len(texts))
        rules_say = _rule_matrix(rule_codes, codes, len(texts))
        counts_in = (
            np.ones(len(texts), dtype=bool)
            if counted is None
            else np.asarray(counted, dtype=bool).reshape(-1)
        )
        if len(counts_in) != len(texts):
            raise UsageError(f"fit got {len(texts)} texts but {len(counts_in)} 'counted' flags.")
        unknown = sorted(set().union(*label_sets) - set(codes)) if label_sets else []
        if unknown:
            raise GoldError(
                f"Training labels name codes that are not in the label set: {', '.join(unknown)}. "
                f"Known codes: {', '.join(codes)}. Fix the gold codes or the codebook."
            )
        if not texts:
            raise GoldError("No training passages: give gold codings with at least one passage.")

        word, char = self._vectorizers()
        stop = self._stop()
        try:
            xw = word.fit_transform(texts)
            # character n-grams of the content words only, as NgramTfidf computes them
            xc = char.fit_transform([drop_stop_chunks(t, stop) for t in texts] if stop else texts)
        except ValueError as exc:  # sklearn: "empty vocabulary"
            raise GoldError(
                f"Cannot learn features from the training texts ({exc}): give passages with words."
            ) from exc
        x = self._join(xw, xc, texts)

        clf_codes: list[str] = []
        coefs, intercepts, platts, thresholds = [], [], [], {}
        chosen_C: dict[str, float] = {}
        rules_better: list[str] = []
        for j, code in enumerate(codes):
            y = np.array([code in s for s in label_sets], dtype=int)
            if y.sum() == 0:
                warnings.warn(
                    f"Code {code!r} has no positive training passage: it gets no classifier and "
                    "is coded by its rules only. Add gold passages or positive examples for it.",
                    TrustcodeWarning,
                    stacklevel=2,
                )
                continue
            if y.sum() < self.min_positives:
                warnings.warn(
                    f"Code {code!r} has {int(y.sum())} positive training passage(s), fewer than "
                    f"min_positives={self.min_positives}: too few to learn from, so it gets no "
                    "classifier and is coded by its rules only. Add gold passages for it, or "
                    "lower min_positives.",
                    TrustcodeWarning,
                    stacklevel=2,
                )
                continue
            if y.sum() == len(y):
                warnings.warn(
                    f"Code {code!r} is on every training passage: its classifier cannot learn "
                    "what it is not, so it is coded by its rules only. Add passages without it.",
                    TrustcodeWarning,
                    stacklevel=2,
                )
                continue
            strength, oof = self._choose_C(x, y, groups, weights)
            coef, intercept = self._fit_linear(x, y, strength, weights)
            if oof is None:  # too few examples to calibrate: the model's own sigmoid, cut at 0.5
                platt, threshold = (1.0, 0.0), 0.5
            else:
                platt = fit_platt(oof, y, self.random_state)
                if platt[0] > 0:
                    threshold = best_threshold(sigmoid(platt[0] * oof + platt[1]), y)
                    threshold = max(threshold, self.min_threshold)
                else:  # out-of-fold scores rank backwards (too little data): do not trust them
                    platt, threshold = (1.0, 0.0), 0.5
            if rules_say is not None:
                gain = _gain_over_rules(y, rules_say[:, j], counts_in, oof, platt, threshold)
                if gain is not None:
                    rules_better.append(
                        f"{code} (too few passages to test it)"
                        if np.isnan(gain[0])
                        else f"{code} (F1 {gain[0]:.2f} with it, {gain[1]:.2f} rules alone)"
                    )
                    continue
            clf_codes.append(code)
            chosen_C[code] = strength
            coefs.append(coef)
            intercepts.append(intercept)
            platts.append(platt)
            thresholds[code] = threshold

        if rules_better:
            warnings.warn(
                f"{len(rules_better)} code(s) are coded by their rules only: in cross-validation "
                f"their classifier did not improve on the rules: {'; '.join(rules_better)}.",
                TrustcodeWarning,
                stacklevel=2,
            )
        n_features = x.shape[1]
        self.codes_ = codes
        self.classifier_codes_ = tuple(clf_codes)
        # applied the fast way from now on: the same matrix, without scikit-learn's n-gram walk
        self.vectorizers_ = (
            NgramTfidf.from_sklearn(word, stop),
            NgramTfidf.from_sklearn(char, stop),
        )
        self.feature_names_ = self._feature_names(
            word.get_feature_names_out(), char.get_feature_names_out()
        )
        self.coef_ = np.array(coefs, dtype=np.float64).reshape(len(clf_codes), n_features)
        self.intercept_ = np.array(intercepts, dtype=np.float64)
        self.platt_ = np.array(platts, dtype=np.float64).reshape(len(clf_codes), 2)
        self.thresholds_ = thresholds
        self.C_ = chosen_C
        self.n_training_ = len(texts)
        self.codebook_sha256_ = codebook_sha256
        self.definitions_ = bool(definitions)
        return self

    def _choose_C(
        self,
        x: spmatrix,
        y: np.ndarray,
        groups: Sequence[Any] | None,
        weights: np.ndarray | None = None,
    ) -> tuple[float, np.ndarray | None]:
        """This code's regularization strength and its raw out-of-fold scores.

        With ``C="auto"`` each value of :data:`C_GRID` is tried on the training passages' own
        (grouped) folds and the one whose out-of-fold scores rank the code's passages best
        (average precision) wins; ties go to the smaller, more regularized value. Test passages
        are never seen: evaluation folds train on their training part only.
        """
        from sklearn.metrics import average_precision_score

        if self.C != "auto":
            return float(self.C), self._out_of_fold(x, y, groups, float(self.C), weights)
        best: tuple[float, float, np.ndarray | None] | None = None
        for strength in C_GRID:
            oof = self._out_of_fold(x, y, groups, strength, weights)
            if oof is None:  # too few examples to compare: the middle of the grid
                return _FALLBACK_C, None
            quality = float(average_precision_score(y, oof))
            if best is None or quality > best[0] + 1e-12:
                best = (quality, strength, oof)
        assert best is not None
        return best[1], best[2]

    def _fit_linear(
        self, x: spmatrix, y: np.ndarray, C: float, weights: np.ndarray | None = None
    ) -> tuple[np.ndarray, float]:
        from sklearn.linear_model import LogisticRegression

        # the dual problem is the fast one when features outnumber passages, as n-grams do
        model = LogisticRegression(
            solver="liblinear",
            dual=True,
            max_iter=1000,
            C=C,
            class_weight=self.class_weight,
            random_state=self.random_state,
        )
        model.fit(x, y, sample_weight=weights)
        return model.coef_[0].copy(), float(model.intercept_[0])

    def _out_of_fold(
        self,
        x: spmatrix,
        y: np.ndarray,
        groups: Sequence[Any] | None,
        C: float,
        weights: np.ndarray | None = None,
    ) -> np.ndarray | None:
        """Raw out-of-fold decision values of this code's model, or None when too few examples."""
        from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

        n_pos, n_neg = int(y.sum()), int(len(y) - y.sum())
        n_splits = min(self.folds, n_pos, n_neg)
        if n_splits < 2:
            return None
        splits = None
        if groups is not None and len(set(groups)) >= n_splits:
            grouped = StratifiedGroupKFold(
                n_splits=n_splits, shuffle=True, random_state=self.random_state
            )
            splits = list(grouped.split(x, y, groups))
            # a training part with one class cannot train: fall back to passage folds
            if any(len(set(y[train])) < 2 for train, _ in splits):
                splits = None
        if splits is None:
            plain = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=self.random_state)
            splits = list(plain.split(x, y))
        oof = np.zeros(len(y), dtype=np.float64)
        for train, test in splits:
            part = None if weights is None else weights[train]
            coef, intercept = self._fit_linear(x[train], y[train], C, part)
            oof[test] = x[test] @ coef + intercept
        return oof

    # --- prediction ---------------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise UsageError(
                "This CodeClassifier is not fitted yet: call fit, train_model or load_model first."
            )

    def __getstate__(self) -> dict[str, Any]:
        # the prediction caches rebuild themselves: a pickled copy leaves them behind
        return {
            k: v for k, v in self.__dict__.items() if k not in ("_ngram_cache", "_prediction_cache")
        }

    def features(self, texts: Sequence[str]) -> spmatrix:
        """The feature rows of ``texts`` (pass them to :meth:`predict_scores` and :meth:`explain`
        to compute them once)."""
        self._check_fitted()
        return self._features(texts)

    def _features(self, texts: Sequence[str]) -> spmatrix:
        texts = [str(t) for t in texts]
        x = self._ngram_features().transform(texts)
        if self.embeddings is None:
            return x
        return self._join(x, None, texts)

    def _ngram_features(self) -> NgramFeatures:
        """Word and character n-grams from one pass over the texts, built once per
        vectorizers (threads may race to build it: either copy serves)."""
        cached = getattr(self, "_ngram_cache", None)
        if cached is None or cached[0] is not self.vectorizers_:
            cached = self._ngram_cache = (self.vectorizers_, NgramFeatures(self.vectorizers_))
        return cached[1]

    def _join(self, xw: spmatrix, xc: spmatrix | None, texts: list[str]) -> spmatrix:
        """Word and character n-grams side by side (``xc`` None: ``xw`` holds both), then the
        sentence embeddings if asked for (each part has unit length per text, so none
        outweighs the others)."""
        from scipy.sparse import csr_matrix, hstack

        parts = [xw] if xc is None else [xw, xc]
        if self.embeddings is not None:
            from ..embeddings import embed

            parts.append(csr_matrix(embed(texts, self.embeddings)))
        return hstack(parts).tocsr()

    def _feature_names(self, words: Any, chars: Any) -> np.ndarray:
        names = [np.asarray(words, dtype=str), np.asarray(chars, dtype=str)]
        if self.embeddings is not None:
            from ..embeddings import DIMENSIONS

            size = DIMENSIONS[self.embeddings]
            names.append(np.array([f"<{self.embeddings} {i}>" for i in range(size)], dtype=str))
        return np.concatenate(names).astype(str)

    def predict_scores(
        self, texts: Sequence[str], *, features: spmatrix | None = None
    ) -> pd.DataFrame:
        """Calibrated scores in [0, 1]: one row per text, one column per classifier code.

        >>> clf = CodeClassifier(folds=2, min_positives=1).fit(
        ...     ["fined twice", "sunny day", "fined again", "rainy day"],
        ...     [["fine"], [], ["fine"], []], codes=["fine"])
        >>> list(clf.predict_scores(["fined"]).columns)
        ['fine']
        """
        scores = self.score_matrix(texts, features=features)
        # the array is this call's own: the frame may keep it rather than copy it
        return pd.DataFrame(
            scores, columns=self._prediction_arrays()[1], dtype=np.float64, copy=False
        )

    def score_matrix(self, texts: Sequence[str], *, features: spmatrix | None = None) -> np.ndarray:
        """:meth:`predict_scores` as a plain array, columns in ``classifier_codes_`` order:
        what the coder takes per document, without building a frame each time.

        >>> clf = CodeClassifier(folds=2, min_positives=1).fit(
        ...     ["fined twice", "sunny day", "fined again", "rainy day"],
        ...     [["fine"], [], ["fine"], []], codes=["fine"])
        >>> clf.score_matrix(["fined", "sunny"]).shape
        (2, 1)
        """
        self._check_fitted()
        texts = list(texts)
        if not texts:
            return np.empty((0, len(self.classifier_codes_)), dtype=np.float64)
        x = self._features(texts) if features is None else features
        coef_t, _ = self._prediction_arrays()
        raw = x @ coef_t + self.intercept_
        return np.asarray(sigmoid(raw * self.platt_[:, 0] + self.platt_[:, 1]), dtype=np.float64)

    def _prediction_arrays(self) -> tuple[np.ndarray, pd.Index]:
        """The coefficients as features x codes in row order, and the score columns, kept
        while ``coef_`` stays the same array: scipy would copy ``coef_.T`` into that order on
        every call, and the copy costs more than the product."""
        cached = getattr(self, "_prediction_cache", None)
        if cached is None or cached[0] is not self.coef_:
            cached = self._prediction_cache = (
                self.coef_,
                np.ascontiguousarray(self.coef_.T),
                pd.Index(self.classifier_codes_),
            )
        return cached[1], cached[2]

    def predict(self, texts: Sequence[str]) -> list[tuple[str, ...]]:
        """The codes of each text: scores at or above threshold that rest on at least
        :data:`~trustcode.classify.evidence.MIN_EVIDENCE_WORDS` words (exclusive: the best
        code)."""
        from .evidence import thin_evidence

        self._check_fitted()
        texts = list(texts)
        x = self._features(texts) if texts else None
        values = self.score_matrix(texts, features=x)
        if values.shape[1] == 0:
            return [() for _ in range(len(values))]
        if self.exclusive:
            best = values.argmax(axis=1)  # ties go to the code listed first
            return [(self.classifier_codes_[i],) for i in best]
        cut = np.array([self.thresholds_[c] for c in self.classifier_codes_])
        # a score at its threshold that rests on too few words proposes nothing
        yes = meets_threshold(values, cut) & ~thin_evidence(self, x, values)
        return [
            tuple(c for c, hit in zip(self.classifier_codes_, row, strict=True) if hit)
            for row in yes
        ]

    def explain(
        self,
        texts: Sequence[str],
        code: str,
        k: int = 5,
        *,
        features: spmatrix | None = None,
        rows: Sequence[int] | np.ndarray | None = None,
    ) -> list[list[tuple[str, float]]]:
        """For each text, the ``k`` features that raise ``code``'s score most, with their weight.

        Only word n-grams are evidence (a reader recognizes a word, not a fragment), and
        features shorter than 3 characters or without a letter are left out.
        ``rows`` picks the rows of ``features`` to explain (one per text, in order; default:
        all), which spares taking them out as a matrix of their own.

        >>> clf = CodeClassifier(folds=2, min_positives=1).fit(
        ...     ["letters to prisoners", "police came", "letters again", "police again"],
        ...     [["s"], [], ["s"], []], codes=["s"])
        >>> clf.explain(["letters"], "s", k=1)[0][0][0]
        'letters'
        """
        self._check_fitted()
        x = (self._features(list(texts)) if features is None else features).tocsr()
        picked = np.arange(x.shape[0]) if rows is None else np.asarray(rows, dtype=np.int64)
        return self.explain_many(x, picked, [code] * len(picked), k)

    def explain_many(
        self,
        features: spmatrix,
        rows: Sequence[int] | np.ndarray,
        codes: Sequence[str],
        k: int = 5,
    ) -> list[list[tuple[str, float]]]:
        """:meth:`explain` for many (row of ``features``, code) pairs at once: for each pair,
        the ``k`` features that raise the code's score most in that row, with their weight.

        One call for a document's classifier codings instead of one per code: each call
        costs a few dozen numpy steps, whatever its size.

        >>> clf = CodeClassifier(folds=2, min_positives=1).fit(
        ...     ["letters to prisoners", "police came", "letters again", "police again"],
        ...     [["s"], [], ["s"], []], codes=["s"])
        >>> clf.explain_many(clf.features(["letters", "police"]), [0], ["s"], k=1)[0][0][0]
        'letters'
        """
        self._check_fitted()
        known = {code: i for i, code in enumerate(self.classifier_codes_)}
        unknown = sorted(set(codes) - known.keys())
        if unknown:
            raise UsageError(
                f"Code {unknown[0]!r} has no classifier in this model; classifier codes: "
                f"{', '.join(self.classifier_codes_) or '(none)'}."
            )
        coef = self.coef_
        code_of = np.array([known[code] for code in codes], dtype=np.int64)
        x = features.tocsr()
        n_words = len(self.vectorizers_[0].vocabulary_)
        # evidence is words and phrases a reader can check against the passage: the word
        # n-grams (content words only, in a model with stop words); character n-grams and
        # embedding dimensions raise scores but name nothing a reader can check
        names = self._readable_names(n_words)
        picked = np.asarray(rows, dtype=np.int64)
        n_rows = len(picked)
        best = best_distinct(
            *contributions(
                x,
                *evidence_entries(x, picked, lambda c: c < n_words),
                coef,
                code_of,
                names.readable,
            ),
            k,
            None if n_words <= names.distinct_upto else (names.ids, names.n_names),
        )
        out: list[list[tuple[str, float]]] = [[] for _ in range(n_rows)]
        text = names.text
        for i, col, val in zip(*(part.tolist() for part in best), strict=True):
            out[i].append((text[col], round(val, 4)))
        return out

    def _readable_names(self, n_grams: int) -> Names:
        """The features' names, kept while the model's feature names stay the same."""
        cached = getattr(self, "_readable_cache", None)
        if cached is None or len(cached.text) != len(self.feature_names_):
            cached = self._readable_cache = Names.of(self.feature_names_, n_grams)
        return cached
