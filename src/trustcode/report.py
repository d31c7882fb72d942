"""The HTML report of a coding run: one self-contained file for people to read and print.

:func:`build_report` turns coded tables (documents, passages, codings; see DESIGN.md) and the
codebook into one HTML page with an overview and provenance, the codebook with its colours, every
document's text with its coded passages highlighted (evidence and scores on each passage), code
frequencies, group comparisons, co-occurrence and, given human gold codings, agreement.

The page makes no request to any other host: figures are inline SVG, fonts are the system's, the
CSS and the few lines of JavaScript are inline, and a Content-Security-Policy forbids loading
anything else. Texts can be about people at risk, so opening a report must not reveal it to anyone.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
import tempfile
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from trustcode import __version__
from trustcode.errors import InputError, OutputError, TrustcodeWarning, UsageError
from trustcode.types import Code, Codebook, check_tables

Tables = Mapping[str, pd.DataFrame]

#: colour of a code the codebook does not know
UNKNOWN_COLOUR = "#999999"
#: how much larger than matplotlib's size figures are shown
SVG_SCALE = 1.25
#: how many disagreements the agreement section lists
DISAGREEMENT_ROWS = 30
#: characters of a disagreement's text shown
DISAGREEMENT_CHARS = 300

_REQUIRED = {
    "documents": ("doc_id",),
    "passages": ("doc_id", "passage_id", "start", "end", "text"),
    "codings": ("doc_id", "passage_id", "code"),
}
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LANG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")
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


def build_report(
    tables: Tables,
    *,
    codebook: Codebook,
    provenance: Mapping[str, Any] | None = None,
    by: str | None = None,
    gold: Tables | None = None,
    title: str | None = None,
) -> str:
    """The report of coded ``tables`` as one self-contained HTML page.

    ``by`` names a documents column (e.g. ``group``) whose values are compared; ``gold`` is a
    tables dict of human codings of the same documents, compared with ``tables`` by
    :func:`trustcode.agreement.agree`. The same inputs give the same bytes.

    >>> page = build_report(run.tables, codebook=load_codebook())  # doctest: +SKIP
    >>> page.startswith("<!DOCTYPE html>")  # doctest: +SKIP
    True
    """
    data = _Data.build(tables, codebook, by)
    prov = dict(provenance or {})
    sections: list[tuple[str, str, str]] = [
        ("overview", "Overview", _overview(data, prov)),
        ("codebook", "Codebook", _codebook_section(data)),
        ("documents", "Documents", _documents(data)),
    ]
    comparison = _compare(tables, by, codebook) if data.coded_any else None
    sections.append(("frequencies", "Code frequencies", _frequencies(data, comparison)))
    if by is not None:
        sections.append(("groups", f"Comparison by {by}", _groups(data, comparison)))
    sections.append(("cooccurrence", "Co-occurrence", _cooccurrence(data, comparison)))
    if gold is not None:
        from trustcode.agreement import agree

        result = agree([gold, tables], codes=[c.id for c in codebook.leaf_codes])
        sections.append(("agreement", "Agreement with the gold coding", _agreement(data, result)))
    return _page(title or f"Coding report: {codebook.name}", data, prov, sections)


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
    if target.exists() and not force:
        raise OutputError(
            f"report: {target} already exists. Expected a new path; fix: choose another path or "
            "pass force=True (--force) to overwrite it."
        )
    if not target.parent.is_dir():
        raise OutputError(
            f"report: folder {target.parent} does not exist. Fix: create it or choose another path."
        )
    page = build_report(tables, codebook=codebook, provenance=provenance, by=by, gold=gold,
                        title=title)
    # Write beside the target, then rename: a crash never leaves half a report behind.
    handle, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
            out.write(page)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


# --- the data the sections share ----------------------------------------------------------------


@dataclass
class _Block:
    """A stretch of a document's text and the passages covering it (several when they overlap)."""

    text: str
    passage_ids: list[str]


