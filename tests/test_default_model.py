"""The model shipped in the package: trained for the shipped codebook, rebuilt byte for byte."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from trustcode.classify import load_model, model_metadata
from trustcode.codebook import load_codebook
from trustcode.pipeline import default_model_path

from .conftest import REPO


def test_default_model_fits_the_shipped_codebook() -> None:
    book = load_codebook()
    meta = model_metadata(default_model_path())
    assert meta["codebook_sha256"] == book.sha256, (
        "codebook.yaml changed since the default model was built: "
        "run python scripts/build_default_model.py"
    )
    model = load_model(default_model_path(), book)
    assert set(model.classifier_codes_) <= set(book.code_ids)


def test_code_uses_the_default_model_and_names_it(tmp_path: Path) -> None:
    from trustcode.pipeline import code_corpus

    (tmp_path / "a.txt").write_text(
        "Police detained forty protesters and the court fined them.", encoding="utf-8"
    )
    run = code_corpus(tmp_path)
    assert run.provenance["model"] == "default (shipped)"
    assert run.provenance["model_sha256"]


def test_build_script_rebuilds_the_shipped_model_byte_for_byte(shared_dir: Path) -> None:
    import numpy
    import sklearn

    versions = model_metadata(default_model_path())["versions"]
    if (versions["scikit-learn"], versions["numpy"]) != (sklearn.__version__, numpy.__version__):
        pytest.skip(
            f"the model was built with scikit-learn {versions['scikit-learn']} and numpy "
            f"{versions['numpy']}; these are {sklearn.__version__} and {numpy.__version__}, "
            "so the bytes may differ"
        )
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "build_default_model.py"), "--check"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "same" in result.stdout
