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
from pathlib import Path
from typing import Any, TypeVar

import click

from . import __version__
from .errors import TrustcodeError, TrustcodeWarning

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_OUTPUT = "coded"


#: warnings shown in full before the rest are only counted
WARNINGS_SHOWN = 20
_warning_count = [0]


def _show_warning(message: Any, category: Any, filename: Any, lineno: Any, *args: Any) -> None:
    _warning_count[0] += 1
    if _warning_count[0] > WARNINGS_SHOWN:
        return
    if issubclass(category, TrustcodeWarning):
        click.echo(f"warning: {message}", err=True)
    else:  # a library's own warning: one line, no source excerpt
        click.echo(f"warning: {category.__name__}: {message}", err=True)


def handle_errors(func: F) -> F:
    """Turn library errors into a clear message and exit code; show warnings on one line."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        warnings.showwarning = _show_warning  # type: ignore[assignment]
        _warning_count[0] = 0
        try:
            return func(*args, **kwargs)
        except TrustcodeError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            output = kwargs.get("output")
            if output is None and func.__name__ == "code":
                output = DEFAULT_OUTPUT
            what = f"{output} was not written" if output else "no output was written"
            click.echo(f"Interrupted: {what}; no partial file was left behind, and an earlier "
                       "output at that path is unchanged.", err=True)
            sys.exit(130)
        finally:
            hidden = _warning_count[0] - WARNINGS_SHOWN
            if hidden > 0:
                click.echo(f"({hidden} more warnings not shown)", err=True)

    return wrapper  # type: ignore[return-value]


def codebook_option(func: F) -> F:
    return click.option(
        "-c",
        "--codebook",
        type=click.Path(dir_okay=False),
        default=None,
        help="Codebook YAML file (default: the codebook shipped with trustcode).",
    )(func)


def unreviewed_option(func: F) -> F:
    return click.option(
        "--unreviewed", type=click.Choice(["reject", "accept"]), default="reject",
        show_default=True,
        help="In a review workbook, what machine codes left without a decision count as.",
    )(func)


def redact_options(func: F) -> F:
    func = click.option(
        "--redact-model", default=None,
        help="With --redact: an installed trained spaCy pipeline whose PERSON entities are "
        "redacted too (never downloaded).",
    )(func)
    func = click.option(
        "--redact-names", type=click.Path(dir_okay=False), default=None,
        help="With --redact: a file of names to pseudonymize, one per line.",
    )(func)
    return click.option(
        "--redact", is_flag=True,
        help="Replace e-mail addresses, phone numbers, URLs, @handles and listed names (file or "
        "the codebook's redact: section) with stable pseudonyms. See SECURITY.md for its limits.",
    )(func)


def _redactor(
    redact: bool, names: str | None, model: str | None, codebook: str | None
) -> Any:
    if not redact:
        if names or model:
            raise click.UsageError("--redact-names and --redact-model go with --redact.")
        return None
    from .codebook import load_codebook
    from .redact import redactor_for

    return redactor_for(load_codebook(codebook), names, spacy_model=model)


def _refuse_existing(output: str | None, force: bool) -> None:
    """Before any work: an optional table output must be writable and new (or forced)."""
    if output is not None:
        from .io.tables import check_output

        check_output(output, force=force)


def _write_frames(frames: Any, output: str | None, force: bool) -> None:
    """Write an optional table output (workbook or CSV folder) and say where."""
    if output is not None:
        from .io.tables import write_frames

        click.echo(f"Wrote {write_frames(frames, output, force=force)}.", err=True)


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
    help="Output: .xlsx workbook, .parquet or .jsonl folder, a folder of CSV, or a REFI-QDA "
    f".qdpx project (default: ./{DEFAULT_OUTPUT}/).",
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
              help="Worker processes: each reads and codes documents; the tables are the "
                   "same as with one.")
@click.option("--strict", is_flag=True,
              help="Stop at the first document that cannot be read (default: skip it, warn).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@click.option("--review", is_flag=True,
              help="Write a review workbook (-o NAME.xlsx): machine codes with accept/reject "
              "drop-downs, least sure passages first; train and agree read it back.")
@click.option("--engine", type=click.Choice(["local", "dask"]), default="local",
              show_default=True, help="Where to code: this machine, or a Dask cluster.")
@click.option("--scheduler", default=None,
              help="With --engine dask: the scheduler address (tcp://HOST:8786); without it, a "
              "local Dask cluster.")
@redact_options
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
    review: bool,
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
        trustcode code reports/ -o project.qdpx
        trustcode code archive/ --engine dask --scheduler tcp://10.0.0.5:8786 -o coded.parquet
    """
    from .pipeline import code_corpus

    out = output or DEFAULT_OUTPUT
    redactor = _redactor(redact, redact_names, redact_model, codebook)
    if engine == "dask":
        if review or redactor is not None or jobs > 1:
            raise click.UsageError("--engine dask writes Parquet tables: it does not go with "
                                   "--review, --redact or --jobs.")
        from .engines import code_with_dask

        written = code_with_dask(
            list(paths), out, codebook=codebook, model=None if model.lower() == "none" else model,
            unit=unit, language=language, text_column=text_column, id_column=id_column,
            strict=strict, scheduler=scheduler, force=force,
        )
        click.echo(f"Wrote {written} (engine dask).", err=True)
        return
    qdpx = Path(out).suffix.lower() == ".qdpx"
    if review:
        from .io.tables import check_output

        if Path(out).suffix.lower() != ".xlsx":
            raise click.UsageError("--review writes a workbook: give -o a name ending in .xlsx.")
        check_output(out, force=force)
    elif qdpx and Path(out).exists() and not force:
        raise click.UsageError(f"{out} exists; pass --force to overwrite it.")
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
            output=None if review or qdpx else out,
            force=force,
            progress=progress,
            redact=redactor,
        )
    finally:
        if bar is not None:
            bar.render_finish()
    if review:
        from .codebook import load_codebook
        from .review import write_review

        run.output = write_review(run.tables, out, codebook=load_codebook(codebook),
                                  force=force, provenance=run.provenance)
    elif qdpx:
        from .codebook import load_codebook
        from .refiqda import export_qdpx

        # each document's text is read again from its source (and checked by its sha256)
        run.output = export_qdpx(run.tables, load_codebook(codebook), out,
                                 provenance=run.provenance, force=force)
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


