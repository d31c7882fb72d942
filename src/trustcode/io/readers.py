"""The ``read`` stage: files and folders -> :class:`~trustcode.types.Document`.

Formats: ``.txt`` ``.md`` (text as is), ``.html``/``.htm`` (visible text), ``.docx``, ``.pdf``,
``.csv``/``.xlsx`` (one row per document), and folders (recursive, or listed by a
``manifest.csv``). The text a reader returns is the normalized text every later offset refers to:
byte-level files lose only a leading BOM and have ``\\r\\n``/``\\r`` turned into ``\\n``.

>>> from trustcode.io.readers import normalize_newlines
>>> normalize_newlines("\\ufeffone\\r\\ntwo\\rthree")
'one\\ntwo\\nthree'
"""

from __future__ import annotations

import codecs
import csv
import datetime as _dt
import io
import os
import re
import unicodedata
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, overload

from trustcode.errors import DocumentSkipped, InputError, TrustcodeWarning
from trustcode.types import Document

__all__ = [
    "SUPPORTED_SUFFIXES",
    "CorpusEntry",
    "CorpusReader",
    "decode_bytes",
    "detect_language",
    "folder_entries",
    "normalize_newlines",
    "read_corpus",
    "read_document",
    "read_entry",
]

#: File suffixes trustcode reads (matched case-insensitively).
SUPPORTED_SUFFIXES: tuple[str, ...] = (
    ".txt",
    ".md",
    ".html",
    ".htm",
    ".docx",
    ".pdf",
    ".csv",
    ".xlsx",
)
_TABLE_SUFFIXES = (".csv", ".xlsx")
_MANIFEST_NAME = "manifest.csv"
_MANIFEST_REQUIRED = ("doc_id", "path")
_MANIFEST_FIELDS = ("doc_id", "path", "title", "language")

_PathLike = str | os.PathLike[str]


class _DocumentError(InputError):
    """One document (or one table file) that cannot be read; ``reason`` omits the source so
    that a skip warning can say ``{source}: {reason}; skipped`` without repeating it."""

    def __init__(self, source: str, reason: str) -> None:
        self.source = source
        self.reason = reason
        super().__init__(f"{source}: {reason}")

    def __reduce__(self) -> tuple[Any, ...]:
        # a worker process sends it back pickled; the default would call __init__(message)
        return (type(self), (self.source, self.reason))


# --- text normalization and decoding -------------------------------------------------------


def normalize_newlines(text: str) -> str:
    """Drop a leading byte-order mark and turn ``\\r\\n`` and lone ``\\r`` into ``\\n``.

    Nothing else changes (trailing white space stays), because every offset later refers to
    this text. A run of leading BOMs goes, so that normalizing twice changes nothing.

    >>> normalize_newlines("\\ufeffa\\r\\nb\\rc  \\n")
    'a\\nb\\nc  \\n'
    """
    text = text.lstrip("\ufeff")
    return text.replace("\r\n", "\n").replace("\r", "\n")


