"""Evidence of classifier codings: the features that raise a code's score most, and their text.

:meth:`~trustcode.classify.CodeClassifier.explain_many` picks, for many (passage, code) pairs
at once, the highest contributions with distinct readable names, with numpy steps rather than
one Python step per pair; :func:`format_evidence` writes them as a coding's evidence.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from ..types import meets_threshold


class Names(NamedTuple):
    """What :meth:`CodeClassifier.explain` needs of the feature names."""

    text: list[str]  # each feature's name, stripped
    readable: np.ndarray  # evidence a reader can take: n-grams of 3+ characters with a letter
    ids: np.ndarray  # a number per name: features whose stripped names are equal share it
    n_names: int  # how many distinct names
    distinct_upto: int  # the leading features with distinct names

    @classmethod
    def of(cls, feature_names: np.ndarray, n_grams: int) -> Names:
        """The names of ``feature_names``, of which the first ``n_grams`` are n-grams.

        >>> Names.of(np.array(["abc", " abc", "x1", "<dim 0>"]), 3).ids.tolist()
        [0, 0, 1, 2]
        """
        text = [str(name).strip() for name in feature_names.tolist()]
        readable = np.array(
            [
                i < n_grams and len(t) >= 3 and any(ch.isalpha() for ch in t)
                for i, t in enumerate(text)
            ],
            dtype=bool,
        )
        numbers: dict[str, int] = {}
        ids = np.array([numbers.setdefault(t, len(numbers)) for t in text], dtype=np.int64)
        repeats = np.flatnonzero(ids != np.maximum.accumulate(ids)) if len(ids) else ids
        distinct_upto = int(repeats[0]) if len(repeats) else len(text)
        return cls(text, readable, ids, len(numbers), distinct_upto)


def evidence_entries(
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
        through[-1] if len(through) else 0
    )
    keep = wanted(x.indices[entries])
    return entries[keep], np.repeat(np.arange(len(rows)), sizes)[keep]


def contributions(
    x: Any,
    entries: np.ndarray,
    rows: np.ndarray,
    coef: np.ndarray,
    code_of: np.ndarray,
    readable: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The (row, column, contribution) of those of the CSR matrix ``x``'s ``entries``
    (positions in its data, of rows ``rows``) that raise the score of row ``i``'s code
    (``coef[code_of[i]]``) and name something readable."""
    cols = x.indices[entries]
    vals = x.data[entries] * coef[code_of[rows], cols]
    keep = (vals > 0) & readable[cols]
    return rows[keep], cols[keep], vals[keep]


def best_distinct(
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
        rows, cols, vals = (
            np.concatenate((done, part[order]))
            for done, part in zip(first, (rows, cols, vals), strict=True)
        )
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


#: a classifier coding rests on at least this many distinct words of the passage that raise its
#: score: one or two words are a keyword, not a judgement (keywords are what rules are for).
#: Measured (issue 15): on the gold held out by document no correct classifier-only coding rests
#: on fewer than four, while half of those made on State of the Union sentences rest on one or two
#: ('security', 'groups', 'discussed')
MIN_EVIDENCE_WORDS = 3
#: how many of a coding's top word features are counted for :data:`MIN_EVIDENCE_WORDS`
EVIDENCE_DEPTH = 10


def thin_evidence(model: Any, features: Any, values: np.ndarray) -> np.ndarray:
    """Where a score reaches its code's threshold on too few words: a boolean array shaped like
    ``values`` (the model's scores for the rows of ``features``, columns in
    ``model.classifier_codes_`` order), True where fewer than :data:`MIN_EVIDENCE_WORDS`
    distinct words among the passage's top :data:`EVIDENCE_DEPTH` word features raise the score.
    There the classifier proposes nothing; its score is still reported. An exclusive model
    always proposes its best code, so nothing is thin there.

    >>> from trustcode.classify import CodeClassifier
    >>> clf = CodeClassifier(folds=2, min_positives=1).fit(
    ...     ["letters to prisoners in the colony", "police came", "letters sent again",
    ...      "police again"], [["s"], [], ["s"], []], codes=["s"])
    >>> texts = ["letters", "letters to prisoners in the colony"]
    >>> x = clf.features(texts)
    >>> thin_evidence(clf, x, np.ones((2, 1))).ravel().tolist()
    [True, False]
    """
    thin = np.zeros(values.shape, dtype=bool)
    if model.exclusive or values.size == 0:
        return thin
    codes = list(model.classifier_codes_)
    cut = np.array([model.thresholds_.get(c, np.inf) for c in codes], dtype=np.float64)
    rows, cols = np.nonzero(meets_threshold(values, cut))
    if not len(rows):
        return thin
    explained = model.explain_many(features, rows, [codes[c] for c in cols], k=EVIDENCE_DEPTH)
    for row, col, found in zip(rows.tolist(), cols.tolist(), explained, strict=True):
        words = {word for term, weight in found if weight > 0 for word in term.split()}
        thin[row, col] = len(words) < MIN_EVIDENCE_WORDS
    return thin


def passage_thresholds(model: Any, features: Any, values: np.ndarray) -> list[dict[str, float]]:
    """Each passage's thresholds: the model's, with those of codes whose score reaches its
    threshold on too few words (:func:`thin_evidence`) set out of reach. What the coder,
    ``evaluate`` and ``diagnose`` hand to :func:`trustcode.combine.combine`, so that all three
    code alike."""
    thin = thin_evidence(model, features, values)
    codes = list(model.classifier_codes_)
    base = dict(model.thresholds_)
    return [
        {**base, **{codes[j]: float("inf") for j in np.flatnonzero(row)}} if row.any() else base
        for row in thin
    ]
