"""REFI-QDA export and import: schema validity, references, positions, stable GUIDs, lenient
reading of hand-made projects, and refusal of unsafe archives and XML."""

from __future__ import annotations

import io
import re
import warnings
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from trustcode.codebook import parse_codebook
from trustcode.errors import CodebookError, InputError, OutputError, TrustcodeWarning
from trustcode.refiqda import (
    CLASSIFIER_USER,
    RULES_USER,
    document_texts,
    export_qdc,
    export_qdpx,
    import_qdc,
    import_qdpx,
    read_qdpx,
    write_codebook_yaml,
)
from trustcode.types import CODING_COLUMNS, DOCUMENT_COLUMNS, PASSAGE_COLUMNS, sha256_text

from .conftest import write_zip

NS = "urn:QDA-XML:project:1.0"
Q = {"q": NS}
WHEN = "2025-03-04T05:06:07Z"

CODEBOOK_YAML = """
name: Border trust
languages: [en, ru]
codes:
  - id: strategy
    label: Ways of building trust
    definition: How groups earn the confidence of people on both sides.
  - id: mutual_aid
    parent: strategy
    label: Mutual aid
    definition: People help each other with money, shelter or advice.
    include: Parcels, collections, legal help.
    exclude: State welfare.
    colour: "#1b9e77"
    rules: [{phrases: [mutual aid, помощь]}]
  - id: openness
    parent: strategy
    label: Openness about risk
    colour: "#d95f02"
    rules: [{globs: [open*]}]
  - id: fear
    label: Fear
    colour: "#7570b3"
    rules: [{lemmas: [fear]}]
"""

TEXTS = {
    "letters_en": (
        "Volunteers sent parcels as mutual aid to families who stayed.\n\n"
        "They talked openly 🙂 about the risk of writing back.\n\n"
        "Nobody was named in the newsletter."
    ),
    "pisma_ru": (
        "Волонтёры 🌍 собирали помощь для тех, кто остался.\n\n"
        "Открытые встречи проходили онлайн каждую неделю.\n\n"
        "Страх мешал отвечать на письма."
    ),
}


def _codebook() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TrustcodeWarning)  # codes without examples
        return parse_codebook(CODEBOOK_YAML)


def _passages(doc_id: str, text: str) -> list[dict[str, Any]]:
    rows, position = [], 0
    for index, part in enumerate(text.split("\n\n")):
        start = text.index(part, position)
        position = start + len(part)
        rows.append(
            {"doc_id": doc_id, "passage_id": f"{doc_id}#{index}", "index": index,
             "start": start, "end": position, "text": part}
        )  # fmt: skip
    return rows


@pytest.fixture
def tables() -> dict[str, pd.DataFrame]:
    passages = pd.DataFrame([row for d, t in TEXTS.items() for row in _passages(d, t)])
    by_id = {r["passage_id"]: r for r in passages.to_dict("records")}

    def coding(pid: str, code: str, source: str, coder: str = "trustcode") -> dict[str, Any]:
        p = by_id[pid]
        keys = {k: p[k] for k in ("doc_id", "passage_id", "start", "end")}
        return {
            **keys,
            "code": code,
            "source": source,
            "score": 0.8,
            "evidence": "",
            "coder": coder,
        }

    codings = pd.DataFrame(
        [
            coding("letters_en#0", "mutual_aid", "rule"),
            coding("letters_en#1", "openness", "rule+classifier"),
            coding("letters_en#1", "fear", "classifier"),
            coding("letters_en#1", "openness", "human", "Maria"),
            coding("pisma_ru#0", "mutual_aid", "rule"),
            coding("pisma_ru#0", "mutual_aid", "human", "Олег"),
            coding("pisma_ru#1", "openness", "classifier"),
            coding("pisma_ru#2", "fear", "human", "Олег"),
        ],
        columns=list(CODING_COLUMNS),
    )
    documents = pd.DataFrame(
        [
            {"doc_id": d, "source": "", "title": f"Title of {d}", "language": d[-2:],
             "n_chars": len(t), "sha256": sha256_text(t)}
            for d, t in TEXTS.items()
        ]
    )  # fmt: skip
    return {"documents": documents, "passages": passages, "codings": codings}