@dataclass
class _Data:
    codebook: Codebook
    by: str | None
    documents: pd.DataFrame
    passages: pd.DataFrame
    codings: pd.DataFrame
    colours: dict[str, str]
    labels: dict[str, str]
    order: dict[str, int]
    unknown: list[str]

    @property
    def coded_any(self) -> bool:
        return not self.codings.empty

    @classmethod
    def build(cls, tables: Tables, codebook: Codebook, by: str | None) -> _Data:
        check_tables(tables, _REQUIRED, where="report")
        documents = tables["documents"].drop_duplicates("doc_id").reset_index(drop=True)
        if by is not None and by not in documents.columns:
            raise UsageError(
                f"report: by={by!r} is not a column of the documents table. Available columns: "
                f"{', '.join(map(str, documents.columns))}. Fix: pass one of them, e.g. by='group'."
            )
        passages = tables["passages"].copy()
        passages["text"] = passages["text"].fillna("").astype(str)
        for column in ("start", "end"):
            passages[column] = pd.to_numeric(passages[column], errors="coerce")
        _check_offsets(passages)
        passages = passages.astype({"start": "int64", "end": "int64"})
        passages["doc_id"] = passages["doc_id"].astype(str)
        passages["passage_id"] = passages["passage_id"].astype(str)
        codings = tables["codings"].copy()
        for column, default in (("source", ""), ("evidence", ""), ("coder", "")):
            if column not in codings.columns:
                codings[column] = default
            codings[column] = codings[column].fillna("").astype(str)
        if "score" not in codings.columns:
            codings["score"] = math.nan
        codings["score"] = pd.to_numeric(codings["score"], errors="coerce")
        for column in ("doc_id", "passage_id", "code"):
            codings[column] = codings[column].astype(str)

        order = {c.id: i for i, c in enumerate(codebook.codes)}
        colours = {c.id: _colour(c.colour) for c in codebook.codes}
        labels = {c.id: c.label or c.id for c in codebook.codes}
        unknown = sorted(set(codings["code"]) - set(order))
        if unknown:
            warnings.warn(
                f"report: code(s) {', '.join(unknown)} appear in the codings but not in codebook "
                f"{codebook.name!r}; they are shown in grey under their ids. Fix: report with "
                "the codebook the tables were coded with.",
                TrustcodeWarning,
                stacklevel=3,
            )
        for i, code in enumerate(unknown):
            order[code] = len(codebook.codes) + i
            colours[code] = UNKNOWN_COLOUR
            labels[code] = code
        return cls(codebook, by, documents, passages, codings, colours, labels, order, unknown)

    def sort_codes(self, codes: Any) -> list[str]:
        return sorted(set(codes), key=lambda c: (self.order.get(c, len(self.order)), c))

    def doc_order(self) -> list[str]:
        docs = self.documents["doc_id"].astype(str)
        return list(dict.fromkeys([*docs, *self.passages["doc_id"]]))


def _check_offsets(passages: pd.DataFrame) -> None:
    """Offsets must slice back to the text, or highlighting would cut words in the wrong place."""
    bad = passages["start"].isna() | passages["end"].isna()
    bad |= ~bad & (passages["end"] - passages["start"] != passages["text"].str.len())
    if bad.any():
        row = passages[bad].iloc[0]
        raise InputError(
            f"report: passage {row['passage_id']!r} (row {int(bad.to_numpy().argmax()) + 2} of the "
            f"passages table) has start={row['start']!r}, end={row['end']!r} but a text of "
            f"{len(row['text'])} characters. Expected end - start == len(text); fix: use the "
            f"passages table of the same run ({int(bad.sum())} row(s) differ)."
        )


def _colour(value: str) -> str:
    # Colours go into style attributes, so only a well-formed #rrggbb may pass.
    return value if _COLOUR.fullmatch(value or "") else UNKNOWN_COLOUR


def _compare(tables: Tables, by: str | None, codebook: Codebook) -> Any:
    from trustcode.compare import compare

    return compare(tables, by=by, codes=codebook)


def _blocks(passages: pd.DataFrame) -> list[_Block]:
    """A document's passages cut at every passage boundary, so overlapping windows show once.

    Non-overlapping passages (paragraphs, sentences) come back one block each.
    """
    rows = passages.sort_values(["start", "end"], kind="stable")
    starts, ends = rows["start"].tolist(), rows["end"].tolist()
    texts, ids = rows["text"].tolist(), rows["passage_id"].tolist()
    bounds = sorted(set(starts) | set(ends))
    blocks, active, i = [], [], 0
    for a, b in zip(bounds, bounds[1:], strict=False):
        while i < len(starts) and starts[i] <= a:
            active.append(i)
            i += 1
        active = [k for k in active if ends[k] > a]
        if active:
            k = active[0]
            blocks.append(_Block(texts[k][a - starts[k]:b - starts[k]], [ids[j] for j in active]))
    return blocks


# --- HTML helpers -------------------------------------------------------------------------------


def _e(value: Any) -> str:
    # Control characters are not allowed in HTML text; show them as U+FFFD, one for one.
    text = _CONTROL.sub("\ufffd", "" if value is None else str(value))
    return html.escape(text, quote=True)


def _num(value: Any, digits: int = 2) -> str:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return "–"
    if math.isnan(x):
        return "–"
    text = f"{x:.{digits}f}"
    # -0.00 (a tiny negative rounded) reads as a sign that is not there
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def _pct(value: Any) -> str:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return "–"
    return "–" if math.isnan(x) else f"{100 * x:.1f}%"


