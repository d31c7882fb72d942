"""The :class:`Diagnosis` report and :func:`diagnose`, which runs every step and table."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..errors import TrustcodeWarning, UsageError
from ..rules import RuleSet
from ..types import Codebook
from .align import align_gold, read_gold_frame
from .steps import (
    PathLike,
    codebook_of,
    combined_codes,
    match_rules,
    model_of,
    note_frame,
    read_passages,
    score_passages,
)
from .tables import (
    code_table,
    conflict_tables,
    disagreement_table,
    never_fired_table,
    overlap_table,
    rule_sets,
    rule_tables,
)
from .terms import suggest_terms


@dataclass
class Diagnosis:
    """The tables :func:`diagnose` returns (column names: the ``*_COLUMNS`` constants of
    :mod:`trustcode.diagnose.tables`)."""

    codes: pd.DataFrame
    rules: pd.DataFrame
    overlap: pd.DataFrame
    conflicts: pd.DataFrame
    conflict_passages: pd.DataFrame
    never_fired: pd.DataFrame
    rule_passages: pd.DataFrame
    disagreements: pd.DataFrame
    suggested_terms: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    n_passages: int = 0
    n_documents: int = 0

    def frames(self) -> dict[str, pd.DataFrame]:
        """The tables by sheet name, for :func:`trustcode.io.tables.write_frames`.

        >>> sorted(diagnose("corpus", model=None).frames())[:2]  # doctest: +SKIP
        ['codes', 'conflict_passages']
        """
        return {
            "codes": self.codes,
            "rules": self.rules,
            "overlap": self.overlap,
            "conflicts": self.conflicts,
            "conflict_passages": self.conflict_passages,
            "never_fired": self.never_fired,
            "rule_passages": self.rule_passages,
            "disagreements": self.disagreements,
            "suggested_terms": self.suggested_terms,
            "notes": note_frame(self.notes),
        }

    def summary(self) -> str:
        """A few lines for the terminal: sizes, never-firing rules, weakest rules, conflicts."""
        lines = [
            f"{self.n_documents} documents, {self.n_passages} passages; "
            f"{len(self.rules)} rules of {len(self.codes)} codes.",
        ]
        lines.append(
            f"Rules that never fire: {len(self.never_fired)}"
            + (
                f" ({', '.join(self.never_fired['rule_id'][:10])}"
                f"{' ...' if len(self.never_fired) > 10 else ''})"
                if len(self.never_fired)
                else ""
            )
        )
        scored = self.rules.dropna(subset=["precision"])
        scored = scored[~scored["veto"]]
        if len(scored):
            weakest = scored.sort_values(["precision", "rule_id"]).head(5)
            shown = ", ".join(
                f"{r} {p:.2f}"
                for r, p in zip(weakest["rule_id"], weakest["precision"], strict=True)
            )
            lines.append(f"Lowest rule precision against the gold: {shown}.")
        if len(self.conflicts):
            lines.append(
                f"Conflicts: {int(self.conflicts['passages'].sum())} passage(s) in "
                f"{len(self.conflicts)} veto or exclusive-code conflict(s)."
            )
        if len(self.disagreements):
            lines.append(
                f"The {len(self.disagreements)} passage-code pair(s) where rules and "
                "classifier disagree most are in the disagreements table."
            )
        if len(self.suggested_terms):
            lines.append(f"{len(self.suggested_terms)} suggested term(s) for new rules.")
        lines.extend(f"Note: {n}" for n in self.notes)
        return "\n".join(lines)


def diagnose(
    corpus_paths: PathLike | Sequence[PathLike],
    *,
    codebook: Codebook | PathLike | None = None,
    gold: pd.DataFrame | PathLike | Sequence[PathLike] | None = None,
    model: Any = "default",
    unit: str = "paragraph",
    max_terms: int = 20,
    max_disagreements: int = 200,
    documents: Sequence[PathLike] = (),
) -> Diagnosis:
    """Diagnose a codebook's rules (and a model) on a corpus; see :mod:`trustcode.diagnose`.

    ``codebook`` is a path or a loaded codebook (default: the shipped one); ``gold`` gold files
    (read with :func:`trustcode.gold.read_gold`) or their table; ``model`` is ``"default"`` (the
    shipped model when it fits the codebook), a model file, a fitted
    :class:`~trustcode.classify.CodeClassifier`, or None (rules only). ``max_terms`` caps the
    suggested terms per code, ``max_disagreements`` the disagreement rows; ``documents`` says
    where the documents of hand-coded gold offsets are (see :func:`trustcode.gold.read_gold`).

    >>> report = diagnose("corpus", gold="gold.csv", documents=["corpus"])  # doctest: +SKIP
    >>> report.rules[["rule_id", "coverage", "unique", "precision"]]  # doctest: +SKIP
    """
    for name, value in (("max_terms", max_terms), ("max_disagreements", max_disagreements)):
        if not isinstance(value, int) or value < 0:
            raise UsageError(
                f"The {name!r} parameter of diagnose must be an int in [0, inf). "
                f"Got {value!r} instead."
            )
    book = codebook_of(codebook)
    corpus = read_passages(corpus_paths, unit)
    ruleset = RuleSet(book)
    coded = match_rules(corpus, ruleset)
    notes: list[str] = []
    aligned: list[frozenset[str] | None] = [None] * len(corpus.passages)
    if gold is not None:
        aligned, gold_notes = align_gold(read_gold_frame(gold, book, documents), corpus)
        notes.extend(gold_notes)
    fitted = model_of(model, book)
    scored = score_passages(fitted, corpus)
    combined = combined_codes(book, coded, scored)

    per_rule = rule_sets(book, coded)
    rules, rule_passages = rule_tables(book, corpus, coded, per_rule, aligned)
    never = never_fired_table(book, corpus, rules)
    for row in never.itertuples(index=False):
        warnings.warn(
            f"Rule {row.rule_id!r} of code {row.code!r} never fires on the corpus "
            f"({len(corpus.passages)} passages): {row.reason}. Check its terms against the "
            "texts, or remove it.",
            TrustcodeWarning,
            stacklevel=2,
        )
    conflicts, conflict_passages = conflict_tables(book, corpus, coded)
    return Diagnosis(
        codes=code_table(book, coded, per_rule, rules, scored, combined, aligned),
        rules=rules,
        overlap=overlap_table(book, per_rule),
        conflicts=conflicts,
        conflict_passages=conflict_passages,
        never_fired=never,
        rule_passages=rule_passages,
        disagreements=disagreement_table(corpus, coded, scored, aligned, max_disagreements),
        suggested_terms=suggest_terms(book, corpus, ruleset, coded, fitted, aligned, max_terms),
        notes=notes,
        n_passages=len(corpus.passages),
        n_documents=len(corpus.documents),
    )
