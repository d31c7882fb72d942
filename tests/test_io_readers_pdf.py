"""Tests of PDF reading (trustcode.io.readers.pdf_layout and .letters): paragraphs rebuilt from
the layout of PDFs that headless Chromium prints in the test run, clean letters, page furniture
kept apart, footnotes, and the bad inputs (no text layer, encrypted, damaged, too large)."""

from __future__ import annotations

import html
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trustcode.errors import InputError
from trustcode.io.readers import pdf_layout, read_document
from trustcode.io.readers.letters import clean_letters, join_lines, known_words
from trustcode.segment import segment

from .conftest import minimal_pdf

CHROMIUM = shutil.which("chromium")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="no `chromium` binary on PATH (apt-get install chromium); CI has it"
)
LIGATURES = "".join(chr(c) for c in range(0xFB00, 0xFB07))

# Our own words: ligature-prone English ('fi', 'fl', 'ffi') and Russian.
EN_WORDS = (
    "the office fined workers after a flight of officials while efficient staff filed "
    "affidavits and self-organization flourished in difficult fields across borders during "
    "spring"
).split()
RU_WORDS = (
    "волонтёры отвечали на письма задержанных юристы приезжали в отделы полиции доверие росло "
    "медленно самоорганизация помогала общей базе данных"
).split()


def _paragraphs(words: list[str], count: int, low: int, high: int, seed: int) -> list[str]:
    draw = random.Random(seed)
    return [
        " ".join(draw.choice(words) for _ in range(draw.randint(low, high))).capitalize() + "."
        for _ in range(count)
    ]


def _print_pdf(folder: Path, name: str, body: str, css: str = "", title: str = "") -> Path:
    """``body`` (HTML) printed to ``folder/name`` by headless Chromium, with its date, title,
    address and page-number stamps; no network (host names resolve to nothing)."""
    page = folder / f"{name}.html"
    page.write_text(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>"
        f"<style>{css}</style></head><body>{body}</body></html>",
        encoding="utf-8",
    )
    pdf = folder / f"{name}.pdf"
    subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--user-data-dir={folder / 'profile'}",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            f"--print-to-pdf={pdf}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return pdf


def _p(paragraphs: list[str]) -> str:
    return "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)


def _page_count(pdf: Path) -> int:
    import pypdfium2

    document = pypdfium2.PdfDocument(str(pdf))
    try:
        return len(document)
    finally:
        document.close()


def _passages(path: Path) -> list[str]:
    [document] = read_document(path)
    return [passage.text for passage in segment(document)]


# --- Chromium's PDFs, paragraph by paragraph ---------------------------------------------------


@needs_chromium
def test_twelve_paragraphs_over_three_pages_come_back_as_twelve_passages(tmp_path: Path) -> None:
    paragraphs = _paragraphs(EN_WORDS, 12, 90, 160, seed=1)
    pdf = _print_pdf(
        tmp_path, "twelve", "<h1>A report on trust</h1>" + _p(paragraphs), title="Twelve"
    )
    assert _page_count(pdf) == 3
    [document] = read_document(pdf)
    passages = [passage.text for passage in segment(document)]
    assert passages == ["A report on trust", *paragraphs]
    assert not set(document.text) & set(LIGATURES)
    assert "self-organization" in document.text
    # the browser's stamps are not passages, but they are kept, page by page
    assert not any("Twelve" in p or "file:" in p or "/3" in p for p in passages)
    apparatus = document.metadata["apparatus"].splitlines()
    assert f"pages 1-3: {pdf.with_suffix('.html').as_uri()}" in apparatus
    assert "pages 1-3: 1/3 … 3/3" in apparatus
    assert "pages 1-3: Twelve" in apparatus
    assert len(apparatus) == 4  # and the date and time of printing


@needs_chromium
def test_one_page_english_and_russian_without_the_stamps(tmp_path: Path) -> None:
    paragraphs = [
        "Officials were fined after the flight of the office staff, and the affidavits filed in "
        "the difficult months that followed describe how efficient the first responses had been "
        "across the borders of three provinces.",
        "Самоорганизация граждан помогала задержанным: юристы коалиции приезжали в отделы "
        "полиции, а волонтёры собирали сведения о каждом задержании и передавали их в общую "
        "базу данных.",
    ]
    pdf = _print_pdf(tmp_path, "one", _p(paragraphs), title="Stamped")
    assert _passages(pdf) == paragraphs
    [document] = read_document(pdf)
    assert "page 1: 1/1" in document.metadata["apparatus"].splitlines()


