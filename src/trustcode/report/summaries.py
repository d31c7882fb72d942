"""The sections of numbers: code frequencies, the comparison of groups, co-occurrence and
agreement with a gold coding, each a table and (but agreement) a chart.

Charts come from :func:`trustcode.figures.figure_svg`, imported on first use; the agreement
section lists at most :data:`DISAGREEMENT_ROWS` disagreements of at most
:data:`DISAGREEMENT_CHARS` characters each.

>>> DISAGREEMENT_ROWS, DISAGREEMENT_CHARS
(30, 300)
"""

from __future__ import annotations

import math
from typing import Any

from .data import Data
from .markup import code_name, esc, figure, number, p_value, percent, table_html

#: how many disagreements the agreement section lists
DISAGREEMENT_ROWS = 30
#: characters of a disagreement's text shown
DISAGREEMENT_CHARS = 300


def frequencies_section(data: Data, comparison: Any) -> str:
    leaves = [c.id for c in data.codebook.leaf_codes] + data.unknown
    total = len(data.passages)
    per_code = data.codings.groupby("code").agg(
        passages=("passage_id", "nunique"), documents=("doc_id", "nunique")
    )
    rows = []
    for code in leaves:
        k = int(per_code["passages"].get(code, 0))
        d = int(per_code["documents"].get(code, 0))
        rows.append(
            [
                code_name(data, code),
                f"<code>{esc(code)}</code>",
                str(k),
                percent(k / total if total else math.nan),
                str(d),
            ]
        )
    parts = [
        table_html(
            ["Code", "Id", "Passages coded", "Share of passages", "Documents"],
            rows,
            caption=f"Passages coded with each code, of {total} passages in "
            f"{len(data.doc_order())} documents",
            cls="numeric",
        )
    ]
    if comparison is None:
        parts.append("<p>No passage was coded, so there is no chart.</p>")
    else:
        from trustcode.figures import figure_svg

        parts.append(
            figure(
                figure_svg(comparison, "heatmap"),
                "heatmap",
                "Share of each document's passages coded with each code",
            )
        )
        parts.extend(f'<p class="note">{esc(n)}</p>' for n in comparison.notes)
    return "".join(parts)


def groups_section(data: Data, comparison: Any) -> str:
    if comparison is None:
        return "<p>No passage was coded, so groups cannot be compared.</p>"
    groups = list(comparison.groups)
    sizes = comparison.by_group.drop_duplicates("group").set_index("group")["n_passages"]
    cells = comparison.by_group.set_index(["code", "group"])
    tests = comparison.tests.set_index("code")
    headers = ["Code"] + [
        f'{esc(g)} <span class="n">(n = {int(sizes.get(g, 0))})</span>' for g in groups
    ]
    headers += [
        "Test",
        "Statistic",
        "p",
        f"p adjusted ({esc(comparison.correction)})",
        "Differs?",
        "Note",
    ]
    rows = []
    for code in comparison.codes:
        row = [code_name(data, code)]
        for g in groups:
            c = cells.loc[(code, g)]
            row.append(
                f'{percent(c["share"])} <span class="n">({int(c["passages"])})</span><br>'
                f'<span class="ci">[{percent(c["ci_low"])}, '
                f"{percent(c['ci_high'])}]</span>"
            )
        t = tests.loc[code]
        row += [
            esc(t["test"] or "–"),
            number(t["statistic"]),
            p_value(t["p_value"]),
            p_value(t["p_adjusted"]),
            "yes" if bool(t["reject"]) else "no",
            esc(t["note"]),
        ]
        rows.append(row)
    table = table_html(
        headers,
        rows,
        cls="numeric groups",
        text_columns=(len(groups) + 1, -2, -1),
        caption=f"Share of passages coded (passages coded) and 95% Wilson interval, by "
        f"{esc(data.by)}; tests of whether the share differs between groups",
    )
    from trustcode.figures import figure_svg

    chart = figure(
        figure_svg(comparison, "shares"),
        "shares",
        f"Share of passages coded with each code, by {data.by}",
    )
    return table + chart


def cooccurrence_section(data: Data, comparison: Any) -> str:
    if comparison is None:
        return "<p>No passage was coded, so no codes co-occur.</p>"
    codes = list(comparison.codes)
    co = comparison.cooccurrence.set_index(["code_a", "code_b"])
    headers = ["Code"] + [f'<span title="{esc(data.labels[c])}">{esc(c)}</span>' for c in codes]
    rows = []
    for a in codes:
        row = [code_name(data, a)]
        for b in codes:
            cell = co.loc[(a, b)]
            jac = "" if a == b else f' <span class="n">({number(cell["jaccard"])})</span>'
            row.append(f"{int(cell['n_both'])}{jac}")
        rows.append(row)
    table = table_html(
        headers,
        rows,
        cls="numeric matrix",
        caption="Passages coded with both codes (Jaccard index); the diagonal counts "
        "each code's passages",
    )
    from trustcode.figures import figure_svg

    return table + figure(
        figure_svg(comparison, "cooccurrence"), "cooccurrence", "Co-occurrence of codes in passages"
    )


def agreement_section(data: Data, result: Any) -> str:
    overall = result.overall.iloc[0]
    stats = ["percent_agreement", "cohen_kappa", "fleiss_kappa", "krippendorff_alpha"]
    names = ["Agreement", "Cohen's κ", "Fleiss' κ", "Krippendorff's α", "α 95% interval"]

    def stat_cells(r: Any) -> list[str]:
        cells = [percent(r["percent_agreement"])] + [number(r[s]) for s in stats[1:]]
        return cells + [f"[{number(r['alpha_ci_low'])}, {number(r['alpha_ci_high'])}]"]

    parts = [
        f"<p>Coders: {esc(', '.join(result.coders))}; unit: {esc(result.unit)}; "
        f"{int(overall['n_units'])} units.</p>"
    ]
    parts.append(
        table_html(
            ["Over all codes", *names, "Note"],
            [["all codes", *stat_cells(overall), esc(overall["note"])]],
            cls="numeric",
            text_columns=(-1,),
        )
    )
    rows = [
        [
            code_name(data, r["code"]) if r["code"] in data.colours else esc(r["code"]),
            *stat_cells(r),
            esc(r["note"]),
        ]
        for _, r in result.per_code.iterrows()
    ]
    parts.append(
        table_html(
            ["Code", *names, "Note"],
            rows,
            cls="numeric",
            text_columns=(-1,),
            caption="Agreement per code",
        )
    )
    dis = result.disagreements
    parts.append(
        f"<h3>Disagreements</h3><p>{len(dis)} unit(s) where the coders differ"
        + (f"; the first {DISAGREEMENT_ROWS} are listed" if len(dis) > DISAGREEMENT_ROWS else "")
        + ".</p>"
    )
    if len(dis):
        rows = []
        for _, r in dis.head(DISAGREEMENT_ROWS).iterrows():
            text = str(r.get("text", "") or "")
            if len(text) > DISAGREEMENT_CHARS:
                text = text[:DISAGREEMENT_CHARS] + "…"
            rows.append(
                [
                    esc(r["unit"]),
                    esc(text),
                    esc(r["codes"]),
                    *[esc(r[c]) for c in dis.columns[-len(result.coders) :]],
                ]
            )
        parts.append(
            table_html(
                [
                    "Unit",
                    "Text",
                    "Codes in dispute",
                    *[esc(c) for c in dis.columns[-len(result.coders) :]],
                ],
                rows,
                cls="disputes",
            )
        )
    parts.extend(f'<p class="note">{esc(n)}</p>' for n in result.notes)
    return "".join(parts)