def _export(tables: dict[str, pd.DataFrame], path: Path, **kwargs: Any) -> Path:
    kwargs.setdefault("texts", TEXTS)
    kwargs.setdefault("created", WHEN)
    return export_qdpx(tables, _codebook(), path, **kwargs)


def _project(path: Path) -> tuple[etree._Element, zipfile.ZipFile]:
    archive = zipfile.ZipFile(path)
    return etree.fromstring(archive.read("project.qde")), archive


# --- export ---------------------------------------------------------------------------------------


def test_export_is_valid_against_the_project_schema(tables, tmp_path, shared_dir) -> None:
    import xmlschema

    schema = xmlschema.XMLSchema(str(shared_dir / "refi-qda" / "Project-mrt2019.xsd"))
    path = _export(tables, tmp_path / "coded.qdpx")
    with zipfile.ZipFile(path) as archive:
        xml = archive.read("project.qde").decode("utf-8")
    errors = list(schema.iter_errors(xml))
    assert errors == []


def test_export_layout_users_and_references_resolve(tables, tmp_path) -> None:
    root, archive = _project(_export(tables, tmp_path / "coded.qdpx"))
    names = sorted(archive.namelist())
    assert names[0] == "project.qde"
    assert all(re.fullmatch(r"sources/[0-9A-F-]{36}\.txt", n) for n in names[1:])
    assert len(names) == 3
    assert re.fullmatch(r"trustcode \S+", root.get("origin"))
    users = {u.get("guid"): u.get("name") for u in root.iterfind("q:Users/q:User", Q)}
    assert all(users.values())
    assert {RULES_USER, CLASSIFIER_USER, "Maria", "Олег"} <= set(users.values())
    codes = {c.get("guid") for c in root.iter(f"{{{NS}}}Code")}
    refs = [r.get("targetGUID") for r in root.iter(f"{{{NS}}}CodeRef")]
    assert refs and set(refs) <= codes
    assert root.get("creatingUserGUID") in users
    dated = [
        e
        for tag in ("TextSource", "PlainTextSelection", "Coding")
        for e in root.iter(f"{{{NS}}}{tag}")
    ]
    for element in dated:
        assert element.get("creatingUser") in users
        assert element.get("creationDateTime") == WHEN
    for source in root.iter(f"{{{NS}}}TextSource"):
        assert source.find("q:PlainTextContent", Q) is None
        inner = source.get("plainTextPath").removeprefix("internal://")
        assert f"sources/{inner}" in names


def test_export_codes_nest_with_colours_and_descriptions(tables, tmp_path) -> None:
    root, _ = _project(_export(tables, tmp_path / "coded.qdpx"))
    top = root.findall("q:CodeBook/q:Codes/q:Code", Q)
    assert [c.get("name") for c in top] == ["Ways of building trust", "Fear"]
    children = top[0].findall("q:Code", Q)
    assert [c.get("name") for c in children] == ["Mutual aid", "Openness about risk"]
    assert children[0].get("color") == "#1b9e77"
    description = children[0].findtext("q:Description", namespaces=Q)
    assert "People help each other" in description
    assert "Include: Parcels, collections, legal help." in description
    assert "Exclude: State welfare." in description
    assert top[0].get("isCodable") == "false" and children[0].get("isCodable") == "true"


def test_positions_are_code_points_that_slice_back_to_the_passages(tables, tmp_path) -> None:
    root, archive = _project(_export(tables, tmp_path / "coded.qdpx"))
    passages = tables["passages"].set_index("passage_id")["text"].to_dict()
    checked = 0
    for source in root.iter(f"{{{NS}}}TextSource"):
        inner = source.get("plainTextPath").removeprefix("internal://")
        raw = archive.read(f"sources/{inner}")
        assert not raw.startswith(b"\xef\xbb\xbf") and b"\r" not in raw
        text = raw.decode("utf-8")
        assert text == TEXTS[source.get("name")]
        for selection in source.iterfind("q:PlainTextSelection", Q):
            start, end = int(selection.get("startPosition")), int(selection.get("endPosition"))
            assert 0 <= start < end <= len(text)
            assert text[start:end] == passages[selection.get("name")]
            checked += 1
    # one selection per (span, user): the rule+classifier coding adds the rules user's own
    assert checked == 8
    # the passage after the emoji starts where Python (code points) says, not UTF-16 units
    after_emoji = next(
        s for s in root.iter(f"{{{NS}}}PlainTextSelection") if s.get("name") == "pisma_ru#1"
    )
    assert int(after_emoji.get("startPosition")) == TEXTS["pisma_ru"].index("Открытые")


