"""REFI-QDA interchange: coded tables <-> ``.qdpx`` projects, codebooks <-> ``.qdc`` files.

REFI-QDA (QDA-XML 1.0) is the exchange format of QDA programs (ATLAS.ti, MAXQDA, NVivo,
QualCoder, ...). :func:`export_qdpx` writes a run's codings as a project those programs open;
:func:`import_qdpx` reads a project coded by people into the codings table that ``train``,
``evaluate``, ``agree`` and ``compare`` read; :func:`export_qdc` / :func:`import_qdc` exchange
codebooks.

Export:

- users: ``trustcode rules`` and ``trustcode classifier`` (a ``rule+classifier`` coding is
  written for both), each human coder by the name in the ``coder`` column, and ``trustcode``
  who created the project and its sources;
- codes nested under their parents, with colours; a code's description holds its definition,
  ``Include:`` and ``Exclude:`` paragraphs and a last ``trustcode id: <id>`` line, which
  :func:`import_qdc` reads back so that ids survive the round trip;
- each document a UTF-8 text file (LF, no BOM) ``sources/<guid>.txt`` in the zip;
- one ``PlainTextSelection`` per coded span *and user*: QualCoder takes a coding's owner from its
  selection, and drops a code given twice to one selection, so rules, classifier and each coder
  get selections of their own. Positions count code points, the end is exclusive;
- GUIDs are UUID 5 of a fixed namespace and a stable key (document id, code id, span, user), so
  the same input gives the same GUIDs; with the same time the same bytes.

Import is lenient with what real projects contain (any ``.qde`` name, ``Sources/`` or
``sources/``, a BOM, CRLF line ends, missing dates, inline ``PlainTextContent``, selections that
do not follow paragraphs) and strict about safety: entries that leave the archive folder, zip
bombs, and XML with a DTD or entities are refused; nothing is extracted to disk.

**Positions and line ends on import.** Positions refer to the source text as stored, without a
leading BOM. trustcode normalizes the text (CRLF and lone CR become LF) and maps every position
onto the normalized text: a position moves back by the number of CRLF pairs that start before
it. The passages table's offsets refer to the normalized text, as everywhere in trustcode.
"""

from __future__ import annotations

import bisect
import io
import os
import re
import uuid
import warnings
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as safe_et
import pandas as pd
from defusedxml import DefusedXmlException
from lxml import etree

from . import __version__
from .codebook import CODE_ID_PATTERN, PALETTE
from .dictionaries import code_id_from_name, write_atomic, write_codebook_yaml
from .errors import InputError, OutputError, TrustcodeError, TrustcodeWarning
from .io.readers import detect_language, read_document
from .types import CODING_COLUMNS, DOCUMENT_COLUMNS, PASSAGE_COLUMNS, Code, Codebook, sha256_text

__all__ = [
    "CLASSIFIER_USER",
    "RULES_USER",
    "QdpxProject",
    "document_texts",
    "export_qdc",
    "export_qdpx",
    "import_qdc",
    "import_qdpx",
    "read_qdpx",
    "write_codebook_yaml",
]

PROJECT_NS = "urn:QDA-XML:project:1.0"
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
#: The namespace of every GUID trustcode writes (UUID 5 of a fixed name, so it never changes).
GUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "trustcode:refi-qda")
RULES_USER = "trustcode rules"
CLASSIFIER_USER = "trustcode classifier"
EXPORT_USER = "trustcode"
UNNAMED_CODER = "unnamed coder"

#: Import limits: total uncompressed size of the archive, and the compression ratio an entry
#: larger than RATIO_MIN_BYTES may have. Real projects are text and media, far below both.
MAX_TOTAL_BYTES = 500 * 2**20
MAX_RATIO = 100
RATIO_MIN_BYTES = 2**20

_SOURCE_USERS = {
    "rule": (RULES_USER,),
    "classifier": (CLASSIFIER_USER,),
    "rule+classifier": (RULES_USER, CLASSIFIER_USER),
}
_DOC_SUFFIXES = (".txt", ".text", ".md", ".docx", ".doc", ".rtf", ".pdf", ".html", ".htm", ".odt")
_ID_LINE = re.compile(r"^trustcode id:\s*(\S+)\s*$")
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed member times: the same project gives the same bytes
_LIST_LIMIT = 10
_PathLike = str | os.PathLike[str]


# --- small helpers ------------------------------------------------------------------------------


def _guid(kind: str, *key: object) -> str:
    name = "\x1f".join([kind, *(str(k) for k in key)])
    return str(uuid.uuid5(GUID_NAMESPACE, name)).upper()


def _timestamp(created: datetime | str | None, provenance: Mapping[str, Any] | None) -> str:
    value: Any = created if created is not None else (provenance or {}).get("created")
    if isinstance(value, str) and value.strip():
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise InputError(
                f"the creation time {value!r} is not an ISO date and time; write it like "
                "2024-05-01T12:00:00+00:00"
            ) from None
    if not isinstance(value, datetime):
        value = datetime.now(UTC)
    if value.tzinfo is None:  # a naive time is taken as UTC, the time trustcode writes
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _listing(items: list[str]) -> str:
    shown = ", ".join(items[:_LIST_LIMIT])
    return shown + (f" and {len(items) - _LIST_LIMIT} more" if len(items) > _LIST_LIMIT else "")


