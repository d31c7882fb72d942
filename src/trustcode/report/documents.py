"""The documents section: each document's text with its coded passages highlighted.

A passage shows one coloured band and label per code, and the evidence and scores behind
each coding; a document's ``language`` becomes its ``lang`` attribute when well-formed.

>>> bool(_LANG.fullmatch("ru")), bool(_LANG.fullmatch("en-GB")), bool(_LANG.fullmatch("x y"))
(True, True, False)
"""

from __future__ import annotations

import math
import re
from typing import Any

import pandas as pd

from .data import Block, Data, passage_blocks
from .markup import esc

_LANG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")


def documents_section(data: Data) -> str:
    if data.passages.empty:
        return "<p>The passages table is empty.</p>"
    docs = data.documents.assign(doc_id=data.documents["doc_id"].astype(str)).set_index("doc_id")
    by_doc = dict(tuple(data.passages.groupby("doc_id", sort=False)))
    # Plain tuples per passage: a report of thousands of passages should not filter a
    # DataFrame once per passage.
    codings_of: dict[str, list[Any]] = {}
    for row in data.codings[
        ["doc_id", "passage_id", "code", "source", "score", "evidence", "coder"]
    ].itertuples(index=False):
        codings_of.setdefault(row.passage_id, []).append(row)
    out = [
        '<p class="hint">Coded passages carry a band and a label for each code; open '
        "<em>Evidence</em> (or hover a label) for the words and scores behind a coding.</p>"
        '<p class="js-only toolbar" hidden><button type="button" data-toggle="open">Open all '
        'documents</button><button type="button" data-toggle="close">Close all</button></p>'
    ]
    for n, doc_id in enumerate(data.doc_order()):
        meta = docs.loc[doc_id] if doc_id in docs.index else pd.Series(dtype=object)
        out.append(_document(data, doc_id, meta, by_doc.get(doc_id), codings_of, n))
    return "".join(out)


def _document(
    data: Data,
    doc_id: str,
    meta: pd.Series,
    passages: pd.DataFrame | None,
    codings_of: dict[str, list[Any]],
    n: int,
) -> str:
    title = str(meta.get("title") or "") or doc_id
    lang = str(meta.get("language") or "")
    lang_attr = f' lang="{esc(lang)}"' if _LANG.fullmatch(lang) else ""
    ids = [] if passages is None else list(passages["passage_id"])
    coded = [pid for pid in ids if pid in codings_of]
    counts: dict[str, int] = {}
    for pid in coded:
        for code in {r.code for r in codings_of[pid]}:
            counts[code] = counts.get(code, 0) + 1
    facts = [f"id <code>{esc(doc_id)}</code>"]
    if lang:
        facts.append(f"language {esc(lang)}")
    if data.by is not None:
        facts.append(f"{esc(data.by)}: {esc(meta.get(data.by, ''))}")
    facts.append(f"{len(ids)} passage{'' if len(ids) == 1 else 's'}, {len(coded)} coded")
    chips = "".join(
        f'<li class="chip" style="--c:{data.colours[c]}">{esc(data.labels[c])} '
        f'<span class="count">{counts[c]}</span></li>'
        for c in data.sort_codes(counts)
    )
    blocks = passage_blocks(passages) if passages is not None else []
    body = [_passage(data, b, codings_of) for b in blocks] or ["<p>No passages.</p>"]
    is_open = " open" if n == 0 else ""
    return (
        f'<section class="document" data-doc="{esc(doc_id)}" aria-labelledby="doc-{n}">'
        f'<details class="doc"{is_open}><summary><h3 id="doc-{n}">{esc(title)}</h3>'
        f'<span class="facts">{" · ".join(facts)}</span>'
        f"{f'<ul class=chips>{chips}</ul>' if chips else ''}</summary>"
        f'<div class="doc-text"{lang_attr}>{"".join(body)}</div></details></section>'
    )


def _passage(data: Data, block: Block, codings_of: dict[str, list[Any]]) -> str:
    rows = [r for pid in block.passage_ids for r in codings_of.get(pid, [])]
    ids = esc(" ".join(block.passage_ids))
    if not rows:
        return (
            f'<div class="passage" data-passages="{ids}" data-codes="">'
            f'<div class="bands"></div><div class="text">{esc(block.text)}</div>'
            f'<div class="codes"></div></div>'
        )
    codes = data.sort_codes(r.code for r in rows)
    bands = "".join(f'<span style="--c:{data.colours[c]}"></span>' for c in codes)
    chips, evidence = [], []
    for code in codes:
        own = [r for r in rows if r.code == code]
        hover = "; ".join(_coding_line(r) for r in own)
        chips.append(
            f'<li class="chip" style="--c:{data.colours[code]}" data-code="{esc(code)}" '
            f'title="{esc(data.labels[code])}: {esc(hover)}">'
            f"{esc(data.labels[code])}</li>"
        )
        for r in own:
            where = (
                f' <span class="pid">{esc(r.passage_id)}</span>'
                if len(block.passage_ids) > 1
                else ""
            )
            evidence.append(
                f'<li><span class="ev-code">{esc(data.labels[code])}</span> · '
                f"{esc(_coding_line(r, evidence=False))}{where}"
                + (f'<br><span class="ev-text">{esc(r.evidence)}</span>' if r.evidence else "")
                + "</li>"
            )
    return (
        f'<div class="passage coded" data-passages="{ids}" data-codes="{esc(" ".join(codes))}" '
        f'style="--c:{data.colours[codes[0]]}"><div class="bands" aria-hidden="true">{bands}</div>'
        f'<div class="text">{esc(block.text)}</div><div class="codes">'
        f'<ul class="chips">{"".join(chips)}</ul><details class="evidence"><summary>Evidence'
        f"</summary><ul>{''.join(evidence)}</ul></details></div></div>"
    )


def _coding_line(row: Any, *, evidence: bool = True) -> str:
    parts = [row.source or "coded"]
    if not math.isnan(row.score):
        parts.append(f"score {row.score:.2f}")
    if row.coder:
        parts.append(f"by {row.coder}")
    text = ", ".join(parts)
    return f"{text}: {row.evidence}" if evidence and row.evidence else text