def _p(value: Any) -> str:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return "–"
    if math.isnan(x):
        return "–"
    return "<0.001" if x < 0.001 else f"{x:.3f}"


def _swatch(colour: str) -> str:
    return f'<span class="swatch" style="--c:{colour}" aria-hidden="true"></span>'


def _code_name(data: _Data, code: str) -> str:
    """Swatch and label: the label text always names the code, colour is only a help."""
    return (f'<span class="code-name">{_swatch(data.colours[code])}'
            f'<span>{_e(data.labels[code])}</span></span>')


def _table(
    headers: list[str], rows: list[list[str]], *, caption: str = "", cls: str = "",
    text_columns: tuple[int, ...] = (),
) -> str:
    """A table of already-escaped cells; the first cell of each row is its row header.

    In a ``numeric`` table, cells are right-aligned except in ``text_columns`` (by position).
    """
    head = "".join(f'<th scope="col">{h}</th>' for h in headers)
    body = []
    n = len(headers)
    text = {j % n for j in text_columns}
    for row in rows:
        cells = [
            f'<th scope="row">{c}</th>' if j == 0
            else f'<td class="txt">{c}</td>' if j in text else f"<td>{c}</td>"
            for j, c in enumerate(row)
        ]
        body.append(f"<tr>{''.join(cells)}</tr>")
    cap = f"<caption>{caption}</caption>" if caption else ""
    return (f'<div class="table-wrap"><table class="{cls}">{cap}<thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></div>")


def _figure(svg: str, prefix: str, caption: str) -> str:
    return (f'<figure class="chart">{_inline_svg(svg, prefix, caption)}'
            f"<figcaption>{_e(caption)}</figcaption></figure>")


def _inline_svg(svg: str, prefix: str, label: str) -> str:
    """matplotlib's SVG made fit to sit inside HTML beside other figures.

    The XML prolog, doctype and RDF metadata go (they name external URLs and mean nothing
    inline), ids get a per-figure prefix so two figures never share one, and the root gets an
    accessible name.
    """
    svg = re.sub(r"<\?xml[^>]*\?>", "", svg)
    svg = re.sub(r"<!DOCTYPE[^>]*>", "", svg)
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)
    ids = set(re.findall(r'\bid="([^"]+)"', svg))
    if ids:
        pattern = "|".join(re.escape(i) for i in sorted(ids, key=len, reverse=True))
        svg = re.sub(rf'\bid="({pattern})"', lambda m: f'id="{prefix}-{m.group(1)}"', svg)
        svg = re.sub(rf"#({pattern})\b", lambda m: f"#{prefix}-{m.group(1)}", svg)
    # matplotlib sizes figures for paper; a quarter larger reads better on screen (the viewBox
    # keeps the drawing, and CSS still shrinks it to the column).
    root = re.search(r"<svg\b[^>]*>", svg)
    if root:
        tag = re.sub(r'\b(width|height)="([0-9.]+)pt"',
                     lambda m: f'{m.group(1)}="{float(m.group(2)) * SVG_SCALE:.1f}pt"',
                     root.group())
        svg = svg[:root.start()] + tag + svg[root.end():]
    return svg.replace("<svg ", f'<svg role="img" aria-label="{_e(label)}" ', 1).strip()


# --- sections -----------------------------------------------------------------------------------


def _overview(data: _Data, prov: dict[str, Any]) -> str:
    n_docs = len(data.doc_order())
    n_passages = len(data.passages)
    coded = data.codings["passage_id"].nunique()
    cards = [
        ("Documents", f"{n_docs}"),
        ("Passages", f"{n_passages}"),
        ("Coded passages", f"{coded} ({_pct(coded / n_passages if n_passages else math.nan)})"),
        ("Codings", f"{len(data.codings)}"),
    ]
    stats = "".join(f'<div class="stat"><dt>{_e(k)}</dt><dd>{_e(v)}</dd></div>'
                    for k, v in cards)
    by_source = data.codings.groupby("source", sort=True).agg(
        codings=("code", "size"), passages=("passage_id", "nunique"),
        coders=("coder", lambda s: ", ".join(sorted(set(s) - {""}))),
    )
    rows = [[_e(src or "(none)"), str(r.codings), str(r.passages), _e(r.coders)]
            for src, r in by_source.iterrows()]
    parts = [f'<dl class="stats">{stats}</dl>', "<h3>Codings by source</h3>"]
    parts.append(_table(["Source", "Codings", "Passages", "Coders"], rows, cls="numeric",
                        text_columns=(3,)) if rows
                 else "<p>No passage was coded.</p>")
    parts.append("<h3>Provenance</h3>")
    parts.append(_provenance(data, prov))
    return "".join(parts)


