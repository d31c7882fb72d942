"""A codebook back out: as the YAML structure it came from, and as a readable outline.

>>> from trustcode.types import Code, Codebook
>>> codebook_to_dict(Codebook(name="x", codes=(Code(id="a", label="A"),)))["codes"][0]["id"]
'a'
"""

from __future__ import annotations

import copy
from typing import Any

from ..types import RULE_KINDS, Code, Codebook, Rule


def codebook_to_dict(codebook: Codebook) -> dict[str, Any]:
    """The codebook as the YAML structure it came from (defaults written out where they matter).

    ``parse_codebook(yaml.safe_dump(codebook_to_dict(cb)))`` gives back the same codes and rules.

    >>> from trustcode.codebook import parse_codebook
    >>> cb = parse_codebook("name: x\\ncodes:\\n- {id: a, label: A, rules: [{regex: 'b+'}]}\\n")
    >>> codebook_to_dict(cb)["codes"][0]["rules"]
    [{'regex': 'b+'}]
    """
    out: dict[str, Any] = {"name": codebook.name}
    if codebook.version:
        out["version"] = codebook.version
    if codebook.description:
        out["description"] = codebook.description
    out["languages"] = list(codebook.languages)
    out["exclusive"] = codebook.exclusive
    if codebook.redact:
        out["redact"] = list(codebook.redact)
    out["codes"] = [_code_to_dict(code) for code in codebook.codes]
    return out


def _code_to_dict(code: Code) -> dict[str, Any]:
    out: dict[str, Any] = {"id": code.id, "label": code.label}
    for key in ("parent", "definition", "include", "exclude"):
        if getattr(code, key):
            out[key] = getattr(code, key)
    out["colour"] = code.colour
    if code.combine != "union":
        out["combine"] = code.combine
    if code.positive_examples or code.negative_examples:
        out["examples"] = {
            "positive": list(code.positive_examples),
            "negative": list(code.negative_examples),
        }
    counts: dict[str, int] = {}
    rules = []
    for rule in code.rules:
        counts[rule.kind] = counts.get(rule.kind, 0) + 1
        item: dict[str, Any] = {}
        short = rule.id.removeprefix(f"{code.id}.")
        if short != f"{rule.kind}-{counts[rule.kind]}":  # derived ids come back by themselves
            item["id"] = short
        if rule.lang != "any":
            item["lang"] = rule.lang
        if rule.veto:
            item["veto"] = True
        if rule.case_sensitive:
            item["case_sensitive"] = True
        if rule.kind in ("phrases", "lemmas", "globs"):
            item[rule.kind] = list(rule.terms)
        elif rule.kind == "near" and rule.near is not None:
            a, b, within = rule.near
            item["near"] = {"a": list(a), "b": list(b), "within": within}
        elif rule.kind == "pattern":
            item["pattern"] = copy.deepcopy(list(rule.pattern))
        else:
            item[rule.kind] = rule.pattern
        rules.append(item)
    if rules:
        out["rules"] = rules
    return out


def _rule_line(rule: Rule) -> str:
    flags = f"[{rule.lang}]" + (" VETO" if rule.veto else "")
    if rule.kind in ("phrases", "lemmas", "globs"):
        what = " | ".join(rule.terms)
    elif rule.kind == "near" and rule.near is not None:
        what = f"({' | '.join(rule.near[0])}) within {rule.near[2]} of ({' | '.join(rule.near[1])})"
    elif rule.kind == "regex":
        what = f"/{rule.pattern}/" + ("" if rule.case_sensitive else "i")
    else:
        what = " ".join(str(t) for t in rule.pattern)
    return f"{rule.id} {flags}: {what}"


def count_codes(codebook: Codebook) -> str:
    """How many codes a codebook has, said one way everywhere: the codes passages are coded
    with, and the parents they are grouped under.

    >>> from trustcode.codebook import parse_codebook
    >>> count_codes(parse_codebook("name: x\ncodes:\n- {id: p, label: P}\n"
    ...                            "- {id: a, label: A, parent: p}\n- {id: b, label: B}\n"))
    '2 codes under 1 parent'
    """
    leaves, parents = len(codebook.leaf_codes), len(codebook.parent_ids)
    said = f"{leaves} code{'s' if leaves != 1 else ''}"
    return said + (f" under {parents} parent{'s' if parents != 1 else ''}" if parents else "")


def show_codebook(codebook: Codebook) -> str:
    """A readable outline: codes as a tree under their parents, with their texts and rules.

    >>> from trustcode.codebook import parse_codebook
    >>> cb = parse_codebook("name: x\\ncodes:\\n- {id: a, label: A, rules: [{regex: 'b+'}]}\\n")
    >>> "a.regex-1" in show_codebook(cb)
    True
    """
    head = f"{codebook.name}" + (f" (version {codebook.version})" if codebook.version else "")
    lines = [
        head,
        f"languages: {', '.join(codebook.languages)}; exclusive: "
        f"{'yes' if codebook.exclusive else 'no'}; {count_codes(codebook)}, "
        f"{len(codebook.rules)} rules",
    ]
    if codebook.description:
        lines.append(codebook.description)
    if codebook.path:
        lines.append(f"file: {codebook.path} (sha256 {codebook.sha256[:12]})")
    children: dict[str | None, list[Code]] = {}
    for code in codebook.codes:
        children.setdefault(code.parent, []).append(code)

    def add(code: Code, depth: int) -> None:
        pad = "  " * depth
        lines.append(f"{pad}{code.id}: {code.label}  [{code.colour}, {code.combine}]")
        for key in ("definition", "include", "exclude"):
            if getattr(code, key):
                lines.append(f"{pad}    {key}: {getattr(code, key)}")
        lines.append(
            f"{pad}    examples: {len(code.positive_examples)} positive, "
            f"{len(code.negative_examples)} negative"
        )
        for kind in RULE_KINDS:
            of_kind = [r for r in code.rules if r.kind == kind]
            if of_kind:
                lines.append(f"{pad}    {kind}:")
                lines.extend(f"{pad}      {_rule_line(r)}" for r in of_kind)
        for child in children.get(code.id, []):
            add(child, depth + 1)

    lines.append("")
    for root in children.get(None, []):
        add(root, 0)
    return "\n".join(lines) + "\n"
