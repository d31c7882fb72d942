"""Word dictionaries as rule sources: quanteda-style YAML and LIWC ``.dic`` -> codebook skeletons.

A dictionary names categories and the words that signal them. :func:`import_dictionary` turns
one into the skeleton of a codebook (the dict that ``codebook.yaml`` holds): one code per
category, parents per nesting, plain terms as a ``phrases`` rule and terms with ``*`` or ``?``
as a ``globs`` rule. Only leaf codes carry rules: a category that has both its own terms and
subcategories gets a child code ``<id>_general`` ("<label> (general)") for its own terms.

Formats:

- **quanteda YAML**: a mapping of category -> a list of terms, a single term, or a mapping of
  subcategories (a list may also hold mappings of subcategories). Code ids join the category
  path with ``_`` (``economy: {positive: [...]}`` -> ``economy_positive``).
- **LIWC ``.dic``**: a header between two ``%`` lines with ``number<TAB>name`` per category,
  optionally ``number<TAB>name<TAB>parent number`` (LIWC2015-style nesting), then one
  ``term<TAB>numbers...`` line per term (multi-word terms hold spaces). LIWC's conditional
  entries (``02/134``, ``<of>...``) are skipped with a warning.

The module also holds what every codebook skeleton needs: :func:`code_id_from_name` (ids that
the codebook accepts, from any name, Cyrillic too) and :func:`write_codebook_yaml`.
"""

from __future__ import annotations

import os
import re
import unicodedata
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .atomic import write_atomic
from .codebook import codebook_problems
from .errors import CodebookError, InputError, TrustcodeWarning
from .io.readers import decode_bytes

__all__ = [
    "code_id_from_name",
    "import_dictionary",
    "write_atomic",
    "write_codebook_yaml",
]

_PathLike = str | os.PathLike[str]

#: Longest code id made from a name (long ids make unreadable tables).
MAX_ID_LENGTH = 60
#: More YAML nodes than this (after aliases) is not a dictionary but an attack.
_MAX_NODES = 500_000

# Russian letters in the transliteration most readers recognise (passport style, simplified).
_TRANSLIT = str.maketrans(
    {
        "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh",
        "з": "z", "и": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
        "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
        "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu",
        "я": "ya", "і": "i", "ї": "i", "є": "e", "ґ": "g", "ў": "u",
    }
)  # fmt: skip


def code_id_from_name(name: str, taken: set[str] | None = None) -> str:
    """A valid code id (``[a-z][a-z0-9_]*``) made from ``name``, unique among ``taken``.

    Cyrillic is transliterated, accents dropped, other characters become ``_``. A name with
    nothing usable becomes ``code``; one starting with a digit gets a ``c_`` prefix. With
    ``taken``, a clash gets ``_2``, ``_3``, ... and the id is added to ``taken``.

    >>> taken = set()
    >>> code_id_from_name("Доверие и эмиграция", taken)
    'doverie_i_emigratsiya'
    >>> code_id_from_name("доверие-и эмиграция", taken)
    'doverie_i_emigratsiya_2'
    """
    text = unicodedata.normalize("NFKD", name.lower().translate(_TRANSLIT))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    slug = re.sub(r"[^a-z0-9]+", "_", text).strip("_")[:MAX_ID_LENGTH].rstrip("_")
    if not slug:
        slug = "code"
    elif slug[0].isdigit():
        slug = f"c_{slug}"
    if taken is None:
        return slug
    candidate, n = slug, 1
    while candidate in taken:
        n += 1
        candidate = f"{slug}_{n}"
    taken.add(candidate)
    return candidate


# --- writing ------------------------------------------------------------------------------------


