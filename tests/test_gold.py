"""Gold codings from the three formats: passage tables, hand-coded offsets, trustcode tables."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from trustcode.errors import GoldError
from trustcode.gold import GOLD_COLUMNS, default_documents, read_gold, split_codes
from trustcode.segment import paragraph_spans
from trustcode.types import Code, Codebook

CODEBOOK = Codebook(
    name="test codebook",
    codes=(
        Code("help", "Help"),
        Code("letters", "Letters", parent="help"),
        Code("arrests", "Arrests"),
        Code("exile", "Exile"),
    ),
    languages=("en", "ru"),
)

EN_TEXT = (
    "A small note on how neighbours help each other.\n\n"
    "Volunteers in three towns wrote letters to people held in detention.\n\n"
    "The police detained twelve people at the square and fined them later.\n"
)
RU_TEXT = (
    "Заметка о помощи.\n\n"
    "Волонтёры написали письма людям, которых задержали на акции в прошлом месяце.\n\n"
    "Многие уехали из страны, а оставшиеся спорят с ними о будущем.\n"
)


def _write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _corpus(folder: Path, docs: dict[str, tuple[str, str]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for doc_id, (text, language) in docs.items():
        (folder / f"{doc_id}.txt").write_text(text, encoding="utf-8")
        rows.append([doc_id, f"{doc_id}.txt", doc_id, language])
    _write_csv(folder / "manifest.csv", ["doc_id", "path", "title", "language"], rows)
    return folder


def _hand_rows(doc_id: str, text: str, codes: list[str]) -> list[list[object]]:
    spans = paragraph_spans(text)
    assert len(spans) == len(codes)
    pairs = enumerate(zip(spans, codes, strict=True))
    return [[doc_id, i, s, e, c, "ann"] for i, ((s, e), c) in pairs]


HAND_HEADER = ["doc_id", "index", "start", "end", "codes", "coder"]


# --- passage tables -----------------------------------------------------------------------------


def test_passage_table_csv_bilingual(tmp_path: Path) -> None:
    path = _write_csv(
        tmp_path / "gold.csv",
        ["doc_id", "text", "codes"],
        [
            ["en1", "Volunteers wrote letters to people held after the march.", "letters; arrests"],
            ["en1", "The weather was mild that spring and nobody cared.", ""],
            ["ru1", "Полиция задержала журналистов у здания суда вчера вечером.", "arrests"],
        ],
    )
    gold = read_gold(path, codebook=CODEBOOK)
    assert list(gold.columns) == list(GOLD_COLUMNS)
    assert gold["passage_id"].tolist() == ["en1#0", "en1#1", "ru1#0"]
    assert gold["codes"].tolist() == [("arrests", "letters"), (), ("arrests",)]
    assert gold["language"].tolist() == ["en", "en", "ru"]
    assert gold["start"].isna().all()


def test_passage_table_xlsx_with_offsets_and_coder(tmp_path: Path) -> None:
    path = tmp_path / "gold.xlsx"
    pd.DataFrame(
        {
            "doc_id": ["d", "d"],
            "text": ["Письма в колонию отправили сорок человек.", "People left for Tbilisi."],
            "codes": ["letters", "exile"],
            "start": [0, 45],
            "end": [41, 69],
            "coder": ["maria", "maria"],
            "language": ["ru", "en"],
        }
    ).to_excel(path, index=False)
    gold = read_gold(path, codebook=CODEBOOK)
    assert gold["start"].tolist() == [0, 45]
    assert gold["end"].tolist() == [41, 69]
    assert gold["coder"].tolist() == ["maria", "maria"]
    assert gold["language"].tolist() == ["ru", "en"]


def test_passage_table_missing_columns_named(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "gold.csv", ["doc_id", "text"], [["d", "Some words here."]])
    with pytest.raises(GoldError, match="missing codes"):
        read_gold(path)


def test_table_of_neither_format_is_refused(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "gold.csv", ["doc", "label"], [["d", "x"]])
    with pytest.raises(GoldError, match=r"not a gold table.*missing doc_id, text, codes"):
        read_gold(path)


def test_unknown_codes_listed_with_lines(tmp_path: Path) -> None:
    path = _write_csv(
        tmp_path / "gold.csv",
        ["doc_id", "text", "codes"],
        [["d", "one text", "letters;hope"], ["d", "two text", "fear"], ["d", "three", "hope"]],
    )
    with pytest.raises(GoldError) as info:
        read_gold(path, codebook=CODEBOOK)
    message = str(info.value)
    assert "'fear' (line 3)" in message
    assert "'hope' (lines 2, 4)" in message
    assert "letters'" not in message.split("The codebook")[0]


LABELLED = Codebook(
    name="labelled",
    codes=(
        Code("repression", "State repression and stigmatizing labels"),
        Code("exile", "Life in exile"),
        Code("Exile_2", "exile"),  # a label that is another code's id: the id wins
    ),
)


def test_codes_named_by_their_labels_in_any_case_become_ids(tmp_path: Path) -> None:
    path = _write_csv(
        tmp_path / "gold.csv",
        ["doc_id", "text", "codes"],
        [
            ["d", "one text", "  state REPRESSION and stigmatizing labels ;life in exile"],
            ["d", "two text", "repression;State repression and stigmatizing labels"],
            ["d", "three", "EXILE"],
        ],
    )
    gold = read_gold(path, codebook=LABELLED)
    assert gold["codes"].tolist() == [("exile", "repression"), ("repression",), ("exile",)]


def test_an_unknown_name_lists_the_ids_and_labels_it_could_have_been(tmp_path: Path) -> None:
    path = _write_csv(
        tmp_path / "gold.csv", ["doc_id", "text", "codes"], [["d", "one text", "State repression"]]
    )
    with pytest.raises(GoldError) as info:
        read_gold(path, codebook=LABELLED)
    message = str(info.value)
    assert "'State repression' (line 2)" in message
    assert "repression ('State repression and stigmatizing labels')" in message
    assert "exile ('Life in exile')" in message


def test_a_label_two_codes_share_names_neither(tmp_path: Path) -> None:
    book = Codebook(name="twins", codes=(Code("a", "Same"), Code("b", "same")))
    path = _write_csv(
        tmp_path / "gold.csv", ["doc_id", "text", "codes"], [["d", "one text", "SAME"]]
    )
    with pytest.raises(GoldError, match="'SAME' \\(line 2\\)"):
        read_gold(path, codebook=book)


# --- hand-coded offsets -------------------------------------------------------------------------


def test_hand_coded_text_resolved_from_documents(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "docs", {"en_doc": (EN_TEXT, "en"), "ru_doc": (RU_TEXT, "ru")})
    gold_file = _write_csv(
        tmp_path / "coding" / "g.csv",
        HAND_HEADER,
        _hand_rows("en_doc", EN_TEXT, ["", "letters", "arrests"])
        + _hand_rows("ru_doc", RU_TEXT, ["", "letters;arrests", "exile"]),
    )
    gold = read_gold(gold_file, codebook=CODEBOOK, documents=[corpus])
    assert len(gold) == 6
    for row in gold.itertuples():
        source = EN_TEXT if row.doc_id == "en_doc" else RU_TEXT
        assert source[row.start : row.end] == row.text
    assert gold.loc[gold["passage_id"] == "ru_doc#1", "codes"].item() == ("arrests", "letters")
    assert gold["language"].tolist() == ["en"] * 3 + ["ru"] * 3
    assert set(gold["coder"]) == {"ann"}


def test_hand_coded_documents_default_to_the_manifests_above_the_gold(tmp_path: Path) -> None:
    repo = tmp_path / "main"
    _corpus(repo / "corpus", {"en_doc": (EN_TEXT, "en")})
    # a folder beside the repository, as ../shared is to the development tree: never searched
    _corpus(tmp_path / "shared" / "corpus-sources", {"ru_doc": (RU_TEXT, "ru")})
    gold_file = _write_csv(
        repo / "corpus" / "gold" / "coding" / "g.csv",
        HAND_HEADER,
        _hand_rows("en_doc", EN_TEXT, ["", "", "arrests"])
        + _hand_rows("ru_doc", RU_TEXT, ["", "", "exile"]),
    )
    assert default_documents(gold_file) == [(repo / "corpus").resolve()]
    with pytest.raises(GoldError) as info:
        read_gold(gold_file.parent)
    message = str(info.value)
    assert "the documents of these gold rows cannot be found: ru_doc (passages ru_doc#0" in message
    assert f"Looked in: {(repo / 'corpus').resolve()}." in message
    assert "documents=[...]" in message and info.value.params == ("documents",)
    assert "en_doc" not in message


@pytest.mark.parametrize("how", ["folders", "files", "manifest"])
def test_hand_coded_documents_given_as_folders_files_or_manifests(tmp_path: Path, how: str) -> None:
    corpus = _corpus(tmp_path / "corpus", {"en_doc": (EN_TEXT, "en")})
    elsewhere = _corpus(tmp_path / "elsewhere", {"ru_doc": (RU_TEXT, "ru")})
    gold_file = _write_csv(
        tmp_path / "outside" / "g.csv",
        HAND_HEADER,
        _hand_rows("en_doc", EN_TEXT, ["", "", "arrests"])
        + _hand_rows("ru_doc", RU_TEXT, ["", "", "exile"]),
    )
    given = {
        "folders": [corpus, elsewhere],
        "files": [corpus / "en_doc.txt", elsewhere / "ru_doc.txt"],
        "manifest": [corpus / "manifest.csv", elsewhere / "manifest.csv"],
    }[how]
    gold = read_gold(gold_file, documents=given)
    assert gold["text"].tolist() == [EN_TEXT[s:e] for s, e in paragraph_spans(EN_TEXT)] + [
        RU_TEXT[s:e] for s, e in paragraph_spans(RU_TEXT)
    ]
    assert gold["language"].tolist() == ["en"] * 3 + ["ru"] * 3


def test_the_first_location_that_holds_a_document_gives_its_text(tmp_path: Path) -> None:
    clean = _corpus(tmp_path / "clean", {"en_doc": (EN_TEXT, "en")})
    raw = _corpus(tmp_path / "raw", {"en_doc": ("A header.\n\n" + EN_TEXT, "en")})
    gold_file = _write_csv(
        tmp_path / "g.csv", HAND_HEADER, _hand_rows("en_doc", EN_TEXT, ["", "", "arrests"])
    )
    assert len(read_gold(gold_file, documents=[clean, raw])) == 3
    with pytest.raises(
        GoldError,
        match=r"stale offsets: 3 gold passage.*\(read from "
        + re.escape(str(raw / "en_doc.txt"))
        + r"\)\. The gold was coded on "
        r"another text: give that one in documents=\[\.\.\.\]",
    ):
        read_gold(gold_file, documents=[raw, clean])


def test_documents_that_do_not_exist_are_named(tmp_path: Path) -> None:
    gold_file = _write_csv(
        tmp_path / "g.csv", HAND_HEADER, _hand_rows("en_doc", EN_TEXT, ["", "", ""])
    )
    with pytest.raises(
        GoldError,
        match=r"absent: no such file or folder, given as where the "
        r"gold's documents are",
    ):
        read_gold(gold_file, documents=[tmp_path / "absent"])


def test_a_corpus_folder_given_as_gold_says_to_use_documents(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "corpus", {"en_doc": (EN_TEXT, "en")})
    (tmp_path / "texts").mkdir()
    (tmp_path / "texts" / "a.txt").write_text(EN_TEXT, encoding="utf-8")
    for folder in (corpus, tmp_path / "texts"):  # with a manifest, or texts only
        with pytest.raises(
            GoldError,
            match=r"looks like a folder of documents: give it in "
            r"documents=\[\.\.\.\]",
        ):
            read_gold([folder])


def test_gold_with_no_manifest_above_it_says_so(tmp_path: Path) -> None:
    gold_file = _write_csv(
        tmp_path / "g.csv", HAND_HEADER, _hand_rows("en_doc", EN_TEXT, ["", "", ""])
    )
    with pytest.raises(
        GoldError,
        match="Looked in: nowhere: no folder above the gold file "
        "holds a manifest.csv. Say where they are in documents=",
    ):
        read_gold(gold_file)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda rows: rows[1].__setitem__(3, 10_000), r"en_doc#1 \(.*outside the text"),
        (lambda rows: rows[2].__setitem__(2, rows[2][2] + 1), r"en_doc#2 \(gold .* document now"),
        (lambda rows: rows[2].__setitem__(1, 7), r"en_doc#7 .*no such paragraph"),
    ],
    ids=["out-of-range", "moved-paragraph", "no-such-index"],
)
def test_stale_offsets(tmp_path: Path, change, expected: str) -> None:
    corpus = _corpus(tmp_path / "docs", {"en_doc": (EN_TEXT, "en")})
    rows = _hand_rows("en_doc", EN_TEXT, ["", "letters", "arrests"])
    change(rows)
    gold_file = _write_csv(tmp_path / "g.csv", HAND_HEADER, rows)
    with pytest.raises(GoldError, match="stale offsets") as info:
        read_gold(gold_file, documents=[corpus])
    assert re.search(expected, str(info.value))
    # untouched passages are not named
    assert "en_doc#0" not in str(info.value)


def test_the_command_line_names_documents_where_the_command_has_it(tmp_path: Path) -> None:
    """The library says documents=[...]; a command adds --documents only where it has it."""
    from click.testing import CliRunner

    from trustcode.cli import main

    gold_file = _write_csv(
        tmp_path / "g.csv", HAND_HEADER, _hand_rows("en_doc", EN_TEXT, ["", "letters", ""])
    )
    runner = CliRunner()
    compared = runner.invoke(main, ["compare", str(gold_file)])
    assert compared.exit_code == 2
    assert "Say where they are in documents=[...]" in compared.output
    assert compared.output.rstrip().endswith("Command line: --documents.")
    exported = runner.invoke(main, ["export", str(gold_file), "-o", str(tmp_path / "p.qdpx")])
    assert exported.exit_code == 2
    assert "Say where they are in documents=[...]" in exported.output
    assert "--documents" not in exported.output  # export has no such option
    assert not (tmp_path / "p.qdpx").exists()


def test_missing_document_names_its_passages(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "docs", {"en_doc": (EN_TEXT, "en")})
    rows = _hand_rows("gone", EN_TEXT, ["", "letters", ""])
    gold_file = _write_csv(tmp_path / "g.csv", HAND_HEADER, rows)
    with pytest.raises(
        GoldError,
        match=r"cannot be found: gone \(passages gone#0, gone#1, "
        r"gone#2\)\. Looked in: .*docs\. Say where they are in documents=",
    ):
        read_gold(gold_file, documents=[corpus])


def test_hand_coded_missing_column_named(tmp_path: Path) -> None:
    header = ["doc_id", "index", "start", "codes"]
    gold_file = _write_csv(tmp_path / "g.csv", header, [["d", 0, 0, ""]])
    with pytest.raises(GoldError, match="missing end"):
        read_gold(gold_file, documents=[tmp_path])


def test_hand_coded_bad_number_says_where(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "docs", {"en_doc": (EN_TEXT, "en")})
    rows = _hand_rows("en_doc", EN_TEXT, ["", "", ""])
    rows[1][2] = "twelve"
    gold_file = _write_csv(tmp_path / "g.csv", HAND_HEADER, rows)
    with pytest.raises(GoldError, match=r"g\.csv:3: column 'start' must be a whole number"):
        read_gold(gold_file, documents=[corpus])


# --- trustcode tables ---------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["run", "run.xlsx"])
def test_trustcode_tables_any_source(tmp_path: Path, target: str) -> None:
    from trustcode.io.tables import write_tables

    passages = pd.DataFrame(
        {
            "doc_id": ["d", "d", "d"],
            "passage_id": ["d#0", "d#1", "d#2"],
            "index": [0, 1, 2],
            "start": [0, 30, 70],
            "end": [28, 68, 90],
            "text": [
                "Letters went to the prison.",
                "Police searched the flat at dawn today.",
                "Nothing much here.",
            ],
        }
    )
    codings = pd.DataFrame(
        {
            "doc_id": ["d", "d", "d"],
            "passage_id": ["d#0", "d#0", "d#1"],
            "start": [0, 0, 30],
            "end": [28, 28, 68],
            "code": ["letters", "arrests", "arrests"],
            "source": ["human", "rule", "classifier"],
            "score": [float("nan"), float("nan"), 0.9],
            "evidence": ["", "", ""],
            "coder": ["ann", "trustcode", "trustcode"],
        }
    )
    documents = pd.DataFrame(
        {
            "doc_id": ["d"],
            "source": ["d.txt"],
            "title": ["d"],
            "language": ["en"],
            "n_chars": [90],
            "sha256": ["0" * 64],
        }
    )
    out = write_tables(
        {"documents": documents, "passages": passages, "codings": codings},
        tmp_path / target,
        provenance={"unit": "paragraph"},
    )
    gold = read_gold(out, codebook=CODEBOOK)
    assert gold["codes"].tolist() == [("arrests", "letters"), ("arrests",), ()]
    assert gold["coder"].tolist() == ["ann;trustcode", "trustcode", ""]
    assert gold["language"].tolist() == ["en", "en", "en"]
    assert gold["text"].tolist() == passages["text"].tolist()


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(GoldError, match="no such gold file"):
        read_gold(tmp_path / "absent.csv")


# --- the shipped gold ---------------------------------------------------------------------------


def test_shipped_gold_reads_and_slices(shared_dir: Path, repo_dir: Path) -> None:
    folder = repo_dir / "corpus" / "gold" / "coding"
    if not any(folder.glob("*.csv")):
        pytest.skip("no shipped gold yet")
    gold = read_gold(folder, documents=[repo_dir / "corpus", shared_dir / "corpus-sources"])
    assert gold["passage_id"].is_unique
    assert (gold["text"].str.len() == gold["end"] - gold["start"]).all()
    assert set(gold["language"]) <= {"en", "ru"}


@given(st.lists(st.from_regex(r"[a-z_]{1,8}", fullmatch=True), max_size=6))
def test_split_codes_sorted_unique(ids: list[str]) -> None:
    cell = " ; ".join(ids) + ";"
    assert split_codes(cell) == tuple(sorted(set(ids)))


def test_a_csv_in_a_trustcode_output_folder_is_unescaped(tmp_path: Path) -> None:
    import json

    from trustcode.gold import read_gold
    from trustcode.io.tables import CSV_ESCAPE_KEY

    (tmp_path / "provenance.json").write_text(json.dumps({CSV_ESCAPE_KEY: "leading-apostrophe"}))
    (tmp_path / "gold.csv").write_text(
        "doc_id,text,codes\nd,'=Free them all,prisoner_support\n", encoding="utf-8"
    )
    assert read_gold(tmp_path / "gold.csv")["text"].tolist() == ["=Free them all"]


def test_a_table_of_documents_is_refused_and_a_folders_tables_skipped(tmp_path: Path) -> None:
    corpus = tmp_path / "texts"
    corpus.mkdir()
    (corpus / "en_doc.txt").write_text(EN_TEXT, encoding="utf-8")
    gold_file = _write_csv(
        corpus / "g.csv",
        HAND_HEADER,  # a gold file among the texts
        _hand_rows("en_doc", EN_TEXT, ["", "letters", ""]),
    )
    assert read_gold(gold_file, documents=[corpus])["codes"].tolist() == [(), ("letters",), ()]
    with pytest.raises(GoldError, match=r"g\.csv: a table of documents cannot give the gold's"):
        read_gold(gold_file, documents=[gold_file])
