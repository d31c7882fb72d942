"""Rebuild the models shipped in the package, byte for byte, from the gold and ../shared.

Run from anywhere:  python scripts/build_default_model.py [--check] [--model default|muse|all]

It trains trustcode's classifier on every gold passage in corpus/gold/coding (the article in
corpus/ and the OVD-Info reports in ../shared/corpus-sources), the passages written for the
codebook in corpus/illustrative (coder 'illustrative'), and the examples of the shipped codebook,
and writes src/trustcode/data/default-model.skops (word and character n-grams) and
src/trustcode/data/muse-model.skops (the same n-grams plus the multilingual sentence encoder of
the trustcode[embeddings] extra, which building it needs). The same gold, codebook and library
versions give the same bytes on one machine; with --check it only verifies that the shipped files
are what this script builds, and exits 1 if not.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "src" / "trustcode" / "data"
#: each shipped model: its file and the training parameters beyond the defaults
MODELS = {
    "default": (DATA / "default-model.skops", {}),
    "muse": (DATA / "muse-model.skops", {"embeddings": "muse"}),
}


def build(target: Path, params: dict | None = None) -> Path:
    from trustcode.classify import save_model, train_model
    from trustcode.codebook import load_codebook
    from trustcode.gold import read_gold

    os.chdir(REPO)  # the model records the codebook path; keep it relative and stable
    codebook = load_codebook("codebook.yaml")
    # the gold's documents: the article in corpus/, the OVD-Info reports in ../shared (the
    # article's raw version there is not the text the gold was coded on: corpus/ comes first)
    gold = read_gold(
        ["corpus/gold/coding", "corpus/illustrative"],
        codebook=codebook,
        documents=["corpus", "../shared/corpus-sources"],
    )
    model = train_model(gold, codebook, **(params or {}))
    return save_model(model, target, codebook)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="verify the shipped model instead of writing it"
    )
    parser.add_argument(
        "--model",
        choices=[*MODELS, "all"],
        default="all",
        help="which shipped model (default: all)",
    )
    args = parser.parse_args()
    names = list(MODELS) if args.model == "all" else [args.model]
    status = 0
    for name in names:
        target, params = MODELS[name]
        if args.check:
            with tempfile.TemporaryDirectory() as tmp:
                built = build(Path(tmp) / "model.skops", params).read_bytes()
            shipped = target.read_bytes()
            same = built == shipped
            verdict = "same" if same else "DIFFERENT"
            print(
                f"{name}: shipped {hashlib.sha256(shipped).hexdigest()[:16]}, "
                f"rebuilt {hashlib.sha256(built).hexdigest()[:16]}: {verdict}",
                flush=True,
            )
            status = status or (0 if same else 1)
            continue
        path = build(target, params)
        print(
            f"{name}: wrote {path} ({path.stat().st_size:,} bytes, "
            f"sha256 {hashlib.sha256(path.read_bytes()).hexdigest()})",
            flush=True,
        )
    return status


if __name__ == "__main__":
    sys.exit(main())
