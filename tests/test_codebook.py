"""Tests of trustcode.codebook: loading, validation messages, warnings, schema, show, export."""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trustcode.codebook import (
    DEFAULT_CODEBOOK,
    PALETTE,
    codebook_problems,
    codebook_schema,
    codebook_to_dict,
    load_codebook,
    parse_codebook,
    show_codebook,
)
from trustcode.errors import CodebookError, TrustcodeWarning
from trustcode.types import Code, Codebook, Rule

# Line numbers in the assertions below count from "name:" as line 1.
VALID = """\
name: Test codebook
version: "2"
description: Codes for tests.
languages: [en, ru]
combine: both
redact: [Ivan Petrov]
codes:
  - id: help
    label: Helping
    definition: People help each other.
  - id: letters
    parent: help
    label: Letters to prisoners
    include: [writing letters, postcards]
    exclude: Letters to officials.
    combine: union
    examples:
      positive: [We wrote letters to the prisoners every week.]
      negative: [The letter from the ministry came late.]
    rules:
      - id: write
        lang: en
        phrases: ["  write letters ", postcards]
      - lang: ru
        lemmas: [письмо, открытка]
      - globs: [letter*]
      - regex: '\\bSIZO\\b'
        case_sensitive: true
      - lang: en
        pattern: [{LOWER: political}, {LOWER: {IN: [prisoner, prisoners]}}]
      - near: {a: [write*], b: [prison*], within: 5}
      - veto: true
        phrases: [letter of credit]
  - id: fines
    label: Fines
    colour: "#AABBCC"
    examples:
      positive: [Суд назначил штраф активистке.]
    rules:
      - phrases: [штраф]
"""


def problems(text: str) -> list[str]:
    return codebook_problems(text, "cb.yaml")


def one_code(body: str) -> str:
    """A codebook whose only code (from line 3) is ``body``, indented as a list item."""
    lines = body.strip("\n").splitlines()
    return "name: T\ncodes:\n" + "\n".join(["  - " + lines[0]] + ["    " + x for x in lines[1:]])


def quiet_parse(text: str) -> Codebook:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TrustcodeWarning)
        return parse_codebook(text)


# --- a valid codebook --------------------------------------------------------------------------


def test_valid_codebook_builds_dataclasses_without_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cb = parse_codebook(VALID, "tests.yaml")
    assert isinstance(cb, Codebook)
    assert (cb.name, cb.version, cb.description) == ("Test codebook", "2", "Codes for tests.")
    assert cb.languages == ("en", "ru")
    assert cb.redact == ("Ivan Petrov",)
    assert cb.exclusive is False
    assert cb.path == "tests.yaml"
    assert cb.sha256 == hashlib.sha256(VALID.encode("utf-8")).hexdigest()
    assert cb.code_ids == ("help", "letters", "fines")
    assert all(isinstance(c, Code) for c in cb.codes)
    assert [c.id for c in cb.leaf_codes] == ["letters", "fines"]


def test_code_fields_defaults_and_inheritance() -> None:
    cb = parse_codebook(VALID)
    help_, letters, fines = cb.codes
    assert help_.parent is None and letters.parent == "help"
    assert letters.include == "writing letters; postcards"
    assert letters.exclude == "Letters to officials."
    assert letters.positive_examples == ("We wrote letters to the prisoners every week.",)
    assert letters.negative_examples == ("The letter from the ministry came late.",)
    assert fines.positive_examples == ("Суд назначил штраф активистке.",)
    # colours: explicit ones normalized to lower case, the others by position in the palette
    assert (help_.colour, letters.colour, fines.colour) == (PALETTE[0], PALETTE[1], "#aabbcc")
    # combine: the codebook's default unless the code overrides it
    assert (help_.combine, letters.combine, fines.combine) == ("both", "union", "both")


