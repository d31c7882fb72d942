"""Codebook diagnostics on a corpus, and what a codebook change does to the coding.

:func:`diagnose` runs a codebook's rules (and, when given, a model) over a corpus and reports per
rule and per code: coverage, overlap between a code's rules, conflicts (veto rules firing with
their code's rules, codes of an exclusive codebook firing together), rules that never fire, and,
with gold codings, each rule's precision and recall and each code's for rules alone, classifier
alone and combined. With a model it lists the passages where rules and classifier disagree most,
and for every code it suggests terms that none of its rules covers (never added automatically).

:func:`diff_codebooks` codes one corpus with two codebooks and reports, per code, the passages
gained and lost, the change in the code x document counts and, with gold, in precision, recall
and F1.

Definitions (the column names of the tables):

- a rule *fires* in a passage when it has a hit there; a non-veto rule *codes* the passage when
  it fires and no veto rule of its code fires there (``coverage``); it codes it *uniquely* when it
  is the only non-veto rule of its code that fired (``unique``): removing that rule loses exactly
  those passages;
- a veto rule's ``coverage`` is the passages it fires in, its ``conflicts`` the passages where it
  removed its code from a passage a rule of the code had coded; its ``precision`` is the share
  of its gold passages whose gold lacks the code (the veto was right);
- gold passages are aligned to corpus passages by ``doc_id`` and offsets: a corpus passage takes
  the codes of the gold passage that contains its span (the same paragraph, or the paragraph a
  sentence of it lies in); corpus passages no gold passage contains are left out of every metric;
- rules and classifier *disagree* on a passage and code when a rule codes it but its score is
  below the code's threshold, or the score reaches the threshold and no rule codes it; the
  ``disagreement`` is ``|score - rule|`` (rule 1 or 0), largest first;
- a suggested term is a word n-gram the classifier weighs positively for a code (its ``coef``),
  or, for a code without a classifier, a word with a positive smoothed log-odds ratio between
  passages with and without the code (gold when given, else the rules' coding), that appears
  in at least two passages with the code; stop words, numbers and terms a rule of the code
  covers (it matches the term as a passage, or the term is part of one of its phrases or
  lemmas) are left out;
- in a diff, a code id missing from the new codebook is *renamed* to a code id missing from the
  old one when their labels are equal (ignoring case and spacing), or else when they have the
  same non-empty set of rules (kind, language, terms, veto; rule ids aside); pairs are made in
  old-codebook order, one to one. Other such codes are ``removed`` or ``added``.
"""

from __future__ import annotations

import math
import os
import re
import warnings
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import accumulate, combinations
from pathlib import Path
from typing import Any

import pandas as pd

from .codebook import load_codebook
from .combine import combine
from .errors import GoldError, ModelError, TrustcodeWarning, UsageError
from .rules import RuleSet, fold
from .segment import parse_unit, segment
from .types import Code, Codebook, Document, Passage, Rule, RuleHit

__all__ = ["CodebookDiff", "Diagnosis", "diagnose", "diff_codebooks"]

_PathLike = str | os.PathLike[str]

#: how the classifier's word features are tokenized (scikit-learn's default token pattern)
_TOKEN = re.compile(r"(?u)\b\w\w+\b")
#: characters of passage text a table cell shows before it is cut
TEXT_CHARS = 200
#: smoothing added to each count of the log-odds ratio
_LOG_ODDS_PRIOR = 0.5
#: a log-odds term must occur in at least this many passages with the code
_LOG_ODDS_MIN_PASSAGES = 2


# --- shared steps: corpus, rules, gold, model ---------------------------------------------------


@dataclass
class _Corpus:
    documents: list[Document]
    passages: list[Passage]
    languages: list[str | None]


def _read(corpus_paths: _PathLike | Sequence[_PathLike], unit: str) -> _Corpus:
    from .io.readers import read_corpus

    parsed = parse_unit(unit)
    documents = list(read_corpus(corpus_paths))
    passages: list[Passage] = []
    languages: list[str | None] = []
    for document in documents:
        found = segment(document, parsed)
        passages.extend(found)
        languages.extend([document.language] * len(found))
    return _Corpus(documents, passages, languages)


def _codebook(codebook: Codebook | _PathLike | None) -> Codebook:
    if isinstance(codebook, Codebook):
        return codebook
    return load_codebook(None if codebook is None else Path(codebook))


@dataclass
class _Coded:
    """One codebook's rules on the corpus: per passage, its hits and what they code."""

    hits: list[list[RuleHit]]
    rule_codes: list[dict[str, list[RuleHit]]]
    vetoed: list[set[str]]


