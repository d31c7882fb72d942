"""Replace personal identifiers in texts with stable pseudonyms, keeping offsets valid.

A :class:`Redactor` finds e-mail addresses, phone numbers (international and Russian formats),
URLs, @handles, names from a list (a file, one per line, or a codebook's ``redact:`` section) and,
when a trained spaCy pipeline is installed and named, its PERSON entities. Each distinct
identifier gets one token for the whole run (``[PERSON-1]``, ``[EMAIL-2]``), so the same person
reads as the same token in every document and table.

Redaction is pattern- and list-based: it misses names that are not listed, nicknames, spelling
variants, and indirect identifiers (a job, a town, a date). SECURITY.md states the limits.

>>> r = Redactor(names=["Анна Иванова"])
>>> r.redact_text("Анну Иванову знают: anna@example.org")[0]
'[PERSON-1] знают: [EMAIL-1]'
"""

from __future__ import annotations

import bisect
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import InputError, UsageError
from .types import Codebook, Document

__all__ = [
    "DEFAULT_PATTERNS",
    "OffsetMap",
    "RedactedSpan",
    "Redactor",
    "read_names",
    "redactor_for",
]

# Separators inside a phone number: never a line break, so a number cannot join two paragraphs.
_SEP = r"[^\S\n]?[-.]?[^\S\n]?"
_PHONE = (
    # the lookahead lets the scan skip quickly past places no number can start
    r"(?=[+8(])(?:"
    # Russian: +7 or 8, then 3 + 3 + 2 + 2 digits with optional brackets, spaces or dashes
    r"(?<![\w+])(?:\+7|8)[^\S\n]?[-(]?[^\S\n]?\d{3}[^\S\n]?[-)]?"
    + _SEP
    + r"\d{3}"
    + _SEP
    + r"\d{2}"
    + _SEP
    + r"\d{2}(?!\d)"
    # international: + country code, then 6 to 14 more digits in groups
    + r"|(?<![\w+])\+\d{1,3}+(?:"
    + _SEP
    + r"\(?\d{1,5}+\)?){2,6}+(?!\d)"
    # local with an area code in brackets: (495) 123-45-67
    + r"|(?<![\w)])\(\d{3,5}\)[^\S\n]?\d{1,3}"
    + _SEP
    + r"\d{2}"
    + _SEP
    + r"\d{2}(?!\d)"
    + ")"
)
_TLDS = (
    "com|org|net|info|io|me|ru|su|рф|ua|by|kz|ge|am|de|uk|eu|fr|lt|lv|ee|pl|il|tr|rs|me|"
    "app|dev|media|news|online|site|live|tv|co|us|ca"
)

#: Kinds of identifier found by a regular expression, in priority order: where two matches
#: overlap, the earlier-starting (then longer, then first listed) one wins.
DEFAULT_PATTERNS: Mapping[str, str] = {
    # a start lookbehind keeps the scan linear on long runs of word characters
    "EMAIL": r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+",
    "URL": r"(?<![\w/])(?:(?:https?|ftp)://|www\.)[^\s<>\"'«»]+"
    + r"|(?<![\w./@-])(?:[\w-]+\.)+(?:"
    + _TLDS
    + r")(?![\w-])(?:/[^\s<>\"'«»]*)?",
    "PHONE": _PHONE,
    "HANDLE": r"(?<![\w@.])@[A-Za-z0-9_]{2,32}(?![\w@])",
}

# Trailing punctuation ends a sentence, not a URL.
_URL_TRAILING = ".,;:!?)]}»\"'"
# Case endings of Russian nouns and adjectival surnames (Иванов-а, -у, -ым, -ой ...).
_RU_ENDINGS = (
    "ому|ему|ого|его|ыми|ими|ами|ями|ой|ей|ою|ею|ом|ем|ым|им|ых|их|ая|яя|ую|юю|ий|ый|ов|ев|"
    "а|я|ы|и|е|у|ю|о|ь|й"
)
_RU_FINAL = "аяоеыийьу"
_CYRILLIC_WORD = re.compile(r"[а-яё]+", re.IGNORECASE)
_MIN_STEM = 3  # shorter stems ("Ия" -> "И") would match common words once endings are added


