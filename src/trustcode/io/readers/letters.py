"""Letters as a reader should hand them on: ligatures and other presentation forms as plain
letters, odd spaces as spaces, soft hyphens and zero-width marks gone; and words hyphenated at a
line end joined again when the document shows the joined word."""

from __future__ import annotations

import re
import unicodedata

# Presentation forms (U+FB00 ligatures such as 'ﬁ', Armenian and Hebrew forms, U+FE70 Arabic forms)
# and fullwidth letters: their compatibility decomposition is the plain letters a rule looks for.
_PRESENTATION = re.compile("[\ufb00-\ufb4f\ufe70-\ufefe\uff01-\uff5e]")
_ODD_SPACES = re.compile("[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")
_INVISIBLE = re.compile("[\u00ad\u200b\u2060\ufeff]")
_DASHES = "\u2013\u2014"
_WORD = re.compile(r"\w+(?:-\w+)*")

#: the characters that may end a line with a word cut in two: hyphen-minus, the hyphen, the soft
#: hyphen, and the control character PDFium reports for a hyphen it found at a line end
LINE_END_HYPHENS = "-\u2010\u00ad\x02"


def clean_letters(text: str) -> str:
    """``text`` with presentation forms as plain letters and odd spaces as plain spaces; soft
    hyphens and zero-width marks are dropped (a line-end soft hyphen is seen before this).

    >>> clean_letters("o\\ufb03ce \\ufb01ned\\u00a0to\\u00addays")
    'office fined todays'
    """
    text = _PRESENTATION.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)
    text = _INVISIBLE.sub("", text)
    return _ODD_SPACES.sub(" ", text)


def known_words(texts: list[str]) -> set[str]:
    """The words (case-folded) that occur in ``texts``, hyphenated compounds both whole and in
    their parts, to decide how to join a word cut at a line end."""
    found: set[str] = set()
    for text in texts:
        for word in _WORD.findall(text):
            found.add(word.casefold())
            if "-" in word:
                found.update(word.casefold().split("-"))
    return found


def join_lines(lines: list[str], words: set[str]) -> str:
    """The lines of one paragraph as one text. A word cut at a line end by a hyphen is joined
    without it when the document knows the joined word and not the hyphenated one (``words``,
    from :func:`known_words`); otherwise the hyphen stays, as in 'self-organization'. A soft
    hyphen always joins; a line that breaks at a dash without spaces keeps none.

    >>> join_lines(["a self-", "organization"], set())
    'a self-organization'
    >>> join_lines(["the orga-", "nization grew"], {"organization"})
    'the organization grew'
    >>> join_lines(["in 2011", "\u20142014"], set())
    'in 2011\u20142014'
    """
    pieces: list[str] = []
    for line in (line.strip() for line in lines):
        if not line:
            continue
        if not pieces:
            pieces.append(line)
            continue
        last = pieces[-1]
        if (
            last[-1] in _DASHES
            and not last[-2:-1].isspace()
            or (line[0] in _DASHES and line[1:2].isalnum())
        ):  # a line may break before or after a dash that has no space ('2011—2014')
            pieces.append(line)
            continue
        if last[-1] not in LINE_END_HYPHENS or len(last) < 2 or last[-2].isspace():
            pieces.append(" " + line)
            continue
        head = re.search(r"(\w+)$", last[:-1])
        tail = re.match(r"\w+", line)
        joined = (
            head is not None
            and tail is not None
            and (
                last[-1] == "\u00ad"
                or (
                    (head.group(1) + tail.group()).casefold() in words
                    and f"{head.group(1)}-{tail.group()}".casefold() not in words
                )
            )
        )
        hyphen = "" if joined else ("-" if last[-1] in "\u00ad\x02" else last[-1])
        pieces[-1] = last[:-1] + hyphen
        pieces.append(line)
    return "".join(pieces)
