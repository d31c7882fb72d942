"""Suggested terms for new rules: words a code's passages favour that none of its rules cover.

Terms come from the classifier's positive weights, or from a smoothed log-odds ratio for a code
without a classifier; stop words, numbers and terms the code's rules already match are left out.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from ..rules import RuleSet, fold
from ..types import Code, Codebook, Passage
from .steps import Coded, Corpus, trim
from .tables import TERM_COLUMNS

#: how the classifier's word features are tokenized (scikit-learn's default token pattern)
_TOKEN = re.compile(r"(?u)\b\w\w+\b")
#: smoothing added to each count of the log-odds ratio
_LOG_ODDS_PRIOR = 0.5
#: a log-odds term must occur in at least this many passages with the code
_LOG_ODDS_MIN_PASSAGES = 2


def _ngrams(text: str, sizes: range) -> set[str]:
    tokens = _TOKEN.findall(fold(text.lower()))
    return {" ".join(tokens[k : k + n]) for n in sizes for k in range(len(tokens) - n + 1)}


def _stop_words(languages: Iterable[str | None]) -> frozenset[str]:
    from ..nlp import tokenizer

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
    phrases = [
        fold(t.lower()) for r in code.rules if r.kind in ("phrases", "lemmas") for t in r.terms
    ]
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
    ranked = sorted(
        ((float(w), str(t)) for t, w in zip(names, coef, strict=True) if w > 0),
        key=lambda item: (-item[0], item[1]),
    )
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
        value = math.log((count + a) / (n_in - count + a)) - math.log(
            (other + a) / (n_out - other + a)
        )
        if value > 0:
            ranked.append((word, value))
    ranked.sort(key=lambda item: (-item[1], item[0]))
    return ranked


def suggest_terms(
    book: Codebook,
    corpus: Corpus,
    ruleset: RuleSet,
    coded: Coded,
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
            ranked = _log_odds(
                [corpus.passages[i].text for i in rows_used if i in positive],
                [corpus.passages[i].text for i in rows_used if i not in positive],
            )
        # stop words and numbers say nothing about a code, whatever their weight
        candidates = [
            (t, w)
            for t, w in ranked
            if not all(part in stop or part.isdigit() for part in t.split())
        ][: max_terms * 5]
        covered = _covered([t for t, _ in candidates], code, ruleset, languages)
        kept = [(t, w) for t, w in candidates if t not in covered][:max_terms]
        for term, weight in kept:
            having = [i for i, g in enumerate(grams) if term in g]
            examples = [
                f"{corpus.passages[i].passage_id}: {trim(corpus.passages[i].text, 160)}"
                for i in having[:3]
            ]
            examples += [""] * (3 - len(examples))
            rows.append(
                {
                    "code": code.id,
                    "term": term,
                    "method": method,
                    "weight": weight,
                    "passages": len(having),
                    "coded_passages": len(positive.intersection(having)),
                    "example_1": examples[0],
                    "example_2": examples[1],
                    "example_3": examples[2],
                }
            )
    return pd.DataFrame(rows, columns=list(TERM_COLUMNS))
