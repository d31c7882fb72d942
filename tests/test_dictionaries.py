"""Word dictionaries (quanteda YAML, LIWC .dic) -> codebook skeletons that trustcode loads."""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from trustcode.codebook import CODE_ID_PATTERN, parse_codebook
from trustcode.dictionaries import code_id_from_name, import_dictionary, write_atomic
from trustcode.errors import InputError, OutputError, TrustcodeWarning

QUANTEDA = """\
solidarity:
  material:
    - mutual aid
    - donat*
    - "parcel?"
  emotional: [support, "stand with"]
fear:
  - fear
  - afraid
  - "intimidat*"
доверие:
  - доверяю
  - довери*
  - личные связи: [знаком*, друг]
"""

LIWC = """\
%
1\tsocial
2\tfamily\t1
3\tfriends\t1
4\tnegemo
%
family\t1\t2
mother*\t1 2
buddy\t1\t3
best friend\t1\t3
people\t1
worr*\t4
"""


def _write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def _codes(skeleton: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in skeleton["codes"]}


def _loads(skeleton: dict[str, Any]) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TrustcodeWarning)  # skeletons have no examples yet
        return parse_codebook(yaml.safe_dump(skeleton, allow_unicode=True, sort_keys=False))


# --- quanteda YAML ------------------------------------------------------------------------------


def test_quanteda_yaml_nesting_globs_and_phrases(tmp_path) -> None:
    skeleton = import_dictionary(_write(tmp_path, "study.yml", QUANTEDA))
    assert skeleton["name"] == "study"
    codes = _codes(skeleton)
    assert list(codes) == [
        "solidarity",
        "solidarity_material",
        "solidarity_emotional",
        "fear",
        "doverie",
        "doverie_lichnye_svyazi",
        "doverie_general",
    ]
    assert codes["solidarity_material"]["parent"] == "solidarity"
    assert codes["solidarity_material"]["label"] == "material"
    assert codes["solidarity_material"]["rules"] == [
        {"phrases": ["mutual aid"]},
        {"globs": ["donat*", "parcel?"]},
    ]
    assert codes["solidarity_emotional"]["rules"] == [{"phrases": ["support", "stand with"]}]
    assert "rules" not in codes["solidarity"]
    # a category with terms and subcategories: its own terms go to a "(general)" child
    assert codes["doverie_general"] == {
        "id": "doverie_general",
        "label": "доверие (general)",
        "parent": "doverie",
        "rules": [{"phrases": ["доверяю"]}, {"globs": ["довери*"]}],
    }
    assert codes["doverie_lichnye_svyazi"]["rules"] == [
        {"phrases": ["друг"]},
        {"globs": ["знаком*"]},
    ]
    codebook = _loads(skeleton)
    assert codebook.code("fear").rules[1].terms == ("intimidat*",)
    assert {c.id for c in codebook.leaf_codes} == {
        "solidarity_material",
        "solidarity_emotional",
        "fear",
        "doverie_lichnye_svyazi",
        "doverie_general",
    }


