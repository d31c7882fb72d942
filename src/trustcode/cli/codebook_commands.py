"""``trustcode codebook ...``: check, show, export, import, diagnose and diff codebooks."""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import click

from .common import (
    codebook_argument,
    codebook_option,
    documents_option,
    force_option,
    handle_errors,
    refuse_existing,
    write_optional_frames,
)
from .group import main


@main.group(name="codebook")
def codebook_group() -> None:
    """Inspect and validate codebooks.

    \b
    Example:
        trustcode codebook check codebook.yaml
    """


@codebook_group.command()
@codebook_argument
@handle_errors
def check(path: str | None) -> None:
    """Validate a codebook and run its examples as tests.

    Every positive example must be coded with its code by the rules, and no negative example may
    be. Exits 1 when an example fails, 2 when the codebook is invalid. PATH defaults to
    ./codebook.yaml if there is one, else the shipped codebook, as -c does for every command.

    \b
    Example:
        trustcode codebook check codebook.yaml
    """
    from ..codebook import count_codes, load_codebook
    from ..errors import CodebookAdvice
    from ..rules import RuleSet, check_examples

    # the advice other commands only point to is read here, every piece of it
    with warnings.catch_warnings(record=True) as advice:
        warnings.simplefilter("always", CodebookAdvice)
        book = load_codebook(path)
    for note in advice:
        if issubclass(note.category, CodebookAdvice):
            click.echo(f"advice: {note.message}")
        else:
            warnings.warn_explicit(note.message, note.category, note.filename, note.lineno)
    ruleset = RuleSet(book)
    failures = check_examples(book, ruleset)
    n_examples = sum(len(c.positive_examples) + len(c.negative_examples) for c in book.codes)
    n_rules = len(book.rules)
    if failures:
        click.echo(f"{book.path}: {len(failures)} of {n_examples} examples fail:")
        for f in failures:
            fired = ", ".join(f.found) if f.found else "no rule fired"
            click.echo(f"  - {f.code} ({f.polarity}): {_clip(f.example)} [{fired}]")
        for line in ruleset.regex_report():
            click.echo(line)
        sys.exit(1)
    click.echo(
        f"{book.path}: valid; {count_codes(book)}, {n_rules} rules, all {n_examples} examples pass."
    )
    for line in ruleset.regex_report():  # which engine runs each regex, and why
        click.echo(line)


@codebook_group.command()
@codebook_argument
@handle_errors
def show(path: str | None) -> None:
    """Print a codebook readably: codes under their parents, with rules and examples.

    \b
    Example:
        trustcode codebook show codebook.yaml
    """
    from ..codebook import load_codebook, show_codebook

    click.echo(show_codebook(load_codebook(path)))


@codebook_group.command()
@handle_errors
def schema() -> None:
    """Print the codebook's JSON Schema (for editors that validate YAML).

    \b
    Example:
        trustcode codebook schema > codebook.schema.json
    """
    from ..codebook import codebook_schema

    click.echo(json.dumps(codebook_schema(), indent=2, ensure_ascii=False))


@codebook_group.command(name="export")
@codebook_argument
@click.option(
    "--to",
    "fmt",
    type=click.Choice(["qdc"]),
    default="qdc",
    show_default=True,
    help="Format: a REFI-QDA codebook.",
)
@click.option("-o", "--output", required=True, type=click.Path(), help="The .qdc file to write.")
@force_option
@handle_errors
def codebook_export(path: str | None, fmt: str, output: str, force: bool) -> None:
    """Export a codebook for QDA programs (REFI-QDA .qdc: ATLAS.ti, MAXQDA, NVivo, QualCoder).

    \b
    Example:
        trustcode codebook export codebook.yaml --to qdc -o codebook.qdc
    """
    from ..codebook import load_codebook
    from ..refiqda import export_qdc

    click.echo(f"Wrote {export_qdc(load_codebook(path), output, force=force)}.", err=True)


