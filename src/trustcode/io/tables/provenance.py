"""A run's provenance as JSON text or as key/value rows (the xlsx Provenance sheet), and
the warning when a read output has none."""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from trustcode.errors import InputError, OutputError, TrustcodeWarning

from .contract import as_text


def provenance_json(provenance: Mapping[str, Any]) -> str:
    try:
        return json.dumps(dict(provenance), ensure_ascii=False, indent=2, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise OutputError(
            f"the provenance cannot be stored as JSON ({exc}); give it only strings, numbers, "
            "booleans, None, lists and dicts."
        ) from None


def provenance_rows(provenance: Mapping[str, Any]) -> pd.DataFrame:
    # key/value rows; the type column lets a reader tell the text "[1]" from the list [1]
    rows: list[tuple[str, Any, str]] = []
    for key, value in provenance.items():
        if value is None:
            rows.append((str(key), None, "null"))
        elif isinstance(value, bool):
            rows.append((str(key), value, "boolean"))
        elif isinstance(value, int | float):
            rows.append((str(key), value, "number"))
        elif isinstance(value, str):
            rows.append((str(key), value, "text"))
        else:
            rows.append((str(key), json.dumps(value, ensure_ascii=False), "json"))
    return pd.DataFrame(rows, columns=["key", "value", "type"], dtype="object")


def provenance_from_rows(rows: list[tuple[Any, ...]], where: str) -> dict[str, Any]:
    provenance: dict[str, Any] = {}
    for key, value, kind in rows:
        if key is None:
            continue
        if kind == "null":
            provenance[str(key)] = None
        elif kind == "text":
            provenance[str(key)] = as_text(value)
        elif kind == "json":
            try:
                provenance[str(key)] = json.loads(value)
            except (TypeError, ValueError):
                raise InputError(
                    f"{where}, Provenance sheet, key '{key}': expected JSON, found {value!r}."
                ) from None
        else:
            provenance[str(key)] = value
    return provenance


def warn_no_provenance(path: Path) -> None:
    warnings.warn(
        f"{path}: no provenance found; which codebook, model and trustcode version made these "
        "tables is unknown.",
        TrustcodeWarning,
        stacklevel=4,
    )
