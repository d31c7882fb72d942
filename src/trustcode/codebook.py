"""Codebooks: YAML <-> a validated :class:`~trustcode.types.Codebook`, and its JSON Schema.

A codebook is read with safe YAML loading only, checked completely, and either returned as frozen
dataclasses or rejected with one :class:`~trustcode.errors.CodebookError` whose ``problems`` list
every problem as ``{file}:{line}: {path}: {message}``. Legal but odd states (a code without rules
or examples) are :class:`~trustcode.errors.TrustcodeWarning`. The format is documented in
``docs/codebook-format.md``; :func:`codebook_schema` gives the same rules as a JSON Schema.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import os
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from .errors import CodebookError, TrustcodeWarning
from .types import COMBINE_POLICIES, RULE_KINDS, Code, Codebook, Rule, sha256_text

#: The codebook that ships inside the package; ``load_codebook()`` reads it.
DEFAULT_CODEBOOK: Path = Path(__file__).resolve().parent / "data" / "codebook.yaml"

CODE_ID_PATTERN = r"^[a-z][a-z0-9_]*$"
RULE_ID_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_-]*$"
LANGUAGE_PATTERN = r"^[a-z]{2,3}$"
RULE_LANG_PATTERN = r"^([a-z]{2,3}|any)$"
COLOUR_PATTERN = r"^#[0-9a-fA-F]{6}$"
_TERM_PATTERN = r"\S"  # a term has at least one visible character
_GLOB_PATTERN = r"[^*\s]"  # ... and a glob at least one that is not '*'

#: Default code colours by position: Paul Tol's "muted" scheme, safe for colour-blind readers.
PALETTE: tuple[str, ...] = (
    "#cc6677",
    "#332288",
    "#ddcc77",
    "#117733",
    "#88ccee",
    "#882255",
    "#44aa99",
    "#999933",
    "#aa4499",
)

#: Token attributes a blank pipeline leaves empty: a pattern on them never matches without a
#: trained pipeline.
_TRAINED_ONLY_ATTRS = frozenset(
    {"POS", "TAG", "MORPH", "DEP", "LEMMA", "ENT_TYPE", "ENT_IOB", "ENT_ID", "ENT_KB_ID"}
)

# --- the JSON Schema: the one source of the key names the checker below accepts ------------------


def _terms_schema(item_pattern: str, description: str) -> dict[str, Any]:
    return {
        "type": "array",
        "minItems": 1,
        "items": {"type": "string", "pattern": item_pattern},
        "description": description,
    }


_TEXT_OR_LIST = {
    "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
}

_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "trustcode codebook",
    "description": "A codebook for trustcode: codes with definitions, examples and matching rules.",
    "type": "object",
    "required": ["name", "codes"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "pattern": _TERM_PATTERN},
        "version": {"type": ["string", "number"]},
        "description": {"type": "string"},
        "languages": {
            "type": "array",
            "minItems": 1,
            "items": {"type": "string", "pattern": LANGUAGE_PATTERN},
        },
        "exclusive": {"type": "boolean"},
        "combine": {"enum": list(COMBINE_POLICIES)},
        "redact": {"type": "array", "items": {"type": "string", "pattern": _TERM_PATTERN}},
        "codes": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/code"}},
    },
    "$defs": {
        "code": {
            "type": "object",
            "required": ["id", "label"],
            "additionalProperties": False,
            "properties": {
                "id": {"type": "string", "pattern": CODE_ID_PATTERN},
                "label": {"type": "string", "pattern": _TERM_PATTERN},
                "definition": {"type": "string"},
                "parent": {"type": "string", "pattern": CODE_ID_PATTERN},
                "include": _TEXT_OR_LIST,
                "exclude": _TEXT_OR_LIST,
                "colour": {"type": "string", "pattern": COLOUR_PATTERN},
                "combine": {"enum": list(COMBINE_POLICIES)},
                "examples": {"$ref": "#/$defs/examples"},
                "rules": {"type": "array", "items": {"$ref": "#/$defs/rule"}},
            },
        },
        "examples": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "positive": {"type": "array", "items": {"type": "string"}},
                "negative": {"type": "array", "items": {"type": "string"}},
            },
        },
        "rule": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "id": {"type": "string", "pattern": RULE_ID_PATTERN},
                "lang": {"type": "string", "pattern": RULE_LANG_PATTERN},
                "veto": {"type": "boolean"},
                "case_sensitive": {"type": "boolean"},
                "phrases": _terms_schema(_TERM_PATTERN, "words or phrases, ignoring case"),
                "lemmas": _terms_schema(_TERM_PATTERN, "dictionary forms; any inflection matches"),
                "globs": _terms_schema(_GLOB_PATTERN, "words with * (any letters) and ? (one)"),
                "regex": {"type": "string", "minLength": 1},
                "pattern": {"type": "array", "minItems": 1, "items": {"type": "object"}},
                "near": {"$ref": "#/$defs/near"},
            },
            "oneOf": [{"required": [kind]} for kind in RULE_KINDS],
            "dependentRequired": {"case_sensitive": ["regex"]},
        },
        "near": {
            "type": "object",
            "required": ["a", "b", "within"],
            "additionalProperties": False,
            "properties": {
                "a": _terms_schema(_GLOB_PATTERN, "terms as in globs"),
                "b": _terms_schema(_GLOB_PATTERN, "terms as in globs"),
                "within": {"type": "integer", "minimum": 1},
            },
        },
    },
}


def _keys(schema: dict[str, Any]) -> tuple[str, ...]:
    return tuple(schema["properties"])


_TOP_KEYS = _keys(_SCHEMA)
_CODE_KEYS = _keys(_SCHEMA["$defs"]["code"])
_RULE_KEYS = _keys(_SCHEMA["$defs"]["rule"])
_NEAR_KEYS = _keys(_SCHEMA["$defs"]["near"])
_EXAMPLE_KEYS = _keys(_SCHEMA["$defs"]["examples"])

#: Keys that are valid one level down or up: the hint says where they belong.
_ELSEWHERE = {
    **{k: "a rule key: put it in a list item under 'rules:'" for k in RULE_KINDS},
    "positive": "an examples key: put it under 'examples:'",
    "negative": "an examples key: put it under 'examples:'",
    "label": "a code key: put it in a list item under 'codes:'",
}


def codebook_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the codebook YAML, for editors and other tools.

    >>> codebook_schema()["required"]
    ['name', 'codes']
    """
    return copy.deepcopy(_SCHEMA)


