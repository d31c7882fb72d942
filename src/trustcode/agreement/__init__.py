"""Agreement between codings of the same documents: coders with each other, humans with machines.

:func:`agree` turns each coding into a yes/no decision per (unit, code) and reports percent
agreement, Cohen's kappa (two coders), Fleiss' kappa and Krippendorff's alpha (nominal) with a
bootstrap confidence interval, per code and pooled over all codes.

Units (``unit=``):

- ``passage``: the first coding's passages are the units. A unit counts as coded with code *c*
  by coder *k* when one of *k*'s coded spans with *c* overlaps it by at least half of the unit's
  length. Codings cut into other passages are thereby aligned to the first coder's segmentation.
- ``document``: a document is coded with *c* when any of its passages is.
- ``character``: every character of the documents is a unit. Characters are grouped into runs
  between span boundaries, weighted by their length, so the cost grows with the number of coded
  spans, not with the length of the text.

Percent agreement is the share of units on which every coder made the same decision (with three
or more coders, all must agree). Cohen's kappa is reported for two coders only.

With ``coded_only=True`` only units that some coder coded (with any code) count, so long stretches
of text nobody coded do not inflate agreement.

The modules:

- :mod:`.result`: :func:`agree`, the entry point, and :class:`AgreementResult`;
- :mod:`.inputs`: one coder per coding, the documents they share, the codes to measure;
- :mod:`.units`: passage, document and character units, and who coded each with what
  (:data:`MIN_OVERLAP`);
- :mod:`.stats`: the statistics per code and pooled, the bootstrap interval,
  :func:`alpha_from_counts` and :func:`fleiss_from_counts`;
- :mod:`.disagreements`: the units on which coders differ.
"""

from __future__ import annotations

from .inputs import Tables
from .result import AgreementResult, agree
from .stats import STAT_COLUMNS, alpha_from_counts, fleiss_from_counts
from .units import AGREEMENT_UNITS, MIN_OVERLAP

__all__ = [
    "AGREEMENT_UNITS",
    "MIN_OVERLAP",
    "STAT_COLUMNS",
    "AgreementResult",
    "Tables",
    "agree",
    "alpha_from_counts",
    "fleiss_from_counts",
]
