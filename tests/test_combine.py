"""Combine policies, table-driven: rule hit x score x veto -> (code, source, score) or nothing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trustcode.combine import combine
from trustcode.errors import UsageError
from trustcode.types import Code, Codebook, RuleHit

HIT = RuleHit("c.phrases-1", "c", 3, 10, "letters")
THRESHOLDS = {"c": 0.5}


def _book(policy: str, exclusive: bool = False) -> Codebook:
    return Codebook("t", (Code("c", "C", combine=policy),), exclusive=exclusive)


def _run(policy: str, rule: bool, score: float | None, veto: bool = False, model: bool = True):
    scores = None if not model else ({} if score is None else {"c": score})
    return combine(
        _book(policy),
        {"c": [HIT]} if rule else {},
        {"c"} if veto else set(),
        scores,
        THRESHOLDS if model else None,
    )


# (rule hit, score, expected) per policy; the threshold is 0.5
CASES = {
    "union": [
        (True, 0.9, [("c", "rule+classifier", 0.9)]),
        (True, 0.2, [("c", "rule", 0.2)]),
        (False, 0.5, [("c", "classifier", 0.5)]),
        (False, 0.49, []),
        (True, None, [("c", "rule", None)]),
    ],
    "rules_only": [
        (True, 0.9, [("c", "rule", 0.9)]),
        (True, 0.1, [("c", "rule", 0.1)]),
        (False, 0.99, []),
        (True, None, [("c", "rule", None)]),
    ],
    "classifier_only": [
        (True, 0.9, [("c", "classifier", 0.9)]),
        (False, 0.7, [("c", "classifier", 0.7)]),
        (True, 0.3, []),
        (True, None, []),
    ],
    "both": [
        (True, 0.9, [("c", "rule+classifier", 0.9)]),
        (True, 0.3, []),
        (False, 0.9, []),
        (True, None, [("c", "rule", None)]),  # no classifier for the code: rules decide
    ],
}


@pytest.mark.parametrize(
    ("policy", "rule", "score", "expected"),
    [(policy, *case) for policy, cases in CASES.items() for case in cases],
)
def test_policy_table(policy: str, rule: bool, score: float | None, expected: list) -> None:
    assert _run(policy, rule, score) == expected


@pytest.mark.parametrize(
    ("policy", "rule", "score"),
    [(policy, rule, score) for policy, cases in CASES.items() for rule, score, hit in cases if hit],
)
def test_veto_removes_under_every_policy(policy: str, rule: bool, score: float | None) -> None:
    assert _run(policy, rule, score) != []  # coded without the veto ...
    assert _run(policy, rule, score, veto=True) == []  # ... and not with it


@pytest.mark.parametrize(
    ("policy", "rule", "expected"),
    [
        ("union", True, [("c", "rule", None)]),
        ("union", False, []),
        ("rules_only", True, [("c", "rule", None)]),
        ("both", True, [("c", "rule", None)]),
        ("classifier_only", True, []),
    ],
)
def test_without_model_union_is_rules_only(policy: str, rule: bool, expected: list) -> None:
    assert _run(policy, rule, None, model=False) == expected


def test_codebook_order_and_parents_skipped() -> None:
    book = Codebook(
        "t",
        (Code("p", "Parent"), Code("b", "B", parent="p"), Code("a", "A", parent="p")),
    )
    hits = {"a": [HIT], "b": [HIT], "p": [HIT]}
    found = combine(book, hits, set(), {"a": 0.1}, {"a": 0.5})
    assert found == [("b", "rule", None), ("a", "rule", 0.1)]


def test_exclusive_keeps_the_best_code() -> None:
    book = Codebook("t", (Code("a", "A"), Code("b", "B"), Code("c", "C")), exclusive=True)
    scores = {"a": 0.2, "b": 0.35, "c": 0.1}
    # thresholds do not apply in an exclusive codebook: the best score wins
    assert combine(book, {}, set(), scores, {"a": 0.9, "b": 0.9, "c": 0.9}) == [
        ("b", "classifier", 0.35)
    ]
    # a rule hit on a weaker code does not add a second code
    assert combine(book, {"a": [HIT]}, set(), scores, {"a": 0.5, "b": 0.5, "c": 0.5}) == [
        ("b", "classifier", 0.35)
    ]
    # the best code vetoed: the next best candidate remains
    assert combine(book, {"a": [HIT]}, {"b"}, scores, None) == [("a", "rule", 0.2)]


def test_unknown_policy_is_an_error() -> None:
    with pytest.raises(UsageError, match="combine policy 'sometimes'"):
        combine(_book("sometimes"), {}, set(), None, None)


@given(
    policy=st.sampled_from(sorted(CASES)),
    rule=st.booleans(),
    score=st.one_of(st.none(), st.floats(0, 1)),
    veto=st.booleans(),
)
def test_sources_are_consistent(policy: str, rule: bool, score: float | None, veto: bool) -> None:
    found = _run(policy, rule, score, veto=veto)
    assert len(found) <= 1
    for code, source, got in found:
        assert code == "c" and got == score
        assert ("rule" in source) <= rule
        assert ("classifier" in source) <= (score is not None and score >= 0.5)


def test_rule_cuts_overrule_a_union_rule_hit_the_classifier_scores_low() -> None:
    """An adapted model's cut (classify.adapting): under ``union`` a rule hit whose code the
    classifier scores below the cut does not stand; other policies and unscored codes keep
    their rule hits."""

    def run(policy: str, score: float | None, cuts: dict[str, float] | None = None):
        return combine(
            _book(policy),
            {"c": [HIT]},
            set(),
            {} if score is None else {"c": score},
            THRESHOLDS,
            {"c": 0.3} if cuts is None else cuts,
        )

    assert run("union", 0.2) == []
    assert run("union", 0.3) == [("c", "rule", 0.3)]
    assert run("union", 0.9) == [("c", "rule+classifier", 0.9)]
    assert run("union", None) == [("c", "rule", None)]  # no score: nothing to overrule with
    assert run("rules_only", 0.1) == [("c", "rule", 0.1)]  # the codebook trusts its rules
    assert run("union", 0.2, {}) == [("c", "rule", 0.2)]  # no cut: every rule hit stands
    assert run("union", 0.2, {"other": 0.5}) == [("c", "rule", 0.2)]
