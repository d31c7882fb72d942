"""read -> segment -> rules + classifier -> combine -> tables.

The per-document method :meth:`Coder.code_document` is the unit of work: the local engine runs it
in this process or in ``jobs`` worker processes, in document order, so every engine gives
identical tables. Workers read the corpus's plain files themselves (this process reads only
tables, .csv and .xlsx, and every file when redacting), so reading is not this process's serial
share. Documents stream through; tables are written batch by batch when an output is given.
The modules:

- :mod:`.coder`: :class:`Coder`, which codes one document (rules, classifier, evidence);
- :mod:`.frames`: coded documents -> the five tables of the contract (:func:`tables_for`);
- :mod:`.workers`: the local engine, :func:`iter_tables`, in this process or in worker
  processes;
- :mod:`.models`: which model a run uses (:func:`resolve_model`) and its :func:`provenance`;
- :mod:`.heap`: the garbage collector's settings during a run;
- :mod:`.corpus`: the main job, :func:`code_corpus`.
"""

from __future__ import annotations

from .coder import EVIDENCE_FEATURES, CodedDocument, Coder
from .corpus import CodingRun, code_corpus
from .frames import (
    coding_frame,
    document_frame,
    matrix_frame,
    passage_frame,
    summary_frame,
    tables_for,
)
from .models import (
    DEFAULT_MODEL,
    SHIPPED_MODELS,
    default_model_path,
    provenance,
    resolve_model,
    review_model,
    shipped_model_name,
    shipped_model_path,
)
from .workers import iter_tables

__all__ = [
    "DEFAULT_MODEL",
    "EVIDENCE_FEATURES",
    "SHIPPED_MODELS",
    "CodedDocument",
    "Coder",
    "CodingRun",
    "code_corpus",
    "coding_frame",
    "default_model_path",
    "document_frame",
    "iter_tables",
    "matrix_frame",
    "passage_frame",
    "provenance",
    "resolve_model",
    "review_model",
    "shipped_model_name",
    "shipped_model_path",
    "summary_frame",
    "tables_for",
]
