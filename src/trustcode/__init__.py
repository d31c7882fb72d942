"""trustcode: deductive qualitative coding with a readable codebook, rules plus a classifier."""

from __future__ import annotations

__version__ = "0.1.0"
