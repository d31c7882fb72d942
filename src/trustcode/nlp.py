"""The one place that builds spaCy pipelines, cached per language.

trustcode needs no downloaded model: a blank pipeline (tokenizer only) serves rules and
segmentation for any language spaCy tokenizes. A trained pipeline is used only when the user names
one (``pipeline=``), and it is loaded from disk or an installed package, never downloaded.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from .errors import UsageError

if TYPE_CHECKING:  # spaCy is imported lazily: commands that do not need it start fast
    from spacy.language import Language

#: language used when a document's language is unknown
FALLBACK_LANGUAGE = "xx"


def normalize_language(language: str | None) -> str:
    """A language code as the pipelines are cached by: lower case, ``xx`` when unknown.

    >>> normalize_language(" RU "), normalize_language(None)
    ('ru', 'xx')
    """
    return (language or FALLBACK_LANGUAGE).strip().lower() or FALLBACK_LANGUAGE


@lru_cache(maxsize=32)
def _blank(language: str) -> Language:
    import spacy

    try:
        nlp = spacy.blank(language)
    except (ImportError, KeyError, ValueError) as exc:  # spaCy raises ImportError for unknown codes
        raise UsageError(
            f"spaCy has no language {language!r}: use an ISO 639-1 code spaCy supports "
            "(for example 'en', 'ru', 'de'), or 'xx' for multi-language tokenization."
        ) from exc
    # the length limit guards parsers and NER against memory blow-ups; a tokenizer-only
    # pipeline has neither, and a passage of any length must be codable
    nlp.max_length = 10**9
    return nlp


def tokenizer(language: str | None) -> Language:
    """A blank pipeline for ``language`` (cached): tokenization only, no model needed.

    >>> [t.text for t in tokenizer("en")("Free them all.")]
    ['Free', 'them', 'all', '.']
    """
    return _blank(normalize_language(language))


@lru_cache(maxsize=32)
def _sentencizer(language: str) -> Language:
    import spacy

    nlp = spacy.blank(language) if language != FALLBACK_LANGUAGE else spacy.blank("xx")
    nlp.max_length = 10**9
    nlp.add_pipe("sentencizer")
    return nlp


def sentencizer(language: str | None) -> Language:
    """A blank pipeline with spaCy's rule-based sentencizer (cached)."""
    language = normalize_language(language)
    _blank(language)  # validates the language code with a clear error
    return _sentencizer(language)


@lru_cache(maxsize=8)
def trained(name: str) -> Language:
    """A trained pipeline the user named (an installed package or a folder); never downloaded."""
    import spacy

    try:
        return spacy.load(name)
    except OSError as exc:
        raise UsageError(
            f"Cannot load the spaCy pipeline {name!r}: it is not installed and not a folder. "
            "trustcode never downloads models; install it with pip, or leave the option out to use "
            "a blank pipeline."
        ) from exc
