"""Tests of the rules engine: each rule kind in English and Russian, offsets, vetoes, examples."""

from __future__ import annotations

import pickle
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trustcode.errors import CodebookError, TrustcodeWarning
from trustcode.rules import (
    ExampleFailure,
    RuleSet,
    check_examples,
    compile_rules,
    expand_lemma,
    fold,
)
from trustcode.types import Code, Codebook, Passage, Rule, RuleHit

# --- helpers ---------------------------------------------------------------------------------


def rule(rule_id: str, kind: str, **fields: Any) -> Rule:
    """A rule whose code is the part of ``rule_id`` before the dot."""
    return Rule(id=rule_id, code=rule_id.split(".")[0], kind=kind, **fields)


def book(*rules: Rule, **code_fields: Any) -> Codebook:
    """A codebook with one code per distinct rule code, in order of first appearance."""
    by_code: dict[str, list[Rule]] = {}
    for r in rules:
        by_code.setdefault(r.code, []).append(r)
    codes = tuple(
        Code(id=code, label=code.title(), rules=tuple(rs), **code_fields.get(code, {}))
        for code, rs in by_code.items()
    )
    return Codebook(name="test", codes=codes, languages=("en", "ru"))


def hits_in(ruleset: RuleSet, text: str, language: str | None, offset: int = 0) -> list[RuleHit]:
    """Match ``text`` as one passage that starts at ``offset`` of a padded document."""
    passage = Passage("doc", 0, offset, offset + len(text), text)
    return ruleset.match([passage], language)[0]


def texts(ruleset: RuleSet, text: str, language: str | None) -> list[str]:
    return [h.text for h in hits_in(ruleset, text, language)]


# --- fold and lemma expansion ----------------------------------------------------------------


def test_fold_replaces_yo_one_for_one() -> None:
    assert fold("Ёжик пьёт чай") == "Ежик пьет чай"
    assert len(fold("ёЁё")) == 3
    assert fold("no change") == "no change"


def test_expand_lemma_english_uses_lookup_forms() -> None:
    forms = expand_lemma("arrest", "en")
    assert {"arrest", "arrested", "arrests", "arresting"} <= forms
    assert "arrestee" not in forms
    assert {"went", "gone", "goes"} <= expand_lemma("go", "en")


def test_expand_lemma_russian_uses_pymorphy_lexeme() -> None:
    forms = expand_lemma("задержание", "ru")
    assert {"задержаний", "задержаниями", "задержанию"} <= forms
    assert {"ячейки", "ячейкой", "ячеек"} <= expand_lemma("ячейка", "ru")
    # forms are folded: none of the forms of "жёлтый" keeps its ё
    assert all("ё" not in f for f in expand_lemma("жёлтый", "ru"))
    assert "желтого" in expand_lemma("жёлтый", "ru")


def test_expand_lemma_russian_keeps_only_readings_with_that_lemma() -> None:
    # "мыло" is also a past form of "мыть": that verb's forms do not belong to the noun
    soap = expand_lemma("мыло", "ru")
    assert "мылом" in soap
    assert "моет" not in soap
    # "печь" is both a noun and a verb in dictionary form: both lexemes count
    assert {"печью", "пекут"} <= expand_lemma("печь", "ru")


def test_expand_lemma_other_language_and_phrases_give_the_word_itself() -> None:
    assert expand_lemma("Verhaftung", "de") == frozenset({"verhaftung"})
    assert expand_lemma("human rights", "en") == frozenset({"human rights"})
    assert expand_lemma("   ", "en") == frozenset()


# --- phrases ---------------------------------------------------------------------------------


def test_phrases_english_multiword_ignore_case_and_punctuation() -> None:
    rs = compile_rules(book(rule("cells.p", "phrases", terms=("prison cell", "OVD-Info"))))
    found = hits_in(rs, "A PRISON CELL, not ovd-info's office.", "en")
    assert [h.text for h in found] == ["PRISON CELL", "ovd-info"]
    assert texts(rs, "The prison's cell.", "en") == []


