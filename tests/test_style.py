"""STYLE.md's mechanical rules: ruff is clean on the tree and mypy on src/."""

from __future__ import annotations

import subprocess
import sys

import pytest

from .conftest import REPO


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=REPO, capture_output=True, text=True, timeout=600
    )


def test_ruff_is_clean() -> None:
    pytest.importorskip("ruff", reason="ruff is not installed")
    result = _run("ruff", "check", "src", "tests", "benchmarks", "scripts")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean_on_src() -> None:
    pytest.importorskip("mypy", reason="mypy is not installed")
    result = _run("mypy", "src", "--cache-dir", "/tmp/trustcode-mypy-cache")
    assert result.returncode == 0, result.stdout + result.stderr
