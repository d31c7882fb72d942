"""Property and fuzz tests across stages (hypothesis).

Complements the property tests of test_segment.py (a small alphabet), test_io_readers.py
(UTF-8 decoding), test_io_tables.py (codings round trip) and test_codebook.py (arbitrary YAML):
here segmentation gets any Unicode text and file bytes, decoding every supported encoding,
the table writers random documents and passages with metadata, and the codebook loader damaged
copies of a real codebook and raw bytes.
"""

from __future__ import annotations

import codecs
import os
import random
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from trustcode.codebook import DEFAULT_CODEBOOK, load_codebook, parse_codebook
from trustcode.errors import CodebookError, InputError
from trustcode.io.readers import decode_bytes, normalize_newlines, read_document
from trustcode.io.tables import read_tables, write_tables
from trustcode.segment import segment
from trustcode.types import Document

UNITS = st.sampled_from(["paragraph", "sentence", "window:1", "window:2", "window:4:3"])
# any Unicode text, weighted towards the characters that stress segmentation
TEXTS = st.text(
    alphabet=st.characters(exclude_categories=("Cs",))
    | st.sampled_from(list("\n\n\r \t.!?\u2029\u200b\u00a0\ufeff\x00аЯ")),
    max_size=300,
)


def _check_passages(text: str, unit: str, language: str | None) -> None:
    passages = segment(Document("d", text, language=language), unit)
    last_start = -1
    for index, p in enumerate(passages):
        assert p.index == index
        assert 0 <= p.start < p.end <= len(text)
        assert text[p.start : p.end] == p.text
        assert p.text.strip()  # never only white space
        assert p.start >= last_start  # windows may overlap, but never go back
        last_start = p.start


@settings(max_examples=150, deadline=None)
@given(text=TEXTS, unit=UNITS, language=st.sampled_from(["en", "ru", "xx", None]))
def test_segment_offsets_for_any_text(text: str, unit: str, language: str | None) -> None:
    _check_passages(text, unit, language)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=400) | TEXTS.map(lambda t: t.encode("utf-8")), unit=UNITS)
def test_any_file_bytes_read_and_segment_or_fail_cleanly(
    tmp_path: Path, data: bytes, unit: str
) -> None:
    file = tmp_path / f"f{os.urandom(4).hex()}.txt"
    file.write_bytes(data)
    try:
        (document,) = read_document(file)
    except InputError as exc:
        assert file.name in str(exc)
        return
    assert "\r" not in document.text and not document.text.startswith("\ufeff")
    _check_passages(document.text, unit, document.language)


# --- decoding every supported encoding --------------------------------------------------------

ANY_TEXT = st.text(
    alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\x00"),
    min_size=1,
    max_size=200,
)


@settings(max_examples=80, deadline=None)
@given(
    text=ANY_TEXT,
    encoding=st.sampled_from(
        ["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"]
    ),
)
def test_decode_bytes_with_a_bom_round_trips(text: str, encoding: str) -> None:
    bom = {
        "utf-16-le": codecs.BOM_UTF16_LE,
        "utf-16-be": codecs.BOM_UTF16_BE,
        "utf-32-le": codecs.BOM_UTF32_LE,
        "utf-32-be": codecs.BOM_UTF32_BE,
    }.get(encoding, b"")
    data = bom + text.encode(encoding)
    assert decode_bytes(data, "x.txt") == normalize_newlines(text)


LATIN = st.text(alphabet=st.sampled_from("abcdefghij KLMNOP.,\n\r'"), min_size=1, max_size=200)


@settings(max_examples=40, deadline=None)
@given(text=LATIN, encoding=st.sampled_from(["utf-16-le", "utf-16-be"]))
def test_decode_bytes_utf16_without_bom(text: str, encoding: str) -> None:
    assume(text.strip())
    assert decode_bytes(text.encode(encoding), "x.txt") == normalize_newlines(text)


RUSSIAN_WORDS = (
    "волонтёры писали письма политзаключённым соседи помогали друг другу люди уехали остались "
    "доверие между теми кто уехал и кто остался организация собирала деньги на адвокатов "
    "задержанных после протестов в Москве и Петербурге правозащитники Мемориал ОВД-Инфо"
).split()
RUSSIAN = st.lists(st.sampled_from(RUSSIAN_WORDS), min_size=6, max_size=40).flatmap(
    lambda words: st.lists(
        st.sampled_from([" ", " ", " ", ", ", ". ", "\n", "\r\n", "\n\n"]),
        min_size=len(words) - 1,
        max_size=len(words) - 1,
    ).map(lambda seps: "".join(w + s for w, s in zip(words, [*seps, ""], strict=True)))
)


