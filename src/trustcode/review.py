"""The spreadsheet review loop: a coding run -> a workbook a person reviews -> human codings.

:func:`write_review` writes one row per passage, the passages the machine is least sure about
first, with the machine's proposal per code, an ``accept``/``reject`` drop-down per code, and a
column for codes the reviewer adds. :func:`read_review` reads the reviewed workbook back in the
gold format (:data:`trustcode.gold.GOLD_COLUMNS`), so ``train``, ``evaluate`` and ``agree`` take it
like any other human coding (``read_gold`` recognises a review workbook by itself).

What becomes a human coding of a passage:

- every code whose decision is ``accept`` (accepting a code the machine did not propose adds it);
- every code typed into ``added_codes``;
- a machine proposal left without a decision only with ``unreviewed="accept"``; by default
  (``"reject"``) an unreviewed proposal is not confirmed and is dropped, with a warning.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from . import __version__
from .errors import GoldError, InputError, OutputError, TrustcodeWarning, UsageError
from .gold import GOLD_COLUMNS, _fill_languages, split_codes
from .types import Codebook

REVIEW_SHEET = "review"
INSTRUCTIONS_SHEET = "instructions"
CODEBOOK_SHEET = "codebook"
PROVENANCE_SHEET = "provenance"
#: the first columns of the review sheet, in order
BASE_COLUMNS: tuple[str, ...] = (
    "passage_id", "doc_id", "start", "end", "text", "machine_codes", "uncertainty",
)
#: the columns after the code columns, in order
TAIL_COLUMNS: tuple[str, ...] = ("added_codes", "reviewer", "note", "language")
#: columns :func:`read_review` cannot do without
REQUIRED_COLUMNS: tuple[str, ...] = ("passage_id", "doc_id", "start", "end", "text", "added_codes")
DECISION_SUFFIX = ": decision"
DECISIONS: tuple[str, ...] = ("accept", "reject")
UNREVIEWED_CHOICES: tuple[str, ...] = ("reject", "accept")
#: what a code cell says when the machine proposes the code
PROPOSED = "coded"
#: the coder of a row whose reviewer cell is empty
DEFAULT_REVIEWER = "reviewer"

_TMP_PREFIX = ".trustcode-tmp-"
_MAX_CELL = 32_767
_MAX_ROWS = 1_048_576
# Excel refuses longer data-validation prompts and titles
_PROMPT_LIMIT = 255
_TITLE_LIMIT = 32
_LIST_LIMIT = 20
_WIDTHS = {
    "passage_id": 16, "doc_id": 14, "start": 8, "end": 8, "text": 70, "machine_codes": 26,
    "uncertainty": 12, "added_codes": 26, "reviewer": 14, "note": 40, "language": 10,
}
_WRAPPED = {"text", "machine_codes", "note"}

INSTRUCTIONS: tuple[str, ...] = (
    "How to review these codings",
    "",
    "Each row of the 'review' sheet is one passage of a document. The passages the machine was "
    "least sure about come first (the 'uncertainty' column, 0 = sure, 1 = a coin toss).",
    "For every code there are two columns. The first, named after the code, says 'coded' when "
    "the machine proposes the code for the passage; its cell comment shows the score and the "
    "evidence (which rule matched which words, or which words drove the classifier).",
    "The second, '<code>: decision', is yours. Pick 'accept' when the code applies to the "
    "passage, 'reject' when it does not. Accepting a code the machine did not propose adds it.",
    "A decision cell left empty means you did not review that code. Such a machine proposal is "
    "NOT confirmed: it is dropped when the sheet is read back, unless it is read with the option "
    "to accept unreviewed proposals (trustcode: --unreviewed accept).",
    "'added_codes': type the ids of further codes that apply, separated by ';' "
    "(for example: {example}). The ids are listed on the 'codebook' sheet.",
    "'reviewer': your name or initials; it becomes the coder of the row (default: reviewer).",
    "'note': anything you want to remember; trustcode does not read it.",
    "Do not edit the passage_id, doc_id, start, end or text columns, and do not rename or delete "
    "columns: trustcode needs them to read the sheet back.",
    "When done, save the workbook (keep the .xlsx format) and give it to trustcode train, "
    "evaluate or agree like any other human coding.",
)


# --- writing ----------------------------------------------------------------------------------


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def _proposals(
    codings: pd.DataFrame,
) -> dict[str, dict[str, tuple[float | None, list[str], list[str]]]]:
    """passage_id -> code -> (highest score or None, sources, evidences)."""
    out: dict[str, dict[str, tuple[float | None, list[str], list[str]]]] = {}
    for record in codings.to_dict("records"):
        pid, code = str(record["passage_id"]), str(record["code"]).strip()
        score = record.get("score")
        score = None if _missing(score) else float(score)
        best, sources, evidences = out.setdefault(pid, {}).get(code, (None, [], []))
        if score is not None and (best is None or score > best):
            best = score
        source = "" if _missing(record.get("source")) else str(record["source"])
        evidence = "" if _missing(record.get("evidence")) else str(record["evidence"])
        out[pid][code] = (
            best,
            sources + [source] if source and source not in sources else sources,
            evidences + [evidence] if evidence and evidence not in evidences else evidences,
        )
    return out


def uncertainty(scores: Sequence[float | None]) -> float | None:
    """How unsure the machine is about a passage: the largest ``1 - |2*score - 1|`` over its
    proposed codes; a code without a score (a rule hit) counts as sure; no code at all: None.

    >>> uncertainty([0.9, None]), uncertainty([None]), uncertainty([])
    (0.2, 0.0, None)
    """
    if not scores:
        return None
    return round(max(0.0 if s is None else 1.0 - abs(2.0 * s - 1.0) for s in scores), 6)


def _comment_text(score: float | None, sources: list[str], evidences: list[str]) -> str:
    head = " + ".join(sources) or "machine"
    if score is not None:
        head += f", score {score:.2f}"
    text = "\n".join([head, *evidences])
    return text if len(text) <= 2000 else text[:1999] + "…"


def _check_tables(tables: Mapping[str, pd.DataFrame]) -> None:
    for name, columns in (
        ("passages", ("doc_id", "passage_id", "start", "end", "text")),
        ("codings", ("passage_id", "code")),
    ):
        if name not in tables:
            raise InputError(
                f"write_review: the tables need a {name!r} table; found "
                f"{', '.join(tables) or 'none'}. Pass the tables of a coding run."
            )
        missing = [c for c in columns if c not in tables[name].columns]
        if missing:
            raise InputError(
                f"write_review: the {name} table lacks column(s) {', '.join(missing)}; it needs "
                f"{', '.join(columns)}. Pass the tables of a coding run."
            )


def _review_rows(
    tables: Mapping[str, pd.DataFrame], leaf_ids: Sequence[str]
) -> list[dict[str, Any]]:
    """One dict per passage, least sure first."""
    proposals = _proposals(tables["codings"])
    passage_ids = {str(p) for p in tables["passages"]["passage_id"]}
    strange = sorted(
        {c for codes in proposals.values() for c in codes} - set(leaf_ids)
    )
    orphans = sorted(set(proposals) - passage_ids)
    if strange:
        warnings.warn(
            f"write_review: codings with code(s) {', '.join(strange)} that are not leaf codes of "
            "the codebook get no review column and are left out of the review sheet; pass the "
            "codebook the run was coded with.",
            TrustcodeWarning,
            stacklevel=3,
        )
    if orphans:
        raise InputError(
            f"write_review: codings name passages the passages table lacks: "
            f"{', '.join(orphans[:_LIST_LIMIT])}. Pass the passages and codings of the same run."
        )
    languages: dict[str, str] = {}
    documents = tables.get("documents")
    if documents is not None and {"doc_id", "language"} <= set(documents.columns):
        for doc_id, language in zip(documents["doc_id"], documents["language"], strict=True):
            if isinstance(language, str) and language.strip():
                languages[str(doc_id)] = language.strip()
    rows: list[dict[str, Any]] = []
    for record in tables["passages"].to_dict("records"):
        pid = str(record["passage_id"])
        mine = {c: v for c, v in proposals.get(pid, {}).items() if c in leaf_ids}
        rows.append(
            {
                "passage_id": pid,
                "doc_id": str(record["doc_id"]),
                "start": int(record["start"]),
                "end": int(record["end"]),
                "text": "" if _missing(record["text"]) else str(record["text"]),
                "machine_codes": "; ".join(c for c in leaf_ids if c in mine),
                "uncertainty": uncertainty([v[0] for v in mine.values()]),
                "language": languages.get(str(record["doc_id"]), ""),
                "_proposals": mine,
            }
        )
    order = sorted(
        range(len(rows)),
        key=lambda i: (rows[i]["uncertainty"] is None, -(rows[i]["uncertainty"] or 0.0), i),
    )
    return [rows[i] for i in order]


def _set(ws: Any, row: int, column: int, value: Any) -> Any:
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
    return text if len(text) <= _PROMPT_LIMIT else fallback


def _write_review_sheet(ws: Any, rows: list[dict[str, Any]], codebook: Codebook) -> None:
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    from .io.tables.xlsx import code_styles

    leaf_ids = [c.id for c in codebook.leaf_codes]
    columns = [*BASE_COLUMNS]
    for code in leaf_ids:
        columns += [code, f"{code}{DECISION_SUFFIX}"]
    columns += TAIL_COLUMNS
    index = {name: i for i, name in enumerate(columns, 1)}
    styles = code_styles(codebook)
    bold = Font(bold=True)
    for name, i in index.items():
        cell = _set(ws, 1, i, name)
        cell.font = bold
        code = name.removesuffix(DECISION_SUFFIX)
        if code in styles:
            fill, colour = styles[code]
            cell.fill, cell.font = fill, Font(bold=True, color=colour)
        letter = get_column_letter(i)
        width = _WIDTHS.get(name, max(len(name) + 3, 10))
        ws.column_dimensions[letter].width = width

    wrap = Alignment(wrap_text=True, vertical="top")
    top = Alignment(vertical="top")
    for r, row in enumerate(rows, 2):
        for name in (*BASE_COLUMNS, "language"):
            value = row[name]
            cell = _set(ws, r, index[name], value if value != "" else None)
            cell.alignment = wrap if name in _WRAPPED else top
        for code, (score, sources, evidences) in row["_proposals"].items():
            cell = _set(ws, r, index[code], PROPOSED)
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
        promptTitle="Codes you add"[:_TITLE_LIMIT],
        prompt=_prompt(hint, "Code ids separated by ';'; the valid ids are on the codebook sheet."),
    )
    ws.add_data_validation(added)
    letter = get_column_letter(index["added_codes"])
    added.add(f"{letter}2:{letter}{last_row}")

    # freeze the header and the passage id, so both stay in view while scrolling
    ws.freeze_panes = "B2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(rows) + 1}"


def _write_instructions(ws: Any, codebook: Codebook) -> None:
    from openpyxl.styles import Alignment, Font

    example = "; ".join(c.id for c in codebook.leaf_codes[:2]) or "code_a; code_b"
    ws.column_dimensions["A"].width = 110
    for r, line in enumerate(INSTRUCTIONS, 1):
        cell = _set(ws, r, 1, line.replace("{example}", example) or None)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.cell(row=1, column=1).font = Font(bold=True, size=14)


def _write_codebook(ws: Any, codebook: Codebook) -> None:
    from openpyxl.styles import Alignment, Font

    from .io.tables.xlsx import code_styles

    styles = code_styles(codebook)
    for i, (name, width) in enumerate(
        (("id", 24), ("label", 36), ("definition", 80), ("colour", 10)), 1
    ):
        _set(ws, 1, i, name).font = Font(bold=True)
        ws.column_dimensions["ABCD"[i - 1]].width = width
    for r, code in enumerate(codebook.codes, 2):
        cell = _set(ws, r, 1, code.id)
        if code.id in styles:
            fill, colour = styles[code.id]
            cell.fill, cell.font = fill, Font(color=colour)
        _set(ws, r, 2, code.label)
        _set(ws, r, 3, code.definition or None).alignment = Alignment(wrap_text=True)
        _set(ws, r, 4, code.colour)
    ws.freeze_panes = "A2"


def _write_provenance(ws: Any, codebook: Codebook, provenance: Mapping[str, Any] | None) -> None:
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
    _set(ws, 1, 1, "key").font = Font(bold=True)
    _set(ws, 1, 2, "value").font = Font(bold=True)
    ws.column_dimensions["A"].width = 28
    ws.column_dimensions["B"].width = 80
    for r, (key, value) in enumerate(entries.items(), 2):
        if value is not None and not isinstance(value, str | int | float | bool):
            value = json.dumps(value, ensure_ascii=False, sort_keys=True)
        _set(ws, r, 1, str(key))
        _set(ws, r, 2, value)


def _check_fits(rows: list[dict[str, Any]], path: Path) -> None:
    if len(rows) + 1 > _MAX_ROWS:
        raise OutputError(
            f"cannot write {path}: {len(rows):,} passages are more rows than an Excel sheet "
            "holds; review a part of the corpus at a time."
        )
    for row in rows:
        if len(row["text"]) > _MAX_CELL:
            raise OutputError(
                f"cannot write {path}: passage {row['passage_id']} holds {len(row['text']):,} "
                f"characters, more than an Excel cell holds ({_MAX_CELL:,}); segment with a "
                "smaller unit (e.g. --unit sentence)."
            )


def write_review(
    tables: Mapping[str, pd.DataFrame],
    path: str | os.PathLike[str],
    *,
    codebook: Codebook,
    force: bool = False,
    provenance: Mapping[str, Any] | None = None,
) -> Path:
    """Write a review workbook for a coding run's tables (``passages``, ``codings``, and
    ``documents`` for the languages); return its path.

    Sheets: ``review`` (one row per passage, least sure first), ``instructions``, ``codebook``
    and ``provenance`` (the run's ``provenance`` when given, and the codebook's hash). The file
    is written to a temporary name beside ``path`` and renamed into place.

    >>> write_review(run.tables, "review.xlsx", codebook=book)  # doctest: +SKIP
    PosixPath('review.xlsx')
    """
    from openpyxl import Workbook

    from .io.tables import check_output

    target = Path(path)
    if target.suffix.lower() != ".xlsx":
        raise OutputError(
            f"{target}: a review sheet is an Excel workbook; give a name ending in .xlsx "
            f"(e.g. '{target.with_suffix('.xlsx')}')."
        )
    check_output(target, force=force)
    _check_tables(tables)
    rows = _review_rows(tables, [c.id for c in codebook.leaf_codes])
    _check_fits(rows, target)

    wb = Workbook()
    ws = wb.active
    ws.title = REVIEW_SHEET
    _write_review_sheet(ws, rows, codebook)
    _write_instructions(wb.create_sheet(INSTRUCTIONS_SHEET), codebook)
    _write_codebook(wb.create_sheet(CODEBOOK_SHEET), codebook)
    _write_provenance(wb.create_sheet(PROVENANCE_SHEET), codebook, provenance)

    tmp = target.parent / f"{_TMP_PREFIX}{secrets.token_hex(8)}.xlsx"
    try:
        wb.save(tmp)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


# --- reading ----------------------------------------------------------------------------------


def is_review_workbook(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a review workbook: an .xlsx with a ``review`` sheet that has decision
    columns (or beside an ``instructions`` sheet, so a damaged one gets a clear error).

    >>> is_review_workbook("review.xlsx")  # doctest: +SKIP
    True
    """
    p = Path(path)
    if p.suffix.lower() != ".xlsx" or not p.is_file():
        return False
    from openpyxl import load_workbook

    try:
        wb = load_workbook(p, read_only=True)
    except Exception:  # not a workbook at all: let the gold reader say so
        return False
    try:
        if REVIEW_SHEET not in wb.sheetnames:
            return False
        if INSTRUCTIONS_SHEET in wb.sheetnames:
            return True
        header = next(wb[REVIEW_SHEET].iter_rows(max_row=1, values_only=True), ())
        return any(str(h or "").strip().endswith(DECISION_SUFFIX) for h in header)
    finally:
        wb.close()