@needs_chromium
def test_two_columns_and_a_paragraph_longer_than_a_page(tmp_path: Path) -> None:
    paragraphs = _paragraphs(EN_WORDS, 4, 40, 120, seed=2) + _paragraphs(RU_WORDS, 4, 40, 120, 3)
    paragraphs.insert(3, _paragraphs(RU_WORDS, 1, 1400, 1400, seed=4)[0])  # over two columns
    pdf = _print_pdf(tmp_path, "columns", f"<div style='columns: 2'>{_p(paragraphs)}</div>")
    assert _page_count(pdf) >= 3
    assert _passages(pdf) == paragraphs


@needs_chromium
def test_indented_justified_paragraphs_without_gaps_and_a_long_one_over_a_page(
    tmp_path: Path,
) -> None:
    paragraphs = _paragraphs(RU_WORDS, 6, 30, 150, seed=5)
    paragraphs.insert(2, _paragraphs(EN_WORDS, 1, 900, 900, seed=6)[0])  # over a page break
    css = "p { margin: 0; text-indent: 2em; text-align: justify }"
    pdf = _print_pdf(tmp_path, "indented", _p(paragraphs), css=css)
    assert _page_count(pdf) >= 2
    assert _passages(pdf) == paragraphs


@needs_chromium
def test_headings_stay_their_own_passages(tmp_path: Path) -> None:
    parts = _paragraphs(EN_WORDS, 4, 60, 100, seed=7)
    body = (
        f"<h2>Arrests in Moscow</h2>{_p(parts[:2])}<h3>Фальсификация протоколов</h3>{_p(parts[2:])}"
    )
    pdf = _print_pdf(tmp_path, "headings", body)
    assert _passages(pdf) == [
        "Arrests in Moscow",
        *parts[:2],
        "Фальсификация протоколов",
        *parts[2:],
    ]


@needs_chromium
def test_a_numbered_heading_atop_every_page_is_no_running_head(tmp_path: Path) -> None:
    parts = _paragraphs(EN_WORDS, 3, 20, 40, seed=8)
    body = "".join(
        f"<h1 style='break-before: page'>Chapter {n}</h1><p>{part}</p>"
        for n, part in enumerate(parts, start=1)
    )
    pdf = _print_pdf(tmp_path, "chapters", body)
    assert _page_count(pdf) == 3
    assert _passages(pdf) == ["Chapter 1", parts[0], "Chapter 2", parts[1], "Chapter 3", parts[2]]


@needs_chromium
def test_footnotes_are_kept_apart_with_their_marks(tmp_path: Path) -> None:
    body = (
        "<p>Officials fined the protesters after the march<sup>1</sup> and the court upheld "
        "every fine in the weeks that followed.</p>"
        "<p>The second wave of arrests came in spring<sup>2</sup>, when the police detained "
        "people who had only been standing near the square.</p><hr>"
        "<p style='font-size: 10px'>1 The march of 6 May, as the volunteers counted it.</p>"
        "<p style='font-size: 10px'>2 See the table of arrests by month.</p>"
    )
    pdf = _print_pdf(tmp_path, "notes", body)
    [document] = read_document(pdf)
    assert [p.text for p in segment(document)] == [
        "Officials fined the protesters after the march[1] and the court upheld every fine in "
        "the weeks that followed.",
        "The second wave of arrests came in spring[2], when the police detained people who had "
        "only been standing near the square.",
    ]
    assert document.metadata["footnotes"].splitlines() == [
        "1 The march of 6 May, as the volunteers counted it.",
        "2 See the table of arrests by month.",
    ]


@needs_chromium
def test_small_print_that_starts_with_a_year_is_no_footnote(tmp_path: Path) -> None:
    parts = [
        "Officials fined the protesters after the march and the court upheld every fine. The "
        "lawyers of the coalition appealed, and the appeals took the rest of the year.",
        "2014 saw the number of arrests double, as the volunteers counted them.",
    ]
    body = f"<p>{parts[0]}</p><p style='font-size: 10px'>{parts[1]}</p>"
    [document] = read_document(_print_pdf(tmp_path, "small", body))
    assert [p.text for p in segment(document)] == parts
    assert "footnotes" not in document.metadata


@needs_chromium
def test_a_word_too_long_for_its_column_does_not_cut_paragraphs(tmp_path: Path) -> None:
    text = (
        "The coalition's self-organization grew. Every organization of volunteers kept an "
        "organization chart and a record of internationalization work, and each organization "
        "answered letters from the organization's friends."
    )
    pdf = _print_pdf(tmp_path, "narrow", _p([text]), css="p { width: 7em; font-size: 14px }")
    assert _passages(pdf) == [text]


# --- letters ---------------------------------------------------------------------------------


