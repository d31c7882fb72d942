"""The rules engine's shortcuts checked against plain matching, and the term semantics they fix.

Phrases and lemmas are found as whole-word terms (no tokenizer); proximity rules and token
patterns tokenize only stretches of text. Each property here compares the engine with a plain,
independent computation: a whole-word regex per term, or spaCy's tokens of the whole passage.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trustcode.rules import RuleSet, compile_rules, expand_lemma, fold
from trustcode.types import Code, Codebook, Passage, Rule, RuleHit


def rule(rule_id: str, kind: str, **fields: Any) -> Rule:
    return Rule(id=rule_id, code=rule_id.split(".")[0], kind=kind, **fields)


def book(*rules: Rule) -> Codebook:
    by_code: dict[str, list[Rule]] = {}
    for r in rules:
        by_code.setdefault(r.code, []).append(r)
    codes = tuple(Code(id=c, label=c, rules=tuple(rs)) for c, rs in by_code.items())
    return Codebook(name="shortcuts", codes=codes, languages=("en", "ru"))


def hits_in(ruleset: RuleSet, text: str, language: str) -> list[RuleHit]:
    return ruleset.match([Passage("doc", 0, 0, len(text), text)], language)[0]


def texts(ruleset: RuleSet, text: str, language: str) -> list[str]:
    return [h.text for h in hits_in(ruleset, text, language)]


def whole_word(body: str) -> str:
    return r"(?<!\w)(?:" + body + r")(?!\w)"


def literal_body(term: str) -> str:
    """A phrase as documented: its words as written, any white space between them."""
    return r"\s+".join(re.escape(word) for word in fold(term.lower()).split())


def plain_spans(body: str, text: str) -> set[tuple[int, int]]:
    return {
        m.span()
        for m in re.finditer(whole_word(body), fold(text), re.IGNORECASE)
        if m.end() > m.start()
    }


# --- phrases and lemmas are whole-word terms --------------------------------------------------

WORDS = [
    "cell",
    "Cells",
    "prison",
    "PRISON",
    "human",
    "rights",
    "ovd",
    "info",
    "don",
    "t",
    "not",
    "cannot",
    "km",
    "10km",
    "self",
    "х",
    "ячейка",
    "Ячейки",
    "её",
    "ее",
    "arrested",
    "what",
]
SEPARATORS = [" ", "  ", "\n", "-", "'", "’", ", ", ". ", "?", "*", "_", ""]

passage_texts = st.lists(
    st.tuples(st.sampled_from(WORDS), st.sampled_from(SEPARATORS)), max_size=20
).map(lambda parts: "".join(w + s for w, s in parts))

PHRASES = ["prison cell", "human rights", "ovd-info", "not", "km", "don't", "what?", "её", "cell*"]


@settings(max_examples=150, deadline=None)
@given(text=passage_texts)
def test_phrases_match_like_a_plain_whole_word_regex(text: str) -> None:
    rules = [rule(f"p{i}.p", "phrases", terms=(t,)) for i, t in enumerate(PHRASES)]
    got = {(h.rule_id, h.start, h.end) for h in hits_in(compile_rules(book(*rules)), text, "en")}
    expected = {
        (f"p{i}.p", start, end)
        for i, term in enumerate(PHRASES)
        for start, end in plain_spans(literal_body(term), text)
    }
    assert got == expected


@settings(max_examples=100, deadline=None)
@given(text=passage_texts, language=st.sampled_from(["en", "ru"]))
def test_lemmas_match_like_a_plain_regex_of_their_forms(text: str, language: str) -> None:
    entries = ("arrest", "ячейка", "human rights", "prison cell")
    rs = compile_rules(book(rule("l.l", "lemmas", terms=entries)))
    got = {(h.start, h.end) for h in hits_in(rs, text, language)}
    expected: set[tuple[int, int]] = set()
    for entry in entries:
        words = entry.split()
        body = r"\s+".join(
            "(?:"
            + "|".join(map(re.escape, sorted(expand_lemma(w, language), key=len, reverse=True)))
            + ")"
            for w in words
        )
        expected |= plain_spans(body, text)
    assert got == expected


def test_phrase_is_not_found_inside_a_word_the_tokenizer_would_split() -> None:
    # spaCy reads "cannot" as "can" + "not" and "10km" as "10" + "km"; terms are whole words
    rs = compile_rules(book(rule("a.p", "phrases", terms=("not", "km", "doesn"))))
    assert texts(rs, "We cannot run 10km.", "en") == []
    assert texts(rs, "Not 5 km.", "en") == ["Not", "km"]
    # an apostrophe ends a word: "doesn" is a word of "doesn't"
    assert texts(rs, "It doesn't.", "en") == ["doesn"]


def test_phrase_words_match_across_any_white_space() -> None:
    rs = compile_rules(book(rule("a.p", "phrases", terms=("prison cell",))))
    assert texts(rs, "a prison\ncell and a prison  cell", "en") == ["prison\ncell", "prison  cell"]
    assert texts(rs, "a prison-cell", "en") == []


def test_phrase_keeps_star_and_question_mark_as_written() -> None:
    rs = compile_rules(book(rule("a.p", "phrases", terms=("what?", "c*ll"))))
    assert texts(rs, "So what? A c*ll, a cell, whats", "en") == ["what?", "c*ll"]


def test_multiword_lemma_allows_line_breaks_and_needs_every_word() -> None:
    rs = compile_rules(book(rule("a.l", "lemmas", terms=("уголовный дело",))))
    text = "Возбуждено уголовное\nдело; уголовных дел много; уголовный кодекс."
    assert texts(rs, text, "ru") == ["уголовное\nдело", "уголовных дел"]
    assert texts(rs, "Только дело.", "ru") == []


def test_terms_that_overlap_themselves_are_all_found() -> None:
    # a long term starting with a word is tried at every place of that word
    rs = compile_rules(book(rule("a.p", "phrases", terms=("free free",))))
    found = hits_in(rs, "free free free", "en")
    assert [(h.start, h.end) for h in found] == [(0, 9), (5, 14)]


def test_long_term_needs_a_word_for_each_of_its_pieces_in_the_same_passage() -> None:
    rs = compile_rules(book(rule("a.g", "globs", terms=("the gap", "each other*"))))
    passages = [
        Passage("d", 0, 0, 12, "the the the."),
        Passage("d", 1, 13, 24, "gap between"),
        Passage("d", 2, 25, 43, "Mind THE GAP; each"),
        Passage("d", 3, 44, 56, "each others."),
    ]
    found = rs.match(passages, "en")
    assert [[h.text for h in hits] for hits in found] == [[], [], ["THE GAP"], ["each others"]]


def test_a_codebook_without_near_or_pattern_rules_never_tokenizes() -> None:
    rs = compile_rules(
        book(
            rule("a.p", "phrases", terms=("human rights",)),
            rule("a.l", "lemmas", terms=("arrest", "political prisoner")),
            rule("a.g", "globs", terms=("cell*",)),
            rule("a.r", "regex", pattern=r"\bfines?\b"),
        )
    )
    text = "Human rights: political prisoners were arrested in cells and got fines."
    assert texts(rs, text, "en") == [
        "Human rights",
        "political prisoners",
        "arrested",
        "cells",
        "fines",
    ]
    assert rs._compiled["en"].nlp is None  # noqa: SLF001 - no spaCy pipeline was built


def test_lemma_expansion_is_compiled_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from trustcode.rules import cache as cache_module

    monkeypatch.setenv("TRUSTCODE_CACHE_DIR", str(tmp_path))  # no earlier test's forms
    calls: list[str] = []
    original = cache_module.expand_lemma

    def counting(word: str, language: str) -> frozenset[str]:
        calls.append(word)
        return original(word, language)

    monkeypatch.setattr(cache_module, "expand_lemma", counting)
    rs = compile_rules(book(rule("a.l", "lemmas", terms=("arrest", "political prisoner"))))
    for _ in range(3):
        assert texts(rs, "She was arrested.", "en") == ["arrested"]
    assert sorted(calls) == ["arrest", "political", "prisoner"]


# --- proximity rules tokenize only what lies between two terms ----------------------------------

NEAR_WORDS = [
    "activists",
    "Активисты",
    "network",
    "сети",
    "and",
    "и",
    "т.",
    "д.",
    "вед.",
    "науч.",
    "сотр.",
    "don't",
    "e-mail",
    "10km",
    "(",
    ")",
    "”",
    "...",
    "U.S.",
    "т.е.",
]
NEAR_SEPARATORS = [" ", " ", " ", "  ", "\n", ", ", ""]

near_texts = st.lists(
    st.tuples(st.sampled_from(NEAR_WORDS), st.sampled_from(NEAR_SEPARATORS)), max_size=18
).map(lambda parts: "".join(w + s for w, s in parts))


def plain_near(text: str, a: str, b: str, within: int, language: str) -> set[tuple[int, int]]:
    """Proximity as documented, on spaCy's tokens of the whole passage."""
    from trustcode.nlp import tokenizer

    folded = fold(text)
    starts = [token.idx for token in tokenizer(language).make_doc(folded)]

    def token_range(start: int, end: int) -> tuple[int, int]:
        return max(bisect_right(starts, start) - 1, 0), bisect_left(starts, end) - 1

    def spans(term: str) -> set[tuple[int, int]]:
        return plain_spans(re.escape(term).replace(r"\*", r"\w*"), folded)

    found = set()
    for a_span in spans(a):
        for b_span in spans(b):
            a_range, b_range = token_range(*a_span), token_range(*b_span)
            if a_range[1] < b_range[0]:
                between = b_range[0] - a_range[1] - 1
            elif b_range[1] < a_range[0]:
                between = a_range[0] - b_range[1] - 1
            else:
                continue
            if between <= within:
                found.add((min(a_span[0], b_span[0]), max(a_span[1], b_span[1])))
    return found


