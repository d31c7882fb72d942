"""The ``trustcode`` command line: thin click wrappers over the library.

Each command parses options, calls one library function, renders the result and turns
``TrustcodeError`` into a one-line message and exit code 2. Heavy libraries (spaCy,
scikit-learn) are imported inside the commands that need them, so ``trustcode --help`` is fast.
"""

from __future__ import annotations

import functools
import json
import sys
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import click

from . import __version__
from .errors import TrustcodeError, TrustcodeWarning

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_OUTPUT = "coded"


def _show_warning(message: Any, category: Any, filename: Any, lineno: Any, *args: Any) -> None:
    if issubclass(category, TrustcodeWarning):
        click.echo(f"warning: {message}", err=True)
    else:  # a library's own warning: one line, no source excerpt
        click.echo(f"warning: {category.__name__}: {message}", err=True)


def handle_errors(func: F) -> F:
    """Turn library errors into a clear message and exit code; show warnings on one line."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        warnings.showwarning = _show_warning
        try:
            return func(*args, **kwargs)
        except TrustcodeError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("Interrupted: no output was written.", err=True)
            sys.exit(130)

    return wrapper  # type: ignore[return-value]


def codebook_option(func: F) -> F:
    return click.option(
        "-c",
        "--codebook",
        type=click.Path(dir_okay=False),
        default=None,
        help="Codebook YAML file (default: the codebook shipped with trustcode).",
    )(func)


def force_option(func: F) -> F:
    return click.option(
        "--force", is_flag=True, help="Overwrite the output if it exists."
    )(func)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="trustcode")
def main() -> None:
    """trustcode: deductive qualitative coding with a readable codebook.

    Cut documents into passages, code them with a codebook's rules plus a trained classifier,
    and get coded tables that explain themselves.

    \b
    Example:
        trustcode code corpus/ -o coded.xlsx
    """


# --- code -------------------------------------------------------------------------------------


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@codebook_option
@click.option(
    "-u", "--unit", default="paragraph", show_default=True,
    help="Passage unit: paragraph, sentence, window:N or window:N:STRIDE.",
)
@click.option(
    "-o", "--output", type=click.Path(), default=None,
    help="Output: .xlsx workbook, .parquet or .jsonl folder, or a folder of CSV "
    f"(default: ./{DEFAULT_OUTPUT}/).",
)
@click.option(
    "-m", "--model", default="default", show_default=True,
    help="Model file from 'trustcode train', 'default' for the shipped model, "
    "or 'none' for rules only.",
)
@click.option("--language", default=None,
              help="Language for documents whose language is not in a manifest and not detected.")
@click.option("--text-column", default=None, help="Text column of .csv/.xlsx inputs.")
@click.option("--id-column", default=None, help="Document id column of .csv/.xlsx inputs.")
@click.option("-j", "--jobs", default=1, show_default=True, type=click.IntRange(min=1),
              help="Worker processes.")
@click.option("--strict", is_flag=True,
              help="Stop at the first document that cannot be read (default: skip it, warn).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@force_option
@handle_errors
def code(
    paths: tuple[str, ...],
    codebook: str | None,
    unit: str,
    output: str | None,
    model: str,
    language: str | None,
    text_column: str | None,
    id_column: str | None,
    jobs: int,
    strict: bool,
    quiet: bool,
    force: bool,
) -> None:
    """Code documents with the codebook's rules and classifier; write the coded tables.

    PATHS are files (.txt .md .html .docx .pdf .csv .xlsx) or folders (read recursively; a
    manifest.csv there lists the documents and their metadata).

    \b
    Example:
        trustcode code corpus/ -o coded.xlsx
        trustcode code reports/ -c my-codebook.yaml -u sentence -o coded.parquet
    """
    from .pipeline import code_corpus

    out = output or DEFAULT_OUTPUT
    progress, bar = _progress_bar(quiet, "Coding")
    try:
        run = code_corpus(
            list(paths),
            codebook=codebook,
            unit=unit,
            model=None if model.lower() == "none" else model,
            language=language,
            text_column=text_column,
            id_column=id_column,
            strict=strict,
            jobs=jobs,
            output=out,
            force=force,
            progress=progress,
        )
    finally:
        if bar is not None:
            bar.render_finish()
    model_note = run.provenance.get("model") or "none (rules only)"
    click.echo(f"Wrote {run.output} (codebook {run.provenance['codebook']}, model {model_note}).",
               err=True)


class _Progress:
    """A one-line progress display on stderr: documents done and the current one."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.count = 0

    def __call__(self, document: Any) -> None:
        self.count += 1
        line = f"{self.label}: {self.count} documents ({document.doc_id[:50]})"
        click.echo(f"\r{line:<80}", err=True, nl=False)

    def render_finish(self) -> None:
        if self.count:
            click.echo(f"\r{self.label}: {self.count} documents done.{'':<40}", err=True)


def _progress_bar(quiet: bool, label: str) -> tuple[Callable[[Any], None] | None, Any]:
    """A progress callback drawing on stderr, or nothing when quiet or stderr is no terminal."""
    if quiet or not sys.stderr.isatty():
        return None, None
    bar = _Progress(label)
    return bar, bar


# --- codebook ---------------------------------------------------------------------------------


@main.group(name="codebook")
def codebook_group() -> None:
    """Inspect and validate codebooks.

    \b
    Example:
        trustcode codebook check codebook.yaml
    """


@codebook_group.command()
@click.argument("path", required=False, type=click.Path())
@handle_errors
def check(path: str | None) -> None:
    """Validate a codebook and run its examples as tests.

    Every positive example must be coded with its code by the rules, and no negative example may
    be. Exits 1 when an example fails, 2 when the codebook is invalid.

    \b
    Example:
        trustcode codebook check codebook.yaml
    """
    from .codebook import load_codebook
    from .rules import check_examples

    book = load_codebook(path)
    failures = check_examples(book)
    n_examples = sum(len(c.positive_examples) + len(c.negative_examples) for c in book.codes)
    n_rules = len(book.rules)
    if failures:
        click.echo(f"{book.path}: {len(failures)} of {n_examples} examples fail:")
        for f in failures:
            fired = ", ".join(f.found) if f.found else "no rule fired"
            click.echo(f"  - {f.code} ({f.polarity}): {_clip(f.example)} [{fired}]")
        sys.exit(1)
    click.echo(
        f"{book.path}: valid; {len(book.leaf_codes)} codes, {n_rules} rules, "
        f"all {n_examples} examples pass."
    )


@codebook_group.command()
@click.argument("path", required=False, type=click.Path())
@handle_errors
def show(path: str | None) -> None:
    """Print a codebook readably: codes under their parents, with rules and examples.

    \b
    Example:
        trustcode codebook show codebook.yaml
    """
    from .codebook import load_codebook, show_codebook

    click.echo(show_codebook(load_codebook(path)))


@codebook_group.command()
@handle_errors
def schema() -> None:
    """Print the codebook's JSON Schema (for editors that validate YAML).

    \b
    Example:
        trustcode codebook schema > codebook.schema.json
    """
    from .codebook import codebook_schema

    click.echo(json.dumps(codebook_schema(), indent=2, ensure_ascii=False))


def _clip(text: str, width: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def run() -> None:  # pragma: no cover - console entry for `python -m trustcode`
    main(prog_name="trustcode")


if __name__ == "__main__":  # pragma: no cover
    run()

