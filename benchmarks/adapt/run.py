"""The review loop, simulated: how much a researcher's review teaches a model about new material.

Run from the repository, with ../shared beside it:

    python benchmarks/adapt/run.py                       # every case, 10 random seeds
    python benchmarks/adapt/run.py --keep /tmp/adapt     # keep (and reuse) the base models
    python benchmarks/adapt/run.py --weights 1 3 5 10 30 # measure the adaptation weight

Each case holds part of the gold (corpus/gold/coding) out: one document, or one language (the
base then learns from the other language only, the illustrative passages of the held-out
language left out too). A base model is trained the default way (gold plus corpus/illustrative)
without it: the held-out part is the researcher's own material. The base writes its review
sheet's order (``code --review``, :func:`review_order`); a simulated researcher reviews the
first N rows, deciding every code as the gold says, and the base is adapted to them (``train
review.xlsx --base BASE``, the same function). Krippendorff's alpha (micro, rules plus
classifier combined) is measured on the held-out passages not reviewed. A size N is measured
only while at least :data:`MIN_REST` passages are left to measure on.

Beside the sheet: N passages chosen at random (``--seeds`` seeds: their mean, their standard
deviation, and how many seeds the sheet beat); the unadapted base on the passages the sheet's
rounds leave ("base"); the gain of adapting over the unadapted base on the same passages, for
the sheet's choice and for random choice (mean over seeds): alpha on different rests differs
with what is left, and the gain says what the choice taught; and a second round (40 reviewed
and adapted to, then 40 more from the adapted model's new sheet). Nothing touches the network.
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
#: a size is measured only while this many held-out passages are left to measure alpha on
MIN_REST = 50


class Judge:
    """Micro alpha (rules plus classifier combined) of a model on any subset of one held-out
    part: the part is coded once per model, and the subsets are read from its predictions (a
    passage's coding does not depend on the other passages)."""

    def __init__(self, part, codebook) -> None:
        from trustcode.rules import RuleSet

        self.part = part.reset_index(drop=True)
        self.codebook = codebook
        self.rules = RuleSet(codebook)
        self.codes = [c.id for c in codebook.leaf_codes]
        self._cache: dict[int, tuple[np.ndarray, np.ndarray, object]] = {}

    def matrices(self, model) -> tuple[np.ndarray, np.ndarray]:
        from trustcode.evaluate import evaluate

        key = id(model)
        if key not in self._cache:
            result = evaluate(self.part, self.codebook, model=model, rules=self.rules)
            pred = result.predictions
            truth = np.array([[c in found for c in self.codes] for found in pred["gold"]])
            said = np.array([[c in found for c in self.codes] for found in pred["combined"]])
            self._cache[key] = (truth, said, model)  # the model kept: its id stays its own
        truth, said, _ = self._cache[key]
        return truth, said

    def forget(self, model) -> None:
        self._cache.pop(id(model), None)

    def alpha(self, model, rows) -> float:
        from trustcode.evaluate import metric_rows

        truth, said = self.matrices(model)
        rows = np.asarray(rows, dtype=np.int64)
        found = metric_rows(truth[rows], said[rows], self.codes)
        return float(next(r["alpha"] for r in found if r["code"] == "micro"))


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


def _order(model, part, size: int, codebook) -> list[int]:
    """The rows of ``part`` in the order its review sheet lists them (the rules' codes as the
    run's codings carry them)."""
    from trustcode.classify.adapting import rule_flags
    from trustcode.review.selection import review_order

    rules = rule_flags(part, codebook, list(model.classifier_codes_))
    return review_order(
        model, list(part["text"]), list(part["doc_id"]), list(part["language"]), size, rules
    )[0]


def targets(gold) -> dict[str, object]:
    """What a simulated researcher brings (mask over the gold; the base is trained without
    every passage the mask holds): each gold document large enough to review 40 passages and
    measure on the rest, and each language."""
    real = gold["coder"] != "illustrative"
    cases: dict[str, object] = {}
    sizes = gold[real].groupby("doc_id").size()
    for doc_id, count in sizes.items():
        if count >= 40 + MIN_REST:
            language = gold.loc[gold["doc_id"] == doc_id, "language"].iloc[0]
            cases[f"document {doc_id[:24]} ({language})"] = gold["doc_id"] == doc_id
    for language in sorted(set(gold.loc[real, "language"])):
        cases[f"language {language}"] = gold["language"] == language
    return cases


def _measured(value) -> bool:
    return value is not None and not np.isnan(value)


def _row(values) -> str:
    return " ".join(f"{v:6.3f}" if _measured(v) else "     -" for v in values)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, default=None, help="keep the base models here")
    parser.add_argument(
        "--weights",
        nargs="*",
        default=None,
        help="adaptation weights to compare (default: the shipped one)",
    )
    parser.add_argument(
        "--cases", nargs="*", default=None, help="only these cases ('language ru', ...)"
    )
    parser.add_argument("--seeds", type=int, default=10, help="random choices per size")
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
    gold = read_gold(
        ["corpus/gold/coding", "corpus/illustrative"],
        codebook=codebook,
        documents=["corpus", "../shared/corpus-sources"],
    )
    real = (gold["coder"] != "illustrative").to_numpy()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    weights = [float(w) for w in (args.weights or [ADAPT_WEIGHT])]
    head = " ".join(f"{n:>6}" for n in SIZES)
    print(f"{'held out':<42} {'w':>4} {'chosen by':<10} {head}  40+40", flush=True)
    table: dict[tuple[float, str, str], list[float | None]] = {}
    wins: dict[float, list[tuple[int, int]]] = {}
    for name, mask in targets(gold).items():
        if args.cases and name not in args.cases:
            continue
        mask = np.asarray(mask, dtype=bool)
        file_name = name.replace(" ", "-").replace("(", "").replace(")", "")
        base = _base(gold, file_name, mask, codebook, args.keep)
        part = gold[mask & real].reset_index(drop=True)
        judge = Judge(part, codebook)
        sizes = [n for n in SIZES if len(part) - n >= MIN_REST]
        order = _order(base, part, max(sizes), codebook)
        seeds = [
            list(np.random.default_rng(seed).permutation(len(part))) for seed in range(args.seeds)
        ]
        for weight in weights:

            def adapted_alpha(chosen, n, judge=judge, base=base, part=part, weight=weight):
                if not n:
                    return judge.alpha(base, chosen)
                model = adapt_model(base, part.iloc[chosen[:n]], codebook, weight=weight)
                value = judge.alpha(model, chosen[n:])
                judge.forget(model)
                return value

            sheet = [adapted_alpha(order, n) if n in sizes else None for n in SIZES]
            random = np.array(
                [
                    [adapted_alpha(list(s), n) if n in sizes else np.nan for n in SIZES]
                    for s in seeds
                ]
            )
            mean, spread = random.mean(axis=0), random.std(axis=0, ddof=1)
            # the unadapted base on each random choice's rest: what the choice itself taught
            random_base = np.array(
                [
                    [judge.alpha(base, list(s)[n:]) if n in sizes else np.nan for n in SIZES]
                    for s in seeds
                ]
            ).mean(axis=0)
            beaten = [
                int((random[:, k] < sheet[k]).sum()) if n in sizes and n else None
                for k, n in enumerate(SIZES)
            ]
            started = time.perf_counter()
            first = adapt_model(base, part.iloc[order[:40]], codebook, weight=weight)
            took = time.perf_counter() - started
            remaining = part.iloc[order[40:]].reset_index(drop=True)
            again = _order(first, remaining, 40, codebook)
            second_model = adapt_model(first, remaining.iloc[again[:40]], codebook, weight=weight)
            second = (
                Judge(remaining, codebook).alpha(second_model, again[40:])
                if len(part) - 80 >= MIN_REST
                else float("nan")
            )
            base_row = [judge.alpha(base, order[n:]) if n in sizes else None for n in SIZES]
            sheet_gain = [
                None if v is None else v - b for v, b in zip(sheet, base_row, strict=True)
            ]
            random_gain = list(mean - random_base)
            for label, values in (
                ("sheet", sheet),
                ("random", list(mean)),
                ("random sd", list(spread)),
                ("base", base_row),
                ("sheet gain", sheet_gain),
                ("random gain", random_gain),
            ):
                table[(weight, name, label)] = values
            for k, n in enumerate(SIZES):
                if n and n in sizes:
                    wins.setdefault(weight, []).append((int(sheet[k] > mean[k]), 1))
            print(f"{name:<42} {weight:>4g} {'sheet':<10} {_row(sheet)}  {_row([second])}")
            print(f"{'':<42} {weight:>4g} {'random':<10} {_row(mean)}")
            print(f"{'':<42} {weight:>4g} {'random sd':<10} {_row(spread)}")
            print(
                f"{'':<42} {weight:>4g} {'seeds won':<10} "
                + " ".join("     -" if b is None else f"{b:>3}/{args.seeds:<2}" for b in beaten)
            )
            print(
                f"{'':<42} {weight:>4g} {'base':<10} {_row(base_row)}"
                f"   (adapting to 40: {took:.2f} s)"
            )
            print(f"{'':<42} {weight:>4g} {'sheet gain':<10} {_row(sheet_gain)}")
            print(f"{'':<42} {weight:>4g} {'rand. gain':<10} {_row(random_gain)}", flush=True)
    sheets = [v for (w, _, lab), v in table.items() if lab == "sheet" and w == weights[0]]
    counted = [sum(1 for v in sheets if v[k] is not None) for k in range(len(SIZES))]
    print(
        "\nmean over the cases measured at each size (cases: "
        + ", ".join(f"{n}: {c}" for n, c in zip(SIZES, counted, strict=True))
        + ")"
    )
    for weight in weights:
        for label in ("sheet", "random", "base", "sheet gain", "random gain"):
            rows = [v for (w, _, lab), v in table.items() if w == weight and lab == label]
            means = [np.mean([r[k] for r in rows if _measured(r[k])]) for k in range(len(SIZES))]
            print(f"{'':<42} {weight:>4g} {label:<10} {_row(means)}")
        won = wins.get(weight, [])
        print(
            f"{'':<42} {weight:>4g} sheet above the random mean in {sum(w for w, _ in won)} "
            f"of {len(won)} (case, size) cells"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
