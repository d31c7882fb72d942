"""Errors and warnings that trustcode raises.

The library raises :class:`TrustcodeError` subclasses only; :mod:`trustcode.cli` alone turns
them into exit codes. Every message says where (file, line, code id, column), what was expected,
what was found, and how to fix it.
"""

from __future__ import annotations

from collections.abc import Sequence

#: how many items (passages, rows, files) a message lists before it says "and N more"
LIST_LIMIT = 20


def listing(items: Sequence[str], limit: int = LIST_LIMIT) -> str:
    """Items for a message: the first ``limit`` joined by commas, then how many more there are.

    >>> listing(["a", "b", "c"], limit=2)
    'a, b and 1 more'
    """
    shown = ", ".join(items[:limit])
    more = len(items) - limit
    return f"{shown} and {more} more" if more > 0 else shown


class TrustcodeError(Exception):
    """Base class of every error trustcode raises for bad input or a failed step."""

    #: process exit code the CLI uses for this error
    exit_code: int = 2

    def __init__(self, *args: object, params: tuple[str, ...] = ()) -> None:
        super().__init__(*args)
        #: the parameters (by their Python names) that the message says to change; the command
        #: line names its options for them
        self.params = tuple(params)


class InputError(TrustcodeError):
    """A document or table that cannot be read: missing, empty, binary, undecodable, malformed."""


class CodebookError(TrustcodeError):
    """A codebook that fails validation. ``problems`` lists every problem found at once."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        self.problems = list(problems or [])
        if self.problems:
            message = message + "\n" + "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(message)


class OutputError(TrustcodeError):
    """An output that cannot be written: it exists (without ``force``), or its folder is not
    writable, or the format is unknown."""


class ModelError(TrustcodeError):
    """A model file that is not a trustcode model, or was trained for another codebook."""


class GoldError(TrustcodeError):
    """Gold codings that do not fit: unknown codes, missing columns, stale offsets."""


class UsageError(TrustcodeError):
    """Options that do not fit together or have an invalid value."""


class TrustcodeWarning(UserWarning):
    """A legal but odd state worth telling the user about (a code with no rules, a skipped
    document)."""


class DocumentSkipped(TrustcodeWarning):
    """A document that could not be read and was skipped (fatal with ``strict``)."""


class CodebookAdvice(TrustcodeWarning):
    """Advice on writing a codebook (a code with no rules or no examples), about the file
    ``codebook``: ``trustcode codebook check`` lists it; other commands only point there."""

    def __init__(self, message: str, codebook: str) -> None:
        super().__init__(message)
        self.codebook = codebook

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        return type(self), (str(self), self.codebook)
