"""trustcode: deductive qualitative coding with a readable codebook, rules plus a classifier.

The public API mirrors the command line; heavy modules load on first use, so importing trustcode
is cheap.

>>> import trustcode
>>> run = trustcode.code_corpus("corpus/")  # doctest: +SKIP
>>> run.tables["codings"].groupby("code").size()  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: public name -> module that defines it (imported lazily, on first use)
_EXPORTS = {
    "code_corpus": "pipeline",
    "code_files": "workflows",
    "CodingRun": "pipeline",
    "Coder": "pipeline",
    "load_codebook": "codebook",
    "parse_codebook": "codebook",
    "read_corpus": "io.readers",
    "read_document": "io.readers",
    "read_tables": "io.tables",
    "write_tables": "io.tables",
    "segment": "segment",
    "compare": "compare",
    "agree": "agreement",
    "Document": "types",
    "Passage": "types",
    "Codebook": "types",
    "Code": "types",
    "Rule": "types",
    "TrustcodeError": "errors",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'trustcode' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)


def __dir__() -> list[str]:
    return sorted(__all__)
