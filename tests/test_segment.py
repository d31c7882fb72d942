"""Segmentation: units, exact offsets, and the paragraph rule of DESIGN.md."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trustcode.errors import UsageError
from trustcode.segment import Unit, paragraph_spans, parse_unit, segment, window_spans
from trustcode.types import Document

TEXT_EN = (
    "Volunteers write letters to political prisoners.\n"
    "Each letter is read by the censor first.\n"
    "\n"
    "   \n"
    "Lawyers attend the hearings. They report from the courtroom.\n"
)


def test_paragraphs_split_at_blank_lines_even_with_spaces_in_them() -> None:
    passages = segment(Document("d", TEXT_EN))
    assert [p.text for p in passages] == [
        "Volunteers write letters to political prisoners.\n"
        "Each letter is read by the censor first.",
        "Lawyers attend the hearings. They report from the courtroom.",
    ]
    assert [p.passage_id for p in passages] == ["d#0", "d#1"]


def test_text_without_blank_lines_splits_at_every_line_break() -> None:
    text = "Первый абзац.\nВторой абзац.\n\tТретий."
    assert [text[s:e] for s, e in paragraph_spans(text)] == [
        "Первый абзац.",
        "Второй абзац.",
        "Третий.",
    ]


def test_sentences_stay_within_paragraphs() -> None:
    passages = segment(Document("d", TEXT_EN, language="en"), "sentence")
    texts = [p.text for p in passages]
    assert texts == [
        "Volunteers write letters to political prisoners.",
        "Each letter is read by the censor first.",
        "Lawyers attend the hearings.",
        "They report from the courtroom.",
    ]


def test_russian_sentences() -> None:
    text = "Активистов задержали у суда. Их отпустили вечером.\n\nАдвокаты подали жалобу."
    passages = segment(Document("r", text, language="ru"), "sentence")
    assert [p.text for p in passages] == [
        "Активистов задержали у суда.",
        "Их отпустили вечером.",
        "Адвокаты подали жалобу.",
    ]


def test_windows_overlap_by_stride_and_reach_the_end() -> None:
    passages = segment(Document("d", TEXT_EN, language="en"), "window:2:1")
    assert len(passages) == 3
    assert passages[0].text.startswith("Volunteers") and passages[0].text.endswith("first.")
    assert passages[-1].text == "Lawyers attend the hearings. They report from the courtroom."
    assert window_spans([(0, 1), (2, 3), (4, 5)], 2, 2) == [(0, 3), (4, 5)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("paragraph", Unit("paragraph")),
        ("Sentence", Unit("sentence")),
        ("window:4", Unit("window", 4, 2)),
        ("window:3:3", Unit("window", 3, 3)),
    ],
)
def test_parse_unit(text: str, expected: Unit) -> None:
    assert parse_unit(text) == expected


@pytest.mark.parametrize("bad", ["page", "window", "window:0", "window:2:3", "window:x"])
def test_bad_units_are_usage_errors(bad: str) -> None:
    with pytest.raises(UsageError, match="Unknown unit"):
        parse_unit(bad)


def test_empty_and_blank_documents_have_no_passages() -> None:
    assert segment(Document("d", "")) == []
    assert segment(Document("d", " \n\n \t\n")) == []


_alphabet = st.sampled_from(list("ab яё .!?\n\n\t\u200b\u00a0Ж,"))


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(alphabet=_alphabet, max_size=200),
    unit=st.sampled_from(["paragraph", "sentence", "window:2", "window:3:1"]),
)
def test_offsets_slice_back_to_passage_text(text: str, unit: str) -> None:
    doc = Document("d", text, language="ru")
    passages = segment(doc, unit)
    for index, p in enumerate(passages):
        assert p.index == index
        assert text[p.start : p.end] == p.text
        assert p.text and p.text == p.text.strip()


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=300))
def test_paragraphs_are_ordered_disjoint_and_cover_all_non_space(text: str) -> None:
    spans = paragraph_spans(text)
    covered = set()
    last_end = 0
    for start, end in spans:
        assert last_end <= start < end
        covered.update(range(start, end))
        last_end = end
    assert all(text[i].isspace() for i in range(len(text)) if i not in covered)


def test_a_block_longer_than_the_limit_is_cut_at_white_space_with_a_warning() -> None:
    from trustcode.errors import TrustcodeWarning
    from trustcode.segment import MAX_PASSAGE_CHARS

    text = "word " * (MAX_PASSAGE_CHARS // 2)  # one line, 2.5 times the limit
    with pytest.warns(TrustcodeWarning, match="cut at white space"):
        passages = segment(Document("big", text))
    assert len(passages) == 3
    assert all(len(p.text) <= MAX_PASSAGE_CHARS for p in passages)
    assert all(text[p.start : p.end] == p.text and p.text.endswith("word") for p in passages)
    assert "".join(p.text + " " for p in passages) == text
