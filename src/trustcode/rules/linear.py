"""Codebook regexes run by RE2 (the ``google-re2`` package): linear time, so no rule can hang.

RE2 reads ``\\w``, ``\\b`` and case-insensitive letters differently from Python (ASCII word
characters, Unicode case folding), so a pattern is not handed to it as written. It is parsed by
Python's own parser and written again for RE2 with every class spelled out as the characters
*this* Python matches: ``\\w`` as the ranges Python's ``\\w`` covers, a case-insensitive letter
as the letters Python's ``re`` takes for it. The spans are then those of Python's engine.

A pattern whose meaning RE2 cannot reproduce is refused with the reason (:func:`translate`
raises :class:`Refused`): ``\\b`` and ``\\B`` outside ASCII mode, lookarounds, backreferences,
atomic groups and possessive repeats, ``$`` outside multi-line mode (Python's also matches
before a final newline), a pattern that can match empty text (RE2 steps past an empty match
differently). Such a rule runs on the ``regex`` package with a time limit, as before; so does
every rule when ``google-re2`` is not installed (``pip install "trustcode[re2]"``).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

#: the package RE2 comes from, as pip names it
RE2_PACKAGE = "google-re2"

#: what to install for it
RE2_INSTALL = 'pip install "trustcode[re2]"'

_MAX_CODE = 0x10FFFF
_SURROGATES = (0xD800, 0xDFFF)
#: a case-insensitive range longer than this is refused (each letter's cases are listed)
_MAX_FOLDED_RANGE = 2000
#: RE2's largest repeat count
_MAX_REPEAT = 1000


class Refused(Exception):
    """A pattern RE2 cannot run with the meaning Python gives it; the message says why."""


@lru_cache(maxsize=1)
def re2_module() -> Any | None:
    """The ``re2`` module of ``google-re2``, or None when it is not installed."""
    try:
        return importlib.import_module("re2")
    except ImportError:
        return None


def missing_reason() -> str:
    """Why no regex runs on RE2 when ``google-re2`` is missing, and how to get it."""
    return (
        f"{RE2_PACKAGE} is not installed, so regexes run on Python's engine with a time limit; "
        f"for linear-time matching: {RE2_INSTALL}"
    )


# --- character sets as sorted lists of (first, last) code points --------------------------------

Ranges = list[tuple[int, int]]


def _merge(ranges: Iterable[tuple[int, int]]) -> Ranges:
    merged: Ranges = []
    for low, high in sorted(ranges):
        if merged and low <= merged[-1][1] + 1:
            if high > merged[-1][1]:
                merged[-1] = (merged[-1][0], high)
        else:
            merged.append((low, high))
    return merged


def _complement(ranges: Ranges) -> Ranges:
    out: Ranges = []
    at = 0
    for low, high in _merge(ranges):
        if low > at:
            out.append((at, low - 1))
        at = high + 1
    if at <= _MAX_CODE:
        out.append((at, _MAX_CODE))
    return out


@lru_cache(maxsize=1)
def _every_character() -> str:
    """Every code point but the surrogates, in order, as one string (built once)."""
    import numpy as np

    points = np.arange(_MAX_CODE + 1, dtype=np.uint32)
    points = points[(points < _SURROGATES[0]) | (points > _SURROGATES[1])]
    return points.astype("<u4").tobytes().decode("utf-32-le")


@lru_cache(maxsize=16)
def _category(escape: str, ascii_only: bool) -> tuple[tuple[int, int], ...]:
    """The code points Python's ``\\w``, ``\\d`` or ``\\s`` matches, as ranges."""
    text = _every_character()
    flags = re.ASCII if ascii_only else 0
    return tuple(
        (ord(text[m.start()]), ord(text[m.end() - 1]))
        for m in re.finditer(escape + "+", text, flags)
    )


