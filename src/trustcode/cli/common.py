"""What the commands share: options, error and warning display, output checks, progress.

Every command is wrapped in :func:`handle_errors`, which turns a ``TrustcodeError``
into a one-line message and its exit code and shows warnings on one line each.
"""

from __future__ import annotations

import functools
import shlex
import sys
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import click

from ..errors import CodebookAdvice, TrustcodeError, TrustcodeWarning

F = TypeVar("F", bound=Callable[..., Any])

#: where ``code`` writes its tables when no output is named (a folder of CSV files)
DEFAULT_OUTPUT = "coded"

#: warnings shown in full before the rest are only counted
WARNINGS_SHOWN = 20


class _WarningDisplay:
    """Shows one command's warnings on one line each: the first :data:`WARNINGS_SHOWN` in
    full, the rest counted; codebook advice once per codebook, as a pointer to
    ``codebook check``."""

    def __init__(self) -> None:
        self.count = 0
        #: the codebooks whose advice this command has pointed to `codebook check` for
        self.advised: set[str] = set()

    def __call__(self, message: Any, category: Any, filename: Any, lineno: Any, *args: Any) -> None:
        if issubclass(category, CodebookAdvice):
            # at its first piece, so that the run's last line stays the one that says what it
            # wrote
            if message.codebook not in self.advised:
                self.advised.add(message.codebook)
                path = shlex.quote(message.codebook)
                click.echo(
                    f"note: {message.codebook} has advice on how it is written (codes "
                    f"with no rules or no examples): 'trustcode codebook check {path}' "
                    "lists it.",
                    err=True,
                )
            return
        self.count += 1
        if self.count > WARNINGS_SHOWN:
            return
        if issubclass(category, TrustcodeWarning):
            click.echo(f"warning: {message}", err=True)
        else:  # a library's own warning: one line, no source excerpt
            click.echo(f"warning: {category.__name__}: {message}", err=True)

    def close(self) -> None:
        hidden = self.count - WARNINGS_SHOWN
        if hidden > 0:
            click.echo(f"({hidden} more warnings not shown)", err=True)


def option_advice(exc: TrustcodeError, command: click.Command | None) -> str:
    """The options of ``command`` for the parameters an error names (``exc.params``), as a
    sentence to add to its message; empty where the command has none of them.

    >>> from trustcode.errors import OutputError
    >>> cmd = click.Command("x", params=[click.Option(["--force"], is_flag=True)])
    >>> option_advice(OutputError("x exists", params=("force",)), cmd)
    ' Command line: --force.'
    """
    if command is None:
        return ""
    flags = {p.name: max(p.opts, key=len) for p in command.params if isinstance(p, click.Option)}
    named = [flags[name] for name in exc.params if name in flags]
    return f" Command line: {', '.join(named)}." if named else ""


