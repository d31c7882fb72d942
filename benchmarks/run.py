"""trustcode's speed and scale benchmark; see benchmarks/README.md.

    python benchmarks/run.py            # 20 MB corpus; memory at 20 MB vs 200 MB
    python benchmarks/run.py --quick    # 5 MB corpus; memory at 2 MB vs 20 MB (a few minutes)
    python benchmarks/run.py --repeat 3 # each timing the best of 3 interleaved rounds

It builds a deterministic corpus in a temporary folder from the texts in ``corpus/`` and
``../shared/corpus-sources/`` (paragraphs repeated and shuffled with a fixed seed into documents
of realistic size; nothing is written into the repository), then measures each configuration in
a fresh subprocess, so that each one's peak memory (``ru_maxrss``) is its own. Every target is
printed with PASS or FAIL and the measured ratio. With ``--repeat N`` the configurations run in
N rounds, one of each per round, and each keeps its fastest round: on a shared machine a burst
of someone else's work then slows one round of one configuration, not the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SOURCES = [REPO / "corpus", REPO.parent / "shared" / "corpus-sources"]
SEED = 20240611

#: configurations measured on the main corpus, in the order printed
CONFIGS = {
    "a": "spaCy blank tokenizer (nlp.pipe), the floor",
    "b": "pandas str.contains, one regex per code",
    "c": "trustcode, rules only, Parquet",
    "d": "trustcode, rules + classifier, Parquet",
    "e": "trustcode, rules + classifier, --jobs 2",
    "f": "trustcode code (CLI): the whole process",
}


# --- the corpus -------------------------------------------------------------------------------


def _paragraphs() -> dict[str, list[str]]:
    """The sources' paragraphs by language (read as trustcode reads them)."""
    from trustcode.io.readers import read_corpus

    by_language: dict[str, list[str]] = {}
    seen: set[str] = set()
    for folder in SOURCES:
        if not folder.is_dir():
            continue
        for document in read_corpus(folder):
            if document.doc_id in seen:  # the article is in both folders
                continue
            seen.add(document.doc_id)
            language = document.language or "en"
            paragraphs = [p.strip() for p in re.split(r"\n\s*\n", document.text) if p.strip()]
            by_language.setdefault(language, []).extend(p for p in paragraphs if len(p) > 40)
    if not by_language:
        sys.exit(f"No source texts found in {', '.join(map(str, SOURCES))}.")
    return by_language


def build_corpus(folder: Path, megabytes: float, seed: int = SEED) -> Path:
    """Write ``megabytes`` of .txt documents (8-60 KB each, one language each) into ``folder``."""
    rng = random.Random(seed)
    by_language = _paragraphs()
    languages = sorted(by_language)
    folder.mkdir(parents=True, exist_ok=True)
    target = int(megabytes * 1_000_000)
    total = 0
    number = 0
    while total < target:
        language = languages[number % len(languages)]
        pool = by_language[language]
        size = rng.randint(8_000, 60_000)
        parts: list[str] = []
        length = 0
        while length < size:
            paragraph = rng.choice(pool)
            parts.append(paragraph)
            length += len(paragraph.encode("utf-8")) + 2
        data = ("\n\n".join(parts) + "\n").encode("utf-8")
        (folder / f"doc-{number:06d}-{language}.txt").write_bytes(data)
        total += len(data)
        number += 1
    return folder