@lru_cache(maxsize=1)
def _cased() -> str:
    """Every character that case-insensitive matching may join with another: those whose lower
    case differs, their lower cases, and the pairs Python adds beyond lower-casing."""
    import numpy as np

    text = _every_character().replace("\u0130", "")  # İ alone lower-cases to two characters
    lowered = text.lower()
    found = {"\u0130", "i"}
    if len(lowered) == len(text):
        mine = np.frombuffer(text.encode("utf-32-le"), dtype="<u4")
        low = np.frombuffer(lowered.encode("utf-32-le"), dtype="<u4")
        differ = mine != low
        found.update(map(chr, mine[differ].tolist()))
        found.update(map(chr, low[differ].tolist()))
    else:  # not expected: fall back to one character at a time
        found.update(c for c in text if c.lower() != c)
        found.update(c.lower() for c in text if c.lower() != c)
    try:
        extra = importlib.import_module("re._casefix")._EXTRA_CASES
    except (ImportError, AttributeError):
        extra = {}
    for char, others in extra.items():
        found.add(chr(char))
        found.update(map(chr, others))
    return "".join(sorted(found))


@lru_cache(maxsize=4096)
def _cases(char: str, flags: int) -> tuple[int, ...]:
    """The characters Python's ``re`` matches for the literal ``char`` with ``flags``."""
    if not flags & re.IGNORECASE:
        return (ord(char),)
    candidates = _cased() + char + char.lower() + char.upper()
    found = re.findall(re.escape(char), candidates, flags & (re.IGNORECASE | re.ASCII))
    return tuple(sorted({ord(c) for c in found} | {ord(char)}))


# --- the translation ---------------------------------------------------------------------------


class Linear:
    """A regex written for RE2 over a byte alphabet of its own (see :func:`translate`)."""

    def __init__(self, regex: Any, starts: Any, alphabet: Any, pattern: bytes) -> None:
        #: the compiled RE2 regex (Latin-1: one byte per character of the text)
        self.regex = regex
        #: first code point of each run of characters the regex cannot tell apart, and the
        #: byte that stands for that run's characters
        self.starts = starts
        self.alphabet = alphabet
        self.pattern = pattern
        #: the byte of every character of the Basic Multilingual Plane, built on first use
        self._bmp: Any = None

    def spell(self, text: str) -> bytes:
        """``text`` in this regex's alphabet: one byte per character, so offsets carry over."""
        import numpy as np

        points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")
        if self._bmp is None:
            every = np.arange(0x10000, dtype=np.int64)
            self._bmp = self.alphabet[np.searchsorted(self.starts, every, side="right") - 1]
        if not len(points) or points.max() < 0x10000:  # a table look-up per character
            return bytes(self._bmp[points])
        return self.alphabet[np.searchsorted(self.starts, points, side="right") - 1].tobytes()


#: the bytes that RE2's ``\b`` takes for word characters, in the order they are handed out
_WORD_BYTES = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
_OTHER_BYTES = bytes(b for b in range(256) if b not in _WORD_BYTES and b != 10)


