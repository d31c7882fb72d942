"""The text formats: plain text and Markdown, HTML (visible text), .docx and .pdf, each
read into its text and title."""

from __future__ import annotations

import logging
import re
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from trustcode.errors import TrustcodeWarning

from .common import Content, DocumentError, read_bytes, require_text
from .decoding import decode_bytes, normalize_newlines


def _read_plain(path: Path) -> Content:
    data = read_bytes(path)
    if not data:
        raise DocumentError(str(path), "is empty (0 bytes): it holds no text to code")
    return Content(require_text(decode_bytes(data, str(path)), str(path), "only white space"))


_HTML_DROP = frozenset({"script", "style", "head", "noscript", "template", "svg", "iframe"})
_HTML_BLOCKS = frozenset(
    "address article aside blockquote body br caption dd details div dl dt fieldset figcaption "
    "figure footer form h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section summary table "
    "tbody thead tfoot tr ul".split()
)
_HTML_CELLS = frozenset({"td", "th"})
_SPACES = re.compile(r"[ \t\n\r\f]+")


def _html_to_text(markup: str) -> tuple[str, str]:
    """Visible text of an HTML page, one paragraph per block element, and its title."""
    from bs4 import BeautifulSoup, CData, NavigableString, Tag

    soup = BeautifulSoup(markup, "lxml")
    title = ""
    for tag_name in ("title", "h1"):
        tag = soup.find(tag_name)
        title = _SPACES.sub(" ", tag.get_text(" ")).strip() if tag is not None else ""
        if title:
            break
    paragraphs: list[str] = []
    pieces: list[str] = []

    def flush() -> None:
        paragraph = _SPACES.sub(" ", "".join(pieces)).strip()
        if paragraph:
            paragraphs.append(paragraph)
        pieces.clear()

    # An explicit stack instead of recursion: deeply nested pages must not hit the limit.
    stack: list[Any] = [soup]
    while stack:
        node = stack.pop()
        if node is flush:
            flush()
        elif isinstance(node, str) and not isinstance(node, NavigableString):
            pieces.append(node)  # a cell separator pushed below
        elif isinstance(node, Tag):
            name = node.name.lower()
            if name in _HTML_DROP:
                continue
            if name == "pre":
                flush()
                text = node.get_text().strip("\n")
                if text.strip():
                    paragraphs.append(text)
                continue
            block = name in _HTML_BLOCKS
            if block:
                flush()
                stack.append(flush)
            elif name in _HTML_CELLS:
                stack.append(" ")
            stack.extend(reversed(node.contents))
        elif type(node) in (NavigableString, CData):
            pieces.append(str(node))
    flush()
    return "\n\n".join(paragraphs), title


def _read_html(path: Path) -> Content:
    text = decode_bytes(read_bytes(path), str(path))
    body, title = _html_to_text(text)
    return Content(require_text(body, str(path), "no visible text"), title)


def _read_docx(path: Path) -> Content:
    import docx
    from lxml.etree import XMLSyntaxError

    from .word import read_word

    try:
        document = docx.Document(str(path))
    except Exception as err:  # python-docx raises zipfile/KeyError/lxml errors on bad files
        raise DocumentError(
            str(path), f"is not a valid .docx file ({type(err).__name__}: {err})"
        ) from None
    try:
        word = read_word(document)
    except (XMLSyntaxError, KeyError, ValueError) as err:  # a damaged notes or comments part
        raise DocumentError(
            str(path), f"is not a valid .docx file ({type(err).__name__}: {err})"
        ) from None
    text = normalize_newlines("\n\n".join(word.paragraphs))
    metadata = {
        name: "\n".join(lines)
        for name, lines in (
            ("footnotes", word.footnotes),
            ("comments", word.comments),
            ("apparatus", word.apparatus),
        )
        if lines
    }
    return Content(
        require_text(text, str(path), "no paragraph or table holds text"), word.title, metadata
    )


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage().strip().rstrip(".")
        if message and message not in self.messages:
            self.messages.append(message)


@contextmanager
def _library_log(name: str) -> Iterator[list[str]]:
    """Collect what a library logs (``name``: its logger) instead of letting Python print it
    on stderr, where ``--quiet`` and trustcode's own warnings do not reach it."""
    logger = logging.getLogger(name)
    handler, propagate = _Collect(), logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def _read_pdf(path: Path) -> Content:
    with _library_log("pypdf") as said:
        content = _read_pdf_pages(path, said)
    for message in said:
        warnings.warn(
            TrustcodeWarning(f"{path}: pypdf: {message}; read anyway, check its text"), stacklevel=2
        )
    return content


def _read_pdf_pages(path: Path, said: list[str]) -> Content:
    """The paragraphs of a PDF; ``said``: what pypdf has logged so far, which explains a
    failure. pypdf checks the file's structure, password and page count (its messages are the
    ones users know); PDFium then reads where each letter stands, for the layout."""
    import pypdfium2
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    from .pdf_layout import MAX_PDF_PAGES, PDFIUM_LOCK, PdfTooLarge, read_pdf_layout

    started = time.monotonic()
    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted and not reader.decrypt(""):
            raise DocumentError(
                str(path), "is an encrypted PDF; save a copy without a password and read that"
            )
        n_pages = len(reader.pages)
        meta = reader.metadata
        title = str(meta.title or "").strip() if meta is not None else ""
    except DocumentError:
        raise
    except (PyPdfError, OSError, ValueError, KeyError, RecursionError) as err:
        detail = "; ".join([f"{type(err).__name__}: {err}", *said])
        raise DocumentError(str(path), f"is not a valid PDF file ({detail})") from None
    if n_pages > MAX_PDF_PAGES:
        raise DocumentError(
            str(path),
            f"is too large to read: it has {n_pages:,} pages; "
            f"trustcode reads at most {MAX_PDF_PAGES:,} (split it first)",
        )
    with PDFIUM_LOCK:  # PDFium is not thread-safe, and Dask workers may run threads
        try:
            document = pypdfium2.PdfDocument(str(path), password="")
        except pypdfium2.PdfiumError as err:
            raise DocumentError(str(path), f"is not a valid PDF file (PDFium: {err})") from None
        try:
            layout = read_pdf_layout(document, started=started)
        except PdfTooLarge as err:
            raise DocumentError(str(path), f"is too large to read: {err}") from None
        finally:
            document.close()
    text = "\n\n".join(layout.paragraphs)
    if not text.strip():
        raise DocumentError(
            str(path),
            "has no extractable text: it may be a scanned PDF, which needs OCR first "
            "(e.g. ocrmypdf) before trustcode can read it",
        )
    metadata = {}
    if layout.apparatus:
        metadata["apparatus"] = "\n".join(layout.apparatus)
    if layout.footnotes:
        metadata["footnotes"] = "\n".join(layout.footnotes)
    return Content(text, title, metadata)


FORMATS = {
    ".txt": _read_plain,
    ".md": _read_plain,
    ".html": _read_html,
    ".htm": _read_html,
    ".docx": _read_docx,
    ".pdf": _read_pdf,
}
