"""Run the README's examples in order in a fresh folder, as a new user would, and check each.

Run from anywhere:  python scripts/run_readme.py [--no-benchmarks] [--keep DIR]

It copies the repository's files (as git lists them) into a new folder beside a link to the
``../shared`` of this checkout, writes there the inputs the examples take for granted but the
repository does not hold (``reports/``, ``interviews.xlsx``, ``report.pdf``, ``my-codebook.yaml``,
``their-project.qdpx``, ``their-codebook.qdc`` and the edited ``codebook-v2.yaml``), and runs
every command of the README's ``bash`` blocks in order, then its Python block. Installing is left
to CI (``.ci/run``), so of the set-up block only the ``trustcode`` command runs, with this
checkout's ``src`` first on the path. Each command must exit 0 and write what its ``-o`` (or
``>``) names; the script prints one line per command and exits 1 if any did not.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
#: commands the script does not run: installing and testing are CI's job
SKIPPED = ("python3 -m venv", ". .venv/bin/activate", "pip install", "python -m pytest")
#: what the README says a command prints (by the start of the command)
SAYS = {
    "trustcode evaluate": "precision, recall, F1 and Krippendorff's alpha",
    "trustcode codebook check codebook.yaml": "10 codes under 2 parents",
    "trustcode codebook show codebook.yaml": "10 codes under 2 parents",
    "trustcode agree": "krippendorff_alpha",
}
#: what no example may print: gold lined up with a text it was not coded on, or a traceback
NEVER = ("do not fit", "Traceback")


def readme_commands(readme: str) -> tuple[list[str], str]:
    """The shell commands of the README's bash blocks, in order (continuation lines joined,
    comments dropped, set-up chains cut to their trustcode part), and its Python block."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", readme, flags=re.DOTALL):
        for line in block.replace("\\\n", " ").splitlines():
            line = re.sub(r"\s+#.*$", "", line).strip()
            if not line or line.startswith("#"):
                continue
            parts = [p.strip() for p in line.split("&&")]
            commands.extend(p for p in parts if not p.startswith(SKIPPED))
    python = re.findall(r"```python\n(.*?)```", readme, flags=re.DOTALL)
    return [" ".join(c.split()) for c in commands], "\n".join(python)


def expected_output(command: str) -> str | None:
    """What a command says it writes: ``-o X``, ``--output X`` or ``> X``; ``coded`` for
    ``trustcode code`` without ``-o``."""
    words = shlex.split(command)
    for flag in ("-o", "--output", ">"):
        if flag in words:
            return words[words.index(flag) + 1]
    if words[:2] == ["trustcode", "code"]:
        return "coded"
    return None


# --- the inputs the examples take for granted ------------------------------------------------

REPORTS = {
    "monitoring_en.txt": (
        "Monitoring report, spring\n\n"
        "Volunteers wrote letters to political prisoners every week and collected money for "
        "their lawyers.\n\n"
        "Police detained forty people at the rally; the court fined most of them the next "
        "day.\n\n"
        "Organizers moved their chats to an encrypted messenger after two members were "
        "searched.\n"
    ),
    "monitoring_ru.txt": (
        "Отчет о мониторинге\n\n"
        "Волонтеры писали письма политзаключенным и собирали деньги на адвокатов.\n\n"
        "Полиция задержала участников пикета, суд назначил им штрафы.\n"
    ),
}

MY_CODEBOOK = """\
name: Detentions and support
languages: [en, ru]
codes:
  - id: detention
    label: Detention
    definition: People held by the police.
    examples:
      positive: [Police detained forty people at the rally.]
      negative: [The rally went ahead peacefully.]
    rules:
      - id: detain
        globs: [detain*, arrest*, задерж*]
  - id: support
    label: Support
    definition: Help given to the detained.
    examples:
      positive: [Volunteers wrote letters to political prisoners.]
      negative: [Police detained forty people at the rally.]
    rules:
      - id: letters
        globs: [letter*, lawyer*, письм*, адвокат*]
"""