def _provenance(data: _Data, prov: dict[str, Any]) -> str:
    book = data.codebook
    notes = []
    if not prov:
        notes.append("No provenance was recorded with these tables; the codebook below is the "
                     "one this report was made with.")
    recorded = prov.get("codebook_sha256")
    if recorded and book.sha256 and recorded != book.sha256:
        message = (f"report: the tables were coded with codebook SHA-256 {recorded} but the "
                   f"report uses {book.sha256} ({book.path or book.name}); labels and colours may "
                   "not match the coding. Fix: report with the codebook of the run.")
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
        rows.append(f'<tr><th scope="row">{_e(_PROVENANCE_LABELS.get(key, key))}</th>'
                    f"<td{cls}>{_e(text)}</td></tr>")
    note_html = "".join(f'<p class="note">{_e(n)}</p>' for n in notes)
    return f'{note_html}<div class="table-wrap"><table class="kv">{"".join(rows)}</table></div>'


def _codebook_section(data: _Data) -> str:
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
            f'<tr class="{kind}" data-code="{_e(code.id)}" data-colour="{data.colours[code.id]}">'
            f'<td>{_swatch(data.colours[code.id])}<span class="hex">{data.colours[code.id]}'
            f'</span></td><th scope="row" style="padding-left:{0.5 + 1.25 * depth:.2f}rem">'
            f"{_e(code.label)}</th><td><code>{_e(code.id)}</code></td>"
            f"<td>{_e(code.definition)}</td><td>{_e(code.include)}</td>"
            f"<td>{_e(code.exclude)}</td></tr>"
        ]
        for child in children.get(code.id, []):
            out.extend(rows(child, depth + 1))
        return out

    for top in children.get(None, []):
        bodies.append(f"<tbody>{''.join(rows(top, 0))}</tbody>")
    head = "".join(f'<th scope="col">{h}</th>' for h in
                   ("Colour", "Label", "Id", "Definition", "Include", "Exclude"))
    intro = [f"<p><strong>{_e(book.name)}</strong>"
             + (f" version {_e(book.version)}" if book.version else "")
             + (f". {_e(book.description)}" if book.description else "") + "</p>"]
    if data.unknown:
        intro.append(f'<p class="note">Codes in the codings that this codebook lacks (shown in '
                     f'grey): {_e(", ".join(data.unknown))}.</p>')
    return (f"{''.join(intro)}<div class=\"table-wrap\"><table class=\"codebook\"><thead><tr>"
            f"{head}</tr></thead>{''.join(bodies)}</table></div>")


def _documents(data: _Data) -> str:
    if data.passages.empty:
        return "<p>The passages table is empty.</p>"
    docs = data.documents.assign(doc_id=data.documents["doc_id"].astype(str)).set_index("doc_id")
    by_doc = dict(tuple(data.passages.groupby("doc_id", sort=False)))
    # Plain tuples per passage: a report of thousands of passages should not filter a
    # DataFrame once per passage.
    codings_of: dict[str, list[Any]] = {}
    for row in data.codings[["doc_id", "passage_id", "code", "source", "score", "evidence",
                             "coder"]].itertuples(index=False):
        codings_of.setdefault(row.passage_id, []).append(row)
    out = ['<p class="hint">Coded passages carry a band and a label for each code; open '
           "<em>Evidence</em> (or hover a label) for the words and scores behind a coding.</p>"
           '<p class="js-only toolbar" hidden><button type="button" data-toggle="open">Open all '
           'documents</button><button type="button" data-toggle="close">Close all</button></p>']
    for n, doc_id in enumerate(data.doc_order()):
        meta = docs.loc[doc_id] if doc_id in docs.index else pd.Series(dtype=object)
        out.append(_document(data, doc_id, meta, by_doc.get(doc_id), codings_of, n))
    return "".join(out)


