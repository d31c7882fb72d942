"""The ``trustcode`` click group, :func:`main`, onto which every command registers."""

from __future__ import annotations

import click

from .. import __version__


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


def run() -> None:  # pragma: no cover - console entry for `python -m trustcode.cli`
    main(prog_name="trustcode")
