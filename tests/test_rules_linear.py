"""Tests of regexes on RE2: the translation means what Python means, refusals say why, and the
rules give the same hits on either engine."""

from __future__ import annotations

import pickle
import re
from pathlib import Path
from typing import Any

import pytest
import regex as regex_package
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trustcode.codebook import load_codebook
from trustcode.rules import RegexTimeoutError, RuleSet, hits_digest, linear
from trustcode.types import Code, Codebook, Passage, Rule

#: tests that need RE2 itself; the others check what happens without it
needs_re2 = pytest.mark.skipif(
    linear.re2_module() is None, reason="google-re2 (the trustcode[re2] extra) is not installed"
)

REPO = Path(__file__).resolve().parents[1]


def rule(rule_id: str, pattern: str, **fields: Any) -> Rule:
    return Rule(id=rule_id, code=rule_id.split(".")[0], kind="regex", pattern=pattern, **fields)


def book(*rules: Rule) -> Codebook:
    by_code: dict[str, list[Rule]] = {}
    for r in rules:
        by_code.setdefault(r.code, []).append(r)
    codes = tuple(Code(id=c, label=c, rules=tuple(rs)) for c, rs in by_code.items())
    return Codebook(name="test", codes=codes, languages=("en", "ru"))


def python_spans(pattern: str, flags: int, text: str) -> list[tuple[int, int]]:
    """The spans of the current engine (the ``regex`` package, as Python's ``re`` reads)."""
    compiled = regex_package.compile(pattern, regex_package.VERSION0 | flags)
    return [m.span() for m in compiled.finditer(text)]


def re2_spans(pattern: str, flags: int, text: str) -> list[tuple[int, int]]:
    compiled, reason = linear.compile_linear(pattern, flags)
    assert compiled is not None, reason
    spans = linear.linear_spans(compiled, text)
    return spans


def without_re2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(linear, "re2_module", lambda: None)


# --- the translation, class by class, over every character -------------------------------------


def shipped_regexes() -> list[tuple[str, str, int]]:
    return [
        (r.id, r.pattern, 0 if r.case_sensitive else re.IGNORECASE)
        for r in load_codebook().rules
        if r.kind == "regex"
    ]


@needs_re2
@pytest.mark.parametrize(
    "atom",
    [
        r"\w",
        r"\W",
        r"\d",
        r"\D",
        r"\s",
        r"\S",
        ".",
        r"[^.]",
        r"[a-zа-я]",
        r"[^\w\s]",
        r"(?s:.)",
        r"(?a:\w)",
        r"[\d.,-]",
    ],
)
@pytest.mark.parametrize("flags", [0, re.IGNORECASE])
def test_a_class_matches_every_character_python_matches(atom: str, flags: int) -> None:
    everything = linear._every_character() + "\ud800\udfff"  # lone surrogates too
    runs = f"(?:{atom})+"  # runs of matching characters: the same runs, the same sets
    assert re2_spans(runs, flags, everything) == [
        m.span() for m in re.finditer(runs, everything, flags)
    ]


@needs_re2
def test_every_letter_of_the_shipped_regexes_folds_as_python_folds_it() -> None:
    letters = sorted({ch for _, pattern, _ in shipped_regexes() for ch in pattern if ch.isalpha()})
    letters += ["k", "s", "i", "ß", "σ", "İ", "ı", "ſ", "K"]  # letters with odd case partners
    everything = linear._every_character()
    for letter in letters:
        expected = [m.span() for m in re.finditer(re.escape(letter), everything, re.IGNORECASE)]
        assert re2_spans(re.escape(letter), re.IGNORECASE, everything) == expected, letter


# --- agreement on random patterns and texts ---------------------------------------------------

ATOMS = [
    "a",
    "b",
    "я",
    "Я",
    "ё",
    r"\w",
    r"\W",
    r"\s",
    r"\d",
    ".",
    "[аб]",
    "[^a ]",
    r"\.",
    "-",
    r"\b",
    r"\B",
    "^",
    r"\A",
    r"\Z",
    "(?m:$)",
    "(?m:^)",
]
ALPHABET = "aAbBяЯёЁ 1.,-\n\tßſkK"


@st.composite
def patterns(draw: st.DrawFn) -> str:
    def piece(depth: int) -> str:
        kind = draw(st.integers(0, 4 if depth < 2 else 0))
        if kind == 0:
            return draw(st.sampled_from(ATOMS))
        if kind == 1:
            return "(?:" + piece(depth + 1) + "|" + piece(depth + 1) + ")"
        if kind == 2:
            return (
                "(?:"
                + piece(depth + 1)
                + ")"
                + draw(st.sampled_from(["*", "+", "?", "*?", "+?", "{1,3}", "{0,2}?", "{2}"]))
            )
        return piece(depth + 1) + piece(depth + 1)

    return piece(0)


@needs_re2
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(patterns(), st.text(alphabet=ALPHABET, max_size=40), st.booleans())
def test_re2_finds_the_spans_python_finds(pattern: str, text: str, ignore_case: bool) -> None:
    flags = re.IGNORECASE if ignore_case else 0
    compiled, reason = linear.compile_linear(pattern, flags)
    if compiled is None:  # the only refusal these patterns can meet: matching empty text
        assert "empty text" in str(reason)
        return
    assert linear.linear_spans(compiled, text) == python_spans(pattern, flags, text)


# --- refusals ----------------------------------------------------------------------------------


