"""A full or failing disk: every writer stops with one clean line and exit code 2, and leaves
nothing behind (an earlier output at the path stays as it was).

The disk is simulated in the process. A file opened for writing under the test's ``disk``
folder is built on a raw file whose writes raise ENOSPC (or EIO) once a byte budget is used
up. Python's own buffering sits above it, as in ``open``, so closing a half-written file
flushes and raises the error a second time, as it does on a real full disk. Each output is
first written with no limit to learn its size; the budget is then set at several points of
it: the first write fails, one in the middle, one near the end (which a close flushes). Parquet
files are written by pyarrow in C++, so there the error is injected into pyarrow's writer.
One test fills a real tmpfs where the machine lets it mount one.
"""

from __future__ import annotations

import builtins
import errno
import gc
import io
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner, Result

from trustcode.cli import main

REAL_OPEN = builtins.open

EN = [
    "Volunteers write letters to political prisoners every week.",
    "Lawyers from the hotline defended the detained protesters in court.",
    "Police detained forty people at the rally and the court fined them.",
    "He was arrested and sentenced to five years for a post.",
]
RU = [
    "Волонтеры пишут письма политзаключенным каждую неделю.",
    "Адвокаты защищали задержанных активистов в суде.",
    "Полиция задержала участников пикета, суд назначил штрафы.",
]


class FullDisk:
    """Files written under ``root`` share a byte budget; past it, writes raise ``code``."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.budget: int | None = None
        self.used = 0
        self.code = errno.ENOSPC
        disk = self

        class Raw(io.FileIO):
            def write(self, data: Any) -> int:
                disk.take(len(data))
                return super().write(data)

        self._raw = Raw

    def take(self, size: int) -> None:
        if self.budget is not None and self.used + size > self.budget:
            raise OSError(self.code, os.strerror(self.code))
        self.used += size

    def covers(self, file: Any) -> bool:
        if not isinstance(file, str | os.PathLike):
            return False
        return Path(os.path.abspath(os.fspath(file))).is_relative_to(self.root)

    def open(
        self,
        file: Any,
        mode: str = "r",
        buffering: int = -1,
        encoding: str | None = None,
        errors: str | None = None,
        newline: str | None = None,
        closefd: bool = True,
        opener: Any = None,
    ) -> Any:
        if not any(c in mode for c in "wax+") or not self.covers(file):
            return REAL_OPEN(file, mode, buffering, encoding, errors, newline, closefd, opener)
        raw = self._raw(file, mode.replace("b", "").replace("t", ""), closefd, opener)
        if buffering == 0:
            return raw
        size = buffering if buffering > 1 else io.DEFAULT_BUFFER_SIZE
        buffered = (io.BufferedRandom if "+" in mode else io.BufferedWriter)(raw, size)
        if "b" in mode:
            return buffered
        text = io.TextIOWrapper(buffered, encoding, errors, newline, line_buffering=buffering == 1)
        text.mode = mode
        return text


CODEBOOK = """\
name: small
codes:
  - id: prisoner_support
    label: Prisoner support
    rules: [{phrases: [letters, lawyers, письма, адвокаты]}]
  - id: repression
    label: Repression
    rules: [{phrases: [detained, arrested, задержала]}]
