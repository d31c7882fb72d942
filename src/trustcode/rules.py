"""Codebook rules -> term index, regexes and spaCy matchers -> rule hits.

A :class:`RuleSet` compiles a codebook's rules once per language, on first use. Text is matched
with its ``ё``/``Ё`` folded to ``е``/``Е``; folding keeps every offset, so hit spans and evidence
come from the original passage text.

Terms. Phrases, lemmas (expanded into their inflected forms when the rules are compiled --
English: spaCy's lookup table from spacy-lookups-data, inverted; Russian: pymorphy3 lexemes --
so no lemmatizer runs), globs and the two sides of proximity rules are all *terms*, found as
whole words in the text, ignoring case:

- a term matches where no letter, digit or ``_`` stands right before or after it, whatever
  spaCy's tokenizer would make of the text: ``not`` is not found in ``cannot`` nor ``km`` in
  ``10km`` (the tokenizer splits both), while ``ovd-info`` is found in ``ovd-info's`` and
  ``doesn`` in ``doesn't`` (an apostrophe ends a word), and a word inside a URL counts;
- white space between a term's words matches any run of white space, line breaks included
  (``prison cell`` matches the two words on two lines); other characters are matched as
  written, so ``OVD-Info`` does not match ``OVD - Info``;
- in phrases and lemmas ``*`` and ``?`` are literal characters; in globs they are wildcards;
- a lemma entry of several words matches any form of each word, in that order, with white
  space between them.

Proximity rules count spaCy tokens between two terms; token patterns run spaCy's ``Matcher``.

Matching must cost little more than tokenizing, so the engine works a batch of passages (one
document) at a time and avoids work it can prove useless. All terms are found in one pass over
the batch's text joined and split at spaces: each distinct chunk and word is classified once
(cached) through a dictionary keyed by its case-insensitive form or a glob's literal start, so
a word costs the same with 50 terms or 5,000 (:class:`_TermIndex`); a term of several words is
searched for only in the passages holding a word for each of its pieces. Nothing is tokenized
for terms. A proximity rule tokenizes only the few chunks of text between an ``a`` and a ``b``
term that may be near enough; a token pattern only the chunks from a place holding one of the
words it starts with. spaCy tokenizes each whitespace-separated chunk on its own, except for
tokenizer exceptions that hold a space (Russian ``вед. науч. сотр.``), for which such stretches
are widened. A regex runs only on the passages holding a string of each part every match of it
needs, found for the whole batch at once. Tests check each of these shortcuts against plain
matching.

A codebook's regular expressions run through the ``regex`` package with a time limit
(:data:`REGEX_TIMEOUT` per rule and passage). A catastrophic pattern raises
:class:`RegexTimeoutError` naming the code, rule and passage instead of hanging the run; it
does not skip the rule, since results must not depend on how fast the machine is.
"""

from __future__ import annotations

import importlib
import re
import threading
import warnings
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache, partial
from itertools import accumulate, count
from operator import add, sub
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import CodebookError, TrustcodeWarning
from .nlp import normalize_language, tokenizer
from .types import RULE_KINDS, Codebook, Passage, Rule, RuleHit

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.matcher import Matcher, PhraseMatcher
    from spacy.tokens import Doc, Span

__all__ = [
    "REGEX_TIMEOUT",
    "ExampleFailure",
    "RegexTimeoutError",
    "RuleSet",
    "check_examples",
    "compile_rules",
    "expand_lemma",
    "fold",
]

_FOLD_TABLE = str.maketrans({"ё": "е", "Ё": "Е"})

#: share of Cyrillic letters from which an example counts as Russian
_CYRILLIC_SHARE = 0.3

#: seconds one regex rule may run on one passage before :class:`RegexTimeoutError`
REGEX_TIMEOUT = 2.0


class RegexTimeoutError(CodebookError):
    """A codebook regex that ran out of time on a passage (catastrophic backtracking).

    The run stops rather than skipping the rule: results that depended on how fast a machine
    is would break "the same inputs give the same tables".
    """


#: languages whose lemmas are expanded into inflected forms
_MORPHOLOGY_LANGUAGES = ("en", "ru")


def fold(text: str) -> str:
    """Fold ``ё``/``Ё`` to ``е``/``Е``, one code point for one, so offsets stay valid.

    >>> fold("Её ёлка")
    'Ее елка'
    """
    if "ё" not in text and "Ё" not in text:  # most text has none; skip the copy
        return text
    return text.translate(_FOLD_TABLE)