def test_quanteda_single_term_and_duplicates(tmp_path) -> None:
    path = _write(tmp_path, "d.yaml", "hope: optimism\nrisk: [danger, danger, Danger]\n")
    codes = _codes(import_dictionary(path))
    assert codes["hope"]["rules"] == [{"phrases": ["optimism"]}]
    assert codes["risk"]["rules"] == [{"phrases": ["danger", "Danger"]}]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- a\n- b\n", r"d\.yml:1: expected a mapping of category names"),
        ("fear: [a]\nhope: [b]\nfear: [c]\n", r"d\.yml:3: the category 'fear' appears twice"),
        ("fear: [a, '*']\n", r"d\.yml:1: the term '\*' is only wildcards"),
        ("fear:\n  - a\n  - [b, c]\n", r"d\.yml:3: a list inside the list of 'fear'"),
        ("fear: [a\nhope: b\n", r"d\.yml:\d+: invalid YAML"),
        ("", r"d\.yml: the dictionary is empty"),
    ],
)
def test_quanteda_errors_name_the_line(tmp_path, text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        import_dictionary(_write(tmp_path, "d.yml", text))


# --- LIWC ---------------------------------------------------------------------------------------


def test_liwc_with_nesting_multiword_and_globs(tmp_path) -> None:
    skeleton = import_dictionary(_write(tmp_path, "liwc_small.dic", LIWC))
    codes = _codes(skeleton)
    assert list(codes) == ["social", "family", "friends", "social_general", "negemo"]
    assert codes["family"]["parent"] == "social" and codes["friends"]["parent"] == "social"
    assert codes["family"]["rules"] == [{"phrases": ["family"]}, {"globs": ["mother*"]}]
    assert codes["friends"]["rules"] == [{"phrases": ["buddy", "best friend"]}]
    # LIWC lists a word under its parent too; only the parent's own words stay there
    assert codes["social_general"]["rules"] == [{"phrases": ["people"]}]
    assert codes["negemo"]["rules"] == [{"globs": ["worr*"]}]
    assert "rules" not in codes["social"]
    codebook = _loads(skeleton)
    assert codebook.code("friends").rules[0].terms == ("buddy", "best friend")


def test_liwc_flat_cp1251_russian_and_space_separated(tmp_path) -> None:
    text = "%\n01 Страх\n02 Надежда\n%\nбоюсь 01\nстрах* 01\nвсё будет хорошо 02\n"
    skeleton = import_dictionary(_write(tmp_path, "ru.dic", text, encoding="cp1251"))
    codes = _codes(skeleton)
    assert list(codes) == ["strakh", "nadezhda"]
    assert codes["strakh"]["rules"] == [{"phrases": ["боюсь"]}, {"globs": ["страх*"]}]
    assert codes["nadezhda"]["rules"] == [{"phrases": ["всё будет хорошо"]}]
    assert codes["strakh"]["label"] == "Страх"
    _loads(skeleton)


def test_liwc_conditional_entries_are_skipped_with_a_warning(tmp_path) -> None:
    text = "%\n1\tverb\n2\tcog\n%\nlike\t1\t(02 134)131/125\nthink\t2\n"
    with pytest.warns(TrustcodeWarning, match=r"line\(s\) 5 were skipped"):
        skeleton = import_dictionary(_write(tmp_path, "c.dic", text))
    codes = _codes(skeleton)
    assert codes["verb"]["rules"] == [{"phrases": ["like"]}]
    assert codes["cog"]["rules"] == [{"phrases": ["think"]}]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1\tfear\n%\n", r"d\.dic:1: a LIWC dictionary starts with a line holding only '%'"),
        ("%\n1\tfear\nafraid\t1\n", r"d\.dic:1: the category header opened here is never closed"),
        ("%\none\tfear\n%\n", r"d\.dic:2: expected 'number<TAB>category name'"),
        ("%\n1\tfear\n1\thope\n%\n", r"d\.dic:3: category number 1 is used twice"),
        ("%\n1\tfear\n%\nafraid\t1\nscared\t7\n", r"d\.dic:5: category 7 is not defined"),
        ("%\n1\tfear\n%\nafraid\t1 x\n", r"d\.dic:4: 'x' is not a category number"),
        ("%\n1\tfear\n%\nafraid\n", r"d\.dic:4: the term 'afraid' has no category numbers"),
        ("%\n1\tfear\t9\n%\n", r"d\.dic:2: parent category 9 is not defined"),
        ("%\n1\ta\t2\n2\tb\t1\n%\n", r"d\.dic:\d: category \d is its own ancestor"),
        ("%\n1\tfear\n%\n*\t1\n", r"d\.dic:4: the term '\*' is only wildcards"),
    ],
)
def test_liwc_errors_name_the_line(tmp_path, text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        import_dictionary(_write(tmp_path, "d.dic", text))


def test_unknown_format_and_missing_file(tmp_path) -> None:
    with pytest.raises(InputError, match=r"unknown dictionary format '\.txt'"):
        import_dictionary(_write(tmp_path, "words.txt", "fear\n"))
    with pytest.raises(InputError, match="no such dictionary file"):
        import_dictionary(tmp_path / "absent.dic")


# --- ids and writing ----------------------------------------------------------------------------


@given(st.lists(st.text(max_size=30), min_size=1, max_size=8))
def test_code_ids_are_valid_and_unique(names: list[str]) -> None:
    taken: set[str] = set()
    ids = [code_id_from_name(name, taken) for name in names]
    assert all(re.fullmatch(CODE_ID_PATTERN, i) for i in ids)
    assert len(set(ids)) == len(ids)


def test_code_id_examples() -> None:
    assert code_id_from_name("Щедрость, ёлки!") == "shchedrost_elki"
    assert code_id_from_name("Café crème") == "cafe_creme"
    assert code_id_from_name("1st wave") == "c_1st_wave"
    assert code_id_from_name("???") == "code"


def test_write_atomic_refuses_existing_and_folders(tmp_path) -> None:
    target = write_atomic(tmp_path / "a.txt", b"one")
    with pytest.raises(OutputError, match="exists"):
        write_atomic(target, b"two")
    assert target.read_bytes() == b"one"
    assert write_atomic(target, b"two", force=True).read_bytes() == b"two"
    with pytest.raises(OutputError, match="is a folder"):
        write_atomic(tmp_path, b"x", force=True)
    with pytest.raises(OutputError, match="does not exist"):
        write_atomic(tmp_path / "no" / "a.txt", b"x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]