def write_codebook_yaml(data: dict[str, Any], path: _PathLike, *, force: bool = False) -> Path:
    """Validate a codebook skeleton (as from :func:`import_dictionary`) and write it as YAML.

    Raises :class:`CodebookError` listing every problem when ``data`` is not a valid codebook,
    and :class:`OutputError` when ``path`` exists (without ``force``) or cannot be written.

    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "codebook.yaml"
    >>> code = {"id": "a", "label": "A", "rules": [{"phrases": ["b"]}]}
    >>> skeleton = {"name": "x", "codes": [code]}
    >>> write_codebook_yaml(skeleton, out).name
    'codebook.yaml'
    """
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)
    problems = codebook_problems(text, str(path))
    if problems:
        raise CodebookError(
            f"{path}: the codebook to write has {len(problems)} problem(s); nothing was written:",
            problems,
        )
    return write_atomic(path, text.encode("utf-8"), force=force)


# --- categories -> codebook skeleton ------------------------------------------------------------


@dataclass
class _Category:
    """A dictionary category: its name, where it was defined, its terms and subcategories."""

    name: str
    line: int
    terms: list[tuple[str, int]] = field(default_factory=list)  # (term, line)
    children: list[_Category] = field(default_factory=list)
    id_parts: tuple[str, ...] = ()


def _rules(terms: Iterable[tuple[str, int]], file: str) -> list[dict[str, list[str]]]:
    phrases: list[str] = []
    globs: list[str] = []
    for term, line in terms:
        term = " ".join(term.split())
        if not term:
            raise InputError(f"{file}:{line}: an empty term; remove the line or write the term.")
        if "*" in term or "?" in term:
            if not re.search(r"[^*?\s]", term):
                raise InputError(
                    f"{file}:{line}: the term {term!r} is only wildcards and would match every "
                    "word; write at least one letter, e.g. 'trust*'."
                )
            if term not in globs:
                globs.append(term)
        elif term not in phrases:
            phrases.append(term)
    rules: list[dict[str, list[str]]] = []
    if phrases:
        rules.append({"phrases": phrases})
    if globs:
        rules.append({"globs": globs})
    return rules


def _skeleton(roots: list[_Category], name: str, description: str, file: str) -> dict[str, Any]:
    taken: set[str] = set()
    codes: list[dict[str, Any]] = []

    def add(cat: _Category, parent: str | None) -> None:
        code: dict[str, Any] = {
            "id": code_id_from_name("_".join(cat.id_parts or (cat.name,)), taken),
            "label": cat.name,
        }
        if parent:
            code["parent"] = parent
        codes.append(code)
        if not cat.children:
            rules = _rules(cat.terms, file)
            if rules:
                code["rules"] = rules
            return
        for child in cat.children:
            add(child, code["id"])
        if cat.terms:  # a parent's own terms go to a leaf of their own: only leaves are coded
            own: dict[str, Any] = {
                "id": code_id_from_name(f"{code['id']}_general", taken),
                "label": f"{cat.name} (general)",
                "parent": code["id"],
                "rules": _rules(cat.terms, file),
            }
            codes.append(own)

    for root in roots:
        add(root, None)
    if not codes:
        raise InputError(f"{file}: the dictionary has no categories; add at least one.")
    return {"name": name, "description": description, "codes": codes}


# --- quanteda YAML ------------------------------------------------------------------------------


