"""Document -> passages, with exact code-point offsets.

Units:

- ``paragraph`` (default): blocks separated by blank lines (lines holding only white space).
  A text with no blank line splits at every line break instead. Each block is trimmed of the
  white space at its ends; empty blocks are dropped.
- ``sentence``: sentences within paragraphs (spaCy's rule-based sentencizer; a sentence never
  crosses a paragraph boundary).
- ``window:N`` or ``window:N:S``: N consecutive sentences, moving S sentences at a time
  (default S = max(1, N // 2), so windows overlap by half).

A block longer than :data:`MAX_PASSAGE_CHARS` (a whole book on one line, a dump without line
breaks) is cut at white space into pieces of at most that length, with a warning: a passage of
that size is not a unit anyone codes, and it would cost time and memory out of all proportion.

Every passage satisfies ``document.text[p.start:p.end] == p.text``.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

from .errors import TrustcodeWarning, UsageError
from .types import Document, Passage

#: the longest passage any unit produces; longer blocks are cut at white space
MAX_PASSAGE_CHARS = 100_000

_BLANK_LINE_SPLIT = re.compile(r"\n[^\S\n]*\n\s*")
_LINE_SPLIT = re.compile(r"\n")


@dataclass(frozen=True)
class Unit:
    """A parsed segmentation unit."""

    kind: str
    size: int = 1
    stride: int = 1

    def __str__(self) -> str:
        if self.kind != "window":
            return self.kind
        return f"window:{self.size}:{self.stride}"


def parse_unit(unit: str | Unit) -> Unit:
    """Parse ``paragraph``, ``sentence``, ``window:N`` or ``window:N:S``.

    >>> parse_unit("window:3")
    Unit(kind='window', size=3, stride=1)
    """
    if isinstance(unit, Unit):
        return unit
    text = str(unit).strip().lower()
    if text in ("paragraph", "sentence"):
        return Unit(text)
    match = re.fullmatch(r"window:(\d+)(?::(\d+))?", text)
    if match:
        size = int(match.group(1))
        stride = int(match.group(2)) if match.group(2) else max(1, size // 2)
        if size >= 1 and 1 <= stride <= size:
            return Unit("window", size, stride)
    raise UsageError(
        f"Unknown unit {unit!r}: expected 'paragraph', 'sentence', 'window:N' or 'window:N:S' "
        "with 1 <= S <= N (for example 'window:3')."
    )


def _trimmed_spans(text: str, splitter: re.Pattern[str]) -> Iterator[tuple[int, int]]:
    pos = 0
    bounds = [(m.start(), m.end()) for m in splitter.finditer(text)]
    bounds.append((len(text), len(text)))
    for cut_start, cut_end in bounds:
        start, end = pos, cut_start
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start < end:
            yield start, end
        pos = cut_end


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each paragraph of ``text``.

    >>> paragraph_spans("One.\\n\\nTwo.")
    [(0, 4), (6, 10)]
    """
    splitter = _BLANK_LINE_SPLIT if _BLANK_LINE_SPLIT.search(text) else _LINE_SPLIT
    return list(_trimmed_spans(text, splitter))


def sentence_spans(text: str, language: str | None) -> list[tuple[int, int]]:
    """(start, end) of each sentence of ``text``, within paragraphs."""
    from .nlp import sentencizer

    nlp = sentencizer(language)
    paragraphs = split_long(text, paragraph_spans(text))
    spans: list[tuple[int, int]] = []
    for (p_start, _p_end), doc in zip(
        paragraphs, nlp.pipe(text[s:e] for s, e in paragraphs), strict=True
    ):
        for sent in doc.sents:
            s_text = sent.text
            start = p_start + sent.start_char
            end = p_start + sent.end_char
            # trim white space at the ends so a sentence never starts or ends with a blank
            while start < end and text[start].isspace():
                start += 1
            while end > start and text[end - 1].isspace():
                end -= 1
            if start < end and s_text.strip():
                spans.append((start, end))
    return spans


def window_spans(sentences: list[tuple[int, int]], size: int, stride: int) -> list[tuple[int, int]]:
    """Windows of ``size`` sentences moving ``stride`` at a time; the last window reaches the end.

    >>> window_spans([(0, 1), (2, 3), (4, 5)], 2, 1)
    [(0, 3), (2, 5)]
    """
    if not sentences:
        return []
    if len(sentences) <= size:
        return [(sentences[0][0], sentences[-1][1])]
    spans = []
    first = 0
    while True:
        last = min(first + size, len(sentences)) - 1
        spans.append((sentences[first][0], sentences[last][1]))
        if last == len(sentences) - 1:
            break
        first += stride
    return spans


def split_long(
    text: str, spans: list[tuple[int, int]], limit: int = MAX_PASSAGE_CHARS
) -> list[tuple[int, int]]:
    """Cut spans longer than ``limit`` at the last white space before it (hard, if none).

    >>> split_long("aaa bbb ccc", [(0, 11)], limit=5)
    [(0, 3), (4, 7), (8, 11)]
    """
    out: list[tuple[int, int]] = []
    for start, end in spans:
        while end - start > limit:
            cut = start + limit
            space = cut
            while space > start and not text[space].isspace():
                space -= 1
            if space > start:
                cut = space
            piece_end = cut
            while piece_end > start and text[piece_end - 1].isspace():
                piece_end -= 1
            out.append((start, piece_end))
            start = cut
            while start < end and text[start].isspace():
                start += 1
        if start < end:
            out.append((start, end))
    return out


def segment(document: Document, unit: str | Unit = "paragraph") -> list[Passage]:
    """Cut a document into passages of the given unit.

    >>> [p.text for p in segment(Document("d", "One.\\n\\nTwo."))]
    ['One.', 'Two.']
    """
    parsed = parse_unit(unit)
    text = document.text
    if parsed.kind == "paragraph":
        spans = paragraph_spans(text)
        if any(e - s > MAX_PASSAGE_CHARS for s, e in spans):
            warnings.warn(
                f"{document.doc_id}: a paragraph is longer than {MAX_PASSAGE_CHARS:,} characters; "
                "it was cut at white space into passages of at most that length.",
                TrustcodeWarning,
                stacklevel=2,
            )
            spans = split_long(text, spans)
    else:
        spans = sentence_spans(text, document.language)
        if parsed.kind == "window":
            spans = window_spans(spans, parsed.size, parsed.stride)
    return [
        Passage(document.doc_id, index, start, end, text[start:end])
        for index, (start, end) in enumerate(spans)
    ]