def _warn(message: str) -> None:
    warnings.warn(message, TrustcodeWarning, stacklevel=3)


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _children(element: Element, name: str) -> list[Element]:
    return [child for child in element if _local(child.tag) == name]


def _child(element: Element, name: str) -> Element | None:
    found = _children(element, name)
    return found[0] if found else None


def _norm_guid(value: str | None) -> str:
    return (value or "").strip().strip("{}").lower()


# --- codebook -> XML ----------------------------------------------------------------------------


def _description(code: Code) -> str:
    parts = [code.definition.strip()] if code.definition.strip() else []
    if code.include.strip():
        parts.append(f"Include: {code.include.strip()}")
    if code.exclude.strip():
        parts.append(f"Exclude: {code.exclude.strip()}")
    parts.append(f"trustcode id: {code.id}")
    return "\n\n".join(parts)


def _add_codes(parent: Any, codebook: Codebook, ns: str, codable: set[str]) -> None:
    children: dict[str | None, list[Code]] = {}
    for code in codebook.codes:
        children.setdefault(code.parent, []).append(code)
    stack: list[tuple[Any, Code]] = [(parent, c) for c in reversed(children.get(None, []))]
    while stack:
        into, code = stack.pop()
        element = etree.SubElement(
            into,
            f"{{{ns}}}Code",
            guid=_guid("code", code.id),
            name=code.label,
            isCodable="true" if code.id in codable else "false",
            color=code.colour,
        )
        etree.SubElement(element, f"{{{ns}}}Description").text = _description(code)
        stack.extend((element, c) for c in reversed(children.get(code.id, [])))


def _xml_bytes(root: Any) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def export_qdc(codebook: Codebook, path: _PathLike, *, force: bool = False) -> Path:
    """Write ``codebook`` as a REFI-QDA codebook (``.qdc``): nested codes with colours and
    descriptions. Leaf codes are codable; parents are not.

    >>> from trustcode.codebook import load_codebook
    >>> export_qdc(load_codebook(), "codebook.qdc")  # doctest: +SKIP
    PosixPath('codebook.qdc')
    """
    target = _checked_target(path, ".qdc", force)
    root = etree.Element(
        f"{{{CODEBOOK_NS}}}CodeBook", nsmap={None: CODEBOOK_NS}, origin=f"trustcode {__version__}"
    )
    codes = etree.SubElement(root, f"{{{CODEBOOK_NS}}}Codes")
    _add_codes(codes, codebook, CODEBOOK_NS, {c.id for c in codebook.leaf_codes})
    return write_atomic(target, _xml_bytes(root), force=force)


def _checked_target(path: _PathLike, suffix: str, force: bool) -> Path:
    target = Path(path)
    if target.suffix.lower() != suffix:
        raise OutputError(
            f"{target}: a REFI-QDA {'project' if suffix == '.qdpx' else 'codebook'} is a "
            f"'{suffix}' file; name it e.g. '{target.with_suffix(suffix).name}'."
        )
    if (target.exists() or target.is_symlink()) and not force:
        raise OutputError(
            f"{target} exists; pass --force to overwrite it (or choose another path)."
        )
    return target


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
        (c, None) for c in reversed(_children(codes, "Code"))
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
        guid = _norm_guid(element.get("guid"))
        if guid:
            by_guid[guid] = code_id
        stack.extend((c, code_id) for c in reversed(_children(element, "Code")))
    return out, by_guid


def _child_text(element: Element, name: str) -> str:
    found = _child(element, name)
    return (found.text or "") if found is not None else ""


