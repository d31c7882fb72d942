"""A PDF's pages -> paragraphs, rebuilt from where the letters stand on the page.

PDFium (through ``pypdfium2``) gives every character with its box, baseline and font size.
From those this module builds lines (a line ends where the baseline moves and the text goes
back to the left, or jumps far right), then paragraphs: consecutive lines of one column join
unless the gap between them is wider than the line spacing, the font size changes (a heading),
the new line is indented or starts a list item, or the new line's first word would have fitted
on the line before (lines wrap only where the next word does not fit). At a page or column break
a paragraph continues when the next column's first line is not indented and the line before
did not close the paragraph.

Lines that repeat in the top or bottom margin across pages (running headers, printer stamps such
as a browser's date and address), page numbers, and small lines at the page's very edge are
the page's furniture: not body text, but kept as the document's ``apparatus``, one line for each
text that repeats with the pages it stands on ('pages 1-3: 1/3 … 3/3' for numbers that change).
Small-type notes under the body of a page that start with a marker are its ``footnotes``,
kept apart from the body, marker and all.
"""

from __future__ import annotations

import ctypes
import re
import statistics
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .letters import LINE_END_HYPHENS, clean_letters, join_lines, known_words

#: at most this many pages are read from one PDF (a PDF bomb can declare millions)
MAX_PDF_PAGES = 5_000
#: at most this many characters are read from one PDF, all pages together
MAX_PDF_CHARS = 50_000_000
#: the longest one PDF may take to read, in seconds
MAX_PDF_SECONDS = 300.0
#: held while PDFium works: one thread at a time (the library is not thread-safe)
PDFIUM_LOCK = threading.Lock()

_MARGIN_SHARE = 0.15  # the top and bottom share of a page where running heads and feet stand
_EDGE_SHARE = 0.06  # the outer strip where a lone small line is taken for a printer's stamp
# a sentence's end, perhaps inside quotes or brackets, perhaps with a note mark after it
_TERMINAL = re.compile(r"[.!?…:;]['\"’”»)\]]*[*†‡¹²³⁴-⁹]*$")
_BULLET = re.compile(r"^([•◦▪▫●○■□‣⁃–—·*-]\s|\(?\d{1,3}[.)]\s|\(?[a-zа-я][.)]\s)")
_PAGE_NUMBER = re.compile(
    r"^[-–—\s]*((page|p\.|стр\.?|страница|seite|página)\s*)?(\d{1,5}|[ivxlcdm]{1,8})"
    r"(\s*(/|of|из|von|de)\s*\d{1,5})?[-–—\s]*$",
    re.IGNORECASE,
)
_NOTE_MARKER = re.compile(r"^(\d{1,3}|[*†‡§¶]{1,3})(?![\d.,])(?=\s*\S)")
_DIGITS = re.compile(r"\d+")
_MARKS = frozenset("0123456789*†‡§¶")  # not letters: a raised ordinal ('5th') is no mark


class PdfTooLarge(Exception):
    """A PDF past one of the reading bounds; ``str(err)`` says which."""


@dataclass
class _Line:
    page: int
    x0: float
    x1: float
    top: float
    bottom: float
    baseline: float
    height: float
    size: float
    text: str
    first_word: float  # the width of its first word: would it have fitted on the line above?


@dataclass
class PdfText:
    """What a PDF's layout yields: body paragraphs, furniture lines and footnotes."""

    paragraphs: list[str]
    apparatus: list[str] = field(default_factory=list)
    footnotes: list[str] = field(default_factory=list)


