"""The overview section (counts, codings by source, provenance) and the codebook section.

Provenance rows come from the coded tables' recorded run; a codebook whose SHA-256 differs
from the recorded one is named in a warning and a note on the page.

>>> _PROVENANCE_LABELS["codebook_sha256"]
'Codebook SHA-256'
"""

from __future__ import annotations

import json
import math
import warnings
from typing import Any

from trustcode.errors import TrustcodeWarning
from trustcode.types import Code

from .data import Data
from .markup import esc, percent, swatch, table_html

_PROVENANCE_LABELS = {
    "trustcode_version": "trustcode version",
    "codebook_name": "Codebook",
    "codebook_sha256": "Codebook SHA-256",
    "codebook": "Codebook file",
    "model": "Model",
    "model_sha256": "Model SHA-256",
    "unit": "Unit",
    "created": "Created",
    "spacy_version": "spaCy version",
    "sklearn_version": "scikit-learn version",
    "options": "Options",
}


def overview(data: Data, prov: dict[str, Any]) -> str:
    n_docs = len(data.doc_order())
    n_passages = len(data.passages)
    coded = data.codings["passage_id"].nunique()
    cards = [
        ("Documents", f"{n_docs}"),
        ("Passages", f"{n_passages}"),
        ("Coded passages", f"{coded} ({percent(coded / n_passages if n_passages else math.nan)})"),
        ("Codings", f"{len(data.codings)}"),
    ]
    stats = "".join(f'<div class="stat"><dt>{esc(k)}</dt><dd>{esc(v)}</dd></div>' for k, v in cards)
    by_source = data.codings.groupby("source", sort=True).agg(
        codings=("code", "size"),
        passages=("passage_id", "nunique"),
        coders=("coder", lambda s: ", ".join(sorted(set(s) - {""}))),
    )
    rows = [
        [esc(src or "(none)"), str(r.codings), str(r.passages), esc(r.coders)]
        for src, r in by_source.iterrows()
    ]
    parts = [f'<dl class="stats">{stats}</dl>', "<h3>Codings by source</h3>"]
    parts.append(
        table_html(
            ["Source", "Codings", "Passages", "Coders"], rows, cls="numeric", text_columns=(3,)
        )
        if rows
        else "<p>No passage was coded.</p>"
    )
    parts.append("<h3>Provenance</h3>")
    parts.append(_provenance(data, prov))
    return "".join(parts)


def _provenance(data: Data, prov: dict[str, Any]) -> str:
    book = data.codebook
    notes = []
    if not prov:
        notes.append(
            "No provenance was recorded with these tables; the codebook below is the "
            "one this report was made with."
        )
    recorded = prov.get("codebook_sha256")
    if recorded and book.sha256 and recorded != book.sha256:
        message = (
            f"report: the tables were coded with codebook SHA-256 {recorded} but the "
            f"report uses {book.sha256} ({book.path or book.name}); labels and colours may "
            "not match the coding. Fix: report with the codebook of the run."
        )
        warnings.warn(message, TrustcodeWarning, stacklevel=4)
        notes.append(message)
    shown = {
        "trustcode_version": prov.get("trustcode_version", ""),
        "codebook_name": prov.get("codebook_name") or book.name,
        "codebook_sha256": recorded or book.sha256,
        "model": prov.get("model") or ("none (rules only)" if prov else ""),
        "unit": prov.get("unit", ""),
        "created": prov.get("created", ""),
    }
    for key, value in prov.items():
        shown.setdefault(key, value)
    rows = []
    for key, value in shown.items():
        if isinstance(value, (dict, list)):
            value = json.dumps(value, ensure_ascii=False, sort_keys=True)
        text = "–" if value in (None, "") else str(value)
        cls = ' class="hash"' if key.endswith("sha256") else ""
        rows.append(
            f'<tr><th scope="row">{esc(_PROVENANCE_LABELS.get(key, key))}</th>'
            f"<td{cls}>{esc(text)}</td></tr>"
        )
    note_html = "".join(f'<p class="note">{esc(n)}</p>' for n in notes)
    return f'{note_html}<div class="table-wrap"><table class="kv">{"".join(rows)}</table></div>'


def codebook_section(data: Data) -> str:
    book = data.codebook
    children: dict[str | None, list[Code]] = {}
    ids = set(book.code_ids)
    for code in book.codes:
        parent = code.parent if code.parent in ids else None
        children.setdefault(parent, []).append(code)
    bodies = []

    def rows(code: Code, depth: int) -> list[str]:
        kind = "parent" if code.id in book.parent_ids else "leaf"
        out = [
            f'<tr class="{kind}" data-code="{esc(code.id)}" data-colour="{data.colours[code.id]}">'
            f'<td>{swatch(data.colours[code.id])}<span class="hex">{data.colours[code.id]}'
            f'</span></td><th scope="row" style="padding-left:{0.5 + 1.25 * depth:.2f}rem">'
            f"{esc(code.label)}</th><td><code>{esc(code.id)}</code></td>"
            f"<td>{esc(code.definition)}</td><td>{esc(code.include)}</td>"
            f"<td>{esc(code.exclude)}</td></tr>"
        ]
        for child in children.get(code.id, []):
            out.extend(rows(child, depth + 1))
        return out

    for top in children.get(None, []):
        bodies.append(f"<tbody>{''.join(rows(top, 0))}</tbody>")
    head = "".join(
        f'<th scope="col">{h}</th>'
        for h in ("Colour", "Label", "Id", "Definition", "Include", "Exclude")
    )
    intro = [
        f"<p><strong>{esc(book.name)}</strong>"
        + (f" version {esc(book.version)}" if book.version else "")
        + (f". {esc(book.description)}" if book.description else "")
        + "</p>"
    ]
    if data.unknown:
        intro.append(
            f'<p class="note">Codes in the codings that this codebook lacks (shown in '
            f"grey): {esc(', '.join(data.unknown))}.</p>"
        )
    return (
        f'{"".join(intro)}<div class="table-wrap"><table class="codebook"><thead><tr>'
        f"{head}</tr></thead>{''.join(bodies)}</table></div>"
    )
