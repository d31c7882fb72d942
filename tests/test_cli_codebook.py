"""`trustcode codebook check | show | schema`."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from trustcode.cli import main
from trustcode.codebook import DEFAULT_CODEBOOK

from .conftest import CODEBOOK


def test_check_passes_on_the_shipped_codebook() -> None:
    result = CliRunner().invoke(main, ["codebook", "check", str(CODEBOOK)])
    assert result.exit_code == 0, result.output
    assert "valid; 10 codes under 2 parents, " in result.output
    assert "examples pass" in result.output


def test_check_and_show_count_codes_the_same_way() -> None:
    check = CliRunner().invoke(main, ["codebook", "check", str(CODEBOOK)])
    show = CliRunner().invoke(main, ["codebook", "show", str(CODEBOOK)])
    assert show.exit_code == 0, show.output
    assert "; 10 codes under 2 parents, " in show.output.splitlines()[1]
    assert "; 10 codes under 2 parents, " in check.output


def test_check_lists_every_problem_of_a_broken_codebook(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "name: broken\n"
        "codes:\n"
        "  - id: a\n"
        "    label: A\n"
        "    defintion: typo\n"
        "    colour: red\n"
        "    rules:\n"
        "      - regex: '[a-'\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["codebook", "check", str(broken)])
    assert result.exit_code == 2
    assert "broken.yaml:5: codes[0].defintion:" in result.output
    assert "did you mean 'definition'" in result.output
    assert "broken.yaml:6: codes[0].colour:" in result.output
    assert "broken.yaml:8: codes[0].rules[0].regex:" in result.output
    assert "Traceback" not in result.output


def test_check_runs_examples_as_tests(tmp_path: Path) -> None:
    book = {
        "name": "examples",
        "codes": [
            {
                "id": "support",
                "label": "Support",
                "examples": {
                    "positive": ["Lawyers defended the activists.", "Volunteers sent parcels."],
                    "negative": ["Lawyers were detained."],
                },
                "rules": [{"id": "lawyer", "phrases": ["lawyers"]}],
            }
        ],
    }
    path = tmp_path / "cb.yaml"
    path.write_text(yaml.safe_dump(book), encoding="utf-8")
    result = CliRunner().invoke(main, ["codebook", "check", str(path)])
    assert result.exit_code == 1
    assert "2 of 3 examples fail" in result.output
    assert "support (positive): Volunteers sent parcels. [no rule fired]" in result.output
    assert "support (negative): Lawyers were detained. [support.lawyer]" in result.output


def test_show_prints_every_code_and_rule_id() -> None:
    result = CliRunner().invoke(main, ["codebook", "show", str(CODEBOOK)])
    assert result.exit_code == 0
    data = yaml.safe_load(CODEBOOK.read_text(encoding="utf-8"))
    for code in data["codes"]:
        assert code["id"] in result.output
        for rule in code.get("rules", []):
            assert f"{code['id']}.{rule['id']}" in result.output


def test_schema_is_json_that_validates_the_shipped_codebook() -> None:
    result = CliRunner().invoke(main, ["codebook", "schema"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(yaml.safe_load(CODEBOOK.read_text(encoding="utf-8")), schema)


def test_check_without_a_path_checks_the_codebook_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["codebook", "check"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"{DEFAULT_CODEBOOK}: valid; 10 codes")
    (tmp_path / "codebook.yaml").write_text(
        "name: mine\ncodes:\n  - id: a\n    label: A\n    rules: [{phrases: [letters]}]\n"
        "    examples: {positive: [Letters came.]}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["codebook", "check"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("codebook.yaml: valid; 1 code, 1 rules")


def test_check_lists_all_the_advice_the_other_commands_point_to(tmp_path: Path) -> None:
    codebook = tmp_path / "cb.yaml"
    codes = "".join(
        f"  - {{id: c{i}, label: C{i}, rules: [{{regex: 'w{i}'}}]}}\n" for i in range(25)
    )
    codebook.write_text(f"name: many\ncodes:\n{codes}", encoding="utf-8")
    result = CliRunner().invoke(main, ["codebook", "check", str(codebook)])
    assert result.exit_code == 0, result.output
    advice = [line for line in result.output.splitlines() if line.startswith("advice: ")]
    assert len(advice) == 25
    assert advice[0] == (
        f"advice: {codebook}:3: codes[0]: code 'c0' has no examples; add some "
        "so that `trustcode codebook check` can test its rules"
    )
    assert "more warnings not shown" not in result.output
