"""Codebooks: YAML <-> a validated :class:`~trustcode.types.Codebook`, and its JSON Schema.

A codebook is read with safe YAML loading only, checked completely, and either returned as frozen
dataclasses or rejected with one :class:`~trustcode.errors.CodebookError` whose ``problems`` list
every problem as ``{file}:{line}: {path}: {message}``. Legal but odd states (a code without rules
or examples) are :class:`~trustcode.errors.TrustcodeWarning`. The format is documented in
``docs/codebook-format.md``; :func:`codebook_schema` gives the same rules as a JSON Schema.

The modules, in the order a codebook passes through them:

- :mod:`.schema`: the JSON Schema, the one source of the key names the checks accept; id,
  language and colour patterns; the default colours (:data:`PALETTE`);
- :mod:`.problems`: problems with file, line and path, and typed access to mappings;
- :mod:`.yamltext`: YAML text -> data with the line of every path, safe loaders only;
- :mod:`.tokenpatterns`: spaCy token patterns, checked against spaCy's schema in our words;
- :mod:`.rule_entries`: one rule entry of a code (matching text is :mod:`trustcode.rules`);
- :mod:`.codes`: codes, the code tree and the codebook's top level;
- :mod:`.loading`: :func:`parse_codebook`, :func:`load_codebook`, :func:`codebook_problems`,
  :func:`codebook_in_use` (the one a command reads when none is named);
- :mod:`.export`: :func:`codebook_to_dict`, :func:`show_codebook` and :func:`count_codes`.

>>> DEFAULT_CODEBOOK.is_file() and DEFAULT_CODEBOOK.parent.name == "data"
True
"""

from __future__ import annotations

from .export import codebook_to_dict, count_codes, show_codebook
from .loading import (
    DEFAULT_CODEBOOK,
    LOCAL_CODEBOOK,
    codebook_in_use,
    codebook_problems,
    load_codebook,
    parse_codebook,
)
from .schema import (
    CODE_ID_PATTERN,
    COLOUR_PATTERN,
    LANGUAGE_PATTERN,
    PALETTE,
    RULE_ID_PATTERN,
    RULE_LANG_PATTERN,
    codebook_schema,
)

__all__ = [
    "CODE_ID_PATTERN",
    "COLOUR_PATTERN",
    "DEFAULT_CODEBOOK",
    "LOCAL_CODEBOOK",
    "LANGUAGE_PATTERN",
    "PALETTE",
    "RULE_ID_PATTERN",
    "RULE_LANG_PATTERN",
    "codebook_in_use",
    "codebook_problems",
    "codebook_schema",
    "codebook_to_dict",
    "count_codes",
    "load_codebook",
    "parse_codebook",
    "show_codebook",
]