def test_each_user_gets_its_own_selection(tables, tmp_path) -> None:
    root, _ = _project(_export(tables, tmp_path / "coded.qdpx"))
    users = {u.get("guid"): u.get("name") for u in root.iterfind("q:Users/q:User", Q)}
    code_names = {c.get("guid"): c.get("name") for c in root.iter(f"{{{NS}}}Code")}
    span = [s for s in root.iter(f"{{{NS}}}PlainTextSelection") if s.get("name") == "letters_en#1"]
    owners = {users[s.get("creatingUser")]: s for s in span}
    assert sorted(owners) == sorted([RULES_USER, CLASSIFIER_USER, "Maria"])
    coded = {
        owner: sorted(code_names[r.get("targetGUID")] for r in s.iter(f"{{{NS}}}CodeRef"))
        for owner, s in owners.items()
    }
    assert coded == {
        RULES_USER: ["Openness about risk"],
        CLASSIFIER_USER: ["Fear", "Openness about risk"],
        "Maria": ["Openness about risk"],
    }
    for selection in root.iter(f"{{{NS}}}PlainTextSelection"):
        refs = [r.get("targetGUID") for r in selection.iter(f"{{{NS}}}CodeRef")]
        assert len(refs) == len(set(refs))
        for coding in selection.iterfind("q:Coding", Q):
            assert coding.get("creatingUser") == selection.get("creatingUser")


def test_guids_and_bytes_are_stable_across_runs(tables, tmp_path) -> None:
    first = _export(tables, tmp_path / "a.qdpx").read_bytes()
    second = _export(tables, tmp_path / "b.qdpx").read_bytes()
    assert first == second
    later = _export(tables, tmp_path / "c.qdpx", created="2030-01-01T00:00:00+00:00")
    guids = [re.findall(rb'guid="([^"]+)"', zipfile.ZipFile(io.BytesIO(b)).read("project.qde"))
             for b in (first, later.read_bytes())]  # fmt: skip
    assert guids[0] and guids[0] == guids[1]
    assert first != later.read_bytes()


def test_export_time_comes_from_provenance(tables, tmp_path) -> None:
    path = _export(tables, tmp_path / "p.qdpx", created=None, provenance={"created": WHEN})
    root, _ = _project(path)
    assert root.get("creationDateTime") == WHEN


def test_export_refuses_to_overwrite_without_force_and_wrong_suffix(tables, tmp_path) -> None:
    path = _export(tables, tmp_path / "coded.qdpx")
    before = path.read_bytes()
    with pytest.raises(OutputError, match="exists; pass force=True"):
        _export(tables, path)
    assert path.read_bytes() == before
    _export(tables, path, created="2031-01-01T00:00:00Z", force=True)
    assert path.read_bytes() != before
    with pytest.raises(OutputError, match=r"'\.qdpx' file"):
        _export(tables, tmp_path / "coded.zip")


def test_export_needs_texts_and_normalized_ones(tables, tmp_path) -> None:
    empty = {"codings": tables["codings"].iloc[:0]}
    with pytest.raises(InputError, match="no document has a text"):
        export_qdpx(empty, _codebook(), tmp_path / "e.qdpx", created=WHEN)
    crlf = {d: t.replace("\n", "\r\n") for d, t in TEXTS.items()}
    with pytest.raises(InputError, match="carriage return"):
        _export(tables, tmp_path / "r.qdpx", texts=crlf)
    assert list(tmp_path.iterdir()) == []