@codebook_group.command(name="import")
@click.argument("path", type=click.Path())
@click.option(
    "-o", "--output", required=True, type=click.Path(), help="The codebook.yaml skeleton to write."
)
@force_option
@handle_errors
def codebook_import(path: str, output: str, force: bool) -> None:
    """Turn a REFI-QDA codebook (.qdc), the code tree of a REFI-QDA project (.qdpx) or a
    dictionary (quanteda .yml, LIWC .dic) into a codebook.yaml skeleton: codes from the .qdc or
    .qdpx, or codes with rules from a dictionary.

    \b
    Example:
        trustcode codebook import their-codebook.qdc -o codebook.yaml
        trustcode codebook import their-project.qdpx -o codebook.yaml
        trustcode codebook import liwc.dic -o codebook.yaml
    """
    from ..dictionaries import import_dictionary, write_codebook_yaml
    from ..refiqda import import_qdc

    refi = Path(path).suffix.lower() in (".qdc", ".qdpx", ".qde")
    reader = import_qdc if refi else import_dictionary
    written = write_codebook_yaml(reader(path), output, force=force)
    click.echo(
        f"Wrote {written}; add definitions, examples and rules, then run "
        f"'trustcode codebook check {written}'.",
        err=True,
    )


@codebook_group.command(name="diagnose")
@click.argument("corpus", nargs=-1, required=True, type=click.Path())
@codebook_option
@click.option(
    "--gold",
    "gold",
    multiple=True,
    type=click.Path(),
    help="Gold codings to measure each rule's precision and recall against.",
)
@documents_option
@click.option(
    "-m",
    "--model",
    default="default",
    show_default=True,
    help="Model for the classifier columns: 'default', 'muse', a file, or 'none'.",
)
@click.option("-u", "--unit", default="paragraph", show_default=True, help="Passage unit.")
@click.option(
    "-o",
    "--output",
    default=None,
    type=click.Path(),
    help="Write every table (.xlsx or a CSV folder).",
)
@force_option
@handle_errors
def codebook_diagnose(
    corpus: tuple[str, ...],
    codebook: str | None,
    gold: tuple[str, ...],
    documents: tuple[str, ...],
    model: str,
    unit: str,
    output: str | None,
    force: bool,
) -> None:
    """What each rule does on a corpus: coverage, overlap, conflicts, rules that never fire,
    precision and recall against gold, rule/classifier disagreements, suggested terms.

    \b
    Example:
        trustcode codebook diagnose corpus/ --gold gold/ --documents corpus/ -o diagnosis.xlsx
    """
    from ..diagnose import diagnose

    refuse_existing(output, force)
    result = diagnose(
        list(corpus),
        codebook=codebook,
        gold=list(gold) or None,
        model=None if model.lower() == "none" else model,
        unit=unit,
        documents=documents,
    )
    click.echo(result.summary())
    write_optional_frames(result.frames(), output, force)


@codebook_group.command(name="diff")
@click.argument("old", type=click.Path())
@click.argument("new", type=click.Path())
@click.argument("corpus", nargs=-1, required=True, type=click.Path())
@click.option(
    "--gold",
    "gold",
    multiple=True,
    type=click.Path(),
    help="Gold codings: report the change in agreement with them.",
)
@documents_option
@click.option(
    "-m",
    "--model",
    default=None,
    type=click.Path(),
    help="A model file to code with on both sides (default: rules only).",
)
@click.option("-u", "--unit", default="paragraph", show_default=True, help="Passage unit.")
@click.option(
    "-o",
    "--output",
    default=None,
    type=click.Path(),
    help="Write every table (.xlsx or a CSV folder).",
)
@force_option
@handle_errors
def codebook_diff(
    old: str,
    new: str,
    corpus: tuple[str, ...],
    gold: tuple[str, ...],
    documents: tuple[str, ...],
    model: str | None,
    unit: str,
    output: str | None,
    force: bool,
) -> None:
    """What an edit to a codebook changes: passages gained and lost per code, the change in the
    code x document table and in agreement with gold; codes renamed, added or removed.

    \b
    Example:
        trustcode codebook diff codebook.yaml codebook-v2.yaml corpus/ -o diff.xlsx
    """
    from ..diagnose import diff_codebooks

    refuse_existing(output, force)
    result = diff_codebooks(
        old, new, list(corpus), gold=list(gold) or None, model=model, unit=unit, documents=documents
    )
    click.echo(result.summary())
    write_optional_frames(result.frames(), output, force)


def _clip(text: str, width: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
