"""The README is the manual: its commands exist and CI runs its test command exactly."""

from __future__ import annotations

import re

from click.testing import CliRunner

from trustcode.cli import main

from .conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def test_ci_runs_the_readme_test_command() -> None:
    commands = re.findall(r"```bash\n(python3 -m venv .*?)\n```", README)
    assert len(commands) == 2, "the set-up section has exactly two commands"
    main_job, tests = commands
    assert "trustcode code corpus/" in main_job
    assert tests in (REPO / ".ci" / "run").read_text(encoding="utf-8")


def test_every_command_the_readme_shows_exists() -> None:
    runner = CliRunner()
    blocks = "\n".join(re.findall(r"```bash\n(.*?)```", README, flags=re.DOTALL))
    shown = set(re.findall(r"^trustcode ((?:codebook )?[a-z]+)", blocks, flags=re.MULTILINE))
    assert {
        "code",
        "train",
        "evaluate",
        "compare",
        "agree",
        "report",
        "export",
        "import",
        "codebook check",
        "codebook diagnose",
    } <= shown
    for command in sorted(shown):
        result = runner.invoke(main, [*command.split(), "--help"])
        assert result.exit_code == 0, f"README shows 'trustcode {command}', which does not exist"


def _run_readme_script():  # type: ignore[no-untyped-def]
    import importlib.util

    spec = importlib.util.spec_from_file_location("run_readme", REPO / "scripts" / "run_readme.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_readme_examples_can_run_in_order_in_one_folder() -> None:
    """scripts/run_readme.py runs them all (it needs ../shared and minutes); here, what can
    be seen without running them: no example overwrites an earlier one's output (which would
    stop it, without --force), and every example that reads the shipped gold says where its
    documents are (the gold's own folder holds only the article)."""
    script = _run_readme_script()
    commands, python = script.readme_commands(README)
    assert len(commands) >= 25 and "code_corpus" in python
    outputs = [script.expected_output(c) for c in commands if c.startswith("trustcode")]
    written = [o.rstrip("/") for o in outputs if o is not None]
    assert len(written) == len(set(written)), sorted(o for o in written if written.count(o) > 1)
    assert "codebook.yaml" not in written  # the shipped codebook is an input of later examples
    for command in commands:
        if "corpus/gold/coding" in command:
            assert "--documents corpus/ --documents ../shared/corpus-sources" in command, command