def synthetic_codebook(path: Path, entries: int, real: int | None = None, seed: int = SEED) -> Path:
    """A codebook of ``entries`` dictionary entries (half globs, 30% phrases, 20% lemmas), in
    codes of 25 entries, like an imported LIWC-size dictionary. The first ``real`` entries (all,
    by default) are drawn from the sources' words; the others are made-up words of the same
    letters, which cost the engine as much to hold but (almost) never match."""
    import yaml

    rng = random.Random(seed)
    made_up = random.Random(seed + 1)

    def fake(language: str, n: int, size: int = 1) -> list[str]:
        letters = sorted({ch for w in words[language] for ch in w})
        return [
            " ".join(
                "".join(made_up.choices(letters, k=made_up.randint(6, 10))) for _ in range(size)
            )
            for _ in range(n)
        ]

    words: dict[str, list[str]] = {}
    pairs: dict[str, list[str]] = {}
    for language, paragraphs in _paragraphs().items():
        tokens = [w.lower() for p in paragraphs for w in re.findall(r"[^\W\d_]{4,}", p)]
        words[language] = sorted(set(tokens))
        pairs[language] = sorted({f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)})
    codes = []
    per_code = 25  # two codes (one per language) make the 50-entry codebook
    for c in range(max(1, entries // per_code)):
        n = min(per_code, entries - c * per_code)
        language = sorted(words)[c % len(words)]
        n_globs, n_phrases = n // 2, (n * 3) // 10
        n_lemmas = n - n_globs - n_phrases
        if real is not None and c * per_code >= real:
            picked = fake(language, n_globs)
            phrases = fake(language, n_phrases, size=2)
            lemmas = fake(language, n_lemmas)
        else:
            picked = rng.sample(words[language], n_globs)
            phrases = rng.sample(pairs[language], n_phrases)
            lemmas = rng.sample(words[language], n_lemmas)
        globs = sorted({w[: max(4, len(w) - 2)] + "*" for w in picked})
        rules = [{"lang": language, "globs": globs}, {"lang": language, "phrases": phrases}]
        if lemmas:
            rules.append({"lang": language, "lemmas": lemmas})
        codes.append({"id": f"c{c:03d}", "label": f"Code {c}", "rules": rules})
    book = {"name": f"synthetic {entries}", "languages": sorted(words), "codes": codes}
    path.write_text(yaml.safe_dump(book, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


# --- one measurement, in its own process ------------------------------------------------------


def _passages(corpus: Path) -> list[tuple[str, str]]:
    """(language, text) of every paragraph passage of the corpus, as trustcode cuts them."""
    from trustcode.io.readers import read_corpus
    from trustcode.segment import parse_unit, segment

    unit = parse_unit("paragraph")
    return [
        (doc.language or "en", p.text) for doc in read_corpus(corpus) for p in segment(doc, unit)
    ]


def _glob_body(term: str) -> str:
    return "".join(
        r"\w*" if ch == "*" else r"\w" if ch == "?" else r"\s+" if ch.isspace() else re.escape(ch)
        for ch in term.strip()
    )


def _worker(name: str, corpus: Path, scratch: Path, codebook: str | None) -> dict[str, float]:
    """Run one configuration; seconds exclude interpreter start-up and (a, b) reading."""
    result: dict[str, float] = {}
    if name in ("a", "b"):
        passages = _passages(corpus)
        result["words"] = sum(len(text.split()) for _, text in passages)
    if name == "a":
        from trustcode.nlp import tokenizer

        by_language: dict[str, list[str]] = {}
        for language, text in passages:
            by_language.setdefault(language, []).append(text)
        nlps = {language: tokenizer(language) for language in by_language}
        start, cpu = time.perf_counter(), _cpu()
        tokens = 0
        for language, texts in by_language.items():
            tokens += sum(len(doc) for doc in nlps[language].pipe(texts))
        result["seconds"], result["cpu"] = time.perf_counter() - start, _cpu() - cpu
        result["tokens"] = tokens
    elif name == "b":
        import pandas as pd

        from trustcode.codebook import load_codebook

        book = load_codebook(codebook)
        start, cpu = time.perf_counter(), _cpu()
        frame = pd.DataFrame({"text": [text for _, text in passages]})
        for code in book.leaf_codes:
            terms = [
                _glob_body(t)
                for r in code.rules
                if r.kind in ("phrases", "globs") and not r.veto
                for t in r.terms
                if t.strip()
            ]
            if terms:
                pattern = r"(?<!\w)(?:" + "|".join(terms) + r")(?!\w)"
                frame[code.id] = frame["text"].str.contains(pattern, case=False, regex=True)
        result["seconds"], result["cpu"] = time.perf_counter() - start, _cpu() - cpu
    else:
        # the libraries are imported first, as (a) imports spaCy before its clock starts: the
        # interpreter's start-up is the cold-start check's business, not throughput's
        import sklearn.linear_model  # noqa: F401
        import spacy  # noqa: F401

        import trustcode
        import trustcode.pipeline  # noqa: F401

        model = None if name == "c" else "default"
        jobs = 2 if name == "e" else 1
        start, cpu = time.perf_counter(), _cpu()
        trustcode.code_corpus(
            corpus,
            codebook=codebook,
            model=model,
            jobs=jobs,
            output=scratch / f"{name}-{os.getpid()}.parquet",
        )
        result["seconds"], result["cpu"] = time.perf_counter() - start, _cpu() - cpu
    # Linux reports ru_maxrss in KiB; the children are --jobs worker processes
    result["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["children_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return result


def _codebook_worker(corpus: Path, codebook: str) -> dict[str, float]:
    """Compile a codebook's rules and match them on the corpus's passages."""
    from trustcode.codebook import load_codebook
    from trustcode.rules import RuleSet
    from trustcode.types import Passage

    passages = _passages(corpus)
    by_language: dict[str, list[Passage]] = {}
    for i, (language, text) in enumerate(passages):
        by_language.setdefault(language, []).append(Passage("d", i, 0, len(text), text))
    start = time.perf_counter()
    ruleset = RuleSet(load_codebook(codebook))
    for language in by_language:
        ruleset.prepare(language)
    compiled = time.perf_counter()
    hits = 0
    for language, items in by_language.items():
        for i in range(0, len(items), 64):  # batches, as the pipeline passes one document
            hits += sum(map(len, ruleset.match(items[i : i + 64], language)))
    done = time.perf_counter()
    return {
        "compile": compiled - start,
        "match": done - compiled,
        "seconds": done - start,
        "hits": hits,
    }


def _whole_process(corpus: Path, scratch: Path, codebook: str | None) -> dict[str, float]:
    """``trustcode code`` as a user runs it, timed from outside: the interpreter's start-up,
    imports, reading, coding and writing Parquet (rules + the default model)."""
    import resource

    command = [
        sys.executable,
        "-m",
        "trustcode.cli",
        "code",
        str(corpus),
        "-o",
        str(scratch / "f.parquet"),
        "-q",
        "--force",
    ]
    if codebook:
        command += ["-c", codebook]
    start, cpu = time.perf_counter(), _cpu()
    subprocess.run(
        command, check=True, capture_output=True, env={**os.environ, "PYTHONWARNINGS": "ignore"}
    )
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"seconds": seconds, "cpu": _cpu() - cpu, "rss_mb": peak, "children_rss_mb": 0.0}


def _cpu() -> float:
    """CPU seconds of this process and of its children that have ended (user + system): on a
    machine others share, a configuration's CPU time moves far less than its wall clock."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _hits_worker() -> dict[str, Any]:
    """A hash of every rule hit of the shipped codebook on ``corpus/`` and ``../shared``'s
    texts, with regexes on RE2 where it runs them and all on Python's engine: they must be
    equal, and equal to the hash measured before RE2 came (benchmarks/README.md)."""

    from trustcode.codebook import load_codebook
    from trustcode.rules import RuleSet, hits_digest

    try:
        from trustcode.rules import linear
    except ImportError:  # a trustcode from before RE2: its one engine
        linear = None

    texts = []
    for folder in SOURCES:
        for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
            if path.suffix in (".txt", ".md"):
                text = path.read_text(encoding="utf-8", errors="replace")
                texts += [p for p in re.split(r"\n\s*\n", text) if p.strip()]

    def digest() -> tuple[str, int]:
        return hits_digest(RuleSet(load_codebook()), texts)

    on_re2, count = digest()
    re2 = linear is not None and linear.re2_module() is not None
    if linear is not None:
        linear.re2_module = lambda: None  # this process only: every regex on Python's engine
    on_python, _ = digest()
    return {
        "re2": on_re2,
        "python": on_python,
        "hits": count,
        "passages": len(texts),
        "re2_installed": re2,
    }


def measure(args: list[str]) -> dict[str, float]:
    """Run this script as a worker in a fresh interpreter; return what it reports."""
    out = subprocess.run(
        [sys.executable, __file__, *args],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def wall(command: list[str], repeat: int = 3) -> float:
    """The median wall-clock seconds of a command."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


# --- the report -------------------------------------------------------------------------------


class Targets:
    def __init__(self) -> None:
        self.rows: list[tuple[str, bool, str]] = []

    def check(self, label: str, value: float, limit: float, *, at_least: bool, unit: str) -> None:
        ok = value >= limit if at_least else value <= limit
        sign = ">=" if at_least else "<="
        self.rows.append((label, ok, f"{value:.2f}{unit} (target {sign} {limit:g}{unit})"))

    def print(self) -> None:
        print("\nTargets")
        for label, ok, text in self.rows:
            print(f"  {'PASS' if ok else 'FAIL'}  {label:<48} {text}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=None, help="main corpus size (default 20)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="5 MB corpus, memory scaling at 2 MB vs 20 MB: a few minutes",
    )
    parser.add_argument("--only", default="abcdef", help="configurations to run, e.g. 'ac'")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="rounds of every timing; each keeps its fastest (default 1)",
    )
    parser.add_argument("--no-scaling", action="store_true", help="skip the scaling checks")
    parser.add_argument("--keep", type=Path, default=None, help="build corpora here and keep them")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--scratch", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--codebook", default=None, help="codebook (default: the shipped one)")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error(f"--repeat must be an int in [1, inf), got {args.repeat}")

    if args.worker:
        if args.worker == "hits":
            print(json.dumps(_hits_worker()))
        elif args.worker == "f":
            print(json.dumps(_whole_process(args.corpus, args.scratch, args.codebook)))
        elif args.worker == "codebook":
            print(json.dumps(_codebook_worker(args.corpus, args.codebook)))
        else:
            print(json.dumps(_worker(args.worker, args.corpus, args.scratch, args.codebook)))
        return

    megabytes = args.mb if args.mb is not None else (5 if args.quick else 20)
    small, large = (2, 20) if args.quick else (20, 200)
    root = args.keep or Path(tempfile.mkdtemp(prefix="trustcode-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    scratch = root / "out"
    scratch.mkdir(exist_ok=True)
    extra = ["--codebook", args.codebook] if args.codebook else []
    targets = Targets()
    try:
        corpus = root / f"corpus-{megabytes:g}mb"
        if not corpus.exists():
            build_corpus(corpus, megabytes)
        print(
            f"Corpus: {megabytes:g} MB in {corpus} (seed {SEED}); python {sys.version.split()[0]}"
            f"; {os.cpu_count()} CPUs" + ("; --quick" if args.quick else "")
        )
        if args.repeat > 1:
            print(
                f"Each timing is the fastest of {args.repeat} rounds, the configurations "
                "taking turns"
            )
        results: dict[str, dict[str, float]] = {}
        for _ in range(args.repeat):
            for name in dict.fromkeys(args.only):
                result = measure(
                    ["--worker", name, "--corpus", str(corpus), "--scratch", str(scratch), *extra]
                )
                if name not in results or result["seconds"] < results[name]["seconds"]:
                    results[name] = result
                shutil.rmtree(scratch, ignore_errors=True)
                scratch.mkdir(exist_ok=True)
        words = next((r["words"] for r in results.values() if "words" in r), None)
        if words is None:
            words = measure(["--worker", "b", "--corpus", str(corpus), *extra])["words"]
        speed = {name: words / r["seconds"] for name, r in results.items()}
        print(f"\n{int(words):,} words in paragraph passages\n")
        print(
            f"  {'configuration':<48} {'seconds':>8} {'words/s':>10} {'x (a)':>6} "
            f"{'x (b)':>6} {'peak MB':>8} {'CPU s':>6}"
        )
        for name, r in results.items():
            vs_a = f"{speed[name] / speed['a']:.2f}" if "a" in speed else "-"
            vs_b = f"{speed[name] / speed['b']:.2f}" if "b" in speed else "-"
            peak = r["rss_mb"] + (r["children_rss_mb"] if name == "e" else 0)
            print(
                f"  ({name}) {CONFIGS[name]:<44} {r['seconds']:>8.2f} {speed[name]:>10,.0f} "
                f"{vs_a:>6} {vs_b:>6} {peak:>8.0f} {r.get('cpu', float('nan')):>6.2f}"
            )
        if "a" in results and "cpu" in results["a"]:
            # the same ratios by CPU time (for (e), CPU over both workers: it shows the work,
            # not the speed-up), which a busy machine disturbs far less than the wall clock
            by_cpu = ", ".join(
                f"({name}) {results['a']['cpu'] / r['cpu']:.2f}"
                for name, r in results.items()
                if name in "cdf" and r.get("cpu")
            )
            print(f"  by CPU time, x (a): {by_cpu}")
        # (configurations, what is compared, the target ratio: at least)
        for pair, label, target in (
            ("ac", "(c) rules only vs (a) tokenizer", 0.7),
            ("ad", "(d) rules + classifier vs (a) tokenizer", 0.45),
            ("de", "(e) --jobs 2 vs (d) one process", 1.7),
            ("be", "(e) --jobs 2 vs (b) pandas script", 1.0),
            ("af", "(f) whole process vs (a) tokenizer", 0.45),
        ):
            if name_in(speed, pair):
                ratio = speed[pair[1]] / speed[pair[0]]
                targets.check(label, ratio, target, at_least=True, unit="x")
        hits = measure(["--worker", "hits"])
        same = hits["re2"] == hits["python"]
        print(
            f"\nRule hits on corpus/ and ../shared ({hits['passages']:,} paragraphs, "
            f"{hits['hits']:,} hits): sha256 {hits['re2'][:16]} with RE2"
            + ("" if hits["re2_installed"] else " (google-re2 not installed)")
            + f", {hits['python'][:16]} on Python's engine"
        )
        targets.check(
            "rule hits: RE2 = Python's engine (1 = equal)", float(same), 1.0, at_least=True, unit=""
        )

        if not args.no_scaling:
            scaling(root, scratch, small, large, extra, targets, repeat=args.repeat)
        targets.print()
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


def name_in(speed: dict[str, float], names: str) -> bool:
    return all(n in speed for n in names)


def scaling(
    root: Path,
    scratch: Path,
    small: float,
    large: float,
    extra: list[str],
    targets: Targets,
    *,
    repeat: int = 1,
) -> None:
    """Memory against corpus size, time against codebook size (the fastest of ``repeat``
    rounds), start-up times."""
    print("\nScaling")
    peaks = {}
    for size in (small, large):
        corpus = root / f"corpus-{size:g}mb"
        if not corpus.exists():
            build_corpus(corpus, size)
        r = measure(["--worker", "c", "--corpus", str(corpus), "--scratch", str(scratch), *extra])
        peaks[size] = r["rss_mb"]
        print(f"  rules only, {size:g} MB corpus: {r['seconds']:.1f} s, peak {r['rss_mb']:.0f} MB")
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(exist_ok=True)
    targets.check(
        f"peak memory {large:g} MB vs {small:g} MB corpus",
        peaks[large] / peaks[small],
        1.5,
        at_least=False,
        unit="x",
    )

    corpus = root / f"corpus-{small:g}mb"
    timed = {}
    # the target compares codebooks that find the same words: 50 entries from the corpus, plus
    # 4,950 that do not occur, so that it measures the cost of size, not of more hits; a
    # 5,000-entry codebook of words that all occur (LIWC-like) is printed for information
    books = {
        "50": synthetic_codebook(root / "codebook-50.yaml", 50),
        "5000": synthetic_codebook(root / "codebook-5000.yaml", 5000, real=50),
        "5000 LIWC-like": synthetic_codebook(root / "codebook-5000-all.yaml", 5000),
    }
    best: dict[str, dict[str, float]] = {}
    for _ in range(repeat):
        for label, book in books.items():
            r = measure(["--worker", "codebook", "--corpus", str(corpus), "--codebook", str(book)])
            if label not in best or r["seconds"] < best[label]["seconds"]:
                best[label] = r
    for label, r in best.items():
        timed[label] = r["seconds"]
        print(
            f"  {label}-entry codebook on {small:g} MB: compile {r['compile']:.2f} s, "
            f"match {r['match']:.2f} s, total {r['seconds']:.2f} s, {int(r['hits']):,} hits"
        )
    targets.check(
        "5,000-entry vs 50-entry codebook time",
        timed["5000"] / timed["50"],
        1.5,
        at_least=False,
        unit="x",
    )

    cli = [sys.executable, "-m", "trustcode.cli"]
    help_time = wall([*cli, "--help"])
    print(f"  trustcode --help: {help_time:.2f} s (median of 3)")
    targets.check("trustcode --help", help_time, 0.5, at_least=False, unit=" s")
    short = root / "short.txt"
    short.write_text(
        "Volunteers wrote letters to political prisoners and their families.\n", encoding="utf-8"
    )
    cold = wall(
        [*cli, "code", str(short), "-o", str(scratch / "short.parquet"), "-q", "--force"], repeat=1
    )
    print(f"  trustcode code <one short document>, cold start: {cold:.2f} s")
    targets.check("one short document from a cold start", cold, 3.0, at_least=False, unit=" s")


if __name__ == "__main__":
    main()