# --- problems with file, line and path ---------------------------------------------------------

_Path = tuple[str | int, ...]


def _render(path: _Path) -> str:
    out = ""
    for seg in path:
        out += f"[{seg}]" if isinstance(seg, int) else (f".{seg}" if out else str(seg))
    return out or "(top level)"


@dataclass
class _Report:
    """Collects problems and warnings; knows the YAML line of every path."""

    file: str
    lines: dict[_Path, int] = field(default_factory=dict)
    scalars: dict[_Path, str] = field(default_factory=dict)  # scalars as written in the file
    problems: list[tuple[int, int, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def line(self, path: _Path) -> int:
        # a missing key has no node: point at the nearest enclosing one
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 1)

    def error(self, path: _Path, message: str, line: int | None = None) -> None:
        line = line or self.line(path)
        text = f"{self.file}:{line}: {_render(path)}: {message}"
        self.problems.append((line, len(self.problems), text))

    def warn(self, path: _Path, message: str) -> None:
        self.warnings.append(f"{self.file}:{self.line(path)}: {_render(path)}: {message}")

    def sorted_problems(self) -> list[str]:
        return [text for _, _, text in sorted(self.problems)]


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, bool):
        return f"true/false ({str(value).lower()})"
    if isinstance(value, int):
        return f"a whole number ({value})"
    if isinstance(value, float):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"text {value[:40]!r}" if value.strip() else "empty text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__} ({value})"


def _suggest(word: Any, options: tuple[str, ...] | list[str]) -> str | None:
    found = difflib.get_close_matches(str(word), list(options), n=1, cutoff=0.6)
    return found[0] if found else None


# --- YAML text -> data plus a line for every path ---------------------------------------------

_YAML_HINTS = (
    ("'\\t'", "YAML indents with spaces only; replace the tab with spaces"),
    ("mapping values are not allowed", "quote a value that contains ': ', e.g. label: \"A: B\""),
    (
        "unknown escape character",
        "inside double quotes a backslash starts an escape; write regexes in single quotes, "
        "e.g. regex: '\\bword\\b'",
    ),
    ("could not find expected ':'", "each key needs ': ' after it; check this line's indentation"),
    ("expected <block end>", "items of one list or mapping must start in the same column"),
    ("expected a single document", "a codebook is one YAML document: remove the extra '---'"),
    ("could not determine a constructor", "tags such as !!python/... are not allowed: remove it"),
    ("found unhashable key", "a key must be plain text"),
)

#: More visits than this means aliases nest into an exponential blow-up.
_MAX_NODES = 200_000