def test_export_skips_unknown_codes_and_bad_offsets_with_warnings(tables, tmp_path) -> None:
    extra = pd.DataFrame(
        [
            {"doc_id": "letters_en", "passage_id": "x", "start": 0, "end": 5, "code": "ghost",
             "source": "rule", "score": 1.0, "evidence": "", "coder": "trustcode"},
            {"doc_id": "letters_en", "passage_id": "y", "start": 5, "end": 9999, "code": "fear",
             "source": "rule", "score": 1.0, "evidence": "", "coder": "trustcode"},
        ]
    )  # fmt: skip
    tables["codings"] = pd.concat([tables["codings"], extra], ignore_index=True)
    with pytest.warns(TrustcodeWarning) as caught:
        root, _ = _project(_export(tables, tmp_path / "coded.qdpx"))
    text = " ".join(str(w.message) for w in caught)
    assert "ghost" in text and "y (5-9999)" in text
    assert len(list(root.iter(f"{{{NS}}}PlainTextSelection"))) == 8


# --- document texts -----------------------------------------------------------------------------


def test_document_texts_rereads_sources_and_falls_back_to_passages(tables, tmp_path) -> None:
    source = tmp_path / "letters_en.txt"
    source.write_text(TEXTS["letters_en"].replace("\n", "\r\n"), encoding="utf-8")
    documents = tables["documents"].copy()
    documents["source"] = [str(source), str(tmp_path / "gone.txt")]
    with pytest.warns(TrustcodeWarning, match=r"pisma_ru"):
        texts = document_texts({"documents": documents, "passages": tables["passages"]})
    assert texts["letters_en"] == TEXTS["letters_en"]  # re-read and normalized
    rebuilt = texts["pisma_ru"]
    # the passages cover all but the blank lines between them, which come back as "\n"
    assert rebuilt == TEXTS["pisma_ru"]
    for row in tables["passages"][tables["passages"].doc_id == "pisma_ru"].itertuples():
        assert rebuilt[row.start : row.end] == row.text


def test_document_texts_rejects_a_changed_source(tables, tmp_path) -> None:
    source = tmp_path / "letters_en.txt"
    source.write_text("A different text altogether.", encoding="utf-8")
    documents = tables["documents"].iloc[:1].copy()
    documents["source"] = [str(source)]
    passages = tables["passages"][tables["passages"].doc_id == "letters_en"]
    with pytest.warns(TrustcodeWarning, match="letters_en"):
        texts = document_texts({"documents": documents, "passages": passages})
    assert texts["letters_en"].startswith("Volunteers sent parcels")


def test_export_without_texts_uses_the_passages(tables, tmp_path) -> None:
    with pytest.warns(TrustcodeWarning, match="rebuilt from the passages"):
        path = export_qdpx(tables, _codebook(), tmp_path / "p.qdpx", created=WHEN)
    imported = import_qdpx(path)
    assert set(imported["passages"]["text"]) <= set(tables["passages"]["text"])


# --- import of our own export -------------------------------------------------------------------


