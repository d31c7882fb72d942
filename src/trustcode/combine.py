"""Join a passage's rule hits and classifier scores into its codes, per code by a stated policy.

Policies (``Code.combine``):

- ``union``: a rule hit, or a classifier score at or above the code's threshold;
- ``rules_only``: rule hits only;
- ``classifier_only``: the classifier only;
- ``both``: a rule hit and a score at or above the threshold.

A code the classifier has no score for (no model, or a rules-only code without training
examples) cannot be confirmed by it: ``both`` then acts as ``rules_only`` and ``classifier_only``
never codes it. With no model at all, every policy but ``classifier_only`` is the rules alone.
A model adapted to a researcher's review may carry rule cuts: under ``union``, a rule hit whose
code its classifier scores below the code's cut does not stand. A veto removes its code under
every policy. In an ``exclusive`` codebook the classifier proposes only its best-scoring code
(thresholds do not apply) and a passage keeps at most one code, the one with the highest score
(a rule-only candidate counts as scoring lowest; ties: codebook order).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .errors import UsageError
from .types import COMBINE_POLICIES, Codebook, RuleHit, meets_threshold

#: (code, source, score) for each code a passage gets
Combined = tuple[str, str, float | None]


def _classifier_yes(
    code: str,
    scores: Mapping[str, float] | None,
    thresholds: Mapping[str, float] | None,
    best: str | None,
) -> tuple[bool, float | None]:
    """Whether the classifier proposes ``code``, and its score (None when it has none)."""
    if scores is None or code not in scores or scores[code] is None:
        return False, None
    score = float(scores[code])
    if best is not None:
        return code == best, score
    if thresholds is None or code not in thresholds:
        return False, score
    return meets_threshold(score, float(thresholds[code])), score


def combine(
    codebook: Codebook,
    rule_codes: Mapping[str, Sequence[RuleHit]],
    vetoed: set[str] | frozenset[str],
    scores: Mapping[str, float] | None,
    thresholds: Mapping[str, float] | None,
    rule_cuts: Mapping[str, float] | None = None,
) -> list[Combined]:
    """The codes of one passage as ``(code, source, score)``, in codebook order.

    ``rule_codes`` maps a code to its (non-veto) rule hits in the passage, ``vetoed`` names codes
    a veto rule removed, ``scores`` and ``thresholds`` come from the classifier (None: no model).
    ``source`` is ``rule``, ``classifier`` or ``rule+classifier``; ``score`` is the classifier's
    score whenever it has one. ``rule_cuts`` (a model adapted to a researcher's review learns
    them, see :func:`trustcode.classify.adapt_model`) maps a ``union`` code to a score below
    which its rule hits do not stand: the review showed the rules wrong where the classifier
    scores the code that low.

    >>> from trustcode.types import Code
    >>> cb = Codebook("cb", (Code("a", "A"), Code("b", "B", combine="both")))
    >>> hit = RuleHit("a.x", "a", 0, 5, "words")
    >>> combine(cb, {"a": [hit], "b": [hit]}, set(), {"a": 0.2, "b": 0.9}, {"a": 0.5, "b": 0.5})
    [('a', 'rule', 0.2), ('b', 'rule+classifier', 0.9)]
    """
    if scores is None and not codebook.exclusive:
        return _rules_alone(codebook, rule_codes, vetoed)
    best = None
    if codebook.exclusive and scores:
        present = [(float(s), c) for c, s in scores.items() if s is not None]
        if present:
            order = {c: i for i, c in enumerate(codebook.code_ids)}
            best = max(present, key=lambda item: (item[0], -order.get(item[1], len(order))))[1]
    out: list[Combined] = []
    for code in codebook.leaf_codes:
        policy = code.combine
        _check_policy(code.id, policy)
        if code.id in vetoed:
            continue
        rule = bool(rule_codes.get(code.id))
        classifier, score = _classifier_yes(code.id, scores, thresholds, best)
        if (
            rule
            and rule_cuts
            and policy == "union"
            and score is not None
            and score < rule_cuts.get(code.id, 0.0)
        ):
            rule = False
        if policy == "rules_only":
            classifier = False
        elif policy == "classifier_only":
            rule = False
        elif policy == "both" and score is not None:
            # the classifier can confirm this code: it must
            rule = rule and classifier
            classifier = rule
        if rule or classifier:
            source = "rule+classifier" if rule and classifier else "rule" if rule else "classifier"
            out.append((code.id, source, score))
    if codebook.exclusive and len(out) > 1:
        ranked = sorted(
            enumerate(out),
            key=lambda item: (-(item[1][2] if item[1][2] is not None else -1.0), item[0]),
        )
        out = [ranked[0][1]]
    return out


def _rules_alone(
    codebook: Codebook,
    rule_codes: Mapping[str, Sequence[RuleHit]],
    vetoed: set[str] | frozenset[str],
) -> list[Combined]:
    """:func:`combine` without a classifier (the common case, once per passage): the codes with
    rule hits that no veto removed, in codebook order, but those only the classifier codes."""
    out: list[Combined] = []
    for code in codebook.leaf_codes:
        _check_policy(code.id, code.combine)
        if code.id in rule_codes and rule_codes[code.id] and code.id not in vetoed:
            if code.combine != "classifier_only":
                out.append((code.id, "rule", None))
    return out


def _check_policy(code: str, policy: str) -> None:
    if policy not in COMBINE_POLICIES:
        raise UsageError(
            f"Code {code!r} has combine policy {policy!r}; expected one of "
            f"{', '.join(COMBINE_POLICIES)}. Fix the codebook."
        )