def _yaml_categories(text: str, file: str) -> list[_Category]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{file}:{mark.line + 1}" if mark is not None else file
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(
            f"{where}: invalid YAML ({problem}); check the quoting and indentation here."
        ) from None
    if root is None:
        raise InputError(f"{file}: the dictionary is empty; write 'category: [term, ...]' lines.")
    if not isinstance(root, yaml.MappingNode):
        raise InputError(
            f"{file}:{root.start_mark.line + 1}: expected a mapping of category names to terms "
            "(e.g. 'trust: [trust*, rely on]'), found a list or a single value."
        )
    visits = [0]

    def line_of(node: yaml.Node) -> int:
        return node.start_mark.line + 1

    def fill(cat: _Category, node: yaml.Node, path: tuple[str, ...]) -> None:
        visits[0] += 1
        if visits[0] > _MAX_NODES:
            raise InputError(f"{file}: more than {_MAX_NODES} entries after aliases; remove them.")
        if isinstance(node, yaml.ScalarNode):
            if node.tag != "tag:yaml.org,2002:null" and node.value.strip():
                cat.terms.append((node.value, line_of(node)))
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                if isinstance(item, yaml.SequenceNode):
                    raise InputError(
                        f"{file}:{line_of(item)}: a list inside the list of '{cat.name}'; write "
                        "its terms into one list, or name a subcategory ('name: [terms]')."
                    )
                if isinstance(item, yaml.MappingNode):
                    cat.children.extend(mapping(item, path))
                else:
                    fill(cat, item, path)
        else:
            cat.children.extend(mapping(node, path))

    def mapping(node: yaml.Node, path: tuple[str, ...]) -> list[_Category]:
        out: list[_Category] = []
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or not key_node.value.strip():
                raise InputError(
                    f"{file}:{line_of(key_node)}: a category name must be plain text; "
                    "write 'name: [terms]'."
                )
            name = key_node.value.strip()
            if name in seen:
                raise InputError(
                    f"{file}:{line_of(key_node)}: the category '{name}' appears twice at this "
                    f"level (also on line {seen[name]}); merge the two."
                )
            seen[name] = line_of(key_node)
            cat = _Category(name=name, line=line_of(key_node), id_parts=path + (name,))
            fill(cat, value_node, path + (name,))
            out.append(cat)
        return out

    return mapping(root, ())


# --- LIWC .dic ----------------------------------------------------------------------------------


def _liwc_categories(text: str, file: str) -> list[_Category]:
    lines = text.split("\n")
    numbered = [(i + 1, line) for i, line in enumerate(lines)]
    content = [(n, line) for n, line in numbered if line.strip()]
    if not content or content[0][1].strip() != "%":
        where = content[0][0] if content else 1
        raise InputError(
            f"{file}:{where}: a LIWC dictionary starts with a line holding only '%', then one "
            "'number<TAB>category' line per category, then another '%'."
        )
    start = content[0][0]
    end = next((n for n, line in content[1:] if line.strip() == "%"), None)
    if end is None:
        raise InputError(
            f"{file}:{start}: the category header opened here is never closed; add a line "
            "holding only '%' after the last category."
        )
    by_number: dict[str, _Category] = {}
    parent_of: dict[str, tuple[str, int]] = {}
    order: list[str] = []
    for n, line in numbered[start : end - 1]:
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("\t") if p.strip()]
        if len(parts) == 1:
            parts = line.split(None, 1)
        if len(parts) < 2 or not parts[0].isdigit():
            raise InputError(
                f"{file}:{n}: expected 'number<TAB>category name' in the header, found "
                f"{line.strip()!r}."
            )
        number = str(int(parts[0]))
        if number in by_number:
            raise InputError(
                f"{file}:{n}: category number {parts[0]} is used twice (also on line "
                f"{by_number[number].line}); give each category its own number."
            )
        by_number[number] = _Category(name=parts[1], line=n)
        order.append(number)
        if len(parts) >= 3 and parts[2].isdigit():
            parent_of[number] = (str(int(parts[2])), n)
    for number, (parent, n) in parent_of.items():
        if parent not in by_number:
            raise InputError(
                f"{file}:{n}: parent category {parent} is not defined in the header; "
                "define it or remove the parent number."
            )
        seen = {number}
        step: str | None = parent
        while step is not None:
            if step in seen:
                raise InputError(
                    f"{file}:{n}: category {number} is its own ancestor through parent numbers; "
                    "remove one parent link."
                )
            seen.add(step)
            step = parent_of.get(step, (None, 0))[0]
    _liwc_terms(numbered[end:], by_number, file)
    for number in order:
        if number in parent_of:
            by_number[parent_of[number][0]].children.append(by_number[number])
    _drop_inherited_terms([by_number[n] for n in order if n not in parent_of])
    return [by_number[n] for n in order if n not in parent_of]