def _match(corpus: _Corpus, ruleset: RuleSet) -> _Coded:
    hits: list[list[RuleHit]] = [[] for _ in corpus.passages]
    by_language: dict[str | None, list[int]] = {}
    for i, language in enumerate(corpus.languages):
        by_language.setdefault(language, []).append(i)
    for language, rows in by_language.items():
        found = ruleset.match([corpus.passages[i] for i in rows], language)
        for i, passage_hits in zip(rows, found, strict=True):
            hits[i] = passage_hits
    return _Coded(
        hits=hits,
        rule_codes=[ruleset.codes(h) for h in hits],
        vetoed=[ruleset.vetoed(h) for h in hits],
    )


def _read_gold_frame(gold: pd.DataFrame | _PathLike | Sequence[_PathLike],
                     codebook: Codebook | None) -> pd.DataFrame:
    if isinstance(gold, pd.DataFrame):
        return gold
    from .gold import read_gold

    return read_gold(gold, codebook=codebook)


def _align_gold(gold: pd.DataFrame, corpus: _Corpus) -> tuple[list[frozenset[str] | None],
                                                               list[str]]:
    """Each corpus passage's gold codes (None: no gold passage contains it), and notes.

    Raises :class:`GoldError` when no gold document is in the corpus.
    """
    notes: list[str] = []
    texts = {d.doc_id: d.text for d in corpus.documents}
    gold_docs = list(dict.fromkeys(str(d) for d in gold["doc_id"]))
    missing = [d for d in gold_docs if d not in texts]
    if missing and len(missing) == len(gold_docs):
        raise GoldError(
            f"None of the gold's documents is in the corpus: gold documents "
            f"{', '.join(missing)}; corpus documents {', '.join(texts) or '(none)'}. Pass the "
            "corpus the gold was coded on, or gold codings of this corpus."
        )
    if missing:
        message = (
            f"{len(missing)} gold document(s) are not in the corpus and were left out: "
            f"{', '.join(missing)}. Add them to the corpus to use their gold passages."
        )
        warnings.warn(message, TrustcodeWarning, stacklevel=3)
        notes.append(message)
    # doc_id -> sorted (start, end, codes) of its gold passages
    spans: dict[str, list[tuple[int, int, frozenset[str]]]] = {}
    stale: Counter[str] = Counter()
    searched_from: dict[str, int] = {}
    for record in gold.to_dict("records"):
        doc_id = str(record["doc_id"])
        if doc_id not in texts:
            continue
        text, passage_text = texts[doc_id], str(record["text"])
        start, end = record.get("start"), record.get("end")
        if start is None or pd.isna(start) or end is None or pd.isna(end):
            # a passage table without offsets: find its text, in order, in the document
            at = text.find(passage_text, searched_from.get(doc_id, 0))
            if at < 0:
                at = text.find(passage_text)
            start, end = at, at + len(passage_text)
        start, end = int(start), int(end)
        if start < 0 or text[start:end].strip() != passage_text.strip():
            stale[doc_id] += 1
            continue
        searched_from[doc_id] = end
        spans.setdefault(doc_id, []).append((start, end, frozenset(record["codes"])))
    if stale:
        listed = ", ".join(f"{doc} ({n})" for doc, n in stale.items())
        message = (
            f"{sum(stale.values())} gold passage(s) do not fit the corpus text (their offsets "
            f"and text differ from the document's) and were left out: {listed}. The corpus "
            "holds another version of these documents: pass the version the gold was coded on, "
            "or recode them."
        )
        warnings.warn(message, TrustcodeWarning, stacklevel=3)
        notes.append(message)
    for doc_spans in spans.values():
        doc_spans.sort(key=lambda s: (s[0], s[1]))
    starts = {doc: [s[0] for s in doc_spans] for doc, doc_spans in spans.items()}
    # the furthest end among a document's gold passages up to each one: once it falls short
    # of a corpus passage's end, no earlier gold passage can contain that passage
    reach = {doc: list(accumulate((s[1] for s in doc_spans), max))
             for doc, doc_spans in spans.items()}
    aligned: list[frozenset[str] | None] = []
    used: set[tuple[str, int]] = set()
    for passage in corpus.passages:
        doc_spans = spans.get(passage.doc_id, [])
        codes: frozenset[str] | None = None
        k = bisect_right(starts.get(passage.doc_id, []), passage.start) - 1
        while k >= 0 and reach[passage.doc_id][k] >= passage.end:
            g_start, g_end, g_codes = doc_spans[k]
            if passage.end <= g_end:  # several coders' passages on one span: their codes join
                codes = g_codes if codes is None else codes | g_codes
                used.add((passage.doc_id, k))
            k -= 1
        aligned.append(codes)
    unused = sum(len(s) for s in spans.values()) - len(used)
    if unused:
        message = (
            f"{unused} gold passage(s) contain no corpus passage (the unit cuts them "
            "differently) and were left out of the metrics."
        )
        warnings.warn(message, TrustcodeWarning, stacklevel=3)
        notes.append(message)
    if not any(codes is not None for codes in aligned):
        raise GoldError(
            "No gold passage lines up with a passage of the corpus: the gold's offsets or texts "
            "do not fit the documents. Use the corpus the gold was coded on, with the same unit."
        )
    return aligned, notes