def test_rule_ids_and_fields() -> None:
    cb = parse_codebook(VALID)
    assert [r.id for r in cb.rules] == [
        "letters.write",
        "letters.lemmas-1",
        "letters.globs-1",
        "letters.regex-1",
        "letters.pattern-1",
        "letters.near-1",
        "letters.phrases-2",  # the second phrases rule of the code, though the first has an id
        "fines.phrases-1",
    ]
    rules = {r.id: r for r in cb.rules}
    assert all(isinstance(r, Rule) for r in cb.rules)
    write = rules["letters.write"]
    assert (write.kind, write.lang) == ("phrases", "en")
    assert write.terms == ("write letters", "postcards")  # stripped
    assert rules["letters.lemmas-1"].terms == ("письмо", "открытка")
    assert rules["letters.lemmas-1"].lang == "ru"
    assert rules["letters.globs-1"].lang == "any"
    regex = rules["letters.regex-1"]
    assert (regex.pattern, regex.case_sensitive) == (r"\bSIZO\b", True)
    assert rules["letters.pattern-1"].pattern == (
        {"LOWER": "political"},
        {"LOWER": {"IN": ["prisoner", "prisoners"]}},
    )
    assert rules["letters.near-1"].near == (("write*",), ("prison*",), 5)
    assert rules["letters.phrases-2"].veto is True
    assert rules["letters.write"].veto is False
    assert {r.code for r in cb.rules} == {"letters", "fines"}


def test_valid_codebook_has_no_problems() -> None:
    assert problems(VALID) == []


def test_numeric_version_is_kept_as_written() -> None:
    cb = quiet_parse("name: T\nversion: 1.10\ncodes: [{id: a, label: A}]\n")
    assert cb.version == "1.10"


def test_load_codebook_hashes_file_bytes_and_reads_bom(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    raw = b"\xef\xbb\xbf" + VALID.encode("utf-8")
    path.write_bytes(raw)
    cb = load_codebook(path)
    assert cb.path == str(path)
    assert cb.sha256 == hashlib.sha256(raw).hexdigest()
    assert cb.code_ids == ("help", "letters", "fines")


def test_load_codebook_default_is_the_packaged_file() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TrustcodeWarning)
        cb = load_codebook()
    assert cb.path == str(DEFAULT_CODEBOOK)
    assert cb.sha256 == hashlib.sha256(DEFAULT_CODEBOOK.read_bytes()).hexdigest()


def test_load_codebook_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CodebookError, match="no such codebook file"):
        load_codebook(tmp_path / "absent.yaml")


def test_load_codebook_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "cp1251.yaml"
    path.write_bytes("name: T\ncodes:\n  - id: a\n    label: Штраф\n".encode("cp1251"))
    with pytest.raises(CodebookError) as info:
        load_codebook(path)
    assert info.value.problems == [f"{path}:4: (file): not UTF-8 (byte 36); save it as UTF-8"]


# --- YAML and top level ------------------------------------------------------------------------


def test_malformed_yaml_has_line_column_and_hint() -> None:
    text = "name: T\ncodes:\n  - id: a\n    label: Aim: trust\n"
    (problem,) = problems(text)
    assert problem.startswith("cb.yaml:4: column 15: invalid YAML: mapping values are not allowed")
    assert "quote a value" in problem


def test_malformed_yaml_raises_codebook_error() -> None:
    with pytest.raises(CodebookError) as info:
        parse_codebook("name: T\ncodes: [a, b\n", "cb.yaml")
    (problem,) = info.value.problems
    assert problem.startswith("cb.yaml:3: column 1: invalid YAML: expected ',' or ']'")


def test_tab_indentation_hint() -> None:
    (problem,) = problems("name: T\ncodes:\n\t- id: a\n")
    assert problem.startswith("cb.yaml:3: column 1: invalid YAML")
    assert "spaces only" in problem


def test_double_quoted_regex_hint() -> None:
    (problem,) = problems('name: T\ncodes:\n  - id: a\n    label: A\n    rules: [{regex: "\\d"}]\n')
    assert problem.startswith("cb.yaml:5:")
    assert "single quotes" in problem


@pytest.mark.parametrize("text", ["", "   \n", "# only a comment\n"])
def test_empty_file(text: str) -> None:
    assert problems(text) == [
        "cb.yaml:1: (top level): the codebook is empty; it needs at least 'name:' and 'codes:'"
    ]


def test_top_level_not_a_mapping() -> None:
    (problem,) = problems("- id: a\n- id: b\n")
    assert problem == (
        "cb.yaml:1: (top level): expected a mapping with 'name:' and 'codes:' at the top, "
        "found a list"
    )


