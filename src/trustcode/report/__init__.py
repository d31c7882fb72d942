"""The HTML report of a coding run: one self-contained file for people to read and print.

:func:`build_report` turns coded tables (documents, passages, codings; see DESIGN.md) and the
codebook into one HTML page with an overview and provenance, the codebook with its colours, every
document's text with its coded passages highlighted (evidence and scores on each passage), code
frequencies, group comparisons, co-occurrence and, given human gold codings, agreement.

The page makes no request to any other host: figures are inline SVG, fonts are the system's, the
CSS and the few lines of JavaScript are inline, and a Content-Security-Policy forbids loading
anything else. Texts can be about people at risk, so opening a report must not reveal it to anyone.
The modules:

- :mod:`.build`: the entry points, :func:`build_report` and :func:`write_report`;
- :mod:`.data`: the checked tables and each code's colour, label and order, shared by every
  section, and passages cut into the blocks the page shows;
- :mod:`.markup`: HTML helpers (escaping, number formats, tables, inline SVG figures);
- :mod:`.overview`: the overview, provenance and codebook sections;
- :mod:`.documents`: the documents section, coded passages highlighted with their evidence;
- :mod:`.summaries`: frequencies, group comparison, co-occurrence and agreement;
- :mod:`.validation`: the estimates of a validation on a hand-coded sample, with intervals;
- :mod:`.page`: the page shell with its Content-Security-Policy, CSS and JavaScript.
"""

from __future__ import annotations

from .build import build_report, write_report
from .data import UNKNOWN_COLOUR, Tables
from .markup import SVG_SCALE
from .summaries import DISAGREEMENT_CHARS, DISAGREEMENT_ROWS

__all__ = [
    "DISAGREEMENT_CHARS",
    "DISAGREEMENT_ROWS",
    "SVG_SCALE",
    "UNKNOWN_COLOUR",
    "Tables",
    "build_report",
    "write_report",
]