def test_import_of_own_export_gives_back_spans_and_codes(tables, tmp_path) -> None:
    project = read_qdpx(_export(tables, tmp_path / "coded.qdpx"))
    got = project.tables
    assert list(got["documents"].columns) == list(DOCUMENT_COLUMNS)
    assert list(got["passages"].columns) == list(PASSAGE_COLUMNS)
    assert list(got["codings"].columns) == list(CODING_COLUMNS)
    assert project.texts == TEXTS
    assert got["documents"]["sha256"].tolist() == [sha256_text(t) for t in TEXTS.values()]
    assert set(got["codings"]["source"]) == {"human"}
    for row in got["passages"].itertuples():
        assert TEXTS[row.doc_id][row.start : row.end] == row.text
        assert re.fullmatch(rf"{row.doc_id}#sel-\d+", row.passage_id)

    def spans(frame: pd.DataFrame) -> set[tuple[str, int, int, str]]:
        return {(r.doc_id, r.start, r.end, r.code) for r in frame.itertuples()}

    assert spans(got["codings"]) == spans(tables["codings"])
    coders = set(got["codings"]["coder"])
    assert coders == {RULES_USER, CLASSIFIER_USER, "Maria", "Олег"}
    openness = got["codings"][
        (got["codings"].code == "openness") & (got["codings"].doc_id == "letters_en")
    ]
    assert sorted(openness.coder) == sorted([RULES_USER, CLASSIFIER_USER, "Maria"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TrustcodeWarning)  # a skeleton has no rules yet
        skeleton = parse_codebook(yaml.safe_dump(project.codebook, allow_unicode=True))
    assert skeleton.code_ids == ("strategy", "mutual_aid", "openness", "fear")
    assert skeleton.code("openness").parent == "strategy"


text_strategy = st.text(
    alphabet=st.sampled_from(list("ab cд\nё🙂é.") + ["😀", "\u0301"]), min_size=1, max_size=40
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=text_strategy, data=st.data())
def test_round_trip_property_spans_slice_back(tmp_path, text: str, data: st.DataObject) -> None:
    spans = data.draw(
        st.lists(
            st.tuples(st.integers(0, len(text) - 1), st.integers(1, len(text))).filter(
                lambda p: p[0] < p[1]
            ),
            min_size=1,
            max_size=4,
            unique=True,
        )
    )
    codings = pd.DataFrame(
        [{"doc_id": "d", "passage_id": f"d#{i}", "start": s, "end": e, "code": "fear",
          "source": "human", "score": None, "evidence": "", "coder": "Ann"}
         for i, (s, e) in enumerate(spans)]
    )  # fmt: skip
    documents = pd.DataFrame([{"doc_id": "d", "source": "", "title": "d"}])
    path = export_qdpx(
        {"documents": documents, "codings": codings},
        _codebook(),
        tmp_path / "prop.qdpx",
        texts={"d": text},
        created=WHEN,
        force=True,
    )
    project = read_qdpx(path)
    assert project.texts == {"d": text}
    got = {(r.start, r.end, r.text) for r in project.tables["passages"].itertuples()}
    assert got == {(s, e, text[s:e]) for s, e in spans}


# --- hand-made projects -------------------------------------------------------------------------

G = {name: f"0000000{i}-aaaa-4bbb-8ccc-00000000000{i}" for i, name in enumerate(
    ["maria", "oleg", "aid", "fear", "src", "sel1", "sel2", "sel3", "src2"], start=1)}  # fmt: skip

USERS = (  # Oleg's GUID in braces, as some programs write them
    f'<Users><User guid="{G["maria"]}" name="Maria"/>'
    f'<User guid="{{{G["oleg"]}}}" name="Oleg"/></Users>'
)
CODES = (
    f'<CodeBook><Codes><Code guid="{G["aid"]}" name="Взаимопомощь" isCodable="true" color="#abc">'
    f"<Description>Helping one another.</Description>"
    f'<Code guid="{G["fear"]}" name="Fear &amp; risk" isCodable="true"/></Code></Codes></CodeBook>'
)
STORED = "First line of the note.\r\nSecond line is about mutual aid here.\r\n\r\nThird: fear."


def _selection(key: str, start: int, end: int, code: str, user: str | None = "maria") -> str:
    owner = f' creatingUser="{G[user]}"' if user else ""
    return (
        f'<PlainTextSelection guid="{G[key]}" name="{key}" startPosition="{start}" '
        f'endPosition="{end}"{owner}><Coding guid="{G[key][:-2]}99"><CodeRef '
        f'targetGUID="{G[code]}"/></Coding></PlainTextSelection>'
    )


def _xml(sources: str, *, codes: str = CODES, prolog: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?>{prolog}<Project xmlns="{NS}" name="Hand made">'
        f"{USERS}{codes}<Sources>{sources}</Sources></Project>"
    ).encode()


def _span(stored: str, needle: str) -> tuple[int, int]:
    start = stored.index(needle)
    return start, start + len(needle)


def test_import_variations_sources_folder_other_qde_bom_crlf_no_dates(tmp_path) -> None:
    aid = _span(STORED, "mutual aid")
    fear = _span(STORED, "fear")
    source = (
        f'<TextSource guid="{G["src"]}" name="note.txt" plainTextPath="internal://{G["src"]}.txt">'
        + _selection("sel1", *aid, "aid")
        + _selection("sel2", *fear, "fear", user="oleg")
        + "</TextSource>"
    )
    path = write_zip(
        tmp_path / "hand.qdpx",
        {
            "My Study.qde": b"\xef\xbb\xbf" + _xml(source),
            f"Sources/{G['src']}.txt": b"\xef\xbb\xbf" + STORED.encode("utf-8"),
        },
    )
    project = read_qdpx(path)
    text = project.texts["note"]
    assert text == STORED.replace("\r\n", "\n")
    codings = project.tables["codings"].sort_values("start")
    assert codings["code"].tolist() == ["vzaimopomoshch", "fear_risk"]
    assert codings["coder"].tolist() == ["Maria", "Oleg"]
    assert [text[r.start : r.end] for r in codings.itertuples()] == ["mutual aid", "fear"]
    assert codings["start"].tolist() == [text.index("mutual aid"), text.index("fear")]
    assert project.tables["passages"]["passage_id"].tolist() == ["note#sel-0", "note#sel-1"]
    codes = {c["id"]: c for c in project.codebook["codes"]}
    assert codes["vzaimopomoshch"]["colour"] == "#aabbcc"
    assert codes["vzaimopomoshch"]["definition"] == "Helping one another."
    assert codes["fear_risk"]["parent"] == "vzaimopomoshch"


def test_import_inline_content_and_mid_paragraph_selections(tmp_path) -> None:
    inline = "Neighbours shared food. They also shared fear of the police.\n\nEnd."
    mid = _span(inline, "shared fear")
    overlap = _span(inline, "They also shared")
    source = (
        f'<TextSource guid="{G["src"]}" name="inline">'
        f"<PlainTextContent>{inline}</PlainTextContent>"
        + _selection("sel1", *mid, "fear")
        + _selection("sel2", *overlap, "aid", user=None)
        # a coding of the whole document, owned by whoever made the coding
        + f'<Coding guid="{G["sel3"]}" creatingUser="{G["oleg"]}">'
        + f'<CodeRef targetGUID="{G["aid"]}"/></Coding>'
        + "</TextSource>"
    )
    path = write_zip(tmp_path / "inline.qdpx", {"project.qde": _xml(source)})
    tables = import_qdpx(path)
    passages = tables["passages"]
    assert passages["text"].tolist() == [inline, "They also shared", "shared fear"]
    assert passages["passage_id"].tolist() == ["inline#sel-0", "inline#sel-1", "inline#sel-2"]
    coded = sorted(zip(tables["codings"]["passage_id"], tables["codings"]["code"],
                       tables["codings"]["coder"], strict=True))  # fmt: skip
    assert coded == [
        ("inline#sel-0", "vzaimopomoshch", "Oleg"),
        ("inline#sel-1", "vzaimopomoshch", "unnamed coder"),
        ("inline#sel-2", "fear_risk", "Maria"),
    ]


def test_import_warns_and_skips_bad_positions_and_unknown_codes(tmp_path) -> None:
    text = "Short text about fear."
    bad_code = (
        f'<PlainTextSelection guid="{G["sel3"]}" name="ghostly" startPosition="0" endPosition="5">'
        '<Coding guid="11111111-2222-4333-8444-555555555555"><CodeRef '
        'targetGUID="99999999-9999-4999-8999-999999999999"/></Coding></PlainTextSelection>'
    )
    source = (
        f'<TextSource guid="{G["src"]}" name="short"><PlainTextContent>{text}</PlainTextContent>'
        + _selection("sel1", 5, 500, "fear")
        + _selection("sel2", 10, 4, "fear")
        + bad_code
        + _selection("sel3", *_span(text, "fear"), "fear")
        + "</TextSource>"
    )
    path = write_zip(tmp_path / "bad.qdpx", {"project.qde": _xml(source)})
    with pytest.warns(TrustcodeWarning) as caught:
        tables = import_qdpx(path)
    messages = " ".join(str(w.message) for w in caught)
    assert "'sel1' (5-500: outside the text of 22)" in messages
    assert "'sel2' (10-4: reversed or empty)" in messages
    assert "99999999-9999-4999-8999-999999999999" in messages
    assert tables["codings"]["start"].tolist() == [text.index("fear")]


def test_import_skips_non_text_sources_with_a_warning(tmp_path) -> None:
    sources = (
        f'<PDFSource guid="{G["src2"]}" name="scan.pdf" path="relative://scan.pdf"/>'
        f'<TextSource guid="{G["src"]}" name="t"><PlainTextContent>Fear.</PlainTextContent>'
        + _selection("sel1", 0, 4, "fear")
        + "</TextSource>"
    )
    path = write_zip(tmp_path / "mixed.qdpx", {"project.qde": _xml(sources)})
    with pytest.warns(TrustcodeWarning, match="1 PDFSource"):
        tables = import_qdpx(path)
    assert tables["documents"]["doc_id"].tolist() == ["t"]


def test_import_without_sources_is_an_error(tmp_path) -> None:
    path = write_zip(tmp_path / "empty.qdpx", {"project.qde": _xml("")})
    with pytest.raises(InputError, match="no readable text sources"):
        import_qdpx(path)
    missing_file = (
        f'<TextSource guid="{G["src"]}" name="lost" plainTextPath="internal://lost.txt"/>'
    )
    path = write_zip(tmp_path / "lost.qdpx", {"project.qde": _xml(missing_file)})
    with pytest.raises(InputError, match="'internal://lost.txt' is not in the archive"):
        import_qdpx(path)


def test_import_rejects_files_that_are_not_projects(tmp_path) -> None:
    not_zip = tmp_path / "plain.qdpx"
    not_zip.write_text("just text", encoding="utf-8")
    with pytest.raises(InputError, match="a .qdpx file is a zip archive"):
        import_qdpx(not_zip)
    no_qde = write_zip(tmp_path / "noqde.qdpx", {"sources/a.txt": b"x"})
    with pytest.raises(InputError, match="no .qde project file"):
        import_qdpx(no_qde)
    broken = write_zip(tmp_path / "broken.qdpx", {"project.qde": b"<Project><Sources></Project>"})
    with pytest.raises(InputError, match=r"project\.qde:1:\d+: not well-formed XML"):
        import_qdpx(broken)


# --- security -----------------------------------------------------------------------------------


@pytest.mark.parametrize("evil", ["../outside.txt", "/etc/evil.txt", "sources/../../x.txt"])
def test_zip_slip_is_refused(tmp_path, evil: str) -> None:
    path = write_zip(tmp_path / "slip.qdpx", {"project.qde": _xml(""), evil: b"owned"})
    with pytest.raises(InputError, match="points outside the project"):
        import_qdpx(path)
    assert not (tmp_path.parent / "outside.txt").exists()


def test_zip_bomb_is_refused_before_unpacking(tmp_path) -> None:
    path = tmp_path / "bomb.qdpx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("project.qde", _xml(""))
        archive.writestr("sources/zeros.txt", bytes(50 * 2**20))
    assert path.stat().st_size < 1 * 2**20
    with pytest.raises(InputError, match="zip bomb"):
        import_qdpx(path)


def test_total_size_limit_is_refused(tmp_path) -> None:
    source = f'<TextSource guid="{G["src"]}" name="t"><PlainTextContent>x</PlainTextContent>'
    path = write_zip(tmp_path / "big.qdpx", {"project.qde": _xml(source + "</TextSource>")})
    with pytest.raises(InputError, match="more than 100 bytes"):
        read_qdpx(path, max_bytes=100)


def test_entity_expansion_is_refused(tmp_path) -> None:
    laughs = (
        '<!DOCTYPE Project [<!ENTITY a "haha"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>'
    )
    source = f'<TextSource guid="{G["src"]}" name="t"><PlainTextContent>&c;</PlainTextContent>'
    path = write_zip(
        tmp_path / "laughs.qdpx", {"project.qde": _xml(source + "</TextSource>", prolog=laughs)}
    )
    with pytest.raises(InputError, match="DTD or entities"):
        import_qdpx(path)


def test_external_entity_is_refused(tmp_path) -> None:
    external = '<!DOCTYPE Project [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
    source = f'<TextSource guid="{G["src"]}" name="t"><PlainTextContent>&secret;</PlainTextContent>'
    path = write_zip(
        tmp_path / "xxe.qdpx", {"project.qde": _xml(source + "</TextSource>", prolog=external)}
    )
    with pytest.raises(InputError, match="refusing this XML"):
        import_qdpx(path)


# --- codebooks ----------------------------------------------------------------------------------


def test_qdc_export_is_valid_and_round_trips(tmp_path, shared_dir) -> None:
    import xmlschema

    schema = xmlschema.XMLSchema(str(shared_dir / "refi-qda" / "Codebook-mrt2019.xsd"))
    codebook = _codebook()
    path = export_qdc(codebook, tmp_path / "cb.qdc")
    assert list(schema.iter_errors(path.read_text(encoding="utf-8"))) == []
    skeleton = import_qdc(path)
    got = [(c["id"], c["label"], c["colour"], c.get("parent")) for c in skeleton["codes"]]
    want = [(c.id, c.label, c.colour, c.parent) for c in codebook.codes]
    assert got == want
    aid = next(c for c in skeleton["codes"] if c["id"] == "mutual_aid")
    assert aid["definition"] == codebook.code("mutual_aid").definition
    assert aid["include"] == "Parcels, collections, legal help."
    assert aid["exclude"] == "State welfare."
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TrustcodeWarning)  # no rules, no examples
        loaded = parse_codebook(yaml.safe_dump(skeleton, allow_unicode=True))
    assert loaded.code_ids == codebook.code_ids