def test_phrases_russian_and_yo_folding_both_ways() -> None:
    rs = compile_rules(
        book(
            rule("a.p", "phrases", terms=("её",)),
            rule("b.p", "phrases", terms=("ее мать", "политические заключённые")),
        )
    )
    found = hits_in(rs, "Мы видели ее. Её мать и политические заключенные.", "ru")
    assert [(h.rule_id, h.text) for h in found] == [
        ("a.p", "ее"),
        ("a.p", "Её"),
        ("b.p", "Её мать"),
        ("b.p", "политические заключенные"),
    ]


# --- lemmas ----------------------------------------------------------------------------------


def test_lemmas_english_match_inflected_forms() -> None:
    rs = compile_rules(book(rule("rep.l", "lemmas", terms=("arrest",))))
    assert texts(rs, "Police arrested two; arrests went on. An arrestee.", "en") == [
        "arrested",
        "arrests",
    ]


def test_lemmas_russian_match_inflected_forms() -> None:
    rs = compile_rules(book(rule("rep.l", "lemmas", terms=("задержание", "ячейка"))))
    text = "После задержаний и задержаниями ячейки не распались; ячейкой руководили."
    assert texts(rs, text, "ru") == ["задержаний", "задержаниями", "ячейки", "ячейкой"]


def test_lemmas_multiword_entries_expand_each_word() -> None:
    rs = compile_rules(
        book(
            rule("pris.en", "lemmas", lang="en", terms=("political prisoner",)),
            rule("pris.ru", "lemmas", lang="ru", terms=("политический заключённый",)),
        )
    )
    assert texts(rs, "Letters to political prisoners and a political prisoner.", "en") == [
        "political prisoners",
        "political prisoner",
    ]
    assert texts(rs, "political and prisoners", "en") == []
    ru = "Письма политическим заключённым и помощь политических заключенных семьям."
    assert texts(rs, ru, "ru") == ["политическим заключённым", "политических заключенных"]


def test_lemmas_in_language_without_morphology_warn_and_match_as_written() -> None:
    rs = compile_rules(book(rule("a.l", "lemmas", terms=("Haft",))))
    with pytest.warns(TrustcodeWarning, match="no inflection data for language 'de'"):
        assert texts(rs, "Die Haft dauerte, die Haften nicht.", "de") == ["Haft"]


# --- globs -----------------------------------------------------------------------------------


def test_globs_english_whole_words_star_and_question_mark() -> None:
    rs = compile_rules(book(rule("rep.g", "globs", terms=("prosecut*", "c?ll", "human  rights"))))
    text = (
        "Prosecutors began a PROSECUTION; unprosecuted cases. A cell, a call, a cll. Human rights"
    )
    assert texts(rs, text, "en") == ["Prosecutors", "PROSECUTION", "cell", "call", "Human rights"]


def test_globs_russian_whole_words_and_yo() -> None:
    rs = compile_rules(book(rule("rep.g", "globs", terms=("репресси*", "ёлк?"))))
    text = "Репрессии и репрессиями; антирепрессивный закон. Елки и ёлку."
    assert texts(rs, text, "ru") == ["Репрессии", "репрессиями", "Елки", "ёлку"]


def test_globs_gate_still_finds_each_rule() -> None:
    # with several glob rules a combined scan decides first whether any can match
    rs = compile_rules(
        book(rule("a.g", "globs", terms=("donat*",)), rule("b.g", "globs", terms=("volunt*",)))
    )
    assert [h.rule_id for h in hits_in(rs, "Volunteers took donations.", "en")] == ["b.g", "a.g"]
    assert hits_in(rs, "Nothing here.", "en") == []


# --- regex -----------------------------------------------------------------------------------


def test_regex_ignores_case_unless_case_sensitive() -> None:
    rs = compile_rules(
        book(
            rule("a.r", "regex", pattern=r"\bfines?\b"),
            rule("b.r", "regex", pattern=r"\bGRAS\b", case_sensitive=True),
        )
    )
    found = hits_in(rs, "FINES and a fine; GRAS but not gras.", "en")
    assert [(h.rule_id, h.text) for h in found] == [
        ("a.r", "FINES"),
        ("a.r", "fine"),
        ("b.r", "GRAS"),
    ]


