"""Reading a reviewed workbook back: finding it (:func:`is_review_workbook`), checking its
header and every row, and turning the decisions into human codings in the gold format
(:func:`review_table`, :func:`read_review`). Every problem of a sheet is collected before one
:class:`~trustcode.errors.GoldError` lists them.

>>> offset(" 42 "), offset(True), cell_text(7.0)
(42, None, '7')
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import LIST_LIMIT, GoldError, TrustcodeWarning, UsageError
from ..gold import GOLD_COLUMNS, fill_languages, split_codes
from ..io.tables import is_missing
from ..types import Codebook
from .layout import (
    CODEBOOK_SHEET,
    DECISION_SUFFIX,
    DECISIONS,
    DEFAULT_REVIEWER,
    INSTRUCTIONS_SHEET,
    REQUIRED_COLUMNS,
    REVIEW_SHEET,
    UNREVIEWED_CHOICES,
)
from .staleness import check_stale, recorded_documents


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


def cell_text(value: Any) -> str:
    if is_missing(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def offset(value: Any) -> int | None:
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
    names = [cell_text(h) for h in (header or ())]
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
    decision_codes = [
        n.removesuffix(DECISION_SUFFIX).strip() for n in names if n.endswith(DECISION_SUFFIX)
    ]
    if not decision_codes:
        missing.append("'<code>: decision' columns")
    # a code's own column (the machine's proposal) is optional: a blind sample sheet has none
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
    return {cell_text(r[0]) for r in rows if r and cell_text(r[0])}


def open_workbook(p: Path, kind: str = "review workbook") -> Any:
    """Open a workbook read-only (values, not formulas), or say why it cannot be read."""
    from openpyxl import load_workbook

    if not p.is_file():
        raise GoldError(f"{p}: no such {kind}; check the path.")
    try:
        return load_workbook(p, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged or foreign file
        raise GoldError(f"{p}: not a readable .xlsx workbook ({exc}).") from None


def open_review(p: Path) -> tuple[list[str], set[str], list[tuple[Any, ...]]]:
    """The review sheet's header, the codebook sheet's ids, and the data rows."""
    wb = open_workbook(p)
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


class Reader:
    """Reads the rows of a review sheet, collecting every problem before any is raised."""

    def __init__(
        self, names: list[str], known: set[str] | None, sheet_codes: set[str], unreviewed: str
    ) -> None:
        self.col = {n: i for i, n in enumerate(names) if n}
        self.codes = [
            n.removesuffix(DECISION_SUFFIX).strip() for n in names if n.endswith(DECISION_SUFFIX)
        ]
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

        if all(is_missing(v) or (isinstance(v, str) and not v.strip()) for v in values):
            return None
        pid, doc_id, text = cell_text(cell("passage_id")), cell_text(cell("doc_id")), cell("text")
        text = "" if is_missing(text) else str(text)
        if not pid or not doc_id or not text.strip():
            self.problems.append(
                f"row {r}: passage_id, doc_id and text must not be empty; "
                "restore them from the workbook trustcode wrote"
            )
            return None
        if pid in self.seen:
            self.problems.append(
                f"row {r}: passage {pid} is also on row {self.seen[pid]}; delete one"
            )
            return None
        self.seen[pid] = r
        offsets = {name: offset(cell(name)) for name in ("start", "end")}
        for name, value in offsets.items():
            if value is None:
                self.problems.append(
                    f"row {r}, column {self.letter(name)} ({name!r}): expected a whole number, "
                    f"found {cell(name)!r}; restore the offset"
                )
        reviewed = self.reviewed(values)
        chosen: set[str] = set()
        for code in self.codes:
            header = f"{code}{DECISION_SUFFIX}"
            decision = cell_text(cell(header)).lower()
            if decision not in ("", *DECISIONS):
                self.problems.append(
                    f"row {r}, column {self.letter(header)} ({header!r}): unknown decision "
                    f"{cell(header)!r}; expected accept, reject or an empty cell"
                )
            elif decision == "accept":
                chosen.add(code)
            elif not decision and cell_text(cell(code)) and reviewed:
                if self.unreviewed == "accept":
                    chosen.add(code)
                else:
                    self.unconfirmed.setdefault(r, []).append(code)
        for code in split_codes(cell("added_codes")):
            if code not in self.known:
                self.unknown.setdefault(code, []).append(str(r))
                continue
            if cell_text(cell(f"{code}{DECISION_SUFFIX}")).lower() == "reject":
                self.contradictions.append(f"{r} ({code})")
            chosen.add(code)
        return {
            "doc_id": doc_id,
            "passage_id": pid,
            "start": offsets["start"],
            "end": offsets["end"],
            "text": text,
            "language": cell_text(cell("language")) or None,
            "codes": tuple(sorted(chosen)),
            "coder": cell_text(cell("reviewer")) or DEFAULT_REVIEWER,
            "_line": r,
            "_reviewed": reviewed,
        }

    def reviewed(self, values: tuple[Any, ...]) -> bool:
        """Whether the reviewer filled in anything on a row: a decision, an added code or the
        reviewer's name. A row left as trustcode wrote it is not a coding of anyone's."""
        cells = [f"{code}{DECISION_SUFFIX}" for code in self.codes]
        cells += ["added_codes", "reviewer"]
        at = [self.col[name] for name in cells if name in self.col]
        return any(i < len(values) and cell_text(values[i]) for i in at)

    def raise_problems(self, where: str) -> None:
        problems = list(self.problems)
        if self.unknown:
            listed = "; ".join(
                f"{code!r} (row{'s' if len(rows) > 1 else ''} {', '.join(rows[:LIST_LIMIT])})"
                for code, rows in sorted(self.unknown.items())
            )
            problems.append(
                f"column {self.letter('added_codes')} ('added_codes'): unknown code id(s) "
                f"{listed}; valid ids are {', '.join(sorted(self.known))}"
            )
        if problems:
            shown = problems[:LIST_LIMIT]
            more = len(problems) - len(shown)
            raise GoldError(
                f"{where}: {len(problems)} problem(s) in the review sheet; fix them and read it "
                "again:\n"
                + "\n".join(f"  - {x}" for x in shown)
                + (f"\n  - and {more} more" if more > 0 else "")
            )

    def warn(self, where: str) -> None:
        if self.contradictions:
            warnings.warn(
                f"{where}: code(s) both rejected and added on rows "
                f"{', '.join(self.contradictions[:LIST_LIMIT])}; the added code is kept. Clear "
                "one of the two cells.",
                TrustcodeWarning,
                stacklevel=4,
            )
        if self.unconfirmed:
            count = sum(len(codes) for codes in self.unconfirmed.values())
            listed = [f"{r} ({', '.join(codes)})" for r, codes in self.unconfirmed.items()]
            warnings.warn(
                f"{where}: {count} machine proposal(s) were left without a decision (rows "
                f"{', '.join(listed[:LIST_LIMIT])}{', …' if len(listed) > LIST_LIMIT else ''}"
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
    documents: Sequence[str | os.PathLike[str]] = (),
) -> pd.DataFrame:
    """:func:`read_review`'s rows with a ``_line`` column (the sheet row), unfinished; for
    :func:`trustcode.gold.read_gold`. ``documents``: where the documents are now, to refuse
    stale rows (see :mod:`trustcode.review.staleness`).

    >>> review_table("review.xlsx")["_line"].tolist()  # doctest: +SKIP
    [2, 3, 4]
    """
    if unreviewed not in UNREVIEWED_CHOICES:
        raise UsageError(
            f"The 'unreviewed' parameter of read_review must be 'reject' or 'accept'. Got "
            f"{unreviewed!r} instead."
        )
    p = Path(path)
    names, sheet_codes, data = open_review(p)
    known = set(codebook.code_ids) if codebook is not None else None
    reader = Reader(names, known, sheet_codes, unreviewed)
    if codebook is not None:
        reader.check_codebook(codebook)
    read = [row for r, values in enumerate(data, 2) if (row := reader.read(r, values))]
    where = f"{p}, sheet {REVIEW_SHEET!r}"
    reader.raise_problems(where)
    # a row nobody touched is no one's coding: not training data, not a coder in agree/evaluate
    rows = [row for row in read if row["_reviewed"]]
    if not rows:
        raise GoldError(
            f"{where}: nothing was reviewed: none of its {len(read)} passage row(s) has a "
            "decision, an added code or a reviewer. Decide some codes (accept/reject) first; "
            "nothing was read."
        )
    wb = open_workbook(p)
    try:
        recorded = recorded_documents(wb)
    finally:
        wb.close()
    check_stale(rows, p, recorded, documents)
    reader.warn(where)
    # back to document order: the sheet's order (least sure first) means nothing to a coding
    rows.sort(key=lambda x: (x["doc_id"], x["start"], x["end"], x["passage_id"]))
    table = pd.DataFrame(rows, columns=[*GOLD_COLUMNS, "_line"])
    fill_languages(table)
    return table


def read_review(
    path: str | os.PathLike[str],
    *,
    codebook: Codebook | None = None,
    unreviewed: str = "reject",
    documents: Sequence[str | os.PathLike[str]] = (),
) -> pd.DataFrame:
    """Read a reviewed workbook back as human codings, one row per passage in the gold format
    (:data:`trustcode.gold.GOLD_COLUMNS`), the coder from the ``reviewer`` column.

    Accepted and added codes become codings; proposals left without a decision count as not
    confirmed unless ``unreviewed="accept"``. Unknown decisions or codes raise a
    :class:`GoldError` naming sheet, row and column; so do reviewed rows whose text is no
    longer their document's at their offsets, where the document is found (in ``documents``,
    at the source the sheet records, or beside the workbook: :mod:`.staleness`); nothing is
    half read.

    >>> gold = read_review("review.xlsx", unreviewed="accept")  # doctest: +SKIP
    >>> gold[["passage_id", "codes", "coder"]].head(1)  # doctest: +SKIP
    """
    from ..gold import finish_gold

    return finish_gold(
        review_table(path, codebook=codebook, unreviewed=unreviewed, documents=documents)
    )
