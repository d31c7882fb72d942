"""spaCy token patterns in a rule: checked against spaCy's own schema, in our words.

>>> _spacy_pattern_names()[0][:2]
('ORTH', 'TEXT')
"""

from __future__ import annotations

import copy
import re
from functools import lru_cache
from typing import Any

from .problems import KeyPath, Report, describe, suggest

#: Token attributes a blank pipeline leaves empty: a pattern on them never matches without a
#: trained pipeline.
_TRAINED_ONLY_ATTRS = frozenset(
    {"POS", "TAG", "MORPH", "DEP", "LEMMA", "ENT_TYPE", "ENT_IOB", "ENT_ID", "ENT_KB_ID"}
)


@lru_cache(maxsize=1)
def _spacy_pattern_names() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Token attributes and operators spaCy's pattern schema accepts (upper case)."""
    from spacy.schemas import TokenPattern, TokenPatternNumber, TokenPatternString

    attrs = tuple((f.alias or n).upper() for n, f in TokenPattern.model_fields.items())
    ops = {(f.alias or n).upper() for n, f in TokenPatternNumber.model_fields.items()}
    ops |= {n.upper() for n in TokenPatternString.model_fields}
    return tuple(a for a in attrs if a != "_"), tuple(sorted(ops))


_SPACY_EXPECTED = {
    "a valid dictionary": "a mapping of operators",
    "a valid string": "text",
    "a valid integer": "a whole number",
    "a valid number": "a number",
    "a valid boolean": "true or false",
    "a valid list": "a list",
}


def _spacy_messages(
    rep: Report, value: list[Any], path: KeyPath, errors: list[str], reported: list[KeyPath]
) -> None:
    """Turn spaCy's ``[pattern -> 0 -> LOWER -> str] msg`` lines into our paths and words."""
    by_path: dict[KeyPath, list[str]] = {}
    found: dict[KeyPath, Any] = {}
    for line in errors:
        m = re.match(r"^\[(.*?)\] (.*)$", line)
        segments, message = (m.group(1).split(" -> ")[1:], m.group(2)) if m else ([], line)
        cur: Any = value
        sub: KeyPath = ()
        for seg in segments:  # follow the data; skip pydantic's union branch names
            if isinstance(cur, list) and seg.isdigit() and int(seg) < len(cur):
                cur, sub = cur[int(seg)], sub + (int(seg),)
            elif isinstance(cur, dict) and seg in {str(k) for k in cur}:
                key = next(k for k in cur if str(k) == seg)
                cur, sub = cur[key], sub + (str(key),)
        by_path.setdefault(sub, []).append(message)
        found[sub] = cur
    for sub, messages in by_path.items():
        # union branches: a deeper path is the branch the user chose; drop the shallower ones
        if any(o != sub and o[: len(sub)] == sub for o in by_path):
            continue
        if sub and sub[0] in {r[0] for r in reported}:
            continue  # this token's problem is already explained in our words
        expected, other = [], []
        for msg in dict.fromkeys(messages):
            msg = re.sub(r" or instance of \w+", "", msg)
            if msg.startswith("Input should be "):
                wanted = msg.removeprefix("Input should be ")
                expected.append(_SPACY_EXPECTED.get(wanted, wanted))
            else:
                other.append(msg)
        if sub and str(sub[-1]).upper() == "OP":
            text = "expected an operator: '+', '*', '?', '!' or a count such as '{2}' or '{1,3}'"
        elif expected:
            text = "expected " + " or ".join(dict.fromkeys(expected))
        else:
            text = "; ".join(other)
        rep.error(path + sub, f"{text}, found {describe(found[sub])}")


def token_pattern(rep: Report, value: Any, path: KeyPath) -> tuple[Any, ...] | None:
    example = "e.g. [{LOWER: free}, {LOWER: {IN: [them, all]}}]"
    if not isinstance(value, list) or not value:
        rep.error(
            path,
            f"expected a spaCy token pattern, a non-empty list of token specs "
            f"({example}), found {describe(value)}",
        )
        return None
    attrs, ops = _spacy_pattern_names()
    reported: list[KeyPath] = []  # sub-paths explained here; spaCy's words on them are dropped

    def problem(sub: KeyPath, message: str) -> None:
        reported.append(sub)
        rep.error(path + sub, message)

    for j, token in enumerate(value):
        if not isinstance(token, dict):
            problem(
                (j,),
                f"expected a token spec, a mapping such as {{LOWER: word}}, found "
                f"{describe(token)}",
            )
            continue
        for key, spec in token.items():
            name = str(key).upper()
            if key == "_":
                problem(
                    (j, "_"),
                    "custom extension attributes ('_') do not exist in "
                    "trustcode's pipeline; use LOWER, TEXT, REGEX and the like",
                )
            elif not isinstance(key, str) or name not in attrs:
                close = suggest(name, attrs)
                hint = f"did you mean '{close}'? " if close else ""
                problem(
                    (j, str(key)),
                    f"unknown token attribute '{key}'; {hint}valid attributes: {', '.join(attrs)}",
                )
            elif isinstance(spec, dict):
                for op in spec:
                    if str(op).upper() not in ops:
                        close = suggest(str(op).upper(), ops)
                        hint = f"did you mean '{close}'? " if close else ""
                        problem(
                            (j, str(key), str(op)),
                            f"unknown operator '{op}'; {hint}valid operators: {', '.join(ops)}",
                        )
            if name in _TRAINED_ONLY_ATTRS:
                rep.warn(
                    path + (j, str(key)),
                    f"attribute {name} is empty in a blank pipeline; "
                    "this pattern matches only with a trained pipeline",
                )
    return _spacy_check(rep, value, path, reported)


def _spacy_check(
    rep: Report, value: list[Any], path: KeyPath, reported: list[KeyPath]
) -> tuple[Any, ...] | None:
    from spacy.errors import MatchPatternError
    from spacy.matcher import Matcher
    from spacy.schemas import validate_token_pattern
    from spacy.vocab import Vocab

    errors = validate_token_pattern(value)
    if errors or reported:
        _spacy_messages(rep, value, path, errors, reported)
        return None
    try:  # spaCy compiles REGEX values and checks the rest only when a pattern is added
        # a bare vocabulary is all the Matcher needs: no pipeline is built to check a pattern
        Matcher(Vocab(), validate=True).add("rule", [value])
    except re.error as exc:
        rep.error(path, f"invalid REGEX in the pattern: {exc.msg} at position {exc.pos}")
        return None
    except (MatchPatternError, ValueError, TypeError, KeyError) as exc:
        rep.error(path, f"spaCy rejects the pattern: {str(exc).strip().splitlines()[0]}")
        return None
    return tuple(copy.deepcopy(value))