def translate(pattern: str, flags: int = 0) -> tuple[bytes, Any, Any]:
    """``pattern`` (a Python regex compiled with ``flags``) written for RE2, with the alphabet
    to spell texts in: ``(RE2 pattern, starts, bytes)`` (see :class:`Linear`). Raises
    :class:`Refused` with the reason when RE2 cannot mean the same.

    RE2's ``\\b`` and ``\\w`` know only ASCII, and its case folding is not Python's. So each
    class of the pattern (a letter in either case, ``\\w``, ``[^.]``) is first spelled out as the
    set of characters *this* Python matches for it. Characters that no class and no word
    boundary of the pattern tells apart are then one letter of a small alphabet, written as
    one byte: a word character as an ASCII letter, digit or ``_``, any other as another byte,
    ``\\n`` as itself. The text is spelled in that alphabet before RE2 reads it; so ``\\b``
    means what it means to Python, and offsets are those of the text.

    >>> text, _starts, _alphabet = translate(r"\\bab+")
    >>> text
    b'\\\\b[1](?:[2])+'
    >>> translate(r"(?<!\\w)cell")
    Traceback (most recent call last):
    ...
    trustcode.rules.linear.Refused: a negative lookahead or lookbehind: RE2 has no such construct
    """
    import numpy as np

    sre = importlib.import_module("re._constants")
    parser = importlib.import_module("re._parser")
    try:
        parsed = parser.parse(pattern, flags)
    except re.error as exc:
        raise Refused(f"Python cannot parse it ({exc})") from None
    top = parsed.state.flags
    if top & re.LOCALE:
        raise Refused("the LOCALE flag depends on the machine's locale")
    writer = _Writer(sre)
    if writer.nullable(list(parsed), top):
        raise Refused("it can match empty text, and RE2 steps past an empty match differently")
    template = writer.sequence(list(parsed), top)
    if len(writer.boundaries) > 1:
        raise Refused(r"\b in both ASCII and Unicode mode")
    word = list(_category(r"\w", True in writer.boundaries))

    # the runs of code points that no class (nor \w, nor \n) tells apart
    sets = [*writer.atoms, word, [(10, 10)]]
    cuts = sorted(
        {
            0,
            *(low for ranges in sets for low, _ in ranges),
            *(high + 1 for ranges in sets for _, high in ranges),
        }
        - {_MAX_CODE + 1}
    )
    starts = np.array(cuts, dtype=np.int64)
    member = np.zeros((len(starts), len(sets)), dtype=bool)
    for column, ranges in enumerate(sets):
        bounds = np.array(ranges, dtype=np.int64).reshape(-1, 2)
        change = np.zeros(len(starts) + 1, dtype=np.int64)
        np.add.at(change, np.searchsorted(starts, bounds[:, 0]), 1)
        np.add.at(change, np.searchsorted(starts, bounds[:, 1] + 1), -1)
        member[:, column] = np.cumsum(change)[:-1] > 0
    # each run's row of memberships -> the letter it is (rows compared as packed bytes)
    packed = np.packbits(member, axis=1)
    letters: dict[bytes, int] = {}
    letter_of = np.fromiter(
        (letters.setdefault(row.tobytes(), len(letters)) for row in packed),
        dtype=np.int64,
        count=len(packed),
    )
    first = np.unique(letter_of, return_index=True)[1]
    signatures = member[first]
    is_word, is_newline = signatures[:, -2], signatures[:, -1]
    if is_word.sum() > len(_WORD_BYTES) or (~is_word).sum() - is_newline.sum() > len(_OTHER_BYTES):
        raise Refused("it tells apart more kinds of characters than RE2's byte alphabet holds")
    byte_of = np.zeros(len(signatures), dtype=np.uint8)
    words, others = iter(_WORD_BYTES), iter(_OTHER_BYTES)
    for letter in range(len(signatures)):
        byte_of[letter] = 10 if is_newline[letter] else next(words if is_word[letter] else others)

    def spell(match: re.Match[str]) -> str:
        letters = np.flatnonzero(signatures[:, int(match.group(1))])
        chosen = sorted(int(byte_of[letter]) for letter in letters)
        if not chosen:  # a class nothing matches (say [^\s\S])
            return r"[^\x00-\xff]"
        return "[" + "".join(_byte(b) for b in chosen) + "]"

    rendered = re.sub("\0([0-9]+)\0", spell, template)
    return rendered.encode("latin-1"), starts, byte_of[letter_of]


def _byte(value: int) -> str:
    char = chr(value)
    return char if char.isascii() and char.isalnum() else f"\\x{value:02x}"


