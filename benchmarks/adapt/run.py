"""The review loop, simulated: how much a researcher's review teaches a model about new material.

Run from the repository, with ../shared beside it:

    python benchmarks/adapt/run.py                       # every document held out in turn
    python benchmarks/adapt/run.py --keep /tmp/adapt     # keep (and reuse) the base models
    python benchmarks/adapt/run.py --weights 1 3 5 10 30 # measure the adaptation weight

For each gold document D of corpus/gold/coding, a base model is trained the default way (gold
plus corpus/illustrative) without D: D is the researcher's own material. The base codes D and
writes its review sheet's order (``code --review``); a simulated researcher reviews the first N
rows (N = 0, 20, 40, 80, 160), deciding every code as the gold says, and the base is adapted to
them (``train review.xlsx --base BASE``, the same function). Krippendorff's alpha (micro, rules
plus classifier combined) is measured on D's passages not reviewed. Beside it: N passages of D
chosen at random (the mean of three seeds); the unadapted base on the passages the sheet's
rounds leave ("base"); and a second round (40 reviewed and adapted to, then 40 more from the
adapted model's new sheet). Nothing touches the network.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
SIZES = (0, 20, 40, 80, 160)


def _alpha(model, gold, codebook) -> float:
    from trustcode.evaluate import evaluate

    result = evaluate(gold.reset_index(drop=True), codebook, model=model)
    metrics = result.metrics.set_index(["system", "language", "code"])
    return float(metrics.loc[("combined", "all", "micro"), "alpha"])


def _base(gold, name: str, held_out, codebook, keep: Path | None):
    """The default training without the held-out passages (cached in ``keep``)."""
    from trustcode.classify import load_model, save_model, train_model

    path = keep / f"base-without-{name}.skops" if keep else None
    if path is not None and path.is_file():
        return load_model(path, codebook)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = train_model(gold[~held_out], codebook)
    if path is not None:
        save_model(model, path, codebook)
    return model


def _order(model, part, size: int) -> list[int]:
    """The rows of ``part`` in the order its review sheet lists them."""
    from trustcode.review.selection import review_order

    return review_order(model, list(part["text"]), list(part["doc_id"]),
                        list(part["language"]), size)[0]


def targets(gold) -> dict[str, object]:
    """What a simulated researcher brings: the largest document, and the Russian texts (the
    base then learns from English only, the illustrative Russian passages left out too)."""
    real = gold["coder"] != "illustrative"
    return {
        "document ovdinfo_2012 (en)":
            gold["doc_id"] == "ovdinfo_2012_political_arrests_moscow_en",
        "language ru": gold["language"] == "ru",
    }, real


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, default=None, help="keep the base models here")
    parser.add_argument("--weights", type=float, nargs="*", default=None,
                        help="adaptation weights to compare (default: the shipped one)")
    parser.add_argument("--docs", nargs="*", default=None,
                        help="only these of what is held out ('language ru', ...)")
    args = parser.parse_args()
    if not (SHARED / "corpus-sources").is_dir():
        print("needs ../shared/corpus-sources beside the repository", file=sys.stderr)
        return 1
    import os

    os.chdir(REPO)
    from trustcode.classify import ADAPT_WEIGHT, adapt_model
    from trustcode.codebook import load_codebook
    from trustcode.gold import read_gold

    codebook = load_codebook("codebook.yaml")
    gold = read_gold(["corpus/gold/coding", "corpus/illustrative"], codebook=codebook,
                     documents=["corpus", "../shared/corpus-sources"])
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    held, real = targets(gold)
    weights = args.weights or [ADAPT_WEIGHT]
    print(f"{'held out':<28} {'w':>4} {'chosen by':<8} " + " ".join(f"{n:>6}" for n in SIZES)
          + "  40+40")
    totals: dict[tuple[float, str], list[list[float]]] = {}
    for name, mask in held.items():
        if args.docs and name not in args.docs:
            continue
        base = _base(gold, name.replace(" ", "-"), mask, codebook, args.keep)
        part = gold[mask & real].reset_index(drop=True)
        order = _order(base, part, max(SIZES))
        rng_orders = [list(np.random.default_rng(seed).permutation(len(part)))
                      for seed in range(3)]
        for weight in weights:
            for label, orders in (("sheet", [order]), ("random", rng_orders)):
                row = []
                for n in SIZES:
                    values = []
                    for chosen in orders:
                        reviewed, rest = part.iloc[chosen[:n]], part.iloc[chosen[n:]]
                        model = base
                        if n:
                            started = time.perf_counter()
                            model = adapt_model(base, reviewed, codebook, weight=weight)
                            took = time.perf_counter() - started
                            if n == max(SIZES) and label == "sheet":
                                print(f"  adapting to {n} passages took {took:.1f} s")
                        values.append(_alpha(model, rest, codebook))
                    row.append(float(np.mean(values)))
                # a second round: 40 reviewed and adapted to, then 40 more from the new sheet
                second = float("nan")
                if label == "sheet":
                    first = adapt_model(base, part.iloc[order[:40]], codebook, weight=weight)
                    remaining = part.iloc[order[40:]].reset_index(drop=True)
                    again = _order(first, remaining, 40)
                    adapted = adapt_model(first, remaining.iloc[again[:40]], codebook,
                                          weight=weight)
                    second = _alpha(adapted, remaining.iloc[again[40:]], codebook)
                totals.setdefault((weight, label), []).append(row)
                print(f"{name:<28} {weight:>4g} {label:<8} "
                      + " ".join(f"{v:6.3f}" for v in row) + f"  {second:6.3f}", flush=True)
            # the unadapted base on the same passages the sheet's rounds leave
            row = [_alpha(base, part.iloc[order[n:]], codebook) for n in SIZES]
            totals.setdefault((weight, "base"), []).append(row)
            print(f"{name:<28} {weight:>4g} {'base':<8} "
                  + " ".join(f"{v:6.3f}" for v in row), flush=True)
    print("\nmean over what was held out")
    for (weight, label), rows in totals.items():
        mean = np.mean(np.array(rows), axis=0)
        print(f"{'':<28} {weight:>4g} {label:<8} " + " ".join(f"{v:6.3f}" for v in mean))
    return 0


if __name__ == "__main__":
    sys.exit(main())
