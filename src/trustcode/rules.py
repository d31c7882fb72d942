"""Codebook rules -> spaCy matchers -> rule hits.

A :class:`RuleSet` compiles a codebook's rules once per language, on first use, into one
``PhraseMatcher`` (phrases and single-word lemmas), one ``Matcher`` (token patterns and multi-word
lemmas) and precompiled regular expressions (globs, regexes, proximity terms). Matching runs on a
blank spaCy pipeline over text whose ``ё``/``Ё`` are folded to ``е``/``Е``; folding keeps every
offset, so hit spans and evidence come from the original passage text.

Lemmas are expanded into surface forms when the rules are compiled (English: spaCy's lookup table
from spacy-lookups-data, inverted; Russian: pymorphy3 lexemes), so no lemmatizer runs while
matching.

Matching must cost little more than tokenizing, so the engine works a batch of passages (one
document) at a time and avoids work it can prove useless: glob and proximity terms are found in
one pass over the batch's joined text, each distinct word classified once (cached) through a
dictionary keyed by its case-insensitive form or a glob's literal start, so a word costs the same
with 50 terms or 5,000 (:class:`_TermIndex`); the token Matcher runs only in windows around words
a pattern must start with; a regex runs only on passages holding a string every match of it
contains, found for the whole batch at once. Tests check each of these shortcuts against plain
matching.

A codebook's regular expressions run through the ``regex`` package with a time limit
(:data:`REGEX_TIMEOUT` per rule and passage). A catastrophic pattern raises
:class:`RegexTimeoutError` naming the code, rule and passage instead of hanging the run; it
does not skip the rule, since results must not depend on how fast the machine is.
"""

from __future__ import annotations

import importlib
import re
import warnings
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import accumulate, compress
from typing import TYPE_CHECKING, Any

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
def _english_forms() -> dict[str, frozenset[str]]:
    """lemma -> its surface forms, inverted once from spacy-lookups-data's ``lemma_lookup``."""
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
        return {}
    inverse: dict[str, set[str]] = {}
    for form, lemma in dict(table).items():
        inverse.setdefault(fold(lemma.lower()), set()).add(fold(form.lower()))
    return {lemma: frozenset(forms) for lemma, forms in inverse.items()}


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
        return _english_forms().get(key, frozenset()) | {key}
    if language == "ru":
        parses = _morph().parse(word)
        # a word form can be read as several lemmas; keep the readings whose lemma is this word
        same = [p for p in parses if fold(p.normal_form) == key] or parses
        return frozenset({fold(form.word) for p in same for form in p.lexeme} | {key})
    return frozenset({key})


# --- regular expressions built from globs -----------------------------------------------------


def _glob_regex(term: str) -> str:
    """A (folded, stripped) glob as a regex body: ``*`` any letters, ``?`` one letter, spaces
    any whitespace."""
    parts: list[str] = []
    for ch in term:
        if ch == "*":
            parts.append(r"\w*")
        elif ch == "?":
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
_WORD_SPLIT = re.compile(r"(\w+)")
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


