"""Codebook rules -> term index, regexes and spaCy matchers -> rule hits.

A :class:`RuleSet` compiles a codebook's rules once per language, on first use. Text is matched
with its ``ё``/``Ё`` folded to ``е``/``Е``; folding keeps every offset, so hit spans and evidence
come from the original passage text.

Terms. Phrases, lemmas (expanded into their inflected forms when the rules are compiled --
English: spaCy's lookup table from spacy-lookups-data, inverted; Russian: pymorphy3 lexemes --
so no lemmatizer runs), globs and the two sides of proximity rules are all *terms*, found as
whole words in the text, ignoring case:

- a term matches where no letter, digit or ``_`` stands right before or after it, whatever
  spaCy's tokenizer would make of the text: ``not`` is not found in ``cannot`` nor ``km`` in
  ``10km`` (the tokenizer splits both), while ``ovd-info`` is found in ``ovd-info's`` and
  ``doesn`` in ``doesn't`` (an apostrophe ends a word), and a word inside a URL counts;
- white space between a term's words matches any run of white space, line breaks included
  (``prison cell`` matches the two words on two lines); other characters are matched as
  written, so ``OVD-Info`` does not match ``OVD - Info``;
- in phrases and lemmas ``*`` and ``?`` are literal characters; in globs they are wildcards;
- a lemma entry of several words matches any form of each word, in that order, with white
  space between them.

Proximity rules count spaCy tokens between two terms; token patterns run spaCy's ``Matcher``.

Matching must cost little more than tokenizing, so the engine works a batch of passages (one
document) at a time and avoids work it can prove useless; each shortcut is checked by tests
against plain matching. The modules:

- :mod:`.lemmas`: folding, and lemmas expanded into their forms;
- :mod:`.terms`: the term index, finding every term of a batch in one pass;
- :mod:`.regexes`: the strings a regex's matches need, and matching with a time limit
  (:data:`REGEX_TIMEOUT` per rule and passage; a catastrophic pattern raises
  :class:`RegexTimeoutError` rather than hanging the run or skipping the rule, since results
  must not depend on how fast the machine is);
- :mod:`.linear`: regexes written for RE2 (``google-re2``, the ``re2`` extra), which matches in
  linear time with the spans Python's engine finds; a pattern RE2 cannot run with the same
  meaning (a lookbehind, a backreference) stays on the time-limited engine, and
  :meth:`RuleSet.regex_report` says why;
- :mod:`.tokens`: token patterns and proximity rules, tokenizing only the text they need;
- :mod:`.ruleset`: :class:`RuleSet`, which compiles and runs them all, and
  :func:`check_examples`.
"""

from __future__ import annotations

from .lemmas import expand_lemma, fold
from .regexes import REGEX_TIMEOUT, RegexTimeoutError
from .ruleset import ExampleFailure, RuleSet, check_examples, compile_rules, hits_digest

__all__ = [
    "REGEX_TIMEOUT",
    "ExampleFailure",
    "RegexTimeoutError",
    "RuleSet",
    "check_examples",
    "compile_rules",
    "expand_lemma",
    "fold",
    "hits_digest",
]