def _document(
    data: _Data, doc_id: str, meta: pd.Series, passages: pd.DataFrame | None,
    codings_of: dict[str, list[Any]], n: int,
) -> str:
    title = str(meta.get("title") or "") or doc_id
    lang = str(meta.get("language") or "")
    lang_attr = f' lang="{_e(lang)}"' if _LANG.fullmatch(lang) else ""
    ids = [] if passages is None else list(passages["passage_id"])
    coded = [pid for pid in ids if pid in codings_of]
    counts: dict[str, int] = {}
    for pid in coded:
        for code in {r.code for r in codings_of[pid]}:
            counts[code] = counts.get(code, 0) + 1
    facts = [f"id <code>{_e(doc_id)}</code>"]
    if lang:
        facts.append(f"language {_e(lang)}")
    if data.by is not None:
        facts.append(f"{_e(data.by)}: {_e(meta.get(data.by, ''))}")
    facts.append(f"{len(ids)} passage{'' if len(ids) == 1 else 's'}, {len(coded)} coded")
    chips = "".join(
        f'<li class="chip" style="--c:{data.colours[c]}">{_e(data.labels[c])} '
        f'<span class="count">{counts[c]}</span></li>'
        for c in data.sort_codes(counts)
    )
    blocks = _blocks(passages) if passages is not None else []
    body = [_passage(data, b, codings_of) for b in blocks] or ["<p>No passages.</p>"]
    is_open = " open" if n == 0 else ""
    return (
        f'<section class="document" data-doc="{_e(doc_id)}" aria-labelledby="doc-{n}">'
        f'<details class="doc"{is_open}><summary><h3 id="doc-{n}">{_e(title)}</h3>'
        f'<span class="facts">{" · ".join(facts)}</span>'
        f'{f"<ul class=chips>{chips}</ul>" if chips else ""}</summary>'
        f'<div class="doc-text"{lang_attr}>{"".join(body)}</div></details></section>'
    )


def _passage(data: _Data, block: _Block, codings_of: dict[str, list[Any]]) -> str:
    rows = [r for pid in block.passage_ids for r in codings_of.get(pid, [])]
    ids = _e(" ".join(block.passage_ids))
    if not rows:
        return (f'<div class="passage" data-passages="{ids}" data-codes="">'
                f'<div class="bands"></div><div class="text">{_e(block.text)}</div>'
                f'<div class="codes"></div></div>')
    codes = data.sort_codes(r.code for r in rows)
    bands = "".join(f'<span style="--c:{data.colours[c]}"></span>' for c in codes)
    chips, evidence = [], []
    for code in codes:
        own = [r for r in rows if r.code == code]
        hover = "; ".join(_coding_line(r) for r in own)
        chips.append(f'<li class="chip" style="--c:{data.colours[code]}" data-code="{_e(code)}" '
                     f'title="{_e(data.labels[code])}: {_e(hover)}">{_e(data.labels[code])}</li>')
        for r in own:
            where = (f' <span class="pid">{_e(r.passage_id)}</span>'
                     if len(block.passage_ids) > 1 else "")
            evidence.append(
                f'<li><span class="ev-code">{_e(data.labels[code])}</span> · '
                f"{_e(_coding_line(r, evidence=False))}{where}"
                + (f'<br><span class="ev-text">{_e(r.evidence)}</span>' if r.evidence else "")
                + "</li>"
            )
    return (
        f'<div class="passage coded" data-passages="{ids}" data-codes="{_e(" ".join(codes))}" '
        f'style="--c:{data.colours[codes[0]]}"><div class="bands" aria-hidden="true">{bands}</div>'
        f'<div class="text">{_e(block.text)}</div><div class="codes">'
        f'<ul class="chips">{"".join(chips)}</ul><details class="evidence"><summary>Evidence'
        f'</summary><ul>{"".join(evidence)}</ul></details></div></div>'
    )


def _coding_line(row: Any, *, evidence: bool = True) -> str:
    parts = [row.source or "coded"]
    if not math.isnan(row.score):
        parts.append(f"score {row.score:.2f}")
    if row.coder:
        parts.append(f"by {row.coder}")
    text = ", ".join(parts)
    return f"{text}: {row.evidence}" if evidence and row.evidence else text


def _frequencies(data: _Data, comparison: Any) -> str:
    leaves = [c.id for c in data.codebook.leaf_codes] + data.unknown
    total = len(data.passages)
    per_code = data.codings.groupby("code").agg(
        passages=("passage_id", "nunique"), documents=("doc_id", "nunique"))
    rows = []
    for code in leaves:
        k = int(per_code["passages"].get(code, 0))
        d = int(per_code["documents"].get(code, 0))
        rows.append([_code_name(data, code), f"<code>{_e(code)}</code>", str(k),
                     _pct(k / total if total else math.nan), str(d)])
    parts = [_table(["Code", "Id", "Passages coded", "Share of passages", "Documents"], rows,
                    caption=f"Passages coded with each code, of {total} passages in "
                            f"{len(data.doc_order())} documents", cls="numeric")]
    if comparison is None:
        parts.append("<p>No passage was coded, so there is no chart.</p>")
    else:
        from trustcode.figures import figure_svg

        parts.append(_figure(figure_svg(comparison, "heatmap"), "heatmap",
                             "Share of each document's passages coded with each code"))
        parts.extend(f'<p class="note">{_e(n)}</p>' for n in comparison.notes)
    return "".join(parts)