def test_duplicate_yaml_keys_name_both_lines() -> None:
    text = one_code("id: a\nlabel: A\nlabel: B\nrules: [{phrases: [x]}]")
    assert problems(text) == [
        "cb.yaml:5: codes[0].label: duplicate key 'label' (also on line 4); YAML keeps only the "
        "last one: remove or merge one of them"
    ]


def test_recursive_alias_is_a_problem_not_a_crash() -> None:
    text = "name: T\ncodes: &loop\n  - *loop\n"
    (problem,) = problems(text)
    # the line of the anchor: an alias node is the anchored node itself
    assert problem.startswith("cb.yaml:2: codes[0]: this alias is used inside its own anchor")


# --- schema problems ---------------------------------------------------------------------------


def test_missing_required_keys() -> None:
    text = "description: no name\ncodes:\n  - definition: no id, no label\n"
    assert problems(text) == [
        "cb.yaml:1: name: missing required key 'name'; name the codebook, e.g. name: My study",
        "cb.yaml:3: codes[0].id: missing required key 'id'; add an id such as 'my_code'",
        "cb.yaml:3: codes[0].label: missing required key 'label'; add a short human-readable label",
    ]


def test_missing_codes() -> None:
    assert problems("name: T\n") == [
        "cb.yaml:1: codes: missing required key 'codes'; list the codes under 'codes:'"
    ]


def test_wrong_types() -> None:
    text = """\
name: [not, text]
exclusive: maybe
languages: en
codes:
  - id: 12
    label: A
    definition:
    rules: {phrases: [x]}
"""
    assert problems(text) == [
        "cb.yaml:1: name: expected text, found a list",
        "cb.yaml:2: exclusive: expected true or false, found text 'maybe'",
        "cb.yaml:3: languages: expected a list, found text 'en'",
        "cb.yaml:5: codes[0].id: expected text, found a whole number (12); quote it",
        "cb.yaml:7: codes[0].definition: expected text, found nothing (an empty value); write a "
        "value or remove the key",
        "cb.yaml:8: codes[0].rules: expected a list, found a mapping",
    ]


def test_unknown_keys_with_did_you_mean() -> None:
    text = one_code("id: a\nlabel: A\ndefintion: typo\ncolor: '#112233'\nrules: [{phrases: [x]}]")
    assert problems(text) == [
        "cb.yaml:5: codes[0].defintion: unknown key 'defintion' in a code; "
        "did you mean 'definition'?",
        "cb.yaml:6: codes[0].color: unknown key 'color' in a code; did you mean 'colour'?",
    ]


def test_unknown_key_that_belongs_elsewhere_or_nowhere() -> None:
    text = "name: T\nzzz: 1\ncodes:\n  - id: a\n    label: A\n    phrases: [x]\n"
    found = problems(text)
    assert found[0].startswith("cb.yaml:2: zzz: unknown key 'zzz' in the codebook; expected one")
    assert found[1] == (
        "cb.yaml:6: codes[0].phrases: unknown key 'phrases' in a code; 'phrases' is a rule key: "
        "put it in a list item under 'rules:'"
    )


# --- codes -------------------------------------------------------------------------------------


def test_code_id_pattern_with_suggestion() -> None:
    (problem,) = problems(one_code("id: Safe-Spaces\nlabel: S\nrules: [{phrases: [x]}]"))
    assert problem == (
        "cb.yaml:3: codes[0].id: code id 'Safe-Spaces' must start with a lower-case letter and "
        "use only a-z, 0-9 and _; try 'safe_spaces'"
    )


def test_duplicate_code_ids_name_both_lines() -> None:
    text = "name: T\ncodes:\n  - id: a\n    label: A\n  - id: a\n    label: Again\n"
    assert problems(text) == [
        "cb.yaml:5: codes[1].id: duplicate code id 'a' (also codes[0] on line 3); ids must be "
        "unique"
    ]


def test_unknown_parent_with_suggestion() -> None:
    text = "name: T\ncodes:\n  - id: strategy\n    label: S\n  - id: a\n    parent: strategi\n"
    text += "    label: A\n"
    assert problems(text) == [
        "cb.yaml:6: codes[1].parent: parent 'strategi' is not a code of this codebook; "
        "did you mean 'strategy'?"
    ]


