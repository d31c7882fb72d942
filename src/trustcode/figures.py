"""Figures of a :class:`~trustcode.compare.ComparisonResult`, as PNG and SVG files or SVG text.

Colours are safe for colour-blind readers: sequential data use cividis/viridis, categories the
Okabe-Ito palette. matplotlib is imported when a figure is drawn, with the Agg backend and no
pyplot state, so importing trustcode stays fast and works without a display.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from trustcode.atomic import check_target, write_atomic
from trustcode.compare import ComparisonResult
from trustcode.errors import UsageError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Okabe & Ito (2008) colour-blind-safe categorical palette, black last
OKABE_ITO: tuple[str, ...] = (
    "#E69F00",
    "#56B4E9",
    "#009E73",
    "#F0E442",
    "#0072B2",
    "#D55E00",
    "#CC79A7",
    "#000000",
)
FORMATS: tuple[str, ...] = ("png", "svg")


def heatmap_code_document(
    result: ComparisonResult, path: str | Path, *, force: bool = False
) -> list[Path]:
    """Heat map of each code's share of passages in each document; writes ``path`` .png and .svg.

    >>> heatmap_code_document(compare(tables), "out/codes_by_document")  # doctest: +SKIP
    [PosixPath('out/codes_by_document.png'), PosixPath('out/codes_by_document.svg')]
    """
    return _write(_heatmap_figure(result), path, force)


def shares_by_group(
    result: ComparisonResult, path: str | Path, *, force: bool = False
) -> list[Path]:
    """Bars of each code's share of passages per group with 95% Wilson intervals.

    >>> shares_by_group(compare(tables, by="group"), "out/shares")  # doctest: +SKIP
    [PosixPath('out/shares.png'), PosixPath('out/shares.svg')]
    """
    return _write(_shares_figure(result), path, force)


def cooccurrence_heatmap(
    result: ComparisonResult, path: str | Path, *, force: bool = False
) -> list[Path]:
    """Heat map of code co-occurrence in passages (Jaccard index, counts in the cells).

    >>> cooccurrence_heatmap(compare(tables), "out/cooccurrence")  # doctest: +SKIP
    [PosixPath('out/cooccurrence.png'), PosixPath('out/cooccurrence.svg')]
    """
    return _write(_cooccurrence_figure(result), path, force)


def figure_svg(result: ComparisonResult, kind: str) -> str:
    """One figure as SVG text, for embedding in an HTML page.

    ``kind`` is ``heatmap`` (code x document), ``shares`` (by group) or ``cooccurrence``.

    >>> figure_svg(compare(tables), "heatmap").startswith("<?xml")  # doctest: +SKIP
    True
    """
    builders: dict[str, Callable[[ComparisonResult], Any]] = {
        "heatmap": _heatmap_figure,
        "shares": _shares_figure,
        "cooccurrence": _cooccurrence_figure,
    }
    if kind not in builders:
        raise UsageError(
            f"figure_svg: kind={kind!r} is not one of {', '.join(builders)}. "
            "Fix: pass kind='heatmap', 'shares' or 'cooccurrence'."
        )
    buffer = io.BytesIO()
    _save(builders[kind](result), buffer, "svg")
    return buffer.getvalue().decode("utf-8")


# --- drawing ----------------------------------------------------------------------------------


def _new_figure(width: float, height: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)  # attaches the Agg canvas; no pyplot, no global backend switch
    return fig


def _code_labels(result: ComparisonResult) -> list[str]:
    return [result.label(c) for c in result.codes]


def _short(label: str, width: int = 30) -> str:
    """A tick label that fits: long document ids are cut in the middle."""
    if len(label) <= width:
        return label
    half = (width - 1) // 2
    return f"{label[:half]}…{label[-(width - 1 - half) :]}"


def _heatmap_figure(result: ComparisonResult) -> Figure:
    table = result.by_document.pivot(index="code", columns="doc_id", values="share")
    docs = list(dict.fromkeys(result.by_document["doc_id"]))
    values = table.reindex(index=list(result.codes), columns=docs).to_numpy(float)
    label_width = 0.075 * max((len(x) for x in _code_labels(result)), default=10)
    fig = _new_figure(
        max(6.5, label_width + 2.5 + 0.7 * len(docs)), max(3.5, 2.6 + 0.38 * len(result.codes))
    )
    ax = fig.add_subplot()
    image = ax.imshow(values, cmap="cividis", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(
        range(len(docs)),
        [_short(str(d)) for d in docs],
        rotation=40,
        ha="right",
        rotation_mode="anchor",
        fontsize=8,
    )
    ax.set_yticks(range(len(result.codes)), _code_labels(result))
    if len(docs) <= 30:
        for i in range(values.shape[0]):
            for j in range(values.shape[1]):
                if not np.isnan(values[i, j]):
                    # dark text on the light (yellow) end of cividis, light on the dark end
                    colour = "black" if values[i, j] > 0.55 else "white"
                    ax.text(
                        j,
                        i,
                        f"{values[i, j]:.2f}",
                        ha="center",
                        va="center",
                        color=colour,
                        fontsize=7,
                    )
    ax.set_xlabel("Document")
    ax.set_ylabel("Code")
    ax.set_title("Share of each document's passages coded")
    fig.colorbar(image, ax=ax, label="Share of passages", shrink=0.8)
    return fig


def _shares_figure(result: ComparisonResult) -> Figure:
    groups = list(result.groups)
    codes = list(result.codes)
    frame = result.by_group.set_index(["code", "group"])
    fig = _new_figure(max(6.5, 2.5 + 0.5 * len(codes) * max(len(groups), 1)), 5.0)
    ax = fig.add_subplot()
    width = 0.8 / max(len(groups), 1)
    x = np.arange(len(codes))
    for i, group in enumerate(groups):
        rows = frame.reindex([(c, group) for c in codes])
        share = rows["share"].to_numpy(float)
        low = np.nan_to_num(share - rows["ci_low"].to_numpy(float))
        high = np.nan_to_num(rows["ci_high"].to_numpy(float) - share)
        ax.bar(
            x + (i - (len(groups) - 1) / 2) * width,
            share,
            width,
            yerr=[low, high],
            capsize=2,
            label=str(group),
            color=OKABE_ITO[i % len(OKABE_ITO)],
            edgecolor="black",
            linewidth=0.5,
        )
    ax.set_xticks(x, _code_labels(result), rotation=30, ha="right", rotation_mode="anchor")
    ax.set_ylim(0, 1)
    ax.set_xlabel("Code")
    ax.set_ylabel("Share of passages")
    title = f"Share of passages coded, by {result.by}" if result.by else "Share of passages coded"
    ax.set_title(f"{title}\n(error bars: 95% Wilson interval)", fontsize=10)
    if len(groups) > 1:
        ax.legend(
            title=result.by or "group", frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0)
        )
    return fig


def _cooccurrence_figure(result: ComparisonResult) -> Figure:
    codes = list(result.codes)
    co = result.cooccurrence
    jaccard = co.pivot(index="code_a", columns="code_b", values="jaccard")
    both = co.pivot(index="code_a", columns="code_b", values="n_both")
    values = jaccard.reindex(index=codes, columns=codes).to_numpy(float)
    counts = both.reindex(index=codes, columns=codes).to_numpy(float)
    size = max(4.0, 1.8 + 0.5 * len(codes))
    label_width = 0.075 * max((len(x) for x in _code_labels(result)), default=10)
    fig = _new_figure(size + label_width + 1.5, size + label_width * 0.7)
    ax = fig.add_subplot()
    image = ax.imshow(values, cmap="viridis", vmin=0.0, vmax=1.0)
    labels = _code_labels(result)
    ax.set_xticks(range(len(codes)), labels, rotation=45, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(len(codes)), labels)
    for i in range(len(codes)):
        for j in range(len(codes)):
            if np.isnan(values[i, j]):
                continue
            # Dark text on the light (yellow) end of viridis, light text on the dark end.
            colour = "black" if values[i, j] > 0.6 else "white"
            ax.text(
                j, i, f"{int(counts[i, j])}", ha="center", va="center", color=colour, fontsize=8
            )
    ax.set_xlabel("Code")
    ax.set_ylabel("Code")
    fig.suptitle(
        "Code co-occurrence in passages\n(colour: Jaccard index; number: passages with both codes)",
        fontsize=10,
    )
    fig.colorbar(image, ax=ax, label="Jaccard index")
    return fig


# --- writing ----------------------------------------------------------------------------------


def _save(fig: Figure, target: Any, fmt: str) -> None:
    import matplotlib

    # No dates or version stamps in the files, so the same result gives the same bytes; SVG
    # text stays text (searchable, selectable in the HTML report) instead of glyph outlines.
    metadata = {"Date": None} if fmt == "svg" else {"Software": None}
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "trustcode"}):
        fig.savefig(target, format=fmt, dpi=150, metadata=metadata)


def _write(fig: Figure, path: str | Path, force: bool) -> list[Path]:
    base = Path(path)
    if base.suffix.lower() in {f".{f}" for f in FORMATS}:
        base = base.with_suffix("")
    targets = [base.with_name(f"{base.name}.{fmt}") for fmt in FORMATS]
    for target in targets:
        check_target(target, force=force)
    for target, fmt in zip(targets, FORMATS, strict=True):
        # drawn in memory (a figure is small), then written beside the target and renamed:
        # a crash or a full disk never leaves half a file behind
        buffer = io.BytesIO()
        _save(fig, buffer, fmt)
        write_atomic(target, buffer.getvalue(), force=True)
    return targets