_BOMS: tuple[tuple[bytes, str], ...] = (
    # UTF-32 first: its little-endian BOM begins with UTF-16's.
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_SNIFF_BYTES = 8192
_CYRILLIC_CANDIDATES = ("cp1251", "koi8_r", "cp866", "iso8859_5")
# Approximate frequencies of Russian letters (per mille of letters in running text). A right
# decoding of Russian text turns its non-ASCII bytes into frequent letters; a wrong one scrambles
# them into rare letters, box-drawing signs or capitals inside words.
_RUSSIAN_FREQ: dict[str, int] = {
    item[0]: int(item[1:])
    for item in (
        "о110 е85 а80 и73 н67 т63 с55 р47 в45 л44 к35 м32 д30 п28 у26 я20 ы19 ь17 г17 з16 б16 "
        "ч14 й12 х10 ж9 ш7 ю6 ц5 щ4 э3 ф3 ъ1 ё1"
    ).split()
}
# Frequent Russian letter pairs: they tell right from wrong where single letters are too few
# to (short or all-capital texts, whose wrong decodings come out as small letters).
_RUSSIAN_PAIRS = frozenset(
    "ст но то на ен ов ни ра во ко ро ре не ос пр по ал ер ли го ол ет ел ан ит од ка ом ва "
    "ор ла де ог ль ть ие ат ем ой ый ий ся ия ам ми ки ск ти ле те ин ло он ак ве ри ед ес "
    "об ей ых их ая ое мо от за ас ис ым им ны вы ди ее ию ци ма да чт ме тв ив ру ту ку лу "
    "му ду су ну щи ще ющ из зн нн сл ьн тр кр др вл пл бл дл бы ты лы мы ря тя ля ня ья ее "
    "еж ед ел ез ек ем ен ер ес ет ев ег уп ус ут уд ук ул ум ун уж юд ют ав ад аж аз ай ак "
    "ап ар ах ач аш ел иц ич ищ ик ил ир их ия ки ни пе пи пу ре се си со сп сс ст та ти тс "
    "уч хо це че чи ша шо ше щи эт юр яв яз ям ян яс ят".split()
)
_CYRILLIC_PAIR = re.compile(r"(?=([а-яё]{2}))")
_CASE_BREAK = re.compile(r"[а-яё][А-ЯЁ]")
_CYRILLIC = "\u0400-\u052f\u1c80-\u1c8f\u2de0-\u2dff\ua640-\ua69f"
_LATIN = "A-Za-z\u00aa\u00ba\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff"
_WORD = re.compile(r"[^\W\d_]+")
_HAS_CYRILLIC = re.compile(f"[{_CYRILLIC}]")
_HAS_LATIN = re.compile(f"[{_LATIN}]")


def decode_bytes(data: bytes, source: str) -> str:
    """Decode a file's bytes to normalized text, detecting the encoding.

    Order: a BOM (UTF-8, UTF-16 LE/BE, UTF-32) decides; NUL bytes in the first 8 KiB mean
    UTF-16 without BOM if the NULs all fall on one byte parity and the text decodes cleanly,
    else a binary file; then strict UTF-8; then the Cyrillic single-byte encodings (cp1251,
    KOI8-R, cp866, ISO-8859-5), the one whose letters look most like Russian; then
    charset-normalizer. ``source`` names the file in errors.

    >>> decode_bytes("Привет, мир\\r\\n".encode("cp1251"), "hello.txt")
    'Привет, мир\\n'
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return normalize_newlines(_decode_strict(data[len(bom) :], encoding, source))
    head = data[:_SNIFF_BYTES]
    if b"\x00" in head:
        text = _utf16_without_bom(data)
        if text is None:
            raise _DocumentError(
                source,
                "is a binary file (NUL bytes in its first 8 KiB, and it is not UTF-16 text); "
                "save it as plain text (UTF-8), .docx or .pdf",
            )
        return normalize_newlines(text)
    try:
        return normalize_newlines(data.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    text = _decode_cyrillic(data)
    if text is None:
        text = _decode_with_charset_normalizer(data, source)
    return normalize_newlines(text)


def _decode_strict(data: bytes, encoding: str, source: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as err:
        raise _DocumentError(
            source,
            f"starts with a {encoding.upper()} byte-order mark but byte {err.start} is not "
            f"valid {encoding.upper()}; save the file again as UTF-8",
        ) from None


def _utf16_without_bom(data: bytes) -> str | None:
    if len(data) % 2:
        return None
    head = data[:_SNIFF_BYTES]
    even_nuls = head[0::2].count(0)
    odd_nuls = head[1::2].count(0)
    if even_nuls and odd_nuls:
        return None
    encoding = "utf-16-le" if odd_nuls else "utf-16-be"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        return None
    return text if _looks_like_text(text) else None


def _looks_like_text(text: str) -> bool:
    """At most 1% control or unassigned characters (besides white space) and no U+FFFD."""
    if "\ufffd" in text or not text:
        return False
    odd = sum(
        1
        for ch in text
        if ch not in "\t\n\r\f\v" and unicodedata.category(ch) in ("Cc", "Cn", "Co", "Cs")
    )
    return odd <= len(text) * 0.01


def _russian_score(text: str) -> float:
    """How Russian the non-ASCII characters of ``text`` look: their mean letter frequency,
    raised by frequent letter pairs, lowered by capitals that follow a small letter inside a
    word (``пРИВЕТ`` is a wrong decoding); 0 when most Cyrillic words are glued to Latin
    letters (a Western text decoded as Cyrillic)."""
    non_ascii = [ch.lower() for ch in text if ord(ch) > 127]
    if not non_ascii:
        return 0.0
    cyrillic_words = mixed_words = 0
    for word in _WORD.findall(text):
        if _HAS_CYRILLIC.search(word):
            cyrillic_words += 1
            if _HAS_LATIN.search(word):
                mixed_words += 1
    if cyrillic_words == 0 or mixed_words * 2 > cyrillic_words:
        return 0.0
    frequency = sum(_RUSSIAN_FREQ.get(ch, 0) for ch in non_ascii) / len(non_ascii)
    breaks = len(_CASE_BREAK.findall(text))
    pairs = _CYRILLIC_PAIR.findall(text.lower())
    common = sum(1 for pair in pairs if pair in _RUSSIAN_PAIRS) / len(non_ascii)
    case = max(0.0, 1.0 - 2.0 * breaks / len(non_ascii))
    return frequency * case * (1.0 + 2.0 * common)


def _decode_cyrillic(data: bytes) -> str | None:
    # charset-normalizer often mixes cp1251 and KOI8-R up on short texts; scoring each decoding
    # by how Russian its letters look separates them reliably (case ranges are swapped). The
    # first 64 KiB decide: enough letters, and a large file is not scored four times over.
    sample = data[:65536]
    best: tuple[float, str] | None = None
    for encoding in _CYRILLIC_CANDIDATES:
        try:
            data.decode(encoding)  # every byte must be defined in the winner
        except UnicodeDecodeError:
            continue
        score = _russian_score(sample.decode(encoding))
        if best is None or score > best[0]:
            best = (score, encoding)
    # Russian text scores about 130 (short lines down to about 60), wrong decodings about 15.
    if best is None or best[0] < 40:
        return None
    text = data.decode(best[1])
    return text if _looks_like_text(text) else None


def _decode_with_charset_normalizer(data: bytes, source: str) -> str:
    from charset_normalizer import from_bytes

    match = from_bytes(data).best()
    text = str(match) if match is not None else ""
    if match is None or not _looks_like_text(text):
        raise _DocumentError(
            source,
            "cannot be decoded as text: it is not UTF-8, UTF-16, cp1251 or KOI8-R and no other "
            "encoding fits; save it as UTF-8 (or check that it is a text file)",
        )
    return text


# --- language -------------------------------------------------------------------------------

_LETTERS = re.compile(r"[^\W\d_]")
_CYRILLIC_LETTERS = re.compile(f"[{_CYRILLIC}]")
_LATIN_LETTERS = re.compile(f"[{_LATIN}]")


#: how a long text is sampled for language detection: counting every letter of a corpus cost
#: about a fifth of rules-only coding, and 10,000 letters decide a two-way guess as well
_SAMPLES, _SAMPLE_CHARS = 20, 500

# The counting runs on the UTF-8 bytes of the sample: an ASCII letter is one byte in A-Z a-z,
# and a character of the basic Cyrillic block (U+0400-U+04FF) is the only one whose first byte
# is 0xD0-0xD3 (continuation bytes are 0x80-0xBF). bytes.translate deletes and counts these
# at memory speed; the few characters outside ASCII and that block are classified one by one.
_ASCII_LETTER_BYTES = bytes(range(0x41, 0x5B)) + bytes(range(0x61, 0x7B))
_ALL_BUT_CYRILLIC_LEADS = bytes(b for b in range(256) if not 0xD0 <= b <= 0xD3)
_NON_ASCII_BYTES = bytes(range(0x80, 0x100))
# U+0482-U+0489 (a sign and combining marks) are the basic block's only non-letters
_CYRILLIC_NON_LETTERS = frozenset(map(chr, range(0x482, 0x48A)))
_OTHER_CHARS = re.compile(r"[^\x00-\x7f\u0400-\u0481\u048a-\u04ff]")
#: (letter, Cyrillic, Latin) per character outside ASCII and the basic Cyrillic letters
_CHAR_KINDS: dict[str, tuple[int, int, int]] = {}


def _letter_counts_regex(text: str) -> tuple[int, int, int]:
    """(letters, Cyrillic characters, Latin letters) of ``text``, by the rule's regexes."""
    return (
        len(_LETTERS.findall(text)),
        len(_CYRILLIC_LETTERS.findall(text)),
        len(_LATIN_LETTERS.findall(text)),
    )


def _char_kind(char: str) -> tuple[int, int, int]:
    kind = _CHAR_KINDS.get(char)
    if kind is None:
        kind = _letter_counts_regex(char)
        if len(_CHAR_KINDS) < 65536:  # the characters a corpus uses; bounded all the same
            _CHAR_KINDS[char] = kind
    return kind


def _letter_counts(text: str) -> tuple[int, int, int]:
    """What :func:`_letter_counts_regex` counts, about ten times faster on en/ru text.

    >>> _letter_counts("Hi, мир! ½ é")
    (7, 3, 3)
    """
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: the regexes count it as no letter
        return _letter_counts_regex(text)
    latin = len(data) - len(data.translate(None, _ASCII_LETTER_BYTES))
    cyrillic = len(data.translate(None, _ALL_BUT_CYRILLIC_LEADS))
    letters = latin + cyrillic
    non_ascii = len(text) - len(data.translate(None, _NON_ASCII_BYTES))
    # 0xD2 leads U+0480-U+04BF, where the non-letters U+0482-U+0489 live
    if non_ascii != cyrillic or b"\xd2" in data:
        for char, count in Counter(_OTHER_CHARS.findall(text)).items():
            if char in _CYRILLIC_NON_LETTERS:
                letters -= count  # counted above as a Cyrillic letter; Cyrillic all the same
                continue
            is_letter, is_cyrillic, is_latin = _char_kind(char)
            letters += count * is_letter
            cyrillic += count * is_cyrillic
            latin += count * is_latin
    return letters, cyrillic, latin


def detect_language(text: str) -> str | None:
    """Guess ``"ru"`` or ``"en"`` by an offline rule on the letters of ``text``.

    The rule: count the letters; with fewer than 20 letters, ``None``. If at least 30% of the
    letters are Cyrillic, ``"ru"``; else if at least 50% are Latin, ``"en"``; else ``None``.
    (Latin script is taken to be English: trustcode's default codebook is written for en/ru.)
    In a text longer than 10,000 characters the letters of 20 evenly spaced stretches of 500
    characters are counted, so the cost does not grow with the document.

    >>> detect_language("Volunteers answer the hotline every night of the week.")
    'en'
    >>> detect_language("12 345 678") is None
    True
    """
    if len(text) > _SAMPLES * _SAMPLE_CHARS:
        step = len(text) // _SAMPLES
        text = "\n".join(text[i * step : i * step + _SAMPLE_CHARS] for i in range(_SAMPLES))
    letters, cyrillic, latin = _letter_counts(text)
    if letters < 20:
        return None
    if cyrillic >= 0.3 * letters:
        return "ru"
    if latin >= 0.5 * letters:
        return "en"
    return None


# --- formats --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Content:
    text: str
    title: str = ""


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise _DocumentError(str(path), f"cannot be read ({err.strerror or err})") from None


def _require_text(text: str, source: str, what: str = "") -> str:
    if not text.strip():
        found = f" ({what})" if what else ""
        raise _DocumentError(source, f"is empty{found}: it holds no text to code")
    return text


def _read_plain(path: Path) -> _Content:
    data = _read_bytes(path)
    if not data:
        raise _DocumentError(str(path), "is empty (0 bytes): it holds no text to code")
    return _Content(_require_text(decode_bytes(data, str(path)), str(path), "only white space"))


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


def _read_html(path: Path) -> _Content:
    text = decode_bytes(_read_bytes(path), str(path))
    body, title = _html_to_text(text)
    return _Content(_require_text(body, str(path), "no visible text"), title)


def _read_docx(path: Path) -> _Content:
    import docx
    from docx.table import Table

    try:
        document = docx.Document(str(path))
    except Exception as err:  # python-docx raises zipfile/KeyError/lxml errors on bad files
        raise _DocumentError(
            str(path), f"is not a valid .docx file ({type(err).__name__}: {err})"
        ) from None
    paragraphs: list[str] = []

    def add_table(table: Table) -> None:
        for row in table.rows:
            seen: set[int] = set()
            cells: list[str] = []
            for cell in row.cells:
                if id(cell._tc) in seen:  # a merged cell repeats across the columns it spans
                    continue
                seen.add(id(cell._tc))
                for block in cell.iter_inner_content():
                    if isinstance(block, Table):
                        add_table(block)
                    elif block.text.strip():
                        cells.append(block.text.strip())
            if cells:
                paragraphs.append("\t".join(cells))

    for block in document.iter_inner_content():
        if isinstance(block, Table):
            add_table(block)
        elif block.text.strip():
            paragraphs.append(block.text.strip())
    text = normalize_newlines("\n\n".join(paragraphs))
    title = (document.core_properties.title or "").strip()
    return _Content(_require_text(text, str(path), "no paragraph or table holds text"), title)


def _read_pdf(path: Path) -> _Content:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted and not reader.decrypt(""):
            raise _DocumentError(
                str(path), "is an encrypted PDF; save a copy without a password and read that"
            )
        pages = [page.extract_text() or "" for page in reader.pages]
        meta = reader.metadata
        title = str(meta.title or "").strip() if meta is not None else ""
    except _DocumentError:
        raise
    except (PyPdfError, OSError, ValueError, KeyError) as err:
        raise _DocumentError(
            str(path), f"is not a valid PDF file ({type(err).__name__}: {err})"
        ) from None
    text = normalize_newlines("\n\n".join(p.strip("\n") for p in pages if p.strip()))
    if not text.strip():
        raise _DocumentError(
            str(path),
            "has no extractable text: it may be a scanned PDF, which needs OCR first "
            "(e.g. ocrmypdf) before trustcode can read it",
        )
    return _Content(text, title)


_FORMATS = {
    ".txt": _read_plain,
    ".md": _read_plain,
    ".html": _read_html,
    ".htm": _read_html,
    ".docx": _read_docx,
    ".pdf": _read_pdf,
}


# --- tables: one row per document -----------------------------------------------------------


def _cell_str(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, _dt.datetime) and value.time() == _dt.time():
        return value.date().isoformat()
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    return str(value)


def _csv_rows(text: str) -> list[list[str]]:
    first_line = text.split("\n", 1)[0]
    # A header line says the delimiter: Excel in many locales writes ';'.
    delimiter = max((",", ";", "\t"), key=first_line.count)
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def _read_table_rows(path: Path) -> list[list[str]]:
    if path.suffix.lower() == ".csv":
        data = _read_bytes(path)
        if not data:
            raise _DocumentError(str(path), "is empty (0 bytes): it has no header and no rows")
        try:
            return _csv_rows(_require_text(decode_bytes(data, str(path)), str(path)))
        except csv.Error as err:
            raise _DocumentError(str(path), f"is not a valid CSV file ({err})") from None
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(str(path), read_only=True, data_only=True)
    except Exception as err:  # openpyxl raises zipfile/KeyError/XML errors on bad files
        raise _DocumentError(
            str(path), f"is not a valid .xlsx file ({type(err).__name__}: {err})"
        ) from None
    try:
        sheet = workbook.worksheets[0]
        rows = [[_cell_str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()
    return [[normalize_newlines(v) for v in row] for row in rows]


def _column(header: list[str], name: str | None, role: str, option: str, source: str) -> int:
    columns = ", ".join(repr(c) for c in header)
    if name is None:
        if "text" in header:
            return header.index("text")
        raise _DocumentError(
            source,
            f"has no column named 'text'; name the {role} column with {option} "
            f"(columns: {columns})",
        )
    if name not in header:
        raise _DocumentError(source, f"has no {role} column {name!r}; its columns are: {columns}")
    return header.index(name)


def _read_table(
    path: Path, id_base: str, text_column: str | None, id_column: str | None, language: str | None
) -> list[Document]:
    source = str(path)
    rows = _read_table_rows(path)
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise _DocumentError(source, "is empty: it has no header row")
    header = [h.strip() or f"column_{i + 1}" for i, h in enumerate(rows[0])]
    text_at = _column(header, text_column, "text", "--text-column (text_column=)", source)
    id_at = (
        _column(header, id_column, "id", "--id-column", source) if id_column is not None else None
    )
    documents: list[Document] = []
    seen: dict[str, str] = {}
    for number, row in enumerate(rows[1:], start=1):
        if not any(cell.strip() for cell in row):
            continue  # blank rows trail many spreadsheets
        row_source = f"{source}#{number}"
        if len(row) > len(header):
            raise _DocumentError(
                source,
                f"row {number} has {len(row)} fields but the header has {len(header)}; quote "
                "fields that contain the delimiter",
            )
        row = row + [""] * (len(header) - len(row))
        text = row[text_at]
        if not text.strip():
            warnings.warn(
                DocumentSkipped(f"{row_source}: its text column is empty; skipped"),
                stacklevel=3,
            )
            continue
        doc_id = row[id_at].strip() if id_at is not None else f"{id_base}-{number}"
        if not doc_id:
            raise _DocumentError(source, f"row {number} has an empty id in column {id_column!r}")
        if doc_id in seen:
            raise InputError(
                f"Duplicate document id {doc_id!r}: {seen[doc_id]} and {row_source}; "
                "document ids must be unique"
            )
        seen[doc_id] = row_source
        metadata = {
            header[i]: value
            for i, value in enumerate(row)
            if i not in (text_at, id_at) and value.strip()
        }
        title = metadata.pop("title", "") or doc_id
        row_language = metadata.pop("language", "") or None
        documents.append(
            Document(
                doc_id=doc_id,
                text=text,
                source=row_source,
                title=title,
                language=row_language or detect_language(text) or language,
                metadata=MappingProxyType(metadata),
            )
        )
    if not documents:
        raise _DocumentError(source, f"has no row with text in column {header[text_at]!r}")
    return documents


# --- documents ------------------------------------------------------------------------------


def _read_file(
    path: Path,
    *,
    doc_id: str,
    text_column: str | None,
    id_column: str | None,
    language: str | None,
    title: str = "",
    file_language: str | None = None,
    metadata: Mapping[str, str] | None = None,
) -> list[Document]:
    suffix = path.suffix.lower()
    if suffix in _TABLE_SUFFIXES:
        return _read_table(path, doc_id, text_column, id_column, language)
    reader = _FORMATS.get(suffix)
    if reader is None:
        raise _DocumentError(
            str(path),
            f"has the suffix {path.suffix or '(none)'!r}, which trustcode does not read; "
            f"it reads {', '.join(SUPPORTED_SUFFIXES)}",
        )
    content = reader(path)
    return [
        Document(
            doc_id=doc_id,
            text=content.text,
            source=str(path),
            title=title or content.title or path.stem,
            language=file_language or detect_language(content.text) or language,
            metadata=MappingProxyType(dict(metadata or {})),
        )
    ]


def read_entry(
    path: Path,
    *,
    doc_id: str,
    title: str = "",
    file_language: str | None = None,
    metadata: Mapping[str, str] | None = None,
    text_column: str | None = None,
    id_column: str | None = None,
    language: str | None = None,
    strict: bool = False,
) -> tuple[list[Document], str | None]:
    """The documents of one corpus entry (a file, with what a manifest says of it), and None;
    or, when it cannot be read and not ``strict``, no documents and why (``"{source}: {reason};
    skipped"``). With ``strict`` the problem is raised as an :class:`InputError`.

    :func:`read_corpus` reads its entries through this, and so do Dask workers, one file each.

    >>> read_entry(Path("empty.txt"), doc_id="empty")  # doctest: +SKIP
    ([], 'empty.txt: is empty; skipped')
    """
    try:
        documents = _read_file(
            path, doc_id=doc_id, text_column=text_column, id_column=id_column,
            language=language, title=title, file_language=file_language, metadata=metadata,
        )
    except _DocumentError as err:
        if strict:
            raise
        return [], f"{err.source}: {err.reason}; skipped"
    return documents, None


def read_document(
    path: _PathLike,
    *,
    text_column: str | None = None,
    id_column: str | None = None,
    language: str | None = None,
) -> list[Document]:
    """Read one file into documents: one for a text file, one per row for ``.csv``/``.xlsx``.

    The id is the file stem (table rows: ``id_column``'s value, or ``{stem}-{row}``). A folder
    is read as by :func:`read_corpus` with ``strict=True``.

    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "note.txt"
    >>> _ = p.write_text("Neighbours kept in touch across the border.", encoding="utf-8")
    >>> [(d.doc_id, d.title, d.language) for d in read_document(p)]
    [('note', 'note', 'en')]
    """
    path = Path(path)
    if path.is_dir():
        return list(
            read_corpus(
                [path], text_column=text_column, id_column=id_column, language=language, strict=True
            )
        )
    if not path.exists():
        raise InputError(f"{path}: no such file or folder; check the path")
    return _read_file(
        path, doc_id=path.stem, text_column=text_column, id_column=id_column, language=language
    )


@dataclass(frozen=True)
class CorpusEntry:
    """A file of a corpus to read, with what a manifest (or the folder layout) says about it.

    >>> CorpusEntry(Path("notes/a.txt"), "notes/a").doc_id
    'notes/a'
    """

    path: Path
    doc_id: str
    title: str = ""
    language: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)

    def read(
        self,
        *,
        text_column: str | None = None,
        id_column: str | None = None,
        language: str | None = None,
        strict: bool = False,
    ) -> tuple[list[Document], str | None]:
        """Its documents, or none and why it was skipped: see :func:`read_entry`."""
        return read_entry(
            self.path, doc_id=self.doc_id, title=self.title, file_language=self.language,
            metadata=self.metadata, text_column=text_column, id_column=id_column,
            language=language, strict=strict,
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # a manifest's read-only metadata view cannot be pickled; workers get entries pickled
        return (
            CorpusEntry, (self.path, self.doc_id, self.title, self.language, dict(self.metadata))
        )


def _is_hidden(name: str) -> bool:
    # '~$' files are Office's lock files beside an open document.
    return name.startswith((".", "~$"))


def folder_entries(folder: Path) -> tuple[list[CorpusEntry], str | None]:
    """The files a folder holds, in the order :func:`read_corpus` reads them (as its
    ``manifest.csv`` lists, or by relative path), and if none, the reason.

    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "b.txt").write_text("Second.", encoding="utf-8")
    >>> _ = (folder / "a.md").write_text("First.", encoding="utf-8")
    >>> [entry.doc_id for entry in folder_entries(folder)[0]]
    ['a', 'b']
    """
    manifest = folder / _MANIFEST_NAME
    if manifest.is_file():
        entries = _manifest_entries(manifest)
        return entries, None if entries else f"{manifest} lists no documents"
    found: list[tuple[str, Path]] = []
    others = 0
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not _is_hidden(d)]
        root_path = Path(root)
        for name in files:
            if _is_hidden(name):
                continue
            file = root_path / name
            if name == _MANIFEST_NAME:
                warnings.warn(
                    TrustcodeWarning(
                        f"{file}: a manifest in a subfolder is not used; read "
                        f"{root_path} on its own to use it"
                    ),
                    stacklevel=4,
                )
                continue
            if file.suffix.lower() in SUPPORTED_SUFFIXES:
                found.append((file.relative_to(folder).as_posix(), file))
            else:
                others += 1
    found.sort()
    entries = [CorpusEntry(path=file, doc_id=rel[: -len(file.suffix)]) for rel, file in found]
    reason = None
    if not entries:
        state = "is empty: it has no" if others == 0 else f"has {others} file(s) but no"
        reason = (
            f"the folder {folder} {state} files trustcode reads ({', '.join(SUPPORTED_SUFFIXES)})"
        )
    return entries, reason


def _manifest_entries(manifest: Path) -> list[CorpusEntry]:
    text = decode_bytes(_read_bytes(manifest), str(manifest))
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        header = [h.strip() for h in next(reader, [])]
        rows = [(reader.line_num, row) for row in reader]
    except csv.Error as err:
        raise InputError(f"{manifest}: is not a valid CSV file ({err})") from None
    missing = [c for c in _MANIFEST_REQUIRED if c not in header]
    if missing:
        raise InputError(
            f"{manifest}: a manifest needs the columns doc_id and path; missing "
            f"{', '.join(missing)} (it has: {', '.join(header) or 'no header'})"
        )
    entries: list[CorpusEntry] = []
    seen: dict[str, int] = {}
    for number, (line, row) in enumerate(rows, start=1):
        if not any(cell.strip() for cell in row):
            continue
        where = f"{manifest}:{line}: row {number}"
        if len(row) > len(header):
            raise InputError(
                f"{where} has {len(row)} fields but the header has {len(header)}; quote fields "
                "that contain commas"
            )
        values = dict(zip(header, (cell.strip() for cell in row), strict=False))
        doc_id, rel = values.get("doc_id", ""), values.get("path", "")
        if not doc_id or not rel:
            raise InputError(f"{where}: doc_id and path must both be filled in")
        if doc_id in seen:
            raise InputError(
                f"{where}: duplicate doc_id {doc_id!r} (also on row {seen[doc_id]}); "
                "document ids must be unique"
            )
        seen[doc_id] = number
        file = manifest.parent / rel
        if not file.is_file():
            raise InputError(
                f"{where} (doc_id {doc_id!r}): the file {rel!r} does not exist "
                f"(looked for {file}); fix the path or remove the row"
            )
        if file.suffix.lower() in _TABLE_SUFFIXES:
            raise InputError(
                f"{where} (doc_id {doc_id!r}): {rel!r} is a table; a manifest lists one "
                "document per row — read the table directly instead"
            )
        metadata = {k: v for k, v in values.items() if k not in _MANIFEST_FIELDS and k and v}
        entries.append(
            CorpusEntry(
                path=file,
                doc_id=doc_id,
                title=values.get("title", ""),
                language=values.get("language") or None,
                metadata=MappingProxyType(metadata),
            )
        )
    return entries


class CorpusReader:
    """Reads the files and folders of a corpus in order and keeps its books: the documents
    read and their ids, the files skipped and why.

    :func:`read_corpus` is the simple use. Worker processes use the parts: :meth:`items` hands
    out plain files as :class:`CorpusEntry` for a worker to read (``defer_files``); the caller
    then reports, in corpus order, each document (:meth:`accept`) or skipped file
    (:meth:`skip`) of each entry, and calls :meth:`finish` at the end. The ids, warnings and
    errors are then those :func:`read_corpus` gives. Missing paths raise
    :class:`InputError` at once.

    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "a.txt").write_text("First letter home.", encoding="utf-8")
    >>> reader = CorpusReader(folder)
    >>> [entry.doc_id for entry in reader.items(defer_files=True)]
    ['a']
    """

    def __init__(
        self,
        paths: _PathLike | Iterable[_PathLike],
        *,
        text_column: str | None = None,
        id_column: str | None = None,
        language: str | None = None,
        strict: bool = False,
    ) -> None:
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        self.roots = [Path(p) for p in paths]
        for root in self.roots:
            if not root.exists():
                raise InputError(f"{root}: no such file or folder; check the path")
        #: what :meth:`CorpusEntry.read` needs besides the entry
        self.options: dict[str, Any] = {
            "text_column": text_column, "id_column": id_column, "language": language,
            "strict": strict,
        }
        self._seen: dict[str, str] = {}
        self._reasons: list[str] = []

    @overload
    def items(self, *, defer_files: Literal[False] = False) -> Iterator[Document]: ...

    @overload
    def items(self, *, defer_files: bool) -> Iterator[Document | CorpusEntry]: ...

    def items(self, *, defer_files: bool = False) -> Iterator[Document | CorpusEntry]:
        """The corpus in order: its documents, read here (skipped files are :meth:`skip`-ped),
        or with ``defer_files`` an entry for each file that is not a table (.csv, .xlsx: they
        hold many documents and are read here). Documents read here are not yet accepted."""
        for root in self.roots:
            if root.is_dir():
                entries, reason = folder_entries(root)
                if reason:
                    self._reasons.append(reason)
            else:
                entries = [CorpusEntry(path=root, doc_id=root.stem)]
            for entry in entries:
                if defer_files and entry.path.suffix.lower() not in _TABLE_SUFFIXES:
                    yield entry
                    continue
                documents, skipped = entry.read(**self.options)
                if skipped is not None:
                    self.skip(skipped)
                yield from documents

    def accept(self, doc_id: str, source: str) -> None:
        """Count a document read; raise :class:`InputError` if its id was seen before."""
        if doc_id in self._seen:
            raise InputError(
                f"Duplicate document id {doc_id!r}: {self._seen[doc_id]} and {source}; give one "
                "of them another id (a manifest.csv can set ids)"
            )
        self._seen[doc_id] = source

    def skip(self, skipped: str) -> None:
        """Record a file that could not be read (``"{source}: {reason}; skipped"``), with a
        :class:`DocumentSkipped` warning."""
        self._reasons.append(skipped.removesuffix("; skipped"))
        warnings.warn(DocumentSkipped(skipped), stacklevel=3)

    def finish(self) -> None:
        """Raise :class:`InputError` if no document at all was read, saying why."""
        if not self._seen:
            where = ", ".join(str(r) for r in self.roots) or "(no paths given)"
            because = "; ".join(self._reasons) or "no paths were given"
            raise InputError(f"No documents to read in {where}: {because}")


def read_corpus(
    paths: _PathLike | Iterable[_PathLike],
    *,
    text_column: str | None = None,
    id_column: str | None = None,
    language: str | None = None,
    strict: bool = False,
) -> Iterator[Document]:
    """Yield the documents of files and folders, one at a time, in order.

    A folder is read recursively in order of relative path (hidden files skipped), or as its
    ``manifest.csv`` lists. A document that cannot be read raises :class:`InputError` with
    ``strict``; otherwise it is skipped with a :class:`DocumentSkipped` warning. A missing
    path, a duplicate id, or nothing to read at all raise :class:`InputError`.

    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "a.txt").write_text("First letter home.", encoding="utf-8")
    >>> [d.doc_id for d in read_corpus(folder)]
    ['a']
    """
    reader = CorpusReader(
        paths, text_column=text_column, id_column=id_column, language=language, strict=strict
    )
    for document in reader.items():
        reader.accept(document.doc_id, document.source)
        yield document
    reader.finish()
