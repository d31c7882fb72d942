"""Metadata columns of the documents table that appear, vanish or come back between the batches
a :class:`~trustcode.io.tables.TableWriter` writes.

A manifest may leave a metadata cell empty for the first documents; the batches coded first then
lack that column. The written documents table must still be the one a single batch of all
documents gives, in every output format, while the other tables keep refusing a changed schema.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trustcode.errors import OutputError
from trustcode.io.readers import read_corpus
from trustcode.io.tables import TableWriter, read_tables
from trustcode.io.tables import writer as tables_writer
from trustcode.pipeline import code_corpus, document_frame
from trustcode.types import DOCUMENT_COLUMNS, TABLE_NAMES, Document

OUTPUTS = {"parquet": "coded.parquet", "csv": "coded", "jsonl": "coded.jsonl", "xlsx": "coded.xlsx"}

# our own short texts, English and Russian
TEXTS = {
    "a.txt": "Volunteers wrote letters to people held in prison.\n\nThey also sent parcels.\n",
    "b.txt": "Мы помогаем тем, кто остался, и говорим с ними открыто.\n",
    "c.txt": "Friends abroad collected money for lawyers.\n",
    "d.txt": "Соседи по дому вместе ищут юриста для задержанных.\n",
}


def make_corpus(
    folder: Path, manifest: str, files: tuple[str, ...] = ("a.txt", "b.txt", "c.txt")
) -> Path:
    folder.mkdir()
    for name in files:
        (folder / name).write_text(TEXTS[name], encoding="utf-8")
    (folder / "manifest.csv").write_text(manifest, encoding="utf-8")
    return folder


# group is empty for the first two documents and set for the third: the reported bug
LATE_GROUP = "doc_id,path,group\nd1,a.txt,\nd2,b.txt,\nd3,c.txt,stayed\n"


def code(corpus: Path, output: Path | None, batch_size: int) -> dict[str, pd.DataFrame]:
    run = code_corpus(corpus, model=None, batch_size=batch_size, output=output)
    if output is None:
        return run.tables
    return read_tables(output)[0]


def assert_all_tables_equal(left: dict[str, pd.DataFrame], right: dict[str, pd.DataFrame]) -> None:
    assert list(left) == list(right) == list(TABLE_NAMES)
    for name in TABLE_NAMES:
        pd.testing.assert_frame_equal(left[name], right[name], obj=name)


# --- the pipeline: the repro, in every format -----------------------------------------------


@pytest.mark.parametrize("fmt", list(OUTPUTS))
def test_column_first_seen_in_a_later_batch(tmp_path: Path, fmt: str) -> None:
    corpus = make_corpus(tmp_path / "corpus", LATE_GROUP)
    output = tmp_path / OUTPUTS[fmt]
    written = code(corpus, output, batch_size=1)
    one_batch = document_frame(list(read_corpus(corpus)))
    documents = written["documents"]
    assert list(documents.columns) == [*DOCUMENT_COLUMNS, "group"]
    assert documents["doc_id"].tolist() == ["d1", "d2", "d3"]
    assert documents["group"].tolist() == ["", "", "stayed"]
    pd.testing.assert_frame_equal(documents, one_batch)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".trustcode-tmp")] == []


@pytest.mark.parametrize("fmt", list(OUTPUTS))
def test_written_tables_read_back_as_the_in_memory_ones(tmp_path: Path, fmt: str) -> None:
    corpus = make_corpus(tmp_path / "corpus", LATE_GROUP)
    in_memory = code(corpus, None, batch_size=1)
    assert in_memory["documents"]["group"].tolist() == ["", "", "stayed"]
    assert len(in_memory["passages"]) >= 4  # a.txt has two paragraphs
    written = code(corpus, tmp_path / OUTPUTS[fmt], batch_size=1)
    assert_all_tables_equal(written, in_memory)


def test_first_seen_order_and_a_column_that_vanishes(tmp_path: Path) -> None:
    # city comes first in the corpus though second in the header; group vanishes after d2
    manifest = (
        "doc_id,path,group,city\n"
        "d1,a.txt,,Tbilisi\n"
        "d2,b.txt,emigrated,\n"
        "d3,c.txt,,\n"
        "d4,d.txt,,Пермь\n"
    )
    corpus = make_corpus(tmp_path / "corpus", manifest, ("a.txt", "b.txt", "c.txt", "d.txt"))
    for fmt in ("parquet", "csv"):
        documents = code(corpus, tmp_path / OUTPUTS[fmt], batch_size=1)["documents"]
        assert list(documents.columns) == [*DOCUMENT_COLUMNS, "city", "group"]
        assert documents["city"].tolist() == ["Tbilisi", "", "", "Пермь"]
        assert documents["group"].tolist() == ["", "emigrated", "", ""]
        pd.testing.assert_frame_equal(documents, document_frame(list(read_corpus(corpus))))


@pytest.mark.parametrize("fmt", ["jsonl", "xlsx"])
def test_column_present_first_absent_then_back(tmp_path: Path, fmt: str) -> None:
    manifest = "doc_id,path,group\nd1,a.txt,left\nd2,b.txt,\nd3,c.txt,stayed\n"
    corpus = make_corpus(tmp_path / "corpus", manifest)
    documents = code(corpus, tmp_path / OUTPUTS[fmt], batch_size=1)["documents"]
    assert documents["group"].tolist() == ["left", "", "stayed"]
    pd.testing.assert_frame_equal(documents, code(corpus, None, batch_size=3)["documents"])


# --- the writer itself ----------------------------------------------------------------------


def doc_batch(rows: list[tuple[str, dict[str, object]]]) -> pd.DataFrame:
    """A documents batch whose metadata are the given dicts, built the pipeline's way."""
    documents = [Document(d, f"Текст {d}.", language="ru", metadata=m) for d, m in rows]
    return document_frame(documents)