@needs_re2
@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        (r"(?<!\w)cell", "lookahead or lookbehind"),
        (r"cell(?=s)", "lookahead or lookbehind"),
        (r"(a)\1", "backreference"),
        (r"cells?$", "$ outside multi-line mode"),
        (r"x*", "empty text"),
        (r"(?>ab)c", "atomic group"),
        (r"a{2000}", "repeat count above 1000"),
    ],
)
def test_a_pattern_re2_cannot_mean_the_same_is_refused_with_the_reason(
    pattern: str, reason: str
) -> None:
    compiled, found = linear.compile_linear(pattern)
    assert compiled is None
    assert reason in str(found)


@needs_re2
@pytest.mark.parametrize(
    "pattern", [r"\bcell", r"(?a)\bcell", r"cell\B", r"\bя\w*\b", r"(?i)\bЯЧ\w+", r"\b\d+\b"]
)
def test_word_boundaries_run_on_re2_with_pythons_word_characters(pattern: str) -> None:
    text = "cell, cells; excell; яcell, ячейка ЯЧЕЙКИ; ячейка_1 ١٢ 12 x12 cellé éсell"
    assert re2_spans(pattern, 0, text) == python_spans(pattern, 0, text)


@needs_re2
def test_codebook_check_names_the_regexes_on_python_and_why(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from trustcode.cli import main

    path = tmp_path / "codebook.yaml"
    path.write_text(
        "name: x\ncodes:\n  - id: c\n    label: C\n    rules:\n"
        "      - {id: fast, regex: 'prison\\w+'}\n"
        "      - {id: edge, regex: '(?<!\\w)cell'}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["codebook", "check", str(path)])
    assert result.exit_code == 0, result.output
    assert "regexes: 1 of 2 run on RE2 (linear time)" in result.output
    assert "c.edge: a negative lookahead or lookbehind: RE2 has no such construct" in result.output


def test_without_google_re2_regexes_run_on_python_and_check_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    without_re2(monkeypatch)
    rs = RuleSet(book(rule("c.r", r"prison\w+")))
    assert rs.regex_report() == [
        "regexes: google-re2 is not installed, so regexes run on Python's engine with a time "
        'limit; for linear-time matching: pip install "trustcode[re2]".'
    ]
    hits = rs.match([Passage("d", 0, 0, 15, "Prisoners wrote")], "en")[0]
    assert [h.text for h in hits] == ["Prisoners"]


# --- the regex bomb ----------------------------------------------------------------------------


def test_a_bomb_re2_refuses_still_stops_in_time_naming_rule_and_passage() -> None:
    rs = RuleSet(book(rule("risk.slow", r"(a|aa)+$")), regex_timeout=0.05)
    assert "risk.slow" in rs.regex_fallbacks
    with pytest.raises(RegexTimeoutError) as caught:
        rs.match([Passage("report", 3, 0, 41, "a" * 40 + "!")], "en")
    assert "'risk.slow'" in str(caught.value) and "'report#3'" in str(caught.value)


@needs_re2
def test_a_bomb_re2_accepts_ends_with_its_answer() -> None:
    # on Python's engine this pattern backtracks for minutes on this text; RE2 answers at once
    rs = RuleSet(book(rule("risk.slow", r"(a|aa)+\Z")), regex_timeout=0.05)
    assert "risk.slow" not in rs.regex_fallbacks
    text = "a" * 40 + "!"
    assert rs.match([Passage("report", 3, 0, len(text), text)], "en") == [[]]


# --- the same hits on either engine ------------------------------------------------------------


@needs_re2
def test_a_text_with_a_lone_surrogate_is_matched_as_python_matches_it() -> None:
    rs = RuleSet(book(rule("c.r", r"prison\w+")))
    text = "prisoners \ud800 prisons"
    hits = rs.match([Passage("d", 0, 0, len(text), text)], "en")[0]
    assert [h.text for h in hits] == ["prisoners", "prisons"]


@needs_re2
def test_a_ruleset_sent_to_another_process_keeps_re2() -> None:
    rs = RuleSet(book(rule("c.r", r"prison\w+"), rule("c.b", r"(?<=\s)cell")))
    copy = pickle.loads(pickle.dumps(rs))
    assert set(copy._linear) == set(rs._linear) == {0}  # noqa: SLF001
    assert copy.regex_fallbacks == rs.regex_fallbacks


def paragraphs(folders: list[Path]) -> list[str]:
    found = []
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.suffix in (".txt", ".md"):
                text = path.read_text(encoding="utf-8", errors="replace")
                found += [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    return found


@needs_re2
def test_shipped_regexes_agree_with_python_on_the_corpus() -> None:
    texts = paragraphs([REPO / "corpus"])
    assert texts
    checked = 0
    for rule_id, pattern, flags in shipped_regexes():
        compiled, _reason = linear.compile_linear(pattern, flags)
        if compiled is None:
            continue
        checked += 1
        for text in texts:
            assert linear.linear_spans(compiled, text) == python_spans(pattern, flags, text), (
                rule_id,
                text[:60],
            )
    assert checked >= 17  # all but the shipped regexes with lookbehinds


@needs_re2
def test_every_rule_hit_on_shared_is_the_same_with_and_without_re2(
    corpus_sources: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = paragraphs([REPO / "corpus", corpus_sources])
    codebook = load_codebook()
    with_re2 = hits_digest(RuleSet(codebook), texts)
    without_re2(monkeypatch)
    before = RuleSet(codebook)
    assert not before._linear  # noqa: SLF001 - the old engine really ran
    assert hits_digest(before, texts) == with_re2
    assert with_re2[1] > 1000
