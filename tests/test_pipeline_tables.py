"""The table builders: every table's columns, their order and their dtypes are the contract's,
for full and empty batches, in memory and written."""

from __future__ import annotations

import math
from pathlib import Path
from types import MappingProxyType

import pandas as pd
import pytest

import trustcode
from trustcode.io.tables import read_tables, write_tables
from trustcode.pipeline import CodedDocument, tables_for
from trustcode.segment import segment
from trustcode.types import Coding, Document

CODES = ["letters", "court"]

#: table -> (column, dtype) in order; "str" is pandas' text dtype
EXPECTED = {
    "documents": [
        ("doc_id", "str"),
        ("source", "str"),
        ("title", "str"),
        ("language", "str"),
        ("n_chars", "int64"),
        ("sha256", "str"),
        ("group", "str"),
        ("year", "str"),
    ],
    "passages": [
        ("doc_id", "str"),
        ("passage_id", "str"),
        ("index", "int64"),
        ("start", "int64"),
        ("end", "int64"),
        ("text", "str"),
    ],
    "codings": [
        ("doc_id", "str"),
        ("passage_id", "str"),
        ("start", "int64"),
        ("end", "int64"),
        ("code", "str"),
        ("source", "str"),
        ("score", "float64"),
        ("evidence", "str"),
        ("coder", "str"),
    ],
    "matrix": [("doc_id", "str"), ("passage_id", "str"), ("letters", "int64"), ("court", "int64")],
    "summary": [("doc_id", "str"), ("code", "str"), ("passages", "int64"), ("share", "float64")],
}


def _coded() -> list[CodedDocument]:
    first = Document(
        "one",
        "Letters went out.\n\nThe court met.",
        source="one.txt",
        title="One",
        language="en",
        metadata=MappingProxyType({"group": "ngo"}),
    )
    second = Document(
        "two",
        "Письма ушли.",
        source="two.txt",
        language=None,
        metadata=MappingProxyType({"year": 2024, "group": None}),
    )
    passages = segment(first)
    codings = [
        Coding("one", "one#0", 0, 17, "letters", "rule", None, 'l: "Letters" [0-7]'),
        Coding("one", "one#1", 19, 33, "court", "classifier", 0.75, "classifier 0.75"),
    ]
    return [CodedDocument(first, passages, codings), CodedDocument(second, segment(second), [])]


def _columns(frame: pd.DataFrame) -> list[tuple[str, str]]:
    return [(str(c), str(d)) for c, d in zip(frame.columns, frame.dtypes, strict=True)]


def test_tables_have_the_contract_columns_in_order_with_their_dtypes() -> None:
    tables = tables_for(_coded(), CODES)
    assert list(tables) == ["documents", "passages", "codings", "matrix", "summary"]
    for name, expected in EXPECTED.items():
        assert _columns(tables[name]) == expected, name
        assert isinstance(tables[name].index, pd.RangeIndex), name


def test_table_values() -> None:
    tables = tables_for(_coded(), CODES)
    documents = tables["documents"]
    assert documents["language"].tolist() == ["en", ""]  # no language: empty text
    assert documents["group"].tolist() == ["ngo", ""]  # None and missing: empty text
    assert documents["year"].tolist() == ["", "2024"]  # metadata values become text
    assert documents["n_chars"].tolist() == [33, 12]
    assert documents["sha256"][0] == Document("x", "Letters went out.\n\nThe court met.").sha256
    assert tables["passages"]["passage_id"].tolist() == ["one#0", "one#1", "two#0"]
    scores = tables["codings"]["score"].tolist()
    assert math.isnan(scores[0]) and scores[1] == 0.75
    assert tables["matrix"][CODES].values.tolist() == [[1, 0], [0, 1], [0, 0]]
    summary = tables["summary"]
    assert summary["passages"].tolist() == [1, 1, 0, 0]
    assert summary["share"].tolist() == [0.5, 0.5, 0.0, 0.0]


def test_empty_tables_keep_the_contract_dtypes() -> None:
    """An empty batch (no documents, or no codings) joins the others without turning their
    text columns into objects."""
    tables = tables_for([], CODES)
    for name, expected in EXPECTED.items():
        if name == "documents":
            expected = expected[:6]
        assert _columns(tables[name]) == expected, name
        assert len(tables[name]) == 0
    no_codings = tables_for(_coded()[1:], CODES)
    assert _columns(no_codings["codings"]) == EXPECTED["codings"]
    joined = pd.concat([no_codings["codings"], tables_for(_coded(), CODES)["codings"]])
    assert _columns(joined) == EXPECTED["codings"]


def test_written_tables_read_back_with_the_same_dtypes(tmp_path: Path) -> None:
    tables = tables_for(_coded(), CODES)
    write_tables(tables, tmp_path / "out.parquet", provenance={"unit": "paragraph"})
    back, _ = read_tables(tmp_path / "out.parquet")
    for name, expected in EXPECTED.items():
        assert _columns(back[name]) == expected, name
        pd.testing.assert_frame_equal(back[name], tables[name], check_exact=True, obj=name)


@pytest.mark.parametrize("batch_size", [1, 2])
def test_the_batch_size_does_not_change_the_tables(tmp_path: Path, batch_size: int) -> None:
    """Batches of one document include some without codings; their tables join all the same."""
    texts = [
        "Volunteers write letters to political prisoners.",
        "The weather was mild and the sky was grey all day.",
        "Полиция задержала участников пикета у суда.",
    ]
    for i, text in enumerate(texts):
        (tmp_path / f"d{i}.txt").write_text(text, encoding="utf-8")
    whole = trustcode.code_corpus(tmp_path, model=None)
    batched = trustcode.code_corpus(tmp_path, model=None, batch_size=batch_size)
    assert len(whole.tables["codings"]) >= 2
    for name, frame in whole.tables.items():
        pd.testing.assert_frame_equal(batched.tables[name], frame, check_exact=True, obj=name)