def test_regex_russian_sees_original_letters_and_skips_empty_matches() -> None:
    rs = compile_rules(
        book(rule("a.r", "regex", pattern=r"штраф\w*"), rule("b.r", "regex", pattern="ё"))
    )
    found = hits_in(rs, "Штрафы и штрафом; ещё.", "ru")
    assert [h.text for h in found] == ["Штрафы", "штрафом", "ё"]
    empty = compile_rules(book(rule("a.r", "regex", pattern="x*")))
    assert hits_in(empty, "no x here, xx", "en") == [
        RuleHit("a.r", "a", 3, 4, "x"),
        RuleHit("a.r", "a", 11, 13, "xx"),
    ]


def test_bad_regex_is_a_codebook_error_naming_the_rule() -> None:
    with pytest.raises(CodebookError, match=r"rule 'a.r'.*does not compile"):
        RuleSet(book(rule("a.r", "regex", pattern="(unclosed")))


# --- token patterns --------------------------------------------------------------------------


def test_pattern_english() -> None:
    pattern = [{"LOWER": "autonomous"}, {"LOWER": {"IN": ["cells", "groups"]}}]
    rs = compile_rules(book(rule("dec.t", "pattern", pattern=pattern)))
    assert texts(rs, "Autonomous groups and autonomous cells, autonomous people.", "en") == [
        "Autonomous groups",
        "autonomous cells",
    ]


def test_pattern_russian_is_folded_like_the_text() -> None:
    pattern = [{"LOWER": "своё"}, {"LOWER": "дело"}]
    rs = compile_rules(book(rule("a.t", "pattern", pattern=pattern)))
    assert texts(rs, "Каждый делал свое дело и своё дело.", "ru") == ["свое дело", "своё дело"]


def test_pattern_without_literal_words_runs_on_every_passage() -> None:
    rs = compile_rules(book(rule("num.t", "pattern", pattern=[{"IS_DIGIT": True}, {"LENGTH": 7}])))
    assert texts(rs, "In 2022 arrests: 19 persons.", "en") == ["2022 arrests", "19 persons"]


def test_pattern_with_optional_first_token_matches_without_it() -> None:
    # the optional "very" must not be taken as a word every match needs
    pattern = [{"LOWER": "very", "OP": "?"}, {"LOWER": "brave"}]
    rs = compile_rules(book(rule("brave.t", "pattern", pattern=pattern)))
    assert texts(rs, "A brave act.", "en") == ["brave"]
    assert texts(rs, "A very brave act.", "en") == ["very brave", "brave"]
    assert texts(rs, "A very bold act.", "en") == []


def test_invalid_pattern_is_a_codebook_error_naming_the_rule() -> None:
    rs = RuleSet(book(rule("a.t", "pattern", pattern=[{"LOWR": "x"}])))
    with pytest.raises(CodebookError, match=r"rule 'a.t'.*not valid for spaCy's Matcher"):
        rs.match([Passage("d", 0, 0, 1, "x")], "en")


# --- near ------------------------------------------------------------------------------------


NEAR = rule("dec.n", "near", near=(("activist*",), ("network*", "cell*"), 3))


def test_near_english_within_outside_and_both_orders() -> None:
    rs = compile_rules(book(NEAR))
    assert texts(rs, "Activists built a network.", "en") == ["Activists built a network"]
    assert texts(rs, "Cells of brave activists.", "en") == ["Cells of brave activists"]
    # exactly three tokens in between is still within; four is not
    assert texts(rs, "activists w1 w2 w3 networks", "en") == ["activists w1 w2 w3 networks"]
    assert texts(rs, "activists w1 w2 w3 w4 networks", "en") == []
    assert texts(rs, "activists only", "en") == []


def test_near_russian_and_phrase_terms() -> None:
    rs = compile_rules(
        book(rule("a.n", "near", near=(("активист*",), ("горизонтальн* структур*",), 2)))
    )
    assert texts(rs, "Горизонтальные структуры, где активисты", "ru") == [
        "Горизонтальные структуры, где активисты"
    ]
    assert texts(rs, "Активисты выбрали горизонтальную структуру.", "ru") == [
        "Активисты выбрали горизонтальную структуру"
    ]
    assert texts(rs, "Активисты долго и упорно выбирали горизонтальную структуру.", "ru") == []


def test_near_with_zero_within_needs_adjacent_terms() -> None:
    rs = compile_rules(book(rule("a.n", "near", near=(("legal",), ("aid",), 0))))
    assert texts(rs, "legal aid", "en") == ["legal aid"]
    assert texts(rs, "legal, aid", "en") == []


