"""Coded tables -> a REFI-QDA project (``.qdpx``) that QDA programs open.

One ``PlainTextSelection`` per coded span and user, GUIDs derived from stable keys and fixed
zip member times, so the same input and time give the same bytes.

>>> export_qdpx(tables, codebook, "coded.qdpx")  # doctest: +SKIP
PosixPath('coded.qdpx')
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from lxml import etree

from .. import __version__
from ..dictionaries import write_atomic
from ..errors import InputError, listing
from ..io.tables import is_missing
from ..types import Codebook
from .codebooks import add_codes
from .common import (
    CLASSIFIER_USER,
    EXPORT_USER,
    PROJECT_NS,
    RULES_USER,
    UNNAMED_CODER,
    PathLike,
    checked_target,
    int_or_none,
    make_guid,
    present,
    warn,
    xml_bytes,
)
from .texts import document_texts

_SOURCE_USERS = {
    "rule": (RULES_USER,),
    "classifier": (CLASSIFIER_USER,),
    "rule+classifier": (RULES_USER, CLASSIFIER_USER),
}
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed member times: the same project gives the same bytes


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
        pid = "" if is_missing(pid) else str(pid)
        where = pid or f"{doc_id}:{start}-{end}"
        text = texts.get(doc_id)
        s, e = int_or_none(start), int_or_none(end)
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
            users: tuple[str, ...] = (str(coder).strip() if present(coder) else UNNAMED_CODER,)
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
            warn("export_qdpx: " + messages[kind].format(listing(unique)) + ".")


def export_qdpx(
    tables: Mapping[str, pd.DataFrame],
    codebook: Codebook,
    path: PathLike,
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
    target = checked_target(path, ".qdpx", force)
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
            if present(t)
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
        warn(
            f"export_qdpx: no text for {len(without)} document(s) ({listing(without)}); "
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
    user_guid = {name: make_guid("user", name) for name in users}
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
    add_codes(etree.SubElement(codebook_el, f"{{{ns}}}Codes"), codebook, ns, codable)
    by_doc: dict[str, list[_Selection]] = {}
    for selection in selections.values():
        by_doc.setdefault(selection.doc_id, []).append(selection)
    sources = etree.SubElement(root, f"{{{ns}}}Sources")
    for doc_id in doc_order:
        guid = make_guid("source", doc_id)
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
                guid=make_guid("selection", *key),
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
                    guid=make_guid("coding", *key, code),
                    creatingUser=user_guid[sel.user],
                    creationDateTime=when,
                )
                etree.SubElement(coding, f"{{{ns}}}CodeRef", targetGUID=make_guid("code", code))
    note = f"Coded with trustcode {__version__}."
    if provenance:
        note += "\n" + "\n".join(
            f"{k}: {v}" for k, v in sorted(provenance.items()) if isinstance(v, str | int | float)
        )
    etree.SubElement(root, f"{{{ns}}}Description").text = note
    return xml_bytes(root)


def _zip_project(project: bytes, doc_order: list[str], texts: Mapping[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        members = [("project.qde", project)]
        members += [
            (f"sources/{make_guid('source', d)}.txt", texts[d].encode("utf-8")) for d in doc_order
        ]
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()
