"""The tables of a diagnosis, built from the rules' hits: their columns and their rows.

Per rule (coverage, unique passages, conflicts, precision and recall against the gold), per
code (rules, classifier and combined against the gold), overlap between a code's rules,
conflicts, never-firing rules, and where rules and classifier disagree.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import pandas as pd

from ..types import Codebook, meets_threshold
from .steps import Coded, Corpus, Scored, prf, trim

RULE_COLUMNS: tuple[str, ...] = (
    "code",
    "rule_id",
    "kind",
    "lang",
    "veto",
    "fired",
    "coverage",
    "unique",
    "conflicts",
    "gold_passages",
    "true_positives",
    "precision",
    "recall",
)
CODE_COLUMNS: tuple[str, ...] = (
    "code",
    "label",
    "rules",
    "veto_rules",
    "never_fired",
    "rule_passages",
    "combined_passages",
    "has_classifier",
    "gold_support",
    "rules_precision",
    "rules_recall",
    "rules_f1",
    "classifier_precision",
    "classifier_recall",
    "classifier_f1",
    "combined_precision",
    "combined_recall",
    "combined_f1",
)
OVERLAP_COLUMNS: tuple[str, ...] = (
    "code",
    "rule_a",
    "rule_b",
    "passages_a",
    "passages_b",
    "both",
    "jaccard",
)
CONFLICT_COLUMNS: tuple[str, ...] = ("kind", "code", "rule_id", "other", "passages", "passage_ids")
CONFLICT_PASSAGE_COLUMNS: tuple[str, ...] = (
    "kind",
    "code",
    "rule_id",
    "other",
    "doc_id",
    "passage_id",
    "text",
)
NEVER_FIRED_COLUMNS: tuple[str, ...] = ("code", "rule_id", "kind", "lang", "veto", "reason")
RULE_PASSAGE_COLUMNS: tuple[str, ...] = (
    "code",
    "rule_id",
    "doc_id",
    "passage_id",
    "vetoed",
    "unique",
    "gold",
)
DISAGREEMENT_COLUMNS: tuple[str, ...] = (
    "code",
    "doc_id",
    "passage_id",
    "rule",
    "rule_ids",
    "score",
    "threshold",
    "disagreement",
    "kind",
    "gold",
    "text",
)
TERM_COLUMNS: tuple[str, ...] = (
    "code",
    "term",
    "method",
    "weight",
    "passages",
    "coded_passages",
    "example_1",
    "example_2",
    "example_3",
)


@dataclass
class _RuleSets:
    """Per rule: passage rows where it fired, where it coded, and coded uniquely."""

    fired: dict[str, set[int]]
    coded: dict[str, set[int]]
    unique: dict[str, set[int]]
    conflicts: dict[str, set[int]]


def rule_sets(book: Codebook, coded: Coded) -> _RuleSets:
    fired: dict[str, set[int]] = {r.id: set() for r in book.rules}
    coding: dict[str, set[int]] = {r.id: set() for r in book.rules}
    unique: dict[str, set[int]] = {r.id: set() for r in book.rules}
    conflicts: dict[str, set[int]] = {r.id: set() for r in book.rules}
    for i, hits in enumerate(coded.hits):
        by_code: dict[str, set[str]] = {}
        vetoes: dict[str, set[str]] = {}
        for hit in hits:
            fired.setdefault(hit.rule_id, set()).add(i)
            (vetoes if hit.veto else by_code).setdefault(hit.code, set()).add(hit.rule_id)
        for code, rule_ids in by_code.items():
            if code in vetoes:
                for rule_id in rule_ids | vetoes[code]:
                    conflicts.setdefault(rule_id, set()).add(i)
                continue
            for rule_id in rule_ids:
                coding.setdefault(rule_id, set()).add(i)
                if len(rule_ids) == 1:
                    unique.setdefault(rule_id, set()).add(i)
        for veto_ids in vetoes.values():
            for rule_id in veto_ids:
                coding.setdefault(rule_id, set()).add(i)
    return _RuleSets(fired, coding, unique, conflicts)


def rule_tables(
    book: Codebook,
    corpus: Corpus,
    coded: Coded,
    per_rule: _RuleSets,
    aligned: Sequence[frozenset[str] | None],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    with_gold = {i for i, codes in enumerate(aligned) if codes is not None}
    rows, passage_rows = [], []
    for rule in book.rules:
        coverage = per_rule.coded[rule.id]
        on_gold = coverage & with_gold
        support = {i for i in with_gold if rule.code in (aligned[i] or ())}
        if rule.veto:
            # a veto is right where the gold lacks its code
            true_pos = {i for i in on_gold if rule.code not in (aligned[i] or ())}
            recall = math.nan
        else:
            true_pos = on_gold & support
            recall = len(true_pos) / len(support) if support else math.nan
        rows.append(
            {
                "code": rule.code,
                "rule_id": rule.id,
                "kind": rule.kind,
                "lang": rule.lang,
                "veto": rule.veto,
                "fired": len(per_rule.fired[rule.id]),
                "coverage": len(coverage),
                "unique": pd.NA if rule.veto else len(per_rule.unique[rule.id]),
                "conflicts": len(per_rule.conflicts[rule.id]),
                "gold_passages": len(on_gold) if with_gold else pd.NA,
                "true_positives": len(true_pos) if with_gold else pd.NA,
                "precision": len(true_pos) / len(on_gold) if on_gold else math.nan,
                "recall": recall,
            }
        )
        for i in sorted(per_rule.fired[rule.id]):
            passage = corpus.passages[i]
            gold_codes = aligned[i]
            passage_rows.append(
                {
                    "code": rule.code,
                    "rule_id": rule.id,
                    "doc_id": passage.doc_id,
                    "passage_id": passage.passage_id,
                    "vetoed": rule.code in coded.vetoed[i],
                    "unique": i in per_rule.unique[rule.id],
                    "gold": pd.NA if gold_codes is None else int(rule.code in gold_codes),
                }
            )
    table = pd.DataFrame(rows, columns=list(RULE_COLUMNS))
    for column in ("fired", "coverage", "unique", "conflicts", "gold_passages", "true_positives"):
        table[column] = pd.array(table[column], dtype="Int64")
    table["veto"] = table["veto"].astype(bool)
    table[["precision", "recall"]] = table[["precision", "recall"]].astype("float64")
    passages = pd.DataFrame(passage_rows, columns=list(RULE_PASSAGE_COLUMNS))
    passages["gold"] = pd.array(passages["gold"], dtype="Int64")
    return table, passages


def never_fired_table(book: Codebook, corpus: Corpus, rules: pd.DataFrame) -> pd.DataFrame:
    languages = {(lang or "xx").strip().lower() for lang in corpus.languages}
    fired = dict(zip(rules["rule_id"], rules["fired"], strict=True))
    rows = []
    for rule in book.rules:
        if fired[rule.id]:
            continue
        lang = rule.lang.strip().lower()
        if lang != "any" and lang not in languages:
            reason = (
                f"it applies to language {lang!r} and no passage is in that language "
                f"(corpus languages: {', '.join(sorted(languages)) or 'none'})"
            )
        else:
            reason = "no passage matches it"
        rows.append(
            {
                "code": rule.code,
                "rule_id": rule.id,
                "kind": rule.kind,
                "lang": rule.lang,
                "veto": rule.veto,
                "reason": reason,
            }
        )
    return pd.DataFrame(rows, columns=list(NEVER_FIRED_COLUMNS))


def overlap_table(book: Codebook, per_rule: _RuleSets) -> pd.DataFrame:
    rows = []
    for code in book.codes:
        own = [r for r in code.rules if not r.veto]
        for a, b in combinations(own, 2):
            set_a, set_b = per_rule.coded[a.id], per_rule.coded[b.id]
            both = len(set_a & set_b)
            if not both:
                continue
            rows.append(
                {
                    "code": code.id,
                    "rule_a": a.id,
                    "rule_b": b.id,
                    "passages_a": len(set_a),
                    "passages_b": len(set_b),
                    "both": both,
                    "jaccard": both / len(set_a | set_b),
                }
            )
    return pd.DataFrame(rows, columns=list(OVERLAP_COLUMNS))


def conflict_tables(
    book: Codebook, corpus: Corpus, coded: Coded
) -> tuple[pd.DataFrame, pd.DataFrame]:
    leaf = [c.id for c in book.leaf_codes]
    found: dict[tuple[str, str, str, str], list[int]] = {}
    for i, hits in enumerate(coded.hits):
        proposed: dict[str, set[str]] = {}
        vetoes: dict[str, set[str]] = {}
        for hit in hits:
            (vetoes if hit.veto else proposed).setdefault(hit.code, set()).add(hit.rule_id)
        for code, veto_ids in vetoes.items():
            if code in proposed:
                other = ";".join(sorted(proposed[code]))
                for veto_id in sorted(veto_ids):
                    found.setdefault(("veto", code, veto_id, other), []).append(i)
        if book.exclusive:
            present = [c for c in leaf if c in coded.rule_codes[i]]
            for a, b in combinations(present, 2):
                found.setdefault(("exclusive", a, "", b), []).append(i)
    # one summary row per (kind, code, rule, other); the rules behind an exclusive pair vary by
    # passage, so the summary keys it by the two codes and the passage table names the rules
    summary_rows, passage_rows = [], []
    for (kind, code, rule_id, other), rows in found.items():
        ids = [corpus.passages[i].passage_id for i in rows]
        summary_rows.append(
            {
                "kind": kind,
                "code": code,
                "rule_id": rule_id,
                "other": other,
                "passages": len(rows),
                "passage_ids": ";".join(ids),
            }
        )
        for i in rows:
            passage = corpus.passages[i]
            if kind == "exclusive":
                rule_id_here = ";".join(
                    sorted({h.rule_id for c in (code, other) for h in coded.rule_codes[i][c]})
                )
            else:
                rule_id_here = rule_id
            passage_rows.append(
                {
                    "kind": kind,
                    "code": code,
                    "rule_id": rule_id_here,
                    "other": other,
                    "doc_id": passage.doc_id,
                    "passage_id": passage.passage_id,
                    "text": trim(passage.text),
                }
            )
    summary = pd.DataFrame(summary_rows, columns=list(CONFLICT_COLUMNS))
    if len(summary):
        summary["passages"] = summary["passages"].astype("int64")
    return summary, pd.DataFrame(passage_rows, columns=list(CONFLICT_PASSAGE_COLUMNS))


def code_table(
    book: Codebook,
    coded: Coded,
    per_rule: _RuleSets,
    rules: pd.DataFrame,
    scored: Scored,
    combined: Sequence[frozenset[str]],
    aligned: Sequence[frozenset[str] | None],
) -> pd.DataFrame:
    rows_with_gold = [i for i, codes in enumerate(aligned) if codes is not None]
    fired = dict(zip(rules["rule_id"], rules["fired"], strict=True))
    rows = []
    for code in book.leaf_codes:
        by_rules = [code.id in coded.rule_codes[i] for i in range(len(coded.hits))]
        row: dict[str, Any] = {
            "code": code.id,
            "label": code.label,
            "rules": sum(not r.veto for r in code.rules),
            "veto_rules": sum(r.veto for r in code.rules),
            "never_fired": sum(not fired[r.id] for r in code.rules),
            "rule_passages": sum(by_rules),
            "combined_passages": sum(code.id in found for found in combined),
            "has_classifier": code.id in scored.codes,
            "gold_support": pd.NA,
        }
        systems = {
            "rules": by_rules,
            "classifier": [code.id in found for found in scored.predicted],
            "combined": [code.id in found for found in combined],
        }
        for system, predicted in systems.items():
            precision = recall = f1 = math.nan
            if rows_with_gold and (system != "classifier" or code.id in scored.codes):
                truth = [code.id in (aligned[i] or ()) for i in rows_with_gold]
                precision, recall, f1, support, _ = prf(
                    [predicted[i] for i in rows_with_gold], truth
                )
                row["gold_support"] = support
            row[f"{system}_precision"] = precision
            row[f"{system}_recall"] = recall
            row[f"{system}_f1"] = f1
        rows.append(row)
    table = pd.DataFrame(rows, columns=list(CODE_COLUMNS))
    table["gold_support"] = pd.array(table["gold_support"], dtype="Int64")
    return table


def disagreement_table(
    corpus: Corpus,
    coded: Coded,
    scored: Scored,
    aligned: Sequence[frozenset[str] | None],
    limit: int,
) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for i, scores in enumerate(scored.scores):
        for code, score in scores.items():
            threshold = float(scored.thresholds.get(code, 0.5))
            rule = code in coded.rule_codes[i]
            if rule == meets_threshold(score, threshold):
                continue
            passage = corpus.passages[i]
            gold_codes = aligned[i]
            rows.append(
                {
                    "code": code,
                    "doc_id": passage.doc_id,
                    "passage_id": passage.passage_id,
                    "rule": int(rule),
                    "rule_ids": ";".join(
                        sorted({h.rule_id for h in coded.rule_codes[i].get(code, [])})
                    ),
                    "score": score,
                    "threshold": threshold,
                    "disagreement": abs(score - int(rule)),
                    "kind": "rule, low score" if rule else "high score, no rule",
                    "gold": pd.NA if gold_codes is None else int(code in gold_codes),
                    "text": trim(passage.text),
                    "_row": i,
                }
            )
    rows.sort(key=lambda r: (-r["disagreement"], r["_row"], r["code"]))
    table = pd.DataFrame(rows[:limit], columns=[*DISAGREEMENT_COLUMNS, "_row"])
    table = table.drop(columns="_row")
    table["gold"] = pd.array(table["gold"], dtype="Int64")
    return table
