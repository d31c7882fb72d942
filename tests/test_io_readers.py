"""Tests of trustcode.io.readers: formats, encodings, folders, manifests and errors."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trustcode.errors import DocumentSkipped, InputError, TrustcodeWarning
from trustcode.io.readers import (
    SUPPORTED_SUFFIXES,
    decode_bytes,
    detect_language,
    normalize_newlines,
    read_corpus,
    read_document,
)

from .conftest import minimal_pdf

# Our own test texts.
EN = (
    "The volunteers answered letters from people who stayed behind.\n\n"
    "Trust grew slowly, one careful conversation at a time."
)
RU = (
    "Волонтёры отвечали на письма тех, кто остался дома. Доверие росло медленно, "
    "от одного осторожного разговора к другому, и никто не торопил события."
)


# --- helpers --------------------------------------------------------------------------------


def _write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_bytes(data.encode("utf-8"))
    else:
        path.write_bytes(data)
    return path


# --- normalize_newlines / decode_bytes -------------------------------------------------------


def test_normalize_newlines_strips_bom_and_unifies_line_ends_only() -> None:
    assert normalize_newlines("\ufeffa\r\nb\rc\n  d  \n") == "a\nb\nc\n  d  \n"
    # a BOM inside the text is content, not a mark
    assert normalize_newlines("x\ufeffy") == "x\ufeffy"
    assert normalize_newlines("\r\r\n") == "\n\n"


@pytest.mark.parametrize(
    "encoded",
    [
        RU.encode("utf-8"),
        b"\xef\xbb\xbf" + RU.encode("utf-8"),
        RU.encode("utf-16"),  # with BOM, native order
        b"\xff\xfe" + RU.encode("utf-16-le"),
        b"\xfe\xff" + RU.encode("utf-16-be"),
        RU.encode("cp1251"),
        RU.encode("koi8_r"),
    ],
    ids=["utf-8", "utf-8-bom", "utf-16", "utf-16-le-bom", "utf-16-be-bom", "cp1251", "koi8-r"],
)
def test_decode_bytes_reads_each_encoding(encoded: bytes) -> None:
    assert decode_bytes(encoded, "x.txt") == RU


@pytest.mark.parametrize("encoding", ["cp1251", "koi8_r", "cp866", "iso8859_5"])
@pytest.mark.parametrize(
    "line",
    ["Мы верим друг другу.", "Да", "ОТЧЁТ О ПОМОЩИ ЗАДЕРЖАННЫМ", "Москва, 2022 год: 15 акций"],
)
def test_decode_bytes_tells_cyrillic_code_pages_apart_on_short_lines(
    encoding: str, line: str
) -> None:
    assert decode_bytes(line.encode(encoding), "x.txt") == line


def test_decode_bytes_utf16_without_bom() -> None:
    assert decode_bytes(EN.encode("utf-16-le"), "x.txt") == EN
    assert decode_bytes(EN.encode("utf-16-be"), "x.txt") == EN


def test_decode_bytes_normalizes_line_ends_and_keeps_trailing_space() -> None:
    assert decode_bytes(b"one  \r\ntwo\rthree\t\r\n", "x.txt") == "one  \ntwo\nthree\t\n"


def test_decode_bytes_western_single_byte_text() -> None:
    text = "Les bénévoles répondaient aux lettres; la confiance grandissait très lentement."
    assert decode_bytes(text.encode("cp1252"), "x.txt") == text


def test_decode_bytes_binary_is_an_error() -> None:
    with pytest.raises(InputError, match=r"photo\.txt.*binary"):
        decode_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x01\x00\x07", "photo.txt")


def test_decode_bytes_undecodable_is_an_error() -> None:
    junk = bytes(range(0x80, 0x100)) * 4 + bytes(range(1, 32)) * 8
    with pytest.raises(
        InputError,
        match=r"junk\.txt: cannot be decoded as text: it is not "
        r"UTF-8, UTF-16, cp1251, KOI8-R, cp866 or ISO-8859-5 and no other",
    ):
        decode_bytes(junk, "junk.txt")  # the six encodings detected, as the README lists them


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00")))
def test_decode_bytes_round_trips_utf8(text: str) -> None:
    normalized = normalize_newlines(text)
    assert decode_bytes(normalized.encode("utf-8"), "x.txt") == normalized
    assert normalize_newlines(normalized) == normalized


# --- detect_language ------------------------------------------------------------------------


def test_detect_language() -> None:
    assert detect_language(EN) == "en"
    assert detect_language(RU) == "ru"
    assert detect_language("2024 — 1 234 567; 89.10 / 11:12 " * 5) is None
    assert detect_language("Short one.") is None  # fewer than 20 letters
    # 30% Cyrillic letters is enough for "ru"
    assert detect_language("a" * 70 + "б" * 30) == "ru"
    assert detect_language("a" * 71 + "б" * 29) == "en"
    # Greek is neither
    assert detect_language("Η εμπιστοσύνη χτίζεται αργά και με υπομονή.") is None


# --- text formats ---------------------------------------------------------------------------


def test_txt_and_md_are_read_as_is(tmp_path: Path) -> None:
    md = "# Heading\n\nSome *emphasis* and a [link](http://example.org).  \n"
    _write(tmp_path / "notes.md", md.replace("\n", "\r\n"))
    [doc] = read_document(tmp_path / "notes.md")
    assert doc.text == md
    assert (doc.doc_id, doc.title, doc.source) == ("notes", "notes", str(tmp_path / "notes.md"))
    assert doc.language == "en"
    assert dict(doc.metadata) == {}


def test_txt_language_argument_is_the_fallback(tmp_path: Path) -> None:
    _write(tmp_path / "numbers.txt", "1, 2, 3, 4, 5")
    assert read_document(tmp_path / "numbers.txt", language="ru")[0].language == "ru"
    _write(tmp_path / "prose.txt", EN)
    assert read_document(tmp_path / "prose.txt", language="ru")[0].language == "en"


def test_html_visible_text_paragraphs_and_title(tmp_path: Path) -> None:
    page = """<!DOCTYPE html><html><head><title> Letters
      home </title><style>p { color: red }</style><script>var hidden = 1;</script></head>
    <body><h1>Across the border</h1>
    <p>First   paragraph with <b>bold</b>
    text.</p><div>Second<br>line after a break</div>
    <!-- a comment nobody sees -->
    <ul><li>one</li><li>two</li></ul>
    <table><tr><td>cell a</td><td>cell b</td></tr></table></body></html>"""
    _write(tmp_path / "page.html", page)
    [doc] = read_document(tmp_path / "page.html")
    assert doc.title == "Letters home"
    assert doc.text == (
        "Across the border\n\nFirst paragraph with bold text.\n\nSecond\n\n"
        "line after a break\n\none\n\ntwo\n\ncell a cell b"
    )
    assert "hidden" not in doc.text and "color" not in doc.text and "comment" not in doc.text


def test_html_title_from_first_h1_and_cp1251(tmp_path: Path) -> None:
    page = "<html><body><h1>Письма</h1><p>" + RU + "</p><h1>Второй</h1></body></html>"
    _write(tmp_path / "ru.htm", page.encode("cp1251"))
    [doc] = read_document(tmp_path / "ru.htm")
    assert doc.title == "Письма"
    assert doc.text == f"Письма\n\n{RU}\n\nВторой"
    assert doc.language == "ru"


def test_html_without_visible_text_is_empty(tmp_path: Path) -> None:
    _write(tmp_path / "blank.html", "<html><head><title>t</title></head><body> </body></html>")
    with pytest.raises(InputError, match=r"blank\.html: is empty"):
        read_document(tmp_path / "blank.html")


def test_docx_paragraphs_tables_and_title(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.core_properties.title = "Interview 7"
    document.add_paragraph("We met in Tbilisi.")
    document.add_paragraph("   ")
    document.add_paragraph("They still call their parents every week.")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Question"
    table.cell(0, 1).text = "Answer"
    table.cell(1, 0).text = "Who helps?"
    table.cell(1, 1).text = "Neighbours"
    document.add_paragraph("Closing words.")
    document.save(tmp_path / "interview.docx")

    [doc] = read_document(tmp_path / "interview.docx")
    assert doc.title == "Interview 7"
    assert doc.text == (
        "We met in Tbilisi.\n\nThey still call their parents every week.\n\n"
        "Question\tAnswer\n\nWho helps?\tNeighbours\n\nClosing words."
    )


def test_docx_without_title_uses_stem_and_corrupt_docx_fails(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_paragraph("Only a paragraph here.")
    document.save(tmp_path / "plain.docx")
    assert read_document(tmp_path / "plain.docx")[0].title == "plain"

    _write(tmp_path / "broken.docx", b"PK\x03\x04 not really a zip")
    with pytest.raises(InputError, match=r"broken\.docx: is not a valid \.docx file"):
        read_document(tmp_path / "broken.docx")


def test_pdf_text_and_title(tmp_path: Path) -> None:
    pdf = minimal_pdf(["Trust across borders", "grows slowly."], "Report")
    _write(tmp_path / "report.pdf", pdf)
    [doc] = read_document(tmp_path / "report.pdf")
    assert doc.title == "Report"
    assert "Trust across borders" in doc.text and "grows slowly." in doc.text
    assert doc.source == str(tmp_path / "report.pdf")


def test_pdf_without_text_needs_ocr(tmp_path: Path) -> None:
    _write(tmp_path / "scan.pdf", minimal_pdf([]))
    with pytest.raises(InputError, match=r"scan\.pdf: has no extractable text.*scanned.*OCR"):
        read_document(tmp_path / "scan.pdf")


def _truncated_pdf() -> bytes:
    """A PDF cut short before its end-of-file marker, which pypdf cannot read."""
    return minimal_pdf(["Letters to prisoners went out weekly."]).replace(b"%%EOF\n", b"")


def _pdf_with_a_wrong_xref_pointer() -> bytes:
    """A PDF whose startxref points past its table: pypdf logs the fault and reads it anyway."""
    data = minimal_pdf(["Letters to prisoners went out weekly."])
    at = data.index(b"xref\n0")
    return data.replace(b"startxref\n%d" % at, b"startxref\n%d" % (at + 7))


def test_what_pypdf_notices_comes_as_trustcode_warnings(tmp_path: Path) -> None:
    _write(tmp_path / "odd.pdf", _pdf_with_a_wrong_xref_pointer())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        [document] = read_document(tmp_path / "odd.pdf")
    said = [str(w.message) for w in caught if issubclass(w.category, TrustcodeWarning)]
    assert (
        f"{tmp_path / 'odd.pdf'}: pypdf: incorrect startxref pointer(3); read anyway, check "
        "its text" in said
    )
    assert document.text == "Letters to prisoners went out weekly."
    _write(tmp_path / "cut.pdf", _truncated_pdf())
    with pytest.raises(
        InputError,
        match=r"cut\.pdf: is not a valid PDF file \(.*EOF marker "
        r"not found\)",
    ):
        read_document(tmp_path / "cut.pdf")


def test_a_broken_pdf_prints_nothing_but_trustcode_messages(tmp_path: Path) -> None:
    import subprocess
    import sys

    _write(tmp_path / "cut.pdf", _truncated_pdf())
    _write(tmp_path / "odd.pdf", _pdf_with_a_wrong_xref_pointer())
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "trustcode.cli",
            "code",
            "cut.pdf",
            "odd.pdf",
            "-q",
            "-m",
            "none",
            "-o",
            "out",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert all(line.startswith(("warning: ", "Wrote ")) for line in lines), done.stderr
    assert any(
        "cut.pdf: is not a valid PDF" in line and "EOF marker not found" in line for line in lines
    )


def test_pdf_that_is_not_a_pdf(tmp_path: Path) -> None:
    _write(tmp_path / "fake.pdf", "just some words, not a PDF")
    with pytest.raises(InputError, match=r"fake\.pdf: is not a valid PDF"):
        read_document(tmp_path / "fake.pdf")


# --- tables ---------------------------------------------------------------------------------


def test_csv_rows_become_documents(tmp_path: Path) -> None:
    table = (
        "text,group,date\r\n"
        '"First answer,\r\nwith a line break",stayed,2023\r\n'
        "Second answer,left,\r\n"
        ",,\r\n"
        "Третий ответ,stayed,2024\r\n"
    )
    _write(tmp_path / "survey.csv", table.encode("cp1251"))
    docs = read_document(tmp_path / "survey.csv")
    assert [d.doc_id for d in docs] == ["survey-1", "survey-2", "survey-4"]
    assert docs[0].text == "First answer,\nwith a line break"
    assert docs[0].source == f"{tmp_path / 'survey.csv'}#1"
    assert dict(docs[0].metadata) == {"group": "stayed", "date": "2023"}
    assert dict(docs[1].metadata) == {"group": "left"}  # empty cell dropped
    assert docs[2].text == "Третий ответ"
    assert docs[0].title == "survey-1"


def test_csv_named_columns_and_semicolons(tmp_path: Path) -> None:
    _write(tmp_path / "s.csv", "id;answer;title;language\nr1;Hello there;Greeting;en\nr2;Да;;ru\n")
    docs = read_document(tmp_path / "s.csv", text_column="answer", id_column="id")
    assert [(d.doc_id, d.text, d.title, d.language) for d in docs] == [
        ("r1", "Hello there", "Greeting", "en"),
        ("r2", "Да", "r2", "ru"),
    ]
    assert all(dict(d.metadata) == {} for d in docs)


def test_csv_without_text_column_says_to_pass_text_column(tmp_path: Path) -> None:
    """The library names text_column; the command line adds --text-column."""
    _write(tmp_path / "s.csv", "answer,group\nHello,a\n")
    with pytest.raises(InputError, match=r"text_column=\.\.\..*'answer', 'group'") as info:
        read_document(tmp_path / "s.csv")
    assert info.value.params == ("text_column",)
    # a worker process sends the error back pickled: the parameters come along
    import pickle

    assert pickle.loads(pickle.dumps(info.value)).params == ("text_column",)
    with pytest.raises(InputError, match=r"no id column 'key'; its columns are: 'answer'"):
        read_document(tmp_path / "s.csv", text_column="answer", id_column="key")


def test_the_code_command_names_its_text_column_option(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from trustcode.cli import main

    _write(tmp_path / "s.csv", "answer,group\nHello,a\n")
    result = CliRunner().invoke(
        main,
        ["code", str(tmp_path / "s.csv"), "-m", "none", "--strict", "-o", str(tmp_path / "out")],
    )
    assert result.exit_code == 2
    assert "name the text column with text_column=..." in result.output
    assert result.output.rstrip().endswith("Command line: --text-column.")
    assert not (tmp_path / "out").exists()


def test_csv_duplicate_ids(tmp_path: Path) -> None:
    _write(tmp_path / "s.csv", "id,text\nx,one\ny,two\nx,three\n")
    with pytest.raises(InputError, match=r"Duplicate document id 'x': .*s\.csv#1 and .*s\.csv#3"):
        read_document(tmp_path / "s.csv", id_column="id")


def test_xlsx_rows_become_documents(tmp_path: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["code", "body", "wave", "score"])
    sheet.append(["a1", "We keep writing to each other.", 1, None])
    sheet.append(["a2", "Мы продолжаем переписываться.", 2, 3.5])
    book.save(tmp_path / "waves.xlsx")

    docs = read_document(tmp_path / "waves.xlsx", text_column="body", id_column="code")
    assert [d.doc_id for d in docs] == ["a1", "a2"]
    assert docs[0].text == "We keep writing to each other."
    assert dict(docs[0].metadata) == {"wave": "1"}
    assert dict(docs[1].metadata) == {"wave": "2", "score": "3.5"}
    assert docs[1].source == f"{tmp_path / 'waves.xlsx'}#2"

    with pytest.raises(InputError, match=r"no text column 'text'.*'code', 'body', 'wave', 'score'"):
        read_document(tmp_path / "waves.xlsx", text_column="text")


# --- errors on single files -----------------------------------------------------------------


def test_empty_and_blank_files(tmp_path: Path) -> None:
    _write(tmp_path / "empty.txt", b"")
    _write(tmp_path / "blank.txt", " \r\n\t\n")
    with pytest.raises(InputError, match=r"empty\.txt: is empty"):
        read_document(tmp_path / "empty.txt")
    with pytest.raises(InputError, match=r"blank\.txt: is empty"):
        read_document(tmp_path / "blank.txt")


def test_binary_and_unsupported_files(tmp_path: Path) -> None:
    _write(tmp_path / "data.txt", b"\x00\x01\x02\x03" * 50)
    with pytest.raises(InputError, match=r"data\.txt: is a binary file"):
        read_document(tmp_path / "data.txt")
    _write(tmp_path / "photo.jpg", b"\xff\xd8\xff")
    with pytest.raises(InputError, match=r"photo\.jpg.*does not read.*\.txt"):
        read_document(tmp_path / "photo.jpg")
    with pytest.raises(InputError, match=r"nowhere\.txt: no such file"):
        read_document(tmp_path / "nowhere.txt")


# --- folders, manifests, read_corpus --------------------------------------------------------


def test_folder_is_recursive_sorted_and_skips_hidden(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    _write(corpus / "b.txt", "Bee text here.")
    _write(corpus / "a" / "z.md", "Zed notes.")
    _write(corpus / "a" / "c.txt", "See text.")
    _write(corpus / ".hidden.txt", "secret")
    _write(corpus / ".git" / "x.txt", "not a document")
    _write(corpus / "~$b.docx", b"lock")
    _write(corpus / "image.png", b"\x89PNG")
    docs = list(read_corpus(corpus))
    assert [d.doc_id for d in docs] == ["a/c", "a/z", "b"]
    assert [d.title for d in docs] == ["c", "z", "b"]
    assert docs[0].source == str(corpus / "a" / "c.txt")


def test_folder_tables_use_relative_ids_and_bad_rows_skip_the_file(tmp_path: Path) -> None:
    _write(tmp_path / "wave1" / "survey.csv", "text,group\nWe stay in touch.,left\n")
    _write(tmp_path / "wave2" / "survey.csv", "text,group\nToo,many,fields\n")
    with pytest.warns(DocumentSkipped, match=r"wave2.survey\.csv: row 1 has 3 fields .*; skipped"):
        docs = list(read_corpus(tmp_path))
    assert [(d.doc_id, dict(d.metadata)) for d in docs] == [("wave1/survey-1", {"group": "left"})]


def test_folder_with_only_unknown_files(tmp_path: Path) -> None:
    _write(tmp_path / "scan.tiff", b"II*\x00")
    with pytest.raises(InputError, match=r"has 1 file\(s\) but no files trustcode reads \(\.txt"):
        list(read_corpus(tmp_path))


def test_read_corpus_streams(tmp_path: Path) -> None:
    _write(tmp_path / "a.txt", "First.")
    _write(tmp_path / "b.txt", "Second.")
    documents = read_corpus(tmp_path)
    assert next(documents).text == "First."
    # b.txt is read only when asked for: an edit made now shows up
    _write(tmp_path / "b.txt", "Second, edited.")
    assert next(documents).text == "Second, edited."
    with pytest.raises(StopIteration):
        next(documents)


def test_manifest_lists_documents_with_metadata(tmp_path: Path) -> None:
    _write(tmp_path / "texts" / "one.txt", EN)
    _write(tmp_path / "texts" / "two.txt", RU)
    _write(tmp_path / "unlisted.txt", "Not in the manifest.")
    _write(
        tmp_path / "manifest.csv",
        "doc_id,path,title,language,group,date\n"
        "first,texts/one.txt,The first,,stayed,2022\n"
        "second,texts/two.txt,,en,left,\n",
    )
    docs = list(read_corpus(tmp_path))
    assert [d.doc_id for d in docs] == ["first", "second"]
    first, second = docs
    assert (first.title, first.language) == ("The first", "en")
    assert dict(first.metadata) == {"group": "stayed", "date": "2022"}
    # the manifest's language wins over detection; the title falls back to the stem
    assert (second.title, second.language) == ("two", "en")
    assert dict(second.metadata) == {"group": "left"}
    assert first.source == str(tmp_path / "texts" / "one.txt")


def test_manifest_row_with_missing_file(tmp_path: Path) -> None:
    _write(tmp_path / "one.txt", EN)
    _write(tmp_path / "manifest.csv", "doc_id,path\nfirst,one.txt\nsecond,lost/two.txt\n")
    with pytest.raises(InputError, match=r"manifest\.csv:3: row 2 \(doc_id 'second'\).*lost/two"):
        list(read_corpus(tmp_path))


def test_manifest_without_required_columns(tmp_path: Path) -> None:
    _write(tmp_path / "manifest.csv", "id,file\na,a.txt\n")
    with pytest.raises(
        InputError, match=r"needs the columns doc_id and path; missing doc_id, path"
    ):
        list(read_corpus(tmp_path))


def test_manifest_with_duplicate_doc_id(tmp_path: Path) -> None:
    _write(tmp_path / "a.txt", EN)
    _write(tmp_path / "manifest.csv", "doc_id,path\nsame,a.txt\nsame,a.txt\n")
    with pytest.raises(InputError, match=r"manifest\.csv:3: row 2: duplicate doc_id 'same'.*row 1"):
        list(read_corpus(tmp_path))


def test_duplicate_ids_name_both_sources(tmp_path: Path) -> None:
    _write(tmp_path / "x" / "note.txt", "One.")
    _write(tmp_path / "y" / "note.md", "Two.")
    with pytest.raises(
        InputError, match=r"Duplicate document id 'note': .*x.note\.txt and .*y.note"
    ):
        list(read_corpus([tmp_path / "x" / "note.txt", tmp_path / "y" / "note.md"]))


def test_bad_document_is_skipped_with_warning_or_fatal_when_strict(tmp_path: Path) -> None:
    _write(tmp_path / "a.txt", "Good one.")
    _write(tmp_path / "b.txt", b"")
    _write(tmp_path / "c.txt", "Another good one.")
    with pytest.warns(DocumentSkipped, match=r"b\.txt: is empty .*; skipped$"):
        docs = list(read_corpus(tmp_path))
    assert [d.doc_id for d in docs] == ["a", "c"]
    with pytest.raises(InputError, match=r"b\.txt: is empty"):
        list(read_corpus(tmp_path, strict=True))


def test_nothing_to_read_is_an_error(tmp_path: Path) -> None:
    _write(tmp_path / "bin.txt", b"\x00\xff\x00\x01" * 10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DocumentSkipped)
        with pytest.raises(InputError, match=r"No documents to read in .*bin\.txt: .*binary"):
            list(read_corpus(tmp_path / "bin.txt"))


def test_empty_folder_says_empty_and_lists_suffixes(tmp_path: Path) -> None:
    (tmp_path / "corpus").mkdir()
    with pytest.raises(InputError) as info:
        list(read_corpus(tmp_path / "corpus"))
    message = str(info.value)
    assert message.startswith("No documents to read in")
    assert "is empty" in message
    assert all(suffix in message for suffix in SUPPORTED_SUFFIXES)


def test_missing_path_fails_before_reading(tmp_path: Path) -> None:
    _write(tmp_path / "a.txt", "Here.")
    with pytest.raises(InputError, match=r"missing: no such file or folder"):
        next(read_corpus([tmp_path / "a.txt", tmp_path / "missing"]))


def test_nested_manifest_is_not_used_and_warns(tmp_path: Path) -> None:
    _write(tmp_path / "sub" / "manifest.csv", "doc_id,path\nq,q.txt\n")
    _write(tmp_path / "sub" / "q.txt", "Question text.")
    with pytest.warns(TrustcodeWarning, match=r"manifest in a subfolder is not used"):
        docs = list(read_corpus(tmp_path))
    assert [d.doc_id for d in docs] == ["sub/q"]


def test_read_document_on_a_folder_is_strict(tmp_path: Path) -> None:
    _write(tmp_path / "a.txt", "Fine.")
    _write(tmp_path / "b.txt", b"")
    with pytest.raises(InputError, match=r"b\.txt: is empty"):
        read_document(tmp_path)


# --- the real corpora -----------------------------------------------------------------------


def test_shared_corpus_sources(corpus_sources: Path) -> None:
    docs = list(read_corpus(corpus_sources, strict=True))
    assert len(docs) == 5
    assert {d.language for d in docs} == {"en", "ru"}
    assert all(d.metadata.get("group") for d in docs)
    assert all(d.text.strip() and "\r" not in d.text for d in docs)
    by_id = {d.doc_id: d for d in docs}
    assert by_id["ovdinfo_2014_criminal_prosecutions_ru"].language == "ru"
    assert detect_language(by_id["ovdinfo_2014_criminal_prosecutions_ru"].text) == "ru"
    assert detect_language(by_id["ovdinfo_2012_political_arrests_moscow_en"].text) == "en"


def test_project_corpus(repo_dir: Path) -> None:
    docs = list(read_corpus(repo_dir / "corpus", strict=True))
    assert len(docs) == 1
    [doc] = docs
    assert doc.language == "en"
    assert doc.doc_id == "fridman_trust_building_across_borders_en"
    assert doc.text == normalize_newlines(
        (repo_dir / "corpus" / f"{doc.doc_id}.txt").read_text(encoding="utf-8")
    )


def test_detect_language_samples_a_long_text_across_its_length() -> None:
    russian = "Волонтёры пишут письма политзаключённым каждую неделю. " * 4000
    english = "Volunteers write letters to political prisoners every week. " * 400
    # a short English preface does not outvote a long Russian text, wherever it stands
    assert detect_language(english + russian) == "ru"
    assert detect_language(russian + english) == "ru"
    assert detect_language(english * 20) == "en"


def test_read_entry_reads_one_file_or_says_why_it_is_skipped(tmp_path: Path) -> None:
    from trustcode.errors import InputError
    from trustcode.io.readers import read_entry

    good = tmp_path / "letters.txt"
    good.write_text("Volunteers write letters to prisoners every week.", encoding="utf-8")
    documents, skipped = read_entry(
        good, doc_id="letters", title="Letters", metadata={"group": "ngo"}
    )
    assert skipped is None
    [doc] = documents
    assert (doc.doc_id, doc.title, doc.language, dict(doc.metadata)) == (
        "letters",
        "Letters",
        "en",
        {"group": "ngo"},
    )
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    documents, skipped = read_entry(empty, doc_id="empty")
    assert documents == [] and skipped is not None
    assert skipped.startswith(f"{empty}: ") and skipped.endswith("; skipped")
    with pytest.raises(InputError, match="empty.txt"):
        read_entry(empty, doc_id="empty", strict=True)


# --- letter counting, as detect_language does it ---------------------------------------------

# Letters and signs the fast counting treats differently: ASCII, basic Cyrillic (with its
# non-letters U+0482-U+0489), Cyrillic outside the basic block, Latin-1 and Latin Extended
# letters, × and ÷, Greek, digits that count as letters (²) and do not (٣), marks, punctuation.
_MIXED_ALPHABET = (
    "aZ qW09 _.,;'\n\t-"
    "абвгдеёжзийЯЮЭЪ ґєїў ѣѳѵ \u0482\u0483\u0488\u0489 ԁԓԯ \u1c80\u2de0\ua640"
    "àéøÿªº ×÷ ĀŁſ ɏ ḀỿẞǄ Ωαβγ ²½Ⅻ ٣ \u0301\u00a0«»—…“”№ 漢字 🙂"
)


@given(
    st.text(alphabet=st.sampled_from(_MIXED_ALPHABET) | st.characters(codec="utf-8"), max_size=300)
)
def test_fast_letter_counts_equal_the_regex_counts(text: str) -> None:
    from trustcode.io.readers.language import _letter_counts, _letter_counts_regex

    assert _letter_counts(text) == _letter_counts_regex(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hi, мир! ½ é", (7, 3, 3)),  # ½ is a letter by the rule's regex, and no script's
        ("a\u0483b ґ \u0482", (3, 3, 2)),  # Cyrillic marks: Cyrillic, not letters
        ("x\ud800y", (2, 0, 2)),  # a lone surrogate cannot be encoded: the regexes count
        ("", (0, 0, 0)),
    ],
)
def test_letter_counts_of_odd_texts(text: str, expected: tuple[int, int, int]) -> None:
    from trustcode.io.readers.language import _letter_counts, _letter_counts_regex

    assert _letter_counts(text) == _letter_counts_regex(text) == expected


def test_detect_language_answers_as_before_on_the_project_and_shared_texts(
    repo_dir: Path, shared_dir: Path
) -> None:
    """The old rule, written out with the regexes, gives the same answer on every text."""
    from trustcode.io.readers.language import _letter_counts_regex

    def by_regex(text: str) -> str | None:
        if len(text) > 10_000:
            step = len(text) // 20
            text = "\n".join(text[i * step : i * step + 500] for i in range(20))
        letters, cyrillic, latin = _letter_counts_regex(text)
        if letters < 20:
            return None
        return "ru" if cyrillic >= 0.3 * letters else "en" if latin >= 0.5 * letters else None

    texts = [d.text for d in read_corpus(repo_dir / "corpus")]
    texts += [d.text for d in read_corpus(shared_dir / "corpus-sources")]
    assert len(texts) >= 6
    answers = [detect_language(t) for t in texts]
    assert answers == [by_regex(t) for t in texts]
    assert set(answers) == {"en", "ru"}


# --- CorpusReader: the parts read_corpus is made of, for worker processes ---------------------


def test_corpus_reader_defers_plain_files_and_reads_tables(tmp_path: Path) -> None:
    from trustcode.io.readers import CorpusEntry, CorpusReader

    _write(tmp_path / "a.txt", EN)
    _write(tmp_path / "b.csv", "text\nFirst row about letters.\nSecond row with more letters.\n")
    _write(tmp_path / "c.md", RU)
    reader = CorpusReader(tmp_path)
    items = list(reader.items(defer_files=True))
    assert [type(i).__name__ for i in items] == [
        "CorpusEntry",
        "Document",
        "Document",
        "CorpusEntry",
    ]
    assert [i.doc_id for i in items] == ["a", "b-1", "b-2", "c"]
    entry = items[0]
    assert isinstance(entry, CorpusEntry)
    documents, skipped = entry.read(**reader.options)
    assert skipped is None and [d.text for d in documents] == [EN]
    for item in items:
        reader.accept(item.doc_id, str(item.path) if isinstance(item, CorpusEntry) else "")
    reader.finish()  # documents were accepted: no error
    with pytest.raises(InputError, match="Duplicate document id 'a'"):
        reader.accept("a", "elsewhere.txt")


def test_corpus_reader_reports_skips_and_nothing_read_as_read_corpus_does(
    tmp_path: Path,
) -> None:
    from trustcode.io.readers import CorpusReader

    _write(tmp_path / "empty.txt", b"")
    reader = CorpusReader(tmp_path)
    [entry] = reader.items(defer_files=True)
    documents, skipped = entry.read(**reader.options)
    assert documents == [] and skipped is not None
    with pytest.warns(DocumentSkipped, match="empty.txt: is empty"):
        reader.skip(skipped)
    with pytest.raises(InputError) as raised:
        reader.finish()
    with pytest.warns(DocumentSkipped), pytest.raises(InputError) as expected:
        list(read_corpus(tmp_path))
    assert str(raised.value) == str(expected.value)
    assert "empty.txt: is empty" in str(raised.value)
    with pytest.raises(InputError, match="no such file or folder"):
        CorpusReader(tmp_path / "missing")


def test_entries_and_read_errors_survive_pickling(tmp_path: Path) -> None:
    """Worker processes get entries and send back errors pickled."""
    import pickle
    from types import MappingProxyType

    from trustcode.io.readers import CorpusEntry

    entry = CorpusEntry(tmp_path / "a.txt", "a", "A", "ru", MappingProxyType({"group": "x"}))
    again = pickle.loads(pickle.dumps(entry))
    assert again == entry and dict(again.metadata) == {"group": "x"}
    _write(tmp_path / "a.txt", b"")
    with pytest.raises(InputError) as raised:
        entry.read(strict=True)
    copy = pickle.loads(pickle.dumps(raised.value))
    assert type(copy) is type(raised.value) and str(copy) == str(raised.value)
    assert (copy.source, copy.reason) == (raised.value.source, raised.value.reason)