def _model(model: Any, codebook: Codebook) -> Any:
    """A fitted model from ``"default"``, a path, a fitted classifier, or None."""
    if model is None:
        return None
    if hasattr(model, "predict_scores"):
        return model
    from .pipeline import _load_model, resolve_model

    path = resolve_model(model, codebook)
    return _load_model(path, codebook) if path else None


@dataclass
class _Scored:
    """The classifier on the corpus (empty without a model)."""

    scores: list[dict[str, float]]
    thresholds: Mapping[str, float]
    predicted: list[frozenset[str]]
    codes: tuple[str, ...]


def _score(model: Any, corpus: _Corpus) -> _Scored:
    if model is None or not corpus.passages:
        return _Scored([{} for _ in corpus.passages], {}, [frozenset()] * len(corpus.passages), ())
    texts = [p.text for p in corpus.passages]
    frame = model.predict_scores(texts)
    scores = [{str(c): float(v) for c, v in row.items()} for row in frame.to_dict("records")]
    predicted = [frozenset(codes) for codes in model.predict(texts)]
    return _Scored(scores, dict(model.thresholds_), predicted, tuple(model.classifier_codes_))


def _combined(codebook: Codebook, coded: _Coded, scored: _Scored) -> list[frozenset[str]]:
    leaf = {c.id for c in codebook.leaf_codes}
    out = []
    for i, (rule_codes, vetoed) in enumerate(zip(coded.rule_codes, coded.vetoed, strict=True)):
        scores = {c: s for c, s in scored.scores[i].items() if c in leaf} or None
        found = combine(codebook, rule_codes, vetoed, scores, scored.thresholds or None)
        out.append(frozenset(code for code, _, _ in found))
    return out


def _prf(predicted: Iterable[bool], truth: Iterable[bool]) -> tuple[float, float, float, int, int]:
    """precision, recall, F1 (NaN when undefined), support and predicted count."""
    tp = n_pred = n_true = 0
    for p, t in zip(predicted, truth, strict=True):
        n_pred += p
        n_true += t
        tp += p and t
    precision = tp / n_pred if n_pred else math.nan
    recall = tp / n_true if n_true else math.nan
    f1 = 2 * tp / (n_pred + n_true) if n_pred + n_true else math.nan
    return precision, recall, f1, n_true, n_pred


