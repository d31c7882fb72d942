"""Measure trustcode's classifier on CAP-coded State of the Union sentences (see README.md).

Run from the repository:  python benchmarks/cap_sotu/run.py [--seeds 0 1 2] [--sizes 100 500 ...]
[--embeddings muse [--embedding-cache FILE.npz]] [--no-definitions]

For each seed, 3 of the 12 speeches are held out as test speeches (split by speech, never by
sentence); training sentences are drawn at random from the other speeches, a model is trained with
``trustcode.classify.train_model`` for this folder's exclusive codebook, and the test speeches are
coded: macro-F1 (over the topics in the test gold or the predictions, as scikit-learn counts it) and
accuracy. The table gives mean +- sd over seeds beside the published figures of SOURCE.md.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "benchmarks" / "cap_sotu" / "sotu_dev.csv"

#: CAP's topic names in the data -> the codebook's ids
TOPIC_IDS = {
    "Macroeconomics": "macroeconomics",
    "Civil Rights": "civil_rights",
    "Health": "health",
    "Agriculture": "agriculture",
    "Labor": "labor",
    "Education": "education",
    "Environment": "environment",
    "Energy": "energy",
    "Immigration": "immigration",
    "Transportation": "transportation",
    "Law and Crime": "law_and_crime",
    "Social Welfare": "social_welfare",
    "Housing": "housing",
    "Domestic Commerce": "domestic_commerce",
    "Defense": "defense",
    "Technology": "technology",
    "Foreign Trade": "foreign_trade",
    "International Affairs": "international_affairs",
    "Government Operations": "government_operations",
    "Public Lands": "public_lands",
    "Culture": "culture",
    "Other": "other",
}

#: Laurer et al. (2023), table D4: macro-F1 on their 23-speech test split, mean of 3 seeds
PUBLISHED = {
    100: (0.181, 0.218, 0.197, 0.448),
    500: (0.319, 0.384, 0.426, 0.536),
    1000: (0.361, 0.430, 0.491, 0.563),
    2500: (0.380, 0.501, 0.624, 0.567),
}
PUBLISHED_NAMES = ("LR TF-IDF", "LR embeddings", "DeBERTa-ft", "DeBERTa-NLI")


def read_data(path: Path) -> pd.DataFrame:
    """The sentences with a ``topic`` column of codebook ids; unknown labels are an error."""
    data = pd.read_csv(path)
    unknown = sorted(set(data["code"]) - set(TOPIC_IDS))
    if unknown:
        raise SystemExit(f"{path}: topic labels not in the CAP codebook: {', '.join(unknown)}")
    data["topic"] = data["code"].map(TOPIC_IDS)
    data["doc_id"] = data["doc_id"].astype(str)
    return data


def split(data: pd.DataFrame, seed: int, n_test: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train and test speeches for one seed: ``n_test`` whole speeches are held out."""
    speeches = sorted(data["doc_id"].unique(), key=int)
    rng = np.random.default_rng(seed)
    test = set(rng.choice(speeches, size=n_test, replace=False))
    return data[~data["doc_id"].isin(test)], data[data["doc_id"].isin(test)]