def _parse_xml(data: bytes, where: str) -> Element:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return safe_et.fromstring(data, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise InputError(
            f"{where}: refusing this XML: it declares a DTD or entities "
            f"({type(exc).__name__}), which can expand to gigabytes or read files from this "
            "computer. REFI-QDA files need neither; export the file again from its program, or "
            "remove the <!DOCTYPE ...> block."
        ) from None
    except ParseError as exc:
        line, column = getattr(exc, "position", (0, 0))
        raise InputError(
            f"{where}:{line}:{column}: not well-formed XML ({exc}); export the file again "
            "from its program."
        ) from None


def _read_file_bytes(file: Path, what: str) -> bytes:
    try:
        size = file.stat().st_size
        if size > MAX_TOTAL_BYTES:
            raise InputError(
                f"{file}: {size} bytes is larger than a {what} can sensibly be "
                f"({MAX_TOTAL_BYTES} bytes); check that this is the right file."
            )
        return file.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{file}: no such file; check the path.") from None
    except IsADirectoryError:
        raise InputError(f"{file}: is a folder; pass the {what} file itself.") from None
    except OSError as exc:
        raise InputError(f"{file}: cannot read the {what} ({exc.strerror}).") from None


def import_qdc(path: _PathLike) -> dict[str, Any]:
    """Read a REFI-QDA codebook (``.qdc``) into a codebook skeleton dict.

    Codes keep their nesting (``parent``), names (``label``), colours and descriptions
    (``definition``, and ``include``/``exclude`` from paragraphs starting so). Ids are the
    ``trustcode id:`` line of a description when present, else made from the name (see
    :func:`~trustcode.dictionaries.code_id_from_name`). There are no rules: add them, then save
    with :func:`write_codebook_yaml`.

    >>> import_qdc("codebook.qdc")["codes"][0]["id"]  # doctest: +SKIP
    'strategy'
    """
    file = Path(path)
    root = _parse_xml(_read_file_bytes(file, "codebook"), str(file))
    if _local(root.tag) == "Project":  # a project holds a codebook too: take it
        root = _child(root, "CodeBook") or root
    if _local(root.tag) != "CodeBook":
        raise InputError(
            f"{file}: expected a REFI-QDA codebook (root element <CodeBook>), found "
            f"<{_local(root.tag)}>; export the codebook from its program as .qdc."
        )
    codes, _ = _read_codes(_child(root, "Codes"))
    if not codes:
        raise InputError(f"{file}: the codebook holds no codes; export one that has codes.")
    origin = (root.get("origin") or "").strip()
    description = f"Imported from the REFI-QDA codebook {file.name}" + (
        f" (made by {origin})." if origin else "."
    )
    return {"name": file.stem, "description": description, "codes": codes}


# --- document texts for export ------------------------------------------------------------------


def _int(value: Any) -> int | None:
    if _missing(value):
        return None
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return None


def _reread(row: Mapping[str, Any]) -> str | None:
    source = str(row.get("source") or "").strip()
    if not source:
        return None
    path = Path(source)
    if not path.exists() and "#" in source:  # a table row: "path#row"
        path = Path(source.rsplit("#", 1)[0])
    if not path.is_file():
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TrustcodeWarning)
            documents = read_document(path)
    except (TrustcodeError, OSError, ValueError):
        return None
    sha = str(row.get("sha256") or "").strip()
    for document in documents:
        if sha and document.sha256 == sha:
            return document.text
        if not sha and document.doc_id == str(row.get("doc_id")):
            return document.text
    return None


def _from_passages(passages: pd.DataFrame, n_chars: int | None) -> str:
    pieces: list[str] = []
    position = 0
    rows = sorted((int(r.start), int(r.end), str(r.text)) for r in passages.itertuples(index=False))
    for start, end, text in rows:
        if end <= position:
            continue
        if start > position:
            pieces.append("\n" * (start - position))
            pieces.append(text)
        else:
            pieces.append(text[position - start :])
        position = end
    if n_chars is not None and n_chars > position:
        pieces.append("\n" * (n_chars - position))
    return "".join(pieces)


def document_texts(tables: Mapping[str, pd.DataFrame]) -> dict[str, str]:
    """Each document's full text, for export: re-read from the documents table's ``source``.

    A document is re-read with :func:`trustcode.io.readers.read_document` and accepted when its
    text's SHA-256 matches the table's. When the source is missing, unreadable or changed, the
    text is rebuilt from the passages table instead: each passage at its offsets, the gaps
    between them filled with ``"\\n"`` (so the text between passages is lost, and offsets still
    fit); a :class:`TrustcodeWarning` names those documents.

    >>> docs = pd.DataFrame({"doc_id": ["d"], "source": [""], "n_chars": [9]})
    >>> parts = pd.DataFrame({"doc_id": ["d", "d"], "start": [0, 5], "end": [3, 9],
    ...                       "text": ["One", "Four"]})
    >>> import warnings
    >>> with warnings.catch_warnings():  # it warns that the text was rebuilt
    ...     warnings.simplefilter("ignore")
    ...     document_texts({"documents": docs, "passages": parts})
    {'d': 'One\\n\\nFour'}
    """
    documents = tables.get("documents")
    passages = tables.get("passages")
    rows: dict[str, dict[str, Any]] = {}
    if documents is not None:
        for record in documents.to_dict("records"):
            rows.setdefault(str(record["doc_id"]), record)
    if passages is not None and len(passages):
        for doc_id in passages["doc_id"].astype(str).unique():
            rows.setdefault(doc_id, {"doc_id": doc_id})
    out: dict[str, str] = {}
    rebuilt: list[str] = []
    for doc_id, row in rows.items():
        text = _reread(row)
        if text is None:
            if passages is None:
                continue
            own = passages[passages["doc_id"].astype(str) == doc_id]
            text = _from_passages(own, _int(row.get("n_chars")))
            rebuilt.append(doc_id)
        out[doc_id] = text
    if rebuilt:
        _warn(
            f"the source of {len(rebuilt)} document(s) could not be read again or has changed "
            f"({_listing(rebuilt)}); their texts are rebuilt from the passages, with line "
            "breaks in the gaps. Pass texts=... or keep the corpus where the run read it to "
            "export the full texts."
        )
    return out


# --- export_qdpx --------------------------------------------------------------------------------


@dataclass
class _Selection:
    doc_id: str
    start: int
    end: int
    user: str
    name: str
    codes: list[str] = field(default_factory=list)


