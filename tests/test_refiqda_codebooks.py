"""A codebook from a REFI-QDA project (``.qdpx``): the code tree of projects trustcode writes and
of hand-made ones shaped like ATLAS.ti's, the same archive checks as ``trustcode import``, and a
clear error, naming what was found, for a project without a ``<CodeBook>``."""

from __future__ import annotations

import re
import warnings
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner, Result

from trustcode.cli import main
from trustcode.codebook import load_codebook
from trustcode.errors import InputError, TrustcodeWarning
from trustcode.refiqda import export_qdc, export_qdpx, import_qdc, read_qdpx

from .conftest import CODEBOOK, write_zip

NS = "urn:QDA-XML:project:1.0"
ORIGIN = "ATLAS.ti Win 23.2.1 (Build 1)"
#: ATLAS.ti names the project file after the project, spaces and a timestamp included.
QDE = "Trust study 2023-11-05 14.32.07.qde"


def _guid(n: int) -> str:
    return f"4D3C2B1A-0000-4000-8000-{n:012X}"


def _code(n: int, name: str, inner: str = "", *, color: str | None = None) -> str:
    colour = f' color="{color}"' if color else ""
    return f'<Code guid="{_guid(n)}" name="{name}" isCodable="true"{colour}>{inner}</Code>'


#: A nested code tree as ATLAS.ti 23 writes it: upper-case colours, a code without one, CRLF in a
#: description, names with timestamps, padding and a leading year, the same name twice.
ATLAS_CODES = (
    _code(1, "Trust building",
          "<Description>How trust is rebuilt.\r\n\r\nAcross the border.</Description>"
          + _code(2, "Mutual aid", _code(3, "Parcels 2023-11-05 14:32", color="#0A0B0C"),
                  color="#46AA00")
          + _code(4, " New code (2023-11-05 14:32:07) "),
          color="#FF0000")
    + _code(5, "2022 exodus", color="#00F")
    + _code(6, "Trust  building")
)  # fmt: skip
#: What ATLAS.ti writes beside its codes: code groups as sets, links, a note.
ATLAS_EXTRAS = (
    f'<Notes><Note guid="{_guid(20)}" name="memo 2023-11-05"/></Notes>'
    f'<Links><Link guid="{_guid(21)}" name="is associated with" direction="Associative" '
    f'originGUID="{_guid(2)}" targetGUID="{_guid(5)}"/></Links>'
    f'<Sets><Set guid="{_guid(22)}" name="code group 1"><MemberCode targetGUID="{_guid(2)}"/>'
    f'<MemberCode targetGUID="{_guid(5)}"/></Set></Sets>'
)


def _project_xml(body: str, *, origin: str = ORIGIN, prolog: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?>{prolog}<Project '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="urn:QDA-XML:project:1.0 Project.xsd" '
        f'name="Trust study (2023-11-05 14:32:07)" origin="{origin}" '
        f'creatingUserGUID="{_guid(30)}" creationDateTime="2023-11-05T14:32:07Z" xmlns="{NS}">'
        f'<Users><User guid="{_guid(30)}" name="Anna K"/></Users>{body}</Project>'
    ).encode()


def _atlas(path: Path, body: str | None = None) -> Path:
    if body is None:
        body = f"<CodeBook><Codes>{ATLAS_CODES}</Codes></CodeBook>{ATLAS_EXTRAS}"
    return write_zip(path, {QDE: _project_xml(body)})


def _invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".trustcode-tmp-"))


# --- projects trustcode writes ------------------------------------------------------------------


def _trustcode_project(path: Path) -> Path:
    """The shipped codebook and one coded document, exported as trustcode exports a run."""
    book = load_codebook(CODEBOOK)
    text = "Volunteers sent parcels to families who stayed."
    leaf = book.leaf_codes[0].id
    codings = pd.DataFrame(
        [{"doc_id": "d", "passage_id": "d#0", "start": 0, "end": len(text), "code": leaf,
          "source": "human", "score": float("nan"), "evidence": "", "coder": "Anna"}]
    )  # fmt: skip
    documents = pd.DataFrame([{"doc_id": "d", "source": "", "title": "d"}])
    return export_qdpx({"documents": documents, "codings": codings}, book, path,
                       texts={"d": text}, created="2025-03-04T05:06:07Z")  # fmt: skip


