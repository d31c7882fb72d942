"""A REFI-QDA project (``.qdpx``) coded by people -> trustcode tables with human codings.

Lenient with what real projects contain, and mapping positions onto the LF-normalized text
(see :mod:`trustcode.refiqda`).

>>> import_qdpx("coded-by-anna.qdpx")["codings"].coder.unique()  # doctest: +SKIP
array(['Anna'], dtype=object)
"""

from __future__ import annotations

import bisect
import re
import shlex
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

import pandas as pd

from ..errors import InputError, listing
from ..io.readers import detect_language
from ..types import CODING_COLUMNS, DOCUMENT_COLUMNS, PASSAGE_COLUMNS, sha256_text
from .archive import MAX_TOTAL_BYTES, open_archive, project_root, read_member
from .codebooks import codebook_tree
from .common import (
    UNNAMED_CODER,
    PathLike,
    children_named,
    first_child,
    int_or_none,
    local,
    norm_guid,
    warn,
)

_DOC_SUFFIXES = (".txt", ".text", ".md", ".docx", ".doc", ".rtf", ".pdf", ".html", ".htm", ".odt")


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
    inline = first_child(element, "PlainTextContent")
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
    data = read_member(reading.archive, info, reading.file)
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
            if norm_guid(owner):
                return users.get(norm_guid(owner), norm_guid(owner))
        return UNNAMED_CODER

    def add_codings(selection: Element, start: int, end: int) -> None:
        whole = selection is element
        named = selection.get("guid") or selection.get("name") or "(no guid)"
        what = "the whole source" if whole else f"selection {named}"
        codings = children_named(selection, "Coding")
        # a selection's owner codes all its codings (as QualCoder reads them); a coding of the
        # whole source belongs to whoever made that coding, not to whoever added the source
        shared = coder_of(
            [selection.get("creatingUser")] + [c.get("creatingUser") for c in codings]
        )
        for coding in codings:
            coder = coder_of([coding.get("creatingUser")]) if whole else shared
            ref = first_child(coding, "CodeRef")
            target = norm_guid(ref.get("targetGUID") if ref is not None else "")
            if target in codes:
                out.append((start, end, codes[target], coder, what))
            else:
                reading.unknown_codes[target or "(none)"] = (
                    reading.unknown_codes.get(target or "(none)", 0) + 1
                )

    for selection in children_named(element, "PlainTextSelection"):
        name = selection.get("name") or selection.get("guid") or "(unnamed)"
        where = f"{label}: selection {name!r}"
        start = int_or_none(selection.get("startPosition"))
        end = int_or_none(selection.get("endPosition"))
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
    if children_named(element, "Coding") and stored:  # codes given to the whole document
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
    name = (element.get("name") or "").strip() or norm_guid(element.get("guid")) or "document"
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


def read_qdpx(path: PathLike, *, max_bytes: int = MAX_TOTAL_BYTES) -> QdpxProject:
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
    archive = open_archive(file, max_bytes)
    with archive:
        members = {i.filename.replace("\\", "/").lower(): i for i in archive.infolist()}
        reading = _Reading(file, members, archive)
        root = project_root(archive, file)
        users = {
            norm_guid(u.get("guid")): (u.get("name") or u.get("id") or u.get("guid") or "")
            for users_el in children_named(root, "Users")
            for u in children_named(users_el, "User")
        }
        codebook, code_guids = codebook_tree(root, file)
        tables, texts = _read_sources(root, file, users, code_guids, reading)
    if tables["documents"].empty:
        skipped = (
            f" Skipped: {listing(reading.skipped_sources)}." if reading.skipped_sources else ""
        )
        codes_only = (
            f" To take its {len(codebook['codes'])} codes alone, run: trustcode codebook import "
            f"{shlex.quote(str(file))} -o codebook.yaml"
            if codebook["codes"]
            else ""
        )
        raise InputError(
            f"{file}: the project has no readable text sources, so there is nothing to import."
            f"{skipped} Export the project with its documents from the QDA program.{codes_only}"
        )
    _warn_import_problems(reading, file)
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
    for sources in children_named(root, "Sources"):
        for element in sources:
            kind = local(element.tag)
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
    tables = {
        "documents": _frame(documents, DOCUMENT_COLUMNS, ("n_chars",)),
        "passages": _frame(passages, PASSAGE_COLUMNS, ("index", "start", "end")),
        "codings": _frame(codings, CODING_COLUMNS, ("start", "end")),
    }
    return tables, texts


def _warn_import_problems(reading: _Reading, file: Path) -> None:
    if reading.skipped_sources:
        warn(f"{file}: sources skipped: {listing(reading.skipped_sources)}.")
    if reading.other_kinds:
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(reading.other_kinds.items()))
        warn(f"{file}: trustcode reads text sources only; skipped {kinds}.")
    if reading.bad_selections:
        warn(
            f"{file}: selections with positions that do not fit their text were skipped: "
            f"{listing(reading.bad_selections)}."
        )
    if reading.unknown_codes:
        listed = [f"{g} ({n}x)" for g, n in reading.unknown_codes.items()]
        warn(
            f"{file}: codings that reference codes missing from the project's codebook were "
            f"skipped: {listing(listed)}."
        )


def import_qdpx(path: PathLike) -> dict[str, pd.DataFrame]:
    """Read a REFI-QDA project's human codings as trustcode tables.

    Returns ``documents``, ``passages`` (the coded spans, ``{doc_id}#sel-<n>``) and ``codings``
    (``source`` ``human``, ``coder`` the selection's creating user). See :func:`read_qdpx` for
    the rules, the texts and the codebook.

    >>> sorted(import_qdpx("coded-by-anna.qdpx"))  # doctest: +SKIP
    ['codings', 'documents', 'passages']
    """
    return read_qdpx(path).tables