class _TermIndex:
    """The glob terms of all glob and near rules of a language, found in one pass over words.

    Scanning a passage once per rule with a regex costs far more than tokenizing it. A term
    that is one word (letters, digits, ``*``, ``?``) always matches a whole run of word
    characters, so each distinct word of the corpus is classified once (cached) against those
    terms. A longer term (with spaces or punctuation) needs a word for its longest piece: it is
    tried only where such a word stands (anchored there when that piece begins the term).

    Matching runs on lower-cased text with case-sensitive patterns that start with a literal
    letter, which Python's regex engine can skip ahead to; when lower-casing would change the
    text's length (a rare letter such as ``İ``), it falls back to case-insensitive patterns.
    """

    #: words classified before the cache starts afresh, so memory stays bounded
    CACHE_SIZE = 200_000

    def __init__(self) -> None:
        self.groups = 0
        #: one-word patterns: (regex body, is a trigger, group or long-term id)
        self._words: list[tuple[str, bool, int]] = []
        #: word patterns by case key: of the whole word (no wildcard) or of its literal start
        self._exact: dict[str, list[int]] = {}
        self._prefix: dict[str, list[int]] = {}
        self._prefix_sizes: list[int] = []
        #: word patterns that begin with a wildcard: tried on every new word
        self._loose: list[int] = []
        #: word pattern id -> its compiled (case-insensitive) regex, compiled on first use
        self._word_regex: dict[int, re.Pattern[str]] = {}
        #: term id -> (group, the trigger piece begins the term, term regex body)
        self._long: list[tuple[int, bool, str]] = []
        self._always: set[int] = set()
        #: (kind, term id, variant) -> compiled long-term regex, compiled on first use
        self._long_regex: dict[tuple[str, int, int], re.Pattern[str]] = {}
        #: word -> (groups it is a term of, long terms it is the trigger of)
        self._cache: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {}
        #: the cached words that are or trigger some term
        self._matching: set[str] = set()

    def add(self, terms: Sequence[str]) -> int:
        """Register a rule's (or a near side's) terms; return the group id their spans get."""
        group = self.groups
        self.groups += 1
        for term in terms:
            term = fold(term.strip()).lower()
            if not term:
                continue
            if _PIECE.fullmatch(term):
                self._add_word(term, False, group)
                continue
            term_id = len(self._long)
            pieces = _PIECE.findall(term)
            trigger = max(pieces, key=lambda p: len(p.strip("*?")), default="")
            self._long.append((group, term.startswith(trigger) and bool(trigger), term))
            if trigger.strip("*?"):
                self._add_word(trigger, True, term_id)
            else:  # nothing literal to look for first
                self._always.add(term_id)
        return group

    def _add_word(self, term: str, trigger: bool, target: int) -> None:
        """Index a one-word glob by the case key of its literal start, so that classifying a
        word costs a few dict lookups however many terms there are."""
        index = len(self._words)
        self._words.append((_glob_regex(term), trigger, target))
        cut = min((i for i, ch in enumerate(term) if ch in "*?"), default=len(term))
        key = _case_key(term[:cut])
        if cut == 0 or key is None:
            self._loose.append(index)
        elif cut == len(term):
            self._exact.setdefault(key, []).append(index)
        else:
            self._prefix.setdefault(key, []).append(index)

    def finish(self) -> None:
        self._prefix_sizes = sorted({len(key) for key in self._prefix})

    def _word_pattern(self, index: int) -> re.Pattern[str]:
        regex = self._word_regex.get(index)
        if regex is None:
            regex = re.compile(self._words[index][0], re.IGNORECASE)
            self._word_regex[index] = regex
        return regex

    def _long_pattern(self, kind: str, term_id: int, variant: int) -> re.Pattern[str]:
        """A long term's regex: ``scan`` (anywhere, as a whole word) or ``anchored`` (at a
        word start), for lower-cased text (variant 0) or any text (1)."""
        regex = self._long_regex.get((kind, term_id, variant))
        if regex is None:
            term = self._long[term_id][2]
            if kind == "anchored":
                flags = re.IGNORECASE if variant else 0
                regex = re.compile(_glob_regex(term) + r"(?!\w)", flags)
            elif variant == 0:
                regex = re.compile(_literal_first(term) + r"(?!\w)")
            else:
                regex = _whole_words([_glob_regex(term)])
            self._long_regex[(kind, term_id, variant)] = regex
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
            for index in self._candidates(word):
                if self._word_pattern(index).fullmatch(word):
                    _body, trigger, target = self._words[index]
                    (triggers if trigger else groups).append(target)
            self._cache[word] = (tuple(groups), tuple(triggers))
            if groups or triggers:
                self._matching.add(word)

    def find(self, text: str) -> dict[int, list[tuple[int, int]]]:
        """Group id -> the ``(start, end)`` spans of its terms in ``text`` (folded)."""
        lowered = text.lower()
        if len(lowered) == len(text):
            return self._find_in(lowered, 0)
        return self._find_in(text, 1)

    def find_many(self, texts: Sequence[str]) -> list[dict[int, list[tuple[int, int]]]]:
        """:meth:`find` for each of ``texts``, in one pass over them all.

        The texts are joined with NUL, which no term can match or cross (terms hold letters,
        spaces and punctuation; a text holding NUL itself is searched on its own), and found
        spans are mapped back to their text. One pass costs a few C calls for the whole batch
        instead of a dozen Python steps per passage.
        """
        results: list[dict[int, list[tuple[int, int]]]] = [{} for _ in texts]
        batch: list[int] = []
        pieces: list[str] = []
        for i, text in enumerate(texts):
            lowered = text.lower()
            if len(lowered) != len(text) or "\0" in text:
                results[i] = self.find(text)  # rare: its own, case-insensitive search
            else:
                batch.append(i)
                pieces.append(lowered)
        if not batch:
            return results
        starts: list[int] = []
        offset = 0
        for piece in pieces:
            starts.append(offset)
            offset += len(piece) + 1
        for group, spans in self._find_in("\0".join(pieces), 0, starts).items():
            for start, end in spans:
                which = bisect_right(starts, start) - 1
                base = starts[which]
                results[batch[which]].setdefault(group, []).append((start - base, end - base))
        return results

    def _find_in(
        self, haystack: str, variant: int, starts: Sequence[int] | None = None
    ) -> dict[int, list[tuple[int, int]]]:
        """Spans by group in ``haystack``: lower-cased text (variant 0) or any text (1).

        ``starts`` are the offsets of the texts joined in ``haystack``: a term whose trigger
        word is not its first is then searched for only in the texts holding that word.
        """
        spans: dict[int, list[tuple[int, int]]] = {}
        # split keeps the separators: words sit at odd places, and the running sum of the
        # pieces' lengths gives every word's offset, all computed in C
        pieces = _WORD_SPLIT.split(haystack)
        word_list = pieces[1::2]
        words = set(word_list)
        if len(self._cache) >= self.CACHE_SIZE:
            self._cache.clear()
            self._matching.clear()
        unknown = words.difference(self._cache)  # walks the few words, not the cache
        if unknown:
            self._classify(unknown)
        #: long terms to search for, and in which texts (None: everywhere)
        scan: dict[int, set[int] | None] = dict.fromkeys(self._always)
        matched = words & self._matching
        positions: dict[str, list[tuple[int, int]]] = {}
        if matched:
            ends = list(accumulate(map(len, pieces)))
            # Python only visits the places of words that match, found by C-level filtering
            for i in compress(range(len(word_list)), map(matched.__contains__, word_list)):
                k = 2 * i + 1
                positions.setdefault(word_list[i], []).append((ends[k - 1], ends[k]))
        for word in matched:
            simple, triggers = self._cache.get(word, ((), ()))  # another thread may clear it
            where = positions[word]
            for group in simple:
                spans.setdefault(group, []).extend(where)
            for term_id in triggers:
                group, leading, _ = self._long[term_id]
                if not leading:
                    texts = scan.setdefault(term_id, set())
                    if texts is not None and starts is not None:
                        texts.update(bisect_right(starts, start) - 1 for start, _ in where)
                    elif starts is None:
                        scan[term_id] = None
                    continue
                regex = self._long_pattern("anchored", term_id, variant)
                for start, _end in where:
                    m = regex.match(haystack, start)
                    if m is not None and m.end() > start:
                        spans.setdefault(group, []).append((start, m.end()))
        size = len(haystack)
        for term_id in sorted(scan):
            group = self._long[term_id][0]
            regex = self._long_pattern("scan", term_id, variant)
            texts = scan[term_id]
            if texts is None or starts is None:
                windows = [(0, size)]
            else:  # a text ends where the NUL before the next one stands
                windows = [
                    (starts[i], starts[i + 1] - 1 if i + 1 < len(starts) else size)
                    for i in sorted(texts)
                ]
            for pos, endpos in windows:
                for m in regex.finditer(haystack, pos, endpos):
                    if m.end() > m.start():
                        spans.setdefault(group, []).append((m.start(), m.end()))
        return spans