@settings(max_examples=60, deadline=None)
@given(text=RUSSIAN, encoding=st.sampled_from(["utf-8", "cp1251", "koi8_r"]))
def test_decode_bytes_russian_in_each_cyrillic_encoding(text: str, encoding: str) -> None:
    assert decode_bytes(text.encode(encoding), "x.txt") == normalize_newlines(text)


# --- write_tables / read_tables for random tables ---------------------------------------------

CELL = st.text(
    alphabet=st.characters(exclude_categories=("Cs", "Cc"))
    | st.sampled_from(list("=+-@'\t\n,\";")),
    max_size=25,
)
COLUMN = st.text(alphabet=st.sampled_from("abcxyz_=+-@' йцук"), min_size=1, max_size=8).filter(
    lambda c: (
        c.strip() == c and c not in ("doc_id", "source", "title", "language", "n_chars", "sha256")
    )
)


@st.composite
def tables(draw: st.DrawFn) -> dict[str, pd.DataFrame]:
    n_docs = draw(st.integers(1, 4))
    extras = draw(st.lists(COLUMN, max_size=3, unique=True))
    doc_ids = [f"doc{i}" for i in range(n_docs)]
    documents = pd.DataFrame(
        {
            "doc_id": doc_ids,
            "source": [draw(CELL) for _ in doc_ids],
            "title": [draw(CELL) for _ in doc_ids],
            "language": [draw(st.sampled_from(["en", "ru", ""])) for _ in doc_ids],
            "n_chars": [draw(st.integers(0, 10**6)) for _ in doc_ids],
            "sha256": ["0" * 64 for _ in doc_ids],
            **{c: [draw(CELL) for _ in doc_ids] for c in extras},
        }
    )
    rows = []
    for doc_id in doc_ids:
        start = 0
        for index in range(draw(st.integers(0, 3))):
            text = draw(CELL)
            rows.append((doc_id, f"{doc_id}#{index}", index, start, start + len(text), text))
            start += len(text) + 2
    passages = pd.DataFrame(rows, columns=["doc_id", "passage_id", "index", "start", "end", "text"])
    passages = passages.astype(
        {
            "index": "int64",
            "start": "int64",
            "end": "int64",
            **{c: "str" for c in ("doc_id", "passage_id", "text")},
        }
    )
    documents = documents.astype({"n_chars": "int64"})
    return {
        "documents": documents.astype({c: "str" for c in documents.columns if c != "n_chars"}),
        "passages": passages,
    }


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=tables(), fmt=st.sampled_from(["coded", "coded.xlsx", "coded.parquet", "coded.jsonl"]))
def test_write_read_tables_round_trip(
    tmp_path: Path, data: dict[str, pd.DataFrame], fmt: str
) -> None:
    out = tmp_path / f"{os.urandom(4).hex()}-{fmt}"
    back, provenance = read_tables(write_tables(data, out, provenance={"fuzz": True}))
    assert provenance == {"fuzz": True}
    pd.testing.assert_frame_equal(back["documents"], data["documents"], check_dtype=False)
    pd.testing.assert_frame_equal(back["passages"], data["passages"], check_dtype=False)
    assert back["passages"]["start"].dtype == "int64"


# --- the codebook loader raises only CodebookError --------------------------------------------

_DEFAULT_LINES = DEFAULT_CODEBOOK.read_text(encoding="utf-8").splitlines(keepends=True)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), edits=st.integers(1, 6))
def test_damaged_real_codebook_raises_only_codebook_error(seed: int, edits: int) -> None:
    rng = random.Random(seed)
    lines = list(_DEFAULT_LINES)
    for _ in range(edits):
        at = rng.randrange(len(lines))
        action = rng.choice(["delete", "duplicate", "swap", "insert", "cut", "indent"])
        if action == "delete":
            del lines[at]
        elif action == "duplicate":
            lines.insert(at, lines[at])
        elif action == "swap":
            other = rng.randrange(len(lines))
            lines[at], lines[other] = lines[other], lines[at]
        elif action == "insert":
            col = rng.randrange(len(lines[at]) + 1)
            lines[at] = lines[at][:col] + rng.choice(":-[]{}'\"&*!|>#%@`\t\\ ") + lines[at][col:]
        elif action == "cut":
            lines[at] = lines[at][: rng.randrange(len(lines[at]) + 1)]
        else:
            lines[at] = rng.choice([" ", "  ", "\t", ""]) + lines[at].lstrip()
    try:
        parse_codebook("".join(lines), "damaged.yaml")
    except CodebookError as exc:
        assert "damaged.yaml" in str(exc)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=300))
def test_codebook_file_of_any_bytes_raises_only_codebook_error(tmp_path: Path, data: bytes) -> None:
    file = tmp_path / "codebook.yaml"
    file.write_bytes(data)
    with pytest.raises(CodebookError, match="codebook.yaml"):
        load_codebook(file)
