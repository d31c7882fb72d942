"""Which passages a review sheet puts first: those whose review teaches the model most
(:func:`choose_for_review`, :func:`review_order`).

A passage's value is the sum over the classifier's codes of how unsure its score is about that
code (1 at the code's threshold, 0 at a sure 0 or 1), each code weighted by how rarely the run
proposes it (a code with few positives gains most from each one found). Where a rule gives the
passage a code its classifier scores below the threshold, the rules and the classifier disagree:
that counts as unsure as well, the more the lower the score (1 at a score of 0), since a review
of such passages is what teaches an adapted model where the rules are wrong
(:func:`trustcode.classify.adapting.choose_rule_cuts`). Passages are then taken
greedily, the most valuable first, a passage's value multiplied by how unlike it is to those
already chosen (cosine distance of the model's features, cubed) and damped while its document or
language already has more than its share of the chosen; a near-duplicate of a chosen passage
(same content words) is skipped. Ties go to the earlier passage, so the order is deterministic.

>>> choose_for_review(np.array([[0.9], [0.2], [0.8]]), ["a", "a", "b"], ["en"] * 3,
...                   [{"x"}, {"y"}, {"x"}], 2)
[0, 1]
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..types import meets_threshold

#: passages whose content words overlap this much (Jaccard) count as near-duplicates
_DUPLICATE = 0.8
_WORD = re.compile(r"\w\w+")


def content_words(text: str, stop: frozenset[str] = frozenset()) -> set[str]:
    """The lower-cased words of ``text`` without stop words: what near-duplicates share.

    >>> sorted(content_words("The court fined the activist", frozenset({"the"})))
    ['activist', 'court', 'fined']
    """
    return {w for w in _WORD.findall(text.lower()) if w not in stop}


def _near(a: set[str], b: set[str]) -> bool:
    if not a or not b:
        return a == b
    return len(a & b) / len(a | b) >= _DUPLICATE


def choose_for_review(
    value: np.ndarray,
    doc_ids: Sequence[str],
    languages: Sequence[str],
    words: Sequence[set[str]],
    size: int,
    features: Any | None = None,
) -> list[int]:
    """Up to ``size`` passage indices, in the order to review them: greedy by ``value`` (one
    number per passage, or a passage x code matrix summed), damped for a document or language
    over its share of the chosen, near-duplicates of chosen passages skipped. With
    ``features`` (one row per passage), a passage's value is also multiplied by the cube of its
    cosine distance to the nearest passage already chosen: what is unlike the chosen teaches
    more (measured in benchmarks/adapt: unsure passages alone are too alike)."""
    value = np.asarray(value, dtype=np.float64)
    if value.ndim == 2:
        value = value.sum(axis=1)
    n = len(value)
    size = max(0, min(size, n))
    docs = [str(d) for d in doc_ids]
    langs = [str(x) for x in languages]
    share_doc = {d: docs.count(d) / n for d in set(docs)} if n else {}
    share_lang = {x: langs.count(x) / n for x in set(langs)} if n else {}
    taken_doc: dict[str, int] = {}
    taken_lang: dict[str, int] = {}
    chosen: list[int] = []
    left = list(range(n))
    distance = np.ones(n)
    rows = None
    if features is not None and n:
        from sklearn.preprocessing import normalize

        rows = normalize(features)

    def damped(i: int, k: int) -> float:
        """Value of passage ``i`` as the ``k``-th chosen: less while its document or language
        would hold more than its share of the ``k``."""
        over_doc = max(0.0, taken_doc.get(docs[i], 0) + 1 - share_doc[docs[i]] * k)
        over_lang = max(0.0, taken_lang.get(langs[i], 0) + 1 - share_lang[langs[i]] * k)
        return float(value[i]) * distance[i] ** 3 / (1.0 + over_doc) / (1.0 + over_lang)

    while len(chosen) < size and left:
        k = len(chosen) + 1
        best = max(left, key=lambda i: (damped(i, k), -i))
        left.remove(best)
        if any(_near(words[best], words[j]) for j in chosen):
            continue
        chosen.append(best)
        if rows is not None:
            similarity = np.asarray(rows @ rows[best].T.toarray()).reshape(-1)
            distance = np.minimum(distance, np.clip(1.0 - similarity, 0.0, 1.0))
        taken_doc[docs[best]] = taken_doc.get(docs[best], 0) + 1
        taken_lang[langs[best]] = taken_lang.get(langs[best], 0) + 1
    return chosen


def teaching_value(
    scores: np.ndarray, thresholds: Sequence[float], rules: np.ndarray | None = None
) -> np.ndarray:
    """Per passage and code: how unsure the score is about the code (1 at its threshold, 0 at
    0 or 1), weighted by how rarely the scores pass the threshold (1 / sqrt(1 + positives)).
    ``rules`` (passages x codes, True where a rule gives the code) adds the disagreement of a
    rule hit with a score below the threshold: ``1 - score / threshold``.

    >>> teaching_value(np.array([[0.6], [1.0]]), [0.6]).round(3).tolist()
    [[0.577], [0.0]]
    >>> teaching_value(np.array([[0.0], [1.0]]), [0.6], np.array([[True], [False]])).tolist()
    [[0.7071067811865475], [0.0]]
    """
    scores = np.asarray(scores, dtype=np.float64)
    cut = np.asarray(thresholds, dtype=np.float64).reshape(1, -1)
    if scores.size == 0:
        return scores
    coded = meets_threshold(scores, cut)
    span = np.where(coded, 1.0 - cut, cut)
    unsure = np.clip(1.0 - np.abs(scores - cut) / np.maximum(span, 1e-9), 0.0, 1.0)
    if rules is not None:
        rules = np.asarray(rules, dtype=bool).reshape(scores.shape)
        disagree = np.where(rules & ~coded, 1.0 - scores / np.maximum(cut, 1e-9), 0.0)
        unsure = np.maximum(unsure, disagree)
    positives = coded.sum(axis=0)
    return unsure / np.sqrt(1.0 + positives)


def review_order(
    model: Any,
    texts: Sequence[str],
    doc_ids: Sequence[str],
    languages: Sequence[str],
    size: int,
    rules: np.ndarray | None = None,
) -> tuple[list[int], int]:
    """The passages (by index) in a review sheet's order, and how many of them were chosen:
    the ``size`` that teach ``model`` most (:func:`choose_for_review` of
    :func:`teaching_value`; near-duplicates may leave fewer), then the rest by how unsure the
    model is about them, most unsure first. ``rules``: passages x the model's
    ``classifier_codes_``, True where the codebook's rules give the code.

    >>> review_order(load_model("default", book), texts, docs, languages, 50)  # doctest: +SKIP
    """
    scores = model.score_matrix(list(texts)) if len(texts) else np.empty((0, 0))
    codes = list(model.classifier_codes_)
    value = teaching_value(scores, [model.thresholds_[c] for c in codes], rules)
    value = value.reshape(len(texts), -1)
    stop = frozenset(getattr(model, "stop_words", None) or ())
    words = [content_words(str(t), stop) for t in texts]
    features = model.features(list(texts)) if len(texts) else None
    chosen = choose_for_review(value, doc_ids, languages, words, size, features=features)
    taken = set(chosen)
    unsure = value.max(axis=1) if value.shape[1] else np.zeros(len(texts))
    rest = sorted((i for i in range(len(texts)) if i not in taken), key=lambda i: (-unsure[i], i))
    return chosen + rest, len(chosen)
