"""Rebuild the default model shipped in the package, byte for byte, from the gold and ../shared.

Run from anywhere:  python scripts/build_default_model.py [--check]

It trains trustcode's classifier on every gold passage in corpus/gold/coding (the article in
corpus/ and the OVD-Info reports in ../shared/corpus-sources), the passages written for the
codebook in corpus/illustrative (coder 'illustrative'), and the examples of the shipped codebook,
and writes src/trustcode/data/default-model.skops. The same gold, codebook and library
versions give the same bytes; with --check it only verifies that the shipped file is what this
script builds, and exits 1 if not.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET = REPO / "src" / "trustcode" / "data" / "default-model.skops"


def build(target: Path) -> Path:
    from trustcode.classify import save_model, train_model
    from trustcode.codebook import load_codebook
    from trustcode.gold import read_gold

    os.chdir(REPO)  # the model records the codebook path; keep it relative and stable
    codebook = load_codebook("codebook.yaml")
    # the gold's documents: the article in corpus/, the OVD-Info reports in ../shared (the
    # article's raw version there is not the text the gold was coded on: corpus/ comes first)
    gold = read_gold(["corpus/gold/coding", "corpus/illustrative"], codebook=codebook,
                     documents=["corpus", "../shared/corpus-sources"])
    model = train_model(gold, codebook)
    return save_model(model, target, codebook)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="verify the shipped model instead of writing it")
    args = parser.parse_args()
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            built = build(Path(tmp) / "model.skops").read_bytes()
        shipped = TARGET.read_bytes()
        same = built == shipped
        verdict = "same" if same else "DIFFERENT"
        print(f"shipped {hashlib.sha256(shipped).hexdigest()[:16]}, "
              f"rebuilt {hashlib.sha256(built).hexdigest()[:16]}: {verdict}")
        return 0 if same else 1
    path = build(TARGET)
    print(f"wrote {path} ({path.stat().st_size:,} bytes, "
          f"sha256 {hashlib.sha256(path.read_bytes()).hexdigest()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
