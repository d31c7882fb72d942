"""The classifier: passage text -> calibrated per-code scores, trained from gold codings.

Features are word (1-2) and character (2-5, ``char_wb``) n-gram TF-IDF, joined, and optionally
sentence embeddings (``embeddings="minilm"``, the ``trustcode[embeddings]`` extra, see
:mod:`trustcode.embeddings`); one linear model per code (one-vs-rest logistic regression,
liblinear). Its regularization strength is chosen per code (``C="auto"``, the default) from
:data:`C_GRID` by inner cross-validation on the training passages: the value whose out-of-fold
scores rank the code's passages best (average precision). Each code's raw scores are calibrated with
Platt scaling fitted on out-of-fold predictions, and its threshold is the one that maximizes F1 on
those out-of-fold scores, but never below ``min_threshold`` (default 0.5: a calibrated score
saying "more likely than not"). One model serves every language of the codebook.

``train_model(..., definitions=True)`` also learns from the codebook's description of each
code (label, definition, ``include`` and their clauses), weighted so that a code's description
counts as much as an average code's gold passages (:func:`description_weights`).

A code needs ``min_positives`` positive training passages (default 20) to get a classifier;
with fewer it is coded by its rules only (a :class:`TrustcodeWarning` says so). Measured on the
shipped gold with grouped cross-validation: a handful of positives, all from one document, teach
the model that document's language and style rather than the code, and its false positives on
other documents cost more than its hits gain.

Models are saved with skops (never pickle) as plain arrays plus metadata: the codebook it was
trained for, the label set, thresholds, the C of each code, library versions and the training
size. The same data gives byte-identical model files. A model with embeddings stores only the
encoder's name; the encoder itself comes from its package when the model is used.
"""

from __future__ import annotations

import io
import json
import os
import re
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd

from .errors import GoldError, ModelError, TrustcodeWarning, UsageError
from .ngrams import NgramFeatures, NgramTfidf
from .skopsfile import read_plain
from .types import Code, Codebook, sha256_text

if TYPE_CHECKING:
    from scipy.sparse import spmatrix

#: marks a skops file as a trustcode model
MODEL_FORMAT = "trustcode-model"
MODEL_FORMAT_VERSION = 1

#: types a model file may hold beyond skops' defaults; nothing else is ever loaded
_TRUSTED_TYPES: list[str] = []

#: the regularization strengths ``C="auto"`` chooses from, per code, by inner cross-validation
C_GRID: tuple[float, ...] = (1.0, 10.0, 100.0)
# C when a code has too few passages to compare strengths on (the old fixed default)
_FALLBACK_C = 10.0