def run_one(
    train: pd.DataFrame, test: pd.DataFrame, codebook, size: int, seed: int, params: dict
) -> dict:
    from sklearn.metrics import accuracy_score, f1_score

    from trustcode.classify import train_model
    from trustcode.errors import TrustcodeWarning

    rng = np.random.default_rng(1000 + seed)  # the sample differs from the speech draw
    take = np.sort(rng.choice(len(train), size=min(size, len(train)), replace=False))
    sample = train.iloc[take]
    gold = pd.DataFrame(
        {
            "doc_id": sample["doc_id"].to_numpy(),
            "text": sample["text"].to_numpy(),
            "codes": [(topic,) for topic in sample["topic"]],
        }
    )
    started = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TrustcodeWarning)
        model = train_model(gold, codebook, **params)
    predicted = [found[0] for found in model.predict(test["text"].tolist())]
    seconds = time.perf_counter() - started
    truth = test["topic"].tolist()
    return {
        "size": size,
        "seed": seed,
        "used": len(sample),
        "seconds": seconds,
        "macro_f1": f1_score(truth, predicted, average="macro", zero_division=0),
        "accuracy": accuracy_score(truth, predicted),
        "untrained_topics": sum("gets no classifier" in str(w.message) for w in caught),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="the CAP State of the Union CSV (default: ../shared/benchmarks/...)",
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 500, 1000, 2500])
    parser.add_argument("--test-speeches", type=int, default=3)
    parser.add_argument(
        "--embeddings",
        choices=["muse"],
        default=None,
        help="add sentence embeddings (needs trustcode[embeddings])",
    )
    parser.add_argument(
        "--embedding-cache",
        type=Path,
        default=None,
        help="an .npz file of encoded sentences: read if it exists, written after",
    )
    parser.add_argument(
        "--definitions",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="learn from the codebook's labels and definitions too, as "
        "train_model does by default (--no-definitions: gold alone)",
    )
    args = parser.parse_args(argv)
    if len(args.seeds) < 2:
        parser.error("give at least 2 seeds: the table reports mean +- sd")

    from trustcode.codebook import load_codebook
    from trustcode.errors import TrustcodeWarning

    with warnings.catch_warnings():
        # the topics have no rules and no examples on purpose: the classifier alone is measured
        warnings.simplefilter("ignore", TrustcodeWarning)
        codebook = load_codebook(HERE / "codebook.yaml")
    data = read_data(args.data)
    # every topic is classifier-only here (no rules to fall back on): train even rare ones
    params: dict = {"min_positives": 1}
    if args.embeddings:
        params["embeddings"] = args.embeddings
        if args.embedding_cache is not None and args.embedding_cache.is_file():
            from trustcode.embeddings import load_cache

            load_cache(args.embedding_cache)
    params["definitions"] = args.definitions
    started = time.perf_counter()
    rows = []
    for seed in args.seeds:
        train, test = split(data, seed, args.test_speeches)
        for size in args.sizes:
            row = run_one(train, test, codebook, size, seed, params)
            row["test_sentences"] = len(test)
            rows.append(row)
            print(
                f"seed {seed}, {size:>5} asked, {row['used']:>5} used, "
                f"{len(test)} test sentences: macro-F1 {row['macro_f1']:.3f}, "
                f"accuracy {row['accuracy']:.3f}, {row['untrained_topics']} topics without "
                f"training sentences, {row['seconds']:.1f} s",
                file=sys.stderr,
                flush=True,
            )
    results = pd.DataFrame(rows)
    if args.embeddings and args.embedding_cache is not None:
        from trustcode.embeddings import save_cache

        save_cache(args.embedding_cache)

    print(
        f"CAP State of the Union, {data['doc_id'].nunique()} speeches, {len(data)} sentences; "
        f"{args.test_speeches} test speeches per seed, seeds {args.seeds}"
    )
    print(f"trustcode classifier, parameters {params} + defaults; mean +- sd over seeds")
    header = ["train", "used (min-max)", "macro-F1", "accuracy", *PUBLISHED_NAMES, "s/run"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for size, part in results.groupby("size", sort=True):
        used = f"{part['used'].min()}-{part['used'].max()}"
        published = PUBLISHED.get(int(size), ("",) * len(PUBLISHED_NAMES))
        cells = [
            f"{size:,}",
            used,
            f"{part['macro_f1'].mean():.3f} +- {part['macro_f1'].std(ddof=1):.3f}",
            f"{part['accuracy'].mean():.3f} +- {part['accuracy'].std(ddof=1):.3f}",
            *[f"{v:.3f}" if v != "" else "" for v in published],
            f"{part['seconds'].mean():.1f}",
        ]
        print("| " + " | ".join(cells) + " |")
    short = results[results["used"] < results["size"]]
    if not short.empty:
        print(
            f"Fewer training sentences than asked: {len(short)} run(s) used all their train "
            "speeches hold (see 'used')."
        )
    print(f"total time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
