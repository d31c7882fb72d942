"""``trustcode compare``, ``agree`` and ``report``: compare codings, measure their agreement
and report them."""

from __future__ import annotations

import click

from .common import (
    codebook_option,
    documents_option,
    force_option,
    handle_errors,
    redact_options,
    redactor,
    refuse_existing,
    unreviewed_option,
    write_optional_frames,
)
from .group import main


@main.command(name="compare")
@click.argument("coded", nargs=-1, required=True, type=click.Path())
@click.option("--by", default=None, help="Documents column whose values form the groups.")
@codebook_option
@click.option(
    "-o",
    "--output",
    default="comparison.xlsx",
    show_default=True,
    type=click.Path(),
    help="Tables as .xlsx or a CSV folder; figures go to OUTPUT-figures/.",
)
@documents_option
@force_option
@handle_errors
def compare_cmd(
    coded: tuple[str, ...],
    by: str | None,
    codebook: str | None,
    output: str,
    documents: tuple[str, ...],
    force: bool,
) -> None:
    """Compare codings across documents and groups: shares, tests, co-occurrence, figures.

    CODED: outputs of 'trustcode code' (any format) or gold files.

    \b
    Example:
        trustcode code reports/ -o reports.xlsx
        trustcode compare reports.xlsx --by group -o comparison.xlsx
    """
    from ..io.tables import check_output
    from ..workflows import compare_files, write_comparison

    check_output(output, force=force, tables=None)  # its tables are named when written
    result = compare_files(list(coded), by=by, codebook=codebook, documents=documents)
    tests = result.tests
    if by is not None and not tests.empty:
        click.echo(
            f"Does each code's share differ between the groups of '{by}'? "
            f"(p adjusted: {result.correction})"
        )
        click.echo(
            tests[["code", "test", "p_value", "p_adjusted", "reject"]]
            .round(4)
            .to_string(index=False)
        )
    for path in write_comparison(result, output, force=force):
        click.echo(f"Wrote {path}", err=True)


@main.command(name="agree")
@click.argument("coded", nargs=-1, required=True, type=click.Path())
@click.option(
    "--unit",
    type=click.Choice(["passage", "document", "character"]),
    default="passage",
    show_default=True,
    help="What a decision is made about.",
)
@click.option(
    "--coded-only",
    is_flag=True,
    help="Count only units that some coder coded, so uncoded text does not inflate agreement.",
)
@codebook_option
@click.option(
    "-o",
    "--output",
    default=None,
    type=click.Path(),
    help="Write the agreement tables and the disagreements (.xlsx or a CSV folder).",
)
@documents_option
@unreviewed_option
@force_option
@handle_errors
def agree_cmd(
    coded: tuple[str, ...],
    unit: str,
    coded_only: bool,
    codebook: str | None,
    output: str | None,
    documents: tuple[str, ...],
    unreviewed: str,
    force: bool,
) -> None:
    """Agreement between two or more codings of the same documents: percent agreement,
    Cohen's kappa (two coders), Fleiss' kappa, Krippendorff's alpha with bootstrap intervals.

    The codings must refer to the same text of each document; codings of different texts, or
    of different documents, are refused.

    \b
    Example:
        trustcode code corpus/ -o coded.xlsx
        trustcode agree gold/ coded.xlsx --documents corpus/ --unit passage -o agreement.xlsx
    """
    from ..workflows import agree_files, agreement_frames

    refuse_existing(output, force)
    result = agree_files(
        list(coded),
        unit=unit,
        coded_only=coded_only,
        codebook=codebook,
        unreviewed=unreviewed,
        documents=documents,
    )
    columns = [
        "code",
        "n_units",
        "percent_agreement",
        "cohen_kappa",
        "krippendorff_alpha",
        "alpha_ci_low",
        "alpha_ci_high",
    ]
    click.echo(f"Coders: {', '.join(result.coders)}; unit: {unit}")
    click.echo(
        result.per_code[[c for c in columns if c in result.per_code]]
        .round(3)
        .to_string(index=False)
    )
    click.echo(result.overall.round(3).to_string(index=False))
    write_optional_frames(agreement_frames(result), output, force)


@main.command(name="report")
@click.argument("coded", type=click.Path())
@codebook_option
@click.option("--by", default=None, help="Documents column to compare groups by.")
@click.option(
    "--gold",
    default=None,
    type=click.Path(),
    help="Gold codings to show agreement with (of the same texts as CODED).",
)
@click.option(
    "--validation",
    default=None,
    type=click.Path(),
    help="The output of 'trustcode validate estimate' to show.",
)
@documents_option
@click.option("-o", "--output", default="report.html", show_default=True, type=click.Path())
@redact_options
@force_option
@handle_errors
def report_cmd(
    coded: str,
    codebook: str | None,
    by: str | None,
    gold: str | None,
    validation: str | None,
    documents: tuple[str, ...],
    output: str,
    redact: bool,
    redact_names: str | None,
    redact_model: str | None,
    force: bool,
) -> None:
    """One self-contained HTML report: codebook, highlighted documents, frequencies, groups.

    \b
    Example:
        trustcode report coded.xlsx --by group -o report.html
    """
    from ..workflows import report

    path = report(
        coded,
        output,
        codebook=codebook,
        by=by,
        gold=gold,
        force=force,
        redact=redactor(redact, redact_names, redact_model, codebook),
        validation=validation,
        documents=documents,
    )
    click.echo(f"Wrote {path}.", err=True)