"""


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A small codebook, a two-document corpus, its coded workbook and a gold file, on an
    ordinary disk (a small codebook keeps the figures, and so the tests, quick)."""
    base = tmp_path_factory.mktemp("inputs")
    codebook = base / "codebook.yaml"
    codebook.write_text(CODEBOOK, encoding="utf-8")
    docs = base / "docs"
    docs.mkdir()
    (docs / "manifest.csv").write_text(
        "doc_id,path,group\nen,en.txt,left\nru,ru.txt,stayed\n", encoding="utf-8"
    )
    (docs / "en.txt").write_text("\n\n".join(EN), encoding="utf-8")
    (docs / "ru.txt").write_text("\n\n".join(RU), encoding="utf-8")
    coded = base / "coded.xlsx"
    args = ["code", str(docs), "-c", str(codebook), "-m", "none", "-o", str(coded)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    gold = base / "gold.csv"
    codes = ["prisoner_support", "prisoner_support", "repression", "repression"]
    pd.DataFrame(
        {"doc_id": ["g1", "g1", "g2", "g2"], "text": EN, "codes": codes, "coder": "ann"}
    ).to_csv(gold, index=False)
    return {"codebook": codebook, "docs": docs, "coded": coded, "gold": gold}


#: writer -> (the command's arguments before ``-o``, the output's name)
WRITERS: dict[str, tuple[Callable[[dict[str, Path]], list[str]], str]] = {
    "code-xlsx": (lambda i: ["code", str(i["docs"]), "-m", "none"], "out.xlsx"),
    "code-csv": (lambda i: ["code", str(i["docs"]), "-m", "none"], "out"),
    "code-jsonl": (lambda i: ["code", str(i["docs"]), "-m", "none"], "out.jsonl"),
    "code-qdpx": (lambda i: ["code", str(i["docs"]), "-m", "none"], "out.qdpx"),
    "code-review": (lambda i: ["code", str(i["docs"]), "-m", "none", "--review"], "review.xlsx"),
    "export": (lambda i: ["export", str(i["coded"])], "project.qdpx"),
    "report": (lambda i: ["report", str(i["coded"]), "--by", "group"], "report.html"),
    "compare-xlsx": (lambda i: ["compare", str(i["coded"]), "--by", "group"], "comparison.xlsx"),
    "compare-csv": (lambda i: ["compare", str(i["coded"]), "--by", "group"], "comparison"),
    "train": (lambda i: ["train", str(i["gold"])], "model.skops"),
}

#: where in the output the disk fills: its first write, its middle, near its end (the last
#: bytes, which a close flushes; not the very last byte: outputs with a time stamp vary a little)
POINTS = {"first": 0.0, "middle": 0.5, "end": 0.95}


@pytest.fixture
def disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FullDisk:
    root = tmp_path / "disk"
    root.mkdir()
    full = FullDisk(root)
    monkeypatch.setattr(builtins, "open", full.open)
    monkeypatch.setattr(io, "open", full.open)  # zipfile and pathlib open files through io
    return full


@pytest.fixture
def unraisable(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Errors raised where nobody can catch them (a ``__del__`` closing a file late)."""
    seen: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", seen.append)
    yield seen


def _snapshot(root: Path) -> dict[str, bytes | None]:
    return {
        str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None)
        for p in sorted(root.rglob("*"))
    }


def _open_under(root: Path) -> list[str]:
    """The files under ``root`` this process holds open (Linux; elsewhere none are seen)."""
    fds = Path(f"/proc/{os.getpid()}/fd")
    found = []
    for fd in fds.iterdir() if fds.is_dir() else []:
        try:
            target = os.readlink(fd)
        except OSError:  # closed meanwhile (the descriptor of this very listing)
            continue
        if target.startswith(f"{root}{os.sep}"):
            found.append(target)
    return found


def _invoke(args: list[str]) -> Result:
    result = CliRunner().invoke(main, args)
    gc.collect()  # a file object the writer left open would be closed (and fail) here
    return result


def _check_clean_failure(result: Result, output: Path, cause: str, seen: list[Any]) -> None:
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output and "Exception ignored" not in result.output
    assert not seen, [str(u.exc_value) for u in seen]
    assert _open_under(output.parent) == []
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    # compare names its figures folder (OUTPUT-figures) when that is what failed
    assert errors[0].startswith(f"Error: cannot write {output.with_suffix('')}"), errors[0]
    assert cause in errors[0] and "Nothing was written" in errors[0], errors[0]


#: writer -> (bytes its output takes, its files): learnt by writing it once with room
_WRITTEN: dict[str, tuple[int, dict[str, bytes | None]]] = {}


def _args(writer: str, inputs: dict[str, Path], output: Path) -> list[str]:
    build, _name = WRITERS[writer]
    return [*build(inputs), "-c", str(inputs["codebook"]), "-o", str(output), "--force"]


def _written(writer: str, inputs: dict[str, Path], disk: FullDisk) -> tuple[int, dict]:
    """The size and files of ``writer``'s output, written once onto ``disk`` with room."""
    if writer not in _WRITTEN:
        start = disk.used
        result = _invoke(_args(writer, inputs, disk.root / WRITERS[writer][1]))
        assert result.exit_code == 0, result.output
        _WRITTEN[writer] = (disk.used - start, _snapshot(disk.root))
        shutil.rmtree(disk.root)
        disk.root.mkdir()
    return _WRITTEN[writer]


def _restore(root: Path, files: dict[str, bytes | None]) -> None:
    for name, data in files.items():
        if data is None:
            (root / name).mkdir()
        else:
            (root / name).write_bytes(data)


@pytest.mark.parametrize("point", POINTS)
@pytest.mark.parametrize("writer", WRITERS)
def test_a_disk_that_fills_fails_cleanly(
    writer: str, point: str, inputs: dict[str, Path], disk: FullDisk, unraisable: list[Any]
) -> None:
    output = disk.root / WRITERS[writer][1]
    size, files = _written(writer, inputs, disk)
    # the first point without an earlier output (nothing at all may be left), the others over
    # one (it must stay as it was); compare refuses to replace a CSV folder it wrote itself
    earlier = {} if point == "first" or writer == "compare-csv" else files
    _restore(disk.root, earlier)
    disk.budget = disk.used + int(POINTS[point] * size)
    result = _invoke(_args(writer, inputs, output))
    _check_clean_failure(result, output, "the disk", unraisable)
    assert _snapshot(disk.root) == earlier


@pytest.mark.parametrize("writer", WRITERS)
def test_a_failing_disk_fails_cleanly(
    writer: str, inputs: dict[str, Path], disk: FullDisk, unraisable: list[Any]
) -> None:
    output = disk.root / WRITERS[writer][1]
    size, _files = _written(writer, inputs, disk)
    disk.code = errno.EIO
    disk.budget = disk.used + size // 3  # a disk that breaks in the middle of the write
    result = _invoke(_args(writer, inputs, output))
    _check_clean_failure(result, output, "Input/output error", unraisable)
    assert list(disk.root.iterdir()) == []


def test_a_full_disk_names_the_space_a_file_needs(inputs: dict[str, Path], disk: FullDisk) -> None:
    disk.budget = 0
    result = _invoke(
        [
            "export",
            str(inputs["coded"]),
            "-c",
            str(inputs["codebook"]),
            "-o",
            str(disk.root / "p.qdpx"),
        ]
    )
    assert result.exit_code == 2
    needs = r"the disk is full \(it needs [\d.]+ (bytes|KB); [\d.]+ [KMGT]?B free there\)"
    assert re.search(needs, result.stderr), result.stderr


@pytest.mark.parametrize("failing", ["write_table", "close"])
def test_parquet_on_a_full_disk_fails_cleanly(
    failing: str,
    inputs: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    unraisable: list[Any],
) -> None:
    import pyarrow.parquet as pq

    full = "Error writing bytes to file. Detail: [errno 28] No space left on device"

    class FillingWriter(pq.ParquetWriter):  # type: ignore[misc]
        """Fails as pyarrow does when the disk fills: its close fails again, and stays open."""

        def write_table(self, table: Any, *args: Any, **kwargs: Any) -> None:
            super().write_table(table, *args, **kwargs)
            if failing == "write_table":
                raise OSError(full)

        def close(self) -> None:
            raise OSError(full)  # leaves is_open set: pyarrow's __del__ would close again

    monkeypatch.setattr(pq, "ParquetWriter", FillingWriter)
    output = tmp_path / "out.parquet"
    output.mkdir()
    (output / "codings.parquet").write_bytes(b"an earlier output")
    result = _invoke(
        [
            "code",
            str(inputs["docs"]),
            "-c",
            str(inputs["codebook"]),
            "-m",
            "none",
            "-o",
            str(output),
            "--force",
        ]
    )
    _check_clean_failure(result, output, "the disk filled after", unraisable)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.parquet"]
    assert [p.name for p in output.iterdir()] == ["codings.parquet"]
    assert (output / "codings.parquet").read_bytes() == b"an earlier output"


def test_a_real_tmpfs_that_fills(inputs: dict[str, Path], tmp_path: Path) -> None:
    """The same on a real file system of 32 KB, where this machine may mount one (as root)."""
    mount = tmp_path / "small"
    mount.mkdir()
    if shutil.which("mount") is None or not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root and mount(8)")
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=32k", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if made.returncode != 0:
        pytest.skip(f"this machine does not allow mounting a tmpfs: {made.stderr.strip()}")
    try:
        big = inputs["docs"].parent / "big"
        big.mkdir()
        for i in range(40):  # numbered passages: no format compresses them into 32 KB
            passages = (f"{text} Case {i * 100 + j}." for j, text in enumerate(EN * 5))
            (big / f"doc{i:02d}.txt").write_text("\n\n".join(passages), encoding="utf-8")
        for name in ("out.xlsx", "out", "out.jsonl", "out.parquet", "out.qdpx"):
            output = mount / name
            result = _invoke(
                ["code", str(big), "-c", str(inputs["codebook"]), "-m", "none", "-o", str(output)]
            )
            assert result.exit_code == 2, (name, result.output)
            assert "Traceback" not in result.output
            assert f"Error: cannot write {output}: the disk" in result.stderr, result.stderr
            assert list(mount.iterdir()) == []
        # a file left open, though deleted, would still hold its space: umount would say busy
        assert _open_under(mount) == []
    finally:
        if subprocess.run(["umount", str(mount)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "--lazy", str(mount)], capture_output=True)  # still busy