class _Writer:
    """Writes a parse tree of Python's ``re`` parser in RE2's syntax, each class as a
    placeholder for the set of characters it matches (:attr:`atoms`)."""

    def __init__(self, sre: Any) -> None:
        self.sre = sre
        self.atoms: list[Ranges] = []
        self._numbers: dict[tuple[tuple[int, int], ...], int] = {}
        #: the modes of the pattern's word boundaries (True: ASCII)
        self.boundaries: set[bool] = set()

    def atom(self, ranges: Ranges) -> str:
        key = tuple(_merge(ranges))
        if key not in self._numbers:
            self._numbers[key] = len(self.atoms)
            self.atoms.append(list(key))
        return f"\0{self._numbers[key]}\0"

    def sequence(self, items: list[Any], flags: int) -> str:
        return "".join(self.item(op, arg, flags) for op, arg in items)

    def item(self, op: Any, arg: Any, flags: int) -> str:
        sre = self.sre
        if op is sre.LITERAL:
            return self.atom([(p, p) for p in _cases(chr(arg), flags)])
        if op is sre.NOT_LITERAL:
            return self.atom(_complement([(p, p) for p in _cases(chr(arg), flags)]))
        if op is sre.ANY:
            return self.atom([(0, _MAX_CODE)] if flags & re.DOTALL else _complement([(10, 10)]))
        if op is sre.IN:
            return self.atom(self.members(arg, flags))
        if op is sre.BRANCH:
            return "(?:" + "|".join(self.sequence(list(alt), flags) for alt in arg[1]) + ")"
        if op is sre.SUBPATTERN:
            _group, add, remove, sub = arg
            return "(?:" + self.sequence(list(sub), (flags | add) & ~remove) + ")"
        if op in (sre.MAX_REPEAT, sre.MIN_REPEAT):
            low, high, sub = arg
            if low > _MAX_REPEAT or (high != sre.MAXREPEAT and high > _MAX_REPEAT):
                raise Refused(f"a repeat count above {_MAX_REPEAT}, RE2's limit")
            body = "(?:" + self.sequence(list(sub), flags) + ")"
            if high == sre.MAXREPEAT:
                count = {0: "*", 1: "+"}.get(low, f"{{{low},}}")
            elif low == 0 and high == 1:
                count = "?"
            else:
                count = f"{{{low}}}" if low == high else f"{{{low},{high}}}"
            return body + count + ("?" if op is sre.MIN_REPEAT else "")
        if op is sre.AT:
            return self.at(arg, flags)
        refused = {
            "ASSERT": "a lookahead or lookbehind",
            "ASSERT_NOT": "a negative lookahead or lookbehind",
            "GROUPREF": "a backreference",
            "GROUPREF_EXISTS": "a conditional group",
            "ATOMIC_GROUP": "an atomic group",
            "POSSESSIVE_REPEAT": "a possessive repeat",
        }
        name = str(op)
        raise Refused(f"{refused.get(name, name)}: RE2 has no such construct")

    def at(self, code: Any, flags: int) -> str:
        sre = self.sre
        if code is sre.AT_BEGINNING_STRING:
            return r"\A"
        if code is sre.AT_END_STRING:
            return r"\z"
        if code is sre.AT_BEGINNING:
            return "(?m:^)" if flags & re.MULTILINE else r"\A"
        if code is sre.AT_END:
            if flags & re.MULTILINE:
                return "(?m:$)"
            raise Refused(
                "$ outside multi-line mode: Python's also matches before a final "
                r"newline (write \Z for the end of the text)"
            )
        if code in (sre.AT_BOUNDARY, sre.AT_NON_BOUNDARY):
            self.boundaries.add(bool(flags & re.ASCII))
            return r"\b" if code is sre.AT_BOUNDARY else r"\B"
        raise Refused(f"{code}: RE2 has no such anchor")

    def members(self, items: list[Any], flags: int) -> Ranges:
        sre = self.sre
        ranges: Ranges = []
        negate = False
        for op, arg in items:
            if op is sre.NEGATE:
                negate = True
            elif op is sre.LITERAL:
                ranges += [(p, p) for p in _cases(chr(arg), flags)]
            elif op is sre.RANGE:
                low, high = arg
                if not flags & re.IGNORECASE:
                    ranges.append((low, high))
                elif high - low > _MAX_FOLDED_RANGE:
                    raise Refused(
                        f"a case-insensitive range of more than {_MAX_FOLDED_RANGE} characters"
                    )
                else:
                    for point in range(low, high + 1):
                        ranges += [(p, p) for p in _cases(chr(point), flags)]
            elif op is sre.CATEGORY:
                ranges += self.category(arg, flags)
            else:
                raise Refused(f"{op} in a character class: RE2 has no such construct")
        return _complement(_merge(ranges)) if negate else _merge(ranges)

    def category(self, code: Any, flags: int) -> Ranges:
        sre = self.sre
        ascii_only = bool(flags & re.ASCII)
        kinds = {
            sre.CATEGORY_WORD: (r"\w", False),
            sre.CATEGORY_NOT_WORD: (r"\w", True),
            sre.CATEGORY_DIGIT: (r"\d", False),
            sre.CATEGORY_NOT_DIGIT: (r"\d", True),
            sre.CATEGORY_SPACE: (r"\s", False),
            sre.CATEGORY_NOT_SPACE: (r"\s", True),
        }
        if code not in kinds:
            raise Refused(f"{code}: RE2 has no such class")
        escape, negated = kinds[code]
        ranges = list(_category(escape, ascii_only))
        return _complement(ranges) if negated else ranges

    def nullable(self, items: list[Any], flags: int) -> bool:
        """Whether the sequence can match empty text."""
        return all(self.item_nullable(op, arg, flags) for op, arg in items)

    def item_nullable(self, op: Any, arg: Any, flags: int) -> bool:
        sre = self.sre
        if op in (sre.LITERAL, sre.NOT_LITERAL, sre.ANY, sre.IN):
            return False
        if op is sre.BRANCH:
            return any(self.nullable(list(alt), flags) for alt in arg[1])
        if op is sre.SUBPATTERN:
            return self.nullable(list(arg[3]), flags)
        if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, getattr(sre, "POSSESSIVE_REPEAT", None)):
            return arg[0] == 0 or self.nullable(list(arg[2]), flags)
        return True  # anchors, lookarounds, and whatever is refused anyway