def _yaml_problem(exc: yaml.YAMLError, text: str, rep: _Report) -> None:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is not None:
        line, column = mark.line + 1, mark.column + 1
    else:  # a ReaderError knows the character position only
        position = getattr(exc, "position", 0) or 0
        line = text.count("\n", 0, position) + 1
        column = position - (text.rfind("\n", 0, position) + 1) + 1
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    hint = next((h for key, h in _YAML_HINTS if key in f"{problem} {context}"), None)
    message = f"invalid YAML: {problem}"
    if context:
        message += f" ({context})"
    message += f"; {hint or 'check the quoting and indentation around this line'}"
    rep.problems.append((line, len(rep.problems), f"{rep.file}:{line}: column {column}: {message}"))


def _key_text(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    # the same text the data walk sees: str() of the constructed key
    try:
        return str(loader.construct_object(node))
    except (yaml.YAMLError, ValueError, TypeError, OverflowError):
        return str(node.value)


def _index_lines(root: yaml.Node, loader: yaml.SafeLoader, rep: _Report) -> bool:
    """Record the line of every path; report duplicate keys and recursive aliases.

    Iterative, so that deeply nested input cannot overflow the Python stack. Returns False when
    the document cannot be walked as data (recursive or exploding aliases).
    """
    stack: list[tuple[yaml.Node, _Path, bool]] = [(root, (), False)]
    on_path: set[int] = set()
    visits = 0
    ok = True
    while stack:
        node, path, leaving = stack.pop()
        if leaving:
            on_path.discard(id(node))
            continue
        if id(node) in on_path:
            rep.error(
                path,
                "this alias is used inside its own anchor, which makes the data recursive; "
                "write the value out instead",
                line=node.start_mark.line + 1,
            )
            ok = False
            continue
        visits += 1
        if visits > _MAX_NODES:
            rep.error(path, f"more than {_MAX_NODES} values after expanding aliases; remove them")
            return False
        rep.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.ScalarNode):
            rep.scalars.setdefault(path, node.value)
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            on_path.add(id(node))
            stack.append((node, path, True))
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key_node, value_node in node.value:
                key = _key_text(loader, key_node)
                line = key_node.start_mark.line + 1
                if key in seen:
                    rep.error(
                        path + (key,),
                        f"duplicate key '{key}' (also on line {seen[key]}); YAML keeps only the "
                        "last one: remove or merge one of them",
                        line=line,
                    )
                seen.setdefault(key, line)
                rep.lines.setdefault(path + (key,), line)
                stack.append((value_node, path + (key,), False))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                stack.append((item, path + (i,), False))
    return ok


_NOTHING = object()


#: libyaml's safe loader when PyYAML was built with it: seven times faster than PyYAML's own,
#: with the same nodes and marks; its syntax errors say less, so a text it cannot read is
#: read again by PyYAML's loader for the message
_FAST_LOADER: Any = getattr(yaml, "CSafeLoader", None)


def _compose(text: str) -> tuple[Any, Any]:
    """A safe loader for ``text`` and the text's node tree (raises ``yaml.YAMLError``)."""
    if _FAST_LOADER is not None:
        loader = _FAST_LOADER(text)
        try:
            return loader, loader.get_single_node()
        except yaml.YAMLError:
            loader.dispose()
    loader = yaml.SafeLoader(text)
    try:
        return loader, loader.get_single_node()
    except BaseException:
        loader.dispose()
        raise


def _load_yaml(text: str, rep: _Report) -> Any:
    """Safe-load ``text``; on failure report it and return ``_NOTHING``."""
    loader = None
    try:
        loader, node = _compose(text)
        if node is None:
            return None
        if not _index_lines(node, loader, rep):
            return _NOTHING
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        _yaml_problem(exc, text, rep)
    except RecursionError:
        rep.error((), "the YAML is nested too deeply to read; flatten it")
    except (ValueError, TypeError, OverflowError) as exc:
        # PyYAML's safe constructors let these through for values such as the date 2024-02-30
        rep.error((), f"invalid YAML value: {exc}; quote the value to keep it as text")
    finally:
        if loader is not None:
            loader.dispose()
    return _NOTHING


# --- typed access to mappings -----------------------------------------------------------------

_EXPECT: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "text": ("text", lambda v: isinstance(v, str)),
    "bool": ("true or false", lambda v: isinstance(v, bool)),
    "int": ("a whole number", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    "list": ("a list", lambda v: isinstance(v, list)),
}


def _fix(value: Any, expect: str) -> str:
    if value is None:
        return "; write a value or remove the key"
    if expect == "text" and isinstance(value, int | float):  # bool is an int too
        return "; quote it"
    return ""


def _get(
    rep: _Report,
    mapping: dict[Any, Any],
    key: str,
    path: _Path,
    expect: str,
    *,
    required: str = "",
) -> Any:
    """``mapping[key]`` if it has the expected type; else report and return None.

    ``required`` is the fix to show when the key is missing (empty: the key is optional).
    """
    if key not in mapping:
        if required:
            rep.error(path + (key,), f"missing required key '{key}'; {required}")
        return None
    value = mapping[key]
    name, check = _EXPECT[expect]
    if not check(value):
        rep.error(path + (key,), f"expected {name}, found {_describe(value)}{_fix(value, expect)}")
        return None
    if expect == "text" and required and not value.strip():
        rep.error(path + (key,), f"'{key}' is empty; {required}")
        return None
    return value


