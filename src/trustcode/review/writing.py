"""Writing the review workbook: :func:`write_review` and the five sheets it holds (review,
instructions, codebook, provenance, documents), saved under a temporary name and renamed into place.

>>> write_review(run.tables, "review.xlsx", codebook=book)  # doctest: +SKIP
PosixPath('review.xlsx')
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import __version__
from ..atomic import atomic_output
from ..errors import OutputError, UsageError
from ..types import Codebook
from .layout import (
    BASE_COLUMNS,
    CODEBOOK_SHEET,
    DECISION_SUFFIX,
    DECISIONS,
    DOCUMENTS_SHEET,
    INSTRUCTIONS,
    INSTRUCTIONS_SHEET,
    MAX_CELL,
    MAX_ROWS,
    PROMPT_LIMIT,
    PROPOSED,
    PROVENANCE_SHEET,
    REVIEW_SHEET,
    REVIEW_SIZE,
    TAIL_COLUMNS,
    TITLE_LIMIT,
    WIDTHS,
    WRAPPED,
)
from .rows import check_run_tables, review_rows
from .staleness import write_documents_sheet


def _comment_text(score: float | None, sources: list[str], evidences: list[str]) -> str:
    head = " + ".join(sources) or "machine"
    if score is not None:
        head += f", score {score:.2f}"
    text = "\n".join([head, *evidences])
    return text if len(text) <= 2000 else text[:1999] + "…"


def set_cell(ws: Any, row: int, column: int, value: Any) -> Any:
    """Write a cell; a text stays text even when it starts with '=' (never a formula)."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    cell = ws.cell(row=row, column=column)
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
        cell.value = value
        cell.data_type = "s"
    else:
        cell.value = value
    return cell


def _prompt(text: str, fallback: str) -> str:
    return text if len(text) <= PROMPT_LIMIT else fallback


def write_review_sheet(
    ws: Any,
    rows: list[dict[str, Any]],
    codebook: Codebook,
    *,
    base: Sequence[str] = BASE_COLUMNS,
    proposals: bool = True,
) -> None:
    """The review sheet: ``base`` columns, then per leaf code its proposal column (unless
    ``proposals`` is false: a blind validation sample shows none) and its decision column."""
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    from ..io.tables.xlsx import code_styles

    leaf_ids = [c.id for c in codebook.leaf_codes]
    columns = [*base]
    for code in leaf_ids:
        columns += [code, f"{code}{DECISION_SUFFIX}"] if proposals else [f"{code}{DECISION_SUFFIX}"]
    columns += TAIL_COLUMNS
    index = {name: i for i, name in enumerate(columns, 1)}
    styles = code_styles(codebook)
    bold = Font(bold=True)
    for name, i in index.items():
        cell = set_cell(ws, 1, i, name)
        cell.font = bold
        code = name.removesuffix(DECISION_SUFFIX)
        if code in styles:
            fill, colour = styles[code]
            cell.fill, cell.font = fill, Font(bold=True, color=colour)
        letter = get_column_letter(i)
        width = WIDTHS.get(name, max(len(name) + 3, 10))
        ws.column_dimensions[letter].width = width

    wrap = Alignment(wrap_text=True, vertical="top")
    top = Alignment(vertical="top")
    for r, row in enumerate(rows, 2):
        for name in (*base, "language"):
            value = row[name]
            cell = set_cell(ws, r, index[name], value if value != "" else None)
            cell.alignment = wrap if name in WRAPPED else top
        for code, (score, sources, evidences) in (row["_proposals"] if proposals else {}).items():
            cell = set_cell(ws, r, index[code], PROPOSED)
            comment = Comment(_comment_text(score, sources, evidences), "trustcode")
            comment.width, comment.height = 320, 160
            cell.comment = comment
        ws.cell(row=r, column=index["note"]).alignment = wrap

    last_row = max(len(rows) + 1, 2)
    decisions = DataValidation(
        type="list",
        formula1='"' + ",".join(DECISIONS) + '"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="accept or reject",
        error="Choose accept or reject from the list, or leave the cell empty (not reviewed).",
        showInputMessage=True,
        promptTitle="Your decision",
        prompt="accept: the code applies to this passage. reject: it does not. "
        "Empty: not reviewed (the machine's proposal is not confirmed).",
    )
    ws.add_data_validation(decisions)
    for code in leaf_ids:
        letter = get_column_letter(index[f"{code}{DECISION_SUFFIX}"])
        decisions.add(f"{letter}2:{letter}{last_row}")
    hint = "Code ids separated by ';'. Valid: " + ", ".join(leaf_ids)
    added = DataValidation(
        allow_blank=True,
        showInputMessage=True,
        promptTitle="Codes you add"[:TITLE_LIMIT],
        prompt=_prompt(hint, "Code ids separated by ';'; the valid ids are on the codebook sheet."),
    )
    ws.add_data_validation(added)
    letter = get_column_letter(index["added_codes"])
    added.add(f"{letter}2:{letter}{last_row}")

    # freeze the header and the passage id, so both stay in view while scrolling
    ws.freeze_panes = "B2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(rows) + 1}"


