"""Folding and lemma expansion: what the rules compare text with.

Text is matched with its ``ё``/``Ё`` folded to ``е``/``Е`` (:func:`fold` keeps every offset).
A lemma rule's dictionary form is expanded into its inflected forms when the rules are compiled
(English: spaCy's lookup table from spacy-lookups-data, inverted; Russian: pymorphy3 lexemes), so
no lemmatizer runs while matching.
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ..errors import TrustcodeWarning
from ..nlp import normalize_language

if TYPE_CHECKING:
    pass


_FOLD_TABLE = str.maketrans({"ё": "е", "Ё": "Е"})


#: languages whose lemmas are expanded into inflected forms
MORPHOLOGY_LANGUAGES = ("en", "ru")


def fold(text: str) -> str:
    """Fold ``ё``/``Ё`` to ``е``/``Е``, one code point for one, so offsets stay valid.

    >>> fold("Её ёлка")
    'Ее елка'
    """
    if "ё" not in text and "Ё" not in text:  # most text has none; skip the copy
        return text
    return text.translate(_FOLD_TABLE)


@lru_cache(maxsize=1)
def _english_forms() -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """spacy-lookups-data's ``lemma_lookup`` inverted: lemma -> its forms as written, and the
    folded lower case of a lemma -> the lemmas that have it.

    Lists, folded only when a codebook asks for a lemma: building a set per lemma of the
    40,000 entries cost a tenth of a second at every start.
    """
    # spaCy's Lookups tables key entries by hash, so the form strings are read from the raw data
    from spacy.util import load_language_data, registry

    try:
        table = load_language_data(registry.lookups.get("en")["lemma_lookup"])
    except (KeyError, ValueError, OSError) as exc:  # RegistryError is a ValueError
        warnings.warn(
            "spacy-lookups-data has no English lemma_lookup table, so English lemmas match only "
            f"as written ({exc}). Reinstall trustcode's dependencies to restore it.",
            TrustcodeWarning,
            stacklevel=3,
        )
        return {}, {}
    forms: dict[str, list[str]] = {}
    for form, lemma in dict(table).items():
        forms.setdefault(lemma, []).append(form)
    spellings: dict[str, list[str]] = {}
    for lemma in forms:
        spellings.setdefault(fold(lemma.lower()), []).append(lemma)
    return forms, spellings


@lru_cache(maxsize=1)
def _morph() -> Any:
    import pymorphy3

    return pymorphy3.MorphAnalyzer()


@lru_cache(maxsize=65536)
def expand_lemma(word: str, language: str) -> frozenset[str]:
    """All lower-case, ``ё``-folded surface forms of the dictionary form ``word``.

    English uses spaCy's lookup table, Russian pymorphy3; other languages (and entries with
    spaces, which are expanded word by word by the rules) give the word itself.

    >>> sorted(expand_lemma("arrest", "en"))
    ['arrest', 'arrested', 'arresting', 'arrests']
    """
    word = word.strip().lower()
    key = fold(word)
    language = normalize_language(language)
    if not key or any(ch.isspace() for ch in key):
        return frozenset({key}) if key else frozenset()
    if language == "en":
        forms, spellings = _english_forms()
        found = {fold(f.lower()) for lemma in spellings.get(key, ()) for f in forms[lemma]}
        return frozenset(found | {key})
    if language == "ru":
        parses = _morph().parse(word)
        # a word form can be read as several lemmas; keep the readings whose lemma is this word
        same = [p for p in parses if fold(p.normal_form) == key] or parses
        return frozenset({fold(form.word) for p in same for form in p.lexeme} | {key})
    return frozenset({key})