@codebook_group.command(name="export")
@click.argument("path", required=False, type=click.Path())
@click.option("--to", "fmt", type=click.Choice(["qdc"]), default="qdc", show_default=True,
              help="Format: a REFI-QDA codebook.")
@click.option("-o", "--output", required=True, type=click.Path(), help="The .qdc file to write.")
@force_option
@handle_errors
def codebook_export(path: str | None, fmt: str, output: str, force: bool) -> None:
    """Export a codebook for QDA programs (REFI-QDA .qdc: ATLAS.ti, MAXQDA, NVivo, QualCoder).

    \b
    Example:
        trustcode codebook export codebook.yaml --to qdc -o codebook.qdc
    """
    from .codebook import load_codebook
    from .refiqda import export_qdc

    click.echo(f"Wrote {export_qdc(load_codebook(path), output, force=force)}.", err=True)


@codebook_group.command(name="import")
@click.argument("path", type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(),
              help="The codebook.yaml skeleton to write.")
@force_option
@handle_errors
def codebook_import(path: str, output: str, force: bool) -> None:
    """Turn a REFI-QDA codebook (.qdc) or a dictionary (quanteda .yml, LIWC .dic) into a
    codebook.yaml skeleton: codes from the .qdc, or codes with rules from a dictionary.

    \b
    Example:
        trustcode codebook import their-codebook.qdc -o codebook.yaml
        trustcode codebook import liwc.dic -o codebook.yaml
    """
    from .dictionaries import import_dictionary, write_codebook_yaml
    from .refiqda import import_qdc

    reader = import_qdc if Path(path).suffix.lower() == ".qdc" else import_dictionary
    written = write_codebook_yaml(reader(path), output, force=force)
    click.echo(f"Wrote {written}; add definitions, examples and rules, then run "
               f"'trustcode codebook check {written}'.", err=True)


