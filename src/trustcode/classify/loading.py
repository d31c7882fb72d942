"""Reading models: a model file's state (read once per file), its metadata, and
:func:`load_model`, which checks the model was trained for the codebook at hand."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelError, TrustcodeWarning
from ..ngrams import NgramTfidf
from ..skopsfile import read_plain
from ..types import Codebook
from .classifier import CodeClassifier
from .saving import MODEL_FORMAT, MODEL_FORMAT_VERSION

#: types a model file may hold beyond skops' defaults; nothing else is ever loaded
_TRUSTED_TYPES: list[str] = []

#: the last model file read, keyed by path, size and modification time: a run checks the
#: model's codebook and then loads it, and the file should be read once
_STATE_CACHE: dict[tuple[str, int, int], dict[str, Any]] = {}


def _read_state(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ModelError(
            f"Model file {path} does not exist: train one with 'trustcode train' and pass its path."
        )
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _STATE_CACHE:
        state = _read_state_uncached(path)
        _STATE_CACHE.clear()
        _STATE_CACHE[key] = state
    return _STATE_CACHE[key]


def _read_state_uncached(path: Path) -> dict[str, Any]:
    # the dictionaries save_model writes are read without importing skops (and scikit-learn);
    # skops itself reads, checks and reports on anything else
    state = read_plain(path)
    if state is None:
        state = _read_with_skops(path)
    if not isinstance(state, dict) or state.get("format") != MODEL_FORMAT:
        raise ModelError(
            f"{path} is a skops file but not a trustcode model (no '{MODEL_FORMAT}' marker). "
            "Pass a file written by 'trustcode train'."
        )
    if state.get("format_version") != MODEL_FORMAT_VERSION:
        raise ModelError(
            f"{path} is a trustcode model of format version {state.get('format_version')!r}; "
            f"this trustcode reads version {MODEL_FORMAT_VERSION}. Retrain it with "
            "'trustcode train'."
        )
    return state


def _read_with_skops(path: Path) -> Any:
    import skops.io as sio

    try:
        return sio.load(path, trusted=list(_TRUSTED_TYPES))
    except Exception as exc:  # any failure to read means the file is no model of ours
        raise ModelError(
            f"{path} is not a trustcode model (skops could not read it: {type(exc).__name__}: "
            f"{exc}). Pass a file written by 'trustcode train'."
        ) from exc


def model_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The metadata a model file records (codebook, labels, thresholds, versions, size)."""
    return dict(json.loads(_read_state(Path(path))["metadata"]))


def model_codebook_sha256(path: str | os.PathLike[str]) -> str | None:
    """The hash of the codebook a model file was trained for (None if the file is no model)."""
    try:
        return str(model_metadata(path)["codebook_sha256"])
    except ModelError:
        return None