def _column(frame: pd.DataFrame, name: str, default: Any = "") -> list[Any]:
    return frame[name].tolist() if name in frame.columns else [default] * len(frame)


def _selections(
    codings: pd.DataFrame,
    codebook: Codebook,
    texts: Mapping[str, str],
    passage_texts: Mapping[str, str],
) -> dict[tuple[str, int, int, str], _Selection]:
    missing = [c for c in ("doc_id", "start", "end", "code", "source") if c not in codings.columns]
    if missing:
        raise InputError(
            f"the codings table lacks the column(s) {', '.join(missing)}; pass the tables of a "
            "trustcode run (documents, passages, codings)."
        )
    known = set(codebook.code_ids)
    problems: dict[str, list[str]] = {"doc": [], "code": [], "span": [], "source": [], "stale": []}
    out: dict[tuple[str, int, int, str], _Selection] = {}
    rows = zip(
        codings["doc_id"].astype(str),
        codings["start"],
        codings["end"],
        codings["code"].astype(str),
        codings["source"].astype(str),
        _column(codings, "coder"),
        _column(codings, "passage_id"),
        strict=True,
    )
    for doc_id, start, end, code, source, coder, pid in rows:
        pid = "" if _missing(pid) else str(pid)
        where = pid or f"{doc_id}:{start}-{end}"
        text = texts.get(doc_id)
        s, e = _int(start), _int(end)
        if text is None:
            problems["doc"].append(doc_id)
            continue
        if s is None or e is None or not 0 <= s < e <= len(text):
            problems["span"].append(f"{where} ({start}-{end})")
            continue
        if code not in known:
            problems["code"].append(code)
            continue
        if pid in passage_texts and passage_texts[pid] != text[s:e]:
            problems["stale"].append(where)
            continue
        if source == "human":
            users: tuple[str, ...] = (str(coder).strip() if _present(coder) else UNNAMED_CODER,)
        elif source in _SOURCE_USERS:
            users = _SOURCE_USERS[source]
        else:
            problems["source"].append(source)
            continue
        for user in users:
            key = (doc_id, s, e, user)
            selection = out.setdefault(key, _Selection(doc_id, s, e, user, where))
            if code not in selection.codes:
                selection.codes.append(code)
    _warn_export_problems(problems)
    return out


def _missing(value: Any) -> bool:
    try:
        return value is None or bool(pd.isna(value))  # None, NaN, pd.NA, NaT
    except (TypeError, ValueError):  # a list or other non-scalar is a value
        return False


def _present(value: Any) -> bool:
    return not _missing(value) and bool(str(value).strip())


def _warn_export_problems(problems: dict[str, list[str]]) -> None:
    messages = {
        "doc": "codings of documents without a text were skipped ({}); pass their texts",
        "code": "codings with codes that are not in the codebook were skipped ({}); pass the "
        "codebook the run used",
        "span": "codings whose start/end do not fit their document's text were skipped ({})",
        "source": "codings with an unknown source were skipped ({}); expected one of rule, "
        "classifier, rule+classifier, human",
        "stale": "codings whose passage text differs from the document text at their offsets "
        "were skipped ({}); the document changed since the run: code it again",
    }
    for kind, items in problems.items():
        if items:
            unique = list(dict.fromkeys(items))
            _warn("export_qdpx: " + messages[kind].format(_listing(unique)) + ".")


def export_qdpx(
    tables: Mapping[str, pd.DataFrame],
    codebook: Codebook,
    path: _PathLike,
    *,
    texts: Mapping[str, str] | None = None,
    provenance: Mapping[str, Any] | None = None,
    created: datetime | str | None = None,
    force: bool = False,
) -> Path:
    """Write coded tables as a REFI-QDA project (``.qdpx``) that QDA programs open.

    ``texts`` maps doc_id -> the document's normalized text; documents missing from it come from
    :func:`document_texts`. The creation time is ``created``, else ``provenance["created"]``,
    else now. Codings that cannot be placed (unknown code or document, offsets outside the text,
    stale passages) are skipped with a :class:`TrustcodeWarning`. Written atomically.

    >>> export_qdpx(tables, codebook, "coded.qdpx", provenance=provenance)  # doctest: +SKIP
    PosixPath('coded.qdpx')
    """
    target = _checked_target(path, ".qdpx", force)
    when = _timestamp(created, provenance)
    codings = tables.get("codings")
    if codings is None:
        raise InputError("export_qdpx needs a codings table; pass the tables of a trustcode run.")
    documents = tables.get("documents")
    doc_order, all_texts = _export_texts(tables, texts)
    if not doc_order:
        raise InputError(
            "export_qdpx: no document has a text to export; pass tables with documents and "
            "passages, or texts={doc_id: text}."
        )
    passage_texts: dict[str, str] = {}
    passages = tables.get("passages")
    if passages is not None and {"passage_id", "text"} <= set(passages.columns):
        passage_texts = dict(
            zip(passages["passage_id"].astype(str), passages["text"].astype(str), strict=True)
        )
    selections = _selections(codings, codebook, all_texts, passage_texts)
    titles: dict[str, str] = {}
    if documents is not None and "title" in documents.columns:
        titles = {
            str(d): str(t)
            for d, t in zip(documents["doc_id"], documents["title"], strict=True)
            if _present(t)
        }
    project = _project_xml(codebook, doc_order, titles, selections, when, provenance)
    return write_atomic(target, _zip_project(project, doc_order, all_texts), force=force)


