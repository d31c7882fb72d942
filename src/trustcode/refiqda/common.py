"""Names and small helpers that REFI-QDA export and import share.

The XML namespaces, the users trustcode writes, stable GUIDs (UUID 5 of
:data:`GUID_NAMESPACE`), element lookups that ignore namespaces, and the checks of values and
target paths that both directions make.

>>> RULES_USER
'trustcode rules'
"""

from __future__ import annotations

import os
import uuid
import warnings
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

from lxml import etree

from ..atomic import check_target
from ..errors import OutputError, TrustcodeWarning
from ..io.tables import is_missing

PROJECT_NS = "urn:QDA-XML:project:1.0"
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
#: The namespace of every GUID trustcode writes (UUID 5 of a fixed name, so it never changes).
GUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "trustcode:refi-qda")
RULES_USER = "trustcode rules"
CLASSIFIER_USER = "trustcode classifier"
EXPORT_USER = "trustcode"
UNNAMED_CODER = "unnamed coder"

PathLike = str | os.PathLike[str]


# --- small helpers ------------------------------------------------------------------------------


def make_guid(kind: str, *key: object) -> str:
    name = "\x1f".join([kind, *(str(k) for k in key)])
    return str(uuid.uuid5(GUID_NAMESPACE, name)).upper()


def warn(message: str) -> None:
    warnings.warn(message, TrustcodeWarning, stacklevel=3)


def local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def children_named(element: Element, name: str) -> list[Element]:
    return [child for child in element if local(child.tag) == name]


def first_child(element: Element, name: str) -> Element | None:
    found = children_named(element, name)
    return found[0] if found else None


def norm_guid(value: str | None) -> str:
    return (value or "").strip().strip("{}").lower()


def xml_bytes(root: Any) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def checked_target(path: PathLike, suffix: str, force: bool) -> Path:
    target = Path(path)
    if target.suffix.lower() != suffix:
        raise OutputError(
            f"{target}: a REFI-QDA {'project' if suffix == '.qdpx' else 'codebook'} is a "
            f"'{suffix}' file; name it e.g. '{target.with_suffix(suffix).name}'."
        )
    return check_target(target, force=force)


def int_or_none(value: Any) -> int | None:
    if is_missing(value):
        return None
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return None


def present(value: Any) -> bool:
    return not is_missing(value) and bool(str(value).strip())