def _code_rows(skeleton: dict) -> list[tuple]:
    return [
        (c["id"], c["label"], c.get("parent"), c["colour"], c.get("definition"),
         c.get("include"), c.get("exclude"))
        for c in skeleton["codes"]
    ]  # fmt: skip


def test_a_trustcode_project_gives_back_its_codebook(tmp_path) -> None:
    book = load_codebook(CODEBOOK)
    project = _trustcode_project(tmp_path / "run.qdpx")
    skeleton = import_qdc(project)
    want = [
        (c.id, c.label, c.parent, c.colour, c.definition.strip() or None,
         c.include.strip() or None, c.exclude.strip() or None)
        for c in book.codes
    ]  # fmt: skip
    assert _code_rows(skeleton) == want
    # one code path: the same tree as the .qdc export, and as `trustcode import` reads it
    assert skeleton["codes"] == import_qdc(export_qdc(book, tmp_path / "cb.qdc"))["codes"]
    assert skeleton == read_qdpx(project).codebook
    assert skeleton["description"].startswith("Imported from the REFI-QDA project run.qdpx")


def test_a_trustcode_project_without_its_documents_still_gives_its_codes(tmp_path) -> None:
    project = _trustcode_project(tmp_path / "run.qdpx")
    with zipfile.ZipFile(project) as archive:
        qde = archive.read("project.qde").decode("utf-8")
    codes_only = write_zip(
        tmp_path / "codes only.qdpx",
        {"project.qde": re.sub(r"<Sources>.*</Sources>", "", qde, flags=re.DOTALL).encode()},
    )
    with zipfile.ZipFile(codes_only) as archive:
        assert b"<Sources>" not in archive.read("project.qde")
    assert import_qdc(codes_only)["codes"] == import_qdc(project)["codes"]
    with pytest.raises(InputError, match="no readable text sources") as caught:
        read_qdpx(codes_only)
    # the path quoted, so that the command runs as shown
    assert str(caught.value).endswith(
        f"run: trustcode codebook import '{codes_only}' -o codebook.yaml"
    )


# --- hand-made projects shaped like ATLAS.ti's --------------------------------------------------


def test_an_atlas_ti_project_with_codes_only_gives_its_nested_tree(tmp_path) -> None:
    skeleton = import_qdc(_atlas(tmp_path / "Trust study.qdpx"))
    assert skeleton["name"] == "Trust study (2023-11-05 14:32:07)"
    assert skeleton["description"] == (
        f"Imported from the REFI-QDA project Trust study.qdpx (made by {ORIGIN})."
    )
    codes = skeleton["codes"]
    assert [(c["id"], c["label"], c.get("parent")) for c in codes] == [
        ("trust_building", "Trust building", None),
        ("mutual_aid", "Mutual aid", "trust_building"),
        ("parcels_2023_11_05_14_32", "Parcels 2023-11-05 14:32", "mutual_aid"),
        ("new_code_2023_11_05_14_32_07", "New code (2023-11-05 14:32:07)", "trust_building"),
        ("c_2022_exodus", "2022 exodus", None),
        ("trust_building_2", "Trust  building", None),
    ]
    by_id = {c["id"]: c for c in codes}
    assert by_id["trust_building"]["definition"] == "How trust is rebuilt.\n\nAcross the border."
    coloured = ("trust_building", "mutual_aid", "parcels_2023_11_05_14_32", "c_2022_exodus")
    assert [by_id[i]["colour"] for i in coloured] == ["#FF0000", "#46AA00", "#0A0B0C", "#0000FF"]
    assert all(re.fullmatch(r"#[0-9a-fA-F]{6}", c["colour"]) for c in codes)


def test_codes_written_straight_into_the_codebook_are_read(tmp_path) -> None:
    # the schema wants <CodeBook><Codes>; take codes written without that wrapper as well
    bare = _atlas(tmp_path / "bare.qdpx", f"<CodeBook>{ATLAS_CODES}</CodeBook>")
    wrapped = _atlas(tmp_path / "wrapped.qdpx")
    assert import_qdc(bare)["codes"] == import_qdc(wrapped)["codes"]