def write_inputs(folder: Path, env: dict[str, str]) -> None:
    """The files and folders the README's examples name but the repository does not hold."""
    import pandas as pd
    import yaml

    reports = folder / "reports"
    reports.mkdir()
    for name, text in REPORTS.items():
        (reports / name).write_text(text, encoding="utf-8")
    pd.DataFrame(
        {
            "respondent": ["r1", "r2"],
            "answer": [
                "I wrote to a friend in detention every month.",
                "Мы помогали семьям задержанных найти адвоката.",
            ],
        }
    ).to_excel(folder / "interviews.xlsx", index=False)
    _write_pdf(folder / "report.pdf", REPORTS["monitoring_en.txt"].split("\n\n"))
    (folder / "my-codebook.yaml").write_text(MY_CODEBOOK, encoding="utf-8")
    # a project and a codebook "from another tool": trustcode's own exports stand in for them
    for command in (
        "trustcode code reports/ -m none -o stand-in.xlsx",
        "trustcode export stand-in.xlsx --to qdpx -o their-project.qdpx",
        "trustcode codebook export my-codebook.yaml --to qdc -o their-codebook.qdc",
    ):
        subprocess.run(shlex.split(command), cwd=folder, env=env, check=True, capture_output=True)
    # the edit of the workflow "edit a copy of the codebook": one more term for one code
    book = yaml.safe_load((folder / "codebook.yaml").read_text(encoding="utf-8"))
    code = next(c for c in book["codes"] if c.get("id") == "prisoner_support")
    code["rules"].append({"id": "care-packages", "lang": "en", "phrases": ["care package"]})
    (folder / "codebook-v2.yaml").write_text(
        yaml.safe_dump(book, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )


def _write_pdf(path: Path, paragraphs: list[str]) -> None:
    """A one-page PDF with a text layer (matplotlib's PDF backend, TrueType fonts)."""
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["pdf.fonttype"] = 42
    from matplotlib import pyplot as plt

    figure = plt.figure(figsize=(8.27, 11.69))
    for i, paragraph in enumerate(paragraphs):
        figure.text(0.05, 0.95 - 0.05 * i, paragraph.replace("\n", " "), fontsize=7)
    figure.savefig(path)
    plt.close(figure)


# --- running them ----------------------------------------------------------------------------


def run(folder: Path, benchmarks: bool) -> int:
    commands, python = readme_commands((REPO / "README.md").read_text(encoding="utf-8"))
    env = dict(
        os.environ,
        PYTHONPATH=str(folder / "src"),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    write_inputs(folder, env)
    failures = 0
    for command in [*commands, f"python -c {shlex.quote(python)}"]:
        if not benchmarks and command.startswith("python benchmarks/"):
            print(f"skip  {command}  (--no-benchmarks)")
            continue
        began = time.monotonic()
        done = subprocess.run(
            ["bash", "-c", command], cwd=folder, env=env, capture_output=True, text=True
        )
        output = expected_output(command) if command.startswith("trustcode") else None
        written = output is None or (folder / output).exists()
        printed = done.stdout + done.stderr
        says = next((text for start, text in SAYS.items() if command.startswith(start)), "")
        wrong = [text for text in NEVER if text in printed]
        if says not in printed:
            wrong.append(f"does not say {says!r}")
        verdict = "ok" if done.returncode == 0 and written and not wrong else "FAIL"
        shown = command if len(command) < 120 else command[:117] + "..."
        print(f"{verdict:<5} {shown}  ({time.monotonic() - began:.0f} s)", flush=True)
        if verdict == "FAIL":
            failures += 1
            why = (
                f"exit {done.returncode}"
                + ("" if written else f"; {output} not written")
                + "".join(f"; {w}" for w in wrong)
            )
            tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-5:])
            print(f"      {why}\n      " + tail.replace("\n", "\n      "))
    print(
        f"{len(commands) + 1 - failures} of {len(commands) + 1} examples did what the README says."
        if not failures
        else f"{failures} example(s) failed."
    )
    return 1 if failures else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--no-benchmarks",
        action="store_true",
        help="skip the benchmark commands (they take several minutes)",
    )
    parser.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="run in this new folder and keep it (default: a temporary one)",
    )
    parser.add_argument(
        "--shared",
        type=Path,
        default=SHARED,
        help="the folder the examples read as ../shared (default: %(default)s)",
    )
    args = parser.parse_args()
    if not (args.shared / "corpus-sources").is_dir():
        print(f"{args.shared}/corpus-sources is missing: the README's examples read it.")
        return 2
    parent = Path(tempfile.mkdtemp(prefix="trustcode-readme-")) if args.keep is None else args.keep
    parent.mkdir(parents=True, exist_ok=True)
    folder = parent / "trustcode"
    files = (
        subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True)
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, files):
        if (REPO / name).is_file():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, folder / name)
    (parent / "shared").symlink_to(args.shared.resolve())
    try:
        return run(folder, benchmarks=not args.no_benchmarks)
    finally:
        if args.keep is None:
            shutil.rmtree(parent)


if __name__ == "__main__":
    sys.exit(main())