@dataclass(frozen=True)
class RedactedSpan:
    """One replaced identifier: ``[start, end)`` in the original text, ``[new_start, new_end)``
    in the redacted text; ``kind`` is PERSON, EMAIL, PHONE, URL or HANDLE."""

    start: int
    end: int
    new_start: int
    new_end: int
    kind: str
    token: str


class OffsetMap:
    """Maps offsets of an original text to offsets of its redacted text.

    An offset inside a replaced identifier moves to the token's start (as a start offset) or
    end (as an end offset), so a span that cut an identifier now covers its whole token.

    >>> m = OffsetMap([RedactedSpan(4, 9, 4, 14, "PERSON", "[PERSON-1]")])
    >>> m.start(2), m.start(6), m.end(6), m.end(12)
    (2, 4, 14, 17)
    """

    def __init__(self, spans: Sequence[RedactedSpan]) -> None:
        self._spans = sorted(spans, key=lambda s: s.start)
        self._ends = [s.end for s in self._spans]

    def _map(self, offset: int, as_end: bool) -> int:
        i = bisect.bisect_right(self._ends, offset)  # spans wholly at or before the offset
        if i < len(self._spans) and self._spans[i].start < offset:
            inside = self._spans[i]
            return inside.new_end if as_end else inside.new_start
        if i == 0:
            return offset
        before = self._spans[i - 1]
        return before.new_end + (offset - before.end)

    def start(self, offset: int) -> int:
        return self._map(offset, as_end=False)

    def end(self, offset: int) -> int:
        return self._map(offset, as_end=True)


def read_names(path: str | os.PathLike[str]) -> tuple[str, ...]:
    """Names to redact from a UTF-8 file, one per line; blank lines and ``#`` comments skipped.

    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "names.txt"
    >>> _ = p.write_text("# staff\\nАнна Иванова\\n\\nJohn Smith\\n", encoding="utf-8")
    >>> read_names(p)
    ('Анна Иванова', 'John Smith')
    """
    file = Path(path)
    try:
        text = file.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise InputError(
            f"{file}: no such names file; give a UTF-8 text file, one name per line."
        ) from None
    except OSError as exc:
        raise InputError(f"{file}: cannot read the names file ({exc.strerror}).") from None
    except UnicodeDecodeError as exc:
        line = file.read_bytes().count(b"\n", 0, exc.start) + 1
        raise InputError(
            f"{file}, line {line}: not UTF-8 (byte {exc.start}); save the names file as UTF-8."
        ) from None
    names = []
    for raw in text.splitlines():
        name = raw.strip()
        if name and not name.startswith("#"):
            names.append(name)
    return tuple(names)


def _word_pattern(word: str) -> str:
    """A regex for one word of a name: Cyrillic words also in their case forms."""
    if not _CYRILLIC_WORD.fullmatch(word):
        return re.escape(word)
    # one final vowel or soft sign is the ending of the listed (nominative) form
    stem = word[:-1] if word[-1].lower() in _RU_FINAL else word
    if len(stem) < _MIN_STEM:
        return re.escape(word)
    # ё is often written е; a surname's stem may drop its final vowel in other cases
    body = "".join("[её]" if ch in "ёеЁЕ" else re.escape(ch) for ch in stem)
    return f"{body}(?:{_RU_ENDINGS})?"


def _name_pattern(name: str) -> str:
    words = name.split()
    # spaces and at most one line break between the words: a blank line ends a paragraph
    return r"(?:[^\S\n]+\n?[^\S\n]*|\n[^\S\n]*)".join(_word_pattern(w) for w in words)


