"""The steps diagnose and diff share: read the corpus, run the rules, load and run a model.

Also the small helpers of both reports: precision/recall/F1, cut table text, the notes table.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..codebook import load_codebook
from ..combine import combine
from ..rules import RuleSet
from ..segment import parse_unit, segment
from ..types import Codebook, Document, Passage, RuleHit

PathLike = str | os.PathLike[str]

#: characters of passage text a table cell shows before it is cut
TEXT_CHARS = 200


@dataclass
class Corpus:
    documents: list[Document]
    passages: list[Passage]
    languages: list[str | None]


def read_passages(corpus_paths: PathLike | Sequence[PathLike], unit: str) -> Corpus:
    from ..io.readers import read_corpus

    parsed = parse_unit(unit)
    documents = list(read_corpus(corpus_paths))
    passages: list[Passage] = []
    languages: list[str | None] = []
    for document in documents:
        found = segment(document, parsed)
        passages.extend(found)
        languages.extend([document.language] * len(found))
    return Corpus(documents, passages, languages)


def codebook_of(codebook: Codebook | PathLike | None) -> Codebook:
    if isinstance(codebook, Codebook):
        return codebook
    return load_codebook(None if codebook is None else Path(codebook))


@dataclass
class Coded:
    """One codebook's rules on the corpus: per passage, its hits and what they code."""

    hits: list[list[RuleHit]]
    rule_codes: list[dict[str, list[RuleHit]]]
    vetoed: list[set[str]]


def match_rules(corpus: Corpus, ruleset: RuleSet) -> Coded:
    hits: list[list[RuleHit]] = [[] for _ in corpus.passages]
    by_language: dict[str | None, list[int]] = {}
    for i, language in enumerate(corpus.languages):
        by_language.setdefault(language, []).append(i)
    for language, rows in by_language.items():
        found = ruleset.match([corpus.passages[i] for i in rows], language)
        for i, passage_hits in zip(rows, found, strict=True):
            hits[i] = passage_hits
    return Coded(
        hits=hits,
        rule_codes=[ruleset.codes(h) for h in hits],
        vetoed=[ruleset.vetoed(h) for h in hits],
    )


def model_of(model: Any, codebook: Codebook) -> Any:
    """A fitted model from ``"default"``, a path, a fitted classifier, or None."""
    if model is None:
        return None
    if hasattr(model, "predict_scores"):
        return model
    from ..pipeline.models import load_run_model, resolve_model

    path = resolve_model(model, codebook)
    return load_run_model(path, codebook) if path else None


@dataclass
class Scored:
    """The classifier on the corpus (empty without a model)."""

    scores: list[dict[str, float]]
    thresholds: Mapping[str, float]  # the model's: where a score and a rule disagree
    predicted: list[frozenset[str]]
    codes: tuple[str, ...]
    # per passage, as the coder hands them to combine (a score on too few words codes nothing)
    cuts: Sequence[Mapping[str, float]]
    # an adapted model's cuts under which a code's rule hits do not stand (classify.adapting)
    rule_cuts: Mapping[str, float] | None = None


def score_passages(model: Any, corpus: Corpus) -> Scored:
    n = len(corpus.passages)
    if model is None or not n:
        return Scored([{} for _ in range(n)], {}, [frozenset()] * n, (), [{} for _ in range(n)])
    from ..classify.evidence import passage_thresholds

    texts = [p.text for p in corpus.passages]
    features = model.features(texts)
    values = model.score_matrix(texts, features=features)
    codes = [str(c) for c in model.classifier_codes_]
    scores = [dict(zip(codes, row.tolist(), strict=True)) for row in values]
    predicted = [frozenset(found) for found in model.predict(texts)]
    return Scored(
        scores,
        dict(model.thresholds_),
        predicted,
        tuple(codes),
        passage_thresholds(model, features, values),
        getattr(model, "rule_cuts_", None),
    )


def combined_codes(codebook: Codebook, coded: Coded, scored: Scored) -> list[frozenset[str]]:
    leaf = {c.id for c in codebook.leaf_codes}
    out = []
    for i, (rule_codes, vetoed) in enumerate(zip(coded.rule_codes, coded.vetoed, strict=True)):
        scores = {c: s for c, s in scored.scores[i].items() if c in leaf} or None
        found = combine(
            codebook, rule_codes, vetoed, scores, scored.cuts[i] or None, scored.rule_cuts
        )
        out.append(frozenset(code for code, _, _ in found))
    return out


def prf(predicted: Iterable[bool], truth: Iterable[bool]) -> tuple[float, float, float, int, int]:
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


def trim(text: str, chars: int = TEXT_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= chars else text[: chars - 1].rstrip() + "…"


def note_frame(notes: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame({"note": list(notes)}, columns=["note"])