def _groups(data: _Data, comparison: Any) -> str:
    if comparison is None:
        return "<p>No passage was coded, so groups cannot be compared.</p>"
    groups = list(comparison.groups)
    sizes = comparison.by_group.drop_duplicates("group").set_index("group")["n_passages"]
    cells = comparison.by_group.set_index(["code", "group"])
    tests = comparison.tests.set_index("code")
    headers = ["Code"] + [f"{_e(g)} <span class=\"n\">(n = {int(sizes.get(g, 0))})</span>"
                          for g in groups]
    headers += ["Test", "Statistic", "p", f"p adjusted ({_e(comparison.correction)})",
                "Differs?", "Note"]
    rows = []
    for code in comparison.codes:
        row = [_code_name(data, code)]
        for g in groups:
            c = cells.loc[(code, g)]
            row.append(f"{_pct(c['share'])} <span class=\"n\">({int(c['passages'])})</span><br>"
                       f"<span class=\"ci\">[{_pct(c['ci_low'])}, {_pct(c['ci_high'])}]</span>")
        t = tests.loc[code]
        row += [_e(t["test"] or "–"), _num(t["statistic"]), _p(t["p_value"]),
                _p(t["p_adjusted"]), "yes" if bool(t["reject"]) else "no", _e(t["note"])]
        rows.append(row)
    table = _table(headers, rows, cls="numeric groups", text_columns=(len(groups) + 1, -2, -1),
                   caption=f"Share of passages coded (passages coded) and 95% Wilson interval, by "
                           f"{_e(data.by)}; tests of whether the share differs between groups")
    from trustcode.figures import figure_svg

    chart = _figure(figure_svg(comparison, "shares"), "shares",
                    f"Share of passages coded with each code, by {data.by}")
    return table + chart


def _cooccurrence(data: _Data, comparison: Any) -> str:
    if comparison is None:
        return "<p>No passage was coded, so no codes co-occur.</p>"
    codes = list(comparison.codes)
    co = comparison.cooccurrence.set_index(["code_a", "code_b"])
    headers = ["Code"] + [f'<span title="{_e(data.labels[c])}">{_e(c)}</span>' for c in codes]
    rows = []
    for a in codes:
        row = [_code_name(data, a)]
        for b in codes:
            cell = co.loc[(a, b)]
            jac = "" if a == b else f' <span class="n">({_num(cell["jaccard"])})</span>'
            row.append(f"{int(cell['n_both'])}{jac}")
        rows.append(row)
    table = _table(headers, rows, cls="numeric matrix",
                   caption="Passages coded with both codes (Jaccard index); the diagonal counts "
                           "each code's passages")
    from trustcode.figures import figure_svg

    return table + _figure(figure_svg(comparison, "cooccurrence"), "cooccurrence",
                           "Co-occurrence of codes in passages")


def _agreement(data: _Data, result: Any) -> str:
    overall = result.overall.iloc[0]
    stats = ["percent_agreement", "cohen_kappa", "fleiss_kappa", "krippendorff_alpha"]
    names = ["Agreement", "Cohen's κ", "Fleiss' κ", "Krippendorff's α", "α 95% interval"]

    def stat_cells(r: Any) -> list[str]:
        cells = [_pct(r["percent_agreement"])] + [_num(r[s]) for s in stats[1:]]
        return cells + [f"[{_num(r['alpha_ci_low'])}, {_num(r['alpha_ci_high'])}]"]

    parts = [f"<p>Coders: {_e(', '.join(result.coders))}; unit: {_e(result.unit)}; "
             f"{int(overall['n_units'])} units.</p>"]
    parts.append(_table(["Over all codes", *names, "Note"],
                        [["all codes", *stat_cells(overall), _e(overall["note"])]],
                        cls="numeric", text_columns=(-1,)))
    rows = [[_code_name(data, r["code"]) if r["code"] in data.colours else _e(r["code"]),
             *stat_cells(r), _e(r["note"])] for _, r in result.per_code.iterrows()]
    parts.append(_table(["Code", *names, "Note"], rows, cls="numeric", text_columns=(-1,),
                        caption="Agreement per code"))
    dis = result.disagreements
    parts.append(f"<h3>Disagreements</h3><p>{len(dis)} unit(s) where the coders differ"
                 + (f"; the first {DISAGREEMENT_ROWS} are listed" if len(dis) > DISAGREEMENT_ROWS
                    else "") + ".</p>")
    if len(dis):
        rows = []
        for _, r in dis.head(DISAGREEMENT_ROWS).iterrows():
            text = str(r.get("text", "") or "")
            if len(text) > DISAGREEMENT_CHARS:
                text = text[:DISAGREEMENT_CHARS] + "…"
            rows.append([_e(r["unit"]), _e(text), _e(r["codes"]),
                         *[_e(r[c]) for c in dis.columns[-len(result.coders):]]])
        parts.append(_table(["Unit", "Text", "Codes in dispute",
                             *[_e(c) for c in dis.columns[-len(result.coders):]]], rows,
                            cls="disputes"))
    parts.extend(f'<p class="note">{_e(n)}</p>' for n in result.notes)
    return "".join(parts)