def test_import_qdc_from_another_program_slugifies_names(tmp_path) -> None:
    xml = (
        '<?xml version="1.0" encoding="utf-8"?><CodeBook xmlns="urn:QDA-XML:codebook:1.0">'
        '<Codes><Code guid="{A0000000-0000-4000-8000-000000000001}" name="Доверие" '
        'isCodable="true"><Code guid="A0000000-0000-4000-8000-000000000002" name="Trust!" '
        'isCodable="true" color="#0f0"/><Code guid="A0000000-0000-4000-8000-000000000003" '
        'name="trust" isCodable="true"/></Code>'
        '<Code guid="A0000000-0000-4000-8000-000000000004" name="2022 exodus" isCodable="true">'
        "<Description>People who left in 2022.\n\nMore notes.</Description></Code>"
        "</Codes></CodeBook>"
    )
    path = tmp_path / "other.qdc"
    path.write_text(xml, encoding="utf-8")
    codes = import_qdc(path)["codes"]
    assert [c["id"] for c in codes] == ["doverie", "trust", "trust_2", "c_2022_exodus"]
    assert [c.get("parent") for c in codes] == [None, "doverie", "doverie", None]
    assert codes[1]["colour"] == "#00ff00"
    assert codes[3]["definition"] == "People who left in 2022.\n\nMore notes."
    assert all(re.fullmatch(r"#[0-9a-f]{6}", c["colour"]) for c in codes)