# a fixed time stamp for zip entries, so that the same model gives the same bytes
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def codebook_fingerprint(codebook: Codebook) -> str:
    """The codebook hash a model records: the loader's sha256, or one of its codes when unset.

    >>> from trustcode.types import Code
    >>> len(codebook_fingerprint(Codebook("cb", (Code("a", "A"),))))
    64
    """
    return codebook.sha256 or sha256_text(repr(codebook.codes))


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

    # learned state, set by fit (or load_model)
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
    # set by train_model / load_model: the codebook the model belongs to
    codebook_sha256_: str
    definitions_: bool  # whether the codebook's descriptions of the codes joined training
    metadata_: dict[str, Any]

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
        min_threshold: float = 0.5,
        min_positives: int = 20,
        embeddings: str | None = None,
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

    # --- parameters ---------------------------------------------------------------------------

    def get_params(self) -> dict[str, Any]:
        return {
            "folds": self.folds,
            "random_state": self.random_state,
            "exclusive": self.exclusive,
            "C": self.C,
            "class_weight": self.class_weight,
            "word_ngrams": tuple(self.word_ngrams),
            "char_ngrams": tuple(self.char_ngrams),
            "min_df": self.min_df,
            "max_features": self.max_features,
            "min_threshold": self.min_threshold,
            "min_positives": self.min_positives,
            "embeddings": self.embeddings,
        }

    def _check_params(self) -> None:
        if not isinstance(self.folds, int) or self.folds < 2:
            raise UsageError(
                f"The 'folds' parameter of CodeClassifier must be an int in [2, inf). "
                f"Got {self.folds!r} instead."
            )
        if not isinstance(self.min_positives, int) or self.min_positives < 1:
            raise UsageError(
                f"The 'min_positives' parameter of CodeClassifier must be an int in [1, inf). "
                f"Got {self.min_positives!r} instead."
            )
        if not 0 <= self.min_threshold <= 1:
            raise UsageError(
                f"The 'min_threshold' parameter of CodeClassifier must be a float in [0, 1]. "
                f"Got {self.min_threshold!r} instead."
            )
        if self.embeddings is not None:
            from .embeddings import check_encoder

            check_encoder(self.embeddings)
        if self.C != "auto" and not (
            isinstance(self.C, (int, float)) and not isinstance(self.C, bool) and self.C > 0
        ):
            raise UsageError(
                f"The 'C' parameter of CodeClassifier must be a float in (0, inf) or 'auto'. "
                f"Got {self.C!r} instead."
            )

    def _vectorizers(self) -> tuple[Any, Any]:
        from sklearn.feature_extraction.text import TfidfVectorizer

        word = TfidfVectorizer(
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
    ) -> CodeClassifier:
        """Learn features, one model per code, calibration and thresholds; returns ``self``.

        ``sample_weight`` (one positive number per text, default 1) says how much each passage
        counts when the linear models are fitted; choosing C, calibration and thresholds count
        every passage once.
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
        weights = _check_weights(sample_weight, len(texts))
        unknown = sorted(set().union(*label_sets) - set(codes)) if label_sets else []
        if unknown:
            raise GoldError(
                f"Training labels name codes that are not in the label set: {', '.join(unknown)}. "
                f"Known codes: {', '.join(codes)}. Fix the gold codes or the codebook."
            )
        if not texts:
            raise GoldError("No training passages: give gold codings with at least one passage.")

        word, char = self._vectorizers()
        try:
            xw = word.fit_transform(texts)
            xc = char.fit_transform(texts)
        except ValueError as exc:  # sklearn: "empty vocabulary"
            raise GoldError(
                f"Cannot learn features from the training texts ({exc}): give passages with words."
            ) from exc
        x = self._join(xw, xc, texts)

        clf_codes: list[str] = []
        coefs, intercepts, platts, thresholds = [], [], [], {}
        chosen_C: dict[str, float] = {}
        for code in codes:
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
                platt = _fit_platt(oof, y, self.random_state)
                if platt[0] > 0:
                    threshold = _best_threshold(_sigmoid(platt[0] * oof + platt[1]), y)
                    threshold = max(threshold, self.min_threshold)
                else:  # out-of-fold scores rank backwards (too little data): do not trust them
                    platt, threshold = (1.0, 0.0), 0.5
            clf_codes.append(code)
            chosen_C[code] = strength
            coefs.append(coef)
            intercepts.append(intercept)
            platts.append(platt)
            thresholds[code] = threshold

        n_features = x.shape[1]
        self.codes_ = codes
        self.classifier_codes_ = tuple(clf_codes)
        # applied the fast way from now on: the same matrix, without scikit-learn's n-gram walk
        self.vectorizers_ = (NgramTfidf.from_sklearn(word), NgramTfidf.from_sklearn(char))
        self.feature_names_ = self._feature_names(
            word.get_feature_names_out(), char.get_feature_names_out()
        )
        self.coef_ = np.array(coefs, dtype=np.float64).reshape(len(clf_codes), n_features)
        self.intercept_ = np.array(intercepts, dtype=np.float64)
        self.platt_ = np.array(platts, dtype=np.float64).reshape(len(clf_codes), 2)
        self.thresholds_ = thresholds
        self.C_ = chosen_C
        self.n_training_ = len(texts)
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
        return {k: v for k, v in self.__dict__.items()
                if k not in ("_ngram_cache", "_prediction_cache")}

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
            from .embeddings import embed

            parts.append(csr_matrix(embed(texts, self.embeddings)))
        return hstack(parts).tocsr()

    def _feature_names(self, words: Any, chars: Any) -> np.ndarray:
        names = [np.asarray(words, dtype=str), np.asarray(chars, dtype=str)]
        if self.embeddings is not None:
            from .embeddings import DIMENSIONS

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
        self._check_fitted()
        texts = list(texts)
        if not texts:
            return pd.DataFrame(columns=list(self.classifier_codes_), dtype=np.float64)
        x = self._features(texts) if features is None else features
        coef_t, columns = self._prediction_arrays()
        raw = x @ coef_t + self.intercept_
        scores = _sigmoid(raw * self.platt_[:, 0] + self.platt_[:, 1])
        # the array is this call's own: the frame may keep it rather than copy it
        return pd.DataFrame(scores, columns=columns, dtype=np.float64, copy=False)

    def _prediction_arrays(self) -> tuple[np.ndarray, pd.Index]:
        """The coefficients as features x codes in row order, and the score columns, kept
        while ``coef_`` stays the same array: scipy would copy ``coef_.T`` into that order on
        every call, and the copy costs more than the product."""
        cached = getattr(self, "_prediction_cache", None)
        if cached is None or cached[0] is not self.coef_:
            cached = self._prediction_cache = (
                self.coef_, np.ascontiguousarray(self.coef_.T), pd.Index(self.classifier_codes_)
            )
        return cached[1], cached[2]

    def predict(self, texts: Sequence[str]) -> list[tuple[str, ...]]:
        """The codes of each text: scores at or above threshold (exclusive: the best code)."""
        scores = self.predict_scores(texts)
        if scores.shape[1] == 0:
            return [() for _ in range(len(scores))]
        values = scores.to_numpy()
        if self.exclusive:
            best = values.argmax(axis=1)  # ties go to the code listed first
            return [(self.classifier_codes_[i],) for i in best]
        cut = np.array([self.thresholds_[c] for c in self.classifier_codes_])
        return [
            tuple(c for c, hit in zip(self.classifier_codes_, row >= cut, strict=True) if hit)
            for row in values
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

        Word n-grams come before character n-grams (a reader recognizes a word, not a
        fragment), and features shorter than 3 characters or without a letter are left out.
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
        self, features: spmatrix, rows: Sequence[int] | np.ndarray, codes: Sequence[str],
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
        # embedding dimensions mean nothing to a reader: only n-grams are evidence
        names = self._readable_names(n_words + len(self.vectorizers_[1].vocabulary_))
        picked = np.asarray(rows, dtype=np.int64)
        n_rows = len(picked)
        # words first, then character n-grams for the rows that words left short of k: most
        # rows have k words, so the n-grams (nine in ten entries) are rarely looked at
        best = _best_distinct(
            *_contributions(x, *_entries(x, picked, lambda c: c < n_words), coef, code_of,
                            names.readable), k,
            None if n_words <= names.distinct_upto else (names.ids, names.n_names),
        )
        short = np.bincount(best[0], minlength=n_rows) < k
        if short.any():
            entries, entry_rows = _entries(x, picked, lambda c: c >= n_words)
            more = short[entry_rows]
            best = _best_distinct(
                *_contributions(x, entries[more], entry_rows[more], coef, code_of,
                                names.readable), k,
                (names.ids, names.n_names), first=best,
            )
        out: list[list[tuple[str, float]]] = [[] for _ in range(n_rows)]
        text = names.text
        for i, col, val in zip(*(part.tolist() for part in best), strict=True):
            out[i].append((text[col], round(val, 4)))
        return out

    def _readable_names(self, n_grams: int) -> _Names:
        """The features' names, kept while the model's feature names stay the same."""
        cached = getattr(self, "_readable_cache", None)
        if cached is None or len(cached.text) != len(self.feature_names_):
            cached = self._readable_cache = _Names.of(self.feature_names_, n_grams)
        return cached


class _Names(NamedTuple):
    """What :meth:`CodeClassifier.explain` needs of the feature names."""

    text: list[str]  # each feature's name, stripped
    readable: np.ndarray  # evidence a reader can take: n-grams of 3+ characters with a letter
    ids: np.ndarray  # a number per name: features whose stripped names are equal share it
    n_names: int  # how many distinct names
    distinct_upto: int  # the leading features with distinct names

    @classmethod
    def of(cls, feature_names: np.ndarray, n_grams: int) -> _Names:
        """The names of ``feature_names``, of which the first ``n_grams`` are n-grams.

        >>> _Names.of(np.array(["abc", " abc", "x1", "<dim 0>"]), 3).ids.tolist()
        [0, 0, 1, 2]
        """
        text = [str(name).strip() for name in feature_names.tolist()]
        readable = np.array(
            [i < n_grams and len(t) >= 3 and any(ch.isalpha() for ch in t)
             for i, t in enumerate(text)],
            dtype=bool,
        )
        numbers: dict[str, int] = {}
        ids = np.array([numbers.setdefault(t, len(numbers)) for t in text], dtype=np.int64)
        repeats = np.flatnonzero(ids != np.maximum.accumulate(ids)) if len(ids) else ids
        distinct_upto = int(repeats[0]) if len(repeats) else len(text)
        return cls(text, readable, ids, len(numbers), distinct_upto)


def _entries(
    x: Any, rows: np.ndarray | None, wanted: Callable[[np.ndarray], np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """The positions in the CSR matrix ``x``'s data of the entries whose columns are
    ``wanted``, in its ``rows`` (None: all), and the number of each one's row among those."""
    if rows is None:
        entries = np.flatnonzero(wanted(x.indices))
        return entries, np.searchsorted(x.indptr, entries, side="right") - 1
    starts = x.indptr[rows].astype(np.int64)
    sizes = x.indptr[rows + 1] - starts
    through = np.cumsum(sizes)
    entries = np.repeat(starts - (through - sizes), sizes) + np.arange(
        through[-1] if len(through) else 0)
    keep = wanted(x.indices[entries])
    return entries[keep], np.repeat(np.arange(len(rows)), sizes)[keep]


