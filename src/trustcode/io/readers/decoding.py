"""Bytes -> normalized text: newlines and BOMs, and detecting the encoding (BOM, UTF-16,
UTF-8, the Cyrillic single-byte encodings, charset-normalizer)."""

from __future__ import annotations

import codecs
import re
import unicodedata

from .common import DocumentError


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
#: the Cyrillic single-byte encodings tried, by codec name, with the names people know them by
_CYRILLIC_CANDIDATES: dict[str, str] = {
    "cp1251": "cp1251",
    "koi8_r": "KOI8-R",
    "cp866": "cp866",
    "iso8859_5": "ISO-8859-5",
}
#: every encoding detected, as an error message names them
_DETECTED = ("UTF-8", "UTF-16", *_CYRILLIC_CANDIDATES.values())
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
CYRILLIC = "\u0400-\u052f\u1c80-\u1c8f\u2de0-\u2dff\ua640-\ua69f"
LATIN = "A-Za-z\u00aa\u00ba\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff"
_WORD = re.compile(r"[^\W\d_]+")
_HAS_CYRILLIC = re.compile(f"[{CYRILLIC}]")
_HAS_LATIN = re.compile(f"[{LATIN}]")


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
            raise DocumentError(
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
        raise DocumentError(
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
        raise DocumentError(
            source,
            f"cannot be decoded as text: it is not {', '.join(_DETECTED[:-1])} or "
            f"{_DETECTED[-1]} and no other encoding fits; save it as UTF-8 (or check that it "
            "is a text file)",
        )
    return text
