"""The validation sample workbook: written with the review workbook's layout (same review,
instructions, codebook and provenance sheets, see :mod:`trustcode.review`), plus a protected
``design`` sheet; read back into the person's coding of each sampled passage and the design.

A blind sheet (the default) has no machine column at all: no ``machine_codes``, no proposal
column per code, no comments, and its rows in the coded output's order, so nothing in the
workbook tells which passage the machine coded with what.

>>> DESIGN_SHEET
'design'
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import LIST_LIMIT, GoldError, InputError, OutputError, TrustcodeWarning
from ..io.tables import is_missing
from ..review.layout import (
    CODEBOOK_SHEET,
    DECISION_SUFFIX,
    INSTRUCTIONS_SHEET,
    PROVENANCE_SHEET,
    REVIEW_SHEET,
)
from ..review.reading import Reader, cell_text, offset, open_review, open_workbook
from ..review.rows import review_rows
from ..review.writing import (
    check_fits,
    save_atomically,
    set_cell,
    write_codebook,
    write_instructions,
    write_provenance,
    write_review_sheet,
)
from ..types import Codebook
from .design import DESIGN_FORMAT, Design, MachineCoding, Stratum

DESIGN_SHEET = "design"
#: the first columns of a sample sheet; ``machine_codes`` follows only with show_machine
SAMPLE_COLUMNS: tuple[str, ...] = ("passage_id", "doc_id", "start", "end", "text")
_STRATA_HEADER = ("code", "stratum", "passages", "drawn", "inclusion_probability")

VALIDATION_INSTRUCTIONS: tuple[str, ...] = (
    "How to code this validation sample",
    "",
    "Each row of the 'review' sheet is one passage, drawn at random from a coded corpus so that "
    "the accuracy of the automatic coding can be estimated for the whole corpus. Code every "
    "passage yourself, from the text and the codebook alone.",
    "For every code there is a column '<code>: decision'. Pick 'accept' when the code applies "
    "to the passage and 'reject' when it does not. Decide every code of every row you code.",
    "In a row you coded, a decision cell left empty counts as 'reject'. A row with no decision "
    "at all (and no added code) counts as not coded and is left out of the estimates; leaving "
    "rows out at random is fine, choosing which ones is not.",
    "'added_codes': you may instead type code ids that apply, separated by ';' "
    "(for example: {example}); they count as accepted. The ids are on the 'codebook' sheet.",
    "'reviewer': your name or initials. 'note': anything you want to remember.",
    "Do NOT edit the 'design' sheet, do not add, delete or reorder rows of the 'review' sheet, "
    "and do not edit its passage_id, doc_id, start, end or text columns: the estimate checks "
    "them and refuses a changed sample.",
    "When done, save the workbook (keep the .xlsx format) and run: "
    "trustcode validate estimate THIS.xlsx CODED -o estimates.xlsx",
)
_SHOWN_NOTE = (
    "This sheet SHOWS the machine's codes ('machine_codes' and a column per code, with the "
    "evidence in a comment). Try not to let them sway you: a person who confirms the machine "
    "makes it look better than it is."
)


@dataclass(frozen=True)
class CodedSample:
    """A sample workbook read back: its design, and per sheet row the passage id, whether the
    person coded it, and their codes (a passage x code bool matrix in the design's code order)."""

    design: Design
    passage_ids: tuple[str, ...]
    checked: np.ndarray
    person: np.ndarray
    lines: tuple[int, ...]


def _write_design(ws: Any, design: Design) -> None:
    from openpyxl.styles import Font

    bold = Font(bold=True)
    ws.column_dimensions["A"].width = 24
    ws.column_dimensions["B"].width = 70
    for column in "CDE":
        ws.column_dimensions[column].width = 20
    set_cell(ws, 1, 1, "key").font = bold
    set_cell(ws, 1, 2, "value").font = bold
    entries = {**design.entries(), "design_sha256": design.checksum()}
    r = 2
    for key, value in entries.items():
        set_cell(ws, r, 1, key)
        set_cell(ws, r, 2, value)
        r += 1
    r += 1
    for i, name in enumerate(_STRATA_HEADER, 1):
        set_cell(ws, r, i, name).font = bold
    for row in design.strata_frame().itertuples(index=False):
        r += 1
        for i, value in enumerate(row, 1):
            set_cell(ws, r, i, value.item() if hasattr(value, "item") else value)
    # the sheet is locked (without a password) so an edit is not made by accident
    ws.protection.sheet = True


def write_sample(
    coding: MachineCoding,
    rows: np.ndarray,
    design: Design,
    path: str | os.PathLike[str],
    *,
    codebook: Codebook,
    tables: Mapping[str, pd.DataFrame],
    provenance: Mapping[str, Any] | None = None,
    force: bool = False,
) -> Path:
    """Write the sample workbook for the drawn ``rows`` of ``coding``: the review sheet (blind
    unless ``design.show_machine``), instructions, codebook, provenance and design.

    >>> write_sample(coding, rows, design, "s.xlsx", codebook=book, tables=t)  # doctest: +SKIP
    PosixPath('s.xlsx')
    """
    from openpyxl import Workbook

    target = check_sample_target(path, force=force)
    leaf_ids = [c.id for c in codebook.leaf_codes]
    if list(design.codes) != leaf_ids:
        raise InputError(
            "the design's codes are not the codebook's leaf codes; draw with the "
            "codebook the sample sheet is written with."
        )
    ids = coding.passages["passage_id"].astype(str).to_numpy()[rows]
    passages = coding.passages.iloc[rows]
    codings = tables["codings"]
    chosen = codings[codings["passage_id"].astype(str).isin(set(ids))]
    documents = tables.get("documents")
    sub = {"passages": passages, "codings": chosen}
    if documents is not None:
        sub["documents"] = documents
    order = {pid: i for i, pid in enumerate(ids)}
    sheet_rows = sorted(review_rows(sub, leaf_ids), key=lambda row: order[row["passage_id"]])
    check_fits(sheet_rows, target)

    base = SAMPLE_COLUMNS + (("machine_codes",) if design.show_machine else ())
    lines = VALIDATION_INSTRUCTIONS
    if design.show_machine:
        lines = (*lines[:3], _SHOWN_NOTE, *lines[3:])
    wb = Workbook()
    ws = wb.active
    ws.title = REVIEW_SHEET
    write_review_sheet(ws, sheet_rows, codebook, base=base, proposals=design.show_machine)
    write_instructions(wb.create_sheet(INSTRUCTIONS_SHEET), codebook, lines)
    write_codebook(wb.create_sheet(CODEBOOK_SHEET), codebook)
    write_provenance(wb.create_sheet(PROVENANCE_SHEET), codebook, provenance)
    _write_design(wb.create_sheet(DESIGN_SHEET), design)
    return save_atomically(wb, target)


def check_sample_target(path: str | os.PathLike[str], *, force: bool) -> Path:
    """Check, before any work, that a sample workbook can be written at ``path``."""
    from ..io.tables import check_output

    target = Path(path)
    if target.suffix.lower() != ".xlsx":
        raise OutputError(
            f"{target}: a validation sample is an Excel workbook; give a name "
            f"ending in .xlsx (e.g. '{target.with_suffix('.xlsx')}')."
        )
    check_output(target, force=force)
    return target


def design_error(path: Path, what: str) -> InputError:
    return InputError(
        f"{path}, sheet {DESIGN_SHEET!r}: {what}. The design sheet must stay as 'trustcode "
        "validate draw' wrote it; draw the sample again (same seed and per_code) and copy "
        "your decisions over."
    )


def read_design(path: str | os.PathLike[str]) -> Design:
    """The design stored in a sample workbook, checked against its own checksum.

    >>> read_design("sample.xlsx").per_code  # doctest: +SKIP
    20
    """
    import json

    p = Path(path)
    wb = open_workbook(p, "sample workbook")
    try:
        if DESIGN_SHEET not in wb.sheetnames:
            raise InputError(
                f"{p}: not a validation sample: it has no {DESIGN_SHEET!r} sheet. "
                "Give the workbook 'trustcode validate draw' wrote."
            )
        values = [tuple(r) for r in wb[DESIGN_SHEET].iter_rows(values_only=True)]
    finally:
        wb.close()
    entries: dict[str, Any] = {}
    strata: list[Stratum] = []
    in_strata = False
    for row in values[1:]:
        cells = [None if is_missing(v) else v for v in row]
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in cells):
            continue
        if not in_strata and tuple(cell_text(v) for v in cells[:5]) == _STRATA_HEADER:
            in_strata = True
            continue
        if not in_strata:
            entries[cell_text(cells[0])] = cells[1] if len(cells) > 1 else None
            continue
        code, name = cell_text(cells[0]), cell_text(cells[1])
        size, drawn = offset(cells[2]), offset(cells[3])
        if size is None or drawn is None:
            raise design_error(p, f"the stratum row for {code!r} ({name}) is not two counts")
        strata.append(Stratum(code, name, size, drawn))
    if cell_text(entries.get("format")) != DESIGN_FORMAT:
        raise design_error(p, f"expected format {DESIGN_FORMAT!r}, found {entries.get('format')!r}")
    try:
        codes = tuple(str(c) for c in json.loads(cell_text(entries.get("codes"))))
        numbers = {
            k: offset(entries.get(k)) for k in ("per_code", "seed", "passages", "sample_size")
        }
        if any(v is None for v in numbers.values()):
            raise ValueError
        design = Design(
            codes=codes,
            per_code=int(numbers["per_code"] or 0),
            seed=int(numbers["seed"] or 0),
            coded_sha256=cell_text(entries.get("coded_sha256")),
            passages=int(numbers["passages"] or 0),
            sample_size=int(numbers["sample_size"] or 0),
            sample_sha256=cell_text(entries.get("sample_sha256")),
            show_machine=cell_text(entries.get("show_machine")) == "yes",
            strata=tuple(strata),
        )
    except (ValueError, TypeError):
        raise design_error(p, "an entry is missing or not of its kind") from None
    if design.checksum() != cell_text(entries.get("design_sha256")):
        raise design_error(p, "it was edited (its checksum no longer matches its content)")
    return design