@codebook_group.command(name="diagnose")
@click.argument("corpus", nargs=-1, required=True, type=click.Path())
@codebook_option
@click.option("--gold", "gold", multiple=True, type=click.Path(),
              help="Gold codings to measure each rule's precision and recall against.")
@click.option("-m", "--model", default="default", show_default=True,
              help="Model for the classifier columns: 'default', a file, or 'none'.")
@click.option("-u", "--unit", default="paragraph", show_default=True, help="Passage unit.")
@click.option("-o", "--output", default=None, type=click.Path(),
              help="Write every table (.xlsx or a CSV folder).")
@force_option
@handle_errors
def codebook_diagnose(
    corpus: tuple[str, ...], codebook: str | None, gold: tuple[str, ...], model: str,
    unit: str, output: str | None, force: bool,
) -> None:
    """What each rule does on a corpus: coverage, overlap, conflicts, rules that never fire,
    precision and recall against gold, rule/classifier disagreements, suggested terms.

    \b
    Example:
        trustcode codebook diagnose ../shared/corpus-sources --gold corpus/gold/coding \\
            -o diagnosis.xlsx
    """
    from .diagnose import diagnose

    _refuse_existing(output, force)
    result = diagnose(list(corpus), codebook=codebook, gold=list(gold) or None,
                      model=None if model.lower() == "none" else model, unit=unit)
    click.echo(result.summary())
    _write_frames(result.frames(), output, force)


@codebook_group.command(name="diff")
@click.argument("old", type=click.Path())
@click.argument("new", type=click.Path())
@click.argument("corpus", nargs=-1, required=True, type=click.Path())
@click.option("--gold", "gold", multiple=True, type=click.Path(),
              help="Gold codings: report the change in agreement with them.")
@click.option("-m", "--model", default=None, type=click.Path(),
              help="A model file to code with on both sides (default: rules only).")
@click.option("-u", "--unit", default="paragraph", show_default=True, help="Passage unit.")
@click.option("-o", "--output", default=None, type=click.Path(),
              help="Write every table (.xlsx or a CSV folder).")
@force_option
@handle_errors
def codebook_diff(
    old: str, new: str, corpus: tuple[str, ...], gold: tuple[str, ...], model: str | None,
    unit: str, output: str | None, force: bool,
) -> None:
    """What an edit to a codebook changes: passages gained and lost per code, the change in the
    code x document table and in agreement with gold; codes renamed, added or removed.

    \b
    Example:
        trustcode codebook diff codebook.yaml codebook-v2.yaml corpus/ -o diff.xlsx
    """
    from .diagnose import diff_codebooks

    _refuse_existing(output, force)
    result = diff_codebooks(old, new, list(corpus), gold=list(gold) or None, model=model,
                            unit=unit)
    click.echo(result.summary())
    _write_frames(result.frames(), output, force)


# --- train and evaluate -----------------------------------------------------------------------


def definitions_option(func: F) -> F:
    return click.option(
        "--definitions",
        is_flag=True,
        help="Also learn from the codebook's descriptions of the codes (label, definition, "
        "include), weighted like an average code's gold. Helps codebooks with little gold; "
        "measure it with 'evaluate --definitions' first.",
    )(func)


@main.command()
@click.argument("gold", nargs=-1, required=True, type=click.Path())
@codebook_option
@click.option("-o", "--output", required=True, type=click.Path(), help="The model file to write.")
@definitions_option
@unreviewed_option
@force_option
@handle_errors
def train(
    gold: tuple[str, ...], codebook: str | None, output: str, definitions: bool, unreviewed: str,
    force: bool,
) -> None:
    """Train the classifier on gold codings and the codebook's examples; save it with skops.

    GOLD: hand-coded offset files, passage tables (doc_id, text, codes), trustcode outputs, or
    folders of them.

    \b
    Example:
        trustcode train corpus/gold/coding -o model.skops
        trustcode code reports/ --model model.skops -o coded.xlsx
    """
    from .workflows import train as train_model

    model, path = train_model(list(gold), output, codebook=codebook, force=force,
                              unreviewed=unreviewed, definitions=definitions)
    thresholds = ", ".join(f"{c} {t:.2f}" for c, t in model.thresholds_.items())
    click.echo(f"Trained on {model.n_training_} passages; classifier codes: "
               f"{thresholds or 'none (rules only)'}.")
    click.echo(f"Wrote {path}.", err=True)