@settings(max_examples=150, deadline=None)
@given(text=near_texts, within=st.integers(0, 3), language=st.sampled_from(["en", "ru"]))
def test_near_matches_like_distances_on_the_whole_passage(
    text: str, within: int, language: str
) -> None:
    rs = compile_rules(
        book(
            rule("n.n", "near", near=(("activist*",), ("network", "сет*"), within)),
            rule("m.n", "near", near=(("активист*",), ("сети",), within)),
        )
    )
    got = {(h.rule_id, h.start, h.end) for h in hits_in(rs, text, language)}
    expected = {("n.n", *s) for s in plain_near(text, "activist*", "network", within, language)}
    expected |= {("n.n", *s) for s in plain_near(text, "activist*", "сет*", within, language)}
    expected |= {("m.n", *s) for s in plain_near(text, "активист*", "сети", within, language)}
    assert got == expected


def test_near_counts_a_tokenizer_exception_with_spaces_as_one_token() -> None:
    # "вед. науч. сотр." is one token of spaCy's Russian tokenizer, though three chunks
    rs = compile_rules(book(rule("a.n", "near", near=(("активист*",), ("сет*",), 1))))
    assert texts(rs, "Активисты вед. науч. сотр. сети", "ru") == ["Активисты вед. науч. сотр. сети"]
    assert texts(rs, "Активисты вед. науч. сотр. и сети", "ru") == []