def _check_keys(
    rep: _Report, mapping: dict[Any, Any], path: _Path, known: tuple[str, ...], what: str
) -> None:
    for key in mapping:
        if isinstance(key, str) and key in known:
            continue
        message = f"unknown key '{key}' in {what}"
        close = _suggest(key, known)
        if close:
            message += f"; did you mean '{close}'?"
        elif key in _ELSEWHERE:
            message += f"; '{key}' is {_ELSEWHERE[key]}"
        else:
            message += f"; expected one of: {', '.join(known)}"
        rep.error(path + (str(key),), message)


def _pattern_ok(rep: _Report, value: str | None, path: _Path, pattern: str, rule: str) -> bool:
    if value is None or re.match(pattern, value):
        return True
    rep.error(path, f"{value!r} is not valid: {rule}")
    return False


# --- rules --------------------------------------------------------------------------------------


def _terms(rep: _Report, value: Any, path: _Path, *, glob: bool) -> tuple[str, ...] | None:
    if isinstance(value, str):
        rep.error(path, f"expected a list of terms, found {_describe(value)}; write [{value}]")
        return None
    if not isinstance(value, list):
        rep.error(path, f"expected a list of terms, found {_describe(value)}")
        return None
    if not value:
        rep.error(path, "the list is empty; add at least one term or remove the rule")
        return None
    terms: list[str] = []
    for j, term in enumerate(value):
        if not isinstance(term, str):
            rep.error(path + (j,), f"expected a term (text), found {_describe(term)}; quote it")
        elif not term.strip():
            rep.error(path + (j,), "empty term; remove it or write the word")
        elif glob and not re.search(_GLOB_PATTERN, term):
            rep.error(path + (j,), f"the glob {term!r} would match every word; add letters")
        else:
            terms.append(term.strip())
    return tuple(terms) if len(terms) == len(value) else None


def _regex(rep: _Report, value: Any, path: _Path, case_sensitive: bool) -> str | None:
    if not isinstance(value, str) or not value:
        rep.error(path, f"expected a regular expression (text), found {_describe(value)}")
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


def _near(rep: _Report, value: Any, path: _Path) -> tuple[Any, ...] | None:
    if not isinstance(value, dict):
        rep.error(
            path, f"expected a mapping {{a: [...], b: [...], within: N}}, found {_describe(value)}"
        )
        return None
    _check_keys(rep, value, path, _NEAR_KEYS, "a near rule")
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
    elif not (_EXPECT["int"][1](within) and within >= 1):
        rep.error(
            path + ("within",),
            f"expected a positive whole number of tokens, found {_describe(within)}",
        )
        within = None
    if sides[0] is None or sides[1] is None or within is None:
        return None
    return (sides[0], sides[1], within)


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
    rep: _Report, value: list[Any], path: _Path, errors: list[str], reported: list[_Path]
) -> None:
    """Turn spaCy's ``[pattern -> 0 -> LOWER -> str] msg`` lines into our paths and words."""
    by_path: dict[_Path, list[str]] = {}
    found: dict[_Path, Any] = {}
    for line in errors:
        m = re.match(r"^\[(.*?)\] (.*)$", line)
        segments, message = (m.group(1).split(" -> ")[1:], m.group(2)) if m else ([], line)
        cur: Any = value
        sub: _Path = ()
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
        rep.error(path + sub, f"{text}, found {_describe(found[sub])}")


