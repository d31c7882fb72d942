"""Nothing lost: an interrupted run leaves no partial output, and existing outputs survive.

The interrupt tests stop a REAL ``python -m trustcode.cli code`` run. Its corpus ends with a
named pipe (FIFO) posing as a .txt file: the run codes the ordinary documents (writing batches
into its temporary output), then blocks reading the pipe. Once the test sees the pipe opened
by the run (and, for folder formats, the ``.trustcode-tmp-*`` beside the output), it sends
SIGINT. No sleeps decide anything; the test waits for states.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from trustcode.cli import main
from trustcode.io.tables import read_tables, write_tables

pytestmark = pytest.mark.skipif(
    not hasattr(os, "mkfifo") or sys.platform == "win32", reason="needs POSIX named pipes"
)

PARAGRAPH = (
    "Volunteers wrote letters to political prisoners and answered the hotline at night.\n\n"
    "Волонтёры писали письма политзаключённым и отвечали на звонки горячей линии.\n\n"
)
WAIT_SECONDS = 120  # an upper bound for a slow machine, not a timing assertion


def make_corpus(folder: Path, documents: int = 70) -> Path:
    """``documents`` small texts, then ``zz-pipe.txt``, a FIFO the run blocks on."""
    folder.mkdir()
    for i in range(documents):
        (folder / f"doc{i:03d}.txt").write_text(PARAGRAPH * 3, encoding="utf-8")
    fifo = folder / "zz-pipe.txt"
    os.mkfifo(fifo)
    return fifo


def _wait_for_reader(fifo: Path, process: subprocess.Popen[bytes]) -> int:
    """Open the FIFO's write end once the run opens its read end; return the descriptor."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            out, err = process.communicate()
            pytest.fail(f"the run ended before reaching the pipe: {err.decode(errors='replace')}")
        try:
            return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno != errno.ENXIO:  # ENXIO: nobody reads the pipe yet
                raise
        time.sleep(0.05)
    process.kill()
    pytest.fail("the run never opened the pipe")


@pytest.fixture
def cleanup() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def interrupt_run(
    tmp_path: Path, output: Path, started: list[subprocess.Popen[bytes]], *extra: str
) -> tuple[int, str, bool]:
    """Run ``trustcode code`` into ``output``, SIGINT it mid-run; exit code, stderr, and whether
    a temporary output existed when the signal was sent."""
    fifo = make_corpus(tmp_path / "corpus")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "trustcode.cli",
            "code",
            str(tmp_path / "corpus"),
            "-o",
            str(output),
            "-m",
            "none",
            "-q",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    started.append(process)
    fd = _wait_for_reader(fifo, process)
    try:
        tmp_seen = any(p.name.startswith(".trustcode-tmp-") for p in output.parent.iterdir())
        process.send_signal(signal.SIGINT)
    finally:
        # The signal may land after the run's open() of the pipe returned and before its read()
        # began; Python then acts on it only when read() returns, which it never would while
        # this end stays open. Closing it ends the pipe, so the read returns either way.
        os.close(fd)
    _, err = process.communicate(timeout=WAIT_SECONDS)
    return process.returncode, err.decode("utf-8", errors="replace"), tmp_seen


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".trustcode-tmp-"))


@pytest.mark.parametrize("name", ["out.parquet", "out.xlsx"])
def test_sigint_mid_run_leaves_no_partial_output(
    tmp_path: Path, name: str, cleanup: list[subprocess.Popen[bytes]]
) -> None:
    output = tmp_path / name
    code, err, tmp_seen = interrupt_run(tmp_path, output, cleanup)
    assert code == 130, err
    assert "Interrupted" in err and "Traceback" not in err
    # the message says what was not written
    assert f"{name} was not written" in err
    assert not output.exists()
    assert leftovers(tmp_path) == []
    if name != "out.xlsx":  # folder formats write batches as they go: a partial output existed
        assert tmp_seen


def test_sigint_with_force_keeps_the_earlier_output(
    tmp_path: Path, cleanup: list[subprocess.Popen[bytes]]
) -> None:
    from tests.test_io_tables import make_tables

    output = tmp_path / "out.parquet"
    write_tables(make_tables(), output, provenance={"run": "earlier"})
    before = {p.name: p.read_bytes() for p in output.iterdir()}
    code, err, _ = interrupt_run(tmp_path, output, cleanup, "--force")
    assert code == 130, err
    assert {p.name: p.read_bytes() for p in output.iterdir()} == before
    assert read_tables(output)[1] == {"run": "earlier"}
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("name", ["coded.xlsx", "coded.parquet", "coded"])
def test_existing_output_is_not_overwritten_without_force(tmp_path: Path, name: str) -> None:
    from tests.test_io_tables import make_tables

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text(PARAGRAPH, encoding="utf-8")
    output = write_tables(make_tables(), tmp_path / name, provenance={"run": "earlier"})

    def snapshot() -> dict[str, bytes]:
        if output.is_file():
            return {output.name: output.read_bytes()}
        return {p.name: p.read_bytes() for p in output.iterdir()}

    before = snapshot()
    result = CliRunner().invoke(main, ["code", str(corpus), "-o", str(output), "-m", "none"])
    assert result.exit_code == 2
    assert "exists; pass force=True to overwrite it" in result.output
    assert "Command line: --force." in result.output
    assert "Traceback" not in result.output
    assert snapshot() == before
    forced = CliRunner().invoke(
        main, ["code", str(corpus), "-o", str(output), "-m", "none", "--force"]
    )
    assert forced.exit_code == 0, forced.output
    assert read_tables(output)[0]["documents"]["doc_id"].tolist() == ["a"]
    assert leftovers(tmp_path) == []
