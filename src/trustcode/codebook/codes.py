"""Codes and the codebook: each code's keys, examples and rules, and the code tree.

>>> _suggest_code_id("Police Violence!")
'police_violence'
"""

from __future__ import annotations

import re
from typing import Any

from ..types import COMBINE_POLICIES, Code, Codebook, sha256_text
from .problems import (
    KeyPath,
    Report,
    check_keys,
    describe,
    fix,
    get,
    pattern_ok,
    render,
    suggest,
)
from .rule_entries import Context, build_rule
from .schema import (
    CODE_ID_PATTERN,
    CODE_KEYS,
    COLOUR_PATTERN,
    EXAMPLE_KEYS,
    LANGUAGE_PATTERN,
    PALETTE,
    TERM_PATTERN,
    TOP_KEYS,
)

# --- codes and the codebook ---------------------------------------------------------------------


def _text_or_list(rep: Report, raw: dict[Any, Any], key: str, path: KeyPath) -> str:
    value = raw.get(key, "")
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "; ".join(v.strip() for v in value)
    rep.error(path + (key,), f"expected text or a list of texts, found {describe(value)}")
    return ""


def _examples(rep: Report, raw: Any, path: KeyPath) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if raw is None:
        return (), ()
    if not isinstance(raw, dict):
        rep.error(
            path, f"expected a mapping with 'positive' and 'negative' lists, found {describe(raw)}"
        )
        return (), ()
    check_keys(rep, raw, path, EXAMPLE_KEYS, "examples")
    out = []
    for key in EXAMPLE_KEYS:
        items = get(rep, raw, key, path, "list") or []
        for j, item in enumerate(items):
            if not isinstance(item, str) or not item.strip():
                rep.error(path + (key, j), f"expected an example text, found {describe(item)}")
        out.append(tuple(i.strip() for i in items if isinstance(i, str) and i.strip()))
    return out[0], out[1]


def _combine(rep: Report, raw: dict[Any, Any], path: KeyPath) -> str | None:
    combine = get(rep, raw, "combine", path, "text")
    if combine is None or combine in COMBINE_POLICIES:
        return combine
    close = suggest(combine, COMBINE_POLICIES)
    hint = f"did you mean '{close}'? " if close else ""
    rep.error(
        path + ("combine",),
        f"unknown combine policy {combine!r}; {hint}use one of: {', '.join(COMBINE_POLICIES)}",
    )
    return None


def _suggest_code_id(value: str) -> str:
    return re.sub(r"^[^a-z]+", "", re.sub(r"[^a-z0-9_]+", "_", value.lower())).strip("_")


def _code(rep: Report, raw: Any, index: int, ctx: Context) -> Code | None:
    path: KeyPath = ("codes", index)
    if not isinstance(raw, dict):
        rep.error(path, f"expected a code (a mapping with id and label), found {describe(raw)}")
        return None
    check_keys(rep, raw, path, CODE_KEYS, "a code")
    code_id = get(rep, raw, "id", path, "text", required="add an id such as 'my_code'")
    if code_id is not None and not re.match(CODE_ID_PATTERN, code_id):
        better = _suggest_code_id(code_id)
        rep.error(
            path + ("id",),
            f"code id {code_id!r} must start with a lower-case letter and "
            "use only a-z, 0-9 and _" + (f"; try '{better}'" if better else ""),
        )
    label = get(rep, raw, "label", path, "text", required="add a short human-readable label")
    parent = get(rep, raw, "parent", path, "text")
    colour = get(rep, raw, "colour", path, "text")
    pattern_ok(rep, colour, path + ("colour",), COLOUR_PATTERN, "write a colour as '#rrggbb'")
    combine = _combine(rep, raw, path)
    positive, negative = _examples(rep, raw.get("examples"), path + ("examples",))
    counts: dict[str, int] = {}
    rid = code_id or f"codes[{index}]"
    raw_rules = get(rep, raw, "rules", path, "list") or []
    rules = [
        build_rule(rep, r, path + ("rules", j), rid, counts, ctx) for j, r in enumerate(raw_rules)
    ]
    return Code(
        id=code_id or "",
        label=(label or "").strip(),
        definition=(get(rep, raw, "definition", path, "text") or "").strip(),
        parent=parent or None,
        include=_text_or_list(rep, raw, "include", path),
        exclude=_text_or_list(rep, raw, "exclude", path),
        colour=(colour or PALETTE[index % len(PALETTE)]).lower(),
        combine=combine or ctx.combine,
        positive_examples=positive,
        negative_examples=negative,
        rules=tuple(r for r in rules if r is not None),
    )


