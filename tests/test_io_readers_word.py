"""Tests of .docx reading (trustcode.io.readers.word): paragraphs, headings, tables, footnotes,
endnotes, comments, headers and footers, each where it belongs, in files python-docx writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from trustcode.io.readers import read_document
from trustcode.segment import segment

_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def _notes_part(document, kind: str, notes: dict[str, str]) -> None:
    """Adds a footnotes or endnotes part, as Word writes it (separators first), to a
    python-docx document: python-docx reads such parts but cannot make them."""
    from docx.opc.constants import RELATIONSHIP_TYPE as RT
    from docx.opc.packuri import PackURI
    from docx.opc.part import Part

    separators = "".join(
        f'<w:{kind} w:type="{kind_}" w:id="{number}"><w:p><w:r><w:{tag}/></w:r></w:p></w:{kind}>'
        for number, kind_, tag in (
            (-1, "separator", "separator"),
            (0, "continuationSeparator", "continuationSeparator"),
        )
    )
    body = "".join(
        f'<w:{kind} w:id="{note_id}"><w:p><w:r><w:{kind}Ref/></w:r>'
        f'<w:r><w:t xml:space="preserve"> {text}</w:t></w:r></w:p></w:{kind}>'
        for note_id, text in notes.items()
    )
    xml = f'<w:{kind}s xmlns:w="{_NS}">{separators}{body}</w:{kind}s>'
    content_type = f"application/vnd.openxmlformats-officedocument.wordprocessingml.{kind}s+xml"
    part = Part(PackURI(f"/word/{kind}s.xml"), content_type, xml.encode(), document.part.package)
    document.part.relate_to(part, RT.FOOTNOTES if kind == "footnote" else RT.ENDNOTES)


def _reference(paragraph, kind: str, note_id: str) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    reference = OxmlElement(f"w:{kind}Reference")
    reference.set(qn("w:id"), note_id)
    paragraph.add_run()._r.append(reference)


@pytest.fixture
def report(tmp_path: Path) -> Path:
    import docx

    document = docx.Document()
    document.core_properties.title = "Detentions"
    section = document.sections[0]
    section.header.paragraphs[0].text = "OVD-Info — draft report"
    section.footer.paragraphs[0].text = "Page 1"
    document.add_heading("Detentions in Moscow", level=1)
    first = document.add_paragraph("Officials \ufb01ned the protesters after the march")
    _reference(first, "footnote", "2")
    first.add_run(" and the court upheld every\u00a0fine.")
    second = document.add_paragraph("Самоорганизация помогала задержанным")
    _reference(second, "footnote", "1")
    second.add_run(", а волонтёры собирали сведения")
    _reference(second, "endnote", "1")
    second.add_run(".")
    document.add_comment(second.runs[0], text="Check this figure.", author="Anna")
    document.add_heading("Arrests by month", level=2)
    table = document.add_table(rows=3, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Month", "Arrests"
    table.cell(1, 0).text, table.cell(1, 1).text = "May", "436"
    merged = table.cell(2, 0).merge(table.cell(2, 1))
    merged.text = "No count for June"
    _notes_part(
        document,
        "footnote",
        {"1": "A second note, cited first.", "2": "Counted by the volunteers."},
    )
    _notes_part(document, "endnote", {"1": "From the coalition's records."})
    path = tmp_path / "report.docx"
    document.save(path)
    return path


def test_docx_body_paragraphs_headings_and_table_rows(report: Path) -> None:
    [document] = read_document(report)
    assert [p.text for p in segment(document)] == [
        "Detentions in Moscow",
        "Officials fined the protesters after the march[1] and the court upheld every fine.",
        "Самоорганизация помогала задержанным[2], а волонтёры собирали сведения[i].",
        "Arrests by month",
        "Month\tArrests",
        "May\t436",
        "No count for June",
    ]
    assert document.title == "Detentions"


def test_docx_notes_comments_headers_and_footers_stand_beside_the_body(report: Path) -> None:
    [document] = read_document(report)
    assert document.metadata["footnotes"].splitlines() == [
        "1 Counted by the volunteers.",
        "2 A second note, cited first.",
        "i From the coalition's records.",
    ]
    assert document.metadata["comments"] == "Anna: Check this figure."
    assert document.metadata["apparatus"].splitlines() == [
        "header: OVD-Info — draft report",
        "footer: Page 1",
    ]
    for beside in ("Counted by", "Check this", "draft report", "Page 1"):
        assert beside not in document.text


def test_docx_nested_table_rows_follow_their_row(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Group", "Answers"
    outer = table.cell(1, 0)
    outer.text = "Stayed"
    inner = outer.add_table(rows=1, cols=2)
    inner.cell(0, 0).text, inner.cell(0, 1).text = "yes", "12"
    table.cell(1, 1).text = "30"
    document.save(tmp_path / "nested.docx")
    [read] = read_document(tmp_path / "nested.docx")
    assert read.text.split("\n\n") == ["Group\tAnswers", "Stayed\t30", "yes\t12"]


def test_docx_with_a_damaged_notes_part_is_named(tmp_path: Path) -> None:
    import docx
    from docx.opc.constants import RELATIONSHIP_TYPE as RT
    from docx.opc.packuri import PackURI
    from docx.opc.part import Part

    from trustcode.errors import InputError

    document = docx.Document()
    document.add_paragraph("Letters to prisoners went out weekly.")
    content_type = "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"
    part = Part(
        PackURI("/word/footnotes.xml"), content_type, b"<w:footnotes broken", document.part.package
    )
    document.part.relate_to(part, RT.FOOTNOTES)
    document.save(tmp_path / "notes.docx")
    with pytest.raises(
        InputError,
        match=r"notes\.docx: is not a valid \.docx file "
        r"\(XMLSyntaxError: ",
    ):
        read_document(tmp_path / "notes.docx")