def _literal_first(term: str) -> str:
    """A whole-word regex body for a lower-case glob that begins with its first literal letter.

    ``x(?<!\\wx)`` means the same as ``(?<!\\w)x`` but lets the regex engine skip to the
    letters that can start a match instead of trying every position.
    """
    first = term[0]
    if first in "*?":
        return r"(?<!\w)" + _glob_regex(term)
    return re.escape(first) + r"(?<!\w" + re.escape(first) + ")" + _glob_regex(term[1:])


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


def _required_strings(pattern: str, flags: int) -> frozenset[str] | None:
    """Strings of which every match of the regex contains one (case-folded with IGNORECASE).

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
        # the best option is the one whose shortest string is longest: the rarest to occur
        return max(options, key=lambda o: min(len(x) for x in o), default=None)

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

    found = of_sequence(items)
    return found if found and all(found) else None


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
    """The matchers of one language."""

    nlp: Language
    phrases: PhraseMatcher | None = None
    tokens: Matcher | None = None
    #: match_id (a vocab string hash) -> rule index
    keys: dict[int, int] = field(default_factory=dict)
    terms: _TermIndex = field(default_factory=_TermIndex)
    #: term-index group -> rule index, for glob rules
    globs: dict[int, int] = field(default_factory=dict)
    #: (rule index, regex, strings one of which a match contains, or None); a string is paired
    #: with True when it is case-folded (the regex ignores case)
    regexes: list[tuple[int, re.Pattern[str], frozenset[tuple[bool, str]] | None]] = field(
        default_factory=list
    )
    #: all those strings, case-folded ones under True
    literals: dict[bool, set[str]] = field(default_factory=lambda: {True: set(), False: set()})
    #: near rules by the term-index group of their a terms
    nears: dict[int, list[_Near]] = field(default_factory=dict)
    #: PhraseMatcher keys of word lists; a token pattern can only match when all of its are found
    anchors: list[frozenset[int]] = field(default_factory=list)
    anchor_ids: frozenset[int] = frozenset()
    #: anchor key -> (Matcher of the patterns that start with its word, their longest length),
    #: when every pattern starts with a literal word and has a bounded length
    windows: dict[int, tuple[Matcher, int]] | None = None
    #: a token pattern without such words: the Matcher runs on every passage
    always_tokens: bool = False

    @property
    def needs_docs(self) -> bool:
        return bool(self.phrases or self.tokens or self.windows or self.nears)


def _add_token_patterns(
    compiled: _Compiled, phrases: PhraseMatcher, patterns: list[tuple[str, list[dict[str, Any]]]]
) -> None:
    """Build the Matcher(s) for token patterns, and the words that tell when to run them.

    spaCy's Matcher walks every token in Python and tries every pattern at each, which costs
    several times the tokenizer. When every pattern starts with a literal word and has a bounded
    length, each such word gets a Matcher of its own patterns, run only on the few tokens from
    where the word stands (found by the C-fast PhraseMatcher). Otherwise one Matcher runs on the
    passages that hold all the literal words of some pattern.
    """
    from spacy.matcher import Matcher
    from spacy.tokens import Doc

    if not patterns:
        return
    vocab = compiled.nlp.vocab
    keys: dict[frozenset[str], int] = {}

    def key_of(words: frozenset[str]) -> int:
        if words not in keys:
            key = f"trustcode-anchor-{len(keys)}"
            keys[words] = vocab.strings.add(key)
            # one-word docs: a pattern's value is one token, however it would tokenize
            phrases.add(key, [Doc(vocab, words=[w]) for w in sorted(words)])
        return keys[words]

    firsts = [_spec_words(p[0]) if p else None for _, p in patterns]
    lengths = [_pattern_length(p) for _, p in patterns]
    if all(firsts) and all(n is not None for n in lengths):
        by_word: dict[int, list[tuple[str, list[dict[str, Any]], int]]] = {}
        for (key, pattern), first, length in zip(patterns, firsts, lengths, strict=True):
            by_word.setdefault(key_of(first or frozenset()), []).append((key, pattern, length or 0))
        compiled.windows = {}
        for anchor, items in by_word.items():
            matcher = Matcher(vocab)
            for key, pattern, _ in items:
                matcher.add(key, [pattern])
            compiled.windows[anchor] = (matcher, max(n for _, _, n in items))
    else:
        matcher = Matcher(vocab)
        for key, pattern in patterns:
            matcher.add(key, [pattern])
            required = [w for w in map(_spec_words, pattern) if w is not None]
            if not required:
                compiled.always_tokens = True
            elif not compiled.always_tokens:
                compiled.anchors.append(frozenset(key_of(words) for words in required))
        compiled.tokens = matcher
    compiled.anchor_ids = frozenset(keys.values())


class RuleSet:
    """A codebook's rules, compiled lazily per language into spaCy matchers and regexes.

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
        self._compile(normalize_language(language))

    # --- per-language compilation ---------------------------------------------------------

    def _compile(self, language: str) -> _Compiled:
        compiled = self._compiled.get(language)
        if compiled is not None:
            return compiled
        from spacy.matcher import PhraseMatcher

        nlp = tokenizer(language)
        compiled = _Compiled(nlp=nlp)
        phrases = PhraseMatcher(nlp.vocab, attr="LOWER")
        lemma_rules_without_morphology: list[str] = []
        token_patterns: list[tuple[str, list[dict[str, Any]]]] = []
        for index, rule in enumerate(self.rules):
            if rule.lang.strip().lower() not in ("any", language):
                continue
            key = f"trustcode-rule-{index}"
            match_id = nlp.vocab.strings.add(key)
            compiled.keys[match_id] = index
            if rule.kind == "phrases":
                terms = [fold(t.strip()) for t in rule.terms if t.strip()]
                if not terms:
                    self._warn_empty(rule)
                    continue
                phrases.add(key, [nlp.make_doc(t) for t in terms])
            elif rule.kind == "lemmas":
                if language not in _MORPHOLOGY_LANGUAGES:
                    lemma_rules_without_morphology.append(rule.id)
                token_patterns += self._add_lemmas(nlp, phrases, key, rule, language)
            elif rule.kind == "pattern":
                token_patterns += self._add_pattern(nlp, key, rule)
            elif rule.kind == "regex":
                regex = self._regex[index]
                strings = _required_strings(regex.pattern, regex.flags)
                ignore_case = bool(regex.flags & re.IGNORECASE)
                compiled.literals[ignore_case].update(strings or ())
                required = None if strings is None else frozenset((ignore_case, s) for s in strings)
                compiled.regexes.append((index, regex, required))
            elif rule.kind == "globs":
                compiled.globs[compiled.terms.add(rule.terms)] = index
            elif rule.kind == "near" and rule.near is not None:
                a_terms, b_terms, within = rule.near
                a, b = compiled.terms.add(a_terms), compiled.terms.add(b_terms)
                compiled.nears.setdefault(a, []).append(_Near(index, a, b, within))
        if lemma_rules_without_morphology:
            warnings.warn(
                f"{self.codebook.path or 'codebook'}: trustcode has no inflection data for "
                f"language {language!r}, so lemma rules {', '.join(lemma_rules_without_morphology)}"
                " match their words only as written. Add the inflected forms as phrases or globs.",
                TrustcodeWarning,
                stacklevel=3,
            )
        _add_token_patterns(compiled, phrases, token_patterns)
        compiled.terms.finish()
        compiled.phrases = phrases if len(phrases) else None
        self._compiled[language] = compiled
        return compiled

    def _add_lemmas(
        self,
        nlp: Language,
        phrases: PhraseMatcher,
        key: str,
        rule: Rule,
        language: str,
    ) -> list[tuple[str, list[dict[str, Any]]]]:
        """Add a lemma rule's single words; return its token patterns for the Matcher."""
        single: set[str] = set()
        multi: list[list[dict[str, Any]]] = []
        for entry in rule.terms:
            entry = fold(entry.strip().lower())
            if not entry:
                continue
            if not any(ch.isspace() for ch in entry):
                single |= expand_lemma(entry, language)
                continue
            # one token spec per word: every combination of all words' forms would explode
            pattern: list[dict[str, Any]] = []
            for token in nlp.make_doc(entry):
                if token.is_space:
                    continue
                forms = expand_lemma(token.lower_, language) if token.is_alpha else {token.lower_}
                pattern.append({"LOWER": {"IN": sorted(forms)}})
            multi.append(pattern)
        if not single and not multi:
            self._warn_empty(rule)
        if single:
            phrases.add(key, [nlp.make_doc(form) for form in sorted(single)])
        return [(key, split) for p in multi for split in _split_first_in(p)]

    def _add_pattern(
        self, nlp: Language, key: str, rule: Rule
    ) -> list[tuple[str, list[dict[str, Any]]]]:
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
            Matcher(nlp.vocab, validate=True).add(key, [folded])
        except ValueError as exc:  # spaCy's MatchPatternError is a ValueError
            raise CodebookError(
                f"{_where(self.codebook, rule)}: the token pattern is not valid for spaCy's "
                f"Matcher: {exc}. Fix the attribute names and operators (LOWER, TEXT, IN, OP, ...)."
            ) from exc
        return [(key, split) for split in _split_first_in(folded)]

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
        docs: Iterator[Doc | None]
        if compiled.needs_docs:
            docs = iter(compiled.nlp.pipe(folded))
        else:  # regexes and globs only: no tokenization needed
            docs = iter([None] * len(passages))
        # terms and regexes are searched for the whole batch at once; tokens passage by passage
        term_spans = compiled.terms.find_many(folded) if compiled.terms.groups else None
        regex_spans = self._regex_batch(compiled, passages) if compiled.regexes else None
        info = self._hit_info
        results: list[list[RuleHit]] = []
        for i, (passage, doc) in enumerate(zip(passages, docs, strict=True)):
            found = self._doc_spans(compiled, doc) if doc is not None else set()
            if term_spans is not None and term_spans[i]:
                spans = term_spans[i]
                for group, group_spans in spans.items():
                    index = compiled.globs.get(group)
                    if index is not None:
                        found.update((index, start, end) for start, end in group_spans)
                if doc is not None and compiled.nears:
                    found |= _near_spans(compiled.nears, spans, doc)
            if regex_spans is not None and regex_spans[i]:
                found |= regex_spans[i]
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

    def _doc_spans(self, compiled: _Compiled, doc: Doc) -> set[tuple[int, int, int]]:
        """``(rule index, start, end)`` of phrase, lemma and token-pattern rules in ``doc``."""
        found: set[tuple[int, int, int]] = set()
        present: dict[int, list[int]] = {}
        if compiled.phrases is not None:
            for match_id, start, end in compiled.phrases(doc):
                if match_id in compiled.anchor_ids:
                    present.setdefault(match_id, []).append(start)
                    continue
                span = doc[start:end]
                found.add((compiled.keys[match_id], span.start_char, span.end_char))
        for offset, part, matcher in _token_windows(compiled, doc, present):
            for match_id, start, end in matcher(part):
                span = doc[offset + start : offset + end]
                found.add((compiled.keys[match_id], span.start_char, span.end_char))
        return found

    def _regex_batch(
        self, compiled: _Compiled, passages: Sequence[Passage]
    ) -> list[set[tuple[int, int, int]]]:
        """Each passage's regex spans. Which passages hold the strings a regex needs is found
        with one ``str.find`` walk per string over the whole batch; the regex then runs only
        on those passages, each run bounded in time."""
        texts = [p.text for p in passages]
        where: dict[tuple[bool, str], set[int]] = {}
        for ignore_case in (True, False):
            strings = compiled.literals[ignore_case]
            if not strings:
                continue
            # a user's regex sees the original letters: it may mean ё and е differently
            joined = _Joined([t.casefold() for t in texts] if ignore_case else texts)
            for string in strings:
                where[(ignore_case, string)] = joined.holding(string)
        everyone = range(len(passages))
        found: list[set[tuple[int, int, int]]] = [set() for _ in passages]
        for index, regex, required in compiled.regexes:
            if required is None:
                candidates: Iterable[int] = everyone
            else:
                candidates = sorted(set().union(*(where[r] for r in required)))
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