def test_parent_cycles_are_named() -> None:
    text = """\
name: T
codes:
  - id: a
    label: A
    parent: b
  - id: b
    label: B
    parent: a
  - id: c
    label: C
    parent: c
"""
    assert problems(text) == [
        "cb.yaml:5: codes[0].parent: parent cycle: a -> b -> a; a code cannot be its own "
        "ancestor: remove one of these parent links",
        "cb.yaml:11: codes[2].parent: parent cycle: c -> c; a code cannot be its own ancestor: "
        "remove one of these parent links",
    ]


def test_colour_and_combine() -> None:
    text = one_code("id: a\nlabel: A\ncolour: red\ncombine: unoin\nrules: [{phrases: [x]}]")
    assert problems(text) == [
        "cb.yaml:5: codes[0].colour: 'red' is not valid: write a colour as '#rrggbb'",
        "cb.yaml:6: codes[0].combine: unknown combine policy 'unoin'; did you mean 'union'? "
        "use one of: union, rules_only, classifier_only, both",
    ]


def test_exclusive_is_type_checked_and_kept() -> None:
    assert quiet_parse("name: T\nexclusive: true\ncodes: [{id: a, label: A}]\n").exclusive
    assert problems("name: T\nexclusive: 1\ncodes: [{id: a, label: A}]\n") == [
        "cb.yaml:2: exclusive: expected true or false, found a whole number (1)"
    ]


@pytest.mark.parametrize(
    ("lang", "ok"),
    [
        ("en", True),
        ("ru", True),
        ("any", True),
        ("deu", True),
        ("EN", False),
        ("english", False),
        ("e", False),
    ],
)
def test_rule_lang_values(lang: str, ok: bool) -> None:
    text = one_code(f"id: a\nlabel: A\nrules:\n  - lang: {lang}\n    phrases: [x]")
    found = problems(text)
    if ok:
        assert found == []
    else:
        assert found == [
            f"cb.yaml:6: codes[0].rules[0].lang: '{lang}' is not valid: use a language code of "
            "2-3 lower-case letters (en, ru) or 'any'"
        ]


def test_codebook_languages_are_checked() -> None:
    text = "name: T\nlanguages: [en, Russian]\ncodes: [{id: a, label: A}]\n"
    assert problems(text) == [
        "cb.yaml:2: languages[1]: 'Russian' is not valid: use language codes of 2-3 lower-case "
        "letters (en, ru)"
    ]


# --- rules -------------------------------------------------------------------------------------


def rule_problems(rule_yaml: str) -> list[str]:
    """Problems of a codebook with one code whose rules list (from line 6) is ``rule_yaml``."""
    body = "id: a\nlabel: A\nrules:\n" + "\n".join("  " + x for x in rule_yaml.splitlines())
    return problems(one_code(body))


def test_rule_without_kind_and_with_two_kinds() -> None:
    assert rule_problems("- lang: en\n- phrases: [x]\n  regex: 'y'") == [
        "cb.yaml:6: codes[0].rules[0]: a rule needs one kind key (phrases, lemmas, globs, regex, "
        "pattern, near); found none",
        "cb.yaml:8: codes[0].rules[1].regex: a rule has exactly one kind, found phrases and regex;"
        " split it into one rule per kind",
    ]


def test_empty_term_lists_and_terms() -> None:
    assert rule_problems("- phrases: []\n- lemmas: [ok, '  ']\n- globs: ячейк*") == [
        "cb.yaml:6: codes[0].rules[0].phrases: the list is empty; add at least one term or "
        "remove the rule",
        "cb.yaml:7: codes[0].rules[1].lemmas[1]: empty term; remove it or write the word",
        "cb.yaml:8: codes[0].rules[2].globs: expected a list of terms, found text 'ячейк*'; "
        "write [ячейк*]",
    ]


def test_glob_of_only_stars() -> None:
    assert rule_problems("- globs: [prosecut*, '**']") == [
        "cb.yaml:6: codes[0].rules[0].globs[1]: the glob '**' would match every word; add letters"
    ]


def test_invalid_regex_reports_message_and_position() -> None:
    assert rule_problems("- regex: 'free (them'") == [
        "cb.yaml:6: codes[0].rules[0].regex: invalid regular expression: missing ), "
        "unterminated subpattern at position 5 of 'free (them'; escape special characters such "
        "as ( [ + ? with a backslash"
    ]


