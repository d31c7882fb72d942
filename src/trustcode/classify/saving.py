"""Writing models: a fitted classifier as a skops file of plain arrays plus metadata, with the
same bytes for the same model (:func:`model_bytes`, :func:`save_model`)."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import write_atomic
from ..errors import ModelError
from ..types import Codebook
from .classifier import CodeClassifier
from .training import codebook_fingerprint

#: marks a skops file as a trustcode model
MODEL_FORMAT = "trustcode-model"
MODEL_FORMAT_VERSION = 1

# a fixed time stamp for zip entries, so that the same model gives the same bytes
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def _versions() -> dict[str, str]:
    import sklearn
    import skops

    from .. import __version__

    return {
        "trustcode": __version__,
        "scikit-learn": sklearn.__version__,
        "skops": skops.__version__,
        "numpy": np.__version__,
    }


def _model_state(model: CodeClassifier, codebook: Codebook) -> dict[str, Any]:
    word, char = model.vectorizers_
    params = model.get_params()
    stop_words = params.pop("stop_words") or ()  # an array of its own, not a JSON list
    metadata = {
        "codebook_name": codebook.name,
        "codebook_version": codebook.version,
        "codebook_path": str(codebook.path),
        "codebook_sha256": codebook_fingerprint(codebook),
        "labels": list(model.codes_),
        "classifier_codes": list(model.classifier_codes_),
        "thresholds": {c: float(model.thresholds_[c]) for c in model.classifier_codes_},
        "C_per_code": {c: float(model.C_[c]) for c in model.classifier_codes_},
        "params": {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()},
        "versions": _versions(),
        "training_size": int(model.n_training_),
    }
    if getattr(model, "definitions_", False):  # only then, so older model files keep their bytes
        metadata["definitions"] = True
    adapted = _adaptation_state(model)
    if adapted:  # only an adapted model: a trained one keeps its bytes
        metadata["adapted"] = {
            "base": model.base_name_,
            "prior": model.prior_,
            "weight": float(model.adapt_weight_),
            "reviewed_passages": len(model.adapt_keys_),
            "rule_cuts": {c: float(v) for c, v in sorted(getattr(model, "rule_cuts_", {}).items())},
        }
    return {
        "format": MODEL_FORMAT,
        "format_version": MODEL_FORMAT_VERSION,
        # JSON text keeps the metadata readable and its types plain
        "metadata": json.dumps(metadata, sort_keys=True, ensure_ascii=False),
        "word_vocabulary": np.asarray(word.get_feature_names_out(), dtype=str),
        "word_idf": np.asarray(word.idf_, dtype=np.float64),
        "char_vocabulary": np.asarray(char.get_feature_names_out(), dtype=str),
        "char_idf": np.asarray(char.idf_, dtype=np.float64),
        # single precision: a score moves by about 1e-7, and the file (nine codes over 120,000
        # n-grams) shrinks by half; the loader reads it back as float64
        "coef": np.asarray(model.coef_, dtype=np.float32),
        "intercept": model.intercept_,
        "platt": model.platt_,
        "stop_words": np.asarray(sorted(stop_words), dtype=str),
        **adapted,
    }


def _adaptation_state(model: CodeClassifier) -> dict[str, np.ndarray]:
    """What a further round of adaptation needs (see :mod:`.adapting`): the prior coefficients
    and the reviewed passages as a sparse matrix's CSR arrays, their codes, the rules' codes
    and their keys."""
    keys = getattr(model, "adapt_keys_", None)
    if keys is None:
        return {}
    x = model.adapt_features_.tocsr()
    x.sort_indices()
    return {
        "prior_coef": np.asarray(model.prior_coef_, dtype=np.float64),
        "prior_intercept": np.asarray(model.prior_intercept_, dtype=np.float64),
        "adapt_data": np.asarray(x.data, dtype=np.float64),
        "adapt_indices": np.asarray(x.indices, dtype=np.int64),
        "adapt_indptr": np.asarray(x.indptr, dtype=np.int64),
        "adapt_labels": np.asarray(model.adapt_labels_, dtype=bool),
        "adapt_rules": np.asarray(
            getattr(model, "adapt_rules_", None)
            if getattr(model, "adapt_rules_", None) is not None
            else np.zeros_like(model.adapt_labels_),
            dtype=bool,
        ),
        "adapt_keys": np.asarray(keys, dtype=str),
    }


def _canonical_zip(raw: bytes) -> bytes:
    """skops names array files and objects after memory addresses and stamps entries with the
    current time; renumber both in schema order and fix the time, so equal models give equal
    bytes."""
    with zipfile.ZipFile(io.BytesIO(raw)) as source:
        schema = json.loads(source.read("schema.json"))
        renamed: dict[str, str] = {}
        ids: dict[int, int] = {}

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                if isinstance(node.get("__id__"), int):  # memory addresses: renumber in order
                    node["__id__"] = ids.setdefault(node["__id__"], len(ids) + 1)
                name = node.get("file")
                if isinstance(name, str) and name in source.namelist():
                    if name not in renamed:
                        renamed[name] = f"{len(renamed):05d}{Path(name).suffix}"
                    node["file"] = renamed[name]
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)

        walk(schema)
        if any(old.endswith(".npz") for old in renamed):  # np.savez would carry time stamps
            raise ModelError("Internal: a sparse matrix reached the model file; save dense arrays.")
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as target:
            entries = [("schema.json", json.dumps(schema, indent=2).encode("utf-8"))]
            entries += [(new, source.read(old)) for old, new in renamed.items()]
            for name, data in entries:
                info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                target.writestr(info, data)
    return out.getvalue()


def model_bytes(model: CodeClassifier, codebook: Codebook) -> bytes:
    """The bytes :func:`save_model` writes (the same model gives the same bytes)."""
    import skops.io as sio

    model._check_fitted()
    return _canonical_zip(sio.dumps(_model_state(model, codebook)))


def save_model(model: CodeClassifier, path: str | os.PathLike[str], codebook: Codebook) -> Path:
    """Write ``model`` with skops, atomically (a temporary file renamed over the target).

    >>> save_model(train_model(gold, codebook), "model.skops", codebook)  # doctest: +SKIP
    PosixPath('model.skops')
    """
    path = Path(path)
    data = model_bytes(model, codebook)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ModelError(f"Cannot write the model to {path}: folder {folder} does not exist.")
    return write_atomic(path, data, force=True)