def _liwc_terms(body: list[tuple[int, str]], by_number: dict[str, _Category], file: str) -> None:
    conditional: list[int] = []
    for n, line in body:
        if not line.strip():
            continue
        if "\t" in line:
            term, rest = line.split("\t", 1)
            tokens = rest.split()
        else:  # space-separated files: trailing numbers are categories, the rest the term
            words = line.split()
            k = len(words)
            while k > 1 and words[k - 1].isdigit():
                k -= 1
            term, tokens = " ".join(words[:k]), words[k:]
        term = term.strip()
        if not term:
            raise InputError(f"{file}:{n}: a line without a term; write 'term<TAB>numbers'.")
        if not tokens:
            raise InputError(
                f"{file}:{n}: the term {term!r} has no category numbers; write them after a tab."
            )
        for token in tokens:
            if any(ch in token for ch in "/<>()"):
                conditional.append(n)
                continue
            if not token.isdigit():
                raise InputError(
                    f"{file}:{n}: {token!r} is not a category number; write the numbers of the "
                    "header's categories after the term."
                )
            number = str(int(token))
            if number not in by_number:
                raise InputError(
                    f"{file}:{n}: category {token} is not defined in the header; add it there "
                    "or correct the number."
                )
            by_number[number].terms.append((term, n))
    if conditional:
        shown = ", ".join(str(n) for n in list(dict.fromkeys(conditional))[:10])
        warnings.warn(
            f"{file}: LIWC conditional entries on line(s) {shown} were skipped; trustcode has "
            "no equivalent, so add a 'near' or 'pattern' rule by hand if you need them.",
            TrustcodeWarning,
            stacklevel=4,  # the caller of import_dictionary
        )


def _drop_inherited_terms(roots: list[_Category]) -> None:
    """LIWC lists a word under its category and every ancestor; keep it on the deepest one."""

    def below(cat: _Category) -> set[str]:
        found: set[str] = set()
        for child in cat.children:
            found |= {t for t, _ in child.terms} | below(child)
        return found

    stack = list(roots)
    while stack:
        cat = stack.pop()
        if cat.children:
            inner = below(cat)
            cat.terms = [(t, n) for t, n in cat.terms if t not in inner]
            stack.extend(cat.children)


# --- public -------------------------------------------------------------------------------------


def import_dictionary(path: _PathLike) -> dict[str, Any]:
    """Read a quanteda-style YAML (``.yml``/``.yaml``) or LIWC (``.dic``) dictionary.

    Returns a codebook skeleton dict: ``name`` (the file stem), ``description`` and ``codes``
    (``id``, ``label``, ``parent``, ``rules`` with ``phrases`` and ``globs``). Add definitions
    and examples, then save it with :func:`write_codebook_yaml`. A malformed file raises
    :class:`InputError` naming the line.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "trust.yml"
    >>> _ = p.write_text("trust: [rely on, trust*]\\n", encoding="utf-8")
    >>> import_dictionary(p)["codes"][0]["rules"]
    [{'phrases': ['rely on']}, {'globs': ['trust*']}]
    """
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix not in (".yml", ".yaml", ".dic"):
        raise InputError(
            f"{file}: unknown dictionary format {file.suffix or '(no suffix)'!r}; trustcode "
            "reads quanteda-style YAML (.yml, .yaml) and LIWC dictionaries (.dic); a REFI-QDA "
            "codebook (.qdc) or project (.qdpx) is read by trustcode.refiqda.import_qdc, as "
            "'trustcode codebook import' does."
        )
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{file}: no such dictionary file; check the path.") from None
    except OSError as exc:
        raise InputError(f"{file}: cannot read the dictionary ({exc.strerror}).") from None
    text = decode_bytes(raw, str(file))
    if suffix == ".dic":
        roots, kind = _liwc_categories(text, str(file)), "LIWC"
    else:
        roots, kind = _yaml_categories(text, str(file)), "quanteda-style YAML"
    description = (
        f"Imported from the {kind} dictionary {file.name}. Add definitions and examples, and "
        "check each code's terms."
    )
    return _skeleton(roots, file.stem, description, str(file))
