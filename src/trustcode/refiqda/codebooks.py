"""Codebooks <-> REFI-QDA ``.qdc`` files, and the ``Code`` tree that projects share.

:func:`export_qdc` writes nested codes with colours and descriptions; a description ends with
a ``trustcode id: <id>`` line, which :func:`import_qdc` reads back so that ids survive the
round trip. :func:`import_qdc` also reads the code tree a project (``.qdpx``) carries, with the
archive checks of :mod:`.archive`, so a team that starts in a QDA program can bring its codes.

>>> from trustcode.codebook import load_codebook
>>> export_qdc(load_codebook(), "codebook.qdc")  # doctest: +SKIP
PosixPath('codebook.qdc')
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

from lxml import etree

from .. import __version__
from ..codebook import CODE_ID_PATTERN, PALETTE
from ..dictionaries import code_id_from_name, write_atomic
from ..errors import InputError, listing
from ..types import Code, Codebook
from .archive import MAX_TOTAL_BYTES, open_archive, parse_xml, project_root, read_file_bytes
from .common import (
    CODEBOOK_NS,
    PathLike,
    checked_target,
    children_named,
    first_child,
    local,
    make_guid,
    norm_guid,
    xml_bytes,
)

_ID_LINE = re.compile(r"^trustcode id:\s*(\S+)\s*$")


# --- codebook -> XML ----------------------------------------------------------------------------


def _description(code: Code) -> str:
    parts = [code.definition.strip()] if code.definition.strip() else []
    if code.include.strip():
        parts.append(f"Include: {code.include.strip()}")
    if code.exclude.strip():
        parts.append(f"Exclude: {code.exclude.strip()}")
    parts.append(f"trustcode id: {code.id}")
    return "\n\n".join(parts)


def add_codes(parent: Any, codebook: Codebook, ns: str, codable: set[str]) -> None:
    children: dict[str | None, list[Code]] = {}
    for code in codebook.codes:
        children.setdefault(code.parent, []).append(code)
    stack: list[tuple[Any, Code]] = [(parent, c) for c in reversed(children.get(None, []))]
    while stack:
        into, code = stack.pop()
        element = etree.SubElement(
            into,
            f"{{{ns}}}Code",
            guid=make_guid("code", code.id),
            name=code.label,
            isCodable="true" if code.id in codable else "false",
            color=code.colour,
        )
        etree.SubElement(element, f"{{{ns}}}Description").text = _description(code)
        stack.extend((element, c) for c in reversed(children.get(code.id, [])))


def export_qdc(codebook: Codebook, path: PathLike, *, force: bool = False) -> Path:
    """Write ``codebook`` as a REFI-QDA codebook (``.qdc``): nested codes with colours and
    descriptions. Leaf codes are codable; parents are not.

    >>> from trustcode.codebook import load_codebook
    >>> export_qdc(load_codebook(), "codebook.qdc")  # doctest: +SKIP
    PosixPath('codebook.qdc')
    """
    target = checked_target(path, ".qdc", force)
    root = etree.Element(
        f"{{{CODEBOOK_NS}}}CodeBook", nsmap={None: CODEBOOK_NS}, origin=f"trustcode {__version__}"
    )
    codes = etree.SubElement(root, f"{{{CODEBOOK_NS}}}Codes")
    add_codes(codes, codebook, CODEBOOK_NS, {c.id for c in codebook.leaf_codes})
    return write_atomic(target, xml_bytes(root), force=force)


# --- XML -> codebook skeleton -------------------------------------------------------------------


def _split_description(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    definition: list[str] = []
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip()):
        block = block.strip()
        match = _ID_LINE.match(block)
        if match:
            out["id"] = match.group(1)
        elif block.startswith("Include:"):
            out["include"] = block.removeprefix("Include:").strip()
        elif block.startswith("Exclude:"):
            out["exclude"] = block.removeprefix("Exclude:").strip()
        elif block:
            definition.append(block)
    if definition:
        out["definition"] = "\n\n".join(definition)
    return out


def _colour(value: str | None, index: int) -> str:
    value = (value or "").strip()
    if re.fullmatch(r"#[0-9a-fA-F]{6}", value):
        return value
    if re.fullmatch(r"#[0-9a-fA-F]{3}", value):
        return "#" + "".join(ch * 2 for ch in value[1:])
    return PALETTE[index % len(PALETTE)]


def _read_codes(codes: Element | None) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The ``Code`` tree under ``codes`` -> skeleton code dicts (pre-order) and GUID -> id."""
    out: list[dict[str, Any]] = []
    by_guid: dict[str, str] = {}
    if codes is None:
        return out, by_guid
    taken: set[str] = set()
    # iterative, so that a maliciously deep tree cannot exhaust the Python stack
    stack: list[tuple[Element, str | None]] = [
        (c, None) for c in reversed(children_named(codes, "Code"))
    ]
    while stack:
        element, parent = stack.pop()
        name = (element.get("name") or "").strip()
        described = _split_description(_child_text(element, "Description"))
        wanted = described.pop("id", "")
        if re.fullmatch(CODE_ID_PATTERN, wanted) and wanted not in taken:
            code_id = wanted
            taken.add(code_id)
        else:
            code_id = code_id_from_name(name or "code", taken)
        code: dict[str, Any] = {"id": code_id, "label": name or code_id}
        if parent:
            code["parent"] = parent
        code.update(described)
        code["colour"] = _colour(element.get("color"), len(out))
        out.append(code)
        guid = norm_guid(element.get("guid"))
        if guid:
            by_guid[guid] = code_id
        stack.extend((c, code_id) for c in reversed(children_named(element, "Code")))
    return out, by_guid