# --- languages, offsets, order, vetoes -------------------------------------------------------


def test_rules_apply_only_to_their_language() -> None:
    rs = compile_rules(
        book(
            rule("a.en", "globs", lang="en", terms=("cell*",)),
            rule("a.ru", "globs", lang="ru", terms=("cell*",)),
            rule("a.any", "globs", terms=("cell*",)),
        )
    )
    assert [h.rule_id for h in hits_in(rs, "cells", "en")] == ["a.any", "a.en"]
    assert [h.rule_id for h in hits_in(rs, "cells", "RU")] == ["a.any", "a.ru"]
    assert [h.rule_id for h in hits_in(rs, "cells", None)] == ["a.any"]


def test_hits_are_in_document_offsets_across_a_batch() -> None:
    doc_text = "Intro line.\n\nThe police arrested her.\n\nЕё задержали в марте."
    rs = compile_rules(
        book(
            rule("rep.l", "lemmas", terms=("arrest", "задержать")),
            rule("a.p", "phrases", terms=("её",)),
        )
    )
    passages = []
    for index, part in enumerate(doc_text.split("\n\n")):
        start = doc_text.index(part)
        passages.append(Passage("doc", index, start, start + len(part), part))
    en = rs.match(passages[:2], "en")
    ru = rs.match(passages[2:], "ru")
    assert en[0] == []
    assert [(h.text, h.start) for h in en[1]] == [("arrested", 24)]
    assert [h.text for h in ru[0]] == ["Её", "задержали"]
    for hit in en[1] + ru[0]:
        assert doc_text[hit.start : hit.end] == hit.text


def test_overlaps_kept_duplicates_dropped_and_sorted() -> None:
    rs = compile_rules(
        book(
            rule("b.p", "phrases", terms=("human rights", "human rights", "rights")),
            rule("a.g", "globs", terms=("human*",)),
        )
    )
    found = hits_in(rs, "Human rights defenders.", "en", offset=10)
    assert [(h.rule_id, h.start, h.end) for h in found] == [
        ("a.g", 10, 15),
        ("b.p", 10, 22),
        ("b.p", 16, 22),
    ]


def test_veto_removes_its_code_only() -> None:
    rs = compile_rules(
        book(
            rule("dec.p", "phrases", terms=("cell",)),
            rule("dec.veto", "phrases", terms=("cell phone",), veto=True),
            rule("sec.p", "phrases", terms=("phone",)),
        )
    )
    vetoed = hits_in(rs, "Her cell phone was taken.", "en")
    assert rs.vetoed(vetoed) == {"dec"}
    assert set(rs.codes(vetoed)) == {"sec"}
    kept = hits_in(rs, "Each cell met weekly; one phone.", "en")
    assert rs.vetoed(kept) == set()
    assert {code: [h.text for h in hs] for code, hs in rs.codes(kept).items()} == {
        "dec": ["cell"],
        "sec": ["phone"],
    }


def test_empty_batch_and_empty_passage() -> None:
    rs = compile_rules(book(rule("a.p", "phrases", terms=("x",))))
    assert rs.match([], "en") == []
    assert rs.match([Passage("d", 0, 0, 0, "")], "en") == [[]]


def test_rules_without_terms_warn() -> None:
    with pytest.warns(TrustcodeWarning, match="no terms"):
        rs = RuleSet(book(rule("a.g", "globs", terms=("  ",))))
    assert hits_in(rs, "anything", "en") == []


def test_ruleset_pickles_and_matches_the_same() -> None:
    rs = compile_rules(book(rule("a.l", "lemmas", terms=("ячейка",)), NEAR))
    text = "ячейки активистов; activists and cells"
    before = hits_in(rs, text, "ru")
    clone = pickle.loads(pickle.dumps(rs))
    assert hits_in(clone, text, "ru") == before
    assert [h.rule_id for h in before] == ["a.l", "dec.n"]


def test_many_phrases_still_match() -> None:
    terms = tuple(f"term{i} word{i}" for i in range(5000)) + ("leaderless",)
    rs = compile_rules(book(rule("a.p", "phrases", terms=terms)))
    assert texts(rs, "A leaderless group; term4999 word4999; term1 word2.", "en") == [
        "leaderless",
        "term4999 word4999",
    ]


# --- examples --------------------------------------------------------------------------------