def _export_texts(
    tables: Mapping[str, pd.DataFrame], texts: Mapping[str, str] | None
) -> tuple[list[str], dict[str, str]]:
    """Documents to export in table order, and their texts: given ones first, then re-read."""
    found = dict(texts or {})
    rest = {
        name: frame[~frame["doc_id"].astype(str).isin(found)]
        for name, frame in tables.items()
        if name in ("documents", "passages") and "doc_id" in frame.columns
    }
    if any(len(frame) for frame in rest.values()):
        for doc_id, text in document_texts(rest).items():
            found.setdefault(doc_id, text)
    for doc_id, text in found.items():
        if "\r" in text or text.startswith("\ufeff"):
            raise InputError(
                f"the text of document {doc_id!r} holds a carriage return or BOM; pass the "
                "normalized text (trustcode.io.readers.normalize_newlines) that offsets refer to."
            )
    documents = tables.get("documents")
    order = [str(d) for d in documents["doc_id"]] if documents is not None else []
    without = [d for d in order if d not in found]
    if without:
        _warn(
            f"export_qdpx: no text for {len(without)} document(s) ({_listing(without)}); "
            "they are left out. Pass their texts or the passages table."
        )
    order = [d for d in order if d in found]
    order += [d for d in found if d not in order]
    return order, found


def _project_xml(
    codebook: Codebook,
    doc_order: list[str],
    titles: Mapping[str, str],
    selections: Mapping[tuple[str, int, int, str], _Selection],
    when: str,
    provenance: Mapping[str, Any] | None,
) -> bytes:
    ns = PROJECT_NS
    users = [EXPORT_USER, RULES_USER, CLASSIFIER_USER]
    users += sorted({s.user for s in selections.values()} - set(users))
    user_guid = {name: _guid("user", name) for name in users}
    root = etree.Element(
        f"{{{ns}}}Project",
        nsmap={None: ns},
        name=codebook.name or "trustcode export",
        origin=f"trustcode {__version__}",
        creatingUserGUID=user_guid[EXPORT_USER],
        creationDateTime=when,
    )
    users_el = etree.SubElement(root, f"{{{ns}}}Users")
    for name in users:
        etree.SubElement(users_el, f"{{{ns}}}User", guid=user_guid[name], name=name)
    codebook_el = etree.SubElement(root, f"{{{ns}}}CodeBook")
    codable = {c.id for c in codebook.leaf_codes} | {
        c for s in selections.values() for c in s.codes
    }
    _add_codes(etree.SubElement(codebook_el, f"{{{ns}}}Codes"), codebook, ns, codable)
    by_doc: dict[str, list[_Selection]] = {}
    for selection in selections.values():
        by_doc.setdefault(selection.doc_id, []).append(selection)
    sources = etree.SubElement(root, f"{{{ns}}}Sources")
    for doc_id in doc_order:
        guid = _guid("source", doc_id)
        source = etree.SubElement(
            sources,
            f"{{{ns}}}TextSource",
            guid=guid,
            name=doc_id,
            plainTextPath=f"internal://{guid}.txt",
            creatingUser=user_guid[EXPORT_USER],
            creationDateTime=when,
        )
        if titles.get(doc_id, doc_id) != doc_id:
            etree.SubElement(source, f"{{{ns}}}Description").text = titles[doc_id]
        order = sorted(by_doc.get(doc_id, []), key=lambda s: (s.start, s.end, users.index(s.user)))
        for sel in order:
            key = (doc_id, sel.start, sel.end, sel.user)
            element = etree.SubElement(
                source,
                f"{{{ns}}}PlainTextSelection",
                guid=_guid("selection", *key),
                name=sel.name,
                startPosition=str(sel.start),
                endPosition=str(sel.end),
                creatingUser=user_guid[sel.user],
                creationDateTime=when,
            )
            for code in sel.codes:
                coding = etree.SubElement(
                    element,
                    f"{{{ns}}}Coding",
                    guid=_guid("coding", *key, code),
                    creatingUser=user_guid[sel.user],
                    creationDateTime=when,
                )
                etree.SubElement(coding, f"{{{ns}}}CodeRef", targetGUID=_guid("code", code))
    note = f"Coded with trustcode {__version__}."
    if provenance:
        note += "\n" + "\n".join(
            f"{k}: {v}" for k, v in sorted(provenance.items()) if isinstance(v, str | int | float)
        )
    etree.SubElement(root, f"{{{ns}}}Description").text = note
    return _xml_bytes(root)