def _token_windows(
    compiled: _Compiled, doc: Doc, present: dict[int, list[int]]
) -> Iterator[tuple[int, Doc | Span, Matcher]]:
    """The parts of ``doc`` a Matcher must see, with the first token's index and the Matcher."""
    if compiled.windows is not None:
        for anchor, starts in present.items():
            matcher, length = compiled.windows[anchor]
            for start in starts:
                yield start, doc[start : min(start + length, len(doc))], matcher
    elif compiled.tokens is not None:
        if compiled.always_tokens or any(a <= present.keys() for a in compiled.anchors):
            yield 0, doc, compiled.tokens


def _regex_spans(index: int, pattern: re.Pattern[str], text: str) -> Iterator[tuple[int, int, int]]:
    # a zero-length match (say ``x*``) marks no words, so it is no evidence
    for m in pattern.finditer(text):
        if m.end() > m.start():
            yield index, m.start(), m.end()


class _Joined:
    """Texts joined with NUL once, to ask which of them contain a string."""

    def __init__(self, texts: Sequence[str]) -> None:
        self.count = len(texts)
        self.joined = "\0".join(texts)
        self.starts: list[int] = []
        offset = 0
        for text in texts:
            self.starts.append(offset)
            offset += len(text) + 1

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


def _holding(texts: Sequence[str], string: str) -> set[int]:
    """Indexes of the ``texts`` that contain ``string``."""
    return _Joined(texts).holding(string)


