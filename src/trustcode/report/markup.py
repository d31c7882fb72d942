"""Small HTML helpers: escaping, number formats, colour swatches, tables and inline SVG figures.

Every helper returns a string of HTML that is safe to paste into the page: text is escaped by
:func:`esc`, and figures drawn by matplotlib are made fit to sit inline (:func:`_inline_svg`,
scaled by :data:`SVG_SCALE`).

>>> esc("<b>\x07"), percent(0.125), number(-0.001), p_value(0.0004)
('&lt;b&gt;\ufffd', '12.5%', '0.00', '<0.001')
"""

from __future__ import annotations

import html
import math
import re
from typing import Any

from .data import Data

#: how much larger than matplotlib's size figures are shown
SVG_SCALE = 1.25

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def esc(value: Any) -> str:
    # Control characters are not allowed in HTML text; show them as U+FFFD, one for one.
    text = _CONTROL.sub("\ufffd", "" if value is None else str(value))
    return html.escape(text, quote=True)


def number(value: Any, digits: int = 2) -> str:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return "–"
    if math.isnan(x):
        return "–"
    text = f"{x:.{digits}f}"
    # -0.00 (a tiny negative rounded) reads as a sign that is not there
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def percent(value: Any) -> str:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return "–"
    return "–" if math.isnan(x) else f"{100 * x:.1f}%"


def p_value(value: Any) -> str:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return "–"
    if math.isnan(x):
        return "–"
    return "<0.001" if x < 0.001 else f"{x:.3f}"


def swatch(colour: str) -> str:
    return f'<span class="swatch" style="--c:{colour}" aria-hidden="true"></span>'


def code_name(data: Data, code: str) -> str:
    """Swatch and label: the label text always names the code, colour is only a help."""
    return (
        f'<span class="code-name">{swatch(data.colours[code])}'
        f"<span>{esc(data.labels[code])}</span></span>"
    )


def table_html(
    headers: list[str],
    rows: list[list[str]],
    *,
    caption: str = "",
    cls: str = "",
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
            f'<th scope="row">{c}</th>'
            if j == 0
            else f'<td class="txt">{c}</td>'
            if j in text
            else f"<td>{c}</td>"
            for j, c in enumerate(row)
        ]
        body.append(f"<tr>{''.join(cells)}</tr>")
    cap = f"<caption>{caption}</caption>" if caption else ""
    return (
        f'<div class="table-wrap"><table class="{cls}">{cap}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def figure(svg: str, prefix: str, caption: str) -> str:
    return (
        f'<figure class="chart">{_inline_svg(svg, prefix, caption)}'
        f"<figcaption>{esc(caption)}</figcaption></figure>"
    )


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
        tag = re.sub(
            r'\b(width|height)="([0-9.]+)pt"',
            lambda m: f'{m.group(1)}="{float(m.group(2)) * SVG_SCALE:.1f}pt"',
            root.group(),
        )
        svg = svg[: root.start()] + tag + svg[root.end() :]
    return svg.replace("<svg ", f'<svg role="img" aria-label="{esc(label)}" ', 1).strip()