def test_check_examples_reports_missed_positive_and_matched_negative() -> None:
    rules = (
        rule("dec.p", "phrases", terms=("leaderless",)),
        rule("dec.ru", "lemmas", lang="ru", terms=("ячейка",)),
        rule("dec.veto", "phrases", terms=("leaderless dog",), veto=True),
    )
    examples = {
        "dec": {
            "positive_examples": (
                "A leaderless network of groups.",
                "Активисты создали ячейки в разных странах.",
                "The group worked without a chief.",
                "A leaderless dog barked.",
            ),
            "negative_examples": ("The band was leaderless for a year.", "The group was founded."),
        }
    }
    failures = check_examples(book(*rules, **examples))
    assert failures == [
        ExampleFailure("dec", "positive", "The group worked without a chief.", []),
        ExampleFailure("dec", "positive", "A leaderless dog barked.", ["dec.p", "dec.veto"]),
        ExampleFailure("dec", "negative", "The band was leaderless for a year.", ["dec.p"]),
    ]


def test_check_examples_detects_russian_and_skips_classifier_only_codes() -> None:
    ru_only = rule("a.ru", "lemmas", lang="ru", terms=("задержание",))
    passing = book(ru_only, a={"positive_examples": ("Сообщения о задержаниях.",)})
    assert check_examples(passing) == []
    # mostly Latin letters: checked as English, where the Russian rule does not apply
    mixed = book(
        ru_only,
        a={"positive_examples": ("OVD-Info counted many detentions, in Russian задержаний",)},
    )
    assert [f.polarity for f in check_examples(mixed)] == ["positive"]
    skipped = book(
        ru_only, a={"combine": "classifier_only", "positive_examples": ("No rule fires here.",)}
    )
    assert check_examples(skipped, compile_rules(skipped)) == []


# --- properties ------------------------------------------------------------------------------

PROPERTY_RULES = compile_rules(
    book(
        rule("a.p", "phrases", terms=("её", "human rights", "a")),
        rule("a.l", "lemmas", terms=("arrest", "ячейка", "политический заключённый")),
        rule("b.g", "globs", terms=("ё*", "x?", "a b")),
        rule("b.r", "regex", pattern=r"[ёЁ]\w*|\d+"),
        rule("c.t", "pattern", pattern=[{"IS_ALPHA": True}, {"IS_PUNCT": True}]),
        rule("c.n", "near", near=(("a*", "ё"), ("b*", "е*"), 2), veto=True),
    )
)

TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from(list("aAbBxXёЁеЕячейкиarrest .,-\n\t")), st.characters(codec="utf-8")
    ),
    max_size=80,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=TEXT, prefix=st.integers(min_value=0, max_value=50), language=st.sampled_from(["en", "ru"])
)
def test_every_hit_slices_back_to_its_text(text: str, prefix: int, language: str) -> None:
    doc_text = "p" * prefix + text
    passage = Passage("doc", 0, prefix, prefix + len(text), text)
    [found] = PROPERTY_RULES.match([passage], language)
    assert found == sorted(found, key=lambda h: (h.start, h.end, h.rule_id))
    assert len(set(found)) == len(found)
    for hit in found:
        assert prefix <= hit.start < hit.end <= prefix + len(text)
        assert doc_text[hit.start : hit.end] == hit.text


# --- the fast paths agree with plain matching ------------------------------------------------
# The engine skips work: it classifies words once, tries long glob terms only where their
# longest piece stands, runs the Matcher only in windows around a pattern's first word and a
# regex only where a string it needs occurs. These properties compare it with plain matching.

WORDS = ["cell", "cells", "Cell", "phone", "human", "rights", "ячейка", "Ячейки", "её", "ее"]
WORDS += ["self", "organisation", "self-organisation", "without", "revealing", "names", "x"]
WORDS += ["subcell", "xhuman", "Cells", "!"]
SEPARATORS = [" ", "  ", ", ", "-", "\n", ". ", "'"]

passage_texts = st.lists(
    st.tuples(st.sampled_from(WORDS), st.sampled_from(SEPARATORS)), max_size=25
).map(lambda parts: "".join(w + s for w, s in parts))


