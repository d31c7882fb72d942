"""Problems with file, line and path, and typed access to mappings that reports them.

A :class:`Report` collects every problem as ``{file}:{line}: {path}: {message}``; the helpers
read a mapping's values with the expected type, or report what was found instead.

>>> render(("codes", 2, "rules", 0))
'codes[2].rules[0]'
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .schema import ELSEWHERE

# --- problems with file, line and path ---------------------------------------------------------

KeyPath = tuple[str | int, ...]


def render(path: KeyPath) -> str:
    out = ""
    for seg in path:
        out += f"[{seg}]" if isinstance(seg, int) else (f".{seg}" if out else str(seg))
    return out or "(top level)"


@dataclass
class Report:
    """Collects problems and warnings; knows the YAML line of every path."""

    file: str
    lines: dict[KeyPath, int] = field(default_factory=dict)
    scalars: dict[KeyPath, str] = field(default_factory=dict)  # scalars as written in the file
    problems: list[tuple[int, int, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def line(self, path: KeyPath) -> int:
        # a missing key has no node: point at the nearest enclosing one
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 1)

    def error(self, path: KeyPath, message: str, line: int | None = None) -> None:
        line = line or self.line(path)
        text = f"{self.file}:{line}: {render(path)}: {message}"
        self.problems.append((line, len(self.problems), text))

    def warn(self, path: KeyPath, message: str) -> None:
        self.warnings.append(f"{self.file}:{self.line(path)}: {render(path)}: {message}")

    def sorted_problems(self) -> list[str]:
        return [text for _, _, text in sorted(self.problems)]


def describe(value: Any) -> str:
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, bool):
        return f"true/false ({str(value).lower()})"
    if isinstance(value, int):
        return f"a whole number ({value})"
    if isinstance(value, float):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"text {value[:40]!r}" if value.strip() else "empty text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__} ({value})"


def suggest(word: Any, options: tuple[str, ...] | list[str]) -> str | None:
    found = difflib.get_close_matches(str(word), list(options), n=1, cutoff=0.6)
    return found[0] if found else None


# --- typed access to mappings -----------------------------------------------------------------

EXPECT: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "text": ("text", lambda v: isinstance(v, str)),
    "bool": ("true or false", lambda v: isinstance(v, bool)),
    "int": ("a whole number", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    "list": ("a list", lambda v: isinstance(v, list)),
}


def fix(value: Any, expect: str) -> str:
    if value is None:
        return "; write a value or remove the key"
    if expect == "text" and isinstance(value, int | float):  # bool is an int too
        return "; quote it"
    return ""


def get(
    rep: Report,
    mapping: dict[Any, Any],
    key: str,
    path: KeyPath,
    expect: str,
    *,
    required: str = "",
) -> Any:
    """``mapping[key]`` if it has the expected type; else report and return None.

    ``required`` is the fix to show when the key is missing (empty: the key is optional).
    """
    if key not in mapping:
        if required:
            rep.error(path + (key,), f"missing required key '{key}'; {required}")
        return None
    value = mapping[key]
    name, check = EXPECT[expect]
    if not check(value):
        rep.error(path + (key,), f"expected {name}, found {describe(value)}{fix(value, expect)}")
        return None
    if expect == "text" and required and not value.strip():
        rep.error(path + (key,), f"'{key}' is empty; {required}")
        return None
    return value


def check_keys(
    rep: Report, mapping: dict[Any, Any], path: KeyPath, known: tuple[str, ...], what: str
) -> None:
    for key in mapping:
        if isinstance(key, str) and key in known:
            continue
        message = f"unknown key '{key}' in {what}"
        close = suggest(key, known)
        if close:
            message += f"; did you mean '{close}'?"
        elif key in ELSEWHERE:
            message += f"; '{key}' is {ELSEWHERE[key]}"
        else:
            message += f"; expected one of: {', '.join(known)}"
        rep.error(path + (str(key),), message)


def pattern_ok(rep: Report, value: str | None, path: KeyPath, pattern: str, rule: str) -> bool:
    if value is None or re.match(pattern, value):
        return True
    rep.error(path, f"{value!r} is not valid: {rule}")
    return False
