"""Tests of trustcode.redact: identifiers replaced by stable pseudonyms, offsets kept valid."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from trustcode.errors import InputError, UsageError
from trustcode.redact import OffsetMap, Redactor, read_names, redactor_for
from trustcode.segment import segment
from trustcode.types import Code, Codebook, Document


def redacted(text: str, **kwargs: object) -> str:
    return Redactor(**kwargs).redact_text(text)[0]  # type: ignore[arg-type]


# --- patterns -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Write to ira.k+news@post.example.org today.", "Write to [EMAIL-1] today."),
        ("Почта: волонтёр@почта.рф.", "Почта: [EMAIL-1]."),
        ("See https://example.org/help?x=1, then rest.", "See [URL-1], then rest."),
        ("Open www.example.net/path.", "Open [URL-1]."),
        ("Канал t.me/some_channel и сайт ovd.info.", "Канал [URL-1] и сайт [URL-2]."),
        ("Follow @night_desk for news", "Follow [HANDLE-1] for news"),
        ("Звоните +7 (916) 123-45-67 вечером", "Звоните [PHONE-1] вечером"),
        ("или 8 916 123 45 67.", "или [PHONE-1]."),
        ("London: +44 20 7946 0958.", "London: [PHONE-1]."),
        ("Тбилиси +995 32 212 3456", "Тбилиси [PHONE-1]"),
        ("Офис (495) 123-45-67", "Офис [PHONE-1]"),
    ],
)
def test_default_patterns(text: str, expected: str) -> None:
    assert redacted(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "В 2022-2023 годах, 15.03.2024, в 18:30.",
        "It cost 1 234 567 roubles, e.g. 12.5% of the budget.",
        "Files such as notes.txt and Node.js stay.",
        "Section 8.2 and page 916.",
        "a@b",  # no domain dot: not an address
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redacted(text) == text


def test_same_identifier_same_token_across_calls() -> None:
    r = Redactor()
    first = r.redact_text("Mail A@Example.org or b@example.org")[0]
    second = r.redact_text("again a@example.org; phone 8 (916) 123-45-67 = +7 916 1234567")[0]
    assert first == "Mail [EMAIL-1] or [EMAIL-2]"
    # case-folded e-mail, and one Russian number written in two ways
    assert second == "again [EMAIL-1]; phone [PHONE-1] = [PHONE-1]"


def test_patterns_can_be_replaced_or_switched_off() -> None:
    assert redacted("a@b.org, @handle", patterns={}) == "a@b.org, @handle"
    assert redacted("case 12-345 closed", patterns={"CASE": r"\d{2}-\d{3}"}) == (
        "case [CASE-1] closed"
    )
    with pytest.raises(UsageError, match="redaction pattern BAD: not a valid regular"):
        Redactor(patterns={"BAD": "(unclosed"})


# --- names ----------------------------------------------------------------------------------------


def test_names_match_case_insensitively_on_word_boundaries() -> None:
    r = Redactor(names=["John Smith", "Lee"])
    assert r.redact_text("JOHN SMITH met john  smith; Leeds and fleeing stay; Lee's car.")[0] == (
        "[PERSON-1] met [PERSON-1]; Leeds and fleeing stay; [PERSON-2]'s car."
    )


def test_russian_names_in_their_case_forms() -> None:
    r = Redactor(names=["Анна Иванова", "Пётр Соколов", "Мария", "Игорь"])
    text = (
        "Анну Иванову видели с Петром Соколовым. Об Анне Ивановой писали. "
        "Марию и Марией, Игоря и Игорем; ИВАНОВА АННА не в том порядке."
    )
    assert r.redact_text(text)[0] == (
        "[PERSON-1] видели с [PERSON-2]. Об [PERSON-1] писали. "
        "[PERSON-3] и [PERSON-3], [PERSON-4] и [PERSON-4]; ИВАНОВА АННА не в том порядке."
    )


def test_short_russian_names_are_not_inflected() -> None:
    # "Ия" inflected would be "И" + endings, which would hit the conjunction "и"
    assert redacted("Ия и я, Ию", names=["Ия"]) == "[PERSON-1] и я, Ию"


def test_longer_name_wins_over_its_part() -> None:
    r = Redactor(names=["Анна", "Анна Иванова"])
    assert r.redact_text("Анна Иванова и Анна")[0] == "[PERSON-1] и [PERSON-2]"


def test_read_names_file(tmp_path: Path) -> None:
    file = tmp_path / "names.txt"
    file.write_bytes("\ufeff# comment\n Ольга Петрова \n\nJane Roe\r\n".encode())
    assert read_names(file) == ("Ольга Петрова", "Jane Roe")
    with pytest.raises(InputError, match="no such names file"):
        read_names(tmp_path / "missing.txt")
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"ok\n\xff\xfe\n")
    with pytest.raises(InputError, match=r"bad.txt, line 2: not UTF-8"):
        read_names(bad)


def test_redactor_for_joins_codebook_and_file(tmp_path: Path) -> None:
    book = Codebook(name="t", codes=(Code(id="a", label="A"),), redact=("Дарья Смирнова",))
    file = tmp_path / "names.txt"
    file.write_text("Jane Roe\n", encoding="utf-8")
    r = redactor_for(book, file)
    assert r.redact_text("Дарью Смирнову и Jane Roe")[0] == "[PERSON-1] и [PERSON-2]"


def test_missing_spacy_pipeline_is_refused_not_downloaded() -> None:
    with pytest.raises(UsageError, match="never downloads"):
        Redactor(spacy_model="xx_no_such_pipeline_sm")


def test_trained_spacy_pipeline_finds_persons() -> None:
    spacy = pytest.importorskip("spacy")
    installed = [m for m in spacy.util.get_installed_models() if m.startswith(("en_", "ru_"))]
    if not installed:
        pytest.skip("no trained spaCy pipeline is installed (trustcode never downloads one)")
    r = Redactor(spacy_model=installed[0])
    text, spans = r.redact_text("Yesterday Barack Obama spoke in Paris.")
    assert any(s.kind == "PERSON" for s in spans) and "Obama" not in text


# --- offsets --------------------------------------------------------------------------------------


def test_spans_point_into_both_texts() -> None:
    text = "Call Jane Roe (jane@roe.example) or +44 20 7946 0958 now."
    new, spans = Redactor(names=["Jane Roe"]).redact_text(text)
    assert [s.kind for s in spans] == ["PERSON", "EMAIL", "PHONE"]
    for s in spans:
        assert new[s.new_start : s.new_end] == s.token
    assert text[spans[1].start : spans[1].end] == "jane@roe.example"


def test_offset_map_moves_offsets_inside_a_token_to_its_edges() -> None:
    _, spans = Redactor().redact_text("ab x@y.org cd")
    m = OffsetMap(spans)
    assert (m.start(0), m.start(3), m.start(5), m.end(5), m.end(10), m.start(11)) == (
        0,
        3,
        3,
        12,
        12,
        13,
    )


def test_redact_document_keeps_segmentation_valid() -> None:
    doc = Document(
        "d1",
        "Анна Иванова пишет.\n\nПочта anna@example.org.",
        title="Анна Иванова",
        language="ru",
        metadata={"group": "left"},
    )
    out = Redactor(names=["Анна Иванова"]).redact_document(doc)
    assert out.text == "[PERSON-1] пишет.\n\nПочта [EMAIL-1]."
    assert (
        out.title == "[PERSON-1]" and out.doc_id == "d1" and dict(out.metadata) == {"group": "left"}
    )
    for p in segment(out, "paragraph"):
        assert out.text[p.start : p.end] == p.text


def _tables_for(doc: Document, unit: str) -> dict[str, pd.DataFrame]:
    passages = segment(doc, unit)
    return {
        "documents": pd.DataFrame(
            {
                "doc_id": [doc.doc_id],
                "title": [doc.title],
                "n_chars": [len(doc.text)],
                "sha256": [doc.sha256],
            }
        ),
        "passages": pd.DataFrame(
            {
                "doc_id": doc.doc_id,
                "passage_id": [p.passage_id for p in passages],
                "index": [p.index for p in passages],
                "start": [p.start for p in passages],
                "end": [p.end for p in passages],
                "text": [p.text for p in passages],
            }
        ),
        "codings": pd.DataFrame(
            {
                "doc_id": doc.doc_id,
                "passage_id": [p.passage_id for p in passages],
                "start": [p.start for p in passages],
                "end": [p.end for p in passages],
                "code": "c",
                "source": "rule",
                "score": float("nan"),
                "evidence": [f'r: "{p.text[:20]}" [{p.start}-{p.start + 20}]' for p in passages],
                "coder": "trustcode",
            }
        ),
    }


@pytest.mark.parametrize("unit", ["paragraph", "sentence", "window:3:1"])
def test_redact_tables_matches_redacting_the_document(unit: str) -> None:
    text = (
        "Ольга Петрова звонила вчера. Её номер +7 916 123-45-67.\n\n"
        "Olga wrote to olga@example.org. She met Jane Roe. Then @desk_news answered.\n\n"
        "Ольгу Петрову ждали. Всё."
    )
    doc = Document("d", text, title="Ольга Петрова", language="ru")
    names = ["Ольга Петрова", "Jane Roe"]
    expected = Redactor(names=names).redact_document(doc)
    out = Redactor(names=names).redact_tables(_tables_for(doc, unit))
    passages = out["passages"]
    assert "Петров" not in "".join(passages["text"])
    for start, end, body in zip(passages["start"], passages["end"], passages["text"], strict=True):
        assert expected.text[start:end] == body
    assert out["codings"]["start"].tolist() == passages["start"].tolist()
    assert out["codings"]["end"].tolist() == passages["end"].tolist()
    assert out["documents"]["n_chars"].tolist() == [len(expected.text)]
    assert out["documents"]["title"].tolist() == ["[PERSON-1]"]
    assert out["documents"]["sha256"].tolist() == [""]
    evidence = out["codings"]["evidence"].iloc[0]
    assert evidence == 'r: "[PERSON-1] звонил" [0-17]'


def test_redact_tables_refuses_inconsistent_overlaps() -> None:
    doc = Document("d", "One two three. Four five six. Seven.", language="en")
    tables = _tables_for(doc, "window:2:1")
    tables["passages"].loc[1, "text"] = tables["passages"].loc[1, "text"].replace("Four", "Fxur")
    with pytest.raises(InputError, match="disagree on the text they share"):
        Redactor().redact_tables(tables)
    tables["passages"].loc[1, "end"] = 3
    with pytest.raises(InputError, match="do not fit its text"):
        Redactor().redact_tables(tables)


words = st.sampled_from(
    [
        "Анна",
        "Иванова",
        "Анну",
        "Ивановой",
        "a@b.org",
        "+7 916 123-45-67",
        "@desk",
        "word",
        "слово",
        "https://x.org/a",
        " ",
        "\n",
        "\n\n",
        ".",
        ",",
    ]
)


@settings(max_examples=60, deadline=None)
@given(st.lists(words, max_size=30), st.data())
def test_offsets_stay_valid_for_any_passages(parts: list[str], data: st.DataObject) -> None:
    text = "".join(parts)
    doc = Document("d", text, language="ru")
    unit = data.draw(st.sampled_from(["paragraph", "sentence", "window:2:1"]))
    tables = _tables_for(doc, unit)
    full, spans = Redactor(names=["Анна Иванова"]).redact_text(text)
    bounds = set(tables["passages"]["start"]) | set(tables["passages"]["end"])
    covered = [
        (s, e) for s, e in zip(tables["passages"]["start"], tables["passages"]["end"], strict=True)
    ]
    # the tables know only passage texts: an identifier across a passage edge or in the gap
    # between passages cannot be found there (SECURITY.md says so)
    assume(all(not any(s.start < b < s.end for b in bounds) for s in spans))
    assume(all(any(a <= s.start and s.end <= b for a, b in covered) for s in spans))
    out = Redactor(names=["Анна Иванова"]).redact_tables(tables)
    for start, end, body in zip(
        out["passages"]["start"], out["passages"]["end"], out["passages"]["text"], strict=True
    ):
        assert 0 <= start <= end and full[start:end] == body


# --- through the CLI ------------------------------------------------------------------------------


@pytest.fixture
def private_corpus(tmp_path: Path) -> tuple[Path, Path]:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "one.txt").write_text(
        "Ольга Петрова пишет письма политзаключённым.\n\n"
        "Её почта olga.p@example.org, телефон +7 916 123-45-67.",
        encoding="utf-8",
    )
    (corpus / "two.txt").write_text(
        "Volunteers met Ольгу Петрову at the border.\n\nShe posts as @olga_helps.",
        encoding="utf-8",
    )
    names = tmp_path / "names.txt"
    names.write_text("Ольга Петрова\n", encoding="utf-8")
    return corpus, names


SECRETS = ("Петров", "olga.p@", "123-45-67", "@olga_helps")


def test_cli_code_redact(private_corpus: tuple[Path, Path], tmp_path: Path) -> None:
    from click.testing import CliRunner

    from trustcode.cli import main
    from trustcode.io.tables import read_tables

    corpus, names = private_corpus
    out = tmp_path / "coded.parquet"
    result = CliRunner().invoke(
        main,
        [
            "code",
            str(corpus),
            "-o",
            str(out),
            "-m",
            "none",
            "-q",
            "--redact",
            "--redact-names",
            str(names),
        ],
    )
    assert result.exit_code == 0, result.output
    tables, provenance = read_tables(out)
    texts = tables["passages"]["text"].tolist()
    assert not any(secret in text for text in texts for secret in SECRETS)
    # the same person is the same token in both documents
    assert texts[0].startswith("[PERSON-1] пишет") and "met [PERSON-1] at" in texts[2]
    assert "[EMAIL-1]" in texts[1] and "[PHONE-1]" in texts[1] and "[HANDLE-1]" in texts[3]
    assert provenance["options"]["redacted"] is True
    assert "Петров" not in json_text(provenance)


def json_text(value: object) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)


@pytest.mark.parametrize("command", ["report", "export"])
def test_cli_redacts_an_existing_coding(
    private_corpus: tuple[Path, Path], tmp_path: Path, command: str
) -> None:
    import zipfile

    from click.testing import CliRunner

    from trustcode.cli import main

    corpus, names = private_corpus
    coded = tmp_path / "coded"
    runner = CliRunner()
    assert (
        runner.invoke(main, ["code", str(corpus), "-o", str(coded), "-m", "none", "-q"]).exit_code
        == 0
    )
    out = tmp_path / ("report.html" if command == "report" else "project.qdpx")
    result = runner.invoke(
        main, [command, str(coded), "-o", str(out), "--redact", "--redact-names", str(names)]
    )
    assert result.exit_code == 0, result.output
    if command == "report":
        content = out.read_text(encoding="utf-8")
    else:
        with zipfile.ZipFile(out) as archive:
            content = "".join(
                archive.read(n).decode("utf-8", "replace") for n in archive.namelist()
            )
    assert "[PERSON-1]" in content and "[EMAIL-1]" in content
    assert not any(secret in content for secret in SECRETS)
