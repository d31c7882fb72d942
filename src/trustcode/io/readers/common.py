"""What the readers share: the suffixes read, the error of one unreadable document, and
reading a file's bytes and text."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trustcode.errors import InputError

#: File suffixes trustcode reads (matched case-insensitively).
SUPPORTED_SUFFIXES: tuple[str, ...] = (
    ".txt",
    ".md",
    ".html",
    ".htm",
    ".docx",
    ".pdf",
    ".csv",
    ".xlsx",
)
TABLE_SUFFIXES = (".csv", ".xlsx")


class DocumentError(InputError):
    """One document (or one table file) that cannot be read; ``reason`` omits the source so
    that a skip warning can say ``{source}: {reason}; skipped`` without repeating it."""

    def __init__(self, source: str, reason: str, *, params: tuple[str, ...] = ()) -> None:
        self.source = source
        self.reason = reason
        super().__init__(f"{source}: {reason}", params=params)

    def __reduce__(self) -> tuple[Any, ...]:
        # a worker process sends it back pickled; the default would call __init__(message)
        return (type(self), (self.source, self.reason), {"params": self.params})


@dataclass(frozen=True)
class Content:
    text: str
    title: str = ""
    #: what the file says of itself beyond its text (a PDF's page furniture and footnotes)
    metadata: Mapping[str, str] = field(default_factory=dict)


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise DocumentError(str(path), f"cannot be read ({err.strerror or err})") from None


def require_text(text: str, source: str, what: str = "") -> str:
    if not text.strip():
        found = f" ({what})" if what else ""
        raise DocumentError(source, f"is empty{found}: it holds no text to code")
    return text
