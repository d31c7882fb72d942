"""Token patterns and proximity rules: spaCy tokenizes only the text around their words.

A proximity rule tokenizes only the few chunks of text between an ``a`` and a ``b`` term that
may be near enough; a token pattern only the chunks from a place holding one of the words it
starts with. spaCy tokenizes each whitespace-separated chunk on its own, except for tokenizer
exceptions that hold a space (Russian ``вед. науч. сотр.``), for which such stretches are
widened. Tests check each shortcut against tokenizing the whole passage.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import accumulate, count
from operator import add, sub
from typing import TYPE_CHECKING, Any

from .lemmas import fold
from .regexes import Joined

if TYPE_CHECKING:
    from spacy.matcher import Matcher, PhraseMatcher
    from spacy.tokens import Doc, Span

    from .ruleset import Compiled


def fold_pattern(value: Any) -> Any:
    """Fold every string inside a token pattern, since tokens are matched on folded text."""
    if isinstance(value, str):
        return fold(value)
    if isinstance(value, dict):
        return {k: fold_pattern(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [fold_pattern(v) for v in value]
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


def split_first_in(pattern: list[Any]) -> list[list[Any]]:
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


@dataclass
class Near:
    index: int
    a: int  # term-index group of the a terms
    b: int
    within: int


@dataclass
class Patterns:
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


def add_token_patterns(
    compiled: Compiled, patterns: list[tuple[str, int, list[dict[str, Any]]]]
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
    state = Patterns(anchors=PhraseMatcher(vocab, attr="LOWER"))
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


def pattern_batch(
    compiled: Compiled, folded: Sequence[str], holders: dict[int, set[int]] | None = None
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
        joined = Joined(folded, casefold=True)
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
    compiled: Compiled, state: Patterns, text: str, offsets: set[int]
) -> set[tuple[int, int, int]]:
    """Token-pattern spans of one passage, tokenizing only the chunks around ``offsets``.

    A window of N tokens from a word's token lies within N * :attr:`Compiled.span`
    whitespace-separated chunks (a token covers at least part of one, at most ``span``), so
    those chunks, widened by the tokenizer's :attr:`Compiled.margin`, tokenize as in the
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


def _doc_spans(state: Patterns, doc: Doc) -> set[tuple[int, int, int]]:
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
    state: Patterns, doc: Doc, present: dict[int, list[int]]
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


_SPACES = re.compile(r"(\s+)")


def near_spans(
    compiled: Compiled, term_spans: dict[int, list[tuple[int, int]]], text: str
) -> set[tuple[int, int, int]]:
    """Spans of proximity rules: an ``a`` term and a ``b`` term at most ``within`` tokens apart.

    The distance is the number of spaCy tokens strictly between the two terms: a term covers
    the tokens from the one holding its first character to the last one starting before its
    end, so a term with spaces or hyphens counts as one unit. A token never holds white space
    except in a tokenizer exception (at most :attr:`Compiled.span` chunks), so pairs with too
    many whitespace-separated chunks between them are dropped without tokenizing; for the
    others, only the chunks from one term to the other (widened by the tokenizer's
    :attr:`Compiled.margin`) are tokenized, which gives the tokens of the whole passage there.
    """
    spans: set[tuple[int, int, int]] = set()
    present = [
        near
        for group in compiled.nears.keys() & term_spans.keys()
        for near in compiled.nears[group]
        if near.b in term_spans
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
