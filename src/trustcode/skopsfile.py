"""Read the plain skops files trustcode writes, without importing skops or scikit-learn.

A trustcode model is saved with skops as one dictionary of JSON values and numpy arrays (see
:func:`trustcode.classify.save_model`). Importing ``skops.io`` imports scikit-learn whole, about
2.5 s here: most of the time of coding one short document. :func:`read_plain` reads exactly that
shape of file (skops protocol 2: a dictionary with text keys whose values are JSON values or
numeric/text numpy arrays), loading arrays with ``allow_pickle=False``, so nothing in the file
can run code. For a file of any other shape it returns ``None`` and the caller falls back to
``skops.io.load`` with its trusted-type checks. Tests check that both readers give the same state.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from typing import Any

import numpy as np

__all__ = ["read_plain"]

#: the skops file protocols whose plain dictionaries this module reads
_PROTOCOLS = (2,)


def read_plain(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The dictionary saved in the skops file ``path``, or None if it is not a plain one.

    >>> read_plain("model.skops")["format"]  # doctest: +SKIP
    'trustcode-model'
    """
    try:
        with zipfile.ZipFile(path) as archive:
            schema = json.loads(archive.read("schema.json"))
            if not _is_plain_dict(schema):
                return None
            state: dict[str, Any] = {}
            for key, node in schema["content"].items():
                if node["__loader__"] == "JsonNode":
                    state[key] = json.loads(node["content"])
                    continue
                array = np.load(io.BytesIO(archive.read(node["file"])), allow_pickle=False)
                if array.dtype.kind not in "biufcU":
                    return None
                state[key] = array
            return state
    except (OSError, KeyError, TypeError, ValueError, zipfile.BadZipFile):
        # not readable this way: skops.io decides, and reports the problem if there is one
        return None


def _is_plain_dict(schema: Any) -> bool:
    if not isinstance(schema, dict) or schema.get("protocol") not in _PROTOCOLS:
        return False
    if (schema.get("__loader__"), schema.get("__module__"), schema.get("__class__")) != (
        "DictNode",
        "builtins",
        "dict",
    ):
        return False
    key_types = schema.get("key_types", {}).get("content")
    content = schema.get("content")
    if not isinstance(content, dict) or not isinstance(key_types, list):
        return False
    if len(key_types) != len(content) or any(
        (t.get("__module__"), t.get("__class__")) != ("builtins", "str") for t in key_types
    ):
        return False
    return all(_is_plain_value(node) for node in content.values())


def _is_plain_value(node: Any) -> bool:
    if not isinstance(node, dict):
        return False
    if node.get("__loader__") == "JsonNode":
        return node.get("is_json") is True and isinstance(node.get("content"), str)
    return (
        node.get("__loader__") == "NdArrayNode"
        and node.get("type") == "numpy"
        and (node.get("__module__"), node.get("__class__")) == ("numpy", "ndarray")
        and isinstance(node.get("file"), str)
    )