def test_near_tokenizes_enough_text_before_a_term_inside_an_exception() -> None:
    # "сотр" is read inside the one token "вед. науч. сотр."; tokenized from "сотр." alone,
    # the stop would be a token of its own between the terms
    rs = compile_rules(book(rule("a.n", "near", near=(("сотр*",), ("сети",), 0))))
    assert texts(rs, "вед. науч. сотр. сети", "ru") == ["сотр. сети"]


# --- token patterns tokenize only around their first word ---------------------------------------

RU_PATTERNS = [
    [{"LOWER": "сети"}, {"IS_PUNCT": True, "OP": "?"}, {"LOWER": "и"}],
    [{"LOWER": {"IN": ["активисты", "сотр."]}}, {"IS_ALPHA": True}],
]


@settings(max_examples=120, deadline=None)
@given(text=near_texts)
def test_russian_token_patterns_match_like_a_plain_matcher(text: str) -> None:
    from spacy.matcher import Matcher

    from trustcode.nlp import tokenizer

    rules = [rule(f"t{i}.t", "pattern", pattern=p) for i, p in enumerate(RU_PATTERNS)]
    got = {(h.rule_id, h.start, h.end) for h in hits_in(compile_rules(book(*rules)), text, "ru")}
    nlp = tokenizer("ru")
    doc = nlp.make_doc(fold(text))
    plain = Matcher(nlp.vocab)
    for i, p in enumerate(RU_PATTERNS):
        plain.add(f"plain-ru-{i}", [p])
    expected = {
        (f"t{nlp.vocab.strings[key].rsplit('-', 1)[1]}.t", doc[s:e].start_char, doc[s:e].end_char)
        for key, s, e in plain(doc)
    }
    assert got == expected


