"""Security and privacy: no network, untrusted YAML and model files refused, no pickle.

Zip and XML hardening of REFI-QDA imports is tested in test_refiqda.py; CSV injection in
test_io_tables.py; redaction in test_redact.py.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import pytest_socket
from click.testing import CliRunner

from trustcode.cli import main
from trustcode.codebook import load_codebook, parse_codebook
from trustcode.errors import CodebookError, InputError, ModelError, TrustcodeError
from trustcode.types import Code, Codebook

SRC = Path(__file__).resolve().parents[1] / "src" / "trustcode"


# --- no network -----------------------------------------------------------------------------


def test_a_socket_attempt_fails_inside_a_test() -> None:
    # pytest-socket is on for every test (addopts); if it were off this would try to connect
    with pytest.raises(pytest_socket.SocketBlockedError):
        socket.create_connection(("192.0.2.1", 9), timeout=0.01)  # TEST-NET-1: never routed
    with pytest.raises(pytest_socket.SocketBlockedError):
        socket.socket(socket.AF_INET6, socket.SOCK_STREAM)


# Installed ahead of everything in the child process: records and refuses any attempt to reach
# the network, so a library that swallowed the error would still be caught by the log.
_SITECUSTOMIZE = """
import os, socket
_LOG = os.environ["TRUSTCODE_NET_LOG"]

def _note(what):
    with open(_LOG, "a", encoding="utf-8") as handle:
        handle.write(what + "\\n")

_note("hook loaded")
_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex
_sendto = socket.socket.sendto

def _refuse(self, *args):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        _note(f"network attempt: {args!r}")
        raise OSError("network access is forbidden in this test")
    return None

def connect(self, *args):
    _refuse(self, *args)
    return _connect(self, *args)

def connect_ex(self, *args):
    _refuse(self, *args)
    return _connect_ex(self, *args)

def sendto(self, *args):
    _refuse(self, *args)
    return _sendto(self, *args)

socket.socket.connect, socket.socket.connect_ex, socket.socket.sendto = connect, connect_ex, sendto
_getaddrinfo = socket.getaddrinfo

def getaddrinfo(host, *args, **kwargs):
    if host not in (None, "localhost", "127.0.0.1", "::1", ""):
        _note(f"name lookup: {host!r}")
        raise OSError("name lookups are forbidden in this test")
    return _getaddrinfo(host, *args, **kwargs)

socket.getaddrinfo = getaddrinfo
"""


def _corpus(folder: Path) -> Path:
    folder.mkdir()
    (folder / "letter.txt").write_text(
        "Volunteers wrote letters to political prisoners every week.\n\n"
        "Neighbours who stayed sent parcels; those who left raised money.",
        encoding="utf-8",
    )
    (folder / "письмо.txt").write_text(
        "Волонтёры писали письма политзаключённым.\n\nСоседи помогали друг другу.",
        encoding="utf-8",
    )
    return folder


def _run_offline(tmp_path: Path, prefix: list[str]) -> Path:
    hook = tmp_path / "hook"
    hook.mkdir(exist_ok=True)
    (hook / "sitecustomize.py").write_text(_SITECUSTOMIZE, encoding="utf-8")
    log = tmp_path / "net.log"
    log.write_text("", encoding="utf-8")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(hook), os.environ.get("PYTHONPATH", "")]),
        "TRUSTCODE_NET_LOG": str(log),
    }
    corpus = _corpus(tmp_path / "corpus")
    commands = [
        ["code", str(corpus), "-o", str(tmp_path / "coded.xlsx"), "-q"],
        ["report", str(tmp_path / "coded.xlsx"), "-o", str(tmp_path / "report.html")],
    ]
    for command in commands:
        done = subprocess.run(
            [*prefix, sys.executable, "-m", "trustcode.cli", *command],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
    return log


def _can_unshare() -> bool:
    if shutil.which("unshare") is None:
        return False
    try:
        return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0
    except OSError:
        return False


def test_cli_code_and_report_work_offline(tmp_path: Path) -> None:
    # Where possible the run also gets a network namespace of its own (no interface but a down
    # loopback), so anything that needed the network would fail; the hook logs any attempt.
    prefix = ["unshare", "-n"] if _can_unshare() else []
    log = _run_offline(tmp_path, prefix)
    lines = log.read_text(encoding="utf-8").splitlines()
    assert lines and set(lines) == {"hook loaded"}, lines
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "letter" in html
    # a self-contained report: no script, style or image is fetched from elsewhere
    assert not re.search(r"""<(script|link|img|iframe)[^>]+(src|href)=["']?(https?:)?//""", html)
    assert "@import" not in html


# --- untrusted YAML -------------------------------------------------------------------------

