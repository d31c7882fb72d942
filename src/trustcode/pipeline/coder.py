"""The coder: one document -> passages -> rule hits and classifier scores -> codings.

A :class:`Coder` holds a codebook's compiled rules and, when given, a trained model; it is
built once per process (and once per worker) and codes one document at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..combine import combine
from ..segment import parse_unit, segment
from ..types import Codebook, Coding, Document, Passage, RuleHit, meets_threshold

#: how many classifier features a classifier coding's evidence names
EVIDENCE_FEATURES = 5


@dataclass
class CodedDocument:
    """What coding one document produced."""

    document: Document
    passages: list[Passage]
    codings: list[Coding]


class Coder:
    """Codes documents with a codebook's rules and, when given, a trained model.

    >>> from trustcode.codebook import load_codebook
    >>> coder = Coder(load_codebook(), model=None)
    >>> coded = coder.code_document(Document("d", "Volunteers wrote letters to political "
    ...     "prisoners.", language="en"))
    >>> sorted({c.code for c in coded.codings})
    ['prisoner_support']
    """

    def __init__(self, codebook: Codebook, *, model: Any = None, unit: str = "paragraph") -> None:
        from ..rules import RuleSet

        self.codebook = codebook
        self.model = model
        self.unit = parse_unit(unit)
        self.ruleset = RuleSet(codebook)
        self.leaf_ids = [c.id for c in codebook.leaf_codes]

    def code_document(self, document: Document) -> CodedDocument:
        passages = segment(document, self.unit)
        hits_per_passage = self.ruleset.match(passages, document.language)
        features = None
        codings: list[Coding] = []
        explain_rows: dict[str, list[int]] = {}
        thresholds = None if self.model is None else self.model.thresholds_
        # an adapted model's cuts under which a code's rule hits do not stand (classify.adapting)
        rule_cuts = getattr(self.model, "rule_cuts_", None)
        columns: list[str] = []
        values = None  # the classifier's scores: a row per passage, a column per code
        may_code = None  # passages the classifier may code (None: any)
        thin = None  # scores at their threshold that rest on too few words
        if self.model is not None and passages:
            texts = [p.text for p in passages]
            # the features are computed once and serve both the scores and the explanations
            features = self.model.features(texts)
            columns = list(self.model.classifier_codes_)
            values = self.model.score_matrix(texts, features=features)
            if not self.codebook.exclusive and thresholds is not None:
                cut = np.array([thresholds.get(c, np.inf) for c in columns], dtype=np.float64)
                # a score at its threshold on too few words is no proposal; a model is
                # loaded, so the classifier package is imported already
                from ..classify.evidence import thin_evidence

                thin = thin_evidence(self.model, features, values)
                may_code = (meets_threshold(values, cut) & ~thin).any(axis=1)
        for row, (passage, hits) in enumerate(zip(passages, hits_per_passage, strict=True)):
            if not hits and (values is None or (may_code is not None and not may_code[row])):
                continue  # no rule hit and no score at its threshold: no code (the common case)
            rule_codes = self.ruleset.codes(hits)
            vetoed = self.ruleset.vetoed(hits)
            passage_scores = (
                None if values is None else dict(zip(columns, values[row].tolist(), strict=True))
            )
            passage_thresholds = thresholds
            if thin is not None and thresholds is not None and thin[row].any():
                # the code's score stays; its threshold is out of reach for this passage
                out_of_reach = {columns[j]: float("inf") for j in np.flatnonzero(thin[row])}
                passage_thresholds = {**thresholds, **out_of_reach}
            for code, source, score in combine(
                self.codebook,
                rule_codes,
                vetoed,
                passage_scores,
                passage_thresholds,
                rule_cuts,
            ):
                evidence = _rule_evidence(rule_codes.get(code, []), passage)
                if "classifier" in source:
                    explain_rows.setdefault(code, []).append(len(codings))
                codings.append(
                    Coding(
                        doc_id=document.doc_id,
                        passage_id=passage.passage_id,
                        start=passage.start,
                        end=passage.end,
                        code=code,
                        source=source,
                        score=score,
                        evidence=evidence,
                        coder="trustcode",
                    )
                )
        if explain_rows:
            codings = self._explain(codings, explain_rows, passages, features)
        return CodedDocument(document, passages, codings)

    def _explain(
        self,
        codings: list[Coding],
        rows: dict[str, list[int]],
        passages: list[Passage],
        features: Any,
    ) -> list[Coding]:
        """Add the top contributing features to each classifier coding's evidence."""
        row_of = {p.passage_id: i for i, p in enumerate(passages)}
        out = list(codings)
        # all of the document's classifier codings in one call, whatever their codes
        indexes = [i for found in rows.values() for i in found]
        explained = self.model.explain_many(
            features,
            [row_of[codings[i].passage_id] for i in indexes],
            [codings[i].code for i in indexes],
            k=EVIDENCE_FEATURES,
        )
        for i, feats in zip(indexes, explained, strict=True):
            coding = codings[i]
            terms = ", ".join(f"'{term}'" for term, _ in feats)
            note = f"classifier {coding.score:.2f}: {terms}"
            evidence = f"{coding.evidence}; {note}" if coding.evidence else note
            out[i] = Coding(**{**coding.__dict__, "evidence": evidence})
        return out


def _rule_evidence(hits: Sequence[RuleHit], passage: Passage) -> str:
    """``rule_id: "matched words" [start-end]`` for each hit, in text order."""
    parts = []
    for hit in sorted(hits, key=lambda h: (h.start, h.end, h.rule_id)):
        parts.append(f'{hit.rule_id}: "{hit.text}" [{hit.start}-{hit.end}]')
    return "; ".join(parts)