def glob_to_regex(term: str) -> str:
    """The documented meaning of a glob, written out independently of the engine."""
    out = ""
    for ch in term:
        out += {"*": r"\w*", "?": r"\w", " ": r"\s+"}.get(ch, re.escape(ch))
    return r"(?<!\w)" + out + r"(?!\w)"


GLOB_TERMS = ["cell*", "cell", "c?ll", "human rights", "self-organi?ation", "ячейк*", "ее", "*s"]


@settings(max_examples=120, deadline=None)
@given(text=passage_texts)
def test_glob_terms_match_like_a_plain_whole_word_regex(text: str) -> None:
    rules = [rule(f"g{i}.g", "globs", terms=(t,)) for i, t in enumerate(GLOB_TERMS)]
    rs = compile_rules(book(*rules))
    got = {(h.rule_id, h.start, h.end) for h in hits_in(rs, text, "en")}
    expected = {
        (f"g{i}.g", m.start(), m.end())
        for i, term in enumerate(GLOB_TERMS)
        for m in re.finditer(glob_to_regex(fold(term)), fold(text), re.IGNORECASE)
        if m.end() > m.start()
    }
    assert got == expected


TOKEN_PATTERNS = [
    [{"LOWER": {"IN": ["cell", "cells"]}}, {"LOWER": "phone", "OP": "?"}],
    [{"LOWER": "without"}, {"LOWER": {"IN": ["revealing", "showing"]}}, {"LOWER": "names"}],
    [{"LOWER": "human"}, {"IS_PUNCT": True, "OP": "?"}, {"LOWER": "rights"}],
]


@settings(max_examples=120, deadline=None)
@given(text=passage_texts, unbounded=st.booleans())
def test_token_patterns_match_like_a_plain_matcher(text: str, unbounded: bool) -> None:
    from spacy.matcher import Matcher

    from trustcode.nlp import tokenizer

    patterns = list(TOKEN_PATTERNS)
    if unbounded:  # a pattern of open length makes the engine match whole passages instead
        patterns.append([{"LOWER": "self"}, {"IS_PUNCT": True, "OP": "*"}, {"LOWER": "x"}])
    rules = [rule(f"t{i}.t", "pattern", pattern=p) for i, p in enumerate(patterns)]
    rs = compile_rules(book(*rules))
    got = {(h.rule_id, h.start, h.end) for h in hits_in(rs, text, "en")}
    nlp = tokenizer("en")
    doc = nlp.make_doc(fold(text))
    plain = Matcher(nlp.vocab)
    for i, p in enumerate(patterns):
        plain.add(f"plain-{i}", [p])
    expected = {
        (f"t{nlp.vocab.strings[key].split('-')[1]}.t", doc[s:e].start_char, doc[s:e].end_char)
        for key, s, e in plain(doc)
    }
    assert got == expected


REGEXES = [
    (r"\bcells?\s+phones?\b", False),
    (r"(?:human|civil)\s+rights", False),
    (r"Ячейк\w+", True),
    (r"\b(?:with|without)\b.{0,20}names", False),
    (r"x+|\d", False),
    (r"(?:subcell\s+)?phone", False),
    (r"(?i:cell)s", True),
]


@settings(max_examples=120, deadline=None)
@given(text=passage_texts)
def test_regex_rules_match_like_plain_finditer(text: str) -> None:
    rules = [
        rule(f"r{i}.r", "regex", pattern=p, case_sensitive=cs) for i, (p, cs) in enumerate(REGEXES)
    ]
    rs = compile_rules(book(*rules))
    got = {(h.rule_id, h.start, h.end) for h in hits_in(rs, text, "ru")}
    expected = {
        (f"r{i}.r", m.start(), m.end())
        for i, (p, cs) in enumerate(REGEXES)
        for m in re.finditer(p, text, 0 if cs else re.IGNORECASE)
        if m.end() > m.start()
    }
    assert got == expected


def test_text_whose_lower_case_changes_length_still_matches_in_place() -> None:
    # "İ" lower-cases to two code points; the engine must not shift offsets
    rs = compile_rules(book(rule("a.g", "globs", terms=("istanbul", "human rights"))))
    text = "İİ Istanbul and HUMAN  rights"
    found = hits_in(rs, text, "en", offset=3)
    assert [(h.text, h.start) for h in found] == [("Istanbul", 6), ("HUMAN  rights", 19)]


