"""How well trustcode's default training carries over to text it never saw.

Run from the repository, with ../shared beside it:

    python benchmarks/generalization/run.py            # everything (about 10 minutes)
    python benchmarks/generalization/run.py --quick    # by document and unrelated text only
    python benchmarks/generalization/run.py --embeddings muse   # with the sentence encoder

It measures the default training (the gold of corpus/gold/coding plus the passages written for
the codebook in corpus/illustrative, which are trained on and never tested on) four ways:

- cross-validation grouped by document (no passage of a test document is trained on);
- cross-genre: trained on the NGO reports, tested on the analytical article, and the reverse
  (``evaluate --group-by group``);
- cross-language: trained on the English documents, tested on the Russian ones, and the reverse
  (``evaluate --group-by language``);
- restraint on unrelated prose: the model trained on everything codes the English and Russian
  paragraphs of ../shared/corpus-unrelated (never trained on); the share of paragraphs that get
  a code from the classifier alone, any code, and the share of cited evidence that is stop words.

Each line gives micro-F1, macro-F1 and Krippendorff's alpha (micro) for rules alone, the
classifier alone and both combined. Nothing touches the network.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"


def _line(label: str, result) -> str:
    metrics = result.metrics[result.metrics["language"] == "all"].set_index(["system", "code"])
    parts = []
    for system in ("rules", "classifier", "combined"):
        micro, macro = metrics.loc[(system, "micro")], metrics.loc[(system, "macro")]
        parts.append(f"{system} {micro['f1']:.3f} / {macro['f1']:.3f} / {micro['alpha']:.3f}")
    return f"{label:<34} " + " | ".join(parts)


def unrelated(model, codebook) -> list[str]:
    import pandas as pd

    from trustcode.classify import stop_words_for
    from trustcode.pipeline import Coder
    from trustcode.types import Document

    stop = set(stop_words_for(["en", "ru"]))
    coder = Coder(codebook, model=model)
    lines = []
    for language in ("en", "ru"):
        texts = pd.read_csv(SHARED / "corpus-unrelated" / f"unrelated_{language}.csv")["text"]
        classifier_only = any_code = 0
        cited: list[str] = []
        for i, text in enumerate(texts.astype(str)):
            coded = coder.code_document(Document(f"u{i}", text, language=language)).codings
            any_code += bool(coded)
            classifier_only += any(c.source == "classifier" for c in coded)
            for coding in coded:
                if "classifier" in coding.source:
                    cited += re.findall(r"'([^']+)'", coding.evidence)
        stopped = [f for f in cited if all(w in stop for w in re.findall(r"\w\w+", f.lower()))]
        n = len(texts)
        lines.append(
            f"unrelated {language} ({n} paragraphs): classifier only {classifier_only / n:.1%}, "
            f"any code {any_code / n:.1%}; evidence cited {len(cited)}, stop words "
            f"{len(stopped) / max(len(cited), 1):.1%}"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="by document and unrelated only")
    parser.add_argument(
        "--embeddings",
        default=None,
        metavar="NAME",
        help="add a sentence encoder's features (needs trustcode[embeddings])",
    )
    args = parser.parse_args()
    if not (SHARED / "corpus-sources").is_dir():
        print(f"needs {SHARED}/corpus-sources beside the repository", file=sys.stderr)
        return 2
    warnings.simplefilter("ignore")
    from trustcode.classify import train_model
    from trustcode.codebook import load_codebook
    from trustcode.evaluate import evaluate
    from trustcode.gold import read_gold

    codebook = load_codebook(REPO / "codebook.yaml")
    gold = read_gold(
        [REPO / "corpus" / "gold" / "coding", REPO / "corpus" / "illustrative"],
        codebook=codebook,
        documents=[REPO / "corpus", SHARED / "corpus-sources"],
    )
    params = {"embeddings": args.embeddings} if args.embeddings else {}
    print("micro-F1 / macro-F1 / alpha, for rules | classifier | combined", params)
    runs = [("by document (5 folds)", None)]
    if not args.quick:
        runs += [
            ("by group (reports <-> article)", "group"),
            ("by language (en <-> ru)", "language"),
        ]
    for label, group_by in runs:
        started = time.perf_counter()
        result = evaluate(gold, codebook, group_by=group_by, train_params=params)
        print(_line(label, result), f"({time.perf_counter() - started:.0f} s)", flush=True)
    model = train_model(gold, codebook, **params)
    for line in unrelated(model, codebook):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