def _token_pattern(rep: _Report, value: Any, path: _Path) -> tuple[Any, ...] | None:
    example = "e.g. [{LOWER: free}, {LOWER: {IN: [them, all]}}]"
    if not isinstance(value, list) or not value:
        rep.error(
            path,
            f"expected a spaCy token pattern, a non-empty list of token specs "
            f"({example}), found {_describe(value)}",
        )
        return None
    attrs, ops = _spacy_pattern_names()
    reported: list[_Path] = []  # sub-paths explained here; spaCy's words on them are dropped

    def problem(sub: _Path, message: str) -> None:
        reported.append(sub)
        rep.error(path + sub, message)

    for j, token in enumerate(value):
        if not isinstance(token, dict):
            problem(
                (j,),
                f"expected a token spec, a mapping such as {{LOWER: word}}, found "
                f"{_describe(token)}",
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
                close = _suggest(name, attrs)
                hint = f"did you mean '{close}'? " if close else ""
                problem(
                    (j, str(key)),
                    f"unknown token attribute '{key}'; {hint}valid attributes: {', '.join(attrs)}",
                )
            elif isinstance(spec, dict):
                for op in spec:
                    if str(op).upper() not in ops:
                        close = _suggest(str(op).upper(), ops)
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
    rep: _Report, value: list[Any], path: _Path, reported: list[_Path]
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


@dataclass
class _Context:
    """What checks across codes need: defaults, seen ids, declared languages."""

    combine: str = "union"
    languages: tuple[str, ...] | None = None
    rule_ids: dict[str, _Path] = field(default_factory=dict)


def _rule(
    rep: _Report, raw: Any, path: _Path, code_id: str, counts: dict[str, int], ctx: _Context
) -> Rule | None:
    if not isinstance(raw, dict):
        rep.error(
            path, f"expected a rule (a mapping such as {{phrases: [word]}}), found {_describe(raw)}"
        )
        return None
    _check_keys(rep, raw, path, _RULE_KEYS, "a rule")
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
    own_id = _get(rep, raw, "id", path, "text")
    _pattern_ok(
        rep,
        own_id,
        path + ("id",),
        RULE_ID_PATTERN,
        "rule ids use letters, digits, _ and - (no dots or spaces)",
    )
    lang = _get(rep, raw, "lang", path, "text") or "any"
    if _pattern_ok(
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
    veto = _get(rep, raw, "veto", path, "bool") or False
    case_sensitive = _get(rep, raw, "case_sensitive", path, "bool") or False
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
        pattern = _token_pattern(rep, value, vpath)
    else:
        near = _near(rep, value, vpath)
    if rule_id in ctx.rule_ids:
        other = ctx.rule_ids[rule_id]
        rep.error(
            path,
            f"duplicate rule id '{rule_id}' (also {_render(other)} on line "
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


# --- codes and the codebook ---------------------------------------------------------------------


def _text_or_list(rep: _Report, raw: dict[Any, Any], key: str, path: _Path) -> str:
    value = raw.get(key, "")
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "; ".join(v.strip() for v in value)
    rep.error(path + (key,), f"expected text or a list of texts, found {_describe(value)}")
    return ""


def _examples(rep: _Report, raw: Any, path: _Path) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if raw is None:
        return (), ()
    if not isinstance(raw, dict):
        rep.error(
            path, f"expected a mapping with 'positive' and 'negative' lists, found {_describe(raw)}"
        )
        return (), ()
    _check_keys(rep, raw, path, _EXAMPLE_KEYS, "examples")
    out = []
    for key in _EXAMPLE_KEYS:
        items = _get(rep, raw, key, path, "list") or []
        for j, item in enumerate(items):
            if not isinstance(item, str) or not item.strip():
                rep.error(path + (key, j), f"expected an example text, found {_describe(item)}")
        out.append(tuple(i.strip() for i in items if isinstance(i, str) and i.strip()))
    return out[0], out[1]


def _combine(rep: _Report, raw: dict[Any, Any], path: _Path) -> str | None:
    combine = _get(rep, raw, "combine", path, "text")
    if combine is None or combine in COMBINE_POLICIES:
        return combine
    close = _suggest(combine, COMBINE_POLICIES)
    hint = f"did you mean '{close}'? " if close else ""
    rep.error(
        path + ("combine",),
        f"unknown combine policy {combine!r}; {hint}use one of: {', '.join(COMBINE_POLICIES)}",
    )
    return None


def _suggest_code_id(value: str) -> str:
    return re.sub(r"^[^a-z]+", "", re.sub(r"[^a-z0-9_]+", "_", value.lower())).strip("_")


def _code(rep: _Report, raw: Any, index: int, ctx: _Context) -> Code | None:
    path: _Path = ("codes", index)
    if not isinstance(raw, dict):
        rep.error(path, f"expected a code (a mapping with id and label), found {_describe(raw)}")
        return None
    _check_keys(rep, raw, path, _CODE_KEYS, "a code")
    code_id = _get(rep, raw, "id", path, "text", required="add an id such as 'my_code'")
    if code_id is not None and not re.match(CODE_ID_PATTERN, code_id):
        better = _suggest_code_id(code_id)
        rep.error(
            path + ("id",),
            f"code id {code_id!r} must start with a lower-case letter and "
            "use only a-z, 0-9 and _" + (f"; try '{better}'" if better else ""),
        )
    label = _get(rep, raw, "label", path, "text", required="add a short human-readable label")
    parent = _get(rep, raw, "parent", path, "text")
    colour = _get(rep, raw, "colour", path, "text")
    _pattern_ok(rep, colour, path + ("colour",), COLOUR_PATTERN, "write a colour as '#rrggbb'")
    combine = _combine(rep, raw, path)
    positive, negative = _examples(rep, raw.get("examples"), path + ("examples",))
    counts: dict[str, int] = {}
    rid = code_id or f"codes[{index}]"
    raw_rules = _get(rep, raw, "rules", path, "list") or []
    rules = [_rule(rep, r, path + ("rules", j), rid, counts, ctx) for j, r in enumerate(raw_rules)]
    return Code(
        id=code_id or "",
        label=(label or "").strip(),
        definition=(_get(rep, raw, "definition", path, "text") or "").strip(),
        parent=parent or None,
        include=_text_or_list(rep, raw, "include", path),
        exclude=_text_or_list(rep, raw, "exclude", path),
        colour=(colour or PALETTE[index % len(PALETTE)]).lower(),
        combine=combine or ctx.combine,
        positive_examples=positive,
        negative_examples=negative,
        rules=tuple(r for r in rules if r is not None),
    )


def _check_tree(rep: _Report, codes: list[tuple[int, Code]]) -> None:
    """Unique ids, parents that exist, no parent cycles."""
    first: dict[str, int] = {}
    for index, code in codes:
        if code.id in first:
            other = ("codes", first[code.id])
            rep.error(
                ("codes", index, "id"),
                f"duplicate code id '{code.id}' (also "
                f"{_render(other)} on line {rep.line(other)}); ids must be unique",
            )
        elif code.id:
            first[code.id] = index
    parent_of: dict[str, str] = {}
    for index, code in codes:
        if code.parent is None or first.get(code.id) != index:
            continue
        if code.parent not in first:
            close = _suggest(code.parent, list(first))
            rep.error(
                ("codes", index, "parent"),
                f"parent '{code.parent}' is not a code of this "
                "codebook; "
                + (f"did you mean '{close}'?" if close else "add that code or remove the parent"),
            )
        else:
            parent_of[code.id] = code.parent
    reported: set[frozenset[str]] = set()
    for start in parent_of:
        chain = [start]
        while (nxt := parent_of.get(chain[-1])) is not None and nxt not in chain:
            chain.append(nxt)
        if nxt is None:
            continue
        cycle = chain[chain.index(nxt) :]
        if frozenset(cycle) in reported:
            continue
        reported.add(frozenset(cycle))
        head = min(cycle, key=first.__getitem__)  # name the cycle from its first code in the file
        ordered = cycle[cycle.index(head) :] + cycle[: cycle.index(head)] + [head]
        rep.error(
            ("codes", first[head], "parent"),
            f"parent cycle: {' -> '.join(ordered)}; a "
            "code cannot be its own ancestor: remove one of these parent links",
        )


def _odd_codes(rep: _Report, codes: list[tuple[int, Code]]) -> None:
    parents = {c.parent for _, c in codes if c.parent}
    for index, code in codes:
        if code.id in parents:
            continue
        path: _Path = ("codes", index)
        proposing = [r for r in code.rules if not r.veto]
        if not proposing and code.combine in ("rules_only", "both"):
            rep.warn(
                path,
                f"code '{code.id}' has no rules but its combine policy "
                f"'{code.combine}' needs a rule hit, so it can never be coded",
            )
        elif not proposing and code.combine != "classifier_only":
            rep.warn(
                path, f"code '{code.id}' has no rules; it will be coded by the classifier only"
            )
        if not code.positive_examples and not code.negative_examples:
            rep.warn(
                path,
                f"code '{code.id}' has no examples; add some so that `trustcode "
                "codebook check` can test its rules",
            )


def _string_list(rep: _Report, data: dict[Any, Any], key: str, pattern: str, rule: str) -> Any:
    items = _get(rep, data, key, (), "list")
    if items is None:
        return None
    if not items and key == "languages":
        rep.error((key,), "the list is empty; name at least one language, e.g. [en]")
    good = []
    for j, item in enumerate(items):
        if not isinstance(item, str):
            rep.error((key, j), f"expected text, found {_describe(item)}{_fix(item, 'text')}")
        elif _pattern_ok(rep, item, (key, j), pattern, rule):
            good.append(item)
    return tuple(good)


def _codebook(rep: _Report, data: dict[Any, Any], text: str) -> Codebook:
    _check_keys(rep, data, (), _TOP_KEYS, "the codebook")
    name = _get(rep, data, "name", (), "text", required="name the codebook, e.g. name: My study")
    version = data.get("version", "")
    if isinstance(version, bool) or not isinstance(version, str | int | float):
        rep.error(("version",), f"expected text, found {_describe(version)}")
        version = ""
    elif not isinstance(version, str):  # 1.10 as written, not the float 1.1
        version = rep.scalars.get(("version",), str(version))
    languages = _string_list(
        rep,
        data,
        "languages",
        LANGUAGE_PATTERN,
        "use language codes of 2-3 lower-case letters (en, ru)",
    )
    redact = _string_list(rep, data, "redact", _TERM_PATTERN, "a name to redact cannot be empty")
    combine = _combine(rep, data, ()) or "union"
    exclusive = _get(rep, data, "exclusive", (), "bool") or False
    description = _get(rep, data, "description", (), "text") or ""
    ctx = _Context(combine=combine, languages=languages or None)
    raw_codes = _get(rep, data, "codes", (), "list", required="list the codes under 'codes:'")
    if raw_codes == []:
        rep.error(("codes",), "the list of codes is empty; add at least one code")
    built = [(i, _code(rep, raw, i, ctx)) for i, raw in enumerate(raw_codes or [])]
    codes = [(i, c) for i, c in built if c is not None]
    _check_tree(rep, codes)
    if not rep.problems:
        _odd_codes(rep, codes)
    return Codebook(
        name=(name or "").strip(),
        codes=tuple(c for _, c in codes),
        description=description.strip(),
        version=str(version),
        **({"languages": languages} if languages else {}),  # else the dataclass default
        exclusive=exclusive,
        redact=redact or (),
        path="",
        sha256=sha256_text(text),
    )


def _analyse(text: str, path: str) -> tuple[Codebook | None, list[str], list[str]]:
    rep = _Report(path)
    data = _load_yaml(text, rep)
    if data is _NOTHING:
        return None, rep.sorted_problems(), []
    if data is None:
        rep.error((), "the codebook is empty; it needs at least 'name:' and 'codes:'")
        return None, rep.sorted_problems(), []
    if not isinstance(data, dict):
        rep.error(
            (), f"expected a mapping with 'name:' and 'codes:' at the top, found {_describe(data)}"
        )
        return None, rep.sorted_problems(), []
    codebook = _codebook(rep, data, text)
    if rep.problems:
        return None, rep.sorted_problems(), []
    return replace(codebook, path=path), [], rep.warnings


# --- public API ---------------------------------------------------------------------------------


def codebook_problems(text: str, path: str) -> list[str]:
    """Every problem of the codebook ``text`` as ``{file}:{line}: {path}: {message}``; [] if valid.

    >>> codebook_problems("name: x\\ncodes: []\\n", "cb.yaml")
    ['cb.yaml:2: codes: the list of codes is empty; add at least one code']
    """
    return _analyse(text, path)[1]


def parse_codebook(text: str, path: str = "<string>") -> Codebook:
    """Validate the YAML ``text`` of a codebook and build it; ``path`` names it in messages.

    Raises :class:`CodebookError` listing every problem; warns (``TrustcodeWarning``) about legal
    but odd codes.

    >>> cb = parse_codebook("name: x\\ncodes:\\n- {id: a, label: A, rules: [{regex: 'b+'}]}\\n")
    >>> [r.id for r in cb.rules]
    ['a.regex-1']
    """
    codebook, problems, odd = _analyse(text, path)
    if codebook is None:
        raise CodebookError(
            f"{path}: the codebook has {len(problems)} problem(s); fix them and load it again:",
            problems,
        )
    for message in odd:
        warnings.warn(message, TrustcodeWarning, stacklevel=2)
    return codebook


def load_codebook(path: str | os.PathLike[str] | None = None) -> Codebook:
    """Read and validate a codebook file (UTF-8 YAML); ``None`` reads :data:`DEFAULT_CODEBOOK`.

    ``sha256`` is the hash of the file's bytes.

    >>> load_codebook().path == str(DEFAULT_CODEBOOK)
    True
    """
    file = Path(path) if path is not None else DEFAULT_CODEBOOK
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise CodebookError(
            f"{file}: no such codebook file; check the path, or leave it out to "
            "use the packaged codebook"
        ) from None
    except OSError as exc:
        raise CodebookError(
            f"{file}: cannot read the codebook ({exc.strerror}); pass the path of a YAML file"
        ) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        problem = f"{file}:{line}: (file): not UTF-8 (byte {exc.start}); save it as UTF-8"
        raise CodebookError(f"{file}: the codebook cannot be decoded:", [problem]) from None
    codebook = parse_codebook(text, str(file))
    return replace(codebook, sha256=hashlib.sha256(raw).hexdigest())


def codebook_to_dict(codebook: Codebook) -> dict[str, Any]:
    """The codebook as the YAML structure it came from (defaults written out where they matter).

    ``parse_codebook(yaml.safe_dump(codebook_to_dict(cb)))`` gives back the same codes and rules.

    >>> cb = parse_codebook("name: x\\ncodes:\\n- {id: a, label: A, rules: [{regex: 'b+'}]}\\n")
    >>> codebook_to_dict(cb)["codes"][0]["rules"]
    [{'regex': 'b+'}]
    """
    out: dict[str, Any] = {"name": codebook.name}
    if codebook.version:
        out["version"] = codebook.version
    if codebook.description:
        out["description"] = codebook.description
    out["languages"] = list(codebook.languages)
    out["exclusive"] = codebook.exclusive
    if codebook.redact:
        out["redact"] = list(codebook.redact)
    out["codes"] = [_code_to_dict(code) for code in codebook.codes]
    return out


def _code_to_dict(code: Code) -> dict[str, Any]:
    out: dict[str, Any] = {"id": code.id, "label": code.label}
    for key in ("parent", "definition", "include", "exclude"):
        if getattr(code, key):
            out[key] = getattr(code, key)
    out["colour"] = code.colour
    if code.combine != "union":
        out["combine"] = code.combine
    if code.positive_examples or code.negative_examples:
        out["examples"] = {
            "positive": list(code.positive_examples),
            "negative": list(code.negative_examples),
        }
    counts: dict[str, int] = {}
    rules = []
    for rule in code.rules:
        counts[rule.kind] = counts.get(rule.kind, 0) + 1
        item: dict[str, Any] = {}
        short = rule.id.removeprefix(f"{code.id}.")
        if short != f"{rule.kind}-{counts[rule.kind]}":  # derived ids come back by themselves
            item["id"] = short
        if rule.lang != "any":
            item["lang"] = rule.lang
        if rule.veto:
            item["veto"] = True
        if rule.case_sensitive:
            item["case_sensitive"] = True
        if rule.kind in ("phrases", "lemmas", "globs"):
            item[rule.kind] = list(rule.terms)
        elif rule.kind == "near" and rule.near is not None:
            a, b, within = rule.near
            item["near"] = {"a": list(a), "b": list(b), "within": within}
        elif rule.kind == "pattern":
            item["pattern"] = copy.deepcopy(list(rule.pattern))
        else:
            item[rule.kind] = rule.pattern
        rules.append(item)
    if rules:
        out["rules"] = rules
    return out


def _rule_line(rule: Rule) -> str:
    flags = f"[{rule.lang}]" + (" VETO" if rule.veto else "")
    if rule.kind in ("phrases", "lemmas", "globs"):
        what = " | ".join(rule.terms)
    elif rule.kind == "near" and rule.near is not None:
        what = f"({' | '.join(rule.near[0])}) within {rule.near[2]} of ({' | '.join(rule.near[1])})"
    elif rule.kind == "regex":
        what = f"/{rule.pattern}/" + ("" if rule.case_sensitive else "i")
    else:
        what = " ".join(str(t) for t in rule.pattern)
    return f"{rule.id} {flags}: {what}"


def show_codebook(codebook: Codebook) -> str:
    """A readable outline: codes as a tree under their parents, with their texts and rules.

    >>> cb = parse_codebook("name: x\\ncodes:\\n- {id: a, label: A, rules: [{regex: 'b+'}]}\\n")
    >>> "a.regex-1" in show_codebook(cb)
    True
    """
    head = f"{codebook.name}" + (f" (version {codebook.version})" if codebook.version else "")
    lines = [
        head,
        f"languages: {', '.join(codebook.languages)}; exclusive: "
        f"{'yes' if codebook.exclusive else 'no'}; {len(codebook.codes)} codes, "
        f"{len(codebook.rules)} rules",
    ]
    if codebook.description:
        lines.append(codebook.description)
    if codebook.path:
        lines.append(f"file: {codebook.path} (sha256 {codebook.sha256[:12]})")
    children: dict[str | None, list[Code]] = {}
    for code in codebook.codes:
        children.setdefault(code.parent, []).append(code)

    def add(code: Code, depth: int) -> None:
        pad = "  " * depth
        lines.append(f"{pad}{code.id}: {code.label}  [{code.colour}, {code.combine}]")
        for key in ("definition", "include", "exclude"):
            if getattr(code, key):
                lines.append(f"{pad}    {key}: {getattr(code, key)}")
        lines.append(
            f"{pad}    examples: {len(code.positive_examples)} positive, "
            f"{len(code.negative_examples)} negative"
        )
        for kind in RULE_KINDS:
            of_kind = [r for r in code.rules if r.kind == kind]
            if of_kind:
                lines.append(f"{pad}    {kind}:")
                lines.extend(f"{pad}      {_rule_line(r)}" for r in of_kind)
        for child in children.get(code.id, []):
            add(child, depth + 1)

    lines.append("")
    for root in children.get(None, []):
        add(root, 0)
    return "\n".join(lines) + "\n"
