"""The entry points: :func:`build_report` assembles the sections into a page,
:func:`write_report` writes it atomically.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from trustcode.atomic import check_target, write_atomic
from trustcode.errors import OutputError
from trustcode.types import Codebook

from .data import Data, Tables
from .documents import documents_section
from .overview import codebook_section, overview
from .page import page_html
from .summaries import agreement_section, cooccurrence_section, frequencies_section, groups_section
from .validation import validation_section


def build_report(
    tables: Tables,
    *,
    codebook: Codebook,
    provenance: Mapping[str, Any] | None = None,
    by: str | None = None,
    gold: Tables | None = None,
    title: str | None = None,
    validation: Any = None,
) -> str:
    """The report of coded ``tables`` as one self-contained HTML page.

    ``by`` names a documents column (e.g. ``group``) whose values are compared; ``gold`` is a
    tables dict of human codings of the same documents, compared with ``tables`` by
    :func:`trustcode.agreement.agree`; ``validation`` is the ``estimates`` table of
    ``trustcode validate estimate`` (a DataFrame). The same inputs give the same bytes.

    >>> page = build_report(run.tables, codebook=load_codebook())  # doctest: +SKIP
    >>> page.startswith("<!DOCTYPE html>")  # doctest: +SKIP
    True
    """
    data = Data.build(tables, codebook, by)
    prov = dict(provenance or {})
    sections: list[tuple[str, str, str]] = [
        ("overview", "Overview", overview(data, prov)),
        ("codebook", "Codebook", codebook_section(data)),
        ("documents", "Documents", documents_section(data)),
    ]
    comparison = _compare(tables, by, codebook) if data.coded_any else None
    sections.append(("frequencies", "Code frequencies", frequencies_section(data, comparison)))
    if by is not None:
        sections.append(("groups", f"Comparison by {by}", groups_section(data, comparison)))
    sections.append(("cooccurrence", "Co-occurrence", cooccurrence_section(data, comparison)))
    if gold is not None:
        from trustcode.agreement import agree

        result = agree([gold, tables], codes=[c.id for c in codebook.leaf_codes])
        sections.append(
            ("agreement", "Agreement with the gold coding", agreement_section(data, result))
        )
    if validation is not None:
        sections.append(
            (
                "validation",
                "Validation on a hand-coded sample",
                validation_section(data, validation),
            )
        )
    return page_html(title or f"Coding report: {codebook.name}", data, prov, sections)


def write_report(
    tables: Tables,
    path: str | os.PathLike[str],
    *,
    codebook: Codebook,
    provenance: Mapping[str, Any] | None = None,
    by: str | None = None,
    gold: Tables | None = None,
    title: str | None = None,
    force: bool = False,
    validation: Any = None,
) -> Path:
    """Write :func:`build_report`'s page to ``path`` atomically; an existing file needs ``force``.

    >>> write_report(run.tables, "out/report.html", codebook=book)  # doctest: +SKIP
    PosixPath('out/report.html')
    """
    target = Path(path)
    if target.is_dir():
        raise OutputError(
            f"report: {target} is a folder. Expected a file path such as {target / 'report.html'}; "
            "fix: name the HTML file to write."
        )
    check_target(target, force=force)
    page = build_report(
        tables,
        codebook=codebook,
        provenance=provenance,
        by=by,
        gold=gold,
        title=title,
        validation=validation,
    )
    # beside the target, then renamed: a crash or a full disk never leaves half a report
    return write_atomic(target, page.encode("utf-8"), force=True)


def _compare(tables: Tables, by: str | None, codebook: Codebook) -> Any:
    from trustcode.compare import compare

    return compare(tables, by=by, codes=codebook)