def _child_text(element: Element, name: str) -> str:
    found = first_child(element, name)
    return (found.text or "") if found is not None else ""


def codebook_tree(root: Element, file: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """A ``<CodeBook>`` or ``<Project>`` root -> a codebook skeleton and code GUID -> id.

    The skeleton's ``codes`` is empty when there are none (or a project has no ``<CodeBook>``):
    a project's codings can still be read then, a codebook import says why there is nothing.
    """
    project = local(root.tag) == "Project"
    book = first_child(root, "CodeBook") if project else root
    codes = None
    if book is not None:  # the schema wraps codes in <Codes>; take them straight in <CodeBook> too
        codes = first_child(book, "Codes")
        codes = book if codes is None else codes
    code_list, guids = _read_codes(codes)
    origin = (root.get("origin") or "").strip()
    description = f"Imported from the REFI-QDA {'project' if project else 'codebook'} " + (
        f"{file.name} (made by {origin})." if origin else f"{file.name}."
    )
    name = (root.get("name") or "").strip() or file.stem
    return {"name": name, "description": description, "codes": code_list}, guids


def _codes_elsewhere(root: Element) -> list[str]:
    """What a project without a ``<CodeBook>`` holds of codes: ``<Code>`` elements elsewhere
    (counted by where they stand) and references that name codes by GUID alone."""
    placed: dict[str, int] = {}
    references = {"CodeRef": 0, "MemberCode": 0}
    targets: set[str] = set()
    stack: list[tuple[Element, str]] = [(root, f"<{local(root.tag)}>")]
    while stack:  # iterative, as in _read_codes
        element, path = stack.pop()
        for child in element:
            kind = local(child.tag)
            if kind == "Code":
                nested = sum(1 for e in child.iter() if local(e.tag) == "Code")
                placed[path] = placed.get(path, 0) + nested
                continue
            if kind in references:
                references[kind] += 1
                targets.add(norm_guid(child.get("targetGUID")))
            stack.append((child, f"{path}/<{kind}>"))
    found = [f"{n} <Code> element(s) under {where}" for where, n in sorted(placed.items())]
    named = [
        f"{n} {what}"
        for n, what in ((references["CodeRef"], "coding(s)"),
                        (references["MemberCode"], "code set member(s)"))
        if n
    ]  # fmt: skip
    if named:
        found.append(
            " and ".join(named)
            + f" that name {len(targets - {''})} code(s) by GUID alone, without a name"
        )
    return found


def import_qdc(path: PathLike, *, max_bytes: int = MAX_TOTAL_BYTES) -> dict[str, Any]:
    """Read a REFI-QDA codebook (``.qdc``), or the code tree of a project (``.qdpx``), into a
    codebook skeleton dict.

    Codes keep their nesting (``parent``), names (``label``), colours and descriptions
    (``definition``, and ``include``/``exclude`` from paragraphs starting so). Ids are the
    ``trustcode id:`` line of a description when present, else made from the name (see
    :func:`~trustcode.dictionaries.code_id_from_name`). There are no rules: add them, then save
    with :func:`write_codebook_yaml`.

    A project is any zip archive (or a ``.qdpx`` file); it is checked as
    :func:`~trustcode.refiqda.read_qdpx` checks it (entries outside the archive folder, zip
    bombs, more than ``max_bytes`` unpacked), and no XML with a DTD or entities is read. A
    project without a ``<CodeBook>`` raises :class:`InputError` saying what codes it holds
    instead.

    >>> import_qdc("codebook.qdc")["codes"][0]["id"]  # doctest: +SKIP
    'strategy'
    >>> import_qdc("their-project.qdpx")["codes"][0]["label"]  # doctest: +SKIP
    'Trust'
    """
    file = Path(path)
    if file.suffix.lower() == ".qdpx" or zipfile.is_zipfile(file):
        with open_archive(file, max_bytes) as archive:
            root = project_root(archive, file)
    else:
        root = parse_xml(read_file_bytes(file, "codebook"), str(file))
        if local(root.tag) not in ("CodeBook", "Project"):
            raise InputError(
                f"{file}: expected a REFI-QDA codebook (root element <CodeBook>), found "
                f"<{local(root.tag)}>; export the codebook from its program as .qdc."
            )
    skeleton, _ = codebook_tree(root, file)
    if skeleton["codes"]:
        return skeleton
    if local(root.tag) == "CodeBook" or first_child(root, "CodeBook") is not None:
        raise InputError(f"{file}: the codebook holds no codes; export one that has codes.")
    found = _codes_elsewhere(root)
    raise InputError(
        f"{file}: the project has no <CodeBook>, so it carries no code tree to import; "
        + (f"found instead {listing(found)}. " if found else "it names no codes anywhere. ")
        + "Export the project again with its codes (REFI-QDA keeps them in "
        "<Project>/<CodeBook>/<Codes>), or export the codebook alone as a .qdc file."
    )