def write_instructions(ws: Any, codebook: Codebook, lines: Sequence[str] = INSTRUCTIONS) -> None:
    from openpyxl.styles import Alignment, Font

    example = "; ".join(c.id for c in codebook.leaf_codes[:2]) or "code_a; code_b"
    ws.column_dimensions["A"].width = 110
    for r, line in enumerate(lines, 1):
        cell = set_cell(ws, r, 1, line.replace("{example}", example) or None)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.cell(row=1, column=1).font = Font(bold=True, size=14)


def write_codebook(ws: Any, codebook: Codebook) -> None:
    from openpyxl.styles import Alignment, Font

    from ..io.tables.xlsx import code_styles

    styles = code_styles(codebook)
    for i, (name, width) in enumerate(
        (("id", 24), ("label", 36), ("definition", 80), ("colour", 10)), 1
    ):
        set_cell(ws, 1, i, name).font = Font(bold=True)
        ws.column_dimensions["ABCD"[i - 1]].width = width
    for r, code in enumerate(codebook.codes, 2):
        cell = set_cell(ws, r, 1, code.id)
        if code.id in styles:
            fill, colour = styles[code.id]
            cell.fill, cell.font = fill, Font(color=colour)
        set_cell(ws, r, 2, code.label)
        set_cell(ws, r, 3, code.definition or None).alignment = Alignment(wrap_text=True)
        set_cell(ws, r, 4, code.colour)
    ws.freeze_panes = "A2"


def write_provenance(ws: Any, codebook: Codebook, provenance: Mapping[str, Any] | None) -> None:
    from openpyxl.styles import Font

    entries: dict[str, Any] = dict(provenance or {})
    entries.update(
        {
            "review_format": "trustcode review sheet, version 1",
            "review_trustcode_version": __version__,
            "review_codebook_name": codebook.name,
            "review_codebook_sha256": codebook.sha256,
        }
    )
    set_cell(ws, 1, 1, "key").font = Font(bold=True)
    set_cell(ws, 1, 2, "value").font = Font(bold=True)
    ws.column_dimensions["A"].width = 28
    ws.column_dimensions["B"].width = 80
    for r, (key, value) in enumerate(entries.items(), 2):
        if value is not None and not isinstance(value, str | int | float | bool):
            value = json.dumps(value, ensure_ascii=False, sort_keys=True)
        set_cell(ws, r, 1, str(key))
        set_cell(ws, r, 2, value)


def check_fits(rows: list[dict[str, Any]], path: Path) -> None:
    if len(rows) + 1 > MAX_ROWS:
        raise OutputError(
            f"cannot write {path}: {len(rows):,} passages are more rows than an Excel sheet "
            "holds; review a part of the corpus at a time."
        )
    for row in rows:
        if len(row["text"]) > MAX_CELL:
            raise OutputError(
                f"cannot write {path}: passage {row['passage_id']} holds {len(row['text']):,} "
                f"characters, more than an Excel cell holds ({MAX_CELL:,}); segment with a "
                "smaller unit (e.g. unit='sentence').",
                params=("unit",),
            )