class _LineBuilder:
    """Characters, in the order PDFium reads them, gathered into lines."""

    def __init__(self, page: int) -> None:
        self.page = page
        self.lines: list[_Line] = []
        self._chars: list[str] = []
        self._sizes: Counter[float] = Counter()
        self._space: bool | str = False
        self._box = [0.0, 0.0, 0.0, 0.0]  # x0, x1, top, bottom
        self._baseline = 0.0
        self._height = 0.0
        self._last_x1 = 0.0
        self._first_word = 0.0
        self._in_first_word = True
        self._in_mark = False

    def space(self, generated: bool = False) -> None:
        """A space before the next letter; ``generated``: PDFium's guess from a gap, which
        is checked against the gap itself (it puts one between '2011' and '—', touching)."""
        self._space = bool(self._chars) and (self._space is True or not generated or "guess")
        self._in_first_word = not self._chars

    def add(
        self,
        char: str,
        left: float,
        right: float,
        top: float,
        bottom: float,
        baseline: float,
        size: float,
    ) -> None:
        height = bottom - top
        if self._chars:
            rise = abs(baseline - self._baseline)
            reach = height if height > self._height else self._height
            back = left < self._last_x1 - 0.3 * reach
            far = left > self._last_x1 + 3.0 * reach
            if rise > 0.8 * reach or (back and rise > 0.15 * reach) or far:
                self.close()
        if not self._chars:
            self._box = [left, right, top, bottom]
            self._baseline, self._height = baseline, height
            self._in_first_word = True
        raised = (
            bool(self._chars)
            and char in _MARKS
            and height < 0.85 * self._height
            and baseline < self._baseline - 0.2 * self._height
        )
        if self._in_mark and not raised:
            self._chars.append("]")
            self._in_mark = False
        if self._chars and (
            self._space is True or (self._space and left > self._last_x1 + 0.1 * height)
        ):
            self._chars.append(" ")
        if raised and not self._in_mark:  # a note mark set high and small: 'fined[1]'
            self._chars.append("[")
            self._in_mark = True
        self._space = False
        self._chars.append(char)
        self._sizes[size] += 1
        box = self._box  # min and max spelt out: this runs once per letter of the document
        if left < box[0]:
            box[0] = left
        if right > box[1]:
            box[1] = right
        if top < box[2]:
            box[2] = top
        if bottom > box[3]:
            box[3] = bottom
        if height > self._height:  # the line's baseline is that of its tallest letters
            self._baseline, self._height = baseline, height
        self._last_x1 = right
        if self._in_first_word:
            self._first_word = right - box[0]

    def close(self) -> None:
        if self._in_mark:
            self._chars.append("]")
            self._in_mark = False
        text = "".join(self._chars).strip()
        if text:
            x0, x1, top, bottom = self._box
            size = round(self._sizes.most_common(1)[0][0], 1)
            self.lines.append(
                _Line(
                    self.page,
                    x0,
                    x1,
                    top,
                    bottom,
                    self._baseline,
                    self._height,
                    size,
                    text,
                    self._first_word,
                )
            )
        self._chars, self._sizes, self._space = [], Counter(), False
        self._in_first_word = True


def _page_lines(page: Any, number: int, budget: list[int]) -> list[_Line]:
    import pypdfium2.raw as pdfium_c

    textpage = page.get_textpage()
    try:
        handle = textpage.raw
        height = page.get_height()
        count = pdfium_c.FPDFText_CountChars(handle)
        budget[0] -= max(count, 0)
        if budget[0] < 0:
            raise PdfTooLarge(f"it holds more than {MAX_PDF_CHARS:,} characters")
        builder = _LineBuilder(number)
        rect = pdfium_c.FS_RECTF()
        ox, oy = ctypes.c_double(), ctypes.c_double()
        unicode_of, box_of = pdfium_c.FPDFText_GetUnicode, pdfium_c.FPDFText_GetLooseCharBox
        origin_of, size_of = pdfium_c.FPDFText_GetCharOrigin, pdfium_c.FPDFText_GetFontSize
        add = builder.add
        high = 0
        for index in range(count):
            code = unicode_of(handle, index)
            if 0xD800 <= code < 0xDC00:  # the first half of a letter beyond the BMP
                high = code
                continue
            if 0xDC00 <= code < 0xE000:
                code = 0x10000 + ((high - 0xD800) << 10) + (code - 0xDC00) if high else 0xFFFD
            high = 0
            char = chr(code)
            if code == 0 or char in "\r\n" or (char.isspace() and char != "\u00a0"):
                builder.space(bool(pdfium_c.FPDFText_IsGenerated(handle, index)))
                continue
            box_of(handle, index, rect)
            origin_of(handle, index, ox, oy)
            add(
                char,
                rect.left,
                rect.right,
                height - rect.top,
                height - rect.bottom,
                height - oy.value,
                size_of(handle, index),
            )
        builder.close()
        return builder.lines
    finally:
        textpage.close()


def _clean(text: str) -> str:
    if text.endswith("\u00ad"):  # a line-end soft hyphen still tells the joiner to join
        return clean_letters(text[:-1]) + "\u00ad"
    return clean_letters(text)


