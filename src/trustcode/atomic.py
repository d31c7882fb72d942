"""Writing an output atomically, and failing cleanly when the disk fills or fails.

Every writer works in a temporary file or folder beside its target (``.trustcode-tmp-…``, on
the same disk, so the last step is a rename) and moves it into place only when it is whole. A
failed write removes the temporary output and leaves an earlier output at the path as it was.

The cleanup after a failure cannot itself fail the run: a disk that is full (ENOSPC) or broken
(EIO) raises again when a half-written file is closed, and that second error is swallowed here
(:func:`close_quietly`, :func:`remove_quietly`) so that the user sees one line naming the
output, the cause and the space needed (:func:`write_failed`), not a traceback.

>>> import tempfile, pathlib
>>> target = pathlib.Path(tempfile.mkdtemp()) / "page.html"
>>> with atomic_output(target) as tmp:
...     _ = tmp.write_text("<p>ok</p>", encoding="utf-8")
>>> target.read_text(encoding="utf-8")
'<p>ok</p>'
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import shutil
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .errors import OutputError, TrustcodeWarning

#: the name every temporary output starts with (hidden, and recognisable as trustcode's)
TMP_PREFIX = ".trustcode-tmp-"

_PathLike = str | os.PathLike[str]

#: the errors that mean "no room": a full disk, or the user's quota on it used up
_NO_SPACE = {errno.ENOSPC, errno.EDQUOT}


def temporary_beside(target: Path, suffix: str = "") -> Path:
    """A fresh temporary path in ``target``'s folder (same disk: the final rename is atomic).

    >>> temporary_beside(Path("out/coded.xlsx"), ".xlsx").name.startswith(TMP_PREFIX)
    True
    """
    return target.parent / f"{TMP_PREFIX}{secrets.token_hex(8)}{suffix}"


def close_quietly(*resources: Any) -> None:
    """Close files and writers whose output is being thrown away.

    Closing flushes what is buffered, so on a full or failing disk the close raises the same
    error again; that error changes nothing (the file is closed and removed next), so it is
    dropped rather than hiding the first one.

    >>> import io
    >>> close_quietly(io.StringIO(), None)
    """
    for resource in resources:
        if resource is None:
            continue
        try:
            resource.close()
        except Exception:  # the second error of a failed write; the first one is raised
            pass


def remove_quietly(path: Path) -> None:
    """Remove a temporary file or folder; warn instead of failing if it cannot be removed.

    >>> remove_quietly(Path("no-such-temporary-file"))
    """
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
    except OSError as exc:
        warnings.warn(
            f"could not remove the temporary {path} ({exc.strerror or exc}); delete it by hand.",
            TrustcodeWarning,
            stacklevel=3,
        )


def disk_size(path: Path) -> int:
    """Bytes a file or a folder's files hold (0 for a path that is gone).

    >>> disk_size(Path("no-such-file"))
    0
    """
    try:
        if path.is_dir() and not path.is_symlink():
            return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
        return path.stat().st_size if path.is_file() else 0
    except OSError:
        return 0


def move_into_place(tmp: Path, target: Path) -> None:
    """Rename a finished temporary file or folder over ``target``.

    A file replaces the target in one step. A folder cannot, so an earlier folder is first
    renamed aside, and put back if the new one cannot take its place; it is removed only once
    the new folder is in place.

    >>> move_into_place(Path(".trustcode-tmp-1a2b"), Path("coded"))  # doctest: +SKIP
    """
    if not tmp.is_dir() or not (target.exists() or target.is_symlink()):
        os.replace(tmp, target)
        return
    old = temporary_beside(target, "-old")
    os.rename(target, old)
    try:
        os.rename(tmp, target)
    except BaseException:
        os.rename(old, target)
        raise
    remove_quietly(old)


def _errno(exc: OSError) -> int | None:
    if exc.errno is not None:
        return exc.errno
    # pyarrow reports the system's error in its message only: "... [errno 28] No space left"
    found = re.search(r"\[errno (\d+)\]", str(exc), flags=re.IGNORECASE)
    return int(found.group(1)) if found else None


def is_write_failure(exc: OSError) -> bool:
    """Whether ``exc`` is the disk's doing (full, over quota, or failing), not a path's.

    >>> is_write_failure(OSError(errno.ENOSPC, "No space left on device"))
    True
    """
    return _errno(exc) in _NO_SPACE | {errno.EIO}


def _size(n: int) -> str:
    """A byte count as people read it.

    >>> _size(512), _size(307_200), _size(12_345_678)
    ('512 bytes', '307 KB', '12.3 MB')
    """
    if n < 1000:
        return f"{n} bytes"
    value, unit = n / 1000, "KB"
    for bigger in ("MB", "GB", "TB"):
        if value < 999.5:  # what would not print as "1000"
            break
        value, unit = value / 1000, bigger
    return f"{value:.0f} {unit}" if value >= 99.95 else f"{value:.1f} {unit}"


def _free(folder: Path) -> int | None:
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def write_failed(
    target: Path, exc: OSError, *, needed: int | None = None, written: int | None = None
) -> OutputError:
    """The one-line error for a write of ``target`` that failed with ``exc``.

    It names the output and the cause; for a full disk also the space: ``needed`` bytes when
    the whole size is known beforehand, else the ``written`` bytes the disk took before it
    filled (a lower bound), and what is free there now that the temporary output is gone.
    Call it after the cleanup.

    >>> print(str(write_failed(Path("a.html"), OSError(errno.EIO, "Input/output error")))[:60])
    cannot write a.html: Input/output error; the disk may be fai
    """
    code = _errno(exc)
    kept = "Nothing was written"
    if target.exists() or target.is_symlink():
        kept += f"; the earlier {target.name} is unchanged"
    if code in _NO_SPACE:
        full = code == errno.ENOSPC
        free = _free(target.parent)
        there = "" if free is None else f"; {_size(free)} free there"
        if needed is None and written:
            cause = "the disk filled" if full else "the disk quota ran out"
            cause += f" after {_size(written)} of it were written (it needs more{there})"
        else:
            cause = "the disk is full" if full else "the disk quota is used up"
            need = "" if needed is None else f"it needs {_size(needed)}"
            sizes = f"{need}{there}".removeprefix("; ")
            cause += f" ({sizes})" if sizes else ""
        return OutputError(
            f"cannot write {target}: {cause}. {kept}; free some space or choose a path on "
            "another disk."
        )
    if code == errno.EIO:
        return OutputError(
            f"cannot write {target}: {exc.strerror or 'input/output error'}; the disk may be "
            f"failing or was removed. {kept}; check the disk or choose another path."
        )
    reason = exc.strerror or str(exc)
    return OutputError(
        f"cannot write {target}: {reason}. {kept}; check the folder's permissions and free space, "
        "or choose another path."
    )


@contextmanager
def atomic_output(
    target: _PathLike, *, suffix: str = "", needed: int | None = None
) -> Iterator[Path]:
    """A temporary path beside ``target`` to write; moved over ``target`` when the block ends.

    The block creates a file (or a folder) at the yielded path. If it raises, the temporary
    output is removed, an earlier output stays as it was, and an :class:`OSError` becomes the
    :class:`OutputError` of :func:`write_failed`. Checks of the target (exists, ``force``) are
    the caller's, before the work starts. The caller closes what it opened before the block
    ends (:func:`close_quietly` on its failure path).

    >>> with atomic_output("out/report.html", needed=len(page)) as tmp:  # doctest: +SKIP
    ...     tmp.write_bytes(page)
    """
    final = Path(target)
    tmp = temporary_beside(final, suffix)
    try:
        yield tmp
        move_into_place(tmp, final)
    except OSError as exc:
        written = disk_size(tmp)
        remove_quietly(tmp)
        raise write_failed(final, exc, needed=needed, written=written) from exc
    except BaseException:
        remove_quietly(tmp)
        raise


def check_target(path: _PathLike, *, force: bool) -> Path:
    """Check, before any work, that an output can be written at ``path``: its folder exists and
    is writable, and nothing is there unless ``force``. Every writer refuses an existing
    output here, with one message and one error class (:class:`OutputError`).

    >>> check_target("no-such-folder/out.xlsx", force=False)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    trustcode.errors.OutputError: cannot write no-such-folder/out.xlsx: its folder no-such-...
    """
    target = Path(path)
    parent = target.parent
    if not parent.exists():
        raise OutputError(
            f"cannot write {target}: its folder {parent} does not exist; create it or choose "
            "another output path."
        )
    if not parent.is_dir():
        raise OutputError(
            f"cannot write {target}: {parent} is not a folder; choose another output path."
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(
            f"cannot write {target}: its folder {parent} is not writable; choose another output "
            "path or change the folder's permissions."
        )
    if (target.exists() or target.is_symlink()) and not force:
        raise OutputError(
            f"{target} exists; pass force=True to overwrite it (or choose another path).",
            params=("force",),
        )
    return target


def write_atomic(path: _PathLike, data: bytes, *, force: bool = False) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    A failure leaves no partial file and never damages an existing one. An existing file is
    replaced only with ``force``; a folder never is.

    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
    >>> write_atomic(target, b"ok").read_bytes()
    b'ok'
    """
    target = Path(path)
    if target.is_dir():
        raise OutputError(f"cannot write {target}: it is a folder; choose a file name.")
    check_target(target, force=force)
    with atomic_output(target, suffix=f"-{target.name}", needed=len(data)) as tmp:
        handle = open(tmp, "wb")
        try:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        except BaseException:
            close_quietly(handle)
            raise
        handle.close()
    return target
