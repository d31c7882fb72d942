"""The JSON Schema of the codebook YAML: the one source of the key names the checks accept.

It also holds the patterns ids, languages and colours must match, and the default colours.

>>> CODE_KEYS[:2]
('id', 'label')
"""

from __future__ import annotations

import copy
from typing import Any

from ..types import COMBINE_POLICIES, RULE_KINDS

CODE_ID_PATTERN = r"^[a-z][a-z0-9_]*$"
RULE_ID_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_-]*$"
LANGUAGE_PATTERN = r"^[a-z]{2,3}$"
RULE_LANG_PATTERN = r"^([a-z]{2,3}|any)$"
COLOUR_PATTERN = r"^#[0-9a-fA-F]{6}$"
TERM_PATTERN = r"\S"  # a term has at least one visible character
GLOB_PATTERN = r"[^*\s]"  # ... and a glob at least one that is not '*'

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
        "name": {"type": "string", "pattern": TERM_PATTERN},
        "version": {"type": ["string", "number"]},
        "description": {"type": "string"},
        "languages": {
            "type": "array",
            "minItems": 1,
            "items": {"type": "string", "pattern": LANGUAGE_PATTERN},
        },
        "exclusive": {"type": "boolean"},
        "combine": {"enum": list(COMBINE_POLICIES)},
        "redact": {"type": "array", "items": {"type": "string", "pattern": TERM_PATTERN}},
        "codes": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/code"}},
    },
    "$defs": {
        "code": {
            "type": "object",
            "required": ["id", "label"],
            "additionalProperties": False,
            "properties": {
                "id": {"type": "string", "pattern": CODE_ID_PATTERN},
                "label": {"type": "string", "pattern": TERM_PATTERN},
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
                "phrases": _terms_schema(TERM_PATTERN, "words or phrases, ignoring case"),
                "lemmas": _terms_schema(TERM_PATTERN, "dictionary forms; any inflection matches"),
                "globs": _terms_schema(GLOB_PATTERN, "words with * (any letters) and ? (one)"),
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
                "a": _terms_schema(GLOB_PATTERN, "terms as in globs"),
                "b": _terms_schema(GLOB_PATTERN, "terms as in globs"),
                "within": {"type": "integer", "minimum": 1},
            },
        },
    },
}


def _keys(schema: dict[str, Any]) -> tuple[str, ...]:
    return tuple(schema["properties"])


TOP_KEYS = _keys(_SCHEMA)
CODE_KEYS = _keys(_SCHEMA["$defs"]["code"])
RULE_KEYS = _keys(_SCHEMA["$defs"]["rule"])
NEAR_KEYS = _keys(_SCHEMA["$defs"]["near"])
EXAMPLE_KEYS = _keys(_SCHEMA["$defs"]["examples"])

#: Keys that are valid one level down or up: the hint says where they belong.
ELSEWHERE = {
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
