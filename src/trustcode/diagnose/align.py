"""Gold codings lined up with the corpus: each corpus passage takes its gold passage's codes."""

from __future__ import annotations

import warnings
from bisect import bisect_right
from collections import Counter
from collections.abc import Sequence
from itertools import accumulate

import pandas as pd

from ..errors import GoldError, TrustcodeWarning
from ..types import Codebook
from .steps import Corpus, PathLike


def read_gold_frame(
    gold: pd.DataFrame | PathLike | Sequence[PathLike],
    codebook: Codebook | None,
    documents: Sequence[PathLike] = (),
) -> pd.DataFrame:
    if isinstance(gold, pd.DataFrame):
        return gold
    from ..gold import read_gold

    return read_gold(gold, codebook=codebook, documents=documents)


def align_gold(gold: pd.DataFrame, corpus: Corpus) -> tuple[list[frozenset[str] | None], list[str]]:
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
    reach = {
        doc: list(accumulate((s[1] for s in doc_spans), max)) for doc, doc_spans in spans.items()
    }
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