def test_import_qdc_refuses_dtd_and_wrong_root(tmp_path) -> None:
    path = tmp_path / "evil.qdc"
    path.write_text(
        '<!DOCTYPE CodeBook [<!ENTITY x SYSTEM "file:///etc/hostname">]><CodeBook>&x;</CodeBook>',
        encoding="utf-8",
    )
    with pytest.raises(InputError, match="refusing this XML"):
        import_qdc(path)
    path.write_text("<Codes/>", encoding="utf-8")
    with pytest.raises(InputError, match="expected a REFI-QDA codebook"):
        import_qdc(path)


def test_write_codebook_yaml_validates_and_is_atomic(tmp_path) -> None:
    codebook = _codebook()
    skeleton = import_qdc(export_qdc(codebook, tmp_path / "cb.qdc"))
    target = tmp_path / "codebook.yaml"
    write_codebook_yaml(skeleton, target)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TrustcodeWarning)
        assert parse_codebook(target.read_text(encoding="utf-8")).code_ids == codebook.code_ids
    with pytest.raises(OutputError, match="exists"):
        write_codebook_yaml(skeleton, target)
    broken = {"name": "x", "codes": [{"id": "Bad Id", "label": "B"}]}
    with pytest.raises(CodebookError, match="nothing was written"):
        write_codebook_yaml(broken, tmp_path / "other.yaml")
    assert not (tmp_path / "other.yaml").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".trustcode-tmp")] == []
