"""What compiling a codebook's rules costs, done once: the forms of its lemmas and its regexes
written for RE2, kept on disk per codebook for the next run and for worker processes.

Expanding lemmas loads pymorphy3's dictionaries and inverts spaCy's English lookup table, and
writing a regex for RE2 scans every character Python knows (see :mod:`.linear`): about 0.4 s
at every start for the shipped codebook, in every worker process that compiles the rules itself
(``--jobs`` without fork, a Dask worker). A :class:`RulesCache` keeps what they give in one file
per codebook, keyed by its rules and by the versions of everything that shapes the result
(trustcode, Python and its Unicode tables, the lemma data, google-re2), so a stale entry is
never read: anything else gives another file.

The file is an ``.npz`` of plain arrays (read with ``allow_pickle=False``) in the user's cache
folder, or in ``TRUSTCODE_CACHE_DIR`` (empty: no cache). Writing is best effort: a read-only or
full disk costs speed, never a run.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..types import Codebook
from .lemmas import expand_lemma
from .linear import Linear, compile_linear, load_linear

#: the environment variable naming the cache folder (empty: no cache)
CACHE_ENV = "TRUSTCODE_CACHE_DIR"

#: cache files kept; the oldest beyond these are removed when one is written
KEEP_FILES = 32


def cache_dir() -> Path | None:
    """Where compiled rules are kept: ``TRUSTCODE_CACHE_DIR``, else the platform's cache folder
    for trustcode; None when the variable is set empty.

    >>> os.environ[CACHE_ENV] = "/tmp/trustcode-cache"; cache_dir()
    PosixPath('/tmp/trustcode-cache')
    >>> os.environ[CACHE_ENV] = ""; cache_dir() is None
    True
    >>> del os.environ[CACHE_ENV]
    """
    chosen = os.environ.get(CACHE_ENV)
    if chosen is not None:
        return Path(chosen) if chosen.strip() else None
    home = Path.home()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
        return base / "trustcode" / "Cache"
    if sys.platform == "darwin":
        return home / "Library" / "Caches" / "trustcode"
    return Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache") / "trustcode"


@lru_cache(maxsize=1)
def _environment() -> list[Any]:
    """What, besides the rules, shapes a cached entry: versions of the code and data used."""
    from importlib.metadata import PackageNotFoundError, version

    from .. import __version__

    def installed(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    packages = ["spacy", "spacy-lookups-data", "pymorphy3", "pymorphy3-dicts-ru", "google-re2"]
    return [
        __version__,
        list(sys.version_info[:3]),
        unicodedata.unidata_version,
        {name: installed(name) for name in packages},
    ]


class RulesCache:
    """One codebook's lemma forms and RE2 regexes: read from disk when built, written by
    :meth:`save` when something new was computed.

    >>> from trustcode.types import Codebook
    >>> os.environ[CACHE_ENV] = ""  # no disk: every entry computed
    >>> cache = RulesCache(Codebook(name="x", codes=()))
    >>> sorted(cache.lemma("arrest", "en"))
    ['arrest', 'arrested', 'arresting', 'arrests']
    >>> del os.environ[CACHE_ENV]
    """

    def __init__(self, codebook: Codebook) -> None:
        folder = cache_dir()
        key = hashlib.sha256(
            json.dumps([_environment(), repr(codebook.rules)], default=str).encode()
        ).hexdigest()[:40]
        self.path = None if folder is None else folder / f"rules-{key}.npz"
        #: "language\tword" -> the word's forms
        self._lemmas: dict[str, list[str]] = {}
        #: "flags\tpattern" -> (RE2 pattern, starts, alphabet), or the reason RE2 cannot run it
        self._regexes: dict[str, tuple[bytes, Any, Any] | str] = {}
        self._changed = False
        if self.path is not None:
            self._read(self.path)

    def _read(self, path: Path) -> None:
        import numpy as np

        try:
            with np.load(path, allow_pickle=False) as data:
                index = json.loads(data["index"].tobytes().decode("utf-8"))
                self._lemmas = {key: list(forms) for key, forms in index["lemmas"].items()}
                for key, entry in index["regexes"].items():
                    if isinstance(entry, str):
                        self._regexes[key] = entry
                    else:
                        self._regexes[key] = (
                            data[f"p{entry}"].tobytes(),
                            data[f"s{entry}"],
                            data[f"a{entry}"],
                        )
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            # missing (the first run), or unreadable: computed again and written afresh
            self._lemmas, self._regexes = {}, {}

    def lemma(self, word: str, language: str) -> frozenset[str]:
        """:func:`~trustcode.rules.lemmas.expand_lemma`, from the cache when it holds it."""
        key = f"{language}\t{word}"
        found = self._lemmas.get(key)
        if found is None:
            found = sorted(expand_lemma(word, language))
            self._lemmas[key] = found
            self._changed = True
        return frozenset(found)

    def linear(self, pattern: str, flags: int) -> tuple[Linear | None, str | None]:
        """:func:`~trustcode.rules.linear.compile_linear`, from the cache when it holds the
        translation."""
        key = f"{flags}\t{pattern}"
        entry = self._regexes.get(key)
        if isinstance(entry, str):
            return None, entry
        if entry is not None:
            loaded = load_linear(*entry)
            if loaded is not None:
                return loaded, None
        compiled, reason = compile_linear(pattern, flags)
        if compiled is not None:
            self._regexes[key] = (compiled.pattern, compiled.starts, compiled.alphabet)
            self._changed = True
        elif reason is not None and not reason.startswith("google-re2"):  # not for want of it
            self._regexes[key] = reason
            self._changed = True
        return compiled, reason

    def save(self) -> None:
        """Write the cache file if something new was computed (atomically; errors ignored)."""
        if not self._changed or self.path is None:
            return
        import numpy as np

        arrays: dict[str, Any] = {}
        regexes: dict[str, int | str] = {}
        for number, (key, entry) in enumerate(self._regexes.items()):
            if isinstance(entry, str):
                regexes[key] = entry
                continue
            pattern, starts, alphabet = entry
            arrays[f"p{number}"] = np.frombuffer(pattern, dtype=np.uint8)
            arrays[f"s{number}"] = np.asarray(starts, dtype=np.int64)
            arrays[f"a{number}"] = np.asarray(alphabet, dtype=np.uint8)
            regexes[key] = number
        index = json.dumps({"lemmas": self._lemmas, "regexes": regexes}, ensure_ascii=False)
        arrays["index"] = np.frombuffer(index.encode("utf-8"), dtype=np.uint8)
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_bytes(buffer.getvalue())
            os.replace(temporary, self.path)
            self._changed = False
            _prune(self.path.parent)
        except OSError:
            try:
                temporary.unlink(missing_ok=True)
            except OSError:
                pass


def _prune(folder: Path) -> None:
    """Remove all but the :data:`KEEP_FILES` most recently written cache files."""
    try:
        files = sorted(folder.glob("rules-*.npz"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in files[KEEP_FILES:]:
            old.unlink(missing_ok=True)
    except OSError:
        pass