@pytest.mark.parametrize("fmt", list(OUTPUTS))
def test_writer_holds_documents_and_streams_the_rest(tmp_path: Path, fmt: str) -> None:
    passages = pd.DataFrame(
        {
            "doc_id": ["x"],
            "passage_id": ["x#0"],
            "index": [0],
            "start": [0],
            "end": [4],
            "text": ["Окно"],
        }
    )
    with TableWriter(tmp_path / OUTPUTS[fmt], provenance={}, code_ids=[]) as writer:
        writer.append({"documents": doc_batch([("x", {})]), "passages": passages})
        if fmt != "xlsx":  # folder formats write the streamed tables as they come
            (tmp,) = [p for p in tmp_path.iterdir() if p.name.startswith(".trustcode-tmp")]
            # passages are on disk; the documents table waits for close
            assert sorted(p.name for p in tmp.iterdir()) == [f"passages.{fmt}"]
        writer.append({"documents": doc_batch([("y", {"date": "2024-03-08"})])})
    documents = read_tables(tmp_path / OUTPUTS[fmt])[0]["documents"]
    assert documents["date"].tolist() == ["", "2024-03-08"]


def test_numbers_and_gaps_in_one_column_become_text(tmp_path: Path) -> None:
    # a caller's own frame may carry a numeric metadata column that a later batch lacks
    first = doc_batch([("x", {})]).assign(wave=[1])
    second = doc_batch([("y", {})])
    with TableWriter(tmp_path / OUTPUTS["parquet"], provenance={}, code_ids=[]) as writer:
        writer.append({"documents": first})
        writer.append({"documents": second})
    documents = read_tables(tmp_path / OUTPUTS["parquet"])[0]["documents"]
    assert documents["wave"].tolist() == ["1", ""]


def test_numeric_column_in_every_batch_keeps_its_type_in_parquet(tmp_path: Path) -> None:
    first = doc_batch([("x", {})]).assign(wave=[1])
    second = doc_batch([("y", {})]).assign(wave=[2])
    with TableWriter(tmp_path / OUTPUTS["parquet"], provenance={}, code_ids=[]) as writer:
        writer.append({"documents": first})
        writer.append({"documents": second})
    documents = read_tables(tmp_path / OUTPUTS["parquet"])[0]["documents"]
    assert documents["wave"].tolist() == [1, 2]
    assert documents["wave"].dtype == "int64"


@pytest.mark.parametrize("fmt", list(OUTPUTS))
def test_interrupted_run_with_new_columns_leaves_nothing(tmp_path: Path, fmt: str) -> None:
    with pytest.raises(RuntimeError, match="stopped"):
        with TableWriter(tmp_path / OUTPUTS[fmt], provenance={}, code_ids=[]) as writer:
            writer.append({"documents": doc_batch([("x", {})])})
            writer.append({"documents": doc_batch([("y", {"group": "остались"})])})
            raise RuntimeError("stopped")
    assert list(tmp_path.iterdir()) == []


def test_bad_document_value_fails_at_its_batch(tmp_path: Path) -> None:
    bad = doc_batch([("x", {})]).assign(n_chars=["many"])
    writer = TableWriter(tmp_path / OUTPUTS["csv"], provenance={}, code_ids=[])
    writer.append({"documents": doc_batch([("w", {})])})
    with pytest.raises(OutputError, match="'n_chars', row 1 below the header: expected a whole"):
        writer.append({"documents": bad})
    assert list(tmp_path.iterdir()) == []


