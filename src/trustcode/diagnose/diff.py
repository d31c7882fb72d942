"""What a codebook change does to the coding: :class:`CodebookDiff` and :func:`diff_codebooks`.

Both codebooks code one corpus (with the same classifier scores when a model fits either); per
code the diff reports renames, passages gained and lost, the code x document counts and, with
gold, the change in precision, recall and F1.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..errors import ModelError, TrustcodeWarning
from ..rules import RuleSet
from ..types import Code, Codebook, Rule
from .align import align_gold, read_gold_frame
from .steps import (
    Coded,
    Corpus,
    PathLike,
    Scored,
    codebook_of,
    combined_codes,
    match_rules,
    model_of,
    note_frame,
    prf,
    read_passages,
    score_passages,
    trim,
)

DIFF_CODE_COLUMNS: tuple[str, ...] = (
    "code",
    "old_code",
    "new_code",
    "status",
    "old_passages",
    "new_passages",
    "gained",
    "lost",
    "rules_added",
    "rules_removed",
)
DIFF_PASSAGE_COLUMNS: tuple[str, ...] = (
    "code",
    "change",
    "doc_id",
    "passage_id",
    "rule_ids",
    "text",
)
DIFF_MATRIX_COLUMNS: tuple[str, ...] = ("doc_id", "code", "old", "new", "delta")
DIFF_AGREEMENT_COLUMNS: tuple[str, ...] = (
    "code",
    "support",
    "old_precision",
    "old_recall",
    "old_f1",
    "new_precision",
    "new_recall",
    "new_f1",
    "delta_f1",
)


@dataclass
class CodebookDiff:
    """The tables :func:`diff_codebooks` returns (column names: the ``DIFF_*`` constants)."""

    codes: pd.DataFrame
    passages: pd.DataFrame
    matrix: pd.DataFrame
    agreement: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    def frames(self) -> dict[str, pd.DataFrame]:
        """The tables by sheet name, for :func:`trustcode.io.tables.write_frames`.

        >>> list(diff_codebooks(old, new, "corpus").frames())  # doctest: +SKIP
        ['codes', 'passages', 'matrix', 'agreement', 'notes']
        """
        return {
            "codes": self.codes,
            "passages": self.passages,
            "matrix": self.matrix,
            "agreement": self.agreement,
            "notes": note_frame(self.notes),
        }

    def summary(self) -> str:
        """A few lines for the terminal: which codes changed and how many passages moved."""
        lines = []
        for status in ("renamed", "added", "removed"):
            part = self.codes[self.codes["status"] == status]
            if len(part):
                names = (
                    part["old_code"] + " -> " + part["new_code"]
                    if status == "renamed"
                    else part["code"]
                )
                lines.append(f"{status.capitalize()} codes: {', '.join(names)}.")
        moved = self.codes[(self.codes["gained"] > 0) | (self.codes["lost"] > 0)]
        for row in moved.itertuples(index=False):
            lines.append(
                f"{row.code}: +{row.gained} / -{row.lost} passages "
                f"({row.old_passages} -> {row.new_passages})."
            )
        if not lines:
            lines.append("No code gains or loses a passage.")
        if len(self.agreement):
            changed = self.agreement[self.agreement["delta_f1"].fillna(0) != 0]
            for row in changed.itertuples(index=False):
                lines.append(
                    f"{row.code}: F1 against the gold {row.old_f1:.3f} -> {row.new_f1:.3f}."
                )
        lines.extend(f"Note: {n}" for n in self.notes)
        return "\n".join(lines)


def _rule_signature(rule: Rule) -> tuple[Any, ...]:
    """What a rule matches, without its id or code: equal signatures match the same words."""
    return (
        rule.kind,
        rule.lang,
        tuple(rule.terms),
        repr(rule.pattern),
        repr(rule.near),
        rule.veto,
        rule.case_sensitive,
    )


def _rules_signature(code: Code) -> frozenset[tuple[Any, ...]]:
    return frozenset(_rule_signature(r) for r in code.rules)


def _pair_codes(old: Codebook, new: Codebook) -> list[tuple[str | None, str | None, str]]:
    """``(old id, new id, status)`` for every leaf code of either codebook (renames: see the
    :mod:`trustcode.diagnose` docstring)."""
    old_leaf, new_leaf = list(old.leaf_codes), list(new.leaf_codes)
    new_ids = {c.id for c in new_leaf}
    old_ids = {c.id for c in old_leaf}
    gone = [c for c in old_leaf if c.id not in new_ids]
    fresh = [c for c in new_leaf if c.id not in old_ids]

    def label(code: Code) -> str:
        return " ".join(code.label.lower().split())

    renamed: dict[str, str] = {}
    for test in (
        lambda a, b: label(a) == label(b) and bool(label(a)),
        lambda a, b: bool(a.rules) and _rules_signature(a) == _rules_signature(b),
    ):
        for a in gone:
            if a.id in renamed:
                continue
            for b in fresh:
                if b.id not in renamed.values() and test(a, b):
                    renamed[a.id] = b.id
                    break
    pairs: list[tuple[str | None, str | None, str]] = []
    for code in old_leaf:
        if code.id in new_ids:
            same = (
                _rules_signature(code) == _rules_signature(new.code(code.id))
                and code.combine == new.code(code.id).combine
            )
            pairs.append((code.id, code.id, "unchanged" if same else "changed"))
        elif code.id in renamed:
            pairs.append((code.id, renamed[code.id], "renamed"))
        else:
            pairs.append((code.id, None, "removed"))
    for code in new_leaf:
        if code.id not in old_ids and code.id not in renamed.values():
            pairs.append((None, code.id, "added"))
    return pairs


def _diff_model(model: Any, old: Codebook, new: Codebook, notes: list[str]) -> Any:
    """A model for both sides: it must fit one of the codebooks; its scores then apply to the
    codes of both that it has a classifier for, so a rule change is judged with the same
    classifier on each side."""
    if model is None or hasattr(model, "predict_scores"):
        return model
    errors = []
    for book in (old, new):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", TrustcodeWarning)
                fitted = model_of(model, book)
        except ModelError as exc:
            errors.append(str(exc))
            continue
        if fitted is not None:
            return fitted
    message = (
        "The model fits neither codebook, so both are compared by their rules only"
        + (f" ({errors[0]})" if errors else "")
        + "."
    )
    warnings.warn(message, TrustcodeWarning, stacklevel=3)
    notes.append(message)
    return None


def _side(book: Codebook, corpus: Corpus, scored: Scored) -> tuple[list[frozenset[str]], Coded]:
    coded = match_rules(corpus, RuleSet(book))
    return combined_codes(book, coded, scored), coded


def diff_codebooks(
    old: Codebook | PathLike,
    new: Codebook | PathLike,
    corpus_paths: PathLike | Sequence[PathLike],
    *,
    gold: pd.DataFrame | PathLike | Sequence[PathLike] | None = None,
    model: Any = None,
    unit: str = "paragraph",
    documents: Sequence[PathLike] = (),
) -> CodebookDiff:
    """Code a corpus with two codebooks and report what changed, per code.

    Codes pair up by id; a code whose id is in one codebook only is renamed when the other has
    a lone code with the same label or the same rules (see :mod:`trustcode.diagnose`), else added or
    removed. In the ``matrix`` table a code absent from one codebook counts as missing (NA)
    there and as 0 in ``delta``. ``model`` (a file, ``"default"`` or a fitted classifier)
    adds the classifier to both sides when it fits either codebook; by default both are coded
    by rules only. ``documents`` says where the documents of hand-coded gold offsets are (see
    :func:`trustcode.gold.read_gold`).

    >>> change = diff_codebooks("codebook.yaml", "codebook-new.yaml", "corpus")  # doctest: +SKIP
    >>> change.passages[change.passages["change"] == "lost"]  # doctest: +SKIP
    """
    old_book, new_book = codebook_of(old), codebook_of(new)
    corpus = read_passages(corpus_paths, unit)
    notes: list[str] = []
    common = set(old_book.code_ids) & set(new_book.code_ids)
    if not common:
        message = (
            f"The codebooks {old_book.name!r} and {new_book.name!r} have no code id in common: "
            "every code is reported as renamed (same label or rules), added or removed."
        )
        warnings.warn(message, TrustcodeWarning, stacklevel=2)
        notes.append(message)
    fitted = _diff_model(model, old_book, new_book, notes)
    scored = score_passages(fitted, corpus)
    old_sets, old_coded = _side(old_book, corpus, scored)
    new_sets, new_coded = _side(new_book, corpus, scored)
    aligned: list[frozenset[str] | None] = [None] * len(corpus.passages)
    if gold is not None:
        aligned, gold_notes = align_gold(read_gold_frame(gold, None, documents), corpus)
        notes.extend(gold_notes)

    code_rows, passage_rows, matrix_rows, agreement_rows = [], [], [], []
    doc_order = [d.doc_id for d in corpus.documents]
    with_gold = [i for i, codes in enumerate(aligned) if codes is not None]
    for old_id, new_id, status in _pair_codes(old_book, new_book):
        name = new_id or old_id or ""
        old_rows = {i for i, s in enumerate(old_sets) if old_id in s} if old_id else set()
        new_rows = {i for i, s in enumerate(new_sets) if new_id in s} if new_id else set()
        old_sig = _rules_signature(old_book.code(old_id)) if old_id else frozenset()
        new_sig = _rules_signature(new_book.code(new_id)) if new_id else frozenset()
        gained, lost = sorted(new_rows - old_rows), sorted(old_rows - new_rows)
        code_rows.append(
            {
                "code": name,
                "old_code": old_id or "",
                "new_code": new_id or "",
                "status": status,
                "old_passages": len(old_rows),
                "new_passages": len(new_rows),
                "gained": len(gained) if old_id and new_id else 0,
                "lost": len(lost) if old_id and new_id else 0,
                "rules_added": len(new_sig - old_sig),
                "rules_removed": len(old_sig - new_sig),
            }
        )
        if old_id and new_id:
            for change, rows, side_coded, side_id in (
                ("gained", gained, new_coded, new_id),
                ("lost", lost, old_coded, old_id),
            ):
                for i in rows:
                    passage = corpus.passages[i]
                    rule_ids = sorted(
                        {h.rule_id for h in side_coded.rule_codes[i].get(side_id, [])}
                    )
                    passage_rows.append(
                        {
                            "code": name,
                            "change": change,
                            "doc_id": passage.doc_id,
                            "passage_id": passage.passage_id,
                            "rule_ids": ";".join(rule_ids),
                            "text": trim(passage.text),
                        }
                    )
        for doc_id in doc_order:
            in_doc = [i for i, p in enumerate(corpus.passages) if p.doc_id == doc_id]
            n_old = sum(i in old_rows for i in in_doc) if old_id else pd.NA
            n_new = sum(i in new_rows for i in in_doc) if new_id else pd.NA
            matrix_rows.append(
                {
                    "doc_id": doc_id,
                    "code": name,
                    "old": n_old,
                    "new": n_new,
                    "delta": (n_new if new_id else 0) - (n_old if old_id else 0),
                }
            )
        if with_gold:
            truth = [bool({old_id, new_id} & (aligned[i] or frozenset())) for i in with_gold]
            old_m = prf([i in old_rows for i in with_gold], truth) if old_id else (math.nan,) * 5
            new_m = prf([i in new_rows for i in with_gold], truth) if new_id else (math.nan,) * 5
            agreement_rows.append(
                {
                    "code": name,
                    "support": sum(truth),
                    "old_precision": old_m[0],
                    "old_recall": old_m[1],
                    "old_f1": old_m[2],
                    "new_precision": new_m[0],
                    "new_recall": new_m[1],
                    "new_f1": new_m[2],
                    "delta_f1": new_m[2] - old_m[2],
                }
            )
    matrix = pd.DataFrame(matrix_rows, columns=list(DIFF_MATRIX_COLUMNS))
    for column in ("old", "new", "delta"):
        matrix[column] = pd.array(matrix[column], dtype="Int64")
    return CodebookDiff(
        codes=pd.DataFrame(code_rows, columns=list(DIFF_CODE_COLUMNS)),
        passages=pd.DataFrame(passage_rows, columns=list(DIFF_PASSAGE_COLUMNS)),
        matrix=matrix,
        agreement=pd.DataFrame(agreement_rows, columns=list(DIFF_AGREEMENT_COLUMNS)),
        notes=notes,
    )