def _trim(text: str, chars: int = TEXT_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= chars else text[: chars - 1].rstrip() + "…"


def _note_frame(notes: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame({"note": list(notes)}, columns=["note"])


# --- diagnose -----------------------------------------------------------------------------------

RULE_COLUMNS: tuple[str, ...] = (
    "code", "rule_id", "kind", "lang", "veto", "fired", "coverage", "unique", "conflicts",
    "gold_passages", "true_positives", "precision", "recall",
)
CODE_COLUMNS: tuple[str, ...] = (
    "code", "label", "rules", "veto_rules", "never_fired", "rule_passages", "combined_passages",
    "has_classifier", "gold_support",
    "rules_precision", "rules_recall", "rules_f1",
    "classifier_precision", "classifier_recall", "classifier_f1",
    "combined_precision", "combined_recall", "combined_f1",
)
OVERLAP_COLUMNS: tuple[str, ...] = (
    "code", "rule_a", "rule_b", "passages_a", "passages_b", "both", "jaccard",
)
CONFLICT_COLUMNS: tuple[str, ...] = ("kind", "code", "rule_id", "other", "passages", "passage_ids")
CONFLICT_PASSAGE_COLUMNS: tuple[str, ...] = (
    "kind", "code", "rule_id", "other", "doc_id", "passage_id", "text",
)
NEVER_FIRED_COLUMNS: tuple[str, ...] = ("code", "rule_id", "kind", "lang", "veto", "reason")
RULE_PASSAGE_COLUMNS: tuple[str, ...] = (
    "code", "rule_id", "doc_id", "passage_id", "vetoed", "unique", "gold",
)
DISAGREEMENT_COLUMNS: tuple[str, ...] = (
    "code", "doc_id", "passage_id", "rule", "rule_ids", "score", "threshold", "disagreement",
    "kind", "gold", "text",
)
TERM_COLUMNS: tuple[str, ...] = (
    "code", "term", "method", "weight", "passages", "coded_passages",
    "example_1", "example_2", "example_3",
)


@dataclass
class Diagnosis:
    """The tables :func:`diagnose` returns (column names: the ``*_COLUMNS`` constants)."""

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
            "notes": _note_frame(self.notes),
        }

    def summary(self) -> str:
        """A few lines for the terminal: sizes, never-firing rules, weakest rules, conflicts."""
        lines = [
            f"{self.n_documents} documents, {self.n_passages} passages; "
            f"{len(self.rules)} rules of {len(self.codes)} codes.",
        ]
        lines.append(
            f"Rules that never fire: {len(self.never_fired)}"
            + (f" ({', '.join(self.never_fired['rule_id'][:10])}"
               f"{' ...' if len(self.never_fired) > 10 else ''})" if len(self.never_fired) else "")
        )
        scored = self.rules.dropna(subset=["precision"])
        scored = scored[~scored["veto"]]
        if len(scored):
            weakest = scored.sort_values(["precision", "rule_id"]).head(5)
            shown = ", ".join(f"{r} {p:.2f}" for r, p in zip(weakest["rule_id"],
                                                              weakest["precision"], strict=True))
            lines.append(f"Lowest rule precision against the gold: {shown}.")
        if len(self.conflicts):
            lines.append(f"Conflicts: {int(self.conflicts['passages'].sum())} passage(s) in "
                         f"{len(self.conflicts)} veto or exclusive-code conflict(s).")
        if len(self.disagreements):
            lines.append(f"The {len(self.disagreements)} passage-code pair(s) where rules and "
                         "classifier disagree most are in the disagreements table.")
        if len(self.suggested_terms):
            lines.append(f"{len(self.suggested_terms)} suggested term(s) for new rules.")
        lines.extend(f"Note: {n}" for n in self.notes)
        return "\n".join(lines)


def diagnose(
    corpus_paths: _PathLike | Sequence[_PathLike],
    *,
    codebook: Codebook | _PathLike | None = None,
    gold: pd.DataFrame | _PathLike | Sequence[_PathLike] | None = None,
    model: Any = "default",
    unit: str = "paragraph",
    max_terms: int = 20,
    max_disagreements: int = 200,
) -> Diagnosis:
    """Diagnose a codebook's rules (and a model) on a corpus; see the module docstring.

    ``codebook`` is a path or a loaded codebook (default: the shipped one); ``gold`` gold files
    (read with :func:`trustcode.gold.read_gold`) or their table; ``model`` is ``"default"`` (the
    shipped model when it fits the codebook), a model file, a fitted
    :class:`~trustcode.classify.CodeClassifier`, or None (rules only). ``max_terms`` caps the
    suggested terms per code, ``max_disagreements`` the disagreement rows.

    >>> report = diagnose("corpus", gold="corpus/gold/coding")  # doctest: +SKIP
    >>> report.rules[["rule_id", "coverage", "unique", "precision"]]  # doctest: +SKIP
    """
    for name, value in (("max_terms", max_terms), ("max_disagreements", max_disagreements)):
        if not isinstance(value, int) or value < 0:
            raise UsageError(f"The {name!r} parameter of diagnose must be an int in [0, inf). "
                             f"Got {value!r} instead.")
    book = _codebook(codebook)
    corpus = _read(corpus_paths, unit)
    ruleset = RuleSet(book)
    coded = _match(corpus, ruleset)
    notes: list[str] = []
    aligned: list[frozenset[str] | None] = [None] * len(corpus.passages)
    if gold is not None:
        aligned, gold_notes = _align_gold(_read_gold_frame(gold, book), corpus)
        notes.extend(gold_notes)
    fitted = _model(model, book)
    scored = _score(fitted, corpus)
    combined = _combined(book, coded, scored)

    per_rule = _rule_sets(book, coded)
    rules, rule_passages = _rule_tables(book, corpus, coded, per_rule, aligned)
    never = _never_fired(book, corpus, rules)
    for row in never.itertuples(index=False):
        warnings.warn(
            f"Rule {row.rule_id!r} of code {row.code!r} never fires on the corpus "
            f"({len(corpus.passages)} passages): {row.reason}. Check its terms against the "
            "texts, or remove it.",
            TrustcodeWarning,
            stacklevel=2,
        )
    conflicts, conflict_passages = _conflicts(book, corpus, coded)
    return Diagnosis(
        codes=_code_table(book, coded, per_rule, rules, scored, combined, aligned),
        rules=rules,
        overlap=_overlap(book, per_rule),
        conflicts=conflicts,
        conflict_passages=conflict_passages,
        never_fired=never,
        rule_passages=rule_passages,
        disagreements=_disagreements(corpus, coded, scored, aligned, max_disagreements),
        suggested_terms=_suggest_terms(book, corpus, ruleset, coded, fitted, aligned, max_terms),
        notes=notes,
        n_passages=len(corpus.passages),
        n_documents=len(corpus.documents),
    )


@dataclass
class _RuleSets:
    """Per rule: passage rows where it fired, where it coded, and coded uniquely."""

    fired: dict[str, set[int]]
    coded: dict[str, set[int]]
    unique: dict[str, set[int]]
    conflicts: dict[str, set[int]]


def _rule_sets(book: Codebook, coded: _Coded) -> _RuleSets:
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


def _rule_tables(
    book: Codebook,
    corpus: _Corpus,
    coded: _Coded,
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
        rows.append({
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
        })
        for i in sorted(per_rule.fired[rule.id]):
            passage = corpus.passages[i]
            gold_codes = aligned[i]
            passage_rows.append({
                "code": rule.code,
                "rule_id": rule.id,
                "doc_id": passage.doc_id,
                "passage_id": passage.passage_id,
                "vetoed": rule.code in coded.vetoed[i],
                "unique": i in per_rule.unique[rule.id],
                "gold": pd.NA if gold_codes is None else int(rule.code in gold_codes),
            })
    table = pd.DataFrame(rows, columns=list(RULE_COLUMNS))
    for column in ("fired", "coverage", "unique", "conflicts", "gold_passages", "true_positives"):
        table[column] = pd.array(table[column], dtype="Int64")
    table["veto"] = table["veto"].astype(bool)
    table[["precision", "recall"]] = table[["precision", "recall"]].astype("float64")
    passages = pd.DataFrame(passage_rows, columns=list(RULE_PASSAGE_COLUMNS))
    passages["gold"] = pd.array(passages["gold"], dtype="Int64")
    return table, passages


def _never_fired(book: Codebook, corpus: _Corpus, rules: pd.DataFrame) -> pd.DataFrame:
    languages = {(lang or "xx").strip().lower() for lang in corpus.languages}
    fired = dict(zip(rules["rule_id"], rules["fired"], strict=True))
    rows = []
    for rule in book.rules:
        if fired[rule.id]:
            continue
        lang = rule.lang.strip().lower()
        if lang != "any" and lang not in languages:
            reason = (f"it applies to language {lang!r} and no passage is in that language "
                      f"(corpus languages: {', '.join(sorted(languages)) or 'none'})")
        else:
            reason = "no passage matches it"
        rows.append({"code": rule.code, "rule_id": rule.id, "kind": rule.kind, "lang": rule.lang,
                     "veto": rule.veto, "reason": reason})
    return pd.DataFrame(rows, columns=list(NEVER_FIRED_COLUMNS))


def _overlap(book: Codebook, per_rule: _RuleSets) -> pd.DataFrame:
    rows = []
    for code in book.codes:
        own = [r for r in code.rules if not r.veto]
        for a, b in combinations(own, 2):
            set_a, set_b = per_rule.coded[a.id], per_rule.coded[b.id]
            both = len(set_a & set_b)
            if not both:
                continue
            rows.append({"code": code.id, "rule_a": a.id, "rule_b": b.id,
                         "passages_a": len(set_a), "passages_b": len(set_b), "both": both,
                         "jaccard": both / len(set_a | set_b)})
    return pd.DataFrame(rows, columns=list(OVERLAP_COLUMNS))


def _conflicts(book: Codebook, corpus: _Corpus, coded: _Coded) -> tuple[pd.DataFrame,
                                                                         pd.DataFrame]:
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
        summary_rows.append({"kind": kind, "code": code, "rule_id": rule_id, "other": other,
                             "passages": len(rows), "passage_ids": ";".join(ids)})
        for i in rows:
            passage = corpus.passages[i]
            if kind == "exclusive":
                rule_id_here = ";".join(sorted(
                    {h.rule_id for c in (code, other) for h in coded.rule_codes[i][c]}))
            else:
                rule_id_here = rule_id
            passage_rows.append({"kind": kind, "code": code, "rule_id": rule_id_here,
                                 "other": other, "doc_id": passage.doc_id,
                                 "passage_id": passage.passage_id, "text": _trim(passage.text)})
    summary = pd.DataFrame(summary_rows, columns=list(CONFLICT_COLUMNS))
    if len(summary):
        summary["passages"] = summary["passages"].astype("int64")
    return summary, pd.DataFrame(passage_rows, columns=list(CONFLICT_PASSAGE_COLUMNS))


def _code_table(
    book: Codebook,
    coded: _Coded,
    per_rule: _RuleSets,
    rules: pd.DataFrame,
    scored: _Scored,
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
                precision, recall, f1, support, _ = _prf(
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


def _disagreements(
    corpus: _Corpus,
    coded: _Coded,
    scored: _Scored,
    aligned: Sequence[frozenset[str] | None],
    limit: int,
) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for i, scores in enumerate(scored.scores):
        for code, score in scores.items():
            threshold = float(scored.thresholds.get(code, 0.5))
            rule = code in coded.rule_codes[i]
            if rule == (score >= threshold):
                continue
            passage = corpus.passages[i]
            gold_codes = aligned[i]
            rows.append({
                "code": code,
                "doc_id": passage.doc_id,
                "passage_id": passage.passage_id,
                "rule": int(rule),
                "rule_ids": ";".join(sorted({h.rule_id
                                            for h in coded.rule_codes[i].get(code, [])})),
                "score": score,
                "threshold": threshold,
                "disagreement": abs(score - int(rule)),
                "kind": "rule, low score" if rule else "high score, no rule",
                "gold": pd.NA if gold_codes is None else int(code in gold_codes),
                "text": _trim(passage.text),
                "_row": i,
            })
    rows.sort(key=lambda r: (-r["disagreement"], r["_row"], r["code"]))
    table = pd.DataFrame(rows[:limit], columns=[*DISAGREEMENT_COLUMNS, "_row"])
    table = table.drop(columns="_row")
    table["gold"] = pd.array(table["gold"], dtype="Int64")
    return table


# --- suggested terms ------------------------------------------------------------------------------


def _ngrams(text: str, sizes: range) -> set[str]:
    tokens = _TOKEN.findall(fold(text.lower()))
    return {" ".join(tokens[k:k + n]) for n in sizes for k in range(len(tokens) - n + 1)}


def _stop_words(languages: Iterable[str | None]) -> frozenset[str]:
    from .nlp import tokenizer

    words: set[str] = set()
    for language in set(languages):
        try:
            words |= {fold(w.lower()) for w in tokenizer(language).Defaults.stop_words}
        except Exception:  # a language spaCy lacks: no stop words, nothing else changes
            continue
    return frozenset(words)


def _covered(
    terms: Sequence[str], code: Code, ruleset: RuleSet, languages: Sequence[str | None]
) -> set[str]:
    """The terms a rule of ``code`` covers: it matches the term as a passage, or the term is
    part of one of its phrases or lemmas."""
    phrases = [fold(t.lower()) for r in code.rules if r.kind in ("phrases", "lemmas")
               for t in r.terms]
    covered = {t for t in terms if any(t in phrase for phrase in phrases)}
    passages = [Passage("term", k, 0, len(t), t) for k, t in enumerate(terms)]
    for language in dict.fromkeys(languages):
        for term, hits in zip(terms, ruleset.match(passages, language), strict=True):
            if any(h.code == code.id for h in hits):
                covered.add(term)
    return covered


def _classifier_weights(model: Any, code: str) -> list[tuple[str, float]]:
    """Word n-gram features by falling positive weight for ``code``."""
    row = list(model.classifier_codes_).index(code)
    n_words = len(model.vectorizers_[0].vocabulary_)
    coef = model.coef_[row][:n_words]
    names = model.feature_names_[:n_words]
    ranked = sorted(((float(w), str(t)) for t, w in zip(names, coef, strict=True) if w > 0),
                    key=lambda item: (-item[0], item[1]))
    return [(t, w) for w, t in ranked]


def _log_odds(texts_in: Sequence[str], texts_out: Sequence[str]) -> list[tuple[str, float]]:
    """Words by falling smoothed log-odds ratio of their frequency in ``texts_in`` vs
    ``texts_out``."""
    tokens_in = [_TOKEN.findall(fold(t.lower())) for t in texts_in]
    inside = Counter(w for tokens in tokens_in for w in tokens)
    spread = Counter(w for tokens in tokens_in for w in set(tokens))
    outside = Counter(w for t in texts_out for w in _TOKEN.findall(fold(t.lower())))
    n_in, n_out = sum(inside.values()), sum(outside.values())
    a = _LOG_ODDS_PRIOR
    ranked = []
    for word, count in inside.items():
        if spread[word] < _LOG_ODDS_MIN_PASSAGES:  # one passage's wording is no pattern
            continue
        other = outside.get(word, 0)
        value = (math.log((count + a) / (n_in - count + a))
                 - math.log((other + a) / (n_out - other + a)))
        if value > 0:
            ranked.append((word, value))
    ranked.sort(key=lambda item: (-item[1], item[0]))
    return ranked


def _suggest_terms(
    book: Codebook,
    corpus: _Corpus,
    ruleset: RuleSet,
    coded: _Coded,
    model: Any,
    aligned: Sequence[frozenset[str] | None],
    max_terms: int,
) -> pd.DataFrame:
    if max_terms <= 0 or not corpus.passages:
        return pd.DataFrame(columns=list(TERM_COLUMNS))
    max_n = 2
    if model is not None:
        max_n = max(2, int(model.vectorizers_[0].ngram_range[1]))
    grams = [_ngrams(p.text, range(1, max_n + 1)) for p in corpus.passages]
    stop = _stop_words(corpus.languages)
    languages = [lang for lang in dict.fromkeys(corpus.languages)]
    with_gold = [i for i, codes in enumerate(aligned) if codes is not None]
    rows = []
    for code in book.leaf_codes:
        # the passages that carry the code: by the gold where it has them, else by the rules
        if with_gold:
            rows_used, source = with_gold, "gold"
            positive = {i for i in with_gold if code.id in (aligned[i] or ())}
        else:
            rows_used, source = list(range(len(corpus.passages))), "rules"
            positive = {i for i in rows_used if code.id in coded.rule_codes[i]}
        if model is not None and code.id in model.classifier_codes_:
            ranked, method = _classifier_weights(model, code.id), "classifier weight"
        else:
            method = f"log-odds ({source})"
            ranked = _log_odds([corpus.passages[i].text for i in rows_used if i in positive],
                               [corpus.passages[i].text for i in rows_used if i not in positive])
        # stop words and numbers say nothing about a code, whatever their weight
        candidates = [
            (t, w) for t, w in ranked
            if not all(part in stop or part.isdigit() for part in t.split())
        ][: max_terms * 5]
        covered = _covered([t for t, _ in candidates], code, ruleset, languages)
        kept = [(t, w) for t, w in candidates if t not in covered][:max_terms]
        for term, weight in kept:
            having = [i for i, g in enumerate(grams) if term in g]
            examples = [f"{corpus.passages[i].passage_id}: {_trim(corpus.passages[i].text, 160)}"
                        for i in having[:3]]
            examples += [""] * (3 - len(examples))
            rows.append({"code": code.id, "term": term, "method": method, "weight": weight,
                         "passages": len(having),
                         "coded_passages": len(positive.intersection(having)),
                         "example_1": examples[0], "example_2": examples[1],
                         "example_3": examples[2]})
    return pd.DataFrame(rows, columns=list(TERM_COLUMNS))


# --- diff_codebooks -----------------------------------------------------------------------------

DIFF_CODE_COLUMNS: tuple[str, ...] = (
    "code", "old_code", "new_code", "status", "old_passages", "new_passages", "gained", "lost",
    "rules_added", "rules_removed",
)
DIFF_PASSAGE_COLUMNS: tuple[str, ...] = (
    "code", "change", "doc_id", "passage_id", "rule_ids", "text",
)
DIFF_MATRIX_COLUMNS: tuple[str, ...] = ("doc_id", "code", "old", "new", "delta")
DIFF_AGREEMENT_COLUMNS: tuple[str, ...] = (
    "code", "support", "old_precision", "old_recall", "old_f1",
    "new_precision", "new_recall", "new_f1", "delta_f1",
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
        return {"codes": self.codes, "passages": self.passages, "matrix": self.matrix,
                "agreement": self.agreement, "notes": _note_frame(self.notes)}

    def summary(self) -> str:
        """A few lines for the terminal: which codes changed and how many passages moved."""
        lines = []
        for status in ("renamed", "added", "removed"):
            part = self.codes[self.codes["status"] == status]
            if len(part):
                names = (part["old_code"] + " -> " + part["new_code"] if status == "renamed"
                         else part["code"])
                lines.append(f"{status.capitalize()} codes: {', '.join(names)}.")
        moved = self.codes[(self.codes["gained"] > 0) | (self.codes["lost"] > 0)]
        for row in moved.itertuples(index=False):
            lines.append(f"{row.code}: +{row.gained} / -{row.lost} passages "
                         f"({row.old_passages} -> {row.new_passages}).")
        if not lines:
            lines.append("No code gains or loses a passage.")
        if len(self.agreement):
            changed = self.agreement[self.agreement["delta_f1"].fillna(0) != 0]
            for row in changed.itertuples(index=False):
                lines.append(f"{row.code}: F1 against the gold {row.old_f1:.3f} -> "
                             f"{row.new_f1:.3f}.")
        lines.extend(f"Note: {n}" for n in self.notes)
        return "\n".join(lines)


def _rule_signature(rule: Rule) -> tuple[Any, ...]:
    """What a rule matches, without its id or code: equal signatures match the same words."""
    return (rule.kind, rule.lang, tuple(rule.terms), repr(rule.pattern), repr(rule.near),
            rule.veto, rule.case_sensitive)


def _rules_signature(code: Code) -> frozenset[tuple[Any, ...]]:
    return frozenset(_rule_signature(r) for r in code.rules)


def _pair_codes(old: Codebook, new: Codebook) -> list[tuple[str | None, str | None, str]]:
    """``(old id, new id, status)`` for every leaf code of either codebook (renames: see the
    module docstring)."""
    old_leaf, new_leaf = list(old.leaf_codes), list(new.leaf_codes)
    new_ids = {c.id for c in new_leaf}
    old_ids = {c.id for c in old_leaf}
    gone = [c for c in old_leaf if c.id not in new_ids]
    fresh = [c for c in new_leaf if c.id not in old_ids]

    def label(code: Code) -> str:
        return " ".join(code.label.lower().split())

    renamed: dict[str, str] = {}
    for test in (lambda a, b: label(a) == label(b) and bool(label(a)),
                 lambda a, b: bool(a.rules) and _rules_signature(a) == _rules_signature(b)):
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
            same = (_rules_signature(code) == _rules_signature(new.code(code.id))
                    and code.combine == new.code(code.id).combine)
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
                fitted = _model(model, book)
        except ModelError as exc:
            errors.append(str(exc))
            continue
        if fitted is not None:
            return fitted
    message = ("The model fits neither codebook, so both are compared by their rules only"
               + (f" ({errors[0]})" if errors else "") + ".")
    warnings.warn(message, TrustcodeWarning, stacklevel=3)
    notes.append(message)
    return None


def _side(book: Codebook, corpus: _Corpus, scored: _Scored) -> tuple[list[frozenset[str]],
                                                                      _Coded]:
    coded = _match(corpus, RuleSet(book))
    return _combined(book, coded, scored), coded


def diff_codebooks(
    old: Codebook | _PathLike,
    new: Codebook | _PathLike,
    corpus_paths: _PathLike | Sequence[_PathLike],
    *,
    gold: pd.DataFrame | _PathLike | Sequence[_PathLike] | None = None,
    model: Any = None,
    unit: str = "paragraph",
) -> CodebookDiff:
    """Code a corpus with two codebooks and report what changed, per code.

    Codes pair up by id; a code whose id is in one codebook only is renamed when the other has
    a lone code with the same label or the same rules (see the module docstring), else added or
    removed. In the ``matrix`` table a code absent from one codebook counts as missing (NA)
    there and as 0 in ``delta``. ``model`` (a file, ``"default"`` or a fitted classifier)
    adds the classifier to both sides when it fits either codebook; by default both are coded
    by rules only.

    >>> change = diff_codebooks("codebook.yaml", "codebook-new.yaml", "corpus")  # doctest: +SKIP
    >>> change.passages[change.passages["change"] == "lost"]  # doctest: +SKIP
    """
    old_book, new_book = _codebook(old), _codebook(new)
    corpus = _read(corpus_paths, unit)
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
    scored = _score(fitted, corpus)
    old_sets, old_coded = _side(old_book, corpus, scored)
    new_sets, new_coded = _side(new_book, corpus, scored)
    aligned: list[frozenset[str] | None] = [None] * len(corpus.passages)
    if gold is not None:
        aligned, gold_notes = _align_gold(_read_gold_frame(gold, None), corpus)
        notes.extend(gold_notes)

    code_rows, passage_rows, matrix_rows, agreement_rows = [], [], [], []
    doc_order = [d.doc_id for d in corpus.documents]
    with_gold = [i for i, codes in enumerate(aligned) if codes is not None]
    for old_id, new_id, status in _pair_codes(old_book, new_book):
        name = new_id or old_id or ""
        old_rows = ({i for i, s in enumerate(old_sets) if old_id in s} if old_id else set())
        new_rows = ({i for i, s in enumerate(new_sets) if new_id in s} if new_id else set())
        old_sig = _rules_signature(old_book.code(old_id)) if old_id else frozenset()
        new_sig = _rules_signature(new_book.code(new_id)) if new_id else frozenset()
        gained, lost = sorted(new_rows - old_rows), sorted(old_rows - new_rows)
        code_rows.append({
            "code": name, "old_code": old_id or "", "new_code": new_id or "", "status": status,
            "old_passages": len(old_rows), "new_passages": len(new_rows),
            "gained": len(gained) if old_id and new_id else 0,
            "lost": len(lost) if old_id and new_id else 0,
            "rules_added": len(new_sig - old_sig), "rules_removed": len(old_sig - new_sig),
        })
        if old_id and new_id:
            for change, rows, side_coded, side_id in (("gained", gained, new_coded, new_id),
                                                      ("lost", lost, old_coded, old_id)):
                for i in rows:
                    passage = corpus.passages[i]
                    rule_ids = sorted({h.rule_id for h in side_coded.rule_codes[i].get(side_id,
                                                                                      [])})
                    passage_rows.append({"code": name, "change": change,
                                         "doc_id": passage.doc_id,
                                         "passage_id": passage.passage_id,
                                         "rule_ids": ";".join(rule_ids),
                                         "text": _trim(passage.text)})
        for doc_id in doc_order:
            in_doc = [i for i, p in enumerate(corpus.passages) if p.doc_id == doc_id]
            n_old = sum(i in old_rows for i in in_doc) if old_id else pd.NA
            n_new = sum(i in new_rows for i in in_doc) if new_id else pd.NA
            matrix_rows.append({"doc_id": doc_id, "code": name, "old": n_old, "new": n_new,
                                "delta": (n_new if new_id else 0) - (n_old if old_id else 0)})
        if with_gold:
            truth = [bool({old_id, new_id} & (aligned[i] or frozenset())) for i in with_gold]
            old_m = _prf([i in old_rows for i in with_gold], truth) if old_id else (math.nan,) * 5
            new_m = _prf([i in new_rows for i in with_gold], truth) if new_id else (math.nan,) * 5
            agreement_rows.append({
                "code": name, "support": sum(truth),
                "old_precision": old_m[0], "old_recall": old_m[1], "old_f1": old_m[2],
                "new_precision": new_m[0], "new_recall": new_m[1], "new_f1": new_m[2],
                "delta_f1": new_m[2] - old_m[2],
            })
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