def test_pattern_window_reaches_over_an_exception_of_several_chunks() -> None:
    pattern = [{"LOWER": "активисты"}, {"IS_ALPHA": False}, {"LOWER": "сети"}]
    rs = compile_rules(book(rule("a.t", "pattern", pattern=pattern)))
    assert texts(rs, "Активисты вед. науч. сотр. сети", "ru") == ["Активисты вед. науч. сотр. сети"]


def test_pattern_word_inside_a_longer_word_is_no_match() -> None:
    # "inform" stands as a string in "information": that passage is tokenized, yet not matched
    pattern = [{"LOWER": "inform"}, {"LOWER": "on"}]
    rs = compile_rules(book(rule("a.t", "pattern", pattern=pattern)))
    assert texts(rs, "Information on arrests. They inform on others.", "en") == ["inform on"]


# --- regexes run only where a string of each required part stands ------------------------------

REGEXES = [
    r"\b(?:cells?|phones?)\b.{0,12}\b(?:rights|names)\b",
    r"human\s+rights\s+(?:of|for)\s+\w+",
    r"(?:ячейк|сет)\w*\s+и\s+\w+",
]


@settings(max_examples=120, deadline=None)
@given(
    text=st.lists(
        st.sampled_from(
            ["cell", "phones", "rights", "names", "human", "of", "for", "ячейки", "сети", "и", "x"]
        ),
        max_size=14,
    ).map(" ".join)
)
def test_regex_with_several_required_parts_matches_like_plain_finditer(text: str) -> None:
    rules = [rule(f"r{i}.r", "regex", pattern=p) for i, p in enumerate(REGEXES)]
    got = {(h.rule_id, h.start, h.end) for h in hits_in(compile_rules(book(*rules)), text, "en")}
    expected = {
        (f"r{i}.r", m.start(), m.end())
        for i, p in enumerate(REGEXES)
        for m in re.finditer(p, text, re.IGNORECASE)
        if m.end() > m.start()
    }
    assert got == expected


def test_required_strings_of_each_part_are_read_off_the_regex() -> None:
    from trustcode.rules.regexes import required_strings

    options = required_strings(r"\b(?:cells?|phones?)\b.{0,12}\b(?:rights|names)\b", re.I)
    assert options == [frozenset({"cell", "phone"}), frozenset({"rights", "names"})]
    assert required_strings(r"\w+", 0) is None


# --- the chunk cache: batches, copies and threads ---------------------------------------------

BATCH_BOOK = book(
    rule("a.g", "globs", terms=("prison*", "human rights", "letter* of support")),
    rule("b.p", "phrases", terms=("political prisoners", "суд")),
)
BATCH_TEXTS = [
    "Letters of support reached the prison.",
    "No term here at all.",
    "Human  rights and political prisoners; prisons and a letter of support.",
    "Суд отложил заседание, суд.",
    "",
    "human rights",
]