def _contributions(
    x: Any, entries: np.ndarray, rows: np.ndarray, coef: np.ndarray, code_of: np.ndarray,
    readable: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The (row, column, contribution) of those of the CSR matrix ``x``'s ``entries``
    (positions in its data, of rows ``rows``) that raise the score of row ``i``'s code
    (``coef[code_of[i]]``) and name something readable."""
    cols = x.indices[entries]
    vals = x.data[entries] * coef[code_of[rows], cols]
    keep = (vals > 0) & readable[cols]
    return rows[keep], cols[keep], vals[keep]


def _best_distinct(
    rows: np.ndarray,
    cols: np.ndarray,
    vals: np.ndarray,
    k: int,
    names: tuple[np.ndarray, int] | None = None,
    first: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row's ``k`` entries of highest value (ties: lower column first) with distinct
    names, as (rows, columns, values) grouped by row, best first. ``names`` is a name number
    per column and how many there are (None: the columns' names are distinct). Entries
    ``first`` (such a result) come before the others of their row and keep their names.
    """
    # entries in order of (row, column), as a CSR matrix with sorted indices lists them
    key = rows * (int(cols.max(initial=0)) + 1) + cols
    if not np.all(key[1:] > key[:-1]):
        order = np.argsort(key, kind="stable")
        rows, cols, vals = rows[order], cols[order], vals[order]
    if names is None and first is None and k > 0:
        # with distinct names only a row's k best matter: drop what is surely below them
        keep = vals >= _kth_bound(rows, vals, k)
        rows, cols, vals = rows[keep], cols[keep], vals[keep]
    # np.lexsort((cols, -vals, rows)) in effect, several times faster: stable sorts by value,
    # then by row
    order = np.argsort(-vals, kind="stable")
    order = order[_stable_order(rows[order])]
    if first is not None:
        rows, cols, vals = (np.concatenate((done, part[order]))
                            for done, part in zip(first, (rows, cols, vals), strict=True))
        order = _stable_order(rows)
    if names is not None:
        # the first entry of each (row, name): the name's best, as a row's entries come best
        # first
        name_ids, n_names = names
        key = rows[order] * n_names + name_ids[cols[order]]
        order = order[np.sort(np.unique(key, return_index=True)[1])]
    ordered = rows[order]
    per_row = np.bincount(ordered)
    order = order[np.arange(len(order)) - (np.cumsum(per_row) - per_row)[ordered] < k]
    return rows[order], cols[order], vals[order]


def _kth_bound(rows: np.ndarray, vals: np.ndarray, k: int) -> np.ndarray:
    """For each entry (grouped by row), a value no greater than its row's k-th largest: the
    least of the maxima of k disjoint stretches of the row (-inf in rows of fewer than k)."""
    counts = np.bincount(rows)
    present = np.flatnonzero(counts)
    starts = (np.cumsum(counts) - counts)[present]
    edges = (starts[:, None] + counts[present, None] * np.arange(k) // k).ravel()
    maxima = np.maximum.reduceat(vals, edges).reshape(len(present), k)
    bound = np.full(len(counts), -np.inf)
    bound[present] = np.where(counts[present] >= k, maxima.min(axis=1), -np.inf)
    return bound[rows]


def _stable_order(rows: np.ndarray) -> np.ndarray:
    """``np.argsort(rows, kind="stable")``, by radix when the numbers fit in 16 bits."""
    small = len(rows) and int(rows.max()) < 2**15
    return np.argsort(rows.astype(np.int16) if small else rows, kind="stable")


def format_evidence(score: float, features: Sequence[tuple[str, float]]) -> str:
    """The evidence text of a classifier coding.

    >>> format_evidence(0.834, [("letter", 0.3), ("prisoner", 0.2)])
    "classifier 0.83: 'letter', 'prisoner'"
    """
    terms = ", ".join(f"'{term}'" for term, _ in features)
    return f"classifier {score:.2f}: {terms}" if terms else f"classifier {score:.2f}"


def _check_weights(
    sample_weight: Sequence[float] | np.ndarray | None, n: int
) -> np.ndarray | None:
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


def _sigmoid(values: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(values, -500, 500)))


def _fit_platt(decision: np.ndarray, y: np.ndarray, random_state: int) -> tuple[float, float]:
    """Platt scaling: a logistic curve from raw decision values to probabilities."""
    from sklearn.linear_model import LogisticRegression

    platt = LogisticRegression(C=1e4, solver="lbfgs", random_state=random_state)
    platt.fit(decision.reshape(-1, 1), y)
    return float(platt.coef_[0, 0]), float(platt.intercept_[0])


def _best_threshold(scores: np.ndarray, y: np.ndarray) -> float:
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


# --- training from gold ------------------------------------------------------------------------


def training_set(
    gold: pd.DataFrame, codebook: Codebook, *, definitions: bool = False
) -> tuple[list[str], list[tuple[str, ...]], list[str]]:
    """Texts, label sets and groups (documents) for training: the gold passages plus the
    codebook's examples (positives as passages of their code, negatives as passages without
    codes), each example in a group of its own. With ``definitions=True`` each leaf code's
    description also joins, as passages of that code: the texts of :func:`code_descriptions`
    (label, definition, ``include`` and their clauses), each in a group
    ``codebook:ID:description:N``.

    >>> from trustcode.types import Code
    >>> cb = Codebook("cb", (Code("a", "A", positive_examples=("yes",)),))
    >>> training_set(pd.DataFrame({"doc_id": ["d"], "text": ["t"], "codes": [()]}), cb)[1]
    [(), ('a',)]
    """
    missing = [c for c in ("doc_id", "text", "codes") if c not in gold.columns]
    if missing:
        raise GoldError(
            f"The gold table lacks the columns {', '.join(missing)}: read it with "
            "trustcode.gold.read_gold, which gives doc_id, passage_id, text, codes, ..."
        )
    texts = [str(t) for t in gold["text"]]
    labels = [tuple(c) for c in gold["codes"]]
    groups = [str(d) for d in gold["doc_id"]]
    for code in codebook.leaf_codes:
        for i, example in enumerate(code.positive_examples):
            texts.append(example)
            labels.append((code.id,))
            groups.append(f"codebook:{code.id}:positive:{i}")
        for i, example in enumerate(code.negative_examples):
            texts.append(example)
            labels.append(())
            groups.append(f"codebook:{code.id}:negative:{i}")
    if definitions:
        for code in codebook.leaf_codes:
            for i, text in enumerate(code_descriptions(code)):
                texts.append(text)
                labels.append((code.id,))
                groups.append(f"{_DESCRIPTION_GROUP.format(code=code.id)}{i}")
    return texts, labels, groups


# the group of a description passage in training_set; the weights of train_model find them by it
_DESCRIPTION_GROUP = "codebook:{code}:description:"


def code_descriptions(code: Code) -> list[str]:
    """The texts in which the codebook describes ``code``: its label, its definition and then
    each clause of the definition (split at ``:``, ``;`` and ``,`` before a space), then its
    ``include`` text and its clauses; non-empty, each once, in that order.

    Definitions often list what a code covers ("Energy: oil, gas, nuclear power"); one passage
    per item lets a short gold passage about one item match it, where the whole list would be
    diluted by the others.

    >>> code_descriptions(Code("tax", "Taxes", definition="Taxation: rates, cuts and credits."))
    ['Taxes', 'Taxation: rates, cuts and credits.', 'Taxation', 'rates', 'cuts and credits.']
    """
    texts = [code.label]
    for text in (code.definition, code.include):
        texts.append(text)
        texts.extend(_CLAUSE_BREAK.split(text or ""))
    return list(dict.fromkeys(t.strip() for t in texts if t and t.strip()))


# where a description's clauses end: a colon, semicolon or comma followed by a space
_CLAUSE_BREAK = re.compile(r"[:;,]\s+")


def description_weights(
    labels: Sequence[Sequence[str]], groups: Sequence[str], codes: Sequence[str]
) -> np.ndarray:
    """Training weights that make each code's description passages (see :func:`training_set`)
    together count as much as the average code's other positive passages, and each at least
    as much as one passage; every other passage counts once.

    A description is the researcher's own statement of what a code is, so it should pull as
    hard as a typical code's evidence, whatever the size of the training set: with 1,000 gold
    passages over 20 codes, a code described by 5 passages gets 10 for each.

    >>> description_weights([("a",), ("a",), ("b",), ("a",), ("b",)],
    ...                     ["d", "d", "d", "codebook:a:description:0", "codebook:b:description:0"],
    ...                     ["a", "b"]).tolist()
    [1.0, 1.0, 1.0, 1.5, 1.5]
    """
    prefixes = {_DESCRIPTION_GROUP.format(code=c): c for c in codes}
    owner = [next((c for p, c in prefixes.items() if str(g).startswith(p)), None) for g in groups]
    positives = sum(len(lab) for lab, who in zip(labels, owner, strict=True) if who is None)
    mean_positives = positives / max(len(codes), 1)
    counts: dict[str, int] = {}
    for who in owner:
        if who is not None:
            counts[who] = counts.get(who, 0) + 1
    return np.array(
        [1.0 if who is None else max(1.0, mean_positives / counts[who]) for who in owner],
        dtype=np.float64,
    )


def train_model(
    gold: pd.DataFrame, codebook: Codebook, *, definitions: bool = False, **params: Any
) -> CodeClassifier:
    """Train a classifier for ``codebook``'s leaf codes from gold passages and its examples.

    ``params`` go to :class:`CodeClassifier`; ``exclusive`` follows the codebook.
    ``definitions=True`` also learns from the codebook's own description of each code (its
    label, definition and ``include`` text and their clauses, see :func:`code_descriptions`),
    weighted by :func:`description_weights` so that a code's description counts as much as an
    average code's gold passages; the description passages count towards ``min_positives``.
    It helps most when gold is scarce and definitions are concrete (see the CAP benchmark in
    benchmarks/cap_sotu; on the default codebook's gold it does not help the combined
    coding); the model then depends on the definitions' wording, so it stays an option,
    recorded in the model's metadata.

    >>> from trustcode.gold import read_gold  # doctest: +SKIP
    >>> model = train_model(read_gold(["corpus/gold/coding"]), load_codebook())  # doctest: +SKIP
    """
    params.setdefault("exclusive", codebook.exclusive)
    texts, labels, groups = training_set(gold, codebook, definitions=definitions)
    leaf_ids = [c.id for c in codebook.leaf_codes]
    weights = description_weights(labels, groups, leaf_ids) if definitions else None
    model = CodeClassifier(**params).fit(
        texts, labels, leaf_ids, groups=groups, sample_weight=weights
    )
    model.codebook_sha256_ = codebook_fingerprint(codebook)
    model.definitions_ = definitions
    return model


# --- persistence -------------------------------------------------------------------------------


def _versions() -> dict[str, str]:
    import sklearn
    import skops

    from . import __version__

    return {
        "trustcode": __version__,
        "scikit-learn": sklearn.__version__,
        "skops": skops.__version__,
        "numpy": np.__version__,
    }


def _model_state(model: CodeClassifier, codebook: Codebook) -> dict[str, Any]:
    word, char = model.vectorizers_
    params = model.get_params()
    metadata = {
        "codebook_name": codebook.name,
        "codebook_version": codebook.version,
        "codebook_path": str(codebook.path),
        "codebook_sha256": codebook_fingerprint(codebook),
        "labels": list(model.codes_),
        "classifier_codes": list(model.classifier_codes_),
        "thresholds": {c: float(model.thresholds_[c]) for c in model.classifier_codes_},
        "C_per_code": {c: float(model.C_[c]) for c in model.classifier_codes_},
        "params": {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()},
        "versions": _versions(),
        "training_size": int(model.n_training_),
    }
    if getattr(model, "definitions_", False):  # only then, so older model files keep their bytes
        metadata["definitions"] = True
    return {
        "format": MODEL_FORMAT,
        "format_version": MODEL_FORMAT_VERSION,
        # JSON text keeps the metadata readable and its types plain
        "metadata": json.dumps(metadata, sort_keys=True, ensure_ascii=False),
        "word_vocabulary": np.asarray(word.get_feature_names_out(), dtype=str),
        "word_idf": np.asarray(word.idf_, dtype=np.float64),
        "char_vocabulary": np.asarray(char.get_feature_names_out(), dtype=str),
        "char_idf": np.asarray(char.idf_, dtype=np.float64),
        "coef": model.coef_,
        "intercept": model.intercept_,
        "platt": model.platt_,
    }


def _canonical_zip(raw: bytes) -> bytes:
    """skops names array files and objects after memory addresses and stamps entries with the
    current time; renumber both in schema order and fix the time, so equal models give equal
    bytes."""
    with zipfile.ZipFile(io.BytesIO(raw)) as source:
        schema = json.loads(source.read("schema.json"))
        renamed: dict[str, str] = {}
        ids: dict[int, int] = {}

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                if isinstance(node.get("__id__"), int):  # memory addresses: renumber in order
                    node["__id__"] = ids.setdefault(node["__id__"], len(ids) + 1)
                name = node.get("file")
                if isinstance(name, str) and name in source.namelist():
                    if name not in renamed:
                        renamed[name] = f"{len(renamed):05d}{Path(name).suffix}"
                    node["file"] = renamed[name]
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)

        walk(schema)
        if any(old.endswith(".npz") for old in renamed):  # np.savez would carry time stamps
            raise ModelError("Internal: a sparse matrix reached the model file; save dense arrays.")
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as target:
            entries = [("schema.json", json.dumps(schema, indent=2).encode("utf-8"))]
            entries += [(new, source.read(old)) for old, new in renamed.items()]
            for name, data in entries:
                info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                target.writestr(info, data)
    return out.getvalue()