def _text(value: Any) -> str:
    if _missing(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _offset(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def _header(ws: Any, path: Path) -> list[str]:
    header = next(ws.iter_rows(max_row=1, values_only=True), None)
    names = [_text(h) for h in (header or ())]
    while names and not names[-1]:
        names.pop()
    where = f"{path}, sheet {REVIEW_SHEET!r}"
    doubled = sorted({n for n in names if n and names.count(n) > 1})
    if doubled:
        raise GoldError(
            f"{where}: the header names column(s) {', '.join(doubled)} more than once; rename "
            "or delete the copies."
        )
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    decision_codes = [n.removesuffix(DECISION_SUFFIX).strip() for n in names
                      if n.endswith(DECISION_SUFFIX)]
    if not decision_codes:
        missing.append("'<code>: decision' columns")
    missing += [code for code in decision_codes if code not in names]
    if missing:
        raise GoldError(
            f"{where}: the review sheet lacks the column(s) {', '.join(missing)} (it has: "
            f"{', '.join(n for n in names if n) or 'no header'}). Restore them from the "
            "workbook 'trustcode code --review' wrote, or write a new review sheet."
        )
    return names


def _sheet_codes(wb: Any) -> set[str]:
    """The code ids on the workbook's codebook sheet."""
    if CODEBOOK_SHEET not in wb.sheetnames:
        return set()
    rows = wb[CODEBOOK_SHEET].iter_rows(min_row=2, max_col=1, values_only=True)
    return {_text(r[0]) for r in rows if r and _text(r[0])}


def _open_review(p: Path) -> tuple[list[str], set[str], list[tuple[Any, ...]]]:
    """The review sheet's header, the codebook sheet's ids, and the data rows."""
    from openpyxl import load_workbook

    if not p.is_file():
        raise GoldError(f"{p}: no such review workbook; check the path.")
    try:
        wb = load_workbook(p, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged or foreign file
        raise GoldError(f"{p}: not a readable .xlsx workbook ({exc}).") from None
    try:
        if REVIEW_SHEET not in wb.sheetnames:
            raise GoldError(
                f"{p}: not a review workbook: it has no sheet named {REVIEW_SHEET!r} (found "
                f"{', '.join(wb.sheetnames)}). Give the workbook 'trustcode code --review' wrote."
            )
        ws = wb[REVIEW_SHEET]
        names = _header(ws, p)
        data = list(ws.iter_rows(min_row=2, max_col=len(names), values_only=True))
        return names, _sheet_codes(wb), data
    finally:
        wb.close()


class _Reader:
    """Reads the rows of a review sheet, collecting every problem before any is raised."""

    def __init__(
        self, names: list[str], known: set[str] | None, sheet_codes: set[str], unreviewed: str
    ) -> None:
        self.col = {n: i for i, n in enumerate(names) if n}
        self.codes = [n.removesuffix(DECISION_SUFFIX).strip() for n in names
                      if n.endswith(DECISION_SUFFIX)]
        self.known = known if known is not None else set(self.codes) | sheet_codes
        self.unreviewed = unreviewed
        self.problems: list[str] = []
        self.unknown: dict[str, list[str]] = {}
        self.unconfirmed: dict[int, list[str]] = {}
        self.contradictions: list[str] = []
        self.seen: dict[str, int] = {}

    def letter(self, name: str) -> str:
        from openpyxl.utils import get_column_letter

        return get_column_letter(self.col[name] + 1)

    def check_codebook(self, codebook: Codebook) -> None:
        for code in self.codes:
            if code not in self.known:
                header = f"{code}{DECISION_SUFFIX}"
                self.problems.append(
                    f"column {self.letter(header)} ({header!r}): code {code!r} is not in the "
                    f"codebook {codebook.name!r}; use the codebook the sheet was written with"
                )

    def read(self, r: int, values: tuple[Any, ...]) -> dict[str, Any] | None:
        """One sheet row (``r`` as Excel counts) -> a gold row, or None (blank or faulty)."""
        def cell(name: str) -> Any:
            i = self.col.get(name)
            return values[i] if i is not None and i < len(values) else None

        if all(_missing(v) or (isinstance(v, str) and not v.strip()) for v in values):
            return None
        pid, doc_id, text = _text(cell("passage_id")), _text(cell("doc_id")), cell("text")
        text = "" if _missing(text) else str(text)
        if not pid or not doc_id or not text.strip():
            self.problems.append(f"row {r}: passage_id, doc_id and text must not be empty; "
                                 "restore them from the workbook trustcode wrote")
            return None
        if pid in self.seen:
            self.problems.append(f"row {r}: passage {pid} is also on row {self.seen[pid]}; "
                                 "delete one")
            return None
        self.seen[pid] = r
        offsets = {name: _offset(cell(name)) for name in ("start", "end")}
        for name, value in offsets.items():
            if value is None:
                self.problems.append(
                    f"row {r}, column {self.letter(name)} ({name!r}): expected a whole number, "
                    f"found {cell(name)!r}; restore the offset"
                )
        chosen: set[str] = set()
        for code in self.codes:
            header = f"{code}{DECISION_SUFFIX}"
            decision = _text(cell(header)).lower()
            if decision not in ("", *DECISIONS):
                self.problems.append(
                    f"row {r}, column {self.letter(header)} ({header!r}): unknown decision "
                    f"{cell(header)!r}; expected accept, reject or an empty cell"
                )
            elif decision == "accept":
                chosen.add(code)
            elif not decision and _text(cell(code)):
                if self.unreviewed == "accept":
                    chosen.add(code)
                else:
                    self.unconfirmed.setdefault(r, []).append(code)
        for code in split_codes(cell("added_codes")):
            if code not in self.known:
                self.unknown.setdefault(code, []).append(str(r))
                continue
            if _text(cell(f"{code}{DECISION_SUFFIX}")).lower() == "reject":
                self.contradictions.append(f"{r} ({code})")
            chosen.add(code)
        return {
            "doc_id": doc_id,
            "passage_id": pid,
            "start": offsets["start"],
            "end": offsets["end"],
            "text": text,
            "language": _text(cell("language")) or None,
            "codes": tuple(sorted(chosen)),
            "coder": _text(cell("reviewer")) or DEFAULT_REVIEWER,
            "_line": r,
        }

    def raise_problems(self, where: str) -> None:
        problems = list(self.problems)
        if self.unknown:
            listed = "; ".join(
                f"{code!r} (row{'s' if len(rows) > 1 else ''} {', '.join(rows[:_LIST_LIMIT])})"
                for code, rows in sorted(self.unknown.items())
            )
            problems.append(
                f"column {self.letter('added_codes')} ('added_codes'): unknown code id(s) "
                f"{listed}; valid ids are {', '.join(sorted(self.known))}"
            )
        if problems:
            shown = problems[:_LIST_LIMIT]
            more = len(problems) - len(shown)
            raise GoldError(
                f"{where}: {len(problems)} problem(s) in the review sheet; fix them and read it "
                "again:\n" + "\n".join(f"  - {x}" for x in shown)
                + (f"\n  - and {more} more" if more > 0 else "")
            )

    def warn(self, where: str) -> None:
        if self.contradictions:
            warnings.warn(
                f"{where}: code(s) both rejected and added on rows "
                f"{', '.join(self.contradictions[:_LIST_LIMIT])}; the added code is kept. Clear "
                "one of the two cells.",
                TrustcodeWarning,
                stacklevel=4,
            )
        if self.unconfirmed:
            count = sum(len(codes) for codes in self.unconfirmed.values())
            listed = [f"{r} ({', '.join(codes)})" for r, codes in self.unconfirmed.items()]
            warnings.warn(
                f"{where}: {count} machine proposal(s) were left without a decision (rows "
                f"{', '.join(listed[:_LIST_LIMIT])}{', …' if len(listed) > _LIST_LIMIT else ''}"
                "); they count as not confirmed. Review them, or read with unreviewed='accept' "
                "(CLI: --unreviewed accept) to keep them.",
                TrustcodeWarning,
                stacklevel=4,
            )


def review_table(
    path: str | os.PathLike[str],
    *,
    codebook: Codebook | None = None,
    unreviewed: str = "reject",
) -> pd.DataFrame:
    """:func:`read_review`'s rows with a ``_line`` column (the sheet row), unfinished; for
    :func:`trustcode.gold.read_gold`.

    >>> review_table("review.xlsx")["_line"].tolist()  # doctest: +SKIP
    [2, 3, 4]
    """
    if unreviewed not in UNREVIEWED_CHOICES:
        raise UsageError(
            f"The 'unreviewed' parameter of read_review must be 'reject' or 'accept'. Got "
            f"{unreviewed!r} instead."
        )
    p = Path(path)
    names, sheet_codes, data = _open_review(p)
    known = set(codebook.code_ids) if codebook is not None else None
    reader = _Reader(names, known, sheet_codes, unreviewed)
    if codebook is not None:
        reader.check_codebook(codebook)
    rows = [row for r, values in enumerate(data, 2) if (row := reader.read(r, values))]
    where = f"{p}, sheet {REVIEW_SHEET!r}"
    reader.raise_problems(where)
    reader.warn(where)
    # back to document order: the sheet's order (least sure first) means nothing to a coding
    rows.sort(key=lambda x: (x["doc_id"], x["start"], x["end"], x["passage_id"]))
    table = pd.DataFrame(rows, columns=[*GOLD_COLUMNS, "_line"])
    _fill_languages(table)
    return table


def read_review(
    path: str | os.PathLike[str],
    *,
    codebook: Codebook | None = None,
    unreviewed: str = "reject",
) -> pd.DataFrame:
    """Read a reviewed workbook back as human codings, one row per passage in the gold format
    (:data:`trustcode.gold.GOLD_COLUMNS`), the coder from the ``reviewer`` column.

    Accepted and added codes become codings; proposals left without a decision count as not
    confirmed unless ``unreviewed="accept"``. Unknown decisions or codes raise a
    :class:`GoldError` naming sheet, row and column; nothing is half read.

    >>> gold = read_review("review.xlsx", unreviewed="accept")  # doctest: +SKIP
    >>> gold[["passage_id", "codes", "coder"]].head(1)  # doctest: +SKIP
    """
    from .gold import finish_gold

    return finish_gold(review_table(path, codebook=codebook, unreviewed=unreviewed))
