"""The Dask engine gives the same tables as the local engine."""

from __future__ import annotations

import errno
import os
import shutil
import warnings
from pathlib import Path

import pandas as pd
import pytest

import trustcode
from trustcode.errors import DocumentSkipped, InputError, OutputError
from trustcode.io.tables import read_tables

distributed = pytest.importorskip(
    "distributed", reason="dask.distributed is not installed (pip install 'trustcode[dask]')"
)

from trustcode.engines import code_with_dask  # noqa: E402

# Dask's scheduler and workers always start an HTTP server (its diagnostics pages); they are bound
# to the loopback address below, and the cluster itself talks over the in-process transport.
pytestmark = pytest.mark.enable_socket

DOCS = {
    "letters.txt": (
        "Volunteers wrote letters to political prisoners every week.\n\n"
        "Nobody trusted the official news, so people read independent channels instead.\n\n"
        "A quiet afternoon in the park."
    ),
    "russian.txt": (
        "Волонтёры писали письма политзаключённым и собирали передачи.\n\n"
        "Соседи обсуждали погоду и урожай."
    ),
    "sub/third.md": "# Notes\n\nActivists who left and those who stayed met online to talk.",
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("corpus")
    for name, text in DOCS.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def client() -> object:
    # worker threads in this process; only the loopback HTTP servers open sockets
    cluster = distributed.LocalCluster(
        processes=False,
        n_workers=2,
        threads_per_worker=1,
        dashboard_address="127.0.0.1:0",
        worker_dashboard_address="127.0.0.1:0",
    )
    with distributed.Client(cluster) as dask_client:
        yield dask_client
    cluster.close()


def _assert_same_tables(left: Path, right: Path) -> None:
    a, _ = read_tables(left)
    b, _ = read_tables(right)
    assert set(a) == set(b) == set(trustcode.types.TABLE_NAMES)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], obj=name)


def test_dask_tables_equal_local_tables(corpus: Path, client: object, tmp_path: Path) -> None:
    local = trustcode.code_corpus(corpus, model=None, output=tmp_path / "local.parquet")
    out = code_with_dask(corpus, tmp_path / "dask.parquet", model=None, scheduler=client)
    assert out == tmp_path / "dask.parquet"
    _assert_same_tables(local.output, out)
    tables, provenance = read_tables(out)
    assert list(tables["documents"]["doc_id"]) == ["letters", "russian", "sub/third"]
    assert "prisoner_support" in set(tables["codings"]["code"])
    assert provenance["options"]["engine"] == "dask"
    # the staging parts are gone: only the two outputs remain
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dask.parquet", "local.parquet"]


def test_dask_with_default_model_and_small_batches(
    corpus: Path, client: object, tmp_path: Path
) -> None:
    local = trustcode.code_corpus(corpus, output=tmp_path / "local.parquet")
    out = code_with_dask(corpus, tmp_path / "dask.parquet", scheduler=client, batch_size=1)
    _assert_same_tables(local.output, out)


def test_dask_with_the_shipped_encoder_model(corpus: Path, client: object, tmp_path: Path) -> None:
    # each worker resolves the shipped model's name to its own installation's file
    local = trustcode.code_corpus(corpus, model="muse", output=tmp_path / "local.parquet")
    out = code_with_dask(corpus, tmp_path / "dask.parquet", model="muse", scheduler=client)
    _assert_same_tables(local.output, out)
    assert read_tables(out)[1]["model"] == "muse (shipped)"


def test_dask_with_manifest_metadata(corpus_sources: Path, client: object, tmp_path: Path) -> None:
    local = trustcode.code_corpus(corpus_sources, model=None, output=tmp_path / "l.parquet")
    out = code_with_dask(corpus_sources, tmp_path / "d.parquet", model=None, scheduler=client)
    _assert_same_tables(local.output, out)
    tables, _ = read_tables(out)
    assert {"group", "date", "author"} <= set(tables["documents"].columns)


def test_dask_skips_unreadable_file_like_local(client: object, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text("Letters reached political prisoners.", encoding="utf-8")
    (folder / "b.txt").write_bytes(b"")  # empty: skipped with a warning
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code_with_dask(folder, tmp_path / "d.parquet", model=None, scheduler=client)
    assert any(
        issubclass(w.category, DocumentSkipped) and "b.txt" in str(w.message) for w in caught
    )
    tables, _ = read_tables(tmp_path / "d.parquet")
    assert list(tables["documents"]["doc_id"]) == ["a"]


def test_dask_errors_leave_no_output(client: object, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "b.txt").write_bytes(b"")
    with pytest.raises(InputError, match="No documents"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DocumentSkipped)
            code_with_dask(folder, tmp_path / "d.parquet", model=None, scheduler=client)
    with pytest.raises(InputError, match="no such file"):
        code_with_dask(tmp_path / "missing", tmp_path / "e.parquet", scheduler=client)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


def test_dask_on_a_full_disk_fails_cleanly(
    corpus: Path, client: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "d.parquet"
    corpus_copy = tmp_path / "in"
    shutil.copytree(corpus, corpus_copy)

    def full(self: pd.DataFrame, *args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    # the workers are threads of this process: their staging parts hit the full disk
    monkeypatch.setattr(pd.DataFrame, "to_parquet", full)
    with pytest.raises(OutputError, match=r"cannot write .*d\.parquet: the disk is full"):
        code_with_dask(corpus_copy, out, model=None, scheduler=client)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


def test_dask_without_scheduler_starts_its_own_cluster(corpus: Path, tmp_path: Path) -> None:
    local = trustcode.code_corpus(corpus, model=None, output=tmp_path / "local.parquet")
    out = code_with_dask(corpus, tmp_path / "dask.parquet", model=None)
    _assert_same_tables(local.output, out)


def test_missing_dask_is_a_usage_error_naming_the_extra(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    from trustcode.errors import UsageError

    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed now fails
    with pytest.raises(UsageError, match=r"trustcode\[dask\]"):
        code_with_dask(corpus, tmp_path / "dask.parquet", model=None)
    assert not (tmp_path / "dask.parquet").exists()


def test_dask_records_relative_paths_as_given(
    corpus: Path, client: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(corpus.parent)
    relative = Path(corpus.name)
    local = trustcode.code_corpus(relative, model=None, output=tmp_path / "local.parquet")
    out = code_with_dask(relative, tmp_path / "dask.parquet", model=None, scheduler=client)
    _assert_same_tables(local.output, out)
    tables, _ = read_tables(out)
    assert tables["documents"]["source"].iloc[0] == str(relative / "letters.txt")