def read_sample(path: str | os.PathLike[str]) -> CodedSample:
    """Read a coded sample workbook: its design and the person's coding of every row.

    Decisions other than accept/reject, a duplicated passage or decision columns that differ
    from the design's codes raise an error naming row and column; nothing is half read.

    >>> sample = read_sample("sample.xlsx")  # doctest: +SKIP
    >>> int(sample.checked.sum())  # doctest: +SKIP
    212
    """
    p = Path(path)
    design = read_design(p)
    names, sheet_codes, data = open_review(p)
    reader = Reader(names, set(design.codes), sheet_codes, "reject")
    if sorted(reader.codes) != sorted(design.codes):
        raise GoldError(
            f"{p}, sheet {REVIEW_SHEET!r}: the decision columns name the codes "
            f"{', '.join(reader.codes)}, but the sample was drawn for "
            f"{', '.join(design.codes)}; restore the columns the workbook was written with."
        )
    decision_at = [reader.col[f"{c}{DECISION_SUFFIX}"] for c in design.codes]
    added_at = reader.col["added_codes"]
    index = {c: k for k, c in enumerate(design.codes)}
    ids: list[str] = []
    checked: list[bool] = []
    person: list[list[bool]] = []
    lines: list[int] = []
    partial = 0
    for r, values in enumerate(data, 2):
        row = reader.read(r, values)
        if row is None:
            continue
        cells = [values[i] if i < len(values) else None for i in decision_at]
        decided = [bool(cell_text(v)) for v in cells]
        added = bool(cell_text(values[added_at] if added_at < len(values) else None))
        ids.append(row["passage_id"])
        checked.append(any(decided) or added)
        partial += int((any(decided) or added) and not all(decided))
        mine = [False] * len(design.codes)
        for code in row["codes"]:
            mine[index[code]] = True
        person.append(mine)
        lines.append(r)
    reader.raise_problems(f"{p}, sheet {REVIEW_SHEET!r}")
    if partial:
        warnings.warn(
            f"{p}: {partial} coded row(s) leave some codes without a decision; an empty "
            "decision in a coded row counts as 'reject'.",
            TrustcodeWarning,
            stacklevel=2,
        )
    return CodedSample(
        design=design,
        passage_ids=tuple(ids),
        checked=np.array(checked, dtype=bool),
        person=np.array(person, dtype=bool).reshape(len(ids), len(design.codes)),
        lines=tuple(lines),
    )


def check_rows(path: Path, sample: CodedSample, expected: list[str]) -> None:
    """Refuse a sample sheet whose rows are not exactly the drawn passages."""
    have, want = set(sample.passage_ids), set(expected)
    added = [pid for pid in sample.passage_ids if pid not in want]
    removed = [pid for pid in expected if pid not in have]
    if not added and not removed:
        return
    parts = []
    if added:
        parts.append(f"{len(added)} row(s) that were not drawn ({', '.join(added[:LIST_LIMIT])})")
    if removed:
        parts.append(
            f"{len(removed)} drawn passage(s) are missing ({', '.join(removed[:LIST_LIMIT])})"
        )
    raise InputError(
        f"{path}, sheet {REVIEW_SHEET!r}: the sample's rows were changed: "
        + "; ".join(parts)
        + ". Restore the rows 'trustcode validate draw' wrote; a row you do "
        "not code can stay with its decisions empty."
    )