def test_a_project_with_documents_gives_the_same_codes_as_one_without(tmp_path) -> None:
    source = (
        f'<Sources><TextSource guid="{_guid(40)}" name="Interview 1.txt" '
        f'plainTextPath="internal://{_guid(40)}.txt">'
        f'<PlainTextSelection guid="{_guid(41)}" startPosition="0" endPosition="5" '
        f'creatingUser="{_guid(30)}"><Coding guid="{_guid(42)}"><CodeRef targetGUID="{_guid(3)}"/>'
        "</Coding></PlainTextSelection></TextSource></Sources>"
    )
    body = f"<CodeBook><Codes>{ATLAS_CODES}</Codes></CodeBook>{source}{ATLAS_EXTRAS}"
    project = write_zip(
        tmp_path / "with-docs.qdpx",
        {QDE: _project_xml(body), f"sources/{_guid(40)}.txt": b"Parcels went out weekly."},
    )
    assert import_qdc(project)["codes"] == import_qdc(_atlas(tmp_path / "codes.qdpx"))["codes"]
    assert read_qdpx(project).tables["codings"]["code"].tolist() == ["parcels_2023_11_05_14_32"]


def test_origin_from_another_tool_and_none(tmp_path) -> None:
    body = f"<CodeBook><Codes>{_code(1, 'Доверие')}</Codes></CodeBook>"
    maxqda = write_zip(tmp_path / "m.qdpx", {"p.qde": _project_xml(body, origin="MAXQDA 2022")})
    assert import_qdc(maxqda)["description"].endswith("m.qdpx (made by MAXQDA 2022).")
    assert import_qdc(maxqda)["codes"][0]["id"] == "doverie"
    plain = write_zip(tmp_path / "p.qdpx", {"project.qde": _project_xml(body, origin="")})
    assert import_qdc(plain)["description"] == "Imported from the REFI-QDA project p.qdpx."


def test_cli_writes_a_codebook_that_loads(tmp_path) -> None:
    project = _atlas(tmp_path / "Trust study.qdpx")
    out = tmp_path / "codebook.yaml"
    result = _invoke("codebook", "import", str(project), "-o", str(out))
    assert result.exit_code == 0, result.output
    assert f"Wrote {out}" in result.stderr
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TrustcodeWarning)  # codes without rules or examples
        book = load_codebook(out)
    assert list(book.code_ids[:3]) == ["trust_building", "mutual_aid", "parcels_2023_11_05_14_32"]
    assert book.code("parcels_2023_11_05_14_32").parent == "mutual_aid"
    assert "(made by ATLAS.ti Win 23.2.1" in book.description


