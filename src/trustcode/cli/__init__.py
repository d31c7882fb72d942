"""The ``trustcode`` command line: thin click wrappers over the library.

Each command parses options, calls one library function, renders the result and turns
``TrustcodeError`` into a one-line message and exit code 2. Heavy libraries (spaCy,
scikit-learn) are imported inside the commands that need them, so ``trustcode --help`` is fast:
every module here imports only click and trustcode's light modules at the top. The modules:

- :mod:`.group`: the click group :func:`main` (the ``trustcode`` console script) and
  :func:`run`;
- :mod:`.common`: what the commands share: options, :func:`handle_errors` (error messages,
  exit codes, warnings on one line), output checks and the progress display;
- :mod:`.coding`: ``trustcode code``;
- :mod:`.codebook_commands`: the ``trustcode codebook`` group (check, show, schema, export,
  import, diagnose, diff);
- :mod:`.training`: ``trustcode train`` and ``trustcode evaluate``;
- :mod:`.analysis`: ``trustcode compare``, ``agree`` and ``report``;
- :mod:`.exchange`: ``trustcode export`` and ``trustcode import`` (REFI-QDA projects);
- :mod:`.validation`: the ``trustcode validate`` group (draw, estimate, plan);
- :mod:`.__main__`: ``python -m trustcode.cli``.

Each command module registers its commands onto :func:`main` when it is imported; importing
this package imports them all:

>>> from trustcode.cli import main
>>> sorted(main.commands)  # doctest: +NORMALIZE_WHITESPACE
['agree', 'code', 'codebook', 'compare', 'evaluate', 'export', 'import', 'report', 'train',
 'validate']
>>> sorted(main.commands["codebook"].commands)
['check', 'diagnose', 'diff', 'export', 'import', 'schema', 'show']
"""

from __future__ import annotations

from .analysis import agree_cmd, compare_cmd, report_cmd
from .codebook_commands import (
    check,
    codebook_diagnose,
    codebook_diff,
    codebook_export,
    codebook_group,
    codebook_import,
    schema,
    show,
)
from .coding import code
from .common import (
    DEFAULT_OUTPUT,
    WARNINGS_SHOWN,
    codebook_option,
    force_option,
    handle_errors,
    redact_options,
    unreviewed_option,
)
from .exchange import export_cmd, import_cmd
from .group import main, run
from .training import definitions_option, evaluate, train
from .validation import validate_draw, validate_estimate, validate_group, validate_plan

__all__ = [
    "DEFAULT_OUTPUT",
    "WARNINGS_SHOWN",
    "agree_cmd",
    "check",
    "code",
    "codebook_diagnose",
    "codebook_diff",
    "codebook_export",
    "codebook_group",
    "codebook_import",
    "codebook_option",
    "compare_cmd",
    "definitions_option",
    "evaluate",
    "export_cmd",
    "force_option",
    "handle_errors",
    "import_cmd",
    "main",
    "redact_options",
    "report_cmd",
    "run",
    "schema",
    "show",
    "train",
    "unreviewed_option",
    "validate_draw",
    "validate_estimate",
    "validate_group",
    "validate_plan",
]