def test_joining_held_batches_early_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tables_writer, "HELD_DOCUMENT_BATCHES", 2)
    batches = [
        doc_batch([("a", {})]).assign(wave=[1]),
        doc_batch([("b", {})]),
        doc_batch([("c", {"group": "уехали"})]).assign(wave=[3]),
        doc_batch([("d", {})]),
        doc_batch([("e", {"city": "Riga"})]),
    ]
    with TableWriter(tmp_path / OUTPUTS["parquet"], provenance={}, code_ids=[]) as writer:
        for batch in batches:
            writer.append({"documents": batch})
        assert len(writer._documents) < len(batches)  # they were joined on the way
    documents = read_tables(tmp_path / OUTPUTS["parquet"])[0]["documents"]
    assert list(documents.columns) == [*DOCUMENT_COLUMNS, "wave", "group", "city"]
    assert documents["wave"].tolist() == ["1", "", "3", "", ""]
    assert documents["group"].tolist() == ["", "", "уехали", "", ""]
    assert documents["city"].tolist() == ["", "", "", "", "Riga"]


# --- the other tables keep their first batch's columns --------------------------------------


def streamed_tables() -> dict[str, pd.DataFrame]:
    return {
        "passages": pd.DataFrame(
            {
                "doc_id": ["x"],
                "passage_id": ["x#0"],
                "index": [0],
                "start": [0],
                "end": [5],
                "text": ["Hello"],
            }
        ),
        "codings": pd.DataFrame(
            {
                "doc_id": ["x"],
                "passage_id": ["x#0"],
                "start": [0],
                "end": [5],
                "code": ["trust"],
                "source": ["rule"],
                "score": [float("nan")],
                "evidence": ["trust.hello: hello"],
                "coder": ["trustcode"],
            }
        ),
        "matrix": pd.DataFrame({"doc_id": ["x"], "passage_id": ["x#0"], "trust": [1]}),
        "summary": pd.DataFrame(
            {"doc_id": ["x"], "code": ["trust"], "passages": [1], "share": [1.0]}
        ),
    }


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl", "xlsx"])
@pytest.mark.parametrize("name", ["passages", "codings", "summary"])
def test_other_tables_refuse_a_new_column(tmp_path: Path, fmt: str, name: str) -> None:
    first = streamed_tables()[name]
    with pytest.raises(OutputError, match=f"table {name} got column\\(s\\) extra that its first"):
        with TableWriter(tmp_path / OUTPUTS[fmt], provenance={}, code_ids=["trust"]) as writer:
            writer.append({name: first})
            writer.append({name: first.assign(extra="x")})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_matrix_refuses_changed_code_columns(tmp_path: Path, fmt: str) -> None:
    first = streamed_tables()["matrix"]
    with pytest.raises(OutputError, match="unexpected: hope, missing: none"):
        with TableWriter(tmp_path / OUTPUTS[fmt], provenance={}, code_ids=["trust"]) as writer:
            writer.append({"matrix": first})
            writer.append({"matrix": first.assign(hope=[0])})
    assert list(tmp_path.iterdir()) == []


# --- property: any split into batches writes the one-batch table ----------------------------

_keys = st.sampled_from(["group", "city", "дата"])
_values = st.sampled_from(["left", "stayed", "Казань", "0", " "])
_metadata = st.dictionaries(_keys, _values, max_size=3)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    metadata=st.lists(_metadata, min_size=1, max_size=6),
    cuts=st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=6),
    fmt=st.sampled_from(["csv", "jsonl", "parquet"]),
)
def test_any_batching_writes_the_one_batch_table(
    tmp_path_factory: pytest.TempPathFactory,
    metadata: list[dict[str, object]],
    cuts: list[int],
    fmt: str,
) -> None:
    rows = [(f"d{i}", m) for i, m in enumerate(metadata)]
    folder = tmp_path_factory.mktemp("out")
    with TableWriter(folder / OUTPUTS[fmt], provenance={}, code_ids=[]) as writer:
        start = 0
        for size in cuts:
            writer.append({"documents": doc_batch(rows[start : start + size])})
            start += size
        if start < len(rows):
            writer.append({"documents": doc_batch(rows[start:])})
    written = read_tables(folder / OUTPUTS[fmt])[0]["documents"]
    pd.testing.assert_frame_equal(written, doc_batch(rows))