def batch_hits(ruleset: RuleSet) -> list[list[tuple[str, int, int]]]:
    passages = []
    offset = 0
    for i, text in enumerate(BATCH_TEXTS):
        passages.append(Passage("doc", i, offset, offset + len(text), text))
        offset += len(text) + 2
    return [[(h.rule_id, h.start, h.end) for h in found] for found in ruleset.match(passages, "en")]


def one_by_one(ruleset: RuleSet) -> list[list[tuple[str, int, int]]]:
    hits = []
    offset = 0
    for i, text in enumerate(BATCH_TEXTS):
        found = ruleset.match([Passage("doc", i, offset, offset + len(text), text)], "en")[0]
        hits.append([(h.rule_id, h.start, h.end) for h in found])
        offset += len(text) + 2
    return hits


def test_a_batch_finds_what_each_passage_finds_alone() -> None:
    batched = batch_hits(compile_rules(BATCH_BOOK))
    assert batched == one_by_one(compile_rules(BATCH_BOOK))
    # the long terms are found only in the passages that hold all of their telling words
    assert [r for r, _, _ in batched[0]] == ["a.g", "a.g"]
    assert batched[1] == [] and batched[4] == []
    assert {r for r, _, _ in batched[2]} == {"a.g", "b.p"}


def test_a_copy_of_the_term_index_starts_with_empty_caches() -> None:
    import pickle

    ruleset = compile_rules(BATCH_BOOK)
    expected = batch_hits(ruleset)
    terms = ruleset._compile("en").terms
    assert len(terms._ids) > 1  # chunks were numbered
    copy = pickle.loads(pickle.dumps(terms))
    assert len(copy._ids) == 1 and copy._registered == 1 and copy._term_starts == []
    assert copy.find_many(BATCH_TEXTS) == terms.find_many(BATCH_TEXTS)
    assert batch_hits(ruleset) == expected


def test_paired_groups_are_reported_only_beside_each_other() -> None:
    from trustcode.rules.terms import TermIndex

    terms = TermIndex()
    a, b, c = terms.add(["activist*"]), terms.add(["network", "human rights"]), terms.add(["cell"])
    terms.pair(a, b)
    terms.finish()
    texts = [
        "activists in a cell",
        "an activist network",
        "activists for human rights",
        "a cell network",
        "activist",
    ]
    found = terms.find_many(texts)
    assert found[0] == {c: [(15, 19)]}  # the activists have no partner here
    assert found[1] == {a: [(3, 11)], b: [(12, 19)]}
    assert found[2] == {a: [(0, 9)], b: [(14, 26)]}  # a long term is a partner too
    assert found[3] == {c: [(2, 6)]} and found[4] == {}
    assert [terms.find(text) for text in texts] == found
    with pytest.raises(ValueError, match="each pairs once"):
        terms.pair(a, c)


def test_threads_sharing_a_ruleset_get_the_same_hits(monkeypatch: pytest.MonkeyPatch) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from trustcode.rules import terms as terms_module

    ruleset = compile_rules(BATCH_BOOK)
    expected = batch_hits(ruleset)
    # a small cache is renumbered every few batches, while other threads match
    monkeypatch.setattr(terms_module.TermIndex, "CACHE_SIZE", 8)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: batch_hits(ruleset), range(40)))
    assert all(result == expected for result in results)


# --- regexes: the term index tells which passages of a batch hold their strings ---------------