# --- the page -----------------------------------------------------------------------------------

_CSP = ("default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
        "img-src data:; base-uri 'none'; form-action 'none'")

_CSS = """
:root{--ink:#1b1b1b;--muted:#4a4a4a;--line:#d0d0d0;--soft:#f4f4f2;--accent:#0b4f8a;
font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Liberation Sans","DejaVu Sans",
sans-serif;color:var(--ink);background:#fff;line-height:1.5}
body{margin:0}
header.top{background:#14213d;color:#fff;padding:1.4rem 2rem 1.1rem}
header.top h1{margin:0 0 .3rem;font-size:1.7rem}
header.top p{margin:0;color:#e3e7ef}
nav.toc{position:sticky;top:0;z-index:2;background:#fff;border-bottom:1px solid var(--line);
padding:.4rem 2rem}
nav.toc ol{display:flex;flex-wrap:wrap;gap:.3rem 1.2rem;margin:0;padding:0;list-style:none}
nav.toc a{color:var(--accent);text-decoration:none;font-weight:600}
nav.toc a:hover,nav.toc a:focus{text-decoration:underline}
main{max-width:78rem;margin:0 auto;padding:.5rem 2rem 3rem}
main section[id]{scroll-margin-top:3rem}
h2{font-size:1.35rem;margin:2.2rem 0 .8rem;padding-bottom:.25rem;border-bottom:2px solid #14213d}
h3{font-size:1.08rem;margin:1.3rem 0 .5rem}
code{font-family:ui-monospace,"DejaVu Sans Mono","Liberation Mono",monospace;font-size:.88em}
.note{background:#fff8e1;border-left:4px solid #b7791f;padding:.4rem .7rem;font-size:.92rem}
.hint{color:var(--muted);font-size:.92rem}
dl.stats{display:flex;flex-wrap:wrap;gap:.8rem;margin:0}
.stat{border:1px solid var(--line);border-radius:.5rem;padding:.6rem 1rem;min-width:9rem;
background:var(--soft)}
.stat dt{font-size:.85rem;color:var(--muted)}
.stat dd{margin:0;font-size:1.35rem;font-weight:700}
.table-wrap{overflow-x:auto;margin:.6rem 0 1rem}
table{border-collapse:collapse;font-size:.9rem}
caption{text-align:left;color:var(--muted);font-size:.88rem;padding:.2rem 0 .4rem}
th,td{border:1px solid var(--line);padding:.3rem .55rem;vertical-align:top;text-align:left}
thead th{background:#e9ecf1}
tbody th{font-weight:600}
table.numeric td{text-align:right;font-variant-numeric:tabular-nums}
table.numeric td.txt{text-align:left}
table.kv th{background:var(--soft);white-space:nowrap}
td.hash{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:.8rem;word-break:break-all}
table.codebook td:first-child{white-space:nowrap}
table.disputes th{overflow-wrap:anywhere;max-width:14rem}
table.disputes td:nth-child(2){min-width:20rem}
table.codebook tr.parent th,table.codebook tr.parent td{background:#eef1f6}
table.codebook td:nth-child(n+4){min-width:12rem}
.n,.ci{color:var(--muted);font-size:.85em}
.swatch{display:inline-block;width:1.05em;height:1.05em;border-radius:.2em;background:var(--c);
border:1px solid rgba(0,0,0,.35);vertical-align:-.15em;margin-right:.35em}
.hex{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:.8rem;color:var(--muted)}
.code-name{white-space:nowrap}
ul.chips{list-style:none;margin:0;padding:0;display:flex;flex-direction:column;gap:.25rem;
align-items:flex-start}
.chip{display:inline-block;background:#fff;border:1px solid #bbb;border-left:.7em solid var(--c);
border-radius:.3em;padding:.05em .5em;font-size:.82rem;line-height:1.35}
summary ul.chips{flex-direction:row;flex-wrap:wrap;margin:.35rem 0 0}
.chip .count{color:var(--muted);font-variant-numeric:tabular-nums}
section.document{border:1px solid var(--line);border-radius:.5rem;margin:.8rem 0;background:#fff}
details.doc>summary{cursor:pointer;padding:.6rem 1rem;background:var(--soft);border-radius:.5rem}
details.doc[open]>summary{border-bottom:1px solid var(--line);border-radius:.5rem .5rem 0 0}
details.doc>summary h3{display:inline;margin:0}
.facts{display:block;color:var(--muted);font-size:.85rem;margin-top:.15rem}
.doc-text{padding:.6rem 1rem .8rem}
.passage{display:grid;grid-template-columns:2.2rem minmax(0,1fr) 15rem;gap:.2rem .8rem;
margin:.45rem 0;border-radius:.3rem}
.passage .bands{display:flex;gap:2px;justify-content:flex-end}
.passage .bands span{width:6px;background:var(--c);border-radius:2px}
.passage .text{white-space:pre-wrap;padding:.25rem .5rem;line-height:1.6}
.passage.coded .text{background:color-mix(in srgb,var(--c) 13%,#fff);
border-radius:.25rem}
.passage .codes{font-size:.85rem}
details.evidence{margin-top:.3rem}
details.evidence>summary{cursor:pointer;color:var(--accent);font-size:.8rem}
details.evidence ul{margin:.25rem 0 0;padding-left:1rem;font-size:.78rem;color:#333}
.ev-code{font-weight:600}
.ev-text{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:.74rem;
overflow-wrap:anywhere}
.pid{color:var(--muted)}
figure.chart{margin:1rem 0;overflow-x:auto}
figure.chart svg{max-width:100%;height:auto}
figcaption{color:var(--muted);font-size:.88rem}
footer{max-width:78rem;margin:0 auto;padding:1rem 2rem 2rem;color:var(--muted);font-size:.85rem;
border-top:1px solid var(--line)}
.toolbar{display:flex;gap:.5rem;margin:.4rem 0}
button{font:inherit;font-size:.85rem;padding:.15rem .7rem;cursor:pointer}
@media (max-width:60rem){.passage{grid-template-columns:1.2rem minmax(0,1fr)}
.passage .codes{grid-column:2}}
@media print{
:root{font-size:10.5pt}
nav.toc,.js-only,details.evidence>summary{display:none}
header.top{background:none;color:#000;padding:0 0 .5rem;border-bottom:2px solid #000}
header.top p{color:#333}
main{max-width:none;padding:0}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
.hint{display:none}
.passage{break-inside:avoid;grid-template-columns:1.2rem minmax(0,1fr)}
.passage .codes{grid-column:2;display:flex;flex-wrap:wrap;gap:.2rem .8rem;align-items:baseline}
.passage .codes ul.chips{flex-direction:row;flex-wrap:wrap}
details.evidence{margin:0}
details.evidence ul{margin:0;padding-left:1rem;font-size:7.5pt}
section.document{border:none}
details.doc>summary{background:none;padding:.3rem 0;list-style:none}
h2,h3{break-after:avoid}
figure.chart,tr{break-inside:avoid}
a{color:inherit}
}
@media print{details::details-content{content-visibility:visible;display:block}}
"""