def _check_tree(rep: Report, codes: list[tuple[int, Code]]) -> None:
    """Unique ids, parents that exist, no parent cycles."""
    first: dict[str, int] = {}
    for index, code in codes:
        if code.id in first:
            other = ("codes", first[code.id])
            rep.error(
                ("codes", index, "id"),
                f"duplicate code id '{code.id}' (also "
                f"{render(other)} on line {rep.line(other)}); ids must be unique",
            )
        elif code.id:
            first[code.id] = index
    parent_of: dict[str, str] = {}
    for index, code in codes:
        if code.parent is None or first.get(code.id) != index:
            continue
        if code.parent not in first:
            close = suggest(code.parent, list(first))
            rep.error(
                ("codes", index, "parent"),
                f"parent '{code.parent}' is not a code of this "
                "codebook; "
                + (f"did you mean '{close}'?" if close else "add that code or remove the parent"),
            )
        else:
            parent_of[code.id] = code.parent
    reported: set[frozenset[str]] = set()
    for start in parent_of:
        chain = [start]
        while (nxt := parent_of.get(chain[-1])) is not None and nxt not in chain:
            chain.append(nxt)
        if nxt is None:
            continue
        cycle = chain[chain.index(nxt) :]
        if frozenset(cycle) in reported:
            continue
        reported.add(frozenset(cycle))
        head = min(cycle, key=first.__getitem__)  # name the cycle from its first code in the file
        ordered = cycle[cycle.index(head) :] + cycle[: cycle.index(head)] + [head]
        rep.error(
            ("codes", first[head], "parent"),
            f"parent cycle: {' -> '.join(ordered)}; a "
            "code cannot be its own ancestor: remove one of these parent links",
        )


def _odd_codes(rep: Report, codes: list[tuple[int, Code]]) -> None:
    parents = {c.parent for _, c in codes if c.parent}
    for index, code in codes:
        if code.id in parents:
            continue
        path: KeyPath = ("codes", index)
        proposing = [r for r in code.rules if not r.veto]
        if not proposing and code.combine in ("rules_only", "both"):
            rep.warn(
                path,
                f"code '{code.id}' has no rules but its combine policy "
                f"'{code.combine}' needs a rule hit, so it can never be coded",
            )
        elif not proposing and code.combine != "classifier_only":
            rep.warn(
                path, f"code '{code.id}' has no rules; it will be coded by the classifier only"
            )
        if not code.positive_examples and not code.negative_examples:
            rep.warn(
                path,
                f"code '{code.id}' has no examples; add some so that `trustcode "
                "codebook check` can test its rules",
            )


def _string_list(rep: Report, data: dict[Any, Any], key: str, pattern: str, rule: str) -> Any:
    items = get(rep, data, key, (), "list")
    if items is None:
        return None
    if not items and key == "languages":
        rep.error((key,), "the list is empty; name at least one language, e.g. [en]")
    good = []
    for j, item in enumerate(items):
        if not isinstance(item, str):
            rep.error((key, j), f"expected text, found {describe(item)}{fix(item, 'text')}")
        elif pattern_ok(rep, item, (key, j), pattern, rule):
            good.append(item)
    return tuple(good)


def build_codebook(rep: Report, data: dict[Any, Any], text: str) -> Codebook:
    check_keys(rep, data, (), TOP_KEYS, "the codebook")
    name = get(rep, data, "name", (), "text", required="name the codebook, e.g. name: My study")
    version = data.get("version", "")
    if isinstance(version, bool) or not isinstance(version, str | int | float):
        rep.error(("version",), f"expected text, found {describe(version)}")
        version = ""
    elif not isinstance(version, str):  # 1.10 as written, not the float 1.1
        version = rep.scalars.get(("version",), str(version))
    languages = _string_list(
        rep,
        data,
        "languages",
        LANGUAGE_PATTERN,
        "use language codes of 2-3 lower-case letters (en, ru)",
    )
    redact = _string_list(rep, data, "redact", TERM_PATTERN, "a name to redact cannot be empty")
    combine = _combine(rep, data, ()) or "union"
    exclusive = get(rep, data, "exclusive", (), "bool") or False
    description = get(rep, data, "description", (), "text") or ""
    ctx = Context(combine=combine, languages=languages or None)
    raw_codes = get(rep, data, "codes", (), "list", required="list the codes under 'codes:'")
    if raw_codes == []:
        rep.error(("codes",), "the list of codes is empty; add at least one code")
    built = [(i, _code(rep, raw, i, ctx)) for i, raw in enumerate(raw_codes or [])]
    codes = [(i, c) for i, c in built if c is not None]
    _check_tree(rep, codes)
    if not rep.problems:
        _odd_codes(rep, codes)
    return Codebook(
        name=(name or "").strip(),
        codes=tuple(c for _, c in codes),
        description=description.strip(),
        version=str(version),
        **({"languages": languages} if languages else {}),  # else the dataclass default
        exclusive=exclusive,
        redact=redact or (),
        path="",
        sha256=sha256_text(text),
    )