def test_regex_matching_empty_text() -> None:
    (problem,) = rule_problems("- regex: 'x*'")
    assert problem.startswith(
        "cb.yaml:6: codes[0].rules[0].regex: the regular expression 'x*' matches empty text"
    )


def test_case_sensitive_only_on_regex() -> None:
    assert rule_problems("- phrases: [Memorial]\n  case_sensitive: true") == [
        "cb.yaml:7: codes[0].rules[0].case_sensitive: case_sensitive applies to regex rules "
        "only; phrases ignore case: remove it or write the rule as a regex"
    ]


def test_token_pattern_not_a_list_of_dicts() -> None:
    assert rule_problems("- pattern: LOWER\n- pattern: [free, {LOWER: them}]") == [
        "cb.yaml:6: codes[0].rules[0].pattern: expected a spaCy token pattern, a non-empty list "
        "of token specs (e.g. [{LOWER: free}, {LOWER: {IN: [them, all]}}]), found text 'LOWER'",
        "cb.yaml:7: codes[0].rules[1].pattern[0]: expected a token spec, a mapping such as "
        "{LOWER: word}, found text 'free'",
    ]


def test_token_pattern_unknown_attribute_and_operator() -> None:
    found = rule_problems("- pattern:\n  - {LOWR: free}\n  - {LOWER: {INN: [them]}}")
    assert len(found) == 2
    assert found[0].startswith(
        "cb.yaml:7: codes[0].rules[0].pattern[0].LOWR: unknown token attribute 'LOWR'; "
        "did you mean 'LOWER'? valid attributes: ORTH, TEXT, LOWER,"
    )
    assert found[1].startswith(
        "cb.yaml:8: codes[0].rules[0].pattern[1].LOWER.INN: unknown operator 'INN'; "
        "did you mean 'IN'? valid operators:"
    )
    assert "NOT_IN" in found[1]


def test_token_pattern_bad_values_through_spacy() -> None:
    found = rule_problems(
        "- pattern:\n  - {LOWER: 5}\n  - {LENGTH: {'>=': x}}\n  - {IS_DIGIT: sure}\n"
        "  - {LOWER: x, OP: '#'}\n  - {TEXT: {REGEX: '(unclosed'}}"
    )
    assert found == [
        "cb.yaml:7: codes[0].rules[0].pattern[0].LOWER: expected a mapping of operators or text,"
        " found a whole number (5)",
        "cb.yaml:8: codes[0].rules[0].pattern[1].LENGTH.>=: expected a whole number or a number, "
        "found text 'x'",
        "cb.yaml:9: codes[0].rules[0].pattern[2].IS_DIGIT: expected true or false, found text "
        "'sure'",
        "cb.yaml:10: codes[0].rules[0].pattern[3].OP: expected an operator: '+', '*', '?', '!' "
        "or a count such as '{2}' or '{1,3}', found text '#'",
    ]


def test_token_pattern_invalid_regex_inside() -> None:
    assert rule_problems("- pattern: [{TEXT: {REGEX: '(unclosed'}}]") == [
        "cb.yaml:6: codes[0].rules[0].pattern: invalid REGEX in the pattern: missing ), "
        "unterminated subpattern at position 0"
    ]


def test_token_pattern_on_trained_attribute_warns() -> None:
    text = one_code(
        "id: a\nlabel: A\nexamples: {positive: [x]}\nrules:\n  - pattern: [{POS: NOUN}]"
    )
    with pytest.warns(TrustcodeWarning, match=r"pattern\[0\]\.POS: attribute POS is empty"):
        parse_codebook(text)


def test_near_rules() -> None:
    found = rule_problems(
        "- near: {a: [activist*], within: 3}\n- near: {a: [x], b: [y], within: 0}\n"
        "- near: {a: [x], b: ['*'], within: true, whithin: 2}"
    )
    assert found == [
        "cb.yaml:6: codes[0].rules[0].near.b: missing required key 'b'; add a list of terms",
        "cb.yaml:7: codes[0].rules[1].near.within: expected a positive whole number of tokens, "
        "found a whole number (0)",
        "cb.yaml:8: codes[0].rules[2].near.whithin: unknown key 'whithin' in a near rule; "
        "did you mean 'within'?",
        "cb.yaml:8: codes[0].rules[2].near.b[0]: the glob '*' would match every word; add letters",
        "cb.yaml:8: codes[0].rules[2].near.within: expected a positive whole number of tokens, "
        "found true/false (true)",
    ]