BATCH_REGEXES = [
    (r"\b(?:cells?|phones?)\b.{0,12}\b(?:rights|names)\b", False),
    (r"Straße\s+\d+", False),  # ß folds to "ss": the index sees either spelling
    (r"ёлк\w*", False),  # ё: the index sees е, so this string is looked for in the text
    (r"\bHUMAN\s+Rights\b", True),  # case-sensitive: a lower-case look-up must not lose it
    (r"(?:ячейк|сет)\w*\s+и\s+\w+", False),
]
BATCH_WORDS = [
    "cell",
    "Phones,",
    "rights.",
    "NAMES",
    "Straße",
    "STRASSE",
    "12",
    "ёлки",
    "елки",
    "Ёлка",
    "HUMAN",
    "Rights",
    "human",
    "ячейки",
    "сети",
    "и",
    "x",
    "\n",
    "İstanbul",
]


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.lists(st.sampled_from(BATCH_WORDS), max_size=10).map(" ".join), min_size=1, max_size=6
    )
)
def test_regexes_in_a_batch_match_like_plain_finditer_per_passage(batch: list[str]) -> None:
    rules = [
        rule(f"r{i}.r", "regex", pattern=p, case_sensitive=sensitive)
        for i, (p, sensitive) in enumerate(BATCH_REGEXES)
    ]
    ruleset = compile_rules(book(*rules))
    passages = [Passage("d", i, 0, len(text), text) for i, text in enumerate(batch)]
    got = [{(h.rule_id, h.start, h.end) for h in found} for found in ruleset.match(passages, "en")]
    expected = [
        {
            (f"r{i}.r", m.start(), m.end())
            for i, (p, sensitive) in enumerate(BATCH_REGEXES)
            for m in re.finditer(p, text, 0 if sensitive else re.IGNORECASE)
            if m.end() > m.start()
        }
        for text in batch
    ]
    assert got == expected


def test_the_term_index_watches_only_strings_it_can_trace() -> None:
    ruleset = compile_rules(book(rule("a.r", "regex", pattern=r"\b(?:cells?|ёлк)\w*\s+of\s+x")))
    watched = ruleset._compile("en").watched
    # "cell" is traced through the chunks; "of" is too short to be worth it, "ёлк" is folded
    assert set(watched) == {(True, "cell")}


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab ,.\n\t\u00a0\u2003\u3000Щ")), max_size=30))
def test_chunk_bounds_are_those_of_a_white_space_split(text: str) -> None:
    from trustcode.rules.tokens import _chunk_bounds

    starts, ends = _chunk_bounds(text)
    pieces = re.split(r"\s+", text)
    assert [text[a:b] for a, b in zip(starts, ends, strict=True)] == pieces
    # and each chunk is where it is: the white space between chunks is all that is left out
    gaps = [text[b:a] for a, b in zip(starts[1:], ends, strict=False)]
    assert all(gap and not gap.strip() for gap in gaps)


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(list("ab ,.\n\u00a0")), max_size=24),
    st.integers(0, 3),
    st.integers(0, 3),
)
def test_chunk_map_answers_as_the_chunk_bounds_do(text: str, back: int, ahead: int) -> None:
    from trustcode.rules.tokens import _chunk_bounds, _ChunkMap

    starts, ends = _chunk_bounds(text)
    chunks = _ChunkMap(text)
    for position in range(len(text) + 1):
        index = bisect_right(starts, position) - 1
        assert chunks.index(position) == index
        assert chunks.start(position, back) == starts[max(index - back, 0)]
        assert chunks.stop(position, ahead) == ends[min(index + ahead, len(ends) - 1)]
        for later in range(position, len(text) + 1):
            assert chunks.between(position, later) == bisect_right(starts, later) - 1 - index
    assert chunks.last() == len(starts) - 1


