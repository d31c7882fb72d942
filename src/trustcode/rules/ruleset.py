"""A codebook's rules compiled per language (:class:`RuleSet`), and its examples run as tests.

:class:`RuleSet` compiles the rules of a language on first use into a term index
(:mod:`.terms`), regexes (:mod:`.regexes`) and spaCy matchers (:mod:`.tokens`), and matches
a batch of passages at once, giving each passage's :class:`~trustcode.types.RuleHit` list.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import CodebookError, TrustcodeWarning
from ..nlp import normalize_language, tokenizer
from ..types import RULE_KINDS, Codebook, Passage, Rule, RuleHit
from .cache import RulesCache
from .lemmas import MORPHOLOGY_LANGUAGES, fold
from .linear import linear_spans, missing_reason
from .regexes import (
    REGEX_TIMEOUT,
    Joined,
    RegexTimeoutError,
    bounded_regex,
    pattern_spans,
    required_strings,
)
from .terms import WORD, TermIndex, alternatives
from .tokens import (
    Near,
    Patterns,
    add_token_patterns,
    fold_pattern,
    near_spans,
    pattern_batch,
    split_first_in,
)

if TYPE_CHECKING:
    from spacy.language import Language


#: share of Cyrillic letters from which an example counts as Russian
_CYRILLIC_SHARE = 0.3


def _where(codebook: Codebook, rule: Rule) -> str:
    return f"{codebook.path or 'codebook'}: code {rule.code!r}, rule {rule.id!r}"


@dataclass
class Compiled:
    """The compiled rules of one language."""

    language: str
    terms: TermIndex = field(default_factory=TermIndex)
    #: term-index group -> rule index, for glob, phrase and lemma rules
    term_rules: dict[int, int] = field(default_factory=dict)
    #: (rule index, regex, sets of strings such that a match contains one of each, or None);
    #: a string is paired with True when it is case-folded (the regex ignores case)
    regexes: list[tuple[int, re.Pattern[str], tuple[frozenset[tuple[bool, str]], ...] | None]] = (
        field(default_factory=list)
    )
    #: a regex's required string -> its number among the term index's watched strings
    watched: dict[tuple[bool, str], int] = field(default_factory=dict)
    #: near rules by the term-index group of their a terms
    nears: dict[int, list[Near]] = field(default_factory=dict)
    #: token-pattern rules, when the codebook has some for this language
    patterns: Patterns | None = None
    #: the blank pipeline, built on first need (token patterns, proximity distances)
    nlp: Language | None = None
    #: the most whitespace-separated chunks one token covers: 1, except where a tokenizer
    #: exception holds a space (Russian "вед. науч. сотр." is one token)
    span: int = 1
    #: chunks a region of text is widened by on each side so that its tokens are those of the
    #: whole passage (an exception there may join the region's first or last chunks)
    margin: int = 0

    def tokenizer(self) -> Language:
        if self.nlp is None:
            nlp = tokenizer(self.language)
            rules = getattr(nlp.tokenizer, "rules", None) or {}
            self.span = max(1, max((len(key.split()) for key in rules), default=1))
            self.margin = 2 * (self.span - 1)
            self.nlp = nlp
        return self.nlp


class RuleSet:
    """A codebook's rules, compiled lazily per language into a term index, regexes and matchers.

    >>> from trustcode.types import Code, Codebook, Passage, Rule
    >>> rule = Rule(id="arrests.lemmas-1", code="arrests", kind="lemmas", terms=("arrest",))
    >>> book = Codebook(name="demo", codes=(Code(id="arrests", label="Arrests", rules=(rule,)),))
    >>> hits = RuleSet(book).match([Passage("d", 0, 0, 19, "Two were arrested.")], "en")
    >>> [(h.rule_id, h.text, h.start, h.end) for h in hits[0]]
    [('arrests.lemmas-1', 'arrested', 9, 17)]
    """

    def __init__(self, codebook: Codebook, *, regex_timeout: float | None = REGEX_TIMEOUT) -> None:
        self.codebook = codebook
        self.rules: tuple[Rule, ...] = codebook.rules
        #: (rule id, code, veto) by rule index: what each hit copies
        self._hit_info = [(r.id, r.code, r.veto) for r in self.rules]
        self._compiled: dict[str, Compiled] = {}
        # language-independent parts are compiled now, so a bad regex fails at construction
        self._regex: dict[int, re.Pattern[str]] = {}
        #: the same regexes compiled by the ``regex`` package, whose matching takes a timeout
        self._bounded: dict[int, Any] = {}
        #: the same regexes written for RE2 (linear time, Python's spans), where it can run them
        self._linear: dict[int, Any] = {}
        #: rule id -> why its regex runs on Python's engine rather than RE2
        self.regex_fallbacks: dict[str, str] = {}
        #: seconds one regex rule may run on one passage (None: unbounded)
        self.regex_timeout: float | None = regex_timeout
        #: lemma forms and RE2 regexes computed by an earlier run (or worker) for these rules
        self._cache = RulesCache(codebook)
        for index, rule in enumerate(self.rules):
            self._prepare(index, rule)
        self._cache.save()

    def __getstate__(self) -> dict[str, Any]:
        # matchers hold a language's vocab; worker processes rebuild them on first use
        state = self.__dict__.copy()
        state["_compiled"] = {}
        state["_linear"] = {}  # RE2's regexes do not pickle: compiled again on arrival
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        for index, regex in self._regex.items():
            if self.rules[index].id not in self.regex_fallbacks:
                linear, reason = self._cache.linear(regex.pattern, regex.flags & re.IGNORECASE)
                if linear is not None:
                    self._linear[index] = linear
                else:  # this process has no RE2
                    self.regex_fallbacks[self.rules[index].id] = str(reason)
                    if self.regex_timeout is not None:
                        self._bounded[index] = bounded_regex(regex)

    def _prepare(self, index: int, rule: Rule) -> None:
        if rule.kind not in RULE_KINDS:
            raise CodebookError(
                f"{_where(self.codebook, rule)}: unknown rule kind {rule.kind!r}. "
                f"Expected one of {', '.join(RULE_KINDS)}; rename the rule's key."
            )
        if rule.kind == "regex":
            if not isinstance(rule.pattern, str) or not rule.pattern:
                raise CodebookError(
                    f"{_where(self.codebook, rule)}: a regex rule needs a non-empty regular "
                    f"expression string, found {rule.pattern!r}. Write it as a quoted string."
                )
            flags = 0 if rule.case_sensitive else re.IGNORECASE
            try:
                self._regex[index] = re.compile(rule.pattern, flags)
            except re.error as exc:
                raise CodebookError(
                    f"{_where(self.codebook, rule)}: the regex {rule.pattern!r} does not compile "
                    f"({exc}). Expected a Python regular expression; fix it or escape special "
                    "characters with a backslash."
                ) from exc
            linear, reason = self._cache.linear(rule.pattern, flags)
            if linear is not None:
                self._linear[index] = linear
            else:
                self.regex_fallbacks[rule.id] = str(reason)
                if self.regex_timeout is not None:
                    self._bounded[index] = bounded_regex(self._regex[index])
        elif rule.kind == "globs":
            if not any(t.strip() for t in rule.terms):
                self._warn_empty(rule)
        elif rule.kind == "near":
            if rule.near is None:
                raise CodebookError(
                    f"{_where(self.codebook, rule)}: a near rule needs a, b and within, found "
                    "none. Write it as near: {a: [...], b: [...], within: N}."
                )
            a_terms, b_terms, within = rule.near
            if not isinstance(within, int) or within < 0:
                raise CodebookError(
                    f"{_where(self.codebook, rule)}: near.within must be an int in [0, inf), "
                    f"found {within!r}. Give the largest number of tokens allowed in between."
                )
            if not any(t.strip() for t in a_terms) or not any(t.strip() for t in b_terms):
                self._warn_empty(rule)

    def _warn_empty(self, rule: Rule) -> None:
        warnings.warn(
            f"{_where(self.codebook, rule)}: the rule has no terms and never matches; add terms "
            "or remove it.",
            TrustcodeWarning,
            stacklevel=4,
        )

    def prepare(self, language: str | None) -> None:
        """Compile the rules of ``language`` now rather than on the first match (say, before
        worker processes fork, so that they inherit the compiled matchers).

        >>> RuleSet(Codebook(name="empty", codes=())).prepare("en")
        """
        compiled = self._compile(normalize_language(language))
        if compiled.nears:  # proximity rules tokenize: load the tokenizer now too
            compiled.tokenizer()

    # --- per-language compilation ---------------------------------------------------------

    def _compile(self, language: str) -> Compiled:
        compiled = self._compiled.get(language)
        if compiled is not None:
            return compiled
        compiled = Compiled(language=language)
        lemma_rules_without_morphology: list[str] = []
        token_patterns: list[tuple[str, int, list[dict[str, Any]]]] = []
        for index, rule in enumerate(self.rules):
            if rule.lang.strip().lower() not in ("any", language):
                continue
            if rule.kind == "phrases":
                terms = [t for t in rule.terms if t.strip()]
                if not terms:
                    self._warn_empty(rule)
                    continue
                compiled.term_rules[compiled.terms.add(terms, literal=True)] = index
            elif rule.kind == "lemmas":
                if language not in MORPHOLOGY_LANGUAGES:
                    lemma_rules_without_morphology.append(rule.id)
                compiled.term_rules[self._add_lemmas(compiled.terms, rule, language)] = index
            elif rule.kind == "pattern":
                key = f"trustcode-rule-{index}"
                token_patterns += [(key, index, p) for p in self._add_pattern(compiled, key, rule)]
            elif rule.kind == "regex":
                regex = self._regex[index]
                options = required_strings(regex.pattern, regex.flags)
                ignore_case = bool(regex.flags & re.IGNORECASE)
                required = None
                if options is not None:
                    # the set whose shortest string is longest first: the rarest, likely
                    options.sort(key=lambda o: -min(map(len, o)))
                    required = tuple(frozenset((ignore_case, s) for s in o) for o in options)
                    for wanted in {string for option in required for string in option}:
                        number = compiled.terms.watch(*wanted)
                        if number is not None:
                            compiled.watched[wanted] = number
                compiled.regexes.append((index, regex, required))
            elif rule.kind == "globs":
                compiled.term_rules[compiled.terms.add(rule.terms)] = index
            elif rule.kind == "near" and rule.near is not None:
                a_terms, b_terms, within = rule.near
                a, b = compiled.terms.add(a_terms), compiled.terms.add(b_terms)
                compiled.terms.pair(a, b)
                compiled.nears.setdefault(a, []).append(Near(index, a, b, within))
        if lemma_rules_without_morphology:
            warnings.warn(
                f"{self.codebook.path or 'codebook'}: trustcode has no inflection data for "
                f"language {language!r}, so lemma rules {', '.join(lemma_rules_without_morphology)}"
                " match their words only as written. Add the inflected forms as phrases or globs.",
                TrustcodeWarning,
                stacklevel=3,
            )
        add_token_patterns(compiled, token_patterns)
        if compiled.patterns is not None and compiled.patterns.gate:
            # the term index notes the chunks holding a pattern's words, as a regex's strings
            for word in compiled.patterns.gate:
                number = compiled.terms.watch(True, word)
                if number is not None:
                    compiled.watched[(True, word)] = number
        compiled.terms.finish()
        self._compiled[language] = compiled
        self._cache.save()  # the lemmas' forms, for the next run
        return compiled

    def _add_lemmas(self, terms: TermIndex, rule: Rule, language: str) -> int:
        """Add a lemma rule's words, as the term group it returns.

        A one-word entry adds its forms as literal terms. An entry of several words becomes one
        term: any form of each word, the words separated by white space, found where a form of
        the first word stands. Listing every combination of the words' forms would explode.
        """
        group = terms.new_group()
        single: set[str] = set()
        several = False
        for entry in rule.terms:
            words = fold(entry.strip().lower()).split()
            if len(words) == 1:
                single |= self._cache.lemma(words[0], language)
            elif words:
                forms = [self._cache.lemma(w, language) if w.isalpha() else {w} for w in words]
                body = r"\s+".join(alternatives(f) for f in forms)
                words_of = [f if all(WORD.fullmatch(w) for w in f) else None for f in forms]
                scan = r"\s+".join(
                    [alternatives(forms[0], whole=True), *(alternatives(f) for f in forms[1:])]
                )
                terms.extend_regex(group, body, words_of, scan)
                several = True
        if not single and not several:
            self._warn_empty(rule)
        terms.extend(group, sorted(single), literal=True)
        return group

    def _add_pattern(self, compiled: Compiled, key: str, rule: Rule) -> list[list[dict[str, Any]]]:
        """Check a token-pattern rule; return its (folded) patterns for the Matcher."""
        from spacy.matcher import Matcher

        pattern = rule.pattern
        if not isinstance(pattern, list | tuple) or not pattern:
            raise CodebookError(
                f"{_where(self.codebook, rule)}: a pattern rule needs a non-empty list of token "
                f"specs, found {pattern!r}. Write it as [{{LOWER: word}}, ...]."
            )
        folded = fold_pattern(list(pattern))
        try:
            Matcher(compiled.tokenizer().vocab, validate=True).add(key, [folded])
        except ValueError as exc:  # spaCy's MatchPatternError is a ValueError
            raise CodebookError(
                f"{_where(self.codebook, rule)}: the token pattern is not valid for spaCy's "
                f"Matcher: {exc}. Fix the attribute names and operators (LOWER, TEXT, IN, OP, ...)."
            ) from exc
        return split_first_in(folded)

    # --- matching ---------------------------------------------------------------------------

    def match(self, passages: Sequence[Passage], language: str | None) -> list[list[RuleHit]]:
        """Each passage's rule hits, in document offsets, sorted by (start, end, rule id).

        >>> from trustcode.types import Code
        >>> rule = Rule(id="c.globs-1", code="c", kind="globs", terms=("prosecut*",))
        >>> ruleset = RuleSet(Codebook(name="x", codes=(Code(id="c", label="C", rules=(rule,)),)))
        >>> hits = ruleset.match([Passage("d", 0, 5, 16, "prosecutors")], "en")[0]
        >>> [(h.text, h.start) for h in hits]
        [('prosecutors', 5)]
        """
        compiled = self._compile(normalize_language(language))
        folded = [fold(p.text) for p in passages]
        # terms and regexes are searched for the whole batch at once; only the passages that
        # may hold a token pattern's match are tokenized, and proximity rules tokenize only the
        # stretch of text between two terms that may be near enough
        # the term index also tells which passages hold the strings the regexes require
        holders: dict[int, set[int]] | None = {} if compiled.watched else None
        term_spans = (
            compiled.terms.find_many(folded, holders)
            if compiled.terms.groups or holders is not None
            else None
        )
        regex_spans = self._regex_batch(compiled, passages, holders) if compiled.regexes else None
        token_spans = pattern_batch(compiled, folded, holders) if compiled.patterns else None
        info = self._hit_info
        results: list[list[RuleHit]] = []
        for i, passage in enumerate(passages):
            found: set[tuple[int, int, int]] = set()
            if term_spans is not None and term_spans[i]:
                spans = term_spans[i]
                for group, group_spans in spans.items():
                    index = compiled.term_rules.get(group)
                    if index is not None:
                        found.update((index, start, end) for start, end in group_spans)
                if compiled.nears:
                    found |= near_spans(compiled, spans, folded[i])
            if regex_spans is not None and regex_spans[i]:
                found |= regex_spans[i]
            if token_spans is not None and token_spans[i]:
                found |= token_spans[i]
            if not found:
                results.append([])
                continue
            text, base = passage.text, passage.start
            hits = [
                RuleHit(
                    info[index][0],
                    info[index][1],
                    base + start,
                    base + end,
                    text[start:end],
                    info[index][2],
                )
                for index, start, end in found
            ]
            hits.sort(key=lambda h: (h.start, h.end, h.rule_id))
            results.append(hits)
        return results

    def _regex_batch(
        self,
        compiled: Compiled,
        passages: Sequence[Passage],
        holders: dict[int, set[int]] | None = None,
    ) -> list[set[tuple[int, int, int]]]:
        """Each passage's regex spans, the regex run only on the passages holding a string of
        each of its required sets, each run bounded in time.

        Which passages hold a string comes from the term index (``holders``, by string number:
        it notes the strings each new chunk holds) or, for a string it cannot watch, from one
        ``str.find`` walk over the whole batch (the rarest-looking set first; the other sets
        with a bounded ``find`` in each remaining passage)."""
        texts = [p.text for p in passages]
        joined: dict[bool, Joined] = {}
        held: dict[tuple[bool, str], set[int]] = {}

        def texts_of(ignore_case: bool) -> Joined:
            # a user's regex sees the original letters: it may mean ё and е differently
            if ignore_case not in joined:
                joined[ignore_case] = Joined(texts, casefold=ignore_case)
            return joined[ignore_case]

        def holding(key: tuple[bool, str]) -> set[int]:
            if holders is not None and key in compiled.watched:
                return holders.get(compiled.watched[key]) or set()
            if key not in held:
                held[key] = texts_of(key[0]).holding(key[1])
            return held[key]

        def holds(i: int, key: tuple[bool, str]) -> bool:
            if holders is not None and key in compiled.watched:
                found = holders.get(compiled.watched[key])
                return found is not None and i in found
            return texts_of(key[0]).holds(i, key[1])

        everyone = range(len(passages))
        found: list[set[tuple[int, int, int]]] = [set() for _ in passages]
        for index, regex, required in compiled.regexes:
            candidates: Iterable[int] = everyone
            if required is not None:
                first, *others = required
                chosen = set().union(*map(holding, first))
                for option in others:
                    if holders is not None and option <= compiled.watched.keys():
                        chosen &= set().union(*map(holding, option))
                    else:
                        chosen = {i for i in chosen if any(holds(i, key) for key in option)}
                candidates = sorted(chosen)
            for i in candidates:
                found[i].update(self._run_regex(index, regex, passages[i]))
        return found

    def _run_regex(
        self, index: int, regex: Any, passage: Passage
    ) -> Iterator[tuple[int, int, int]]:
        """A regex rule's spans in one passage: by RE2 in linear time, where it can run the
        regex; else stopped after :attr:`regex_timeout` seconds."""
        linear = self._linear.get(index)
        if linear is not None:
            for start, end in linear_spans(linear, passage.text):
                yield index, start, end  # never empty: RE2 runs no pattern that matches empty
            return
        bounded = self._bounded.get(index)
        if bounded is None:
            yield from pattern_spans(index, regex, passage.text)
            return
        try:
            # a zero-length match (say ``x*``) marks no words, so it is no evidence
            matches = [m.span() for m in bounded.finditer(passage.text, timeout=self.regex_timeout)]
        except TimeoutError:
            rule = self.rules[index]
            snippet = passage.text[:60] + ("…" if len(passage.text) > 60 else "")
            raise RegexTimeoutError(
                f"{_where(self.codebook, rule)}: the regex {rule.pattern!r} ran longer than "
                f"{self.regex_timeout:g} s on passage {passage.passage_id!r} "
                f"({len(passage.text)} characters: {snippet!r}). Expected a regex that runs in "
                "about linear time; it backtracks catastrophically, which nested repetition "
                "such as (a+)+ or (a|aa)+ causes. Rewrite it without nested repeats "
                "(a+ instead of (a+)+), or use a globs or phrases rule."
            ) from None
        for start, end in matches:
            if end > start:
                yield index, start, end

    def regex_report(self) -> list[str]:
        """Lines saying which engine runs the regex rules: RE2 (linear time) where it can,
        else Python's with a time limit, with the reason for each such rule.

        >>> from trustcode.types import Code
        >>> rule = Rule(id="c.regex-1", code="c", kind="regex", pattern=r"(?<!\\w)cell")
        >>> ruleset = RuleSet(Codebook(name="x", codes=(Code(id="c", label="C", rules=(rule,)),)))
        >>> print("\\n".join(ruleset.regex_report()))  # doctest: +ELLIPSIS
        regexes: ...
        """
        total = len(self._regex)
        if not total:
            return []
        reasons = list(dict.fromkeys(self.regex_fallbacks.values()))
        if len(reasons) == 1 and reasons[0] == missing_reason():
            return [f"regexes: {reasons[0]}."]
        lines = [
            f"regexes: {len(self._linear)} of {total} run on RE2 (linear time)"
            + (
                "."
                if not self.regex_fallbacks
                else "; the others on Python's engine with a time limit:"
            )
        ]
        by_reason: dict[str, list[str]] = {}
        for rule_id, reason in self.regex_fallbacks.items():
            by_reason.setdefault(reason, []).append(rule_id)
        lines += [f"  - {', '.join(ids)}: {reason}" for reason, ids in by_reason.items()]
        return lines

    def codes(self, hits: Sequence[RuleHit]) -> dict[str, list[RuleHit]]:
        """Code -> its non-veto hits, leaving out codes that a veto rule removed.

        >>> hits = [RuleHit("a.x", "a", 0, 3, "abc"), RuleHit("b.x", "b", 0, 3, "abc", veto=True),
        ...         RuleHit("b.y", "b", 4, 5, "d")]
        >>> ruleset = RuleSet(Codebook(name="empty", codes=()))
        >>> {code: [h.rule_id for h in found] for code, found in ruleset.codes(hits).items()}
        {'a': ['a.x']}
        """
        vetoed = {h.code for h in hits if h.veto}
        coded: dict[str, list[RuleHit]] = {}
        for hit in hits:
            if not hit.veto and hit.code not in vetoed:
                coded.setdefault(hit.code, []).append(hit)
        return coded

    def vetoed(self, hits: Sequence[RuleHit]) -> set[str]:
        """Codes that a veto rule removed from the passage these hits came from.

        >>> ruleset = RuleSet(Codebook(name="empty", codes=()))
        >>> sorted(ruleset.vetoed([RuleHit("b.x", "b", 0, 3, "abc", veto=True)]))
        ['b']
        """
        return {h.code for h in hits if h.veto}


def compile_rules(codebook: Codebook) -> RuleSet:
    """Compile a codebook's rules; each language's matchers are built on first use.

    >>> from trustcode.types import Code
    >>> rule = Rule(id="c.phrases-1", code="c", kind="phrases", terms=("её",))
    >>> ruleset = compile_rules(Codebook(name="x", codes=(Code(id="c", label="C", rules=(rule,)),)))
    >>> [h.text for h in ruleset.match([Passage("d", 0, 0, 12, "Спросите ее.")], "ru")[0]]
    ['ее']
    """
    return RuleSet(codebook)


@dataclass
class ExampleFailure:
    """A codebook example that its code's rules get wrong.

    ``polarity`` is ``"positive"`` (the rules miss it) or ``"negative"`` (the rules code it);
    ``found`` holds the ids of the code's rules that fired on it (veto rules included), if any.
    """

    code: str
    polarity: str
    example: str
    found: list[str]


def _example_language(text: str, languages: Sequence[str]) -> str:
    letters = [ch for ch in text if ch.isalpha()]
    cyrillic = sum(1 for ch in letters if "\u0400" <= ch <= "\u04ff")
    if letters and cyrillic / len(letters) >= _CYRILLIC_SHARE:
        return "ru"
    # a codebook written for, say, German examples is checked in German rather than English
    others = [lang for lang in languages if normalize_language(lang) != "ru"]
    return normalize_language(others[0]) if others else "en"


def check_examples(codebook: Codebook, ruleset: RuleSet | None = None) -> list[ExampleFailure]:
    """Run each code's examples through the rules: positives must be coded, negatives not.

    An example's language is Russian when at least 30% of its letters are Cyrillic, otherwise the
    codebook's first other language (English by default). Codes whose combine policy is
    ``classifier_only`` are skipped: their rules never code a passage.

    >>> from trustcode.types import Code
    >>> rule = Rule(id="c.phrases-1", code="c", kind="phrases", terms=("leaderless",))
    >>> code = Code(id="c", label="C", negative_examples=("A leaderless group.",), rules=(rule,))
    >>> [(f.polarity, f.found) for f in check_examples(Codebook(name="x", codes=(code,)))]
    [('negative', ['c.phrases-1'])]
    """
    ruleset = ruleset if ruleset is not None else RuleSet(codebook)
    failures: list[ExampleFailure] = []
    for code in codebook.codes:
        if code.combine == "classifier_only":
            continue
        cases = [("positive", ex) for ex in code.positive_examples]
        cases += [("negative", ex) for ex in code.negative_examples]
        for polarity, example in cases:
            passage = Passage(doc_id="example", index=0, start=0, end=len(example), text=example)
            language = _example_language(example, codebook.languages)
            hits = ruleset.match([passage], language)[0]
            coded = ruleset.codes(hits).get(code.id, [])
            if polarity == "positive" and not coded:
                own = [h.rule_id for h in hits if h.code == code.id]
                failures.append(ExampleFailure(code.id, polarity, example, sorted(set(own))))
            elif polarity == "negative" and coded:
                own = [h.rule_id for h in coded]
                failures.append(ExampleFailure(code.id, polarity, example, sorted(set(own))))
    return failures


def hits_digest(
    ruleset: RuleSet, texts: Sequence[str], languages: Sequence[str] = ("en", "ru")
) -> tuple[str, int]:
    """A sha256 of every rule hit (language, start, end, rule id) of ``texts`` matched as
    passages in each of ``languages``, and how many hits there were: one number that says
    whether a change of the rules' engine changed any hit (the benchmark and the tests use it).

    >>> from trustcode.codebook import load_codebook
    >>> hits_digest(RuleSet(load_codebook()), ["Police detained him."], ["en"])[1]
    1
    """
    import hashlib

    found = hashlib.sha256()
    count = 0
    for language in languages:
        passages = [Passage("d", i, 0, len(t), t) for i, t in enumerate(texts)]
        for first in range(0, len(passages), 64):
            for hits in ruleset.match(passages[first : first + 64], language):
                for h in hits:
                    found.update(f"{language}|{h.start}|{h.end}|{h.rule_id}\n".encode())
                    count += 1
    return found.hexdigest(), count