def _zip_project(project: bytes, doc_order: list[str], texts: Mapping[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        members = [("project.qde", project)]
        members += [
            (f"sources/{_guid('source', d)}.txt", texts[d].encode("utf-8")) for d in doc_order
        ]
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


# --- reading a .qdpx safely ---------------------------------------------------------------------


def _open_archive(file: Path, max_bytes: int) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(file)
    except FileNotFoundError:
        raise InputError(f"{file}: no such file; check the path.") from None
    except IsADirectoryError:
        raise InputError(f"{file}: is a folder; pass the .qdpx project file.") from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(
            f"{file}: not a REFI-QDA project ({exc}); a .qdpx file is a zip archive, export the "
            "project again from its program."
        ) from None
    try:
        _check_archive(archive, file, max_bytes)
    except InputError:
        archive.close()
        raise
    return archive


def _check_archive(archive: zipfile.ZipFile, file: Path, max_bytes: int) -> None:
    total = 0
    for info in archive.infolist():
        name = info.filename
        parts = re.split(r"[\\/]", name)
        if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or ".." in parts:
            raise InputError(
                f"{file}: refusing the archive: its entry {name!r} points outside the project "
                "(an absolute path or '..'), the trick of 'zip slip' attacks. Ask the sender to "
                "export the project again."
            )
        if info.file_size > RATIO_MIN_BYTES and info.file_size > MAX_RATIO * max(
            info.compress_size, 1
        ):
            raise InputError(
                f"{file}: refusing the archive: its entry {name!r} unpacks {info.compress_size} "
                f"bytes into {info.file_size} (more than {MAX_RATIO}:1), the mark of a zip bomb."
            )
        total += info.file_size
        if total > max_bytes:
            raise InputError(
                f"{file}: refusing the archive: it unpacks to more than {max_bytes} bytes. If "
                "the project really is that large, pass a larger max_bytes."
            )


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, file: Path) -> bytes:
    try:
        with archive.open(info) as handle:
            data = handle.read(info.file_size + 1)
    except (zipfile.BadZipFile, RuntimeError, OSError, EOFError, ValueError) as exc:
        raise InputError(
            f"{file}: cannot read {info.filename!r} from the archive ({exc})."
        ) from None
    if len(data) > info.file_size:  # the header understated the size: do not trust the rest
        raise InputError(
            f"{file}: refusing the archive: {info.filename!r} holds more than its header says."
        )
    return data


def _project_member(archive: zipfile.ZipFile, file: Path) -> zipfile.ZipInfo:
    candidates = [
        i for i in archive.infolist() if not i.is_dir() and i.filename.lower().endswith(".qde")
    ]
    preferred = [i for i in candidates if i.filename.lower() == "project.qde"]
    if preferred:
        return preferred[0]
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise InputError(
            f"{file}: the archive holds no .qde project file; is it a REFI-QDA project (.qdpx)?"
        )
    raise InputError(
        f"{file}: the archive holds several .qde files "
        f"({_listing([i.filename for i in candidates])}) and none is project.qde; keep one."
    )


# --- read_qdpx ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class QdpxProject:
    """What :func:`read_qdpx` reads: the tables, each document's normalized text, the codebook.

    ``tables`` holds ``documents``, ``passages`` (the coded spans) and ``codings`` (source
    ``human``, coder = the name of the selection's creating user). ``codebook`` is a skeleton
    dict as :func:`import_qdc` returns.
    """

    tables: dict[str, pd.DataFrame]
    texts: dict[str, str]
    codebook: dict[str, Any]


@dataclass
class _Reading:
    """Problems collected while reading a project, reported once at the end."""

    file: Path
    members: dict[str, zipfile.ZipInfo]
    archive: zipfile.ZipFile
    skipped_sources: list[str] = field(default_factory=list)
    bad_selections: list[str] = field(default_factory=list)
    unknown_codes: dict[str, int] = field(default_factory=dict)
    other_kinds: dict[str, int] = field(default_factory=dict)


def _doc_id(name: str, taken: set[str]) -> str:
    stem = name.strip()
    for suffix in _DOC_SUFFIXES:
        if stem.lower().endswith(suffix) and len(stem) > len(suffix):
            stem = stem[: -len(suffix)]
            break
    stem = stem or "document"
    candidate, n = stem, 1
    while candidate in taken:
        n += 1
        candidate = f"{stem}-{n}"
    taken.add(candidate)
    return candidate


def _source_text(element: Element, label: str, reading: _Reading) -> str | None:
    inline = _child(element, "PlainTextContent")
    if inline is not None:
        return inline.text or ""
    path = (element.get("plainTextPath") or "").strip()
    if not path:
        reading.skipped_sources.append(f"{label} (no plain text: neither a file nor content)")
        return None
    if not path.lower().startswith("internal://"):
        reading.skipped_sources.append(
            f"{label} (its text {path!r} is outside the project; export it with the texts embedded)"
        )
        return None
    inner = path[len("internal://") :].replace("\\", "/").lstrip("/").lower()
    info = reading.members.get(f"sources/{inner}") or reading.members.get(inner)
    if info is None:
        matches = [i for n, i in reading.members.items() if n.endswith("/" + inner)]
        info = matches[0] if len(matches) == 1 else None
    if info is None:
        reading.skipped_sources.append(f"{label} (its file {path!r} is not in the archive)")
        return None
    data = _read_member(reading.archive, info, reading.file)
    try:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            return data.decode("utf-16")
        return data.decode("utf-8")
    except UnicodeDecodeError:
        reading.skipped_sources.append(f"{label} (its file {info.filename!r} is not UTF-8)")
        return None


def _normalizer(stored: str) -> tuple[str, Any]:
    """The normalized text and a function mapping stored positions onto it."""
    crlf = [m.start() for m in re.finditer("\r\n", stored)]
    normalized = stored.replace("\r\n", "\n").replace("\r", "\n")

    def position(stored_position: int) -> int:
        return stored_position - bisect.bisect_left(crlf, stored_position)

    return normalized, position


def _coded_spans(
    element: Element,
    label: str,
    stored: str,
    users: Mapping[str, str],
    codes: Mapping[str, str],
    reading: _Reading,
) -> list[tuple[int, int, str, str, str]]:
    """(stored start, stored end, code, coder, selection) for each coding of this source."""
    out: list[tuple[int, int, str, str, str]] = []

    def coder_of(owners: list[str | None]) -> str:
        for owner in owners:
            if _norm_guid(owner):
                return users.get(_norm_guid(owner), _norm_guid(owner))
        return UNNAMED_CODER

    def add_codings(selection: Element, start: int, end: int) -> None:
        whole = selection is element
        named = selection.get("guid") or selection.get("name") or "(no guid)"
        what = "the whole source" if whole else f"selection {named}"
        codings = _children(selection, "Coding")
        # a selection's owner codes all its codings (as QualCoder reads them); a coding of the
        # whole source belongs to whoever made that coding, not to whoever added the source
        shared = coder_of(
            [selection.get("creatingUser")] + [c.get("creatingUser") for c in codings]
        )
        for coding in codings:
            coder = coder_of([coding.get("creatingUser")]) if whole else shared
            ref = _child(coding, "CodeRef")
            target = _norm_guid(ref.get("targetGUID") if ref is not None else "")
            if target in codes:
                out.append((start, end, codes[target], coder, what))
            else:
                reading.unknown_codes[target or "(none)"] = (
                    reading.unknown_codes.get(target or "(none)", 0) + 1
                )

    for selection in _children(element, "PlainTextSelection"):
        name = selection.get("name") or selection.get("guid") or "(unnamed)"
        where = f"{label}: selection {name!r}"
        start, end = _int(selection.get("startPosition")), _int(selection.get("endPosition"))
        if start is None or end is None:
            reading.bad_selections.append(f"{where} (positions are not whole numbers)")
        elif not 0 <= start < end <= len(stored):
            reading.bad_selections.append(
                f"{where} ({start}-{end}: "
                + ("reversed or empty" if start >= end else f"outside the text of {len(stored)}")
                + ")"
            )
        else:
            add_codings(selection, start, end)
    if _children(element, "Coding") and stored:  # codes given to the whole document
        add_codings(element, 0, len(stored))
    return out


def _read_source(
    element: Element,
    taken: set[str],
    file: Path,
    users: Mapping[str, str],
    codes: Mapping[str, str],
    reading: _Reading,
) -> tuple[dict[str, Any], str, list[dict[str, Any]], list[dict[str, Any]]] | None:
    name = (element.get("name") or "").strip() or _norm_guid(element.get("guid")) or "document"
    label = f"source {name!r}"
    stored = _source_text(element, label, reading)
    if stored is None:
        return None
    stored = stored.removeprefix("\ufeff")
    text, position = _normalizer(stored)
    doc_id = _doc_id(name, taken)
    spans: dict[tuple[int, int], dict[tuple[str, str], str]] = {}
    for s, e, code, coder, what in _coded_spans(element, label, stored, users, codes, reading):
        start, end = position(s), position(e)
        if start < end:  # a selection of a lone "\r" of a CRLF is empty once normalized
            spans.setdefault((start, end), {}).setdefault((code, coder), what)
    passages: list[dict[str, Any]] = []
    codings: list[dict[str, Any]] = []
    for index, ((start, end), coded) in enumerate(sorted(spans.items())):
        pid = f"{doc_id}#sel-{index}"
        passages.append(
            {"doc_id": doc_id, "passage_id": pid, "index": index, "start": start, "end": end,
             "text": text[start:end]}
        )  # fmt: skip
        for (code, coder), what in coded.items():
            codings.append(
                {"doc_id": doc_id, "passage_id": pid, "start": start, "end": end, "code": code,
                 "source": "human", "score": float("nan"), "evidence": f"REFI-QDA {label}, {what}",
                 "coder": coder}
            )  # fmt: skip
    document = {
        "doc_id": doc_id,
        "source": f"{file}#{name}",
        "title": name,
        "language": detect_language(text) or "",
        "n_chars": len(text),
        "sha256": sha256_text(text),
    }
    return document, text, passages, codings


def _frame(rows: list[dict[str, Any]], columns: tuple[str, ...], ints: Iterable[str]) -> Any:
    frame = pd.DataFrame(rows, columns=list(columns))
    for column in columns:
        if column in ints:
            frame[column] = frame[column].astype("int64")
        elif column == "score":
            frame[column] = frame[column].astype("float64")
        else:
            frame[column] = frame[column].astype(str)
    return frame


def read_qdpx(path: _PathLike, *, max_bytes: int = MAX_TOTAL_BYTES) -> QdpxProject:
    """Read a REFI-QDA project: its text sources, codebook and coded selections.

    Each coded selection becomes a passage ``{doc_id}#sel-<n>`` (the span as coded, numbered
    by position); mapping spans onto paragraphs is left to the agreement and gold readers. A
    document's id is its source name without a file suffix. Positions refer to the stored text
    without BOM and are mapped onto the LF-normalized text (see the module docstring).

    Refused with :class:`InputError`: an archive with entries outside its folder, one that
    unpacks past ``max_bytes`` or with an entry compressed more than 100:1 (past 1 MiB), XML
    with a DTD or entities, a project without readable text sources. Warned about and skipped:
    selections with positions out of range or reversed, codings of unknown codes, sources
    whose text is missing or not inside the archive, non-text sources.

    >>> read_qdpx("coded-by-anna.qdpx").tables["codings"].coder.unique()  # doctest: +SKIP
    array(['Anna'], dtype=object)
    """
    file = Path(path)
    archive = _open_archive(file, max_bytes)
    with archive:
        members = {i.filename.replace("\\", "/").lower(): i for i in archive.infolist()}
        reading = _Reading(file, members, archive)
        qde = _project_member(archive, file)
        root = _parse_xml(_read_member(archive, qde, file), f"{file}:{qde.filename}")
        if _local(root.tag) != "Project":
            raise InputError(
                f"{file}:{qde.filename}: expected a REFI-QDA project (root element <Project>), "
                f"found <{_local(root.tag)}>."
            )
        users = {
            _norm_guid(u.get("guid")): (u.get("name") or u.get("id") or u.get("guid") or "")
            for users_el in _children(root, "Users")
            for u in _children(users_el, "User")
        }
        codebook_el = _child(root, "CodeBook")
        code_list, code_guids = _read_codes(
            _child(codebook_el, "Codes") if codebook_el is not None else None
        )
        tables, texts = _read_sources(root, file, users, code_guids, reading)
    _warn_import_problems(reading, file)
    codebook = {
        "name": root.get("name") or file.stem,
        "description": f"Imported from the REFI-QDA project {file.name}.",
        "codes": code_list,
    }
    return QdpxProject(tables=tables, texts=texts, codebook=codebook)


def _read_sources(
    root: Element,
    file: Path,
    users: Mapping[str, str],
    codes: Mapping[str, str],
    reading: _Reading,
) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    documents: list[dict[str, Any]] = []
    passages: list[dict[str, Any]] = []
    codings: list[dict[str, Any]] = []
    texts: dict[str, str] = {}
    taken: set[str] = set()
    for sources in _children(root, "Sources"):
        for element in sources:
            kind = _local(element.tag)
            if kind != "TextSource":
                reading.other_kinds[kind] = reading.other_kinds.get(kind, 0) + 1
                continue
            read = _read_source(element, taken, file, users, codes, reading)
            if read is None:
                continue
            document, text, doc_passages, doc_codings = read
            documents.append(document)
            texts[document["doc_id"]] = text
            passages.extend(doc_passages)
            codings.extend(doc_codings)
    if not documents:
        skipped = (
            f" Skipped: {_listing(reading.skipped_sources)}." if reading.skipped_sources else ""
        )
        raise InputError(
            f"{file}: the project has no readable text sources, so there is nothing to import."
            f"{skipped} Export the project with its documents from the QDA program."
        )
    tables = {
        "documents": _frame(documents, DOCUMENT_COLUMNS, ("n_chars",)),
        "passages": _frame(passages, PASSAGE_COLUMNS, ("index", "start", "end")),
        "codings": _frame(codings, CODING_COLUMNS, ("start", "end")),
    }
    return tables, texts


def _warn_import_problems(reading: _Reading, file: Path) -> None:
    if reading.skipped_sources:
        _warn(f"{file}: sources skipped: {_listing(reading.skipped_sources)}.")
    if reading.other_kinds:
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(reading.other_kinds.items()))
        _warn(f"{file}: trustcode reads text sources only; skipped {kinds}.")
    if reading.bad_selections:
        _warn(
            f"{file}: selections with positions that do not fit their text were skipped: "
            f"{_listing(reading.bad_selections)}."
        )
    if reading.unknown_codes:
        listed = [f"{g} ({n}x)" for g, n in reading.unknown_codes.items()]
        _warn(
            f"{file}: codings that reference codes missing from the project's codebook were "
            f"skipped: {_listing(listed)}."
        )


def import_qdpx(path: _PathLike) -> dict[str, pd.DataFrame]:
    """Read a REFI-QDA project's human codings as trustcode tables.

    Returns ``documents``, ``passages`` (the coded spans, ``{doc_id}#sel-<n>``) and ``codings``
    (``source`` ``human``, ``coder`` the selection's creating user). See :func:`read_qdpx` for
    the rules, the texts and the codebook.

    >>> sorted(import_qdpx("coded-by-anna.qdpx"))  # doctest: +SKIP
    ['codings', 'documents', 'passages']
    """
    return read_qdpx(path).tables
