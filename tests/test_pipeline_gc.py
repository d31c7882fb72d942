"""code_corpus keeps the objects that exist before a run out of the collector's full passes
during the run, and gives them back afterwards."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

import trustcode
from trustcode.pipeline.heap import _frozen_heap


def test_the_heap_is_frozen_during_a_run_and_thawed_after(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Volunteers write letters to prisoners.", encoding="utf-8")
    counts: list[int] = []
    run = trustcode.code_corpus(
        tmp_path, model=None, progress=lambda _doc: counts.append(gc.get_freeze_count())
    )
    assert len(run.tables["documents"]) == 1
    assert counts and counts[0] > 1000  # the imported modules' objects, at least
    assert gc.get_freeze_count() == 0


def test_a_freeze_made_by_someone_else_is_left_alone() -> None:
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with _frozen_heap():
            assert gc.get_freeze_count() == frozen
        assert gc.get_freeze_count() == frozen  # not thawed by trustcode
    finally:
        gc.unfreeze()


def test_the_heap_is_thawed_when_the_run_fails(tmp_path: Path) -> None:
    with pytest.raises(trustcode.TrustcodeError):
        trustcode.code_corpus(tmp_path / "missing", model=None)
    assert gc.get_freeze_count() == 0


def test_young_collections_are_rarer_during_a_run_and_restored_after(tmp_path: Path) -> None:
    from trustcode.pipeline.heap import _GC_YOUNG

    (tmp_path / "a.txt").write_text("Волонтёры пишут письма политзаключённым.", encoding="utf-8")
    before = gc.get_threshold()
    seen: list[tuple[int, ...]] = []
    trustcode.code_corpus(
        tmp_path, model=None, progress=lambda _doc: seen.append(gc.get_threshold())
    )
    assert seen == [(max(before[0], _GC_YOUNG), *before[1:])]
    assert gc.get_threshold() == before
    # a failed run restores it too
    with pytest.raises(trustcode.TrustcodeError):
        trustcode.code_corpus(tmp_path / "missing", model=None)
    assert gc.get_threshold() == before
