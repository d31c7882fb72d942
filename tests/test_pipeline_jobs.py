"""--jobs N: worker processes read plain files themselves; whatever they read, the tables,
warnings, errors and progress are those of one process."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest

import trustcode
from trustcode.errors import DocumentSkipped, InputError
from trustcode.io.tables import read_tables
from trustcode.redact import Redactor

# Our own texts: what the rules code in English and Russian, and a passage with no code.
TEXTS = [
    "Volunteers write letters to political prisoners every week.",
    "The court fined the activist, and police detained three more people.",
    "Активистов задержали у здания суда; адвокаты добились их освобождения.",
    "Письма политзаключённым пишут каждую неделю, Анна Петрова их собирает.",
    "A picnic and a reading club met by the river on Sunday.",
]


def _corpus(folder: Path, documents: int = 19) -> Path:
    """Plain files of both languages, an empty and a binary file that are skipped, and a CSV
    table (read by the parent) among them, in that order by name."""
    folder.mkdir()
    for i in range(documents):
        paragraphs = [TEXTS[(i + k) % len(TEXTS)] for k in range(1 + i % 3)]
        suffix = ".md" if i % 4 == 3 else ".txt"
        (folder / f"doc{i:02d}{suffix}").write_text("\n\n".join(paragraphs), encoding="utf-8")
    (folder / "doc05a.txt").write_bytes(b"")
    (folder / "doc11a.txt").write_bytes(b"\x00\x01\x02binary\x00" * 10)
    (folder / "doc07a.csv").write_text(
        "text\n" + "\n".join(f'"{t}"' for t in TEXTS[:3]) + "\n", encoding="utf-8"
    )
    return folder


def _run(corpus: Path, jobs: int, **options: object) -> tuple[trustcode.CodingRun, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = trustcode.code_corpus(corpus, model=None, jobs=jobs, **options)
    skipped = [str(w.message) for w in caught if issubclass(w.category, DocumentSkipped)]
    return run, skipped


def _assert_same_tables(one: dict[str, pd.DataFrame], two: dict[str, pd.DataFrame]) -> None:
    assert list(one) == list(two)
    for name, frame in one.items():
        pd.testing.assert_frame_equal(frame, two[name], check_exact=True, obj=name)


def test_workers_skip_unreadable_files_like_one_process(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "corpus")
    one, skipped_one = _run(corpus, 1, batch_size=4)
    two, skipped_two = _run(corpus, 2, batch_size=4)
    _assert_same_tables(one.tables, two.tables)
    # the warnings name the same files, in corpus order
    assert len(skipped_one) == 2
    assert skipped_two == skipped_one
    assert "doc05a.txt" in skipped_one[0] and "doc11a.txt" in skipped_one[1]
    ids = one.tables["documents"]["doc_id"].tolist()
    assert len(ids) == 19 + 3 and "doc07a-2" in ids and "doc05a" not in ids
    assert set(one.tables["documents"]["language"]) == {"en", "ru"}


def test_workers_write_the_same_output_as_one_process(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "corpus")
    for jobs in (1, 2):
        with pytest.warns(DocumentSkipped):
            trustcode.code_corpus(
                corpus, model=None, jobs=jobs, batch_size=3, output=tmp_path / f"j{jobs}.parquet"
            )
    one, _ = read_tables(tmp_path / "j1.parquet")
    two, _ = read_tables(tmp_path / "j2.parquet")
    _assert_same_tables(one, two)
    assert len(one["documents"]) == 22


def test_strict_workers_raise_the_error_one_process_raises(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "corpus")
    messages = []
    for jobs in (1, 2):
        with pytest.raises(InputError) as raised:
            trustcode.code_corpus(corpus, model=None, jobs=jobs, strict=True)
        messages.append(str(raised.value))
    assert messages[0] == messages[1]
    assert "doc05a.txt" in messages[0] and "empty" in messages[0]


def test_workers_find_a_duplicate_id_as_one_process_does(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.md").write_text(TEXTS[0], encoding="utf-8")
    (corpus / "a.txt").write_text(TEXTS[1], encoding="utf-8")
    messages = []
    for jobs in (1, 2):
        with pytest.raises(InputError, match="Duplicate document id 'a'") as raised:
            trustcode.code_corpus(corpus, model=None, jobs=jobs)
        messages.append(str(raised.value))
    assert messages[0] == messages[1]


def test_workers_with_nothing_readable_say_why_as_one_process(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "empty.txt").write_bytes(b"")
    messages = []
    for jobs in (1, 2):
        with pytest.warns(DocumentSkipped), pytest.raises(InputError) as raised:
            trustcode.code_corpus(corpus, model=None, jobs=jobs)
        messages.append(str(raised.value))
    assert messages[0] == messages[1]
    assert messages[0].startswith("No documents to read in") and "empty.txt" in messages[0]


def test_progress_sees_the_same_documents_in_order(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "corpus")
    seen: dict[int, list[tuple[str, str, str | None]]] = {1: [], 2: []}
    for jobs in (1, 2):
        _run(
            corpus, jobs, progress=lambda d, j=jobs: seen[j].append((d.doc_id, d.text, d.language))
        )
    assert len(seen[1]) == 22
    assert seen[2] == seen[1]


def test_workers_with_a_redactor_number_pseudonyms_in_corpus_order(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "corpus")
    one, _ = _run(corpus, 1, redact=Redactor(names=["Анна Петрова"]))
    two, _ = _run(corpus, 2, redact=Redactor(names=["Анна Петрова"]))
    _assert_same_tables(one.tables, two.tables)
    texts = "\n".join(one.tables["passages"]["text"])
    assert "[PERSON-1]" in texts and "Петрова" not in texts


def test_manifest_metadata_reaches_the_tables_from_workers(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    rows = ["doc_id,path,title,group,date"]
    for i, text in enumerate(TEXTS):
        (corpus / f"f{i}.txt").write_text(text, encoding="utf-8")
        rows.append(f"n{i},f{i}.txt,Note {i},{'ngo' if i % 2 else 'press'},2024-0{i + 1}-01")
    (corpus / "manifest.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    one, _ = _run(corpus, 1)
    two, _ = _run(corpus, 2)
    _assert_same_tables(one.tables, two.tables)
    documents = two.tables["documents"]
    assert documents["title"].tolist() == [f"Note {i}" for i in range(5)]
    assert documents["group"].tolist() == ["press", "ngo", "press", "ngo", "press"]


def test_workers_read_with_the_language_given_for_undetectable_texts(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "numbers.txt").write_text("2024: 12 345, 67 890.", encoding="utf-8")
    (corpus / "letters.txt").write_text(TEXTS[0], encoding="utf-8")
    languages = [
        trustcode.code_corpus(corpus, model=None, jobs=jobs, language="ru")
        .tables["documents"]["language"]
        .tolist()
        for jobs in (1, 2)
    ]
    assert languages[0] == languages[1] == ["en", "ru"]  # letters.txt, then numbers.txt