class Redactor:
    """Finds personal identifiers and replaces them with stable pseudonyms.

    ``names`` are matched case-insensitively on word boundaries (Cyrillic too; Russian words
    also in their case forms: Иванова, Ивановой, Иванову). ``patterns`` maps a kind to a regular
    expression (default :data:`DEFAULT_PATTERNS`; ``{}`` for names only). ``spacy_model`` names
    an installed trained spaCy pipeline whose PERSON entities are redacted too; it is never
    downloaded. The same identifier gets the same token for the life of the redactor.

    >>> r = Redactor(names=["John Smith"])
    >>> r.redact_text("Call John Smith at +44 20 7946 0958.")[0]
    'Call [PERSON-1] at [PHONE-1].'
    """

    def __init__(
        self,
        names: Iterable[str] = (),
        patterns: Mapping[str, str] | None = None,
        *,
        spacy_model: str | None = None,
    ) -> None:
        self.names = tuple(dict.fromkeys(n.strip() for n in names if n and n.strip()))
        self.patterns = dict(DEFAULT_PATTERNS if patterns is None else patterns)
        self._compiled: list[tuple[str, re.Pattern[str]]] = []
        for kind, pattern in self.patterns.items():
            try:
                self._compiled.append((kind, re.compile(pattern)))
            except re.error as exc:
                raise UsageError(
                    f"redaction pattern {kind}: not a valid regular expression ({exc}); "
                    "fix the pattern."
                ) from None
        self._names_re: re.Pattern[str] | None = None
        self._name_of: list[str] = []
        if self.names:
            # longest first, so "Анна Иванова" wins over "Анна" at the same place
            ordered = sorted(self.names, key=len, reverse=True)
            self._name_of = ordered
            alternatives = "|".join(f"(?P<n{i}>{_name_pattern(n)})" for i, n in enumerate(ordered))
            self._names_re = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)
        self._nlp = _load_spacy(spacy_model) if spacy_model else None
        self._tokens: dict[tuple[str, str], str] = {}
        self._counts: dict[str, int] = {}

    # public ----------------------------------------------------------------------------------

    def redact_text(self, text: str) -> tuple[str, list[RedactedSpan]]:
        """The text with each identifier replaced by its token, and the replaced spans.

        >>> Redactor().redact_text("write to @memorial_help")
        ('write to [HANDLE-1]', [RedactedSpan(start=9, end=23, new_start=9, new_end=19, \
kind='HANDLE', token='[HANDLE-1]')])
        """
        found = self._find(text)
        pieces: list[str] = []
        spans: list[RedactedSpan] = []
        last = shift = 0
        for start, end, kind, key in found:
            token = self._token(kind, key)
            pieces.append(text[last:start])
            pieces.append(token)
            new_start = start + shift
            spans.append(RedactedSpan(start, end, new_start, new_start + len(token), kind, token))
            shift += len(token) - (end - start)
            last = end
        pieces.append(text[last:])
        return "".join(pieces), spans

    def redact_document(self, document: Document) -> Document:
        """The document with its text and title redacted (metadata is left as it is).

        >>> Redactor().redact_document(Document("d", "mail me: a@b.org")).text
        'mail me: [EMAIL-1]'
        """
        text, _ = self.redact_text(document.text)
        title, _ = self.redact_text(document.title)
        return replace(document, text=text, title=title)

    def redact_tables(self, tables: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
        """Redact the passage texts, evidence and titles of a coding's tables.

        Each document's text is rebuilt from its passages (overlapping passages must agree),
        redacted once, and every ``start``/``end`` (passages, codings, ``[s-e]`` in evidence)
        is mapped from the original document to the redacted one. ``n_chars`` follows the new
        length; ``sha256`` is blanked, since the redacted text is not wholly known. Other tables
        are returned as they are.

        >>> out = Redactor().redact_tables(tables)  # doctest: +SKIP
        """
        out = {name: frame.copy() for name, frame in tables.items()}
        passages = out.get("passages")
        maps: dict[str, OffsetMap] = {}
        deltas: dict[str, int] = {}
        if passages is not None and len(passages):
            texts: list[str] = list(passages["text"].astype(str))
            for doc_id, rows in passages.groupby("doc_id", sort=False).indices.items():
                doc_map, delta = self._redact_passages(str(doc_id), passages, rows, texts)
                maps[str(doc_id)], deltas[str(doc_id)] = doc_map, delta
            out["passages"] = passages.assign(
                start=_mapped(passages, maps, "start"),
                end=_mapped(passages, maps, "end"),
                text=pd.Series(texts, index=passages.index, dtype="str"),
            )
        codings = out.get("codings")
        if codings is not None and len(codings):
            evidence = [
                self._redact_evidence(str(e) if isinstance(e, str) else "", maps.get(str(d)))
                for d, e in zip(codings["doc_id"], codings["evidence"], strict=True)
            ]
            out["codings"] = codings.assign(
                start=_mapped(codings, maps, "start"),
                end=_mapped(codings, maps, "end"),
                evidence=pd.Series(evidence, index=codings.index, dtype="str"),
            )
        documents = out.get("documents")
        if documents is not None and len(documents):
            titles = [
                self.redact_text(t if isinstance(t, str) else "")[0] for t in documents["title"]
            ]
            n_chars = [
                int(n) + deltas.get(str(d), 0)
                for d, n in zip(documents["doc_id"], documents["n_chars"], strict=True)
            ]
            out["documents"] = documents.assign(
                title=pd.Series(titles, index=documents.index, dtype="str"),
                n_chars=pd.Series(n_chars, index=documents.index, dtype="int64"),
                sha256=pd.Series([""] * len(documents), index=documents.index, dtype="str"),
            )
        return out

    # internals -------------------------------------------------------------------------------

    def _find(self, text: str) -> list[tuple[int, int, str, str]]:
        """Non-overlapping (start, end, kind, key) matches, in text order."""
        candidates: list[tuple[int, int, int, str, str]] = []  # start, -length, priority, ...
        if self._names_re is not None:
            for m in self._names_re.finditer(text):
                group = m.lastgroup or "n0"
                key = self._name_of[int(group[1:])].casefold()
                candidates.append((m.start(), m.start() - m.end(), 0, "PERSON", key))
        for priority, (kind, pattern) in enumerate(self._compiled, 1):
            for m in pattern.finditer(text):
                start, end = m.span()
                if kind == "URL":
                    while end > start and text[end - 1] in _URL_TRAILING:
                        end -= 1
                if end > start:
                    candidates.append(
                        (start, start - end, priority, kind, _key(kind, text[start:end]))
                    )
        if self._nlp is not None:
            for ent in _entities(self._nlp, text):
                candidates.append((ent[0], ent[0] - ent[1], 99, "PERSON", ent[2].casefold()))
        candidates.sort()
        chosen: list[tuple[int, int, str, str]] = []
        reach = 0
        for start, negative_length, _, kind, key in candidates:
            if start >= reach:
                end = start - negative_length
                chosen.append((start, end, kind, key))
                reach = end
        return chosen

    def _token(self, kind: str, key: str) -> str:
        token = self._tokens.get((kind, key))
        if token is None:
            self._counts[kind] = self._counts.get(kind, 0) + 1
            token = f"[{kind}-{self._counts[kind]}]"
            self._tokens[(kind, key)] = token
        return token

    def _redact_passages(
        self, doc_id: str, passages: pd.DataFrame, rows: Any, texts: list[str]
    ) -> tuple[OffsetMap, int]:
        """Rebuild a document from its passages, redact it, and rewrite the passage texts."""
        starts = [int(passages["start"].iloc[i]) for i in rows]
        ends = [int(passages["end"].iloc[i]) for i in rows]
        length = max(ends)
        # line breaks fill the gaps between passages: no pattern reaches across two of them,
        # and a one-character gap is a space or line break in the document too
        chars = ["\n"] * length
        reach, last = 0, -1
        for i, start, end in sorted(zip(rows, starts, ends, strict=True), key=lambda t: t[1]):
            text = texts[i]
            if start < 0 or end < start or end - start != len(text):
                raise InputError(
                    f"passage {passages['passage_id'].iloc[i]} of document {doc_id}: offsets "
                    f"{start}-{end} do not fit its text of {len(text)} characters; the table is "
                    "damaged or was edited; write it again from the source documents."
                )
            overlap = min(end, reach) - start
            if overlap > 0 and "".join(chars[start : start + overlap]) != text[:overlap]:
                raise InputError(
                    f"passages {passages['passage_id'].iloc[last]} and "
                    f"{passages['passage_id'].iloc[i]} of document {doc_id} disagree on the "
                    f"text they share at offsets {start}-{start + overlap}; they cannot both "
                    "come from one document. Write the table again from the source documents."
                )
            chars[start:end] = text
            if end > reach:
                reach, last = end, i
        redacted, spans = self.redact_text("".join(chars))
        doc_map = OffsetMap(spans)
        for i, start, end in zip(rows, starts, ends, strict=True):
            texts[i] = redacted[doc_map.start(start) : doc_map.end(end)]
        delta = sum((s.new_end - s.new_start) - (s.end - s.start) for s in spans)
        return doc_map, delta

    def _redact_evidence(self, evidence: str, doc_map: OffsetMap | None) -> str:
        text, _ = self.redact_text(evidence)
        if doc_map is None:
            return text

        def remap(m: re.Match[str]) -> str:
            return f"[{doc_map.start(int(m.group(1)))}-{doc_map.end(int(m.group(2)))}]"

        return re.sub(r"\[(\d+)-(\d+)\]", remap, text)


def _key(kind: str, matched: str) -> str:
    """What makes two matches the same identifier: phones by their digits, others by case-folded
    text."""
    if kind == "PHONE":
        digits = re.sub(r"\D", "", matched)
        # 8 (495) ... and +7 (495) ... are the same Russian number
        return "7" + digits[1:] if len(digits) == 11 and digits[0] == "8" else digits
    return matched.casefold()


def _mapped(frame: pd.DataFrame, maps: Mapping[str, OffsetMap], column: str) -> pd.Series:
    values = []
    for doc_id, value in zip(frame["doc_id"], frame[column], strict=True):
        doc_map = maps.get(str(doc_id))
        offset = int(value)
        if doc_map is not None:
            offset = doc_map.end(offset) if column == "end" else doc_map.start(offset)
        values.append(offset)
    return pd.Series(values, index=frame.index, dtype="int64")


def _load_spacy(name: str) -> Any:
    import spacy

    if not (spacy.util.is_package(name) or Path(name).is_dir()):
        raise UsageError(
            f"spaCy pipeline {name!r} is not installed and is not a folder; trustcode never "
            "downloads models. Install it yourself (python -m spacy download NAME, from a machine "
            "where that is safe) or leave the option out to redact by patterns and names only."
        )
    try:
        nlp = spacy.load(name)
    except (OSError, ValueError, ImportError) as exc:
        raise UsageError(f"spaCy pipeline {name!r} cannot be loaded ({exc}).") from None
    if "ner" not in nlp.pipe_names:
        raise UsageError(
            f"spaCy pipeline {name!r} has no 'ner' component, so it finds no PERSON entities; "
            "name a trained pipeline such as ru_core_news_sm or en_core_web_sm."
        )
    return nlp


def _entities(nlp: Any, text: str) -> list[tuple[int, int, str]]:
    """PERSON (PER) entities of ``text`` as (start, end, text), paragraph by paragraph so that a
    long document stays within the pipeline's length limit."""
    found = []
    for m in re.finditer(r"[^\n]+", text):
        for ent in nlp(m.group()).ents:
            if ent.label_ in ("PERSON", "PER"):
                found.append((m.start() + ent.start_char, m.start() + ent.end_char, ent.text))
    return found


def redactor_for(
    codebook: Codebook | None = None,
    names_file: str | os.PathLike[str] | None = None,
    *,
    spacy_model: str | None = None,
) -> Redactor:
    """The redactor a run uses: default patterns, the codebook's ``redact:`` names and the
    names in ``names_file``.

    >>> redactor_for(None).redact_text("see https://ovd.info/news.")[0]
    'see [URL-1].'
    """
    names: list[str] = list(codebook.redact) if codebook is not None else []
    if names_file is not None:
        names += read_names(names_file)
    return Redactor(names=names, spacy_model=spacy_model)