def compile_linear(pattern: str, flags: int = 0) -> tuple[Linear | None, str | None]:
    """``(regex for RE2, None)`` for a pattern RE2 runs with Python's meaning, else
    ``(None, the reason)`` (also when ``google-re2`` is not installed)."""
    if re2_module() is None:
        return None, missing_reason()
    try:
        text, starts, alphabet = translate(pattern, flags)
    except Refused as exc:
        return None, str(exc)
    try:
        return _compile(text, starts, alphabet), None
    except Refused as exc:
        return None, str(exc)


def load_linear(text: bytes, starts: Any, alphabet: Any) -> Linear | None:
    """A regex :func:`translate` wrote earlier (say, read from a cache), compiled by RE2; None
    when RE2 is missing or refuses it."""
    if re2_module() is None:
        return None
    try:
        return _compile(text, starts, alphabet)
    except Refused:
        return None


def _compile(text: bytes, starts: Any, alphabet: Any) -> Linear:
    module = re2_module()
    assert module is not None, "callers check that google-re2 is installed"
    options = module.Options()
    options.log_errors = False
    options.never_capture = True
    options.encoding = module.Options.Encoding.LATIN1
    try:
        return Linear(module.compile(text, options), starts, alphabet, text)
    except module.error as exc:
        detail = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise Refused(f"RE2 cannot compile it ({detail})") from None


def linear_spans(regex: Linear, text: str) -> list[tuple[int, int]]:
    """The spans of ``regex`` (from :func:`compile_linear`) in ``text``, as Python's engine
    finds them."""
    return [m.span() for m in regex.regex.finditer(regex.spell(text))]
