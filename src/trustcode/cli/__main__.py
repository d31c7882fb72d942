"""``python -m trustcode.cli``: the command line, as the ``trustcode`` console script runs it."""

from __future__ import annotations

from . import run

if __name__ == "__main__":  # pragma: no cover - guarded so importing the module runs nothing
    run()