# Printing opens every closed <details> (and restores them after), so nothing stays hidden on
# paper in browsers without ::details-content; the buttons open or close all documents.
_JS = """
(function(){
var opened=[];
addEventListener("beforeprint",function(){document.querySelectorAll("details:not([open])")
.forEach(function(d){d.open=true;opened.push(d);});});
addEventListener("afterprint",function(){opened.forEach(function(d){d.open=false;});opened=[];});
document.querySelectorAll(".js-only").forEach(function(e){e.hidden=false;});
document.querySelectorAll("button[data-toggle]").forEach(function(b){
b.addEventListener("click",function(){var open=b.getAttribute("data-toggle")==="open";
document.querySelectorAll("details.doc").forEach(function(d){d.open=open;});});});
})();
"""


def _page(
    title: str, data: _Data, prov: dict[str, Any], sections: list[tuple[str, str, str]]
) -> str:
    nav = "".join(f'<li><a href="#{sid}">{_e(name)}</a></li>' for sid, name, _ in sections)
    body = "".join(f'<section id="{sid}" aria-labelledby="{sid}-h"><h2 id="{sid}-h">{_e(name)}'
                   f"</h2>{content}</section>" for sid, name, content in sections)
    created = prov.get("created")
    sub = f"Codebook {_e(data.codebook.name)}" + (f" · coded {_e(created)}" if created else "")
    made = prov.get("trustcode_version") or __version__
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta http-equiv="Content-Security-Policy" content="{_e(_CSP)}">'
        '<meta name="referrer" content="no-referrer">'
        f'<meta name="generator" content="trustcode {_e(__version__)}">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head>\n<body>"
        f'<header class="top"><h1>{_e(title)}</h1><p>{sub}</p></header>'
        f'<nav class="toc" aria-label="Contents"><ol>{nav}</ol></nav>'
        f"<main>{body}</main>"
        f"<footer>Made by trustcode {_e(__version__)} from tables coded by trustcode "
        f"{_e(made)}. This file is self-contained: it loads nothing from the network.</footer>"
        f"<script>{_JS}</script></body></html>\n"
    )