def test_duplicate_rule_ids_explicit_and_derived() -> None:
    text = """\
name: T
codes:
  - id: a
    label: A
    rules:
      - id: cells
        phrases: [cell]
      - id: cells
        phrases: [ячейка]
      - id: globs-2
        globs: [net*]
      - globs: [сеть*]
"""
    assert problems(text) == [
        "cb.yaml:8: codes[0].rules[1]: duplicate rule id 'a.cells' (also codes[0].rules[0] on "
        "line 6); give one of them another 'id'",
        "cb.yaml:12: codes[0].rules[3]: duplicate rule id 'a.globs-2' (also codes[0].rules[2] on "
        "line 10); give one of them another 'id'",
    ]


def test_several_problems_at_once_sorted_by_line() -> None:
    text = """\
name: T
languages: [en, ru]
codes:
  - id: Bad
    label: B
    rules:
      - regex: '['
  - id: ok
    lable: typo
    rules:
      - lemmas: []
"""
    with pytest.raises(CodebookError) as info:
        parse_codebook(text, "cb.yaml")
    found = info.value.problems
    assert [p.split(": ")[0] for p in found] == [
        "cb.yaml:4",
        "cb.yaml:7",
        "cb.yaml:8",
        "cb.yaml:9",
        "cb.yaml:11",
    ]
    assert [p.split(": ")[1] for p in found] == [
        "codes[0].id",
        "codes[0].rules[0].regex",
        "codes[1].label",
        "codes[1].lable",
        "codes[1].rules[0].lemmas",
    ]
    assert "5 problem(s)" in str(info.value)
    assert all(p in str(info.value) for p in found)


# --- warnings ----------------------------------------------------------------------------------


def test_leaf_without_rules_warns_parent_does_not() -> None:
    text = """\
name: T
codes:
  - id: parent
    label: P
  - id: child
    parent: parent
    label: C
    examples: {positive: [Мы пишем письма.]}
"""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cb = parse_codebook(text, "cb.yaml")
    messages = [str(w.message) for w in caught if issubclass(w.category, TrustcodeWarning)]
    assert messages == [
        "cb.yaml:5: codes[1]: code 'child' has no rules; it will be coded by the classifier only"
    ]
    assert cb.code("child").rules == ()


def test_code_without_examples_warns() -> None:
    text = one_code("id: a\nlabel: A\nrules: [{phrases: [x]}]")
    with pytest.warns(TrustcodeWarning, match=r"cb\.yaml:3: codes\[0\]: code 'a' has no examples"):
        parse_codebook(text, "cb.yaml")


def test_rules_only_code_without_rules_can_never_be_coded() -> None:
    text = one_code("id: a\nlabel: A\ncombine: rules_only\nexamples: {negative: [x]}")
    with pytest.warns(TrustcodeWarning, match="can never be coded"):
        parse_codebook(text)


def test_rule_language_outside_codebook_languages_warns() -> None:
    text = "name: T\nlanguages: [en]\ncodes:\n  - id: a\n    label: A\n"
    text += "    examples: {positive: [x]}\n    rules: [{lang: de, phrases: [Zelle]}]\n"
    with pytest.warns(TrustcodeWarning, match="rule language 'de' is not among"):
        parse_codebook(text)


# --- schema ------------------------------------------------------------------------------------


def test_schema_is_valid_draft_2020_12() -> None:
    schema = codebook_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    schema["required"].append("changed")  # a copy: the next call is unchanged
    assert codebook_schema()["required"] == ["name", "codes"]


def test_schema_accepts_the_valid_codebook() -> None:
    validator = jsonschema.Draft202012Validator(codebook_schema())
    assert list(validator.iter_errors(yaml.safe_load(VALID))) == []


