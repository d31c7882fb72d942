"""The ``read`` stage: files and folders -> :class:`~trustcode.types.Document`.

Formats: ``.txt`` ``.md`` (text as is), ``.html``/``.htm`` (visible text), ``.docx``, ``.pdf``,
``.csv``/``.xlsx`` (one row per document), and folders (recursive, or listed by a
``manifest.csv``). The text a reader returns is the normalized text every later offset refers to:
byte-level files lose only a leading BOM and have ``\\r\\n``/``\\r`` turned into ``\\n``.

The modules:

- :mod:`.common`: the suffixes read, the error of one unreadable document, reading bytes;
- :mod:`.decoding`: :func:`normalize_newlines`, and :func:`decode_bytes` detecting the encoding;
- :mod:`.language`: :func:`detect_language`, an offline en/ru guess from the letters;
- :mod:`.formats`: plain text, Markdown, HTML, .docx and .pdf, each to its text and title;
- :mod:`.table_files`: .csv and .xlsx files, one document per row;
- :mod:`.entries`: :class:`CorpusEntry` and :func:`read_entry`, one file to its documents;
- :mod:`.folders`: :func:`folder_entries`, a folder's files in order or by its manifest;
- :mod:`.corpus`: :class:`CorpusReader`, :func:`read_corpus`, :func:`read_document` and
  :func:`count_documents` (how many there are, before coding).

>>> from trustcode.io.readers import normalize_newlines
>>> normalize_newlines("\\ufeffone\\r\\ntwo\\rthree")
'one\\ntwo\\nthree'
"""

from __future__ import annotations

from .common import SUPPORTED_SUFFIXES
from .corpus import CorpusReader, count_documents, read_corpus, read_document
from .decoding import decode_bytes, normalize_newlines
from .entries import CorpusEntry, read_entry
from .folders import folder_entries
from .language import detect_language

__all__ = [
    "SUPPORTED_SUFFIXES",
    "CorpusEntry",
    "CorpusReader",
    "count_documents",
    "decode_bytes",
    "detect_language",
    "folder_entries",
    "normalize_newlines",
    "read_corpus",
    "read_document",
    "read_entry",
]