def model_bytes(model: CodeClassifier, codebook: Codebook) -> bytes:
    """The bytes :func:`save_model` writes (the same model gives the same bytes)."""
    import skops.io as sio

    model._check_fitted()
    return _canonical_zip(sio.dumps(_model_state(model, codebook)))


def save_model(model: CodeClassifier, path: str | os.PathLike[str], codebook: Codebook) -> Path:
    """Write ``model`` with skops, atomically (a temporary file renamed over the target).

    >>> save_model(train_model(gold, codebook), "model.skops", codebook)  # doctest: +SKIP
    PosixPath('model.skops')
    """
    path = Path(path)
    data = model_bytes(model, codebook)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ModelError(f"Cannot write the model to {path}: folder {folder} does not exist.")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


#: the last model file read, keyed by path, size and modification time: a run checks the
#: model's codebook and then loads it, and the file should be read once
_STATE_CACHE: dict[tuple[str, int, int], dict[str, Any]] = {}


def _read_state(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ModelError(
            f"Model file {path} does not exist: train one with 'trustcode train' and pass its path."
        )
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _STATE_CACHE:
        state = _read_state_uncached(path)
        _STATE_CACHE.clear()
        _STATE_CACHE[key] = state
    return _STATE_CACHE[key]


def _read_state_uncached(path: Path) -> dict[str, Any]:
    # the dictionaries save_model writes are read without importing skops (and scikit-learn);
    # skops itself reads, checks and reports on anything else
    state = read_plain(path)
    if state is None:
        state = _read_with_skops(path)
    if not isinstance(state, dict) or state.get("format") != MODEL_FORMAT:
        raise ModelError(
            f"{path} is a skops file but not a trustcode model (no '{MODEL_FORMAT}' marker). "
            "Pass a file written by 'trustcode train'."
        )
    if state.get("format_version") != MODEL_FORMAT_VERSION:
        raise ModelError(
            f"{path} is a trustcode model of format version {state.get('format_version')!r}; "
            f"this trustcode reads version {MODEL_FORMAT_VERSION}. Retrain it with "
            "'trustcode train'."
        )
    return state


def _read_with_skops(path: Path) -> Any:
    import skops.io as sio

    try:
        return sio.load(path, trusted=list(_TRUSTED_TYPES))
    except Exception as exc:  # any failure to read means the file is no model of ours
        raise ModelError(
            f"{path} is not a trustcode model (skops could not read it: {type(exc).__name__}: "
            f"{exc}). Pass a file written by 'trustcode train'."
        ) from exc


def model_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The metadata a model file records (codebook, labels, thresholds, versions, size)."""
    return dict(json.loads(_read_state(Path(path))["metadata"]))


def model_codebook_sha256(path: str | os.PathLike[str]) -> str | None:
    """The hash of the codebook a model file was trained for (None if the file is no model)."""
    try:
        return str(model_metadata(path)["codebook_sha256"])
    except ModelError:
        return None


def load_model(path: str | os.PathLike[str], codebook: Codebook) -> CodeClassifier:
    """Load a model saved by :func:`save_model`, checking it was trained for ``codebook``.

    >>> model = load_model("model.skops", load_codebook())  # doctest: +SKIP
    """
    path = Path(path)
    state = _read_state(path)
    meta = json.loads(state["metadata"])
    labels = tuple(c.id for c in codebook.leaf_codes)
    trained_for = (
        f"codebook {meta['codebook_name']!r} (version {meta['codebook_version'] or '-'}, "
        f"{meta['codebook_path'] or 'no path'}, sha256 {meta['codebook_sha256'][:12]})"
    )
    retrain = (
        "Retrain it for this codebook with 'trustcode train --codebook CODEBOOK GOLD' "
        "(trustcode.classify.train_model), or pass the codebook it was trained for."
    )
    if tuple(meta["labels"]) != labels:
        extra = sorted(set(meta["labels"]) - set(labels))
        lacking = sorted(set(labels) - set(meta["labels"]))
        raise ModelError(
            f"Model {path} was trained for {trained_for} with codes {', '.join(meta['labels'])}; "
            f"this codebook's codes differ (not in this codebook: {', '.join(extra) or '-'}; "
            f"not in the model: {', '.join(lacking) or '-'}). {retrain}"
        )
    if meta["codebook_sha256"] != codebook_fingerprint(codebook):
        raise ModelError(
            f"Model {path} was trained for {trained_for}, not for "
            f"{codebook.path or codebook.name!s} (sha256 {codebook_fingerprint(codebook)[:12]}): "
            f"the codebook changed since. {retrain}"
        )
    params = dict(meta["params"])
    params["word_ngrams"] = tuple(params["word_ngrams"])
    params["char_ngrams"] = tuple(params["char_ngrams"])
    model = CodeClassifier(**params)
    vectorizers = [
        NgramTfidf(analyzer, ngrams, state[f"{name}_vocabulary"], state[f"{name}_idf"])
        for name, analyzer, ngrams in (
            ("word", "word", params["word_ngrams"]), ("char", "char_wb", params["char_ngrams"])
        )
    ]
    model.codes_ = labels
    model.classifier_codes_ = tuple(meta["classifier_codes"])
    model.vectorizers_ = (vectorizers[0], vectorizers[1])
    model.feature_names_ = model._feature_names(state["word_vocabulary"], state["char_vocabulary"])
    model.coef_ = np.asarray(state["coef"], dtype=np.float64)
    model.intercept_ = np.asarray(state["intercept"], dtype=np.float64)
    model.platt_ = np.asarray(state["platt"], dtype=np.float64)
    model.thresholds_ = {c: float(v) for c, v in meta["thresholds"].items()}
    # models from before C="auto" did not record it: they used the one C of their parameters
    model.C_ = {
        c: float(meta.get("C_per_code", {}).get(c, params["C"]))
        for c in model.classifier_codes_
    }
    model.n_training_ = int(meta["training_size"])
    model.codebook_sha256_ = meta["codebook_sha256"]
    model.definitions_ = bool(meta.get("definitions", False))
    model.metadata_ = meta
    return model