def handle_errors(func: F) -> F:
    """Turn library errors into a clear message (with the options that fix it) and exit code;
    show warnings on one line. The process's warning display is restored afterwards."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        display = _WarningDisplay()
        ctx = click.get_current_context(silent=True)
        try:
            with warnings.catch_warnings():
                warnings.showwarning = display  # type: ignore[assignment]
                return func(*args, **kwargs)
        except TrustcodeError as exc:
            advice = option_advice(exc, ctx.command if ctx is not None else None)
            click.echo(f"Error: {exc}{advice}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            output = kwargs.get("output")
            what = f"{output} was not written" if output else "no output was written"
            click.echo(
                f"Interrupted: {what}; no partial file was left behind, and an earlier "
                "output at that path is unchanged.",
                err=True,
            )
            sys.exit(130)
        finally:
            display.close()

    return wrapper  # type: ignore[return-value]


def _codebook_in_use(ctx: click.Context, param: click.Parameter, value: str | None) -> str:
    """The codebook named, or the one in the working directory, or the shipped one."""
    from ..codebook import codebook_in_use

    return str(codebook_in_use(value))


CODEBOOK_DEFAULT_HELP = "default: ./codebook.yaml if there is one, else the shipped codebook"


def codebook_option(func: F) -> F:
    return click.option(
        "-c",
        "--codebook",
        type=click.Path(dir_okay=False),
        default=None,
        callback=_codebook_in_use,
        help=f"Codebook YAML file ({CODEBOOK_DEFAULT_HELP}).",
    )(func)


def codebook_argument(func: F) -> F:
    """The optional codebook PATH of the ``codebook`` commands, found as ``-c`` finds it."""
    return click.argument(
        "path", required=False, type=click.Path(dir_okay=False), callback=_codebook_in_use
    )(func)


def documents_option(func: F) -> F:
    return click.option(
        "--documents",
        multiple=True,
        type=click.Path(),
        metavar="PATH",
        help="Where the documents of hand-coded gold offsets are: files, folders or a "
        "manifest.csv; repeat it for each (the first that holds a doc_id gives its text). "
        "Default: the folders above each gold file that hold a manifest.csv.",
    )(func)


def unreviewed_option(func: F) -> F:
    return click.option(
        "--unreviewed",
        type=click.Choice(["reject", "accept"]),
        default="reject",
        show_default=True,
        help="In a review workbook, what machine codes left without a decision count as.",
    )(func)


def redact_options(func: F) -> F:
    func = click.option(
        "--redact-model",
        default=None,
        help="With --redact: an installed trained spaCy pipeline whose PERSON entities are "
        "redacted too (never downloaded).",
    )(func)
    func = click.option(
        "--redact-names",
        type=click.Path(dir_okay=False),
        default=None,
        help="With --redact: a file of names to pseudonymize, one per line.",
    )(func)
    return click.option(
        "--redact",
        is_flag=True,
        help="Replace e-mail addresses, phone numbers, URLs, @handles and listed names (file or "
        "the codebook's redact: section) with stable pseudonyms. See SECURITY.md for its limits.",
    )(func)


def redactor(redact: bool, names: str | None, model: str | None, codebook: Any) -> Any:
    """The redactor the ``--redact`` options ask for, or None; ``codebook`` is a path or a
    loaded codebook."""
    if not redact:
        if names or model:
            raise click.UsageError("--redact-names and --redact-model go with --redact.")
        return None
    from ..codebook import load_codebook
    from ..redact import redactor_for
    from ..types import Codebook

    book = codebook if isinstance(codebook, Codebook) else load_codebook(codebook)
    return redactor_for(book, names, spacy_model=model)


def refuse_existing(output: str | None, force: bool) -> None:
    """Before any work: an optional table output must be writable and new (or forced); what a
    forced folder may hold is checked when its tables are written."""
    if output is not None:
        from ..io.tables import check_output

        check_output(output, force=force, tables=None)


def write_optional_frames(frames: Any, output: str | None, force: bool) -> None:
    """Write an optional table output (workbook or CSV folder) and say where."""
    if output is not None:
        from ..io.tables import write_frames

        click.echo(f"Wrote {write_frames(frames, output, force=force)}.", err=True)


def force_option(func: F) -> F:
    return click.option("--force", is_flag=True, help="Overwrite the output if it exists.")(func)


class _Progress:
    """A tqdm bar on stderr: documents done of the total, documents and words per second,
    the time left, and the document just coded."""

    def __init__(self, label: str, total: int) -> None:
        import shutil

        from tqdm import tqdm

        # shutil falls back to $COLUMNS or 80x24 where a terminal reports no size (tqdm's own
        # measure then draws nothing)
        size = shutil.get_terminal_size()
        self.bar = tqdm(
            total=total,
            desc=label,
            unit="doc",
            file=sys.stderr,
            ncols=size.columns,
            nrows=size.lines,
        )
        self.words = 0

    def __call__(self, document: Any) -> None:
        self.words += len(document.text.split())
        elapsed = self.bar.format_dict["elapsed"]
        rate = f"{self.words / elapsed:,.0f} words/s" if elapsed > 0 else "- words/s"
        self.bar.set_postfix_str(f"{rate}, {document.doc_id[:24]}", refresh=False)
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


def _on_terminal() -> bool:
    return sys.stderr.isatty()


def progress_bar(
    quiet: bool, label: str, total: Callable[[], int]
) -> tuple[Callable[[Any], None] | None, _Progress | None]:
    """A progress callback drawing on stderr, or nothing when quiet or stderr is no terminal;
    ``total`` (how many documents there are) is only counted for a bar that is shown."""
    if quiet or not _on_terminal():
        return None, None
    bar = _Progress(label, total())
    return bar, bar
