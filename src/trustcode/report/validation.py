"""The validation section: per code, the estimates a person's coding of a random sample gives
for the whole corpus (``trustcode validate estimate``), with their 95 % intervals, next to the
machine's own counts.

>>> _interval(0.8, 0.61, 0.92)
'0.80 <span class="n">[0.61, 0.92]</span>'
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .data import Data
from .markup import code_name, esc, number, percent, table_html


def _interval(point: Any, low: Any, high: Any) -> str:
    return f'{number(point)} <span class="n">[{number(low)}, {number(high)}]</span>'


def validation_section(data: Data, estimates: pd.DataFrame) -> str:
    total = len(data.passages)
    coded = data.codings.groupby("code")["passage_id"].nunique()
    targets = "meets_target" in estimates.columns
    headers = [
        "Code",
        "Passages coded by the machine",
        "Machine's share",
        "Checked by a person",
        "Precision [95% interval]",
        "Recall [95% interval]",
        "Prevalence [95% interval]",
        "F1",
        "Cohen's κ",
    ]
    if targets:
        headers.append("Meets the target")
    rows = []
    for _, r in estimates.iterrows():
        code = str(r["code"])
        k = int(coded.get(code, 0))
        row = [
            code_name(data, code) if code in data.colours else esc(code),
            str(k),
            percent(k / total if total else float("nan")),
            esc(r["checked"]),
            _interval(r["precision"], r["precision_low"], r["precision_high"]),
            _interval(r["recall"], r["recall_low"], r["recall_high"]),
            _interval(r["prevalence"], r["prevalence_low"], r["prevalence_high"]),
            number(r["f1"]),
            number(r["kappa"]),
        ]
        if targets:
            row.append("yes" if str(r["meets_target"]).lower() in ("true", "1") else "no")
        rows.append(row)
    intro = (
        "<p>A person coded a stratified random sample of the passages without seeing the "
        "machine's codes; these are the estimates for the whole corpus, weighted by each "
        "passage's chance of being drawn. Precision: of the passages the machine coded, the "
        "share that carry the code. Recall: of the passages that carry the code, the share the "
        "machine coded. Prevalence: the share of all passages that carry it, to compare with "
        "the machine's share. Cohen's κ is the agreement of person and machine on the sample."
        "</p>"
    )
    table = table_html(
        headers,
        rows,
        cls="numeric",
        caption="Validation on a hand-coded sample (trustcode validate estimate)",
    )
    return intro + table