def write_review(
    tables: Mapping[str, pd.DataFrame],
    path: str | os.PathLike[str],
    *,
    codebook: Codebook,
    force: bool = False,
    provenance: Mapping[str, Any] | None = None,
    model: Any | None = None,
    review_size: int = REVIEW_SIZE,
) -> Path:
    """Write a review workbook for a coding run's tables (``passages``, ``codings``, and
    ``documents`` for the languages); return its path.

    The first ``review_size`` rows are the passages whose review teaches the model most
    (:func:`~trustcode.review.selection.review_order`: with the run's ``model``, how unsure
    it is per code, rare codes first, spread over documents and languages, no near-duplicates;
    without one, the least sure passages, spread the same way); the other rows follow, least
    sure first.

    Sheets: ``review`` (one row per passage, in that order), ``instructions``, ``codebook``,
    ``provenance`` (the run's ``provenance`` when given, and the codebook's hash) and
    ``documents`` (each document's source and text hash, from the ``documents`` table, by
    which a stale row is told when the sheet is read back). The file
    is written to a temporary name beside ``path`` and renamed into place.

    >>> write_review(run.tables, "review.xlsx", codebook=book)  # doctest: +SKIP
    PosixPath('review.xlsx')
    """
    from openpyxl import Workbook

    from ..io.tables import check_output

    target = Path(path)
    if target.suffix.lower() != ".xlsx":
        raise OutputError(
            f"{target}: a review sheet is an Excel workbook; give a name ending in .xlsx "
            f"(e.g. '{target.with_suffix('.xlsx')}')."
        )
    check_output(target, force=force)
    check_run_tables(tables)
    if isinstance(review_size, bool) or not isinstance(review_size, int) or review_size < 0:
        raise UsageError(
            f"The 'review_size' parameter of write_review must be an int in "
            f"[0, inf). Got {review_size!r} instead."
        )
    rows = review_rows(tables, [c.id for c in codebook.leaf_codes])
    check_fits(rows, target)
    rows, chosen = _teaching_order(rows, model, review_size)

    wb = Workbook()
    ws = wb.active
    ws.title = REVIEW_SHEET
    write_review_sheet(ws, rows, codebook)
    count = (
        f"This sheet holds {len(rows)} passage(s). The first {chosen} were chosen to "
        "teach the model most (unsure codes, rare codes, spread over documents and "
        "languages, no near-duplicates); the rest follow, least sure first. Review from "
        "the top: rows you leave untouched do not count."
    )
    write_instructions(
        wb.create_sheet(INSTRUCTIONS_SHEET),
        codebook,
        (INSTRUCTIONS[0], "", count, *INSTRUCTIONS[1:]),
    )
    write_codebook(wb.create_sheet(CODEBOOK_SHEET), codebook)
    write_provenance(
        wb.create_sheet(PROVENANCE_SHEET),
        codebook,
        {**(provenance or {}), "review_passages": len(rows), "review_chosen": chosen},
    )
    write_documents_sheet(wb.create_sheet(DOCUMENTS_SHEET), tables.get("documents"))
    return save_atomically(wb, target)


def _teaching_order(
    rows: list[dict[str, Any]], model: Any | None, size: int
) -> tuple[list[dict[str, Any]], int]:
    """The rows with the ``size`` that teach most first, and how many were chosen."""
    from .selection import choose_for_review, content_words, review_order

    texts = [r["text"] for r in rows]
    docs = [r["doc_id"] for r in rows]
    languages = [r["language"] for r in rows]
    if model is not None and len(model.classifier_codes_) > 0:
        # the codes the run's rules gave each passage (its proposals with a rule among sources)
        rules = np.array(
            [
                [
                    any("rule" in s for s in r["_proposals"].get(c, (None, [], []))[1])
                    for c in model.classifier_codes_
                ]
                for r in rows
            ],
            dtype=bool,
        )
        order, chosen = review_order(
            model, texts, docs, languages, size, rules.reshape(len(rows), -1)
        )
    else:
        value = np.array([r["uncertainty"] or 0.0 for r in rows], dtype=np.float64)
        picked = choose_for_review(value, docs, languages, [content_words(t) for t in texts], size)
        taken = set(picked)
        order = picked + [i for i in range(len(rows)) if i not in taken]
        chosen = len(picked)
    return [rows[i] for i in order], chosen


def save_atomically(wb: Any, target: Path) -> Path:
    """Save a workbook under a temporary name beside ``target`` and rename it into place (a
    full disk leaves nothing behind)."""
    from ..io.tables.xlsx import save_workbook

    with atomic_output(target, suffix=".xlsx") as tmp:
        save_workbook(wb, tmp)
    return target