def test_ligatures_and_odd_spaces_become_plain_letters() -> None:
    assert clean_letters("o\ufb03ce \ufb01ned \ufb02ight \ufb00 \ufb04 \ufb06") == (
        "office fined flight ff ffl st"
    )
    assert clean_letters("a\u00a0b\u2009c\u202fd\u3000e") == "a b c d e"
    assert clean_letters("co\u00adoperation\u200b") == "cooperation"
    assert clean_letters("Ｆｕｌｌ") == "Full"


def test_words_cut_at_a_line_end_are_joined_only_when_the_document_knows_them() -> None:
    words = known_words(["An organization of volunteers.", "A self-organization."])
    assert join_lines(["the orga-", "nization grew"], words) == "the organization grew"
    assert join_lines(["the self-", "organization grew"], words) == "the self-organization grew"
    assert join_lines(["a never-", "seen compound"], words) == "a never-seen compound"
    assert join_lines(["a soft co\u00ad", "operation"], set()) == "a soft cooperation"
    assert join_lines(["PDFium's self\x02", "organization"], words) == (
        "PDFium's self-organization"
    )
    assert join_lines(["legal entity -", "70,000 roubles"], words) == (
        "legal entity - 70,000 roubles"
    )
    assert join_lines(["в 2011", "—2014 годах"], words) == "в 2011—2014 годах"


@given(st.lists(st.text(st.characters(categories=["L", "N"]), min_size=1), min_size=1))
def test_lines_without_hyphens_join_with_one_space(words: list[str]) -> None:
    lines = [" ".join(words[i : i + 3]) for i in range(0, len(words), 3)]
    assert join_lines(lines, known_words(lines)) == " ".join(words)


# --- bad input -------------------------------------------------------------------------------


def _minimal_pdf(pages: int = 1) -> bytes:
    return minimal_pdf(["Letters to prisoners went out weekly."], pages=pages)


def _encrypted(tmp_path: Path, name: str, user_password: str) -> Path:
    from pypdf import PdfReader, PdfWriter

    source = tmp_path / "plain.pdf"
    source.write_bytes(_minimal_pdf())
    writer = PdfWriter()
    writer.append(PdfReader(source))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
    path = tmp_path / name
    with open(path, "wb") as out:
        writer.write(out)
    return path


def test_an_encrypted_pdf_with_an_empty_user_password_is_read(tmp_path: Path) -> None:
    [document] = read_document(_encrypted(tmp_path, "open.pdf", ""))
    assert document.text == "Letters to prisoners went out weekly."


def test_an_encrypted_pdf_with_a_password_says_so(tmp_path: Path) -> None:
    path = _encrypted(tmp_path, "locked.pdf", "secret")
    with pytest.raises(InputError, match=r"locked\.pdf: is an encrypted PDF; save a copy"):
        read_document(path)


def test_a_pdf_of_more_pages_than_the_bound_is_refused_before_reading_them(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bomb.pdf"
    path.write_bytes(_minimal_pdf(pages=50_000))  # 300 KB
    with pytest.raises(
        InputError,
        match=r"bomb\.pdf: is too large to read: it has 50,000 "
        r"pages; trustcode reads at most 5,000 \(split it first\)",
    ):
        read_document(path)


def test_the_character_and_time_bounds_end_reading_with_a_clear_error(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "long.pdf"
    path.write_bytes(_minimal_pdf())
    monkeypatch.setattr(pdf_layout, "MAX_PDF_CHARS", 10)
    with pytest.raises(
        InputError,
        match=r"long\.pdf: is too large to read: it holds more than "
        r"10 characters",
    ):
        read_document(path)
    monkeypatch.setattr(pdf_layout, "MAX_PDF_CHARS", 1000)
    monkeypatch.setattr(pdf_layout, "MAX_PDF_SECONDS", 0.0)
    with pytest.raises(
        InputError,
        match=r"long\.pdf: is too large to read: reading it took "
        r"longer than 0 s \(stopped at page 1 of 1\)",
    ):
        read_document(path)


def test_a_too_large_pdf_is_skipped_unless_strict(tmp_path: Path) -> None:
    (tmp_path / "bomb.pdf").write_bytes(_minimal_pdf(pages=50_000))
    (tmp_path / "fine.pdf").write_bytes(_minimal_pdf())
    command = [
        sys.executable,
        "-m",
        "trustcode.cli",
        "code",
        "bomb.pdf",
        "fine.pdf",
        "-q",
        "-m",
        "none",
        "-o",
        "out",
    ]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "warning: bomb.pdf: is too large to read: it has 50,000 pages" in done.stderr
    strict = subprocess.run(
        [*command[:-2], "-o", "strict", "--strict"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert strict.returncode == 2
    assert (
        strict.stderr.strip().splitlines()[-1].startswith("Error: bomb.pdf: is too large to read")
    )
    assert not (tmp_path / "strict").exists()