EN_PATTERNS = {
    # every anchor word is watched by the term index (4 letters or more)
    "traced": [
        [{"LOWER": "inform"}, {"LOWER": "on"}],
        [{"LOWER": {"IN": ["straße", "cells"]}}, {"IS_DIGIT": True}],
    ],
    # "on" is too short to watch: the batch is searched word by word instead
    "searched": [[{"LOWER": "on"}, {"LOWER": "cells"}], [{"LOWER": "inform"}, {"LOWER": "on"}]],
}


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(
            st.sampled_from(
                [
                    "inform",
                    "Inform",
                    "on",
                    "ON",
                    "cells",
                    "Straße",
                    "STRASSE",
                    "12",
                    "x",
                    "İstanbul",
                    "\n",
                ]
            ),
            max_size=8,
        ).map(" ".join),
        min_size=1,
        max_size=5,
    ),
    st.sampled_from(sorted(EN_PATTERNS)),
)
def test_token_patterns_in_a_batch_match_like_a_plain_matcher(batch: list[str], how: str) -> None:
    from spacy.matcher import Matcher

    from trustcode.nlp import tokenizer

    patterns = EN_PATTERNS[how]
    ruleset = compile_rules(
        book(*(rule(f"t{i}.t", "pattern", pattern=p) for i, p in enumerate(patterns)))
    )
    compiled = ruleset._compile("en")
    assert compiled.patterns is not None and compiled.patterns.gate
    traced = all((True, w) in compiled.watched for w in compiled.patterns.gate)
    assert traced == (how == "traced")
    passages = [Passage("d", i, 0, len(text), text) for i, text in enumerate(batch)]
    got = [{(h.rule_id, h.start, h.end) for h in found} for found in ruleset.match(passages, "en")]
    nlp = tokenizer("en")
    plain = Matcher(nlp.vocab)
    for i, p in enumerate(patterns):
        plain.add(f"t{i}.t", [p])
    expected = []
    for text in batch:
        doc = nlp.make_doc(fold(text))
        expected.append(
            {
                (nlp.vocab.strings[key], doc[s:e].start_char, doc[s:e].end_char)
                for key, s, e in plain(doc)
            }
        )
    assert got == expected


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.text(alphabet=st.sampled_from(list("aCeLlßſΣςİi\u0130ёЁ")), min_size=1, max_size=9),
        max_size=12,
    )
)
def test_the_gate_of_a_batch_of_chunks_is_each_chunks_own(chunks: list[str]) -> None:
    """New chunks pass the watched strings' gate together, from one case-folded string; the
    chunks it names are those a chunk-by-chunk search names, also where a letter folds to
    several (ß to ss), which moves the offsets (the batch then goes chunk by chunk)."""
    ruleset = compile_rules(book(rule("a.r", "regex", pattern=r"cell\w* of|ssel\w+ x")))
    index = ruleset._compile("en").terms
    gate = index._watch_gate
    assert gate is not None
    assert index._gated(chunks) == {
        i for i, chunk in enumerate(chunks) if gate.search(chunk.casefold())
    }
    # six ß fold to twelve letters: read off the folded batch, "cell" would land in "b"
    assert index._gated([*chunks, "ßßßßßß", "cell", "b"]) - set(range(len(chunks))) == {
        len(chunks) + 1
    }


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("abcſ")), min_size=1, max_size=8))
def test_a_word_meets_every_glob_whose_literal_start_it_begins_with(word: str) -> None:
    """A word's candidate globs are looked up by its first letters once, not once per length of
    literal start; they are all the globs whose start the word's case key begins with,
    shortest start first, and the globs decide the rest."""
    from trustcode.rules.terms import _case_key

    globs = ["ab*", "abc*", "abca?", "b*", "ca*", "abcab*c"]
    ruleset = compile_rules(
        book(*(rule(f"g{i}.r", "globs", terms=(g,)) for i, g in enumerate(globs)))
    )
    index = ruleset._compile("en").terms
    key = _case_key(word)
    assert key is not None
    starts = sorted((k for k in index._prefix if key.startswith(k)), key=len)
    expected = list(index._exact.get(key, ())) + [i for k in starts for i in index._prefix[k]]
    assert list(index._candidates(word)) == expected
    found = {h.rule_id for h in hits_in(ruleset, f"x {word} y", "en")}
    assert found == {
        f"g{i}.r"
        for i, g in enumerate(globs)
        if re.fullmatch(g.replace("*", r"\w*").replace("?", r"\w"), word, re.IGNORECASE)
    }