def read_pdf_layout(document: Any, *, started: float | None = None) -> PdfText:
    """The paragraphs, furniture and footnotes of an open ``pypdfium2.PdfDocument``.

    Raises :class:`PdfTooLarge` past :data:`MAX_PDF_PAGES`, :data:`MAX_PDF_CHARS` or
    :data:`MAX_PDF_SECONDS`.

    >>> import pypdfium2  # doctest: +SKIP
    >>> read_pdf_layout(pypdfium2.PdfDocument("report.pdf")).paragraphs[0]  # doctest: +SKIP
    'Trust across borders'
    """
    started = time.monotonic() if started is None else started
    n_pages = len(document)
    if n_pages > MAX_PDF_PAGES:
        raise PdfTooLarge(f"it has {n_pages:,} pages; trustcode reads at most {MAX_PDF_PAGES:,}")
    budget = [MAX_PDF_CHARS]
    pages: list[list[_Line]] = []
    heights: list[float] = []
    for number in range(n_pages):
        if time.monotonic() - started > MAX_PDF_SECONDS:
            raise PdfTooLarge(
                f"reading it took longer than {MAX_PDF_SECONDS:.0f} s "
                f"(stopped at page {number + 1} of {n_pages})"
            )
        page = document[number]
        try:
            heights.append(page.get_height())
            lines = _page_lines(page, number, budget)
        finally:
            page.close()
        for line in lines:
            line.text = _clean(line.text)
        pages.append([line for line in lines if line.text.strip()])
    return _layout(pages, heights)


def _layout(pages: list[list[_Line]], heights: list[float]) -> PdfText:
    furniture = _furniture(pages, heights)
    apparatus = _apparatus(furniture)
    apart = {id(line) for line in furniture}
    body_pages = [[line for line in lines if id(line) not in apart] for lines in pages]
    body_size = _body_size(body_pages)
    footnotes: list[str] = []
    if body_size:
        for lines in body_pages:
            footnotes.extend(_take_footnotes(lines, body_size))
    body = [line for lines in body_pages for line in lines]
    words = known_words([line.text for line in body])
    paragraphs = [
        join_lines([line.text for line in group], words) for group in _paragraphs(body_pages)
    ]
    return PdfText([p for p in paragraphs if p.strip()], apparatus, footnotes)


def _apparatus(furniture: list[_Line]) -> list[str]:
    """The furniture as a short record: a line per text (numbers aside), with its pages."""
    groups: dict[str, list[_Line]] = {}
    for line in furniture:
        groups.setdefault(_DIGITS.sub("#", line.text).casefold(), []).append(line)
    record = []
    for lines in groups.values():
        pages = sorted({line.page + 1 for line in lines})
        spans: list[list[int]] = []
        for page in pages:
            if spans and page == spans[-1][1] + 1:
                spans[-1][1] = page
            else:
                spans.append([page, page])
        where = ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)
        first, last = lines[0].text, lines[-1].text
        text = first if first == last else f"{first} … {last}"
        record.append(f"page{'s' if len(pages) > 1 else ''} {where}: {text}")
    return record


