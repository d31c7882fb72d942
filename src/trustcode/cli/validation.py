"""``trustcode validate draw|estimate|plan``: certify an automatic coding on a random sample a
person codes by hand."""

from __future__ import annotations

import click

from .common import codebook_option, force_option, handle_errors, refuse_existing
from .group import main


@main.group(name="validate")
def validate_group() -> None:
    """Validate a coded corpus: draw a sample, code it by hand, estimate the accuracy.

    \b
    Example:
        trustcode validate plan coded.xlsx --half-width 0.1
        trustcode validate draw coded.xlsx -o sample.xlsx --per-code 20 --seed 7
        trustcode validate estimate sample.xlsx coded.xlsx -o estimates.xlsx
    """


@validate_group.command(name="draw")
@click.argument("coded", type=click.Path())
@click.option(
    "-o", "--output", required=True, type=click.Path(), help="The sample workbook to write (.xlsx)."
)
@click.option(
    "--per-code",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="Passages drawn per code from those the machine coded with it and from those it did not.",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=None,
    help="Random seed (default: a new one, stored in the workbook).",
)
@click.option(
    "--show-machine", is_flag=True, help="Show the machine's codes in the sheet (default: blind)."
)
@codebook_option
@force_option
@handle_errors
def validate_draw(
    coded: str,
    output: str,
    per_code: int,
    seed: int | None,
    show_machine: bool,
    codebook: str | None,
    force: bool,
) -> None:
    """Draw a stratified random sample of a coded output's passages to code by hand.

    CODED: an output of 'trustcode code' (any format).

    \b
    Example:
        trustcode validate draw coded.xlsx -o sample.xlsx --per-code 20 --seed 7
    """
    from ..validation import draw

    drawn = draw(
        coded,
        output,
        codebook=codebook,
        per_code=per_code,
        seed=seed,
        show_machine=show_machine,
        force=force,
    )
    design = drawn.design
    click.echo(
        f"Drew {design.sample_size} of {design.passages} passages (seed {design.seed}, "
        f"{'machine codes shown' if design.show_machine else 'blind'})."
    )
    click.echo(
        f"Wrote {drawn.path}; code it, then run: trustcode validate estimate {drawn.path} {coded}",
        err=True,
    )


@validate_group.command(name="estimate")
@click.argument("sample", type=click.Path())
@click.argument("coded", type=click.Path())
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(),
    help="The estimates (.xlsx or a CSV folder).",
)
@click.option(
    "--target-precision",
    type=float,
    default=None,
    help="Add meets_target: precision's lower bound must reach this.",
)
@click.option(
    "--target-recall",
    type=float,
    default=None,
    help="Add meets_target: recall's lower bound must reach this.",
)
@force_option
@handle_errors
def validate_estimate(
    sample: str,
    coded: str,
    output: str,
    target_precision: float | None,
    target_recall: float | None,
    force: bool,
) -> None:
    """Precision, recall and prevalence of every code in the whole coded corpus, with 95 %
    intervals, from a sample a person coded.

    \b
    Example:
        trustcode validate estimate sample.xlsx coded.xlsx -o estimates.xlsx
    """
    from ..validation import estimate, validation_frames

    refuse_existing(output, force)
    result = estimate(sample, coded, target_precision=target_precision, target_recall=target_recall)
    shown = [
        "code",
        "checked",
        "precision",
        "precision_low",
        "precision_high",
        "recall",
        "recall_low",
        "recall_high",
        "prevalence",
        "kappa",
        "meets_target",
    ]
    table = result.estimates[[c for c in shown if c in result.estimates]]
    click.echo(table.round(3).to_string(index=False))
    from ..io.tables import write_frames

    path = write_frames(
        validation_frames(result), output, force=force, provenance=result.provenance
    )
    click.echo(f"Wrote {path}.", err=True)


@validate_group.command(name="plan")
@click.argument("coded", type=click.Path())
@click.option(
    "--half-width",
    type=float,
    default=0.1,
    show_default=True,
    help="The wanted half-width of the 95 % intervals.",
)
@codebook_option
@handle_errors
def validate_plan(coded: str, half_width: float, codebook: str | None) -> None:
    """How many passages to code per stratum for intervals of a given half-width.

    \b
    Example:
        trustcode validate plan coded.xlsx --half-width 0.1
    """
    from ..validation import plan

    table, per_code, expected = plan(coded, half_width=half_width, codebook=codebook)
    click.echo(table.to_string(index=False))
    click.echo(
        f"Draw with --per-code {per_code}: about {expected:g} passages to code (worst "
        "case, a true share of one half in every stratum)."
    )