def test_matcher_windows_overlap_and_reach_the_end() -> None:
    pattern = [{"LOWER": "cell"}, {"LOWER": "cell", "OP": "?"}, {"LOWER": "phone", "OP": "?"}]
    rs = compile_rules(book(rule("a.t", "pattern", pattern=pattern)))
    assert texts(rs, "cell cell phone cell", "en") == [
        "cell",
        "cell cell",
        "cell cell phone",
        "cell",
        "cell phone",
        "cell",
    ]


def test_pattern_of_open_length_matches_beyond_any_window() -> None:
    pattern = [{"LOWER": "free"}, {"IS_ALPHA": True, "OP": "*"}, {"LOWER": "prisoners"}]
    rs = compile_rules(book(rule("a.t", "pattern", pattern=pattern)))
    assert texts(rs, "Free all the political prisoners now.", "en") == [
        "Free all the political prisoners"
    ]


def test_matcher_window_inside_another_keeps_the_longer_one() -> None:
    long = [{"LOWER": "without"}, {"LOWER": "revealing"}, {"IS_ALPHA": True}, {"LOWER": "names"}]
    rs = compile_rules(
        book(
            rule("a.t", "pattern", pattern=long),
            rule("b.t", "pattern", pattern=[{"LOWER": "revealing"}]),
        )
    )
    found = hits_in(rs, "Act without revealing their names.", "en")
    assert [(h.rule_id, h.text) for h in found] == [
        ("a.t", "without revealing their names"),
        ("b.t", "revealing"),
    ]


def test_long_glob_terms_with_one_letter_first_word() -> None:
    rs = compile_rules(book(rule("a.g", "globs", terms=("a cell*", "x-ray"))))
    assert texts(rs, "In a  cell, acell, an X-ray and xx-ray.", "en") == ["a  cell", "X-ray"]


def test_word_cache_refills_when_full(monkeypatch: pytest.MonkeyPatch) -> None:
    from trustcode.rules import terms as terms_module

    # a tiny cache is cleared on nearly every passage: results must not change
    monkeypatch.setattr(terms_module.TermIndex, "CACHE_SIZE", 2)
    rs = compile_rules(book(rule("a.g", "globs", terms=("cell*", "human rights"))))
    for _ in range(3):
        assert texts(rs, "Cells and human rights; a cell.", "en") == [
            "Cells",
            "human rights",
            "cell",
        ]


def test_patterns_with_and_without_literal_words_together() -> None:
    rs = compile_rules(
        book(
            rule("a.t", "pattern", pattern=[{"LOWER": "cell"}]),
            rule("b.t", "pattern", pattern=[{"IS_DIGIT": True}]),
        )
    )
    assert [(h.rule_id, h.text) for h in hits_in(rs, "A cell for 3.", "en")] == [
        ("a.t", "cell"),
        ("b.t", "3"),
    ]
    assert [h.rule_id for h in hits_in(rs, "A cell.", "en")] == ["a.t"]


def test_regex_with_letters_whose_case_folding_grows() -> None:
    # Python's re matches "İ" with "i" when ignoring case, though "İ".casefold() is two letters
    rs = compile_rules(book(rule("a.r", "regex", pattern="İstanbul")))
    assert texts(rs, "From istanbul.", "en") == ["istanbul"]


# --- batches, the word index and bounded regexes ----------------------------------------------


BATCH_TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from(list("aAbBxXёЁеЕячейкиarrest .,-\n\tİıſσςΣ\0")),
        st.characters(codec="utf-8"),
    ),
    max_size=60,
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(BATCH_TEXT, min_size=1, max_size=6), language=st.sampled_from(["en", "ru"]))
def test_a_batch_matches_like_each_passage_alone(batch: list[str], language: str) -> None:
    passages, offset = [], 0
    for i, text in enumerate(batch):
        passages.append(Passage("doc", i, offset, offset + len(text), text))
        offset += len(text) + 2
    together = PROPERTY_RULES.match(passages, language)
    alone = [PROPERTY_RULES.match([p], language)[0] for p in passages]
    assert together == alone


