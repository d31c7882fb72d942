"""Tests of the compiled-rules cache: a second run reads what the first computed, gives the same
hits, and a cache that cannot be read or written costs speed, never a run."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from trustcode.rules import RuleSet, cache, linear
from trustcode.types import Code, Codebook, Passage, Rule

TEXT = "Two activists were arrested; решение об аресте; the prisoners' cells, чат-боты."


def rules() -> Codebook:
    found = (
        Rule(id="c.lemmas", code="c", kind="lemmas", terms=("arrest", "political prisoner")),
        Rule(id="c.ru", code="c", kind="lemmas", lang="ru", terms=("арест",)),
        Rule(id="c.regex", code="c", kind="regex", pattern=r"\bcells?\b"),
        Rule(id="c.look", code="c", kind="regex", pattern=r"(?<=\s)чат-?бот\w*"),
    )
    return Codebook(name="x", codes=(Code(id="c", label="C", rules=found),), languages=("en", "ru"))


def hits(ruleset: RuleSet) -> list[tuple[str, int, int]]:
    found = []
    for language in ("en", "ru"):
        passage = Passage("d", 0, 0, len(TEXT), TEXT)
        found += [(h.rule_id, h.start, h.end) for h in ruleset.match([passage], language)[0]]
    return found


def forbid(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make expanding a lemma or translating a regex fail: a run must take both from disk."""

    def fail(*_args: Any) -> Any:
        raise AssertionError("computed again instead of read from the cache")

    monkeypatch.setattr(cache, "expand_lemma", fail)
    monkeypatch.setattr(cache, "compile_linear", fail)


@pytest.mark.skipif(linear.re2_module() is None, reason="google-re2 (the re2 extra) is missing")
def test_a_second_run_reads_lemmas_and_regexes_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path))
    first = RuleSet(rules())
    expected = hits(first)
    assert [p.name for p in tmp_path.iterdir()] == [first._cache.path.name]  # noqa: SLF001
    assert {h[0] for h in expected} == {"c.lemmas", "c.ru", "c.regex", "c.look"}
    forbid(monkeypatch)
    second = RuleSet(rules())
    assert hits(second) == expected
    assert second.regex_fallbacks == first.regex_fallbacks


def test_another_codebook_gets_its_own_entries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path))
    RuleSet(rules())
    changed = Codebook(
        name="x",
        codes=(
            Code(
                id="c",
                label="C",
                rules=(Rule(id="c.regex", code="c", kind="regex", pattern=r"\bcell\b"),),
            ),
        ),
    )
    ruleset = RuleSet(changed)  # not the other codebook's "cells?": its own translation
    assert [h.text for h in ruleset.match([Passage("d", 0, 0, 11, "cells, cell")], "en")[0]] == [
        "cell"
    ]
    assert len(list(tmp_path.iterdir())) == 2


def test_an_unreadable_cache_file_is_computed_again_and_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path))
    expected = hits(RuleSet(rules()))
    (written,) = tmp_path.iterdir()
    written.write_bytes(b"not a cache file")
    assert hits(RuleSet(rules())) == expected
    assert written.read_bytes()[:2] == b"PK"  # an .npz again


def test_a_cache_folder_that_cannot_be_written_costs_no_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("a file where the folder should be", encoding="utf-8")
    monkeypatch.setenv(cache.CACHE_ENV, str(blocked / "cache"))
    assert hits(RuleSet(rules()))
    assert blocked.read_text(encoding="utf-8") == "a file where the folder should be"


def test_an_empty_cache_variable_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(cache.CACHE_ENV, "")
    monkeypatch.chdir(tmp_path)
    assert cache.cache_dir() is None
    assert hits(RuleSet(rules()))
    assert list(tmp_path.iterdir()) == []


def test_the_default_folder_is_the_platforms_cache_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(cache.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", "/somewhere/cache")
    monkeypatch.setattr(cache.sys, "platform", "linux")
    assert cache.cache_dir() == Path("/somewhere/cache/trustcode")


def test_only_the_newest_files_are_kept(tmp_path: Path) -> None:
    for number in range(cache.KEEP_FILES + 3):
        path = tmp_path / f"rules-{number:03d}.npz"
        path.write_bytes(b"x")
        os.utime(path, (number, number))
    cache._prune(tmp_path)  # noqa: SLF001
    kept = sorted(p.name for p in tmp_path.iterdir())
    assert len(kept) == cache.KEEP_FILES and kept[0] == "rules-003.npz"


def test_without_google_re2_a_cached_translation_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path))
    expected = hits(RuleSet(rules()))
    monkeypatch.setattr(linear, "re2_module", lambda: None)
    ruleset = RuleSet(rules())
    assert not ruleset._linear  # noqa: SLF001
    assert hits(ruleset) == expected