@main.command()
@click.argument("gold", nargs=-1, required=True, type=click.Path())
@codebook_option
@click.option("-k", "--folds", default=5, show_default=True, type=int,
              help="Cross-validation folds, grouped by document.")
@click.option("-m", "--model", default=None, type=click.Path(),
              help="Test this model on the gold instead of cross-validating.")
@click.option("-o", "--output", default=None, type=click.Path(),
              help="Write the metrics and the disagreements (.xlsx or a CSV folder).")
@definitions_option
@unreviewed_option
@force_option
@handle_errors
def evaluate(
    gold: tuple[str, ...], codebook: str | None, folds: int, model: str | None,
    output: str | None, definitions: bool, unreviewed: str, force: bool,
) -> None:
    """Measure rules alone, classifier alone and combined against gold codings.

    Cross-validation is grouped by document: no passage of a test document is trained on.
    Prints precision, recall, F1 and Krippendorff's alpha per code and overall, per language.

    \b
    Example:
        trustcode evaluate corpus/gold/coding --folds 5 -o evaluation.xlsx
    """
    from .workflows import evaluate_gold, evaluation_frames

    _refuse_existing(output, force)
    result = evaluate_gold(list(gold), codebook=codebook, folds=folds, model=model,
                           unreviewed=unreviewed, definitions=definitions)
    for language in dict.fromkeys(result.metrics["language"]):
        wide = result.side_by_side(language)
        f1 = wide.loc[:, [c for c in wide.columns if c[1] in ("f1", "alpha")]]
        f1.columns = [f"{system} {metric}" for system, metric in f1.columns]
        click.echo(f"\n== {language}: F1 and Krippendorff's alpha against gold")
        click.echo(f1.round(3).to_string())
    _write_frames(evaluation_frames(result), output, force)


# --- compare, agree, report -------------------------------------------------------------------


@main.command(name="compare")
@click.argument("coded", nargs=-1, required=True, type=click.Path())
@click.option("--by", default=None, help="Documents column whose values form the groups.")
@codebook_option
@click.option("-o", "--output", default="comparison.xlsx", show_default=True, type=click.Path(),
              help="Tables as .xlsx or a CSV folder; figures go to OUTPUT-figures/.")
@force_option
@handle_errors
def compare_cmd(
    coded: tuple[str, ...], by: str | None, codebook: str | None, output: str, force: bool
) -> None:
    """Compare codings across documents and groups: shares, tests, co-occurrence, figures.

    CODED: outputs of 'trustcode code' (any format) or gold files.

    \b
    Example:
        trustcode code ../shared/corpus-sources -o sources.xlsx
        trustcode compare sources.xlsx --by group -o comparison.xlsx
    """
    from .io.tables import check_output
    from .workflows import compare_files, write_comparison

    check_output(output, force=force)
    result = compare_files(list(coded), by=by, codebook=codebook)
    tests = result.tests
    if by is not None and not tests.empty:
        click.echo(f"Does each code's share differ between the groups of '{by}'? "
                   f"(p adjusted: {result.correction})")
        click.echo(tests[["code", "test", "p_value", "p_adjusted", "reject"]].round(4)
                   .to_string(index=False))
    for path in write_comparison(result, output, force=force):
        click.echo(f"Wrote {path}", err=True)


@main.command(name="agree")
@click.argument("coded", nargs=-1, required=True, type=click.Path())
@click.option("--unit", type=click.Choice(["passage", "document", "character"]),
              default="passage", show_default=True, help="What a decision is made about.")