@settings(max_examples=100, deadline=None)
@given(batch=st.lists(BATCH_TEXT, max_size=6))
def test_term_index_finds_in_a_batch_what_it_finds_in_each_text(batch: list[str]) -> None:
    from trustcode.rules.terms import TermIndex

    index = TermIndex()
    index.add(["a*", "x?", "ё*", "a b", "*s", "ıs", "ſa*"])
    index.add(["b-x", "е?", "σ*"])
    index.finish()
    together = index.find_many(batch)
    for text, found in zip(batch, together, strict=True):
        assert {g: sorted(s) for g, s in found.items()} == {
            g: sorted(s) for g, s in index.find(text).items()
        }


@settings(max_examples=200, deadline=None)
@given(
    word=st.text(alphabet=st.sampled_from(list("iIıİsSſkKKσςΣµμвВᲀbB")), min_size=1, max_size=4),
    term=st.text(alphabet=st.sampled_from(list("iıssſkσςµμвᲀb")), min_size=1, max_size=4),
)
def test_case_key_is_shared_by_every_case_insensitive_match(word: str, term: str) -> None:
    # the word index only tries terms with the word's key: it must never miss a match
    from trustcode.rules.terms import _case_key

    if re.fullmatch(re.escape(term), word, re.IGNORECASE):
        key = _case_key(word)
        assert key is None or key == _case_key(term)


def test_word_index_with_thousands_of_terms_finds_exactly_the_plain_matches() -> None:
    terms = [f"w{i}x" for i in range(2000)] + [f"p{i}q*" for i in range(1000)] + ["*zz", "s?ng"]
    rs = compile_rules(book(rule("a.g", "globs", terms=tuple(terms))))
    text = "W17X w17xs P3Q P3Qrest p3 buzz zz SING sang w1999x ſing"
    assert texts(rs, text, "en") == [
        "W17X",
        "P3Q",
        "P3Qrest",
        "buzz",
        "zz",
        "SING",
        "sang",
        "w1999x",
        "ſing",
    ]


def test_holding_finds_the_texts_that_contain_a_string() -> None:
    from trustcode.rules.regexes import _holding

    batch = ["abc", "", "xabcx", "ab", "c abc abc", "a\0bc"]
    assert _holding(batch, "abc") == {0, 2, 4}
    assert _holding(batch, "b\0") == set(range(len(batch)))  # cannot tell: every text


def test_catastrophic_regex_times_out_naming_code_rule_and_passage() -> None:
    from trustcode.rules import RegexTimeoutError

    rs = RuleSet(book(rule("risk.slow", "regex", pattern=r"(a|aa)+$")), regex_timeout=0.05)
    passage = Passage("report", 3, 0, 41, "a" * 40 + "!")
    with pytest.raises(RegexTimeoutError) as caught:
        rs.match([passage], "en")
    message = str(caught.value)
    assert "'risk'" in message and "'risk.slow'" in message and "'report#3'" in message
    assert "0.05 s" in message and "nested" in message
    assert isinstance(caught.value, CodebookError)


def test_bounded_regex_matches_like_unbounded_one(monkeypatch: pytest.MonkeyPatch) -> None:
    from trustcode.rules import linear

    rules = [
        rule(f"r{i}.r", "regex", pattern=p, case_sensitive=cs) for i, (p, cs) in enumerate(REGEXES)
    ]
    text = "Cell phones, human  rights; ЯЧЕЙКИ, Ячейки; without any names; xx 7 subcell phone."
    on_re2 = hits_in(RuleSet(book(*rules)), text, "ru")
    monkeypatch.setattr(linear, "re2_module", lambda: None)  # the engines without RE2
    bounded = RuleSet(book(*rules))
    plain = RuleSet(book(*rules), regex_timeout=None)
    assert bounded._bounded and not plain._bounded  # noqa: SLF001 - both engines really ran
    assert hits_in(bounded, text, "ru") == hits_in(plain, text, "ru") == on_re2
    assert len(on_re2) >= 6


def test_regex_runs_only_on_passages_holding_its_string() -> None:
    rs = compile_rules(book(rule("a.r", "regex", pattern=r"prison\w*")))
    passages = [
        Passage("d", 0, 0, 9, "no match."),
        Passage("d", 1, 10, 26, "Prisoners wrote."),
        Passage("d", 2, 27, 33, "prison"),
    ]
    found = rs.match(passages, "en")
    assert [[(h.text, h.start) for h in hits] for hits in found] == [
        [],
        [("Prisoners", 10)],
        [("prison", 27)],
    ]
