"""One rule of a code: its kind, terms, regex, proximity or token pattern, checked and built.

These are the codebook's rule *entries*; matching them against text is :mod:`trustcode.rules`.

>>> rep = Report("cb.yaml")
>>> _terms(rep, ["help", " aid "], ("rules", 0, "phrases"), glob=False)
('help', 'aid')
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..types import RULE_KINDS, Rule
from .problems import EXPECT, KeyPath, Report, check_keys, describe, get, pattern_ok, render
from .schema import GLOB_PATTERN, NEAR_KEYS, RULE_ID_PATTERN, RULE_KEYS, RULE_LANG_PATTERN
from .tokenpatterns import token_pattern

# --- rules --------------------------------------------------------------------------------------


def _terms(rep: Report, value: Any, path: KeyPath, *, glob: bool) -> tuple[str, ...] | None:
    if isinstance(value, str):
        rep.error(path, f"expected a list of terms, found {describe(value)}; write [{value}]")
        return None
    if not isinstance(value, list):
        rep.error(path, f"expected a list of terms, found {describe(value)}")
        return None
    if not value:
        rep.error(path, "the list is empty; add at least one term or remove the rule")
        return None
    terms: list[str] = []
    for j, term in enumerate(value):
        if not isinstance(term, str):
            rep.error(path + (j,), f"expected a term (text), found {describe(term)}; quote it")
        elif not term.strip():
            rep.error(path + (j,), "empty term; remove it or write the word")
        elif glob and not re.search(GLOB_PATTERN, term):
            rep.error(path + (j,), f"the glob {term!r} would match every word; add letters")
        else:
            terms.append(term.strip())
    return tuple(terms) if len(terms) == len(value) else None


def _regex(rep: Report, value: Any, path: KeyPath, case_sensitive: bool) -> str | None:
    if not isinstance(value, str) or not value:
        rep.error(path, f"expected a regular expression (text), found {describe(value)}")
        return None
    try:
        compiled = re.compile(value, 0 if case_sensitive else re.IGNORECASE)
    except re.error as exc:
        rep.error(
            path,
            f"invalid regular expression: {exc.msg} at position {exc.pos} of {value!r}; escape "
            "special characters such as ( [ + ? with a backslash",
        )
        return None
    if compiled.search("") is not None:
        rep.error(
            path,
            f"the regular expression {value!r} matches empty text, so it would fire "
            "on every passage; make it require at least one character",
        )
        return None
    return value


def _near(rep: Report, value: Any, path: KeyPath) -> tuple[Any, ...] | None:
    if not isinstance(value, dict):
        rep.error(
            path, f"expected a mapping {{a: [...], b: [...], within: N}}, found {describe(value)}"
        )
        return None
    check_keys(rep, value, path, NEAR_KEYS, "a near rule")
    sides: list[tuple[str, ...] | None] = []
    for side in ("a", "b"):
        if side not in value:
            rep.error(path + (side,), f"missing required key '{side}'; add a list of terms")
            sides.append(None)
        else:
            sides.append(_terms(rep, value[side], path + (side,), glob=True))
    within: Any = value.get("within")
    if "within" not in value:
        rep.error(
            path + ("within",),
            "missing required key 'within'; add the largest distance in tokens, e.g. within: 5",
        )
    elif not (EXPECT["int"][1](within) and within >= 1):
        rep.error(
            path + ("within",),
            f"expected a positive whole number of tokens, found {describe(within)}",
        )
        within = None
    if sides[0] is None or sides[1] is None or within is None:
        return None
    return (sides[0], sides[1], within)


@dataclass
class Context:
    """What checks across codes need: defaults, seen ids, declared languages."""

    combine: str = "union"
    languages: tuple[str, ...] | None = None
    rule_ids: dict[str, KeyPath] = field(default_factory=dict)


def build_rule(
    rep: Report, raw: Any, path: KeyPath, code_id: str, counts: dict[str, int], ctx: Context
) -> Rule | None:
    if not isinstance(raw, dict):
        rep.error(
            path, f"expected a rule (a mapping such as {{phrases: [word]}}), found {describe(raw)}"
        )
        return None
    check_keys(rep, raw, path, RULE_KEYS, "a rule")
    kinds = [k for k in RULE_KINDS if k in raw]
    if not kinds:
        rep.error(path, f"a rule needs one kind key ({', '.join(RULE_KINDS)}); found none")
    elif len(kinds) > 1:
        rep.error(
            path + (kinds[1],),
            f"a rule has exactly one kind, found {' and '.join(kinds)}"
            "; split it into one rule per kind",
        )
    kind = kinds[0] if len(kinds) == 1 else None
    own_id = get(rep, raw, "id", path, "text")
    pattern_ok(
        rep,
        own_id,
        path + ("id",),
        RULE_ID_PATTERN,
        "rule ids use letters, digits, _ and - (no dots or spaces)",
    )
    lang = get(rep, raw, "lang", path, "text") or "any"
    if pattern_ok(
        rep,
        lang,
        path + ("lang",),
        RULE_LANG_PATTERN,
        "use a language code of 2-3 lower-case letters (en, ru) or 'any'",
    ):
        if ctx.languages is not None and lang != "any" and lang not in ctx.languages:
            rep.warn(
                path + ("lang",),
                f"rule language '{lang}' is not among the codebook's "
                f"languages ({', '.join(ctx.languages)})",
            )
    veto = get(rep, raw, "veto", path, "bool") or False
    case_sensitive = get(rep, raw, "case_sensitive", path, "bool") or False
    if kind is None:  # the common keys are checked; without a kind there is nothing to build
        return None
    if "case_sensitive" in raw and kind != "regex":
        rep.error(
            path + ("case_sensitive",),
            f"case_sensitive applies to regex rules only; "
            f"{kind} ignore case: remove it or write the rule as a regex",
        )
    counts[kind] = counts.get(kind, 0) + 1
    rule_id = f"{code_id}.{own_id or f'{kind}-{counts[kind]}'}"
    value, vpath = raw[kind], path + (kind,)
    terms: tuple[str, ...] | None = ()
    pattern: Any = None
    near = None
    if kind in ("phrases", "lemmas", "globs"):
        terms = _terms(rep, value, vpath, glob=kind == "globs")
    elif kind == "regex":
        pattern = _regex(rep, value, vpath, case_sensitive)
    elif kind == "pattern":
        pattern = token_pattern(rep, value, vpath)
    else:
        near = _near(rep, value, vpath)
    if rule_id in ctx.rule_ids:
        other = ctx.rule_ids[rule_id]
        rep.error(
            path,
            f"duplicate rule id '{rule_id}' (also {render(other)} on line "
            f"{rep.line(other)}); give one of them another 'id'",
        )
    else:
        ctx.rule_ids[rule_id] = path
    if (
        terms is None
        or (kind in ("regex", "pattern") and pattern is None)
        or (kind == "near" and near is None)
    ):
        return None
    return Rule(
        id=rule_id,
        code=code_id,
        kind=kind,
        lang=lang,
        terms=terms,
        pattern=pattern,
        near=near,
        veto=veto,
        case_sensitive=case_sensitive,
    )
