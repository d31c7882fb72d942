"""Each document's full text for export: re-read from its source, else rebuilt.

>>> document_texts({})
{}
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import TrustcodeError, TrustcodeWarning, listing
from ..io.readers import read_document
from .common import int_or_none, warn


def _reread(row: Mapping[str, Any]) -> str | None:
    source = str(row.get("source") or "").strip()
    if not source:
        return None
    path = Path(source)
    if not path.exists() and "#" in source:  # a table row: "path#row"
        path = Path(source.rsplit("#", 1)[0])
    if not path.is_file():
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TrustcodeWarning)
            documents = read_document(path)
    except (TrustcodeError, OSError, ValueError):
        return None
    sha = str(row.get("sha256") or "").strip()
    for document in documents:
        if sha and document.sha256 == sha:
            return document.text
        if not sha and document.doc_id == str(row.get("doc_id")):
            return document.text
    return None


def _from_passages(passages: pd.DataFrame, n_chars: int | None) -> str:
    pieces: list[str] = []
    position = 0
    rows = sorted((int(r.start), int(r.end), str(r.text)) for r in passages.itertuples(index=False))
    for start, end, text in rows:
        if end <= position:
            continue
        if start > position:
            pieces.append("\n" * (start - position))
            pieces.append(text)
        else:
            pieces.append(text[position - start :])
        position = end
    if n_chars is not None and n_chars > position:
        pieces.append("\n" * (n_chars - position))
    return "".join(pieces)


def document_texts(tables: Mapping[str, pd.DataFrame]) -> dict[str, str]:
    """Each document's full text, for export: re-read from the documents table's ``source``.

    A document is re-read with :func:`trustcode.io.readers.read_document` and accepted when its
    text's SHA-256 matches the table's. When the source is missing, unreadable or changed, the
    text is rebuilt from the passages table instead: each passage at its offsets, the gaps
    between them filled with ``"\\n"`` (so the text between passages is lost, and offsets still
    fit); a :class:`TrustcodeWarning` names those documents.

    >>> docs = pd.DataFrame({"doc_id": ["d"], "source": [""], "n_chars": [9]})
    >>> parts = pd.DataFrame({"doc_id": ["d", "d"], "start": [0, 5], "end": [3, 9],
    ...                       "text": ["One", "Four"]})
    >>> import warnings
    >>> with warnings.catch_warnings():  # it warns that the text was rebuilt
    ...     warnings.simplefilter("ignore")
    ...     document_texts({"documents": docs, "passages": parts})
    {'d': 'One\\n\\nFour'}
    """
    documents = tables.get("documents")
    passages = tables.get("passages")
    rows: dict[str, dict[str, Any]] = {}
    if documents is not None:
        for record in documents.to_dict("records"):
            rows.setdefault(str(record["doc_id"]), record)
    if passages is not None and len(passages):
        for doc_id in passages["doc_id"].astype(str).unique():
            rows.setdefault(doc_id, {"doc_id": doc_id})
    out: dict[str, str] = {}
    rebuilt: list[str] = []
    for doc_id, row in rows.items():
        text = _reread(row)
        if text is None:
            if passages is None:
                continue
            own = passages[passages["doc_id"].astype(str) == doc_id]
            text = _from_passages(own, int_or_none(row.get("n_chars")))
            rebuilt.append(doc_id)
        out[doc_id] = text
    if rebuilt:
        warn(
            f"the source of {len(rebuilt)} document(s) could not be read again or has changed "
            f"({listing(rebuilt)}); their texts are rebuilt from the passages, with line "
            "breaks in the gaps. Pass texts=... or keep the corpus where the run read it to "
            "export the full texts."
        )
    return out