@pytest.mark.parametrize(
    "bad",
    [
        "name: T\n",  # no codes
        "name: T\ncodes: [{id: A, label: x}]\n",  # id pattern
        "name: T\ncodes: [{id: a, label: x, defintion: y}]\n",  # unknown key
        "name: T\ncodes: [{id: a, label: x, colour: red}]\n",
        "name: T\ncodes: [{id: a, label: x, rules: [{lang: en}]}]\n",  # no kind
        "name: T\ncodes: [{id: a, label: x, rules: [{phrases: [x], regex: y}]}]\n",  # two kinds
        "name: T\ncodes: [{id: a, label: x, rules: [{phrases: [x], case_sensitive: true}]}]\n",
        "name: T\ncodes: [{id: a, label: x, rules: [{globs: ['*']}]}]\n",
        "name: T\ncodes: [{id: a, label: x, rules: [{near: {a: [x], b: [y], within: 0}}]}]\n",
        "name: T\ncodes: [{id: a, label: x, rules: [{lang: English, phrases: [x]}]}]\n",
        "name: T\ncombine: sometimes\ncodes: [{id: a, label: x}]\n",
    ],
)
def test_schema_and_loader_both_reject(bad: str) -> None:
    validator = jsonschema.Draft202012Validator(codebook_schema())
    assert list(validator.iter_errors(yaml.safe_load(bad))) != []
    assert problems(bad) != []


# --- show and export ---------------------------------------------------------------------------


def test_show_codebook_mentions_every_code_and_rule() -> None:
    cb = parse_codebook(VALID)
    shown = show_codebook(cb)
    for code in cb.codes:
        assert code.id in shown and code.label in shown
    for rule in cb.rules:
        assert rule.id in shown
    lines = shown.splitlines()
    parent_line = next(x for x in lines if x.startswith("help: Helping"))
    child_line = next(x for x in lines if "letters: Letters to prisoners" in x)
    assert child_line.startswith("  letters") and lines.index(child_line) > lines.index(parent_line)
    assert "letters.phrases-2 [any] VETO: letter of credit" in shown
    assert "letters.lemmas-1 [ru]: письмо | открытка" in shown
    assert "examples: 1 positive, 1 negative" in shown
    assert "#aabbcc" in shown


def test_codebook_to_dict_round_trips() -> None:
    cb = parse_codebook(VALID)
    data = codebook_to_dict(cb)
    jsonschema.Draft202012Validator(codebook_schema()).validate(data)
    again = parse_codebook(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    assert again.codes == cb.codes
    assert (again.name, again.languages, again.redact) == (cb.name, cb.languages, cb.redact)
    assert data["codes"][1]["rules"][0]["id"] == "write"
    assert "id" not in data["codes"][1]["rules"][1]  # derived ids are left to be derived


# --- properties --------------------------------------------------------------------------------

_KEYS = st.sampled_from(
    [
        "name",
        "codes",
        "id",
        "label",
        "parent",
        "rules",
        "phrases",
        "globs",
        "regex",
        "pattern",
        "near",
        "a",
        "b",
        "within",
        "lang",
        "veto",
        "case_sensitive",
        "colour",
        "combine",
        "examples",
        "positive",
        "LOWER",
        "IN",
        "OP",
    ]
) | st.text(max_size=6)
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=10)
    | st.sampled_from(["a", "(", "*", "en", "any", "#aabbcc", "union", "+"])
)
_DATA = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=5),
    max_leaves=25,
)
_FAST = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))


def _parse_or_codebook_error(text: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TrustcodeWarning)
        try:
            assert isinstance(parse_codebook(text, "fuzz.yaml"), Codebook)
        except CodebookError as exc:
            assert exc.problems and all(p.startswith("fuzz.yaml:") for p in exc.problems)


@_FAST
@given(st.text())
def test_arbitrary_text_raises_only_codebook_error(text: str) -> None:
    _parse_or_codebook_error(text)


@_FAST
@given(_DATA)
def test_arbitrary_yaml_data_raises_only_codebook_error(data: object) -> None:
    _parse_or_codebook_error(yaml.safe_dump(data, allow_unicode=True))


@_FAST
@given(
    st.fixed_dictionaries(
        {"name": _SCALARS, "codes": st.lists(st.dictionaries(_KEYS, _DATA, max_size=6), max_size=3)}
    )
)
def test_codebook_shaped_data_raises_only_codebook_error(data: object) -> None:
    _parse_or_codebook_error(yaml.safe_dump(data, allow_unicode=True))
