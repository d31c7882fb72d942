"""Certifying an automatic coding: a person codes a random sample, and trustcode estimates each
code's precision, recall and prevalence in the whole coded corpus, with 95 % intervals.

The three steps are :func:`draw` (a stratified sample, written as a workbook with the review
sheet's layout, blind by default), :func:`estimate` (design-weighted estimates from the coded
sample) and :func:`plan` (how many passages to code, before anyone starts). The modules:

- :mod:`.design`: the machine's coding as a matrix, its hash, the draw and its record;
- :mod:`.sheet`: the sample workbook, written and read back;
- :mod:`.estimate`: the estimates and their intervals (the method is in its docstring);
- :mod:`.plan`: sample sizes for a wanted interval half-width;
- :mod:`.files`: the file-to-file steps the ``trustcode validate`` commands call.

>>> CODED, NOT_CODED
('coded', 'not coded')
"""

from __future__ import annotations

from .design import CODED, NOT_CODED, Design, MachineCoding, Stratum, machine_coding, make_design
from .estimate import ESTIMATE_COLUMNS, ValidationResult, add_targets, estimate_codes
from .files import DrawnSample, draw, estimate, plan, read_estimates, validation_frames
from .plan import PLAN_COLUMNS, plan_sizes
from .sheet import DESIGN_SHEET, read_design, read_sample, write_sample

__all__ = [
    "CODED",
    "DESIGN_SHEET",
    "ESTIMATE_COLUMNS",
    "NOT_CODED",
    "PLAN_COLUMNS",
    "Design",
    "DrawnSample",
    "MachineCoding",
    "Stratum",
    "ValidationResult",
    "add_targets",
    "draw",
    "estimate",
    "estimate_codes",
    "machine_coding",
    "make_design",
    "plan",
    "plan_sizes",
    "read_design",
    "read_estimates",
    "read_sample",
    "validation_frames",
    "write_sample",
]
