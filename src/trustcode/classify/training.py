"""Training from gold: the training passages (gold, codebook examples and descriptions), their
weights, and :func:`train_model`; and the codebook fingerprint a model records."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import GoldError
from ..types import Code, Codebook, sha256_text
from .classifier import CodeClassifier


def codebook_fingerprint(codebook: Codebook) -> str:
    """The codebook hash a model records: the loader's sha256, or one of its codes when unset.

    >>> from trustcode.types import Code
    >>> len(codebook_fingerprint(Codebook("cb", (Code("a", "A"),))))
    64
    """
    return codebook.sha256 or sha256_text(repr(codebook.codes))


def stop_words_for(languages: Sequence[str]) -> tuple[str, ...]:
    """The stop words of ``languages`` (spaCy's lists), lower-cased, as the classifier's word
    tokens spell them (two or more word characters), sorted: the words a model leaves out of its
    features, so that neither its scores nor its evidence rest on 'of the' or 'и в'.

    >>> "the" in stop_words_for(["en"]), "court" in stop_words_for(["en"])
    (True, False)
    """
    import spacy

    from ..ngrams.tables import TOKEN

    words: set[str] = set()
    for language in languages:
        try:
            lang_class = spacy.util.get_lang_class(language)
        except ImportError:  # a language spaCy does not know has no stop list to leave out
            continue
        words.update(w.lower() for w in lang_class.Defaults.stop_words)
    return tuple(sorted(w for w in words if TOKEN.fullmatch(w)))


def training_set(
    gold: pd.DataFrame, codebook: Codebook, *, definitions: bool = False
) -> tuple[list[str], list[tuple[str, ...]], list[str]]:
    """Texts, label sets and groups (documents) for training: the gold passages plus the
    codebook's examples (positives as passages of their code, negatives as passages without
    codes), each example in a group of its own. With ``definitions=True`` each leaf code's
    description also joins, as passages of that code: the texts of :func:`code_descriptions`
    (label, definition, ``include`` and their clauses), each in a group
    ``codebook:ID:description:N``.

    >>> from trustcode.types import Code
    >>> cb = Codebook("cb", (Code("a", "A", positive_examples=("yes",)),))
    >>> training_set(pd.DataFrame({"doc_id": ["d"], "text": ["t"], "codes": [()]}), cb)[1]
    [(), ('a',)]
    """
    missing = [c for c in ("doc_id", "text", "codes") if c not in gold.columns]
    if missing:
        raise GoldError(
            f"The gold table lacks the columns {', '.join(missing)}: read it with "
            "trustcode.gold.read_gold, which gives doc_id, passage_id, text, codes, ..."
        )
    texts = [str(t) for t in gold["text"]]
    labels = [tuple(c) for c in gold["codes"]]
    groups = [str(d) for d in gold["doc_id"]]
    for code in codebook.leaf_codes:
        for i, example in enumerate(code.positive_examples):
            texts.append(example)
            labels.append((code.id,))
            groups.append(f"codebook:{code.id}:positive:{i}")
        for i, example in enumerate(code.negative_examples):
            texts.append(example)
            labels.append(())
            groups.append(f"codebook:{code.id}:negative:{i}")
    if definitions:
        for code in codebook.leaf_codes:
            for i, text in enumerate(code_descriptions(code)):
                texts.append(text)
                labels.append((code.id,))
                groups.append(f"{_DESCRIPTION_GROUP.format(code=code.id)}{i}")
    return texts, labels, groups


# the group of a description passage in training_set; the weights of train_model find them by it
_DESCRIPTION_GROUP = "codebook:{code}:description:"


def code_descriptions(code: Code) -> list[str]:
    """The texts in which the codebook describes ``code``: its label, its definition and then
    each clause of the definition (split at ``:``, ``;`` and ``,`` before a space), then its
    ``include`` text and its clauses; non-empty, each once, in that order.

    Definitions often list what a code covers ("Energy: oil, gas, nuclear power"); one passage
    per item lets a short gold passage about one item match it, where the whole list would be
    diluted by the others.

    >>> code_descriptions(Code("tax", "Taxes", definition="Taxation: rates, cuts and credits."))
    ['Taxes', 'Taxation: rates, cuts and credits.', 'Taxation', 'rates', 'cuts and credits.']
    """
    texts = [code.label]
    for text in (code.definition, code.include):
        texts.append(text)
        texts.extend(_CLAUSE_BREAK.split(text or ""))
    return list(dict.fromkeys(t.strip() for t in texts if t and t.strip()))


# where a description's clauses end: a colon, semicolon or comma followed by a space
_CLAUSE_BREAK = re.compile(r"[:;,]\s+")


def description_weights(
    labels: Sequence[Sequence[str]], groups: Sequence[str], codes: Sequence[str]
) -> np.ndarray:
    """Training weights that make each code's description passages (see :func:`training_set`)
    together count as much as the average code's other positive passages, and each at least
    as much as one passage; every other passage counts once.

    A description is the researcher's own statement of what a code is, so it should pull as
    hard as a typical code's evidence, whatever the size of the training set: with 1,000 gold
    passages over 20 codes, a code described by 5 passages gets 10 for each.

    >>> description_weights([("a",), ("a",), ("b",), ("a",), ("b",)],
    ...                     ["d", "d", "d", "codebook:a:description:0", "codebook:b:description:0"],
    ...                     ["a", "b"]).tolist()
    [1.0, 1.0, 1.0, 1.5, 1.5]
    """
    prefixes = {_DESCRIPTION_GROUP.format(code=c): c for c in codes}
    owner = [next((c for p, c in prefixes.items() if str(g).startswith(p)), None) for g in groups]
    positives = sum(len(lab) for lab, who in zip(labels, owner, strict=True) if who is None)
    mean_positives = positives / max(len(codes), 1)
    counts: dict[str, int] = {}
    for who in owner:
        if who is not None:
            counts[who] = counts.get(who, 0) + 1
    return np.array(
        [1.0 if who is None else max(1.0, mean_positives / counts[who]) for who in owner],
        dtype=np.float64,
    )


#: the coder name of passages written for the codebook (``corpus/illustrative``): trained on,
#: never tested on or counted when a code's classifier is weighed against its rules
ILLUSTRATIVE_CODER = "illustrative"


def written_for_codebook(gold: pd.DataFrame) -> np.ndarray:
    """Which gold passages were written for the codebook (a coder of the passage is
    :data:`ILLUSTRATIVE_CODER`; coders are joined by ``;``).

    >>> written_for_codebook(pd.DataFrame({"coder": ["ann", "illustrative", "ann;bob"]})).tolist()
    [False, True, False]
    """
    if "coder" not in gold.columns:
        return np.zeros(len(gold), dtype=bool)
    coders = gold["coder"].fillna("").astype(str).str.split(";")
    return coders.map(lambda names: ILLUSTRATIVE_CODER in names).to_numpy(dtype=bool)


def rule_codes_of(
    texts: Sequence[str], languages: Sequence[str | None], codebook: Codebook
) -> list[frozenset[str]]:
    """The codes the codebook's rules give each text (veto rules applied), language by
    language; a text without a language is read in the one :func:`detect_language` finds.

    >>> from trustcode.codebook import load_codebook
    >>> rule_codes_of(["Volunteers wrote letters to political prisoners."], ["en"],
    ...               load_codebook())
    [frozenset({'prisoner_support'})]
    """
    from ..io.readers import detect_language
    from ..rules import RuleSet
    from ..types import Passage

    rules = RuleSet(codebook)
    fallback = codebook.languages[0] if codebook.languages else None
    out: list[frozenset[str]] = [frozenset()] * len(texts)
    by_language: dict[str | None, list[int]] = {}
    for i, (text, language) in enumerate(zip(texts, languages, strict=True)):
        chosen = language if language else (detect_language(text) or fallback)
        by_language.setdefault(chosen, []).append(i)
    for language, rows in by_language.items():
        passages = [Passage("training", k, 0, len(texts[i]), texts[i]) for k, i in enumerate(rows)]
        for i, hits in zip(rows, rules.match(passages, language), strict=True):
            out[i] = frozenset(rules.codes(hits)) - rules.vetoed(hits)
    return out


def train_model(
    gold: pd.DataFrame,
    codebook: Codebook,
    *,
    definitions: bool = True,
    compare_rules: bool = True,
    **params: Any,
) -> CodeClassifier:
    """Train a classifier for ``codebook``'s leaf codes from gold passages and its examples.

    ``params`` go to :class:`CodeClassifier`; ``exclusive`` follows the codebook, and the stop
    words are those of the codebook's languages (:func:`stop_words_for`). With
    ``compare_rules`` (the default) and a codebook with rules, a code keeps its classifier only
    where cross-validation shows rules plus classifier beating its rules alone, counted on the
    gold passages of real documents (not those of coder :data:`ILLUSTRATIVE_CODER`, nor the
    codebook's examples).
    With ``definitions`` (the default) it also learns from the codebook's own description of
    each code (its label, definition and ``include`` text and their clauses, see
    :func:`code_descriptions`), weighted by :func:`description_weights` so that a code's
    description counts as much as an average code's gold passages; the description passages
    count towards ``min_positives``, never in the comparison with the rules. Measured with the
    default codebook's gold and ``corpus/illustrative`` (benchmarks/generalization), it raises
    combined micro-F1 and macro-F1 held out by document, genre and language; on the CAP
    benchmark it raises macro-F1 too. It is recorded in the model's metadata.

    >>> from trustcode.gold import read_gold  # doctest: +SKIP
    >>> model = train_model(read_gold(["corpus/gold/coding"]), load_codebook())  # doctest: +SKIP
    """
    params.setdefault("exclusive", codebook.exclusive)
    params.setdefault("stop_words", stop_words_for(codebook.languages or ("en",)))
    texts, labels, groups = training_set(gold, codebook, definitions=definitions)
    leaf_ids = [c.id for c in codebook.leaf_codes]
    weights = description_weights(labels, groups, leaf_ids) if definitions else None
    rule_codes = counted = None
    if compare_rules and any(code.rules for code in codebook.leaf_codes):
        n_gold = len(gold)
        languages = list(gold["language"]) if "language" in gold.columns else [None] * n_gold
        languages = [v if isinstance(v, str) and v else None for v in languages]
        languages += [None] * (len(texts) - n_gold)
        rule_codes = rule_codes_of(texts, languages, codebook)
        # real gold decides; passages written for the codebook and its examples only teach
        counted = np.zeros(len(texts), dtype=bool)
        counted[:n_gold] = ~written_for_codebook(gold)
    model = CodeClassifier(**params).fit(
        texts,
        labels,
        leaf_ids,
        groups=groups,
        sample_weight=weights,
        rule_codes=rule_codes,
        counted=counted,
        codebook_sha256=codebook_fingerprint(codebook),
        definitions=definitions,
    )
    return model
