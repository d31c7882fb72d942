"""The atomic-write helpers: temporary output beside the target, cleanup that cannot fail,
and the one-line error for a write that failed (the writers that use them are tested on a
full disk in ``test_full_disk.py``)."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from trustcode.atomic import (
    TMP_PREFIX,
    atomic_output,
    close_quietly,
    move_into_place,
    remove_quietly,
    write_atomic,
    write_failed,
)
from trustcode.errors import OutputError, TrustcodeWarning


def _no_space() -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_the_error_names_the_output_the_cause_and_the_space_needed(tmp_path: Path) -> None:
    message = str(write_failed(tmp_path / "a.qdpx", _no_space(), needed=1_234_567))
    assert message.startswith(
        f"cannot write {tmp_path / 'a.qdpx'}: the disk is full (it needs 1.2 MB; "
    )
    assert " free there). Nothing was written; free some space" in message
    assert "\n" not in message


def test_without_the_whole_size_the_error_says_what_the_disk_took(tmp_path: Path) -> None:
    message = str(write_failed(tmp_path / "out", _no_space(), written=307_200))
    assert "the disk filled after 307 KB of it were written (it needs more; " in message


def test_the_error_says_an_earlier_output_is_unchanged(tmp_path: Path) -> None:
    (tmp_path / "r.html").write_text("old", encoding="utf-8")
    message = str(write_failed(tmp_path / "r.html", _no_space(), needed=10))
    assert "Nothing was written; the earlier r.html is unchanged;" in message


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (OSError(errno.EDQUOT, "Disk quota exceeded"), "the disk quota is used up (it needs 10"),
        (OSError(errno.EIO, "Input/output error"), "Input/output error; the disk may be failing"),
        (
            OSError(errno.EACCES, "Permission denied"),
            "Permission denied. Nothing was written; check the folder's permissions",
        ),
        # pyarrow puts the system's error number in its message only
        (
            OSError("Error writing bytes to file. Detail: [errno 28] No space left on device"),
            "the disk is full (it needs 10",
        ),
    ],
)
def test_the_error_follows_the_cause(tmp_path: Path, error: OSError, expected: str) -> None:
    assert expected in str(write_failed(tmp_path / "x", error, needed=10))


class _FailingClose:
    closed = False

    def close(self) -> None:
        self.closed = True
        raise _no_space()


def test_close_quietly_drops_the_second_error_and_closes_the_rest() -> None:
    first, second = _FailingClose(), _FailingClose()
    close_quietly(first, None, second)
    assert first.closed and second.closed


def test_remove_quietly_warns_when_it_cannot_remove(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / f"{TMP_PREFIX}x"
    folder.mkdir()

    def refuse(path: Any, *args: Any, **kwargs: Any) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(shutil, "rmtree", refuse)
    with pytest.warns(TrustcodeWarning, match=r"could not remove the temporary .*delete it"):
        remove_quietly(folder)


def test_a_folder_moves_over_an_earlier_one_and_the_earlier_one_survives_a_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target, new = tmp_path / "out", tmp_path / "new"
    target.mkdir()
    (target / "a.csv").write_text("old", encoding="utf-8")
    new.mkdir()
    (new / "a.csv").write_text("new", encoding="utf-8")
    real_rename = os.rename

    def second_fails(src: Any, dst: Any) -> None:
        if Path(src) == new:
            raise _no_space()
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", second_fails)
    with pytest.raises(OSError):
        move_into_place(new, target)
    assert (target / "a.csv").read_text(encoding="utf-8") == "old"
    monkeypatch.setattr(os, "rename", real_rename)
    move_into_place(new, target)
    assert (target / "a.csv").read_text(encoding="utf-8") == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_atomic_output_removes_its_temporary_on_any_failure(tmp_path: Path) -> None:
    target = tmp_path / "t.txt"
    target.write_text("earlier", encoding="utf-8")
    with pytest.raises(KeyError), atomic_output(target) as tmp:
        tmp.write_text("half", encoding="utf-8")
        raise KeyError("not an OSError: raised as it is")
    full = "the disk filled after 4 bytes"
    with pytest.raises(OutputError, match=full), atomic_output(target) as tmp:
        tmp.write_text("half", encoding="utf-8")
        raise _no_space()
    assert [p.name for p in tmp_path.iterdir()] == ["t.txt"]
    assert target.read_text(encoding="utf-8") == "earlier"


def test_write_atomic_leaves_nothing_when_its_sync_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(OutputError, match=r"cannot write .*x\.bin: Input/output error"):
        write_atomic(tmp_path / "x.bin", b"data")
    assert list(tmp_path.iterdir()) == []