def _furniture(pages: list[list[_Line]], heights: list[float]) -> list[_Line]:
    """Running heads and feet, page numbers and printer stamps, in page order."""

    def in_margin(line: _Line, share: float) -> bool:
        height = heights[line.page]
        return line.bottom < share * height or line.top > (1 - share) * height

    def key(line: _Line) -> str:
        return _DIGITS.sub("#", line.text).casefold().strip()

    pages_with: Counter[str] = Counter()
    for lines in pages:
        pages_with.update({key(line) for line in lines if in_margin(line, _MARGIN_SHARE)})
    repeated = max(2, len(pages) // 2) if len(pages) > 2 else 2
    # the body's size, from the lines away from the page's edges, where stamps stand
    common_size = _body_size(
        [[line for line in lines if not in_margin(line, _EDGE_SHARE)] for lines in pages]
    )
    found: list[_Line] = []
    for lines in pages:
        for line in lines:
            # a heading set larger than the body ('Chapter 2' atop its page) is no running head
            if (
                in_margin(line, _MARGIN_SHARE)
                and line.size <= 1.05 * common_size
                and (pages_with[key(line)] >= repeated or _PAGE_NUMBER.match(line.text))
            ):
                found.append(line)
            elif (
                in_margin(line, _EDGE_SHARE)
                and line.size < 0.9 * common_size
                and (_alone(line, lines) or _outermost(line, lines))
            ):
                found.append(line)
    return found


def _alone(line: _Line, lines: list[_Line]) -> bool:
    """Whether no other line of its column stands within two of its heights of it."""
    return all(
        other.bottom < line.top - 2 * line.height or other.top > line.bottom + 2 * line.height
        for other in lines
        if other is not line and not (other.x1 < line.x0 or other.x0 > line.x1)
    )


def _outermost(line: _Line, lines: list[_Line]) -> bool:
    return all(other.top >= line.top for other in lines) or all(
        other.bottom <= line.bottom for other in lines
    )


def _body_size(pages: list[list[_Line]]) -> float:
    """The font size most of the letters are set in."""
    sizes: Counter[float] = Counter()
    for lines in pages:
        for line in lines:
            sizes[line.size] += len(line.text)
    return sizes.most_common(1)[0][0] if sizes else 0.0


def _take_footnotes(lines: list[_Line], body_size: float) -> list[str]:
    """Removes from ``lines`` the small-type notes at the bottom of the page and returns them,
    one per marker, each as ``"{marker} {text}"``."""
    start = len(lines)
    while start > 0 and lines[start - 1].size < 0.9 * body_size:
        start -= 1
    tail = lines[start:]
    if not tail or start == 0 or not _NOTE_MARKER.match(tail[0].text):
        return []
    if tail[0].top < max(line.bottom for line in lines[:start]):
        return []  # not under the body text: a caption or a small paragraph, not notes
    notes: list[list[str]] = []
    for line in tail:
        if _NOTE_MARKER.match(line.text) and (not notes or line.x0 <= tail[0].x0 + line.height):
            notes.append([line.text])
        else:
            notes[-1].append(line.text)
    del lines[start:]
    return [join_lines(note, set()) for note in notes]


def _paragraphs(pages: list[list[_Line]]) -> Iterator[list[_Line]]:
    """The body lines grouped into paragraphs, across page and column breaks."""
    edges = {id(line): _column_edges(line, lines) for lines in pages for line in lines}
    pitches = _typical_pitches(pages)
    bottom = max((line.bottom for lines in pages for line in lines), default=0.0)
    group: list[_Line] = []
    previous: _Line | None = None
    for line in (line for lines in pages for line in lines):
        if previous is not None and _starts_paragraph(previous, line, edges, pitches, bottom):
            yield group
            group = []
        group.append(line)
        previous = line
    if group:
        yield group


def _column_edges(line: _Line, lines: list[_Line]) -> tuple[float, float]:
    """The left and right edges of the column ``line`` stands in, from the page's lines that
    share some of its width: the commonest left edge, and a right edge that one word too long
    for the column (a long address running past it) does not move."""
    beside = [o for o in lines if not (o.x1 < line.x0 or o.x0 > line.x1)]
    lefts = Counter(round(o.x0) for o in beside)
    left = min(x for x, n in lefts.items() if n == max(lefts.values()))
    rights = sorted(o.x1 for o in beside)
    right = rights[-1] if len(rights) < 8 else rights[int(0.95 * (len(rights) - 1))]
    return min(left, line.x0), right


def _typical_pitches(pages: list[list[_Line]]) -> dict[float, float]:
    """The usual baseline-to-baseline distance of each font size, within a paragraph."""
    seen: dict[float, list[float]] = {}
    for lines in pages:
        for above, below in zip(lines, lines[1:], strict=False):
            pitch = below.baseline - above.baseline
            if above.size == below.size and 0 < pitch < 3 * above.height:
                seen.setdefault(above.size, []).append(pitch)
    # the lower quartile: most pairs are lines of one paragraph, and gaps only lengthen pitch
    return {
        size: statistics.quantiles(p, n=4)[0] if len(p) > 3 else min(p) for size, p in seen.items()
    }


def _starts_paragraph(
    above: _Line,
    line: _Line,
    edges: dict[int, tuple[float, float]],
    pitches: dict[float, float],
    bottom: float,
) -> bool:
    height = max(above.height, line.height, 1e-6)
    left, _ = edges[id(line)]
    a_left, a_right = edges[id(above)]
    if abs(above.size - line.size) > 0.12 * max(above.size, line.size):
        return True
    indented = line.x0 > left + 0.8 * height
    terminal = bool(_TERMINAL.search(above.text))
    # lines wrap where the next word no longer fits: if it would have, the paragraph ended
    short = (
        above.x1 + 0.5 * height + line.first_word < a_right
        and above.text[-1] not in LINE_END_HYPHENS
    )
    if _BULLET.match(line.text) and short:
        return True
    if line.page != above.page or line.top < above.top - 0.5 * height:
        # a new page or column: continue unless the paragraph visibly closed
        if indented or short:
            return True
        if not terminal or line.text[:1].islower():
            return False
        return above.bottom + 1.5 * height < bottom
    pitch = line.baseline - above.baseline
    usual = pitches.get(above.size, 1.25 * height)
    if pitch > usual + 0.3 * height:
        return True
    if indented and not (above.x0 > a_left + 0.8 * height or _BULLET.match(above.text)):
        return True
    return short
