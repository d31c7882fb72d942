"""``trustcode export`` and ``trustcode import``: REFI-QDA projects to and from other QDA tools."""

from __future__ import annotations

import click

from .common import (
    codebook_option,
    force_option,
    handle_errors,
    redact_options,
    redactor,
)
from .group import main


@main.command(name="export")
@click.argument("coded", type=click.Path())
@click.option(
    "--to",
    "fmt",
    type=click.Choice(["qdpx"]),
    default="qdpx",
    show_default=True,
    help="Format: a REFI-QDA project.",
)
@codebook_option
@click.option("-o", "--output", required=True, type=click.Path(), help="The .qdpx to write.")
@redact_options
@force_option
@handle_errors
def export_cmd(
    coded: str,
    fmt: str,
    codebook: str | None,
    output: str,
    redact: bool,
    redact_names: str | None,
    redact_model: str | None,
    force: bool,
) -> None:
    """Export a coding as a REFI-QDA project for QualCoder, ATLAS.ti, MAXQDA or NVivo.

    \b
    Example:
        trustcode export coded.xlsx --to qdpx -o project.qdpx
    """
    from ..workflows import export_project

    written = export_project(
        coded,
        output,
        codebook=codebook,
        force=force,
        redact=redactor(redact, redact_names, redact_model, codebook),
    )
    click.echo(f"Wrote {written}.", err=True)


@main.command(name="import")
@click.argument("project", type=click.Path())
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(),
    help="Tables to write (.xlsx, .parquet, .jsonl or a CSV folder).",
)
@force_option
@handle_errors
def import_cmd(project: str, output: str, force: bool) -> None:
    """Import a REFI-QDA project from another tool as documents and human codings, which
    train, evaluate, agree and compare read.

    \b
    Example:
        trustcode import project.qdpx -o gold.xlsx
        trustcode agree gold.xlsx coded.xlsx
    """
    from ..workflows import import_project

    click.echo(f"Wrote {import_project(project, output, force=force)}.", err=True)
