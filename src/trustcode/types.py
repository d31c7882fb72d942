"""The domain of trustcode: documents, passages, codebooks, rule hits, codings.

The table column names below are a public contract (see DESIGN.md): outputs, gold files and
every later stage name columns by these constants.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any

# --- table contract -------------------------------------------------------------------------

DOCUMENT_COLUMNS: tuple[str, ...] = ("doc_id", "source", "title", "language", "n_chars", "sha256")
PASSAGE_COLUMNS: tuple[str, ...] = ("doc_id", "passage_id", "index", "start", "end", "text")
CODING_COLUMNS: tuple[str, ...] = (
    "doc_id",
    "passage_id",
    "start",
    "end",
    "code",
    "source",
    "score",
    "evidence",
    "coder",
)
MATRIX_KEY_COLUMNS: tuple[str, ...] = ("doc_id", "passage_id")
SUMMARY_COLUMNS: tuple[str, ...] = ("doc_id", "code", "passages", "share")
TABLE_NAMES: tuple[str, ...] = ("documents", "passages", "codings", "matrix", "summary")

#: Values of the codings table's ``source`` column.
SOURCES: tuple[str, ...] = ("rule", "classifier", "rule+classifier", "human")

#: Segmentation units; ``window:N`` is written with its size.
UNITS: tuple[str, ...] = ("paragraph", "sentence", "window")

#: Combine policies for rules and classifier, per code.
COMBINE_POLICIES: tuple[str, ...] = ("union", "rules_only", "classifier_only", "both")

#: Rule kinds a codebook may use; exactly one of these keys names a rule's kind.
RULE_KINDS: tuple[str, ...] = ("phrases", "lemmas", "globs", "regex", "pattern", "near")


def check_tables(
    tables: Mapping[str, Any],
    required: Mapping[str, tuple[str, ...]],
    *,
    where: str,
    part: str = "",
) -> None:
    """Raise :class:`~trustcode.errors.InputError` unless ``tables`` has each required table
    with its required columns. ``where`` names the caller (``"report"``), ``part`` the input
    (``" of input 2"``).

    >>> check_tables({}, {"passages": ("text",)}, where="report")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    trustcode.errors.InputError: report: there is no 'passages' table (found []). ...
    """
    from .errors import InputError

    for name, columns in required.items():
        if name not in tables:
            raise InputError(
                f"{where}: there is no {name!r} table{part} (found {sorted(tables)}). Expected "
                "the keys documents, passages, codings; fix: read them with read_tables()."
            )
        missing = [c for c in columns if c not in tables[name].columns]
        if missing:
            raise InputError(
                f"{where}: the {name} table{part} lacks column(s) {missing}; it has "
                f"{list(tables[name].columns)}. Fix: use the column names of the table contract "
                "(DESIGN.md)."
            )


def sha256_text(text: str) -> str:
    """Hex SHA-256 of ``text`` encoded as UTF-8.

    >>> sha256_text("")[:8]
    'e3b0c442'
    """
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- documents and passages -----------------------------------------------------------------


@dataclass(frozen=True)
class Document:
    """A document's normalized text and what is known about it.

    ``text`` is the normalized text (``\\n`` line ends, no BOM) that every offset refers to.
    ``source`` is where it came from (a path, or ``path#row`` for a table row).
    """

    doc_id: str
    text: str
    source: str = ""
    title: str = ""
    language: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def sha256(self) -> str:
        return sha256_text(self.text)

    @property
    def n_chars(self) -> int:
        return len(self.text)

    def __reduce__(self) -> tuple[Any, ...]:
        # a read-only metadata view cannot be pickled; worker processes need documents pickled
        return (
            _document,
            (self.doc_id, self.text, self.source, self.title, self.language, dict(self.metadata)),
        )


def _document(
    doc_id: str, text: str, source: str, title: str, language: str | None, metadata: dict[str, Any]
) -> Document:
    return Document(doc_id, text, source, title, language, MappingProxyType(metadata))


@dataclass(frozen=True)
class Passage:
    """A span of a document: ``document.text[start:end] == text``."""

    doc_id: str
    index: int
    start: int
    end: int
    text: str

    @property
    def passage_id(self) -> str:
        return passage_id(self.doc_id, self.index)


def passage_id(doc_id: str, index: int) -> str:
    """The public id of a passage: ``{doc_id}#{index}``.

    >>> passage_id("report", 3)
    'report#3'
    """
    return f"{doc_id}#{index}"


# --- codebook -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """One rule of a code.

    ``kind`` is one of :data:`RULE_KINDS`. ``terms`` holds the phrase, lemma or glob entries
    (``phrases``/``lemmas``/``globs``), ``pattern`` a regular expression string (``regex``) or a
    spaCy token pattern list (``pattern``); ``near`` holds ``(a_terms, b_terms, within)``.
    ``lang`` is a language code or ``"any"``. A ``veto`` rule excludes its code from a passage.
    """

    id: str
    code: str
    kind: str
    lang: str = "any"
    terms: tuple[str, ...] = ()
    pattern: Any = None
    near: tuple[tuple[str, ...], tuple[str, ...], int] | None = None
    veto: bool = False
    case_sensitive: bool = False


@dataclass(frozen=True)
class Code:
    """A code of the codebook; a parent code groups others and usually has no rules."""

    id: str
    label: str
    definition: str = ""
    parent: str | None = None
    include: str = ""
    exclude: str = ""
    colour: str = "#999999"
    combine: str = "union"
    positive_examples: tuple[str, ...] = ()
    negative_examples: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = ()


@dataclass(frozen=True)
class Codebook:
    """A validated codebook. ``codes`` keeps file order; parents come with their children."""

    name: str
    codes: tuple[Code, ...]
    description: str = ""
    version: str = ""
    languages: tuple[str, ...] = ("en",)
    exclusive: bool = False
    redact: tuple[str, ...] = ()
    path: str = ""
    sha256: str = ""

    # computed once per codebook (a frozen dataclass: its codes never change); combining asks
    # for the leaf codes once per passage

    @cached_property
    def code_ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.codes)

    @cached_property
    def parent_ids(self) -> frozenset[str]:
        return frozenset(c.parent for c in self.codes if c.parent)

    @cached_property
    def leaf_codes(self) -> tuple[Code, ...]:
        """Codes that passages are coded with: every code that is no other code's parent."""
        parents = self.parent_ids
        return tuple(c for c in self.codes if c.id not in parents)

    def code(self, code_id: str) -> Code:
        for c in self.codes:
            if c.id == code_id:
                return c
        raise KeyError(code_id)

    @property
    def rules(self) -> tuple[Rule, ...]:
        return tuple(r for c in self.codes for r in c.rules)


# --- coding results -------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleHit:
    """A rule that matched: its id, its code, and the matched span in document offsets."""

    rule_id: str
    code: str
    start: int
    end: int
    text: str
    veto: bool = False


@dataclass(frozen=True)
class Coding:
    """One row of the codings table."""

    doc_id: str
    passage_id: str
    start: int
    end: int
    code: str
    source: str
    score: float | None = None
    evidence: str = ""
    coder: str = "trustcode"


def meets_threshold(score: Any, threshold: Any) -> Any:
    """Whether a classifier score codes a passage with its code: at or above the code's
    threshold. Numbers give a bool; numpy arrays (broadcast as numpy does) give one per element.
    Every place a score becomes a coding asks here, so the rule lives in one place.

    >>> meets_threshold(0.7, 0.7), meets_threshold(0.69, 0.7)
    (True, False)
    """
    return score >= threshold