@click.option("--coded-only", is_flag=True,
              help="Count only units that some coder coded, so uncoded text does not inflate "
              "agreement.")
@codebook_option
@click.option("-o", "--output", default=None, type=click.Path(),
              help="Write the agreement tables and the disagreements (.xlsx or a CSV folder).")
@unreviewed_option
@force_option
@handle_errors
def agree_cmd(
    coded: tuple[str, ...], unit: str, coded_only: bool, codebook: str | None,
    output: str | None, unreviewed: str, force: bool,
) -> None:
    """Agreement between two or more codings of the same documents: percent agreement,
    Cohen's kappa (two coders), Fleiss' kappa, Krippendorff's alpha with bootstrap intervals.

    \b
    Example:
        trustcode agree corpus/gold/coding coded.xlsx --unit passage -o agreement.xlsx
    """
    from .workflows import agree_files, agreement_frames

    _refuse_existing(output, force)
    result = agree_files(list(coded), unit=unit, coded_only=coded_only, codebook=codebook,
                         unreviewed=unreviewed)
    columns = ["code", "n_units", "percent_agreement", "cohen_kappa", "krippendorff_alpha",
               "alpha_ci_low", "alpha_ci_high"]
    click.echo(f"Coders: {', '.join(result.coders)}; unit: {unit}")
    click.echo(result.per_code[[c for c in columns if c in result.per_code]].round(3)
               .to_string(index=False))
    click.echo(result.overall.round(3).to_string(index=False))
    _write_frames(agreement_frames(result), output, force)


@main.command(name="report")
@click.argument("coded", type=click.Path())
@codebook_option
@click.option("--by", default=None, help="Documents column to compare groups by.")
@click.option("--gold", default=None, type=click.Path(),
              help="Gold codings to show agreement with.")
@click.option("-o", "--output", default="report.html", show_default=True, type=click.Path())
@redact_options
@force_option
@handle_errors
def report_cmd(
    coded: str, codebook: str | None, by: str | None, gold: str | None, output: str,
    redact: bool, redact_names: str | None, redact_model: str | None, force: bool,
) -> None:
    """One self-contained HTML report: codebook, highlighted documents, frequencies, groups.

    \b
    Example:
        trustcode report coded.xlsx --by group -o report.html
    """
    from .workflows import report

    path = report(coded, output, codebook=codebook, by=by, gold=gold, force=force,
                  redact=_redactor(redact, redact_names, redact_model, codebook))
    click.echo(f"Wrote {path}.", err=True)


# --- REFI-QDA ---------------------------------------------------------------------------------


@main.command(name="export")
@click.argument("coded", type=click.Path())
@click.option("--to", "fmt", type=click.Choice(["qdpx"]), default="qdpx", show_default=True,
              help="Format: a REFI-QDA project.")
@codebook_option
@click.option("-o", "--output", required=True, type=click.Path(), help="The .qdpx to write.")
@redact_options
@force_option
@handle_errors
def export_cmd(
    coded: str, fmt: str, codebook: str | None, output: str, redact: bool,
    redact_names: str | None, redact_model: str | None, force: bool,
) -> None:
    """Export a coding as a REFI-QDA project for QualCoder, ATLAS.ti, MAXQDA or NVivo.

    \b
    Example:
        trustcode export coded.xlsx --to qdpx -o project.qdpx
    """
    from .workflows import export_project

    written = export_project(coded, output, codebook=codebook, force=force,
                             redact=_redactor(redact, redact_names, redact_model, codebook))
    click.echo(f"Wrote {written}.", err=True)


@main.command(name="import")
@click.argument("project", type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(),
              help="Tables to write (.xlsx, .parquet, .jsonl or a CSV folder).")
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
    from .workflows import import_project

    click.echo(f"Wrote {import_project(project, output, force=force)}.", err=True)


def _clip(text: str, width: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def run() -> None:  # pragma: no cover - console entry for `python -m trustcode`
    main(prog_name="trustcode")


if __name__ == "__main__":  # pragma: no cover
    run()

