"""A Word ``.docx`` file -> its body paragraphs, and what stands beside the body.

Body: every paragraph (headings included) is one paragraph of the text; a table gives one
paragraph per row, its cells' text joined by tabs (a table nested in a cell gives its own rows
after that row's). A footnote or endnote reference reads ``[1]`` (endnotes ``[i]``) where it
stands, numbered as Word numbers them, in order. Letters are cleaned as for every format
(:func:`~.letters.clean_letters`); deleted and moved-away revisions are left out.

Beside the body, as the document's metadata: ``footnotes`` (footnotes, then endnotes, each
``"{mark} {text}"``), ``comments`` (``"{author}: {text}"``) and ``apparatus`` (the sections'
headers and footers), never in the text to code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .letters import clean_letters

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
# subtrees whose text is not the paragraph's: properties (tab stops are w:tab there too),
# deleted or moved-away revisions, text boxes (their own paragraphs)
_SKIP = frozenset(f"{_W}{t}" for t in ("pPr", "rPr", "del", "moveFrom", "txbxContent"))
_ROMAN = (
    ("m", 1000),
    ("cm", 900),
    ("d", 500),
    ("cd", 400),
    ("c", 100),
    ("xc", 90),
    ("l", 50),
    ("xl", 40),
    ("x", 10),
    ("ix", 9),
    ("v", 5),
    ("iv", 4),
    ("i", 1),
)


@dataclass
class WordText:
    """What a .docx file yields: body paragraphs and what stands beside them."""

    paragraphs: list[str]
    title: str = ""
    footnotes: list[str] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    apparatus: list[str] = field(default_factory=list)


def _roman(number: int) -> str:
    out = ""
    for letters, value in _ROMAN:
        while number >= value:
            out, number = out + letters, number - value
    return out


class _Marks:
    """Footnote and endnote references, numbered in the order the body makes them."""

    def __init__(self) -> None:
        self.footnotes: list[tuple[str, str]] = []  # (id, mark)
        self.endnotes: list[tuple[str, str]] = []

    def mark(self, tag: str, note_id: str) -> str:
        if tag == f"{_W}footnoteReference":
            self.footnotes.append((note_id, str(len(self.footnotes) + 1)))
            return self.footnotes[-1][1]
        self.endnotes.append((note_id, _roman(len(self.endnotes) + 1)))
        return self.endnotes[-1][1]


def paragraph_text(element: Any, mark: Callable[[str, str], str] | None = None) -> str:
    """The text of a ``w:p`` element: its runs' text, tabs and breaks, note references as
    ``[mark]`` (``mark(tag, id)`` numbers them; without it they are left out)."""
    pieces: list[str] = []
    stack = list(reversed(element))
    while stack:
        node = stack.pop()
        tag = node.tag
        if not isinstance(tag, str) or tag in _SKIP:
            continue
        if tag == f"{_W}t":
            pieces.append(node.text or "")
        elif tag == f"{_W}tab":
            pieces.append("\t")
        elif tag in (f"{_W}br", f"{_W}cr"):
            pieces.append("\n")
        elif tag == f"{_W}noBreakHyphen":
            pieces.append("-")
        elif tag in (f"{_W}footnoteReference", f"{_W}endnoteReference"):
            if mark is not None:
                pieces.append(f"[{mark(tag, node.get(f'{_W}id', ''))}]")
        else:
            stack.extend(reversed(node))
    return clean_letters("".join(pieces)).strip()


def _body(blocks: Iterator[Any], mark: Callable[[str, str], str]) -> Iterator[str]:
    from docx.table import Table

    for block in blocks:
        if isinstance(block, Table):
            yield from _table(block, mark)
        else:
            text = paragraph_text(block._p, mark)
            if text:
                yield text


def _table(table: Any, mark: Callable[[str, str], str]) -> Iterator[str]:
    from docx.table import Table

    for row in table.rows:
        seen: set[int] = set()
        cells: list[str] = []
        nested: list[Any] = []
        for cell in row.cells:
            if id(cell._tc) in seen:  # a merged cell repeats across the columns it spans
                continue
            seen.add(id(cell._tc))
            for block in cell.iter_inner_content():
                if isinstance(block, Table):
                    nested.append(block)
                else:
                    text = paragraph_text(block._p, mark)
                    if text:
                        cells.append(text.replace("\n", " "))
        if cells:
            yield "\t".join(cells)
        for inner in nested:
            yield from _table(inner, mark)


def _part_elements(document: Any, reltype: str, tag: str) -> Iterator[Any]:
    from docx.oxml.parser import parse_xml

    for rel in document.part.rels.values():
        if rel.reltype == reltype and not rel.is_external:
            yield from parse_xml(rel.target_part.blob).iter(f"{_W}{tag}")


def _notes(document: Any, marks: list[tuple[str, str]], reltype: str, tag: str) -> list[str]:
    texts: dict[str, str] = {}
    for note in _part_elements(document, reltype, tag):
        if note.get(f"{_W}type") in (None, "normal"):  # not the separator lines
            paragraphs = (paragraph_text(p) for p in note.iter(f"{_W}p"))
            texts[note.get(f"{_W}id", "")] = " ".join(p for p in paragraphs if p)
    return [f"{mark} {texts[note_id]}" for note_id, mark in marks if texts.get(note_id)]


def _headers_and_footers(document: Any) -> list[str]:
    found: list[str] = []
    for section in document.sections:
        for kind in (
            "header",
            "first_page_header",
            "even_page_header",
            "footer",
            "first_page_footer",
            "even_page_footer",
        ):
            part = getattr(section, kind)
            if part.is_linked_to_previous:
                continue
            name = kind.rsplit("_", 1)[-1]
            for text in _body(part.iter_inner_content(), lambda tag, note_id: ""):
                line = f"{name}: {text}"
                if line not in found:
                    found.append(line)
    return found


def read_word(document: Any) -> WordText:
    """The body paragraphs, notes, comments, headers and footers of an open
    ``docx.Document``.

    >>> import docx  # doctest: +SKIP
    >>> read_word(docx.Document("interview.docx")).paragraphs[0]  # doctest: +SKIP
    'Interview 3'
    """
    from docx.opc.constants import RELATIONSHIP_TYPE as RT

    marks = _Marks()
    paragraphs = list(_body(document.iter_inner_content(), marks.mark))
    footnotes = _notes(document, marks.footnotes, RT.FOOTNOTES, "footnote") + _notes(
        document, marks.endnotes, RT.ENDNOTES, "endnote"
    )
    comments = []
    for comment in _part_elements(document, RT.COMMENTS, "comment"):
        text = " ".join(t for t in (paragraph_text(p) for p in comment.iter(f"{_W}p")) if t)
        if text:
            comments.append(f"{comment.get(f'{_W}author') or 'unknown'}: {text}")
    title = (document.core_properties.title or "").strip()
    return WordText(paragraphs, title, footnotes, comments, _headers_and_footers(document))
