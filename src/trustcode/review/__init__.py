"""The spreadsheet review loop: a coding run -> a workbook a person reviews -> human codings.

:func:`write_review` writes one row per passage, the passages the machine is least sure about
first, with the machine's proposal per code, an ``accept``/``reject`` drop-down per code, and a
column for codes the reviewer adds. :func:`read_review` reads the reviewed workbook back in the
gold format (:data:`trustcode.gold.GOLD_COLUMNS`), so ``train``, ``evaluate`` and ``agree`` take it
like any other human coding (``read_gold`` recognises a review workbook by itself).

Which rows count: a row on which the reviewer filled in nothing (no decision, no added code,
no reviewer) is not reviewed and is left out: it is no one's coding, neither training data nor a
coder's coding for ``agree`` and ``evaluate``. A sheet with no reviewed row is refused, and so
is a reviewed row whose document was edited since (its text no longer at its offsets). On a
reviewed row, what becomes the human coding of the passage:

- every code whose decision is ``accept`` (accepting a code the machine did not propose adds it);
- every code typed into ``added_codes``;
- a machine proposal left without a decision only with ``unreviewed="accept"``; by default
  (``"reject"``) an unreviewed proposal is not confirmed and is dropped, with a warning;
- every other code is a "no" for the passage.

The modules:

- :mod:`.layout`: the workbook's sheet and column names, the decisions, the reviewer's
  instructions and Excel's limits;
- :mod:`.rows`: a run's tables -> the review sheet's rows, least sure first
  (:func:`uncertainty`);
- :mod:`.selection`: which passages a sheet puts first, those whose review teaches the model
  most (:func:`review_order`, :func:`choose_for_review`);
- :mod:`.writing`: :func:`write_review` and the five sheets it writes;
- :mod:`.reading`: :func:`is_review_workbook`, :func:`review_table` and :func:`read_review`;
- :mod:`.staleness`: the documents sheet, and reviewed rows checked against their documents as
  they are now (stale offsets refused).

>>> DECISIONS, PROPOSED
(('accept', 'reject'), 'coded')
"""

from __future__ import annotations

from .layout import (
    BASE_COLUMNS,
    CODEBOOK_SHEET,
    DECISION_SUFFIX,
    DECISIONS,
    DEFAULT_REVIEWER,
    INSTRUCTIONS,
    INSTRUCTIONS_SHEET,
    PROPOSED,
    PROVENANCE_SHEET,
    REQUIRED_COLUMNS,
    REVIEW_SHEET,
    REVIEW_SIZE,
    TAIL_COLUMNS,
    UNREVIEWED_CHOICES,
)
from .reading import is_review_workbook, read_review, review_table
from .rows import uncertainty
from .selection import choose_for_review, review_order
from .writing import write_review

__all__ = [
    "BASE_COLUMNS",
    "CODEBOOK_SHEET",
    "DECISIONS",
    "DECISION_SUFFIX",
    "DEFAULT_REVIEWER",
    "INSTRUCTIONS",
    "INSTRUCTIONS_SHEET",
    "PROPOSED",
    "PROVENANCE_SHEET",
    "REQUIRED_COLUMNS",
    "REVIEW_SHEET",
    "TAIL_COLUMNS",
    "UNREVIEWED_CHOICES",
    "REVIEW_SIZE",
    "choose_for_review",
    "is_review_workbook",
    "read_review",
    "review_order",
    "review_table",
    "uncertainty",
    "write_review",
]
