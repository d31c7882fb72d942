"""The term index: all of a language's phrase, lemma, glob and proximity terms, in one pass.

Matching must cost little more than tokenizing, so :class:`TermIndex` works a batch of
passages (one document) at a time: the batch's text is joined and split at spaces once, each
distinct chunk and word is classified once (cached) through a dictionary keyed by its
case-insensitive form or a glob's literal start, so a word costs the same with 50 terms or
5,000; a term of several words is searched for only in the passages holding a word of each
of its telling pieces. Nothing is tokenized for terms.
"""

from __future__ import annotations

import importlib
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import TYPE_CHECKING, Any

import numpy as np

from .lemmas import fold

if TYPE_CHECKING:
    pass


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


WORD = re.compile(r"\w+")


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


class TermIndex:
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
        #: one-word patterns: (the glob, is a trigger, group or trigger id)
        self._words: list[tuple[str, bool, int]] = []
        #: word pattern id -> the (lower-case) word itself, when it has no wildcard
        self._plain: list[str | None] = []
        #: word patterns by case key: of the whole word (no wildcard) or of its literal start
        self._exact: dict[str, list[int]] = {}
        self._prefix: dict[str, list[int]] = {}
        #: the prefix keys by their first ``_head_size`` characters, shortest first: a word
        #: looks up its own start once instead of once per prefix size
        self._head_size = 0
        self._prefix_heads: dict[str, list[str]] = {}
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
        for name in (
            "_lock",
            "_cache",
            "_ids",
            "_term_starts",
            "_term_ends",
            "_term_groups",
            "_term_arrays",
            "_term_first",
            "_term_count",
            "_pair_terms",
            "_pair_slots",
            "_pair_arrays",
            "_flags",
            "_lens",
            "_first",
            "_count",
            "_held",
            "_held_first",
            "_held_count",
            "_held_array",
            "_registered",
        ):
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
        piece = WORD if literal else _PIECE
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
        self._words.append((term, trigger, target))
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
        self._head_size = min(map(len, self._prefix), default=0)
        self._prefix_heads = {}
        for key in sorted(self._prefix, key=len):
            self._prefix_heads.setdefault(key[: self._head_size], []).append(key)
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
            # built on first use: most of a lemma's thousands of forms never need a regex
            regex = re.compile(_glob_regex(self._words[index][0]), re.IGNORECASE)
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
        for prefix in self._prefix_heads.get(key[: self._head_size], ()):
            if key.startswith(prefix):
                found += self._prefix[prefix]
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
                    _term, trigger, target = self._words[index]
                    (triggers if trigger else groups).append(target)
            self._cache[word] = (tuple(groups), tuple(triggers))

    def _register(self, chunks: list[str]) -> None:
        """Note, for each new space-separated chunk (numbered in this order), its words that
        are terms (with their places in it) and those that are words of long terms."""
        parts = [[(m.start(), m.end(), m.group()) for m in WORD.finditer(c)] for c in chunks]
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
            for name in (
                "_first",
                "_count",
                "_term_first",
                "_term_count",
                "_held_first",
                "_held_count",
            ):
                setattr(self, name, np.resize(getattr(self, name), room))
        cache = self._cache
        term_starts, term_ends, term_groups = self._term_starts, self._term_ends, self._term_groups
        gated = self._gated(chunks)
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
            held = self._holds(chunk) if number - first in gated else ()
            self._held_first[number] = len(self._held)
            self._held_count[number] = len(held)
            self._held.extend(held)
            self._flags[number] = (1 if terms else 0) | (2 if slots else 0) | (4 if held else 0)
            self._lens[number] = len(chunk) + 1
        self._term_arrays = None
        self._pair_arrays = None
        self._held_array = None

    def _gated(self, chunks: list[str]) -> set[int]:
        """Which of ``chunks`` (by place in the list) pass the watched strings' gate: one
        case-folding and one search of them all, joined with NUL (which no watched string
        holds, so no match runs from one chunk into the next)."""
        gate = self._watch_gate
        if gate is None:
            return set()
        joined = "\0".join(chunks)
        folded = joined.casefold()
        if len(folded) != len(joined):  # a letter folds to several: offsets would not line up
            return {i for i, chunk in enumerate(chunks) if gate.search(chunk.casefold())}
        ends = np.cumsum(np.fromiter(map(len, chunks), dtype=np.int64, count=len(chunks)) + 1)
        starts = [match.start() for match in gate.finditer(folded)]
        return set(np.searchsorted(ends, starts, side="right").tolist())

    def _holds(self, chunk: str) -> list[int]:
        """The watched strings in ``chunk``."""
        assert self._watch_gate is not None
        folded = chunk.casefold()
        if self._watch_gate.search(folded) is None:  # the common case: none
            return []
        lowered = chunk.lower()
        return [
            number
            for number, (fold_case, string) in enumerate(self._watched)
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
        self,
        starts: Sequence[int],
        numbers: np.ndarray,
        flags: np.ndarray,
        text_of: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The texts, groups, starts and ends of the one-word terms of a batch's chunks, in
        order of place: each chunk's entries, shifted to where the chunk stands in its text."""
        matched = np.flatnonzero(flags & 1)
        if self._term_arrays is None:
            self._term_arrays = (
                np.array(self._term_starts, dtype=np.int64),
                np.array(self._term_ends, dtype=np.int64),
                np.array(self._term_groups, dtype=np.int64),
            )
        term_starts, term_ends, term_groups = self._term_arrays
        lengths = self._lens[numbers]
        text_at = _texts_at(text_of, matched)
        offsets = (
            np.cumsum(lengths)[matched] - lengths[matched] - np.asarray(starts, np.int64)[text_at]
        )
        chunks = numbers[matched]
        repeat = self._term_count[chunks]
        steps = np.arange(int(repeat.sum())) - np.repeat(np.cumsum(repeat) - repeat, repeat)
        index = np.repeat(self._term_first[chunks], repeat) + steps
        shift = np.repeat(offsets, repeat)
        return (
            np.repeat(text_at, repeat),
            term_groups[index],
            term_starts[index] + shift,
            term_ends[index] + shift,
        )

    def _long_spans(
        self,
        haystack: str,
        variant: int,
        starts: Sequence[int],
        numbers: np.ndarray,
        flags: np.ndarray,
        text_of: np.ndarray | None,
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
        return {
            key: set(found)
            for key, found in _texts_by_key(self._held_array[index], texts, width).items()
        }

    def _long_candidates(
        self, numbers: np.ndarray, text_of: np.ndarray | None, places: np.ndarray
    ) -> dict[int, list[int]]:
        """Long term -> the texts (in order) that hold a word of each of its slots, given the
        numbers of the chunks holding some long term's word, at ``places`` in the batch
        (``text_of`` gives each place's text; None: one text). All in numpy: (text, chunk)
        pairs, then (term, text, slot) triples, then the (term, text) pairs with every slot
        filled."""
        if self._pair_arrays is None:
            self._pair_arrays = (
                np.array(self._pair_terms, dtype=np.int64),
                np.array(self._pair_slots, dtype=np.int64),
            )
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


def alternatives(forms: Iterable[str], *, whole: bool = False) -> str:
    """A regex body matching any of ``forms`` as written, longest first; with ``whole``, only
    where no letter stands before (written literal first, see :func:`_literal_first`)."""
    ordered = sorted(set(forms), key=lambda f: (-len(f), f))
    shape = partial(_literal_first, literal=True) if whole else partial(_glob_regex, literal=True)
    return "(?:" + "|".join(map(shape, ordered)) + ")"
