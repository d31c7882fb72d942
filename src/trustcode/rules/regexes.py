"""Codebook regexes: which strings every match must hold, and matching with a time limit.

A regex runs only on the passages holding a string of each part every match of it needs
(:func:`required_strings`), found for a whole batch at once. Matching goes through the
``regex`` package with :data:`REGEX_TIMEOUT` per rule and passage: a catastrophic pattern raises
:class:`RegexTimeoutError` naming the code, rule and passage instead of hanging the run.
"""

from __future__ import annotations

import importlib
import re
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import CodebookError

if TYPE_CHECKING:
    pass


#: seconds one regex rule may run on one passage before :class:`RegexTimeoutError`
REGEX_TIMEOUT = 2.0


class RegexTimeoutError(CodebookError):
    """A codebook regex that ran out of time on a passage (catastrophic backtracking).

    The run stops rather than skipping the rule: results that depended on how fast a machine
    is would break "the same inputs give the same tables".
    """


def required_strings(pattern: str, flags: int) -> list[frozenset[str]] | None:
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


def bounded_regex(pattern: re.Pattern[str]) -> Any:
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


def pattern_spans(
    index: int, pattern: re.Pattern[str], text: str
) -> Iterator[tuple[int, int, int]]:
    # a zero-length match (say ``x*``) marks no words, so it is no evidence
    for m in pattern.finditer(text):
        if m.end() > m.start():
            yield index, m.start(), m.end()


class Joined:
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
    def of(cls, joined: str, starts: Sequence[int]) -> Joined:
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
    return Joined(texts).holding(string)
