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
    assert {"code", "train", "evaluate", "compare", "agree", "report", "export", "import",
            "codebook check", "codebook diagnose"} <= shown
    for command in sorted(shown):
        result = runner.invoke(main, [*command.split(), "--help"])
        assert result.exit_code == 0, f"README shows 'trustcode {command}', which does not exist"