PAYLOADS = [
    "!!python/object/apply:os.system ['echo owned > {marker}']",
    "!!python/object/new:os.system ['echo owned > {marker}']",
    "!!python/name:os.system",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_codebook_yaml_python_tags_are_refused(tmp_path: Path, payload: str) -> None:
    marker = tmp_path / "owned"
    text = (
        f"name: evil\ndescription: {payload.format(marker=marker)}\ncodes:\n- {{id: a, label: A}}\n"
    )
    file = tmp_path / "codebook.yaml"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(CodebookError, match=r"codebook.yaml:2"):
        load_codebook(file)
    result = CliRunner().invoke(main, ["codebook", "check", str(file)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert not marker.exists()


def test_dictionary_yaml_python_tags_stay_inert(tmp_path: Path) -> None:
    from trustcode.dictionaries import import_dictionary

    marker = tmp_path / "owned"
    file = tmp_path / "dict.yml"
    file.write_text(f"hope: !!python/object/apply:os.system ['touch {marker}']\n", encoding="utf-8")
    try:  # the tag is ignored (the entry is read as a plain term) or refused; never run
        import_dictionary(file)
    except TrustcodeError:
        pass
    assert not marker.exists()


_UNSAFE_CALLS = re.compile(
    r"yaml\.(unsafe_load|full_load|load_all)\(|yaml\.load\((?![^)]*SafeLoader)"
    r"|Loader=yaml\.(Unsafe|Full)?Loader\b|\bimport (c?pickle|dill|cloudpickle|marshal|shelve)\b"
    r"|\bpickle\.loads?\(|joblib\.load\(|\beval\(|\bexec\(|trusted=True"
)


def test_source_uses_no_unsafe_loader() -> None:
    found = []
    for file in sorted(SRC.rglob("*.py")):
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
            if _UNSAFE_CALLS.search(line.split("#")[0]):
                found.append(f"{file.relative_to(SRC)}:{number}: {line.strip()}")
    assert found == []


# --- untrusted model files ------------------------------------------------------------------


def _book() -> Codebook:
    return Codebook(name="t", codes=(Code(id="a", label="A"),), sha256="0" * 64)


def _skops_file(tmp_path: Path, state: object) -> Path:
    import skops.io as sio

    path = tmp_path / "crafted.skops"
    path.write_bytes(sio.dumps(state))
    return path


def test_model_with_an_untrusted_function_is_refused(tmp_path: Path) -> None:
    from trustcode.classify import MODEL_FORMAT, load_model

    path = _skops_file(tmp_path, {"format": MODEL_FORMAT, "hook": os.system})
    with pytest.raises(ModelError, match=r"not a trustcode model.*Untrusted"):
        load_model(path, _book())


def test_model_with_an_untrusted_object_is_refused(tmp_path: Path) -> None:
    from argparse import Namespace

    from trustcode.classify import MODEL_FORMAT, load_model

    path = _skops_file(tmp_path, {"format": MODEL_FORMAT, "obj": Namespace(cmd="rm -rf ~")})
    with pytest.raises(ModelError, match=r"not a trustcode model.*argparse.Namespace"):
        load_model(path, _book())
    corpus = _corpus(tmp_path / "corpus")
    result = CliRunner().invoke(
        main, ["code", str(corpus), "-m", str(path), "-o", str(tmp_path / "out")]
    )
    assert result.exit_code == 2 and "not a trustcode model" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()


def test_crafted_schema_naming_a_dangerous_type_is_refused(tmp_path: Path) -> None:
    # a hand-edited schema.json that names builtins.eval as the object to build
    import zipfile

    from trustcode.classify import MODEL_FORMAT, load_model

    path = _skops_file(tmp_path, {"format": MODEL_FORMAT, "x": np.zeros(1)})
    with zipfile.ZipFile(path) as archive:
        schema = json.loads(archive.read("schema.json"))
        members = {n: archive.read(n) for n in archive.namelist() if n != "schema.json"}
    schema["content"]["x"] = {
        "__class__": "eval",
        "__module__": "builtins",
        "__loader__": "TypeNode",
        "__id__": 999,
        "content": "builtins.eval",
    }
    evil = tmp_path / "evil.skops"
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("schema.json", json.dumps(schema))
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(ModelError):
        load_model(evil, _book())


def test_pickle_files_are_not_models(tmp_path: Path) -> None:
    import pickle  # only to make the file an attacker would send

    from trustcode.classify import load_model

    path = tmp_path / "model.skops"
    path.write_bytes(pickle.dumps({"format": "x"}))
    with pytest.raises(ModelError, match="not a trustcode model"):
        load_model(path, _book())


def test_parse_codebook_rejects_python_tags_in_strings() -> None:
    with pytest.raises(CodebookError):
        parse_codebook("name: !!python/object:object {}\ncodes:\n- {id: a, label: A}\n")


def test_names_file_is_data_not_code(tmp_path: Path) -> None:
    from trustcode.redact import read_names

    file = tmp_path / "names.txt"
    file.write_text("!!python/object/apply:os.system ['true']\n", encoding="utf-8")
    # read as the literal name it is, never interpreted
    assert read_names(file) == ("!!python/object/apply:os.system ['true']",)
    with pytest.raises(InputError):
        read_names(tmp_path)
