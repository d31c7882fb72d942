"""The shipped default codebook (``codebook.yaml``): its shape, its examples and its reach.

The codes and their parents are fixed by CODEBOOK-SPEC.md; these tests check that the file carries
them completely and that its rules actually find each code in the article the project is built
around.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest
import yaml

codebook_module = pytest.importorskip(
    "trustcode.codebook", reason="trustcode.codebook (the loader) is not importable yet"
)
rules_module = pytest.importorskip(
    "trustcode.rules", reason="trustcode.rules (the rules engine) is not importable yet"
)

from trustcode.segment import segment  # noqa: E402
from trustcode.types import Codebook, Document  # noqa: E402

SPEC_PARENTS: dict[str, str] = {
    "decentralization": "strategy",
    "secure_communication": "strategy",
    "safe_spaces": "strategy",
    "prisoner_support": "strategy",
    "advocacy": "strategy",
    "risk_sharing": "strategy",
    "counter_information": "strategy",
    "repression": "context",
    "denunciation": "context",
    "emigration_divide": "context",
}
LEAVES = sorted(SPEC_PARENTS)
ARTICLE_NAME = "fridman_trust_building_across_borders_en.txt"
DEFAULT_RULE_ID = re.compile(r"\.(phrases|lemmas|globs|regex|pattern|near)-\d+$")


@pytest.fixture(scope="module")
def codebook_path() -> Path:
    return Path(__file__).resolve().parents[1] / "codebook.yaml"


@pytest.fixture(scope="module")
def codebook(codebook_path: Path) -> Codebook:
    with warnings.catch_warnings():
        # a legal-but-odd state in the shipped codebook is a defect here, not a warning
        warnings.simplefilter("error")
        return codebook_module.load_codebook(codebook_path)


@pytest.fixture(scope="module")
def ruleset(codebook: Codebook):
    return rules_module.RuleSet(codebook)


def _coded(ruleset, text: str, language: str) -> dict[str, list]:
    passages = segment(Document("t", text, language=language))
    found: dict[str, list] = {}
    for hits in ruleset.match(passages, language):
        for code, code_hits in ruleset.codes(hits).items():
            found.setdefault(code, []).extend(code_hits)
    return found


# --- the file itself --------------------------------------------------------------------------


def test_loads_without_problems(codebook_path: Path) -> None:
    text = codebook_path.read_text(encoding="utf-8")
    assert codebook_module.codebook_problems(text, str(codebook_path)) == []


def test_top_level_settings(codebook_path: Path, codebook: Codebook) -> None:
    raw = yaml.safe_load(codebook_path.read_text(encoding="utf-8"))
    assert raw["version"] == "1.0"
    assert raw["languages"] == ["en", "ru"]
    assert raw["exclusive"] is False
    assert raw["combine"] == "union"
    assert raw["redact"] == []
    assert codebook.name and codebook.description


def test_exactly_the_ten_codes_of_the_spec_under_two_parents(codebook: Codebook) -> None:
    assert sorted(c.id for c in codebook.leaf_codes) == LEAVES
    assert {c.id: c.parent for c in codebook.leaf_codes} == SPEC_PARENTS
    parents = [c for c in codebook.codes if c.id in ("strategy", "context")]
    assert [p.parent for p in parents] == [None, None]
    assert set(codebook.code_ids) == set(LEAVES) | {"strategy", "context"}


@pytest.mark.parametrize("code_id", LEAVES)
def test_every_code_is_fully_described(codebook: Codebook, code_id: str) -> None:
    code = codebook.code(code_id)
    for field in ("label", "definition", "include", "exclude"):
        assert getattr(code, field).strip(), f"{code_id} has no {field}"
    assert re.fullmatch(r"#[0-9a-fA-F]{6}", code.colour)
    assert len(code.positive_examples) >= 2
    assert len(code.negative_examples) >= 2
    languages = {rule.lang for rule in code.rules if not rule.veto}
    assert "any" in languages or {"en", "ru"} <= languages, f"{code_id}: {languages}"


def test_colours_are_distinct(codebook: Codebook) -> None:
    colours = [c.colour.lower() for c in codebook.leaf_codes]
    assert len(set(colours)) == len(colours) == 10


def test_every_rule_has_an_explicit_id(codebook: Codebook) -> None:
    generated = [r.id for r in codebook.rules if DEFAULT_RULE_ID.search(r.id)]
    assert generated == []


def test_uses_every_kind_of_rule_and_a_veto(codebook: Codebook) -> None:
    kinds = {r.kind for r in codebook.rules}
    assert kinds == {"phrases", "lemmas", "globs", "regex", "pattern", "near"}
    assert any(r.veto for r in codebook.rules)


def test_the_top_level_codebook_is_the_shipped_file_not_a_copy(codebook_path: Path) -> None:
    # one file, so that the two cannot drift: the top-level codebook.yaml links to the one the
    # package ships (a copy, even an identical one, would fail here)
    from .conftest import REPO

    assert codebook_path.is_symlink()
    assert codebook_path.resolve() == (REPO / "src" / "trustcode" / "data" / "codebook.yaml")
    # and the package, installed editable or not, ships that very file
    installed = codebook_module.DEFAULT_CODEBOOK
    assert installed.read_bytes() == codebook_path.read_bytes()


# --- the rules at work ------------------------------------------------------------------------


def test_every_example_is_coded_as_it_says(codebook: Codebook, ruleset) -> None:
    failures = rules_module.check_examples(codebook, ruleset)
    assert [(f.code, f.polarity, f.example, f.found) for f in failures] == []


@pytest.fixture(scope="module")
def article_codes(ruleset) -> dict[str, list]:
    article = Path(__file__).resolve().parents[1] / "corpus" / ARTICLE_NAME
    return _coded(ruleset, article.read_text(encoding="utf-8"), "en")


@pytest.mark.parametrize("code_id", LEAVES)
def test_each_code_is_found_in_the_article(article_codes: dict[str, list], code_id: str) -> None:
    assert article_codes.get(code_id), f"no paragraph of the article is coded {code_id}"


@pytest.mark.parametrize(
    "text, language",
    [
        ("OVD-Info and Memorial are cited in the notes below.", "en"),
        ("This article was written in 2025 and revised in the spring.", "en"),
        ("Об этом сообщает ОВД-Инфо со ссылкой на «Мемориал».", "ru"),
    ],
)
def test_naming_an_organization_codes_nothing(ruleset, text: str, language: str) -> None:
    assert _coded(ruleset, text, language) == {}


def test_prison_cell_vetoes_decentralization(ruleset) -> None:
    text = (
        "The activists were organized in cells across several countries; one of them was kept "
        "in a prison cell for a week."
    )
    passages = segment(Document("t", text, language="en"))
    hits = ruleset.match(passages, "en")[0]
    assert "decentralization" in ruleset.vetoed(hits)
    assert "decentralization" not in ruleset.codes(hits)
    # without the prison cell the same description is coded
    assert "decentralization" in _coded(ruleset, text.split(";")[0] + ".", "en")


def test_russian_inflection_is_caught(ruleset) -> None:
    found = _coded(ruleset, "Участниц пикета задержали, а затем оштрафовали.", "ru")
    assert {h.text for h in found["repression"]} == {"задержали", "оштрафовали"}


def test_russian_reports_carry_repression_and_prisoner_support(
    corpus_sources: Path, ruleset
) -> None:
    coded: set[str] = set()
    for path in sorted(corpus_sources.glob("ovdinfo_*_ru.txt")):
        coded |= set(_coded(ruleset, path.read_text(encoding="utf-8"), "ru"))
    assert {"repression", "prisoner_support"} <= coded
