"""Which model a run codes with (the one shipped in the package, a model file, or none), and
the run's provenance, which names it."""

from __future__ import annotations

import os
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import TrustcodeWarning, UsageError
from ..types import Codebook

#: the name that selects the model shipped in the package
DEFAULT_MODEL = "default"
#: the models shipped in the package, by the name that selects them -> their file in data/:
#: ``default`` (word and character n-grams) and ``muse`` (the same plus the multilingual sentence
#: encoder of the ``trustcode[embeddings]`` extra: better on new text, slower)
SHIPPED_MODELS: dict[str, str] = {DEFAULT_MODEL: "default-model.skops", "muse": "muse-model.skops"}


def shipped_model_path(name: str) -> Path:
    """Where the shipped model ``name`` (a key of :data:`SHIPPED_MODELS`) lives."""
    # trustcode/data: this module is one folder below the package's root
    return Path(__file__).parent.parent / "data" / SHIPPED_MODELS[name]


def default_model_path() -> Path:
    """Where the model shipped in the package lives."""
    return shipped_model_path(DEFAULT_MODEL)


def shipped_model_name(path: str | os.PathLike[str] | None) -> str | None:
    """The name of the shipped model at ``path``, or None if it is not one of them."""
    if path is None:
        return None
    return next(
        (name for name in SHIPPED_MODELS if str(shipped_model_path(name)) == str(path)), None
    )


def resolve_model(model: str | os.PathLike[str] | None, codebook: Codebook) -> str | None:
    """The model file to use, or None for rules only.

    ``"default"`` (or another name in :data:`SHIPPED_MODELS`) selects a shipped model when it
    exists and knows some of this codebook's codes (an edited copy of the shipped codebook keeps
    it; :func:`~trustcode.classify.load_model` says which codes it serves); otherwise coding is
    rules only, with a warning.
    """
    if model is None:
        return None
    name = str(model)
    if name not in SHIPPED_MODELS:
        path = Path(model)
        if not path.is_file():
            raise UsageError(
                f"Model file {path} does not exist: pass a model file that train "
                f"wrote, or model={DEFAULT_MODEL!r} for the shipped model.",
                params=("model",),
            )
        return str(path)
    path = shipped_model_path(name)
    if not path.is_file():
        return None
    from ..classify import model_metadata

    learned = set(model_metadata(path)["labels"])
    if not learned & {c.id for c in codebook.leaf_codes}:
        warnings.warn(
            f"The {name} model was trained for the shipped codebook's codes, and "
            f"{codebook.path or 'this codebook'} has none of them: coding with rules only. "
            "Train a model for it and code with that model.",
            TrustcodeWarning,
            stacklevel=2,
        )
        return None
    return str(path)


def review_model(model: str | os.PathLike[str] | None, codebook: Codebook) -> Any:
    """The model a run coded with (``"default"``, a file, or ``"none"``/None), loaded,
    or None: what a review sheet asks which passages teach it most.

    >>> review_model("default", load_codebook()).classifier_codes_  # doctest: +SKIP
    """
    if model is None or str(model).lower() == "none":
        return None
    path = resolve_model(model, codebook)
    if path is None:
        return None
    with warnings.catch_warnings():  # the run has said what the model serves already
        warnings.simplefilter("ignore", TrustcodeWarning)
        return load_run_model(path, codebook)


def load_run_model(path: str, codebook: Codebook) -> Any:
    from ..classify import load_model

    return load_model(path, codebook)


def _model_codebook(model_path: str | None) -> str | None:
    """The hash of the codebook the model was trained for (the run's may be an edit of it)."""
    if not model_path:
        return None
    from ..classify import model_codebook_sha256

    return model_codebook_sha256(model_path)


def _sha256_file(path: str) -> str:
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def provenance(
    codebook: Codebook, model_path: str | None, unit: str, options: dict[str, Any]
) -> dict[str, Any]:
    """What produced a run: versions, codebook and model hashes, unit, options, time."""
    from importlib.metadata import version

    # the installed versions, read without importing the libraries (scikit-learn alone takes
    # seconds to import, and a rules-only run never needs it)
    return {
        "trustcode_version": __version__,
        "spacy_version": version("spacy"),
        "sklearn_version": version("scikit-learn"),
        "codebook": codebook.path,
        "codebook_name": codebook.name,
        "codebook_sha256": codebook.sha256,
        "model": (
            f"{shipped} (shipped)" if (shipped := shipped_model_name(model_path)) else model_path
        ),
        "model_sha256": _sha256_file(model_path) if model_path else None,
        "model_codebook_sha256": _model_codebook(model_path),
        "unit": unit,
        "options": options,
        "created": datetime.now(UTC).replace(microsecond=0).isoformat(),
    }