# --- lemma expansion --------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _english_forms() -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """spacy-lookups-data's ``lemma_lookup`` inverted: lemma -> its forms as written, and the
    folded lower case of a lemma -> the lemmas that have it.

    Lists, folded only when a codebook asks for a lemma: building a set per lemma of the
    40,000 entries cost a tenth of a second at every start.
    """
    # spaCy's Lookups tables key entries by hash, so the form strings are read from the raw data
    from spacy.util import load_language_data, registry

    try:
        table = load_language_data(registry.lookups.get("en")["lemma_lookup"])
    except (KeyError, ValueError, OSError) as exc:  # RegistryError is a ValueError
        warnings.warn(
            "spacy-lookups-data has no English lemma_lookup table, so English lemmas match only "
            f"as written ({exc}). Reinstall trustcode's dependencies to restore it.",
            TrustcodeWarning,
            stacklevel=3,
        )
        return {}, {}
    forms: dict[str, list[str]] = {}
    for form, lemma in dict(table).items():
        forms.setdefault(lemma, []).append(form)
    spellings: dict[str, list[str]] = {}
    for lemma in forms:
        spellings.setdefault(fold(lemma.lower()), []).append(lemma)
    return forms, spellings


@lru_cache(maxsize=1)
def _morph() -> Any:
    import pymorphy3

    return pymorphy3.MorphAnalyzer()


@lru_cache(maxsize=65536)
def expand_lemma(word: str, language: str) -> frozenset[str]:
    """All lower-case, ``ё``-folded surface forms of the dictionary form ``word``.

    English uses spaCy's lookup table, Russian pymorphy3; other languages (and entries with
    spaces, which are expanded word by word by the rules) give the word itself.

    >>> sorted(expand_lemma("arrest", "en"))
    ['arrest', 'arrested', 'arresting', 'arrests']
    """
    word = word.strip().lower()
    key = fold(word)
    language = normalize_language(language)
    if not key or any(ch.isspace() for ch in key):
        return frozenset({key}) if key else frozenset()
    if language == "en":
        forms, spellings = _english_forms()
        found = {fold(f.lower()) for lemma in spellings.get(key, ()) for f in forms[lemma]}
        return frozenset(found | {key})
    if language == "ru":
        parses = _morph().parse(word)
        # a word form can be read as several lemmas; keep the readings whose lemma is this word
        same = [p for p in parses if fold(p.normal_form) == key] or parses
        return frozenset({fold(form.word) for p in same for form in p.lexeme} | {key})
    return frozenset({key})


# --- regular expressions built from globs -----------------------------------------------------


def _glob_regex(term: str, *, literal: bool = False) -> str:
    """A (folded, stripped) glob as a regex body: ``*`` any letters, ``?`` one letter, spaces
    any whitespace. A ``literal`` term (a phrase, a lemma's form) keeps ``*`` and ``?``."""
    parts: list[str] = []
    for ch in term:
        if ch == "*" and not literal:
            parts.append(r"\w*")
        elif ch == "?" and not literal:
            parts.append(r"\w")
        elif ch.isspace():
            if not parts or parts[-1] != r"\s+":
                parts.append(r"\s+")
        else:
            parts.append(re.escape(ch))
    return "".join(parts)


def _whole_words(bodies: Sequence[str]) -> re.Pattern[str]:
    # lookarounds instead of \b: whole words in any script, also when a term ends in punctuation
    return re.compile(r"(?<!\w)(?:" + "|".join(bodies) + r")(?!\w)", re.IGNORECASE)


_WORD = re.compile(r"\w+")
#: what joins a batch's texts: NUL, which no term holds, as a chunk of its own
_NUL = "\0"
_SEPARATOR = " \0 "
_PIECE = re.compile(r"[\w*?]+")


@lru_cache(maxsize=1)
def _case_classes() -> dict[int, str] | None:
    """Letters that Python's case-insensitive regexes treat as one beyond lower-casing (``i``
    and dotless ``ı``, ``s`` and long ``ſ``, ``σ`` and ``ς``, ...), each mapped to one of
    its class; None when this Python does not say (the index then tries every pattern)."""
    try:
        extra = importlib.import_module("re._casefix")._EXTRA_CASES
    except (ImportError, AttributeError):
        return None
    table: dict[int, str] = {}
    for char, others in extra.items():
        table[char] = chr(min((char, *others)))
    return table


def _case_key(text: str) -> str | None:
    """A key two words share whenever a case-insensitive regex of one matches the other;
    None when lower-casing changes the length (the key would not line up)."""
    classes = _case_classes()
    lowered = text.lower()
    if classes is None or len(lowered) != len(text):
        return None
    return lowered.translate(classes)


class _ChunkIds(dict[str, int]):
    """Chunk -> number: a chunk not seen before gets the next number and is noted as new."""

    def __init__(self) -> None:
        super().__init__()
        self.new: list[str] = []

    def __missing__(self, chunk: str) -> int:
        number = len(self)
        self[chunk] = number
        self.new.append(chunk)
        return number


class _TermIndex:
    """The terms of all phrase, lemma, glob and near rules of a language, found in one pass.

    Scanning a passage once per rule with a regex costs far more than tokenizing it. A term
    that is one word (letters, digits, ``*``, ``?``) always matches a whole run of word
    characters, so each distinct word of the corpus is classified once (cached) against those
    terms. A longer term (with spaces or punctuation) needs a word for each of its pieces: it
    is searched for only in the texts holding all of them (from every word start, when a word
    begins it, so that places overlapping each other all count).

    Matching runs on lower-cased text with case-sensitive patterns that start with a literal
    letter, which Python's regex engine can skip ahead to; when lower-casing would change the
    text's length (a rare letter such as ``İ``), it falls back to case-insensitive patterns.
    """

    #: words classified before the cache starts afresh, so memory stays bounded
    CACHE_SIZE = 200_000
    #: letters a long term's words must start with for the term to wait for them
    TELLING = 4
    #: the shortest string :meth:`watch` watches
    WATCHED_LENGTH = 4

    def __init__(self) -> None:
        self.groups = 0
        #: one-word patterns: (regex body, is a trigger, group or trigger id)
        self._words: list[tuple[str, bool, int]] = []
        #: word pattern id -> the (lower-case) word itself, when it has no wildcard
        self._plain: list[str | None] = []
        #: word patterns by case key: of the whole word (no wildcard) or of its literal start
        self._exact: dict[str, list[int]] = {}
        self._prefix: dict[str, list[int]] = {}
        self._prefix_sizes: list[int] = []
        #: word patterns that begin with a wildcard: tried on every new word
        self._loose: list[int] = []
        #: word pattern id -> its compiled (case-insensitive) regex, compiled on first use
        self._word_regex: dict[int, re.Pattern[str]] = {}
        #: terms of several words (or with punctuation)
        self._long: list[_Long] = []
        #: trigger id (the target of a trigger word pattern) -> (long term id, its slot)
        self._trigger_of: list[tuple[int, int]] = []
        self._always: set[int] = set()
        #: (term id, variant) -> compiled long-term regex, compiled on first use
        self._long_regex: dict[tuple[int, int], re.Pattern[str]] = {}
        #: long term id -> how many of its slots a text must fill before it is searched
        self._need = np.zeros(0, dtype=np.int64)
        #: strings whose texts a batch reports (a regex's required strings): (case-folded or
        #: lower-cased, the string), and a regex that finds a chunk holding any of them
        self._watched: list[tuple[bool, str]] = []
        self._watch_gate: re.Pattern[str] | None = None
        #: group -> the group it is paired with (see :meth:`pair`), and the same as an array
        self._partner: dict[int, int] = {}
        self._partner_of = np.full(1, -1, dtype=np.int64)
        self._lock = threading.Lock()
        self._forget()

    def _forget(self) -> None:
        """Start the caches afresh (when full, and in a copy sent to another process)."""
        #: word -> (groups it is a term of, trigger ids of the long-term slots it may fill)
        self._cache: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {}
        #: space-separated chunk -> its number; NUL, which separates the texts of a batch, is 0
        self._ids = _ChunkIds()
        self._ids[_NUL] = 0
        #: (start in the chunk, end, group) of each word of a chunk that is a term, for each of
        #: its groups: all chunks' in a row, a chunk's from _term_first[number] for
        #: _term_count[number]
        self._term_starts: list[int] = []
        self._term_ends: list[int] = []
        self._term_groups: list[int] = []
        self._term_arrays: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        #: chunks registered so far (chunk 0, the NUL, holds nothing)
        self._registered = 1
        #: by chunk number, the (long term, slot) its words are words of
        #: the (long term, slot) pairs of all chunks, by chunk number from _first[number]
        #: for _count[number]
        self._pair_terms: list[int] = []
        self._pair_slots: list[int] = []
        self._pair_arrays: tuple[np.ndarray, np.ndarray] | None = None
        #: by chunk number: 1 if it holds a term, 2 if it holds a word of a long term; and its
        #: length with the space after it (arrays with room to grow)
        self._flags = np.zeros(1024, dtype=np.uint8)
        self._lens = np.zeros(1024, dtype=np.int64)
        self._lens[0] = len(_NUL) + 1
        self._first = np.zeros(1024, dtype=np.int64)
        self._count = np.zeros(1024, dtype=np.int64)
        self._term_first = np.zeros(1024, dtype=np.int64)
        self._term_count = np.zeros(1024, dtype=np.int64)
        #: by chunk number, the watched strings it holds (as the pairs above)
        self._held: list[int] = []
        self._held_first = np.zeros(1024, dtype=np.int64)
        self._held_count = np.zeros(1024, dtype=np.int64)
        self._held_array: np.ndarray | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for name in ("_lock", "_cache", "_ids", "_term_starts", "_term_ends", "_term_groups",
                     "_term_arrays", "_term_first", "_term_count", "_pair_terms", "_pair_slots",
                     "_pair_arrays", "_flags", "_lens", "_first", "_count", "_held",
                     "_held_first", "_held_count", "_held_array", "_registered"):
            del state[name]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()
        self._forget()

    def add(self, terms: Sequence[str], *, literal: bool = False) -> int:
        """Register a rule's (or a near side's) terms; return the group id their spans get.

        Glob terms read ``*`` and ``?`` as wildcards; ``literal`` terms (phrases, the forms of
        lemmas) are matched as written.
        """
        group = self.new_group()
        self.extend(group, terms, literal=literal)
        return group

    def new_group(self) -> int:
        """A new, empty group id."""
        group = self.groups
        self.groups += 1
        return group

    def extend(self, group: int, terms: Iterable[str], *, literal: bool = False) -> None:
        """Add terms (globs, or ``literal`` ones) to ``group``."""
        piece = _WORD if literal else _PIECE
        for term in terms:
            term = fold(term.strip()).lower()
            if not term:
                continue
            if piece.fullmatch(term):
                self._add_word(term, False, group)
                continue
            # each piece with a letter matches a whole word of the text, so the term is only
            # looked for in texts holding a word for every piece
            pieces = [p for p in piece.findall(term) if p.strip("*?")]
            slots = [[p] for p in dict.fromkeys(pieces)]
            leading = bool(pieces) and term.startswith(pieces[0])
            body = _glob_regex(term, literal=literal)
            self._add_long(group, body, _literal_first(term, literal=literal), slots, leading)

    def extend_regex(
        self, group: int, body: str, words: Sequence[Iterable[str] | None], scan: str | None = None
    ) -> None:
        """Add to ``group`` a term given as a regex body for lower-case text, made of words each
        of which is one of a set of whole words (or, None, of unknown ones); ``scan``, if
        given, is the same whole-word body written to start with a literal (see
        :func:`_literal_first`)."""
        slots = [sorted(set(forms)) for forms in words if forms is not None]
        leading = bool(words) and words[0] is not None
        self._add_long(group, body, scan or r"(?<!\w)(?:" + body + ")", slots, leading)

    def _add_long(
        self, group: int, body: str, scan: str, slots: list[list[str]], leading: bool
    ) -> None:
        """A term of several words: ``slots`` are the word patterns of which the term holds one
        of each; with ``leading``, the term begins at a word of the first.

        The term is searched for only in texts holding a word of each telling slot: one whose
        patterns all start with at least :attr:`TELLING` letters (or else the most telling
        slot). Short words such as "the" or "в" fill slots in nearly every text: tracing them
        to their texts cost more than the searches it saved, and the search checks them anyway.
        """
        term_id = len(self._long)
        telling = [s for s in slots if _slot_weight(s) >= self.TELLING]
        if slots and not telling:
            telling = [max(slots, key=_slot_weight)]
        self._long.append(_Long(group, body, scan, len(telling), leading and bool(slots)))
        for slot, patterns in enumerate(telling):
            for pattern in patterns:
                self._add_word(pattern, True, len(self._trigger_of))
                self._trigger_of.append((term_id, slot))
        if not slots:  # nothing literal to look for first
            self._always.add(term_id)

    def _add_word(self, term: str, trigger: bool, target: int) -> None:
        """Index a one-word glob by the case key of its literal start, so that classifying a
        word costs a few dict lookups however many terms there are."""
        index = len(self._words)
        self._words.append((_glob_regex(term), trigger, target))
        cut = min((i for i, ch in enumerate(term) if ch in "*?"), default=len(term))
        self._plain.append(term if cut == len(term) else None)
        key = _case_key(term[:cut])
        if cut == 0 or key is None:
            self._loose.append(index)
        elif cut == len(term):
            self._exact.setdefault(key, []).append(index)
        else:
            self._prefix.setdefault(key, []).append(index)

    def pair(self, a: int, b: int) -> None:
        """Report groups ``a`` and ``b`` only in the texts where both are found: a proximity
        rule's two sides, which are no evidence on their own (and whose common words would
        otherwise fill the results of most texts)."""
        if a == b or a in self._partner or b in self._partner:
            raise ValueError(
                f"groups {a} and {b} cannot be paired: each pairs once, not with itself"
            )
        self._partner[a] = b
        self._partner[b] = a

    def watch(self, fold_case: bool, string: str) -> int | None:
        """Report the texts of each batch that may hold ``string`` (see :meth:`find_many`);
        its number, or None for a string this index cannot watch.

        A string without white space lies inside one space-separated chunk, so whether a
        chunk holds it is noted once, when the chunk is first seen. The report may name a text
        that does not hold it as written (the index sees ё as е, and lower-cased letters),
        never leave one out; ``fold_case`` strings are compared with case-folded text. A
        string shorter than :attr:`WATCHED_LENGTH` ("a", "the") is in nearly every text:
        tracing it would cost more than it saves.
        """
        if len(string) < self.WATCHED_LENGTH or any(ch.isspace() or ch in "\0ёЁ" for ch in string):
            return None
        key = (fold_case, string if fold_case else string.lower())
        if key in self._watched:
            return self._watched.index(key)
        self._watched.append(key)
        self._forget()  # chunks seen before were not checked for it
        return len(self._watched) - 1

    def finish(self) -> None:
        self._prefix_sizes = sorted({len(key) for key in self._prefix})
        self._partner_of = np.full(max(self.groups, 1), -1, dtype=np.int64)
        for group, partner in self._partner.items():
            self._partner_of[group] = partner
        self._need = np.array([term.slots for term in self._long], dtype=np.int64)
        if self._watched:
            # a gate on case-folded chunks (a string in the lower case of a chunk is, folded,
            # in its folded form too): a plain alternation runs faster than one ignoring case
            forms = {string.casefold() for _, string in self._watched}
            self._watch_gate = re.compile(
                "|".join(map(re.escape, sorted(forms, key=len, reverse=True)))
            )

    def _word_pattern(self, index: int) -> re.Pattern[str]:
        regex = self._word_regex.get(index)
        if regex is None:
            regex = re.compile(self._words[index][0], re.IGNORECASE)
            self._word_regex[index] = regex
        return regex

    def _long_pattern(self, term_id: int, variant: int) -> re.Pattern[str]:
        """A long term's whole-word regex, for lower-cased text (variant 0) or any text (1)."""
        regex = self._long_regex.get((term_id, variant))
        if regex is None:
            term = self._long[term_id]
            if variant == 0:
                regex = re.compile(term.scan + r"(?!\w)")
            else:
                regex = _whole_words([term.body])
            self._long_regex[(term_id, variant)] = regex
        return regex

    def _candidates(self, word: str) -> Iterable[int]:
        """Word patterns that may match ``word``: all with the same case key (or key start)."""
        key = _case_key(word)
        if key is None:  # a letter whose lower case is longer: try them all
            return range(len(self._words))
        found = list(self._exact.get(key, ()))
        for size in self._prefix_sizes:
            if size > len(key):
                break
            found += self._prefix.get(key[:size], ())
        return found + self._loose if self._loose else found

    def _classify(self, words: set[str]) -> None:
        for word in words:
            groups: list[int] = []
            triggers: list[int] = []
            lowered = word.lower()
            for index in self._candidates(word):
                # a word whose lower case is the term matches it; the regex decides the rest
                # (letters such as the long s that only case-insensitive matching joins)
                if lowered == self._plain[index] or self._word_pattern(index).fullmatch(word):
                    _body, trigger, target = self._words[index]
                    (triggers if trigger else groups).append(target)
            self._cache[word] = (tuple(groups), tuple(triggers))

    def _register(self, chunks: list[str]) -> None:
        """Note, for each new space-separated chunk (numbered in this order), its words that
        are terms (with their places in it) and those that are words of long terms."""
        parts = [[(m.start(), m.end(), m.group()) for m in _WORD.finditer(c)] for c in chunks]
        unknown = {word for found in parts for _, _, word in found}
        unknown.difference_update(self._cache)
        if unknown:
            self._classify(unknown)
        first = self._registered
        size = first + len(chunks)
        self._registered = size
        if size > len(self._flags):
            room = max(size, 2 * len(self._flags))
            self._flags = np.resize(self._flags, room)
            self._lens = np.resize(self._lens, room)
            for name in ("_first", "_count", "_term_first", "_term_count", "_held_first",
                         "_held_count"):
                setattr(self, name, np.resize(getattr(self, name), room))
        cache = self._cache
        term_starts, term_ends, term_groups = self._term_starts, self._term_ends, self._term_groups
        for number, (chunk, found) in enumerate(zip(chunks, parts, strict=True), first):
            at = len(term_groups)
            self._term_first[number] = at
            slots: dict[tuple[int, int], None] = {}
            for start, end, word in found:
                groups, triggered = cache[word]
                for group in groups:
                    term_starts.append(start)
                    term_ends.append(end)
                    term_groups.append(group)
                for trigger in triggered:
                    slots[self._trigger_of[trigger]] = None
            terms = len(term_groups) - at
            self._term_count[number] = terms
            self._first[number] = len(self._pair_terms)
            self._count[number] = len(slots)
            for term_id, slot in slots:
                self._pair_terms.append(term_id)
                self._pair_slots.append(slot)
            held = self._holds(chunk) if self._watch_gate is not None else ()
            self._held_first[number] = len(self._held)
            self._held_count[number] = len(held)
            self._held.extend(held)
            self._flags[number] = (1 if terms else 0) | (2 if slots else 0) | (4 if held else 0)
            self._lens[number] = len(chunk) + 1
        self._term_arrays = None
        self._pair_arrays = None
        self._held_array = None

    def _holds(self, chunk: str) -> list[int]:
        """The watched strings in ``chunk``."""
        assert self._watch_gate is not None
        folded = chunk.casefold()
        if self._watch_gate.search(folded) is None:  # the common case: none
            return []
        lowered = chunk.lower()
        return [
            number for number, (fold_case, string) in enumerate(self._watched)
            if string in (folded if fold_case else lowered)
        ]

    def find(self, text: str) -> dict[int, list[tuple[int, int]]]:
        """Group id -> the ``(start, end)`` spans of its terms in ``text`` (folded)."""
        lowered = text.lower()
        if len(lowered) == len(text):
            return self._find_in(lowered, 0, [0])[0][0]
        return self._find_in(text, 1, [0])[0][0]

    def find_many(
        self, texts: Sequence[str], holders: dict[int, set[int]] | None = None
    ) -> list[dict[int, list[tuple[int, int]]]]:
        """:meth:`find` for each of ``texts``, in one pass over them all; with ``holders``,
        also fill it with watched string -> the indexes of the texts that may hold it.

        The texts are joined with a NUL between spaces, which no term can match or cross (terms
        hold letters, spaces and punctuation; a text holding NUL itself is searched on its own),
        and found spans are mapped back to their text. One pass costs a few C calls for the
        whole batch instead of a dozen Python steps per passage.
        """
        results: list[dict[int, list[tuple[int, int]]]] = [{} for _ in texts]
        batch: list[int] = []
        pieces: list[str] = []
        for i, text in enumerate(texts):
            lowered = text.lower()
            if len(lowered) != len(text) or "\0" in text:
                results[i] = self.find(text)  # rare: its own, case-insensitive search
                if holders is not None:  # not looked at: it may hold any string
                    for string in range(len(self._watched)):
                        holders.setdefault(string, set()).add(i)
            else:
                batch.append(i)
                pieces.append(lowered)
        if not batch:
            return results
        starts: list[int] = []
        offset = 0
        for piece in pieces:
            starts.append(offset)
            offset += len(piece) + len(_SEPARATOR)
        joined = _SEPARATOR.join(pieces)
        found_in, held = self._find_in(joined, 0, starts)
        for i, found in zip(batch, found_in, strict=True):
            results[i] = found
        if holders is not None:
            for string, which in held.items():
                holders.setdefault(string, set()).update(batch[w] for w in which)
        return results

    def _find_in(
        self, haystack: str, variant: int, starts: Sequence[int]
    ) -> tuple[list[dict[int, list[tuple[int, int]]]], dict[int, set[int]]]:
        """Spans by group in each text joined (with NUL) in ``haystack``, which holds lower-cased
        text (variant 0) or any text (1); ``starts`` are the texts' offsets in it. And the texts
        holding each watched string.

        The batch is split at spaces once and each chunk turned into its number (a new chunk is
        classified once, then cached); what a chunk holds, its length and its text are then
        looked up for all chunks at once with numpy, and Python visits only the chunks that hold
        a term. (One lock per index: the chunk numbers must not be renumbered mid-batch.)
        """
        with self._lock:
            if len(self._ids) >= self.CACHE_SIZE or len(self._cache) >= self.CACHE_SIZE:
                self._forget()
            chunks = haystack.split(" ")
            ids = self._ids
            # a list first: numpy pulling from the map item by item costs twice as much
            numbers = np.array(list(map(ids.__getitem__, chunks)), dtype=np.int64)
            if ids.new:
                self._register(ids.new)
                ids.new = []
            return self._spans(haystack, variant, starts, numbers)

    def _spans(
        self, haystack: str, variant: int, starts: Sequence[int], numbers: np.ndarray
    ) -> tuple[list[dict[int, list[tuple[int, int]]]], dict[int, set[int]]]:
        results: list[dict[int, list[tuple[int, int]]]] = [{} for _ in starts]
        flags = self._flags[numbers]
        # the text of each chunk: how many NUL separators stand before it
        text_of = np.cumsum(numbers == 0) if len(starts) > 1 else None
        held = self._holders(numbers, text_of) if self._watched else {}
        found = self._long_spans(haystack, variant, starts, numbers, flags, text_of)
        texts, groups, begins, ends = self._word_spans(starts, numbers, flags, text_of)
        width = max(self.groups, 1)
        keys = texts * width + groups
        if self._partner:
            # a paired group only counts in the texts where its partner is found too
            long_keys = np.array([which * width + group for which, group, _ in found], np.int64)
            present = np.unique(np.concatenate([keys, long_keys]))
            wanted = self._beside(keys, groups, present, width)
            keys, begins, ends = keys[wanted], begins[wanted], ends[wanted]
            if found:
                kept = self._beside(long_keys, long_keys % width, present, width).tolist()
                found = [item for item, keep in zip(found, kept, strict=True) if keep]
        if len(keys):
            # one run of spans (in order of place) per text and group
            order = np.argsort(keys, kind="stable")
            keys = keys[order]
            spans = list(zip(begins[order].tolist(), ends[order].tolist(), strict=True))
            cuts = [0, *(np.flatnonzero(keys[1:] != keys[:-1]) + 1).tolist(), len(keys)]
            for key, low, high in zip(keys[cuts[:-1]].tolist(), cuts[:-1], cuts[1:], strict=True):
                results[key // width][key % width] = spans[low:high]
        for which, group, term_spans in found:
            results[which].setdefault(group, []).extend(term_spans)
        return results, held

    def _beside(
        self, keys: np.ndarray, groups: np.ndarray, present: np.ndarray, width: int
    ) -> np.ndarray:
        """Which (text * width + group) ``keys`` to report: those of unpaired groups, and those
        of paired ones whose partner is ``present`` (sorted keys) in the same text."""
        if len(self._partner_of) < self.groups:  # groups added since :meth:`finish`
            self.finish()
        partner = self._partner_of[groups]
        wanted = partner < 0
        paired = np.flatnonzero(~wanted)
        if len(paired) and len(present):
            sought = keys[paired] - groups[paired] + partner[paired]
            at = np.minimum(np.searchsorted(present, sought), len(present) - 1)
            wanted[paired] = present[at] == sought
        return wanted

    def _word_spans(
        self, starts: Sequence[int], numbers: np.ndarray, flags: np.ndarray,
        text_of: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The texts, groups, starts and ends of the one-word terms of a batch's chunks, in
        order of place: each chunk's entries, shifted to where the chunk stands in its text."""
        matched = np.flatnonzero(flags & 1)
        if self._term_arrays is None:
            self._term_arrays = (np.array(self._term_starts, dtype=np.int64),
                                 np.array(self._term_ends, dtype=np.int64),
                                 np.array(self._term_groups, dtype=np.int64))
        term_starts, term_ends, term_groups = self._term_arrays
        lengths = self._lens[numbers]
        text_at = _texts_at(text_of, matched)
        offsets = (np.cumsum(lengths)[matched] - lengths[matched]
                   - np.asarray(starts, np.int64)[text_at])
        chunks = numbers[matched]
        repeat = self._term_count[chunks]
        steps = np.arange(int(repeat.sum())) - np.repeat(np.cumsum(repeat) - repeat, repeat)
        index = np.repeat(self._term_first[chunks], repeat) + steps
        shift = np.repeat(offsets, repeat)
        return (np.repeat(text_at, repeat), term_groups[index],
                term_starts[index] + shift, term_ends[index] + shift)

    def _long_spans(
        self, haystack: str, variant: int, starts: Sequence[int], numbers: np.ndarray,
        flags: np.ndarray, text_of: np.ndarray | None,
    ) -> list[tuple[int, int, list[tuple[int, int]]]]:
        """(text, group, spans) of the long terms found in a batch, each searched for only in
        the texts holding a word of each of its telling slots."""
        #: long terms to search for, and in which texts (None: everywhere)
        scan: dict[int, list[int] | None] = dict.fromkeys(self._always)
        triggering = np.flatnonzero(flags & 2)
        if len(triggering):
            scan.update(self._long_candidates(numbers[triggering], text_of, triggering))
        found: list[tuple[int, int, list[tuple[int, int]]]] = []
        size = len(haystack)
        for term_id in sorted(scan):
            term = self._long[term_id]
            regex = self._long_pattern(term_id, variant)
            texts = scan[term_id]
            for which in range(len(starts)) if texts is None else texts:
                # a text ends where the NUL before the next one stands
                base = starts[which]
                end = starts[which + 1] - len(_SEPARATOR) if which + 1 < len(starts) else size
                if not term.leading:
                    spans = [
                        (m.start() - base, m.end() - base)
                        for m in regex.finditer(haystack, base, end)
                        if m.end() > m.start()
                    ]
                else:
                    # a term found at every word it may begin with, so overlapping places count
                    spans = []
                    m = regex.search(haystack, base, end)
                    while m is not None:
                        if m.end() > m.start():
                            spans.append((m.start() - base, m.end() - base))
                        m = regex.search(haystack, m.start() + 1, end)
                if spans:
                    found.append((which, term.group, spans))
        return found

    def _holders(self, numbers: np.ndarray, text_of: np.ndarray | None) -> dict[int, set[int]]:
        """Watched string -> the texts of the batch whose chunks hold it."""
        places = np.flatnonzero(self._flags[numbers] & 4)
        if not len(places):
            return {}
        if self._held_array is None:
            self._held_array = np.array(self._held, dtype=np.int64)
        texts, index = self._entries(
            numbers[places], _texts_at(text_of, places), self._held_first, self._held_count
        )
        width = int(texts.max()) + 1 if len(texts) else 1
        return {key: set(found) for key, found in
                _texts_by_key(self._held_array[index], texts, width).items()}

    def _long_candidates(
        self, numbers: np.ndarray, text_of: np.ndarray | None, places: np.ndarray
    ) -> dict[int, list[int]]:
        """Long term -> the texts (in order) that hold a word of each of its slots, given the
        numbers of the chunks holding some long term's word, at ``places`` in the batch
        (``text_of`` gives each place's text; None: one text). All in numpy: (text, chunk)
        pairs, then (term, text, slot) triples, then the (term, text) pairs with every slot
        filled."""
        if self._pair_arrays is None:
            self._pair_arrays = (np.array(self._pair_terms, dtype=np.int64),
                                 np.array(self._pair_slots, dtype=np.int64))
        terms, slot_of = self._pair_arrays
        text_rows, index = self._entries(
            numbers, _texts_at(text_of, places), self._first, self._count
        )
        n_texts = int(text_rows.max()) + 1 if len(text_rows) else 1
        n_slots = int(slot_of.max()) + 1 if len(slot_of) else 1
        triples = np.unique((terms[index] * n_texts + text_rows) * n_slots + slot_of[index])
        term_texts, filled = np.unique(triples // n_slots, return_counts=True)
        term_ids = term_texts // n_texts
        complete = filled >= self._need[term_ids]
        return _runs(term_ids[complete], term_texts[complete] % n_texts)

    def _entries(
        self, chunks: np.ndarray, texts: np.ndarray, first: np.ndarray, count: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """For each distinct (text, chunk number) of ``texts`` and ``chunks``, one row per
        entry the chunk has in a flat per-chunk array (``count[chunk]`` entries from
        ``first[chunk]``): the rows' texts, and the entries' indexes in that array."""
        width = len(self._ids)
        pairs = np.unique(texts * width + chunks)
        chunk_of = pairs % width
        repeat = count[chunk_of]
        steps = np.arange(int(repeat.sum())) - np.repeat(np.cumsum(repeat) - repeat, repeat)
        return np.repeat(pairs // width, repeat), np.repeat(first[chunk_of], repeat) + steps


def _texts_at(text_of: np.ndarray | None, places: np.ndarray) -> np.ndarray:
    """The text of each of a batch's chunks at ``places`` (None: a batch of one text)."""
    return text_of[places] if text_of is not None else np.zeros(len(places), np.int64)


def _texts_by_key(keys: np.ndarray, texts: np.ndarray, width: int) -> dict[int, list[int]]:
    """Key -> the distinct texts (below ``width``, in order) paired with it, from two parallel
    arrays."""
    pairs = np.unique(keys * width + texts)
    return _runs(pairs // width, pairs % width)


def _runs(keys: np.ndarray, values: np.ndarray) -> dict[int, list[int]]:
    """Key -> its values, from parallel arrays sorted by key: one slice per run of a key."""
    if not len(keys):
        return {}
    bounds = [0, *(np.flatnonzero(keys[1:] != keys[:-1]) + 1).tolist(), len(keys)]
    found = values.tolist()
    return {
        key: found[low:high]
        for key, low, high in zip(keys[bounds[:-1]].tolist(), bounds[:-1], bounds[1:], strict=True)
    }


def _slot_weight(patterns: Sequence[str]) -> int:
    """How telling a slot of a long term is: the literal letters its shortest word pattern
    starts with (a longer word is rarer; ``*`` and ``?`` match anything)."""
    return min(len(re.split(r"[*?]", pattern, maxsplit=1)[0]) for pattern in patterns)


@dataclass(frozen=True)
class _Long:
    """A term of several words (or with punctuation), found by a regex where its words are."""

    group: int
    #: regex body for lower-case text, and the same whole-word with a literal first letter
    body: str
    scan: str
    #: how many word slots must all be found in a text before the regex runs on it
    slots: int
    #: the first slot's words begin the term: it is looked for from every word start, so
    #: that places overlapping each other all count
    leading: bool


def _literal_first(term: str, *, literal: bool = False) -> str:
    """A whole-word regex body for a lower-case glob that begins with its literal first word.

    ``word(?<!\\wword)`` means the same as ``(?<!\\w)word`` but lets the regex engine skip
    ahead to where the whole literal start stands, instead of trying the rest of the pattern
    at every position (or at every place of its first letter).
    """
    cut = 0
    while cut < len(term) and not term[cut].isspace() and (literal or term[cut] not in "*?"):
        cut += 1
    if cut == 0:
        return r"(?<!\w)" + _glob_regex(term, literal=literal)
    head = re.escape(term[:cut])
    return head + r"(?<!\w" + head + ")" + _glob_regex(term[cut:], literal=literal)


def _fold_pattern(value: Any) -> Any:
    """Fold every string inside a token pattern, since tokens are matched on folded text."""
    if isinstance(value, str):
        return fold(value)
    if isinstance(value, dict):
        return {k: _fold_pattern(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_fold_pattern(v) for v in value]
    return value


def _spec_words(spec: Any) -> frozenset[str] | None:
    """Lower-case words of which a token must be one to match ``spec``, if it names them.

    Only specs that must match at least once (no ``OP``, or ``+``) with a literal
    ``LOWER``/``ORTH``/``TEXT`` value or ``IN`` list of strings name them.
    """
    if not isinstance(spec, dict):
        return None
    upper = {str(k).upper(): v for k, v in spec.items()}
    if upper.get("OP", "+") != "+":
        return None
    for attr in ("LOWER", "ORTH", "TEXT"):
        value = upper.get(attr)
        if isinstance(value, str):
            return frozenset({value.lower()})
        if isinstance(value, dict) and isinstance(value.get("IN"), list | tuple):
            values = value["IN"]
            if values and all(isinstance(v, str) for v in values):
                return frozenset(v.lower() for v in values)
    return None


def _pattern_length(pattern: list[Any]) -> int | None:
    """The most tokens ``pattern`` can match, or None when unbounded (``+``, ``*``, ``{n,}``)."""
    total = 0
    for spec in pattern:
        if not isinstance(spec, dict):
            return None
        op = {str(k).upper(): v for k, v in spec.items()}.get("OP")
        if op is None or op in ("!", "?", "1"):
            total += 1
            continue
        bounded = re.fullmatch(r"\{(?:\d*,)?(\d+)\}", str(op))
        if bounded is None:
            return None
        total += int(bounded.group(1))
    return total


def _split_first_in(pattern: list[Any]) -> list[list[Any]]:
    """``[{LOWER: {IN: [a, b]}}, ...]`` as ``[{LOWER: a}, ...]`` and ``[{LOWER: b}, ...]``.

    spaCy's Matcher checks a literal first token in C but calls Python for an ``IN`` set on
    every token, so a pattern that starts with one is split into one pattern per value; the
    matches are the same.
    """
    first = pattern[0] if pattern else None
    if not isinstance(first, dict) or len(first) != 1:
        return [pattern]
    ((attr, value),) = first.items()
    if str(attr).upper() not in ("LOWER", "ORTH", "TEXT") or not isinstance(value, dict):
        return [pattern]
    values = value.get("IN")
    if len(value) != 1 or not isinstance(values, list | tuple) or not values:
        return [pattern]
    if not all(isinstance(v, str) for v in values):
        return [pattern]
    return [[{attr: v}, *pattern[1:]] for v in dict.fromkeys(values)]


def _required_strings(pattern: str, flags: int) -> list[frozenset[str]] | None:
    """Sets of strings such that every match of the regex contains one string of each set
    (case-folded with IGNORECASE).

    A cheap ``in`` test over the passage then skips the regex in most passages. None when no
    such strings can be read off the pattern (or Python's parser changed: it is private).
    """
    try:
        sre = importlib.import_module("re._constants")
        sre_parse = importlib.import_module("re._parser")
        items = list(sre_parse.parse(pattern, flags))
    except Exception:  # noqa: BLE001 - any failure only costs speed
        return None
    ignore_case = bool(flags & re.IGNORECASE)

    def of_sequence(items: list[Any]) -> frozenset[str] | None:
        options = every_of_sequence(items)
        # the best option is the one whose shortest string is longest: the rarest to occur
        return max(options, key=lambda o: min(len(x) for x in o), default=None)

    def every_of_sequence(items: list[Any]) -> list[frozenset[str]]:
        options: list[frozenset[str]] = []
        run: list[str] = []
        for op, arg in [*items, (None, None)]:
            if op is sre.LITERAL:
                run.append(chr(arg))
                continue
            if run:
                text = "".join(run)
                wanted = text.casefold() if ignore_case else text
                # a letter whose case-folding is longer (ß, İ) may match in ways "in" cannot see
                if len(wanted) == len(text):
                    options.append(frozenset({wanted}))
                run = []
            found = None if op is None else of_item(op, arg)
            if found:
                options.append(found)
        return options

    def of_item(op: Any, arg: Any) -> frozenset[str] | None:
        if op is sre.SUBPATTERN:
            _group, add_flags, del_flags, sub = arg
            if (add_flags | del_flags) & re.IGNORECASE:
                return None
            return of_sequence(list(sub))
        if op is sre.BRANCH:
            branches = [of_sequence(list(alt)) for alt in arg[1]]
            if any(b is None for b in branches):
                return None
            return frozenset().union(*(b for b in branches if b is not None))
        if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, getattr(sre, "POSSESSIVE_REPEAT", None)):
            low, _high, sub = arg
            return of_sequence(list(sub)) if low >= 1 else None
        return None

    found = [option for option in every_of_sequence(items) if all(option)]
    return found or None


def _bounded_regex(pattern: re.Pattern[str]) -> Any:
    """``pattern`` compiled by the ``regex`` package (which can stop after a timeout), or None
    when that package is missing or reads the pattern differently; the rule then runs
    unbounded on Python's ``re``."""
    try:
        import regex
    except ImportError:
        return None
    flags = regex.VERSION0 | (regex.IGNORECASE if pattern.flags & re.IGNORECASE else 0)
    try:
        return regex.compile(pattern.pattern, flags)
    except regex.error:
        return None


def _where(codebook: Codebook, rule: Rule) -> str:
    return f"{codebook.path or 'codebook'}: code {rule.code!r}, rule {rule.id!r}"


# --- compiled state ---------------------------------------------------------------------------


@dataclass
class _Near:
    index: int
    a: int  # term-index group of the a terms
    b: int
    within: int


@dataclass
class _Compiled:
    """The compiled rules of one language."""

    language: str
    terms: _TermIndex = field(default_factory=_TermIndex)
    #: term-index group -> rule index, for glob, phrase and lemma rules
    term_rules: dict[int, int] = field(default_factory=dict)
    #: (rule index, regex, sets of strings such that a match contains one of each, or None);
    #: a string is paired with True when it is case-folded (the regex ignores case)
    regexes: list[
        tuple[int, re.Pattern[str], tuple[frozenset[tuple[bool, str]], ...] | None]
    ] = field(default_factory=list)
    #: a regex's required string -> its number among the term index's watched strings
    watched: dict[tuple[bool, str], int] = field(default_factory=dict)
    #: near rules by the term-index group of their a terms
    nears: dict[int, list[_Near]] = field(default_factory=dict)
    #: token-pattern rules, when the codebook has some for this language
    patterns: _Patterns | None = None
    #: the blank pipeline, built on first need (token patterns, proximity distances)
    nlp: Language | None = None
    #: the most whitespace-separated chunks one token covers: 1, except where a tokenizer
    #: exception holds a space (Russian "вед. науч. сотр." is one token)
    span: int = 1
    #: chunks a region of text is widened by on each side so that its tokens are those of the
    #: whole passage (an exception there may join the region's first or last chunks)
    margin: int = 0

    def tokenizer(self) -> Language:
        if self.nlp is None:
            nlp = tokenizer(self.language)
            rules = getattr(nlp.tokenizer, "rules", None) or {}
            self.span = max(1, max((len(key.split()) for key in rules), default=1))
            self.margin = 2 * (self.span - 1)
            self.nlp = nlp
        return self.nlp


@dataclass
class _Patterns:
    """Token patterns: spaCy Matchers, run on a Doc of the passages that may hold a match."""

    #: one-word phrases whose tokens tell where (or whether) a pattern can match
    anchors: PhraseMatcher
    #: match_id (a vocab string hash) -> rule index
    keys: dict[int, int] = field(default_factory=dict)
    #: one Matcher for all patterns, when they are not all run in windows
    tokens: Matcher | None = None
    #: PhraseMatcher keys of word lists; a token pattern can only match when all of its are found
    required: list[frozenset[int]] = field(default_factory=list)
    #: anchor key -> (Matcher of the patterns that start with its word, their longest length),
    #: when every pattern starts with a literal word and has a bounded length
    windows: dict[int, tuple[Matcher, int]] | None = None
    #: the most tokens a window holds
    longest: int = 0
    #: case-folded anchor words: a passage holding none of them (as a string) needs no Doc;
    #: None when some pattern names no word (every passage needs one)
    gate: set[str] | None = field(default_factory=set)


def _add_token_patterns(
    compiled: _Compiled, patterns: list[tuple[str, int, list[dict[str, Any]]]]
) -> None:
    """Build the Matcher(s) for token patterns, and the words that tell when to run them.

    spaCy's Matcher walks every token in Python and tries every pattern at each, which costs
    several times the tokenizer. When every pattern starts with a literal word and has a bounded
    length, each such word gets a Matcher of its own patterns, run only on the few tokens from
    where the word stands (found by the C-fast PhraseMatcher). Otherwise one Matcher runs on the
    passages that hold all the literal words of some pattern. Either way a passage whose text
    holds none of the words is not tokenized at all.
    """
    from spacy.matcher import Matcher, PhraseMatcher
    from spacy.tokens import Doc

    if not patterns:
        return
    vocab = compiled.tokenizer().vocab
    state = _Patterns(anchors=PhraseMatcher(vocab, attr="LOWER"))
    for key, index, _ in patterns:
        state.keys[vocab.strings.add(key)] = index
    keys: dict[frozenset[str], int] = {}

    def key_of(words: frozenset[str]) -> int:
        if words not in keys:
            key = f"trustcode-anchor-{len(keys)}"
            keys[words] = vocab.strings.add(key)
            # one-word docs: a pattern's value is one token, however it would tokenize
            state.anchors.add(key, [Doc(vocab, words=[w]) for w in sorted(words)])
            if state.gate is not None:
                state.gate.update(w.casefold() for w in words)
        return keys[words]

    firsts = [_spec_words(p[0]) if p else None for _, _, p in patterns]
    lengths = [_pattern_length(p) for _, _, p in patterns]
    if all(firsts) and all(n is not None for n in lengths):
        by_word: dict[int, list[tuple[str, list[dict[str, Any]], int]]] = {}
        for (key, _, pattern), first, length in zip(patterns, firsts, lengths, strict=True):
            by_word.setdefault(key_of(first or frozenset()), []).append((key, pattern, length or 0))
        state.windows = {}
        for anchor, items in by_word.items():
            matcher = Matcher(vocab)
            for key, pattern, _ in items:
                matcher.add(key, [pattern])
            state.windows[anchor] = (matcher, max(n for _, _, n in items))
        state.longest = max(n for _, n in state.windows.values())
    else:
        matcher = Matcher(vocab)
        for key, _, pattern in patterns:
            matcher.add(key, [pattern])
            required = [w for w in map(_spec_words, pattern) if w is not None]
            if not required:
                state.gate = None
            elif state.gate is not None:
                state.required.append(frozenset(key_of(words) for words in required))
        state.tokens = matcher
    compiled.patterns = state


class RuleSet:
    """A codebook's rules, compiled lazily per language into a term index, regexes and matchers.

    >>> from trustcode.types import Code, Codebook, Passage, Rule
    >>> rule = Rule(id="arrests.lemmas-1", code="arrests", kind="lemmas", terms=("arrest",))
    >>> book = Codebook(name="demo", codes=(Code(id="arrests", label="Arrests", rules=(rule,)),))
    >>> hits = RuleSet(book).match([Passage("d", 0, 0, 19, "Two were arrested.")], "en")
    >>> [(h.rule_id, h.text, h.start, h.end) for h in hits[0]]
    [('arrests.lemmas-1', 'arrested', 9, 17)]
    """

    def __init__(self, codebook: Codebook, *, regex_timeout: float | None = REGEX_TIMEOUT) -> None:
        self.codebook = codebook
        self.rules: tuple[Rule, ...] = codebook.rules
        #: (rule id, code, veto) by rule index: what each hit copies
        self._hit_info = [(r.id, r.code, r.veto) for r in self.rules]
        self._compiled: dict[str, _Compiled] = {}
        # language-independent parts are compiled now, so a bad regex fails at construction
        self._regex: dict[int, re.Pattern[str]] = {}
        #: the same regexes compiled by the ``regex`` package, whose matching takes a timeout
        self._bounded: dict[int, Any] = {}
        #: seconds one regex rule may run on one passage (None: unbounded)
        self.regex_timeout: float | None = regex_timeout
        for index, rule in enumerate(self.rules):
            self._prepare(index, rule)

    def __getstate__(self) -> dict[str, Any]:
        # matchers hold a language's vocab; worker processes rebuild them on first use
        state = self.__dict__.copy()
        state["_compiled"] = {}
        return state

    def _prepare(self, index: int, rule: Rule) -> None:
        if rule.kind not in RULE_KINDS:
            raise CodebookError(
                f"{_where(self.codebook, rule)}: unknown rule kind {rule.kind!r}. "
                f"Expected one of {', '.join(RULE_KINDS)}; rename the rule's key."
            )
        if rule.kind == "regex":
            if not isinstance(rule.pattern, str) or not rule.pattern:
                raise CodebookError(
                    f"{_where(self.codebook, rule)}: a regex rule needs a non-empty regular "
                    f"expression string, found {rule.pattern!r}. Write it as a quoted string."
                )
            flags = 0 if rule.case_sensitive else re.IGNORECASE
            try:
                self._regex[index] = re.compile(rule.pattern, flags)
            except re.error as exc:
                raise CodebookError(
                    f"{_where(self.codebook, rule)}: the regex {rule.pattern!r} does not compile "
                    f"({exc}). Expected a Python regular expression; fix it or escape special "
                    "characters with a backslash."
                ) from exc
            if self.regex_timeout is not None:
                self._bounded[index] = _bounded_regex(self._regex[index])
        elif rule.kind == "globs":
            if not any(t.strip() for t in rule.terms):
                self._warn_empty(rule)
        elif rule.kind == "near":
            if rule.near is None:
                raise CodebookError(
                    f"{_where(self.codebook, rule)}: a near rule needs a, b and within, found "
                    "none. Write it as near: {a: [...], b: [...], within: N}."
                )
            a_terms, b_terms, within = rule.near
            if not isinstance(within, int) or within < 0:
                raise CodebookError(
                    f"{_where(self.codebook, rule)}: near.within must be an int in [0, inf), "
                    f"found {within!r}. Give the largest number of tokens allowed in between."
                )
            if not any(t.strip() for t in a_terms) or not any(t.strip() for t in b_terms):
                self._warn_empty(rule)

    def _warn_empty(self, rule: Rule) -> None:
        warnings.warn(
            f"{_where(self.codebook, rule)}: the rule has no terms and never matches; add terms "
            "or remove it.",
            TrustcodeWarning,
            stacklevel=4,
        )

    def prepare(self, language: str | None) -> None:
        """Compile the rules of ``language`` now rather than on the first match (say, before
        worker processes fork, so that they inherit the compiled matchers).

        >>> RuleSet(Codebook(name="empty", codes=())).prepare("en")
        """
        compiled = self._compile(normalize_language(language))
        if compiled.nears:  # proximity rules tokenize: load the tokenizer now too
            compiled.tokenizer()

    # --- per-language compilation ---------------------------------------------------------

    def _compile(self, language: str) -> _Compiled:
        compiled = self._compiled.get(language)
        if compiled is not None:
            return compiled
        compiled = _Compiled(language=language)
        lemma_rules_without_morphology: list[str] = []
        token_patterns: list[tuple[str, int, list[dict[str, Any]]]] = []
        for index, rule in enumerate(self.rules):
            if rule.lang.strip().lower() not in ("any", language):
                continue
            if rule.kind == "phrases":
                terms = [t for t in rule.terms if t.strip()]
                if not terms:
                    self._warn_empty(rule)
                    continue
                compiled.term_rules[compiled.terms.add(terms, literal=True)] = index
            elif rule.kind == "lemmas":
                if language not in _MORPHOLOGY_LANGUAGES:
                    lemma_rules_without_morphology.append(rule.id)
                compiled.term_rules[self._add_lemmas(compiled.terms, rule, language)] = index
            elif rule.kind == "pattern":
                key = f"trustcode-rule-{index}"
                token_patterns += [(key, index, p) for p in self._add_pattern(compiled, key, rule)]
            elif rule.kind == "regex":
                regex = self._regex[index]
                options = _required_strings(regex.pattern, regex.flags)
                ignore_case = bool(regex.flags & re.IGNORECASE)
                required = None
                if options is not None:
                    # the set whose shortest string is longest first: the rarest, likely
                    options.sort(key=lambda o: -min(map(len, o)))
                    required = tuple(frozenset((ignore_case, s) for s in o) for o in options)
                    for wanted in {string for option in required for string in option}:
                        number = compiled.terms.watch(*wanted)
                        if number is not None:
                            compiled.watched[wanted] = number
                compiled.regexes.append((index, regex, required))
            elif rule.kind == "globs":
                compiled.term_rules[compiled.terms.add(rule.terms)] = index
            elif rule.kind == "near" and rule.near is not None:
                a_terms, b_terms, within = rule.near
                a, b = compiled.terms.add(a_terms), compiled.terms.add(b_terms)
                compiled.terms.pair(a, b)
                compiled.nears.setdefault(a, []).append(_Near(index, a, b, within))
        if lemma_rules_without_morphology:
            warnings.warn(
                f"{self.codebook.path or 'codebook'}: trustcode has no inflection data for "
                f"language {language!r}, so lemma rules {', '.join(lemma_rules_without_morphology)}"
                " match their words only as written. Add the inflected forms as phrases or globs.",
                TrustcodeWarning,
                stacklevel=3,
            )
        _add_token_patterns(compiled, token_patterns)
        if compiled.patterns is not None and compiled.patterns.gate:
            # the term index notes the chunks holding a pattern's words, as a regex's strings
            for word in compiled.patterns.gate:
                number = compiled.terms.watch(True, word)
                if number is not None:
                    compiled.watched[(True, word)] = number
        compiled.terms.finish()
        self._compiled[language] = compiled
        return compiled

    def _add_lemmas(self, terms: _TermIndex, rule: Rule, language: str) -> int:
        """Add a lemma rule's words, as the term group it returns.

        A one-word entry adds its forms as literal terms. An entry of several words becomes one
        term: any form of each word, the words separated by white space, found where a form of
        the first word stands. Listing every combination of the words' forms would explode.
        """
        group = terms.new_group()
        single: set[str] = set()
        several = False
        for entry in rule.terms:
            words = fold(entry.strip().lower()).split()
            if len(words) == 1:
                single |= expand_lemma(words[0], language)
            elif words:
                forms = [expand_lemma(w, language) if w.isalpha() else {w} for w in words]
                body = r"\s+".join(_alternatives(f) for f in forms)
                words_of = [f if all(_WORD.fullmatch(w) for w in f) else None for f in forms]
                scan = r"\s+".join([_alternatives(forms[0], whole=True),
                                    *(_alternatives(f) for f in forms[1:])])
                terms.extend_regex(group, body, words_of, scan)
                several = True
        if not single and not several:
            self._warn_empty(rule)
        terms.extend(group, sorted(single), literal=True)
        return group

    def _add_pattern(self, compiled: _Compiled, key: str, rule: Rule) -> list[list[dict[str, Any]]]:
        """Check a token-pattern rule; return its (folded) patterns for the Matcher."""
        from spacy.matcher import Matcher

        pattern = rule.pattern
        if not isinstance(pattern, list | tuple) or not pattern:
            raise CodebookError(
                f"{_where(self.codebook, rule)}: a pattern rule needs a non-empty list of token "
                f"specs, found {pattern!r}. Write it as [{{LOWER: word}}, ...]."
            )
        folded = _fold_pattern(list(pattern))
        try:
            Matcher(compiled.tokenizer().vocab, validate=True).add(key, [folded])
        except ValueError as exc:  # spaCy's MatchPatternError is a ValueError
            raise CodebookError(
                f"{_where(self.codebook, rule)}: the token pattern is not valid for spaCy's "
                f"Matcher: {exc}. Fix the attribute names and operators (LOWER, TEXT, IN, OP, ...)."
            ) from exc
        return _split_first_in(folded)

    # --- matching ---------------------------------------------------------------------------

    def match(self, passages: Sequence[Passage], language: str | None) -> list[list[RuleHit]]:
        """Each passage's rule hits, in document offsets, sorted by (start, end, rule id).

        >>> from trustcode.types import Code
        >>> rule = Rule(id="c.globs-1", code="c", kind="globs", terms=("prosecut*",))
        >>> ruleset = RuleSet(Codebook(name="x", codes=(Code(id="c", label="C", rules=(rule,)),)))
        >>> hits = ruleset.match([Passage("d", 0, 5, 16, "prosecutors")], "en")[0]
        >>> [(h.text, h.start) for h in hits]
        [('prosecutors', 5)]
        """
        compiled = self._compile(normalize_language(language))
        folded = [fold(p.text) for p in passages]
        # terms and regexes are searched for the whole batch at once; only the passages that
        # may hold a token pattern's match are tokenized, and proximity rules tokenize only the
        # stretch of text between two terms that may be near enough
        # the term index also tells which passages hold the strings the regexes require
        holders: dict[int, set[int]] | None = {} if compiled.watched else None
        term_spans = (
            compiled.terms.find_many(folded, holders)
            if compiled.terms.groups or holders is not None else None
        )
        regex_spans = (
            self._regex_batch(compiled, passages, holders) if compiled.regexes else None
        )
        token_spans = _pattern_batch(compiled, folded, holders) if compiled.patterns else None
        info = self._hit_info
        results: list[list[RuleHit]] = []
        for i, passage in enumerate(passages):
            found: set[tuple[int, int, int]] = set()
            if term_spans is not None and term_spans[i]:
                spans = term_spans[i]
                for group, group_spans in spans.items():
                    index = compiled.term_rules.get(group)
                    if index is not None:
                        found.update((index, start, end) for start, end in group_spans)
                if compiled.nears:
                    found |= _near_spans(compiled, spans, folded[i])
            if regex_spans is not None and regex_spans[i]:
                found |= regex_spans[i]
            if token_spans is not None and token_spans[i]:
                found |= token_spans[i]
            if not found:
                results.append([])
                continue
            text, base = passage.text, passage.start
            hits = [
                RuleHit(info[index][0], info[index][1], base + start, base + end,
                        text[start:end], info[index][2])
                for index, start, end in found
            ]
            hits.sort(key=lambda h: (h.start, h.end, h.rule_id))
            results.append(hits)
        return results

    def _regex_batch(
        self,
        compiled: _Compiled,
        passages: Sequence[Passage],
        holders: dict[int, set[int]] | None = None,
    ) -> list[set[tuple[int, int, int]]]:
        """Each passage's regex spans, the regex run only on the passages holding a string of
        each of its required sets, each run bounded in time.

        Which passages hold a string comes from the term index (``holders``, by string number:
        it notes the strings each new chunk holds) or, for a string it cannot watch, from one
        ``str.find`` walk over the whole batch (the rarest-looking set first; the other sets
        with a bounded ``find`` in each remaining passage)."""
        texts = [p.text for p in passages]
        joined: dict[bool, _Joined] = {}
        held: dict[tuple[bool, str], set[int]] = {}

        def texts_of(ignore_case: bool) -> _Joined:
            # a user's regex sees the original letters: it may mean ё and е differently
            if ignore_case not in joined:
                joined[ignore_case] = _Joined(texts, casefold=ignore_case)
            return joined[ignore_case]

        def holding(key: tuple[bool, str]) -> set[int]:
            if holders is not None and key in compiled.watched:
                return holders.get(compiled.watched[key]) or set()
            if key not in held:
                held[key] = texts_of(key[0]).holding(key[1])
            return held[key]

        def holds(i: int, key: tuple[bool, str]) -> bool:
            if holders is not None and key in compiled.watched:
                found = holders.get(compiled.watched[key])
                return found is not None and i in found
            return texts_of(key[0]).holds(i, key[1])

        everyone = range(len(passages))
        found: list[set[tuple[int, int, int]]] = [set() for _ in passages]
        for index, regex, required in compiled.regexes:
            candidates: Iterable[int] = everyone
            if required is not None:
                first, *others = required
                chosen = set().union(*map(holding, first))
                for option in others:
                    if holders is not None and option <= compiled.watched.keys():
                        chosen &= set().union(*map(holding, option))
                    else:
                        chosen = {i for i in chosen if any(holds(i, key) for key in option)}
                candidates = sorted(chosen)
            for i in candidates:
                found[i].update(self._run_regex(index, regex, passages[i]))
        return found

    def _run_regex(
        self, index: int, regex: Any, passage: Passage
    ) -> Iterator[tuple[int, int, int]]:
        """A regex rule's spans in one passage, stopped after :attr:`regex_timeout` seconds."""
        bounded = self._bounded.get(index)
        if bounded is None:
            yield from _regex_spans(index, regex, passage.text)
            return
        try:
            # a zero-length match (say ``x*``) marks no words, so it is no evidence
            matches = [m.span() for m in bounded.finditer(passage.text, timeout=self.regex_timeout)]
        except TimeoutError:
            rule = self.rules[index]
            snippet = passage.text[:60] + ("…" if len(passage.text) > 60 else "")
            raise RegexTimeoutError(
                f"{_where(self.codebook, rule)}: the regex {rule.pattern!r} ran longer than "
                f"{self.regex_timeout:g} s on passage {passage.passage_id!r} "
                f"({len(passage.text)} characters: {snippet!r}). Expected a regex that runs in "
                "about linear time; it backtracks catastrophically, which nested repetition "
                "such as (a+)+ or (a|aa)+ causes. Rewrite it without nested repeats "
                "(a+ instead of (a+)+), or use a globs or phrases rule."
            ) from None
        for start, end in matches:
            if end > start:
                yield index, start, end

    def codes(self, hits: Sequence[RuleHit]) -> dict[str, list[RuleHit]]:
        """Code -> its non-veto hits, leaving out codes that a veto rule removed.

        >>> hits = [RuleHit("a.x", "a", 0, 3, "abc"), RuleHit("b.x", "b", 0, 3, "abc", veto=True),
        ...         RuleHit("b.y", "b", 4, 5, "d")]
        >>> ruleset = RuleSet(Codebook(name="empty", codes=()))
        >>> {code: [h.rule_id for h in found] for code, found in ruleset.codes(hits).items()}
        {'a': ['a.x']}
        """
        vetoed = {h.code for h in hits if h.veto}
        coded: dict[str, list[RuleHit]] = {}
        for hit in hits:
            if not hit.veto and hit.code not in vetoed:
                coded.setdefault(hit.code, []).append(hit)
        return coded

    def vetoed(self, hits: Sequence[RuleHit]) -> set[str]:
        """Codes that a veto rule removed from the passage these hits came from.

        >>> ruleset = RuleSet(Codebook(name="empty", codes=()))
        >>> sorted(ruleset.vetoed([RuleHit("b.x", "b", 0, 3, "abc", veto=True)]))
        ['b']
        """
        return {h.code for h in hits if h.veto}


def _pattern_batch(
    compiled: _Compiled, folded: Sequence[str], holders: dict[int, set[int]] | None = None
) -> list[set[tuple[int, int, int]]]:
    """Each passage's token-pattern spans.

    A token whose lower case is one of the patterns' words cannot stand where the case-folded
    text does not hold that word as a string, so only such places are tokenized: when every
    pattern runs in a window from its first word, the few chunks of text from each place (see
    :func:`_window_spans`), otherwise the whole passages that hold one. Which passages may hold
    a word comes from the term index (``holders``) when it watches them all, else from one
    ``str.find`` walk over the batch per word.
    """
    state = compiled.patterns
    found: list[set[tuple[int, int, int]]] = [set() for _ in folded]
    if state is None:
        return found
    nlp = compiled.tokenizer()
    if state.gate is None:
        chosen: Iterable[int] = range(len(folded))
    elif holders is not None and all((True, w) in compiled.watched for w in state.gate):
        words_of: dict[int, list[str]] = {}
        for word in sorted(state.gate):
            for which in holders.get(compiled.watched[(True, word)], ()):
                words_of.setdefault(which, []).append(word)
        chosen = sorted(words_of)
        if state.windows is not None:
            for which in chosen:
                text = folded[which]
                lowered = text.casefold()
                if len(lowered) != len(text):  # offsets would move: the whole passage
                    found[which] = _doc_spans(state, nlp.make_doc(text))
                    continue
                offsets = {at for word in words_of[which] for at in _places(lowered, word)}
                if offsets:
                    found[which] = _window_spans(compiled, state, text, offsets)
            return found
    else:
        joined = _Joined(folded, casefold=True)
        if state.windows is not None and joined.aligned:
            places: dict[int, set[int]] = {}
            for word in state.gate:
                for which, offset in joined.places(word):
                    places.setdefault(which, set()).add(offset)
            for which, offsets in places.items():
                found[which] = _window_spans(compiled, state, folded[which], offsets)
            return found
        chosen = sorted(set().union(*(joined.holding(w) for w in state.gate)))
    for i in chosen:
        found[i] = _doc_spans(state, nlp.make_doc(folded[i]))
    return found


def _places(text: str, string: str) -> Iterator[int]:
    """Every offset of ``string`` (not empty) in ``text``, overlapping ones too."""
    at = text.find(string)
    while at >= 0:
        yield at
        at = text.find(string, at + 1)


def _chunk_bounds(text: str) -> tuple[list[int], list[int]]:
    """Start and end offsets of the whitespace-separated chunks of ``text`` (the first and
    last may be empty), computed in C.

    >>> _chunk_bounds(" a bc")
    ([0, 1, 3], [0, 2, 5])
    """
    if "  " not in text and text.isprintable():
        # the common case: every white space is one plain space (any other white-space
        # character is unprintable), so splitting at spaces gives the chunks, twice as fast
        lengths = list(map(len, text.split(" ")))
        ends = list(map(add, accumulate(lengths), count()))
        return list(map(sub, ends, lengths)), ends
    ends = list(accumulate(map(len, _SPACES.split(text))))
    return [0, *ends[1::2]], ends[0::2]


class _ChunkMap:
    """Where a text's whitespace-separated chunks start and stop, asked about around a place.

    A place in white space belongs to the chunk before it. When every white space is one plain
    space (the common case), the answers come from ``str.find`` and ``str.count`` near the place,
    so a long passage is not split for the sake of a few places in it.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.simple = "  " not in text and text.isprintable()
        if not self.simple:
            self.starts, self.stops = _chunk_bounds(text)

    def index(self, position: int) -> int:
        """The number of the chunk holding ``position``."""
        if self.simple:
            return self.text.count(" ", 0, position)
        return bisect_right(self.starts, position) - 1

    def last(self) -> int:
        """The number of the last chunk."""
        return self.text.count(" ") if self.simple else len(self.starts) - 1

    def between(self, first: int, last: int) -> int:
        """How many chunks on from the one holding ``first`` the one holding ``last`` is."""
        if self.simple:
            return self.text.count(" ", first, last)
        return self.index(last) - self.index(first)

    def start(self, position: int, back: int = 0) -> int:
        """Where the chunk ``back`` chunks before the one holding ``position`` starts (the
        first chunk's start, if there are fewer)."""
        if not self.simple:
            return self.starts[max(self.index(position) - back, 0)]
        at = self.text.rfind(" ", 0, position) + 1
        for _ in range(back):
            if at == 0:
                break
            at = self.text.rfind(" ", 0, at - 1) + 1
        return at

    def stop(self, position: int, ahead: int = 0) -> int:
        """Where the chunk ``ahead`` chunks after the one holding ``position`` ends (the last
        chunk's end, if there are fewer)."""
        if not self.simple:
            return self.stops[min(self.index(position) + ahead, len(self.stops) - 1)]
        at = self.text.find(" ", position)
        for _ in range(ahead):
            if at < 0:
                break
            at = self.text.find(" ", at + 1)
        return len(self.text) if at < 0 else at


def _window_spans(
    compiled: _Compiled, state: _Patterns, text: str, offsets: set[int]
) -> set[tuple[int, int, int]]:
    """Token-pattern spans of one passage, tokenizing only the chunks around ``offsets``.

    A window of N tokens from a word's token lies within N * :attr:`_Compiled.span`
    whitespace-separated chunks (a token covers at least part of one, at most ``span``), so
    those chunks, widened by the tokenizer's :attr:`_Compiled.margin`, tokenize as in the
    whole passage.
    """
    nlp = compiled.tokenizer()
    chunks = _ChunkMap(text)
    # each chunk holding a place, with one of its places
    chosen = sorted({chunks.index(offset): offset for offset in sorted(offsets)}.items())
    last = chunks.last()
    reach = state.longest * compiled.span - 1 + compiled.margin
    #: (first chunk, last chunk, a place in the first chosen chunk, one in the last)
    regions: list[list[int]] = []
    for chunk, offset in chosen:
        low = max(chunk - compiled.margin, 0)
        high = min(chunk + reach, last)
        if regions and low <= regions[-1][1] + 1:
            regions[-1][1] = max(regions[-1][1], high)
            regions[-1][3] = offset
        else:
            regions.append([low, high, offset, offset])
    wanted = {chunk for chunk, _ in chosen}
    windows = state.windows or {}
    found: set[tuple[int, int, int]] = set()
    for low, high, head, tail in regions:
        base = chunks.start(head, chunks.index(head) - low)
        doc = nlp.make_doc(text[base : chunks.stop(tail, high - chunks.index(tail))])
        for anchor, start, _end in state.anchors(doc):
            # a word near the region's edge may tokenize otherwise there: its own region has it
            if chunks.index(base + doc[start].idx) not in wanted:
                continue
            matcher, length = windows[anchor]
            for key, first, end in matcher(doc[start : min(start + length, len(doc))]):
                span = doc[start + first : start + end]
                found.add((state.keys[key], base + span.start_char, base + span.end_char))
    return found


def _doc_spans(state: _Patterns, doc: Doc) -> set[tuple[int, int, int]]:
    """``(rule index, start, end)`` of the token-pattern rules in ``doc``."""
    found: set[tuple[int, int, int]] = set()
    present: dict[int, list[int]] = {}
    for match_id, start, _end in state.anchors(doc):
        present.setdefault(match_id, []).append(start)
    for offset, part, matcher in _token_windows(state, doc, present):
        for match_id, start, end in matcher(part):
            span = doc[offset + start : offset + end]
            found.add((state.keys[match_id], span.start_char, span.end_char))
    return found


def _token_windows(
    state: _Patterns, doc: Doc, present: dict[int, list[int]]
) -> Iterator[tuple[int, Doc | Span, Matcher]]:
    """The parts of ``doc`` a Matcher must see, with the first token's index and the Matcher."""
    if state.windows is not None:
        for anchor, starts in present.items():
            matcher, length = state.windows[anchor]
            for start in starts:
                yield start, doc[start : min(start + length, len(doc))], matcher
    elif state.tokens is not None:
        if state.gate is None or any(a <= present.keys() for a in state.required):
            yield 0, doc, state.tokens


def _alternatives(forms: Iterable[str], *, whole: bool = False) -> str:
    """A regex body matching any of ``forms`` as written, longest first; with ``whole``, only
    where no letter stands before (written literal first, see :func:`_literal_first`)."""
    ordered = sorted(set(forms), key=lambda f: (-len(f), f))
    shape = partial(_literal_first, literal=True) if whole else partial(_glob_regex, literal=True)
    return "(?:" + "|".join(map(shape, ordered)) + ")"


def _regex_spans(index: int, pattern: re.Pattern[str], text: str) -> Iterator[tuple[int, int, int]]:
    # a zero-length match (say ``x*``) marks no words, so it is no evidence
    for m in pattern.finditer(text):
        if m.end() > m.start():
            yield index, m.start(), m.end()


class _Joined:
    """Texts joined with NUL once (case-folded, if asked), to ask which of them hold a string."""

    def __init__(self, texts: Sequence[str], *, casefold: bool = False) -> None:
        self.count = len(texts)
        self.joined = "\0".join(texts)
        #: offsets in the joined texts are those of the texts given
        self.aligned = True
        if casefold:
            folded = self.joined.casefold()
            if len(folded) == len(self.joined):  # one C call for the batch, offsets unchanged
                self.joined = folded
            else:  # a letter such as ß grew: fold text by text, so each one's start is known
                texts = [t.casefold() for t in texts]
                self.joined = "\0".join(texts)
                self.aligned = False
        self.starts: list[int] = []
        offset = 0
        for text in texts:
            self.starts.append(offset)
            offset += len(text) + 1

    @classmethod
    def of(cls, joined: str, starts: Sequence[int]) -> _Joined:
        """Texts already joined with NUL, starting at ``starts``."""
        self = cls.__new__(cls)
        self.count, self.joined, self.starts = len(starts), joined, list(starts)
        self.aligned = True
        return self

    def holding(self, string: str) -> set[int]:
        """Indexes of the texts that contain ``string``: one ``str.find`` walk over all."""
        if not string or "\0" in string:
            return set(range(self.count))
        starts, joined = self.starts, self.joined
        found: set[int] = set()
        at = joined.find(string)
        while at >= 0:
            which = bisect_right(starts, at) - 1
            found.add(which)
            # the rest of this text cannot add anything: go on from the next one
            nxt = starts[which + 1] if which + 1 < len(starts) else len(joined)
            at = joined.find(string, nxt)
        return found


    def holds(self, which: int, string: str) -> bool:
        """Whether text ``which`` contains ``string`` (not empty, no NUL)."""
        end = self.starts[which + 1] - 1 if which + 1 < self.count else len(self.joined)
        return self.joined.find(string, self.starts[which], end) >= 0

    def places(self, string: str) -> Iterator[tuple[int, int]]:
        """``(text index, offset in it)`` of every place of ``string`` (not empty, no NUL)."""
        starts, joined = self.starts, self.joined
        at = joined.find(string)
        while at >= 0:
            which = bisect_right(starts, at) - 1
            yield which, at - starts[which]
            at = joined.find(string, at + 1)


def _holding(texts: Sequence[str], string: str) -> set[int]:
    """Indexes of the ``texts`` that contain ``string``."""
    return _Joined(texts).holding(string)


_SPACES = re.compile(r"(\s+)")


def _near_spans(
    compiled: _Compiled, term_spans: dict[int, list[tuple[int, int]]], text: str
) -> set[tuple[int, int, int]]:
    """Spans of proximity rules: an ``a`` term and a ``b`` term at most ``within`` tokens apart.

    The distance is the number of spaCy tokens strictly between the two terms: a term covers
    the tokens from the one holding its first character to the last one starting before its
    end, so a term with spaces or hyphens counts as one unit. A token never holds white space
    except in a tokenizer exception (at most :attr:`_Compiled.span` chunks), so pairs with too
    many whitespace-separated chunks between them are dropped without tokenizing; for the
    others, only the chunks from one term to the other (widened by the tokenizer's
    :attr:`_Compiled.margin`) are tokenized, which gives the tokens of the whole passage there.
    """
    spans: set[tuple[int, int, int]] = set()
    present = [
        near for group in compiled.nears.keys() & term_spans.keys()
        for near in compiled.nears[group] if near.b in term_spans
    ]
    if not present:
        return spans
    nlp = compiled.tokenizer()
    # each token strictly between the terms covers at most ``span`` chunks, and tokens of the
    # terms themselves may reach over ``span - 1`` chunks each into the gap
    slack = 2 * (compiled.span - 1)
    chunks = _ChunkMap(text)
    regions: dict[tuple[int, int], list[int]] = {}

    def token_starts(first: int, last: int) -> list[int]:
        """Start offsets of the tokens of the chunks holding ``first``..``last``, as in the
        whole text."""
        begin = chunks.start(first, compiled.margin)
        end = chunks.stop(last, compiled.margin)
        starts = regions.get((begin, end))
        if starts is None:
            doc = nlp.make_doc(text[begin:end])
            starts = [begin + token.idx for token in doc]
            regions[(begin, end)] = starts
        return starts

    for near in present:
        b_terms = sorted(term_spans[near.b])
        for a_start, a_end in term_spans[near.a]:
            for b_start, b_end in b_terms:
                if a_start < b_start:
                    gap = (a_end, b_start)
                elif b_start < a_start:
                    gap = (b_end, a_start)
                else:  # the same words read as both terms: no pair of terms
                    continue
                if gap[0] > gap[1]:  # one term runs into the other
                    continue
                if chunks.between(gap[0] - 1, gap[1]) - 1 > compiled.span * near.within + slack:
                    continue
                starts = token_starts(gap[0] - 1, gap[1])
                # the tokens starting in the gap: the second term's first token and those
                # strictly between the terms
                count = bisect_right(starts, gap[1]) - bisect_left(starts, gap[0])
                if 0 < count <= near.within + 1:
                    spans.add((near.index, min(a_start, b_start), max(a_end, b_end)))
    return spans


def compile_rules(codebook: Codebook) -> RuleSet:
    """Compile a codebook's rules; each language's matchers are built on first use.

    >>> from trustcode.types import Code
    >>> rule = Rule(id="c.phrases-1", code="c", kind="phrases", terms=("её",))
    >>> ruleset = compile_rules(Codebook(name="x", codes=(Code(id="c", label="C", rules=(rule,)),)))
    >>> [h.text for h in ruleset.match([Passage("d", 0, 0, 12, "Спросите ее.")], "ru")[0]]
    ['ее']
    """
    return RuleSet(codebook)


# --- codebook examples as tests ---------------------------------------------------------------


@dataclass
class ExampleFailure:
    """A codebook example that its code's rules get wrong.

    ``polarity`` is ``"positive"`` (the rules miss it) or ``"negative"`` (the rules code it);
    ``found`` holds the ids of the code's rules that fired on it (veto rules included), if any.
    """

    code: str
    polarity: str
    example: str
    found: list[str]


def _example_language(text: str, languages: Sequence[str]) -> str:
    letters = [ch for ch in text if ch.isalpha()]
    cyrillic = sum(1 for ch in letters if "\u0400" <= ch <= "\u04ff")
    if letters and cyrillic / len(letters) >= _CYRILLIC_SHARE:
        return "ru"
    # a codebook written for, say, German examples is checked in German rather than English
    others = [lang for lang in languages if normalize_language(lang) != "ru"]
    return normalize_language(others[0]) if others else "en"


def check_examples(codebook: Codebook, ruleset: RuleSet | None = None) -> list[ExampleFailure]:
    """Run each code's examples through the rules: positives must be coded, negatives not.

    An example's language is Russian when at least 30% of its letters are Cyrillic, otherwise the
    codebook's first other language (English by default). Codes whose combine policy is
    ``classifier_only`` are skipped: their rules never code a passage.

    >>> from trustcode.types import Code
    >>> rule = Rule(id="c.phrases-1", code="c", kind="phrases", terms=("leaderless",))
    >>> code = Code(id="c", label="C", negative_examples=("A leaderless group.",), rules=(rule,))
    >>> [(f.polarity, f.found) for f in check_examples(Codebook(name="x", codes=(code,)))]
    [('negative', ['c.phrases-1'])]
    """
    ruleset = ruleset if ruleset is not None else RuleSet(codebook)
    failures: list[ExampleFailure] = []
    for code in codebook.codes:
        if code.combine == "classifier_only":
            continue
        cases = [("positive", ex) for ex in code.positive_examples]
        cases += [("negative", ex) for ex in code.negative_examples]
        for polarity, example in cases:
            passage = Passage(doc_id="example", index=0, start=0, end=len(example), text=example)
            language = _example_language(example, codebook.languages)
            hits = ruleset.match([passage], language)[0]
            coded = ruleset.codes(hits).get(code.id, [])
            if polarity == "positive" and not coded:
                own = [h.rule_id for h in hits if h.code == code.id]
                failures.append(ExampleFailure(code.id, polarity, example, sorted(set(own))))
            elif polarity == "negative" and coded:
                own = [h.rule_id for h in coded]
                failures.append(ExampleFailure(code.id, polarity, example, sorted(set(own))))
    return failures
