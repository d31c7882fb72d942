"""The plain skops reader gives skops' own state for trustcode's files and declines the rest."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio

from trustcode.skopsfile import read_plain

DEFAULT_MODEL = Path(__file__).resolve().parents[1] / "src/trustcode/data/default-model.skops"


def _same_state(found: dict, expected: dict) -> None:
    assert list(found) == list(expected)
    for key, value in expected.items():
        assert type(found[key]) is type(value), key
        if isinstance(value, np.ndarray):
            assert found[key].dtype == value.dtype, key
            assert np.array_equal(found[key], value), key
        else:
            assert found[key] == value, key


def test_reads_the_default_model_as_skops_does() -> None:
    _same_state(read_plain(DEFAULT_MODEL), sio.load(DEFAULT_MODEL, trusted=[]))


def test_reads_a_plain_dictionary_as_skops_does(tmp_path: Path) -> None:
    state = {
        "name": "x",
        "number": 3,
        "ratio": 0.25,
        "flag": True,
        "nothing": None,
        "words": np.array(["a", "бб", "ccc"]),
        "weights": np.arange(6.0).reshape(2, 3),
        "counts": np.array([1, 2, 3], dtype=np.int32),
    }
    path = tmp_path / "plain.skops"
    sio.dump(state, path)
    _same_state(read_plain(path), sio.load(path, trusted=[]))


@pytest.mark.parametrize(
    "state",
    [
        {"nested": {"a": np.arange(3)}},  # a dictionary inside
        {"items": [1, 2, 3]},  # a list node
        {1: np.arange(3)},  # a key that is not text
        {"objects": np.array([{"a": 1}], dtype=object)},  # an object array
    ],
    ids=["nested", "list", "int-key", "object-array"],
)
def test_declines_other_shapes(tmp_path: Path, state: dict) -> None:
    path = tmp_path / "other.skops"
    sio.dump(state, path)
    assert read_plain(path) is None


def _rewrite(source: Path, target: Path, schema_edit=None, files: dict | None = None) -> Path:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for name in old.namelist():
            data = old.read(name)
            if name == "schema.json" and schema_edit is not None:
                schema = json.loads(data)
                schema_edit(schema)
                data = json.dumps(schema).encode()
            new.writestr(name, (files or {}).get(name, data))
    return target


def test_declines_unknown_protocols_broken_and_pickled_files(tmp_path: Path) -> None:
    assert (
        read_plain(_rewrite(DEFAULT_MODEL, tmp_path / "p.skops", lambda s: s.update(protocol=99)))
        is None
    )
    (tmp_path / "text.skops").write_text("not a zip file")
    assert read_plain(tmp_path / "text.skops") is None
    assert read_plain(tmp_path / "missing.skops") is None
    # an array file holding a pickle is refused (np.load without allow_pickle), never run
    pickled = io.BytesIO()
    np.save(pickled, np.array([object()], dtype=object), allow_pickle=True)
    assert (
        read_plain(
            _rewrite(
                DEFAULT_MODEL, tmp_path / "pickle.skops", files={"00000.npy": pickled.getvalue()}
            )
        )
        is None
    )

    # a schema naming another class for an array
    def retype(schema: dict) -> None:
        schema["content"]["coef"]["__class__"] = "matrix"

    assert read_plain(_rewrite(DEFAULT_MODEL, tmp_path / "m.skops", retype)) is None