def _near_spans(
    nears: dict[int, list[_Near]], term_spans: dict[int, list[tuple[int, int]]], doc: Doc
) -> set[tuple[int, int, int]]:
    """Spans of proximity rules: an ``a`` term and a ``b`` term at most ``within`` tokens apart.

    Terms are mapped to the tokens they cover, so a term with spaces or hyphens counts as one
    unit; the distance is the number of tokens strictly between the two terms' nearest ends.
    """
    spans: set[tuple[int, int, int]] = set()
    present = [
        near for group in term_spans for near in nears.get(group, ()) if near.b in term_spans
    ]
    if not present:
        return spans
    # token start offsets, read in C; a term covers the tokens from the one holding its first
    # character to the last one starting before its end
    starts = doc.to_array("IDX").tolist()

    def token_range(start: int, end: int) -> tuple[int, int]:
        return max(bisect_right(starts, start) - 1, 0), bisect_left(starts, end) - 1

    for near in present:
        # b terms sorted by first token, so each a term looks only at the b terms that can be
        # within reach (linear in the hits, not quadratic)
        b_ranges = sorted(
            ((b0, b1, token_range(b0, b1)) for b0, b1 in term_spans[near.b]),
            key=lambda item: item[2][0],
        )
        firsts = [item[2][0] for item in b_ranges]
        longest = max((item[2][1] - item[2][0] for item in b_ranges), default=0)
        for a_start, a_end in term_spans[near.a]:
            a_range = token_range(a_start, a_end)
            low = bisect_left(firsts, a_range[0] - near.within - 1 - longest)
            high = bisect_right(firsts, a_range[1] + near.within + 1)
            for b_start, b_end, b_range in b_ranges[low:high]:
                if a_range[1] < b_range[0]:
                    between = b_range[0] - a_range[1] - 1
                elif b_range[1] < a_range[0]:
                    between = a_range[0] - b_range[1] - 1
                else:  # the same words read as both terms: no pair of terms
                    continue
                if between <= near.within:
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