def test_cli_reads_an_unpacked_project_file(tmp_path) -> None:
    qde = tmp_path / QDE
    qde.write_bytes(_project_xml(f"<CodeBook><Codes>{ATLAS_CODES}</Codes></CodeBook>"))
    out = tmp_path / "codebook.yaml"
    result = _invoke("codebook", "import", str(qde), "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "label: Parcels 2023-11-05 14:32" in out.read_text(encoding="utf-8")


def test_cli_names_every_format_for_an_unknown_suffix(tmp_path) -> None:
    other = tmp_path / "codes.txt"
    other.write_text("trust\n", encoding="utf-8")
    result = _invoke("codebook", "import", str(other), "-o", str(tmp_path / "cb.yaml"))
    assert result.exit_code == 2
    assert "unknown dictionary format '.txt'" in result.stderr
    assert ".qdc" in result.stderr and ".qdpx" in result.stderr


# --- projects without a code tree ---------------------------------------------------------------


CODING = (
    f'<Sources><TextSource guid="{_guid(40)}" name="t"><PlainTextContent>Fear and aid.'
    f'</PlainTextContent><PlainTextSelection guid="{_guid(41)}" startPosition="0" endPosition="4">'
    f'<Coding guid="{_guid(42)}"><CodeRef targetGUID="{_guid(1)}"/></Coding>'
    f'<Coding guid="{_guid(43)}"><CodeRef targetGUID="{_guid(2)}"/></Coding>'
    f'</PlainTextSelection><Coding guid="{_guid(44)}"><CodeRef targetGUID="{_guid(1)}"/></Coding>'
    "</TextSource></Sources>"
)


@pytest.mark.parametrize(
    ("body", "found"),
    [
        ("", "the project has no <CodeBook>, so it carries no code tree to import; it names no "
             "codes anywhere."),
        (CODING, "found instead 3 coding(s) that name 2 code(s) by GUID alone, without a name."),
        (f"<Codes>{ATLAS_CODES}</Codes>{ATLAS_EXTRAS}",
         "found instead 6 <Code> element(s) under <Project>/<Codes>, 2 code set member(s) that "
         "name 2 code(s) by GUID alone, without a name."),
        (f"<Notes><Note guid='{_guid(9)}'>{_code(7, 'x')}</Note></Notes>{CODING}",
         "found instead 1 <Code> element(s) under <Project>/<Notes>/<Note>, 3 coding(s) that "
         "name 2 code(s)"),
    ],
    ids=["nothing", "codings-only", "codes-outside-codebook", "codes-in-a-note"],
)  # fmt: skip
def test_a_project_without_a_codebook_says_what_it_found(tmp_path, body: str, found: str) -> None:
    project = write_zip(tmp_path / "no-book.qdpx", {QDE: _project_xml(body)})
    with pytest.raises(InputError) as caught:
        import_qdc(project)
    message = str(caught.value)
    assert message.startswith(f"{project}: the project has no <CodeBook>")
    assert found in message
    assert "or export the codebook alone as a .qdc file" in message
    out = tmp_path / "codebook.yaml"
    result = _invoke("codebook", "import", str(project), "-o", str(out))
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"Error: {project}: the project has no <CodeBook>" in result.stderr
    assert not out.exists() and _leftovers(tmp_path) == []


def test_an_empty_codebook_in_a_project_is_an_error(tmp_path) -> None:
    empty = _project_xml("<CodeBook><Codes/></CodeBook>")
    project = write_zip(tmp_path / "empty.qdpx", {QDE: empty})
    with pytest.raises(InputError, match="the codebook holds no codes"):
        import_qdc(project)


# --- the archive checks of `trustcode import` ---------------------------------------------------


def _slip(path: Path) -> Path:
    return write_zip(path, {QDE: _project_xml(f"<CodeBook><Codes>{ATLAS_CODES}</Codes></CodeBook>"),
                       "../../outside.txt": b"owned"})  # fmt: skip


def _bomb(path: Path) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(QDE, _project_xml(f"<CodeBook><Codes>{ATLAS_CODES}</Codes></CodeBook>"))
        archive.writestr("sources/zeros.txt", bytes(50 * 2**20))
    return path


def _laughs(path: Path) -> Path:
    prolog = (
        '<!DOCTYPE Project [<!ENTITY a "haha"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>'
    )
    body = f"<CodeBook><Codes>{_code(1, '&c;')}</Codes></CodeBook>"
    return write_zip(path, {QDE: _project_xml(body, prolog=prolog)})


def _external(path: Path) -> Path:
    prolog = '<!DOCTYPE Project [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
    body = f"<CodeBook><Codes>{_code(1, '&secret;')}</Codes></CodeBook>"
    return write_zip(path, {QDE: _project_xml(body, prolog=prolog)})


def _not_a_zip(path: Path) -> Path:
    path.write_text("<Project/>", encoding="utf-8")
    return path


def _no_project_file(path: Path) -> Path:
    return write_zip(path, {"sources/a.txt": b"text"})


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (_slip, "points outside the project"),
        (_bomb, "the mark of a zip bomb"),
        (_laughs, "refusing this XML: it declares a DTD or entities"),
        (_external, "refusing this XML: it declares a DTD or entities"),
        (_not_a_zip, "a .qdpx file is a zip archive"),
        (_no_project_file, "the archive holds no .qde project file"),
    ],
    ids=["zip-slip", "zip-bomb", "entity-expansion", "external-entity", "not-a-zip", "no-qde"],
)
def test_unsafe_or_broken_projects_are_refused(tmp_path, build, message: str) -> None:
    project = build(tmp_path / "hostile.qdpx")
    with pytest.raises(InputError, match=re.escape(message)):
        import_qdc(project)
    out = tmp_path / "codebook.yaml"
    result = _invoke("codebook", "import", str(project), "-o", str(out))
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert message in result.stderr
    assert not out.exists() and _leftovers(tmp_path) == []
    assert not (tmp_path.parent.parent / "outside.txt").exists()


def test_the_size_limit_applies_and_a_renamed_project_is_still_checked(tmp_path) -> None:
    project = _atlas(tmp_path / "big.qdpx")
    with pytest.raises(InputError, match="unpacks to more than 100 bytes"):
        import_qdc(project, max_bytes=100)
    # a project saved under another suffix is still read as an archive, with its checks
    renamed = _slip(tmp_path / "renamed.qdc")
    with pytest.raises(InputError, match="points outside the project"):
        import_qdc(renamed)
