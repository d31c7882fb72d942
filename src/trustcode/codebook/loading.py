"""Reading a codebook: YAML text or a file -> a validated :class:`~trustcode.types.Codebook`.

>>> codebook_problems("name: x\\n", "cb.yaml")
["cb.yaml:1: codes: missing required key 'codes'; list the codes under 'codes:'"]
"""

from __future__ import annotations

import hashlib
import os
import warnings
from dataclasses import replace
from pathlib import Path

from ..errors import CodebookAdvice, CodebookError
from ..types import Codebook
from .codes import build_codebook
from .problems import Report, describe
from .yamltext import NOTHING, load_yaml

#: The codebook that ships inside the package; ``load_codebook()`` reads it (``data/`` sits
#: beside this package's folder, in ``trustcode/``).
DEFAULT_CODEBOOK: Path = Path(__file__).resolve().parent.parent / "data" / "codebook.yaml"

#: The codebook the commands use when none is named, if the working directory holds one.
LOCAL_CODEBOOK = "codebook.yaml"


def _analyse(text: str, path: str) -> tuple[Codebook | None, list[str], list[str]]:
    rep = Report(path)
    data = load_yaml(text, rep)
    if data is NOTHING:
        return None, rep.sorted_problems(), []
    if data is None:
        rep.error((), "the codebook is empty; it needs at least 'name:' and 'codes:'")
        return None, rep.sorted_problems(), []
    if not isinstance(data, dict):
        rep.error(
            (), f"expected a mapping with 'name:' and 'codes:' at the top, found {describe(data)}"
        )
        return None, rep.sorted_problems(), []
    codebook = build_codebook(rep, data, text)
    if rep.problems:
        return None, rep.sorted_problems(), []
    return replace(codebook, path=path), [], rep.warnings


# --- public API ---------------------------------------------------------------------------------


def codebook_problems(text: str, path: str) -> list[str]:
    """Every problem of the codebook ``text`` as ``{file}:{line}: {path}: {message}``; [] if valid.

    >>> codebook_problems("name: x\\ncodes: []\\n", "cb.yaml")
    ['cb.yaml:2: codes: the list of codes is empty; add at least one code']
    """
    return _analyse(text, path)[1]


def parse_codebook(text: str, path: str = "<string>") -> Codebook:
    """Validate the YAML ``text`` of a codebook and build it; ``path`` names it in messages.

    Raises :class:`CodebookError` listing every problem; warns (:class:`CodebookAdvice`, a
    ``TrustcodeWarning``) about legal but odd codes.

    >>> cb = parse_codebook("name: x\\ncodes:\\n- {id: a, label: A, rules: [{regex: 'b+'}]}\\n")
    >>> [r.id for r in cb.rules]
    ['a.regex-1']
    """
    codebook, problems, odd = _analyse(text, path)
    if codebook is None:
        raise CodebookError(
            f"{path}: the codebook has {len(problems)} problem(s); fix them and load it again:",
            problems,
        )
    for message in odd:
        warnings.warn(CodebookAdvice(message, path), stacklevel=2)
    return codebook


def codebook_in_use(path: str | os.PathLike[str] | None = None) -> Path:
    """The codebook a command reads: ``path`` if given, else ``./codebook.yaml`` if the working
    directory holds one (a researcher's edited copy), else :data:`DEFAULT_CODEBOOK`.

    >>> codebook_in_use("my-codebook.yaml")
    PosixPath('my-codebook.yaml')
    """
    if path is not None:
        return Path(path)
    local = Path(LOCAL_CODEBOOK)
    return local if local.is_file() else DEFAULT_CODEBOOK


def load_codebook(path: str | os.PathLike[str] | None = None) -> Codebook:
    """Read and validate a codebook file (UTF-8 YAML); ``None`` reads :data:`DEFAULT_CODEBOOK`.

    ``sha256`` is the hash of the file's bytes.

    >>> load_codebook().path == str(DEFAULT_CODEBOOK)
    True
    """
    file = Path(path) if path is not None else DEFAULT_CODEBOOK
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise CodebookError(
            f"{file}: no such codebook file; check the path, or leave it out to "
            "use the packaged codebook"
        ) from None
    except OSError as exc:
        raise CodebookError(
            f"{file}: cannot read the codebook ({exc.strerror}); pass the path of a YAML file"
        ) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        problem = f"{file}:{line}: (file): not UTF-8 (byte {exc.start}); save it as UTF-8"
        raise CodebookError(f"{file}: the codebook cannot be decoded:", [problem]) from None
    codebook = parse_codebook(text, str(file))
    return replace(codebook, sha256=hashlib.sha256(raw).hexdigest())