def load_model(path: str | os.PathLike[str], codebook: Codebook) -> CodeClassifier:
    """Load a model saved by :func:`save_model` for the codes of ``codebook``.

    A model is bound to the codes it learned (their ids), not to the codebook file: editing
    rules, examples, colours or wording keeps it. A code the model knows and the codebook has
    keeps its classifier; a code of the codebook the model does not know is coded by its rules
    only, and a model code the codebook lacks is dropped (one :class:`TrustcodeWarning` names
    both). A model that shares no code with the codebook is refused.

    >>> model = load_model("model.skops", load_codebook())  # doctest: +SKIP
    """
    path = Path(path)
    state = _read_state(path)
    meta = json.loads(state["metadata"])
    labels = tuple(c.id for c in codebook.leaf_codes)
    trained_for = (
        f"codebook {meta['codebook_name']!r} (version {meta['codebook_version'] or '-'}, "
        f"{meta['codebook_path'] or 'no path'}, sha256 {meta['codebook_sha256'][:12]})"
    )
    known = [c for c in meta["labels"] if c in labels]
    if not known:
        raise ModelError(
            f"Model {path} was trained for {trained_for} with codes {', '.join(meta['labels'])}; "
            f"it shares none with {codebook.path or codebook.name!s}, whose codes are "
            f"{', '.join(labels) or '(none)'}. Train a model for this codebook with "
            "'trustcode train', or use the codebook the model was trained for."
        )
    unknown_to_model = [c for c in labels if c not in meta["labels"]]
    gone = [c for c in meta["labels"] if c not in labels]
    if unknown_to_model or gone:
        warnings.warn(
            f"Model {path} was trained for other codes than {codebook.path or codebook.name!s} "
            f"has: coded by rules only (the model does not know them): "
            f"{', '.join(unknown_to_model) or '-'}; model codes not in the codebook, unused: "
            f"{', '.join(gone) or '-'}.",
            TrustcodeWarning,
            stacklevel=2,
        )
    params = dict(meta["params"])
    params["word_ngrams"] = tuple(params["word_ngrams"])
    params["char_ngrams"] = tuple(params["char_ngrams"])
    stop_words = tuple(str(w) for w in state.get("stop_words", np.empty(0, dtype=str)).tolist())
    params["stop_words"] = stop_words or None
    model = CodeClassifier(**params)
    vectorizers = [
        NgramTfidf(
            analyzer,
            ngrams,
            state[f"{name}_vocabulary"],
            state[f"{name}_idf"],
            stop_words=stop_words,
        )
        for name, analyzer, ngrams in (
            ("word", "word", params["word_ngrams"]),
            ("char", "char_wb", params["char_ngrams"]),
        )
    ]
    trained = list(meta["classifier_codes"])
    kept = [i for i, code in enumerate(trained) if code in labels]
    model.codes_ = labels
    model.classifier_codes_ = tuple(trained[i] for i in kept)
    model.vectorizers_ = (vectorizers[0], vectorizers[1])
    model.feature_names_ = model._feature_names(state["word_vocabulary"], state["char_vocabulary"])
    coef = np.asarray(state["coef"], dtype=np.float64).reshape(len(trained), -1)
    model.coef_ = np.ascontiguousarray(coef[kept])
    model.intercept_ = np.asarray(state["intercept"], dtype=np.float64)[kept]
    model.platt_ = np.asarray(state["platt"], dtype=np.float64).reshape(len(trained), 2)[kept]
    model.thresholds_ = {c: float(meta["thresholds"][c]) for c in model.classifier_codes_}
    # models from before C="auto" did not record it: they used the one C of their parameters
    model.C_ = {
        c: float(meta.get("C_per_code", {}).get(c, params["C"])) for c in model.classifier_codes_
    }
    model.n_training_ = int(meta["training_size"])
    model.codebook_sha256_ = meta["codebook_sha256"]
    model.definitions_ = bool(meta.get("definitions", False))
    model.metadata_ = meta
    if "adapt_keys" in state:
        _restore_adaptation(model, state, meta, trained, kept)
    return model


def _restore_adaptation(
    model: CodeClassifier,
    state: dict[str, Any],
    meta: dict[str, Any],
    trained: list[str],
    kept: list[int],
) -> None:
    """An adapted model's prior and reviewed passages (see :mod:`.adapting`), for the codes
    the codebook keeps."""
    from scipy.sparse import csr_matrix

    n_features = len(model.feature_names_)
    prior = np.asarray(state["prior_coef"], dtype=np.float64).reshape(len(trained), -1)
    model.prior_coef_ = np.ascontiguousarray(prior[kept])
    model.prior_intercept_ = np.asarray(state["prior_intercept"], dtype=np.float64)[kept]
    keys = [str(k) for k in state["adapt_keys"].tolist()]
    model.adapt_features_ = csr_matrix(
        (state["adapt_data"], state["adapt_indices"], state["adapt_indptr"]),
        shape=(len(keys), n_features),
    )
    labels = np.asarray(state["adapt_labels"], dtype=bool).reshape(len(keys), len(meta["labels"]))
    model.adapt_labels_ = np.column_stack(
        [
            labels[:, meta["labels"].index(c)]
            if c in meta["labels"]
            else np.zeros(len(keys), dtype=bool)
            for c in model.codes_
        ]
    ).reshape(len(keys), len(model.codes_))
    rules = np.asarray(
        state.get("adapt_rules", np.zeros(labels.shape, dtype=bool)), dtype=bool
    ).reshape(len(keys), len(meta["labels"]))
    model.adapt_rules_ = np.column_stack(
        [
            rules[:, meta["labels"].index(c)]
            if c in meta["labels"]
            else np.zeros(len(keys), dtype=bool)
            for c in model.codes_
        ]
    ).reshape(len(keys), len(model.codes_))
    model.adapt_keys_ = keys
    adapted = meta["adapted"]
    model.adapt_weight_ = float(adapted["weight"])
    model.base_name_ = str(adapted["base"])
    model.prior_ = dict(adapted["prior"])
    model.rule_cuts_ = {
        str(c): float(v)
        for c, v in adapted.get("rule_cuts", {}).items()
        if c in model.classifier_codes_
    }
