"""YAML text -> data, with the line of every path; syntax errors in the user's words.

Only safe loaders are used (libyaml's when PyYAML has it); duplicate keys and recursive or
exploding aliases are reported rather than silently accepted.

>>> rep = Report("cb.yaml")
>>> load_yaml("name: x\\ncodes: []\\n", rep), rep.lines[("codes",)]
({'name': 'x', 'codes': []}, 2)
"""

from __future__ import annotations

from typing import Any

import yaml

from .problems import KeyPath, Report

# --- YAML text -> data plus a line for every path ---------------------------------------------

_YAML_HINTS = (
    ("'\\t'", "YAML indents with spaces only; replace the tab with spaces"),
    ("mapping values are not allowed", "quote a value that contains ': ', e.g. label: \"A: B\""),
    (
        "unknown escape character",
        "inside double quotes a backslash starts an escape; write regexes in single quotes, "
        "e.g. regex: '\\bword\\b'",
    ),
    ("could not find expected ':'", "each key needs ': ' after it; check this line's indentation"),
    ("expected <block end>", "items of one list or mapping must start in the same column"),
    ("expected a single document", "a codebook is one YAML document: remove the extra '---'"),
    ("could not determine a constructor", "tags such as !!python/... are not allowed: remove it"),
    ("found unhashable key", "a key must be plain text"),
)

#: More visits than this means aliases nest into an exponential blow-up.
_MAX_NODES = 200_000


def _yaml_problem(exc: yaml.YAMLError, text: str, rep: Report) -> None:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is not None:
        line, column = mark.line + 1, mark.column + 1
    else:  # a ReaderError knows the character position only
        position = getattr(exc, "position", 0) or 0
        line = text.count("\n", 0, position) + 1
        column = position - (text.rfind("\n", 0, position) + 1) + 1
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    hint = next((h for key, h in _YAML_HINTS if key in f"{problem} {context}"), None)
    message = f"invalid YAML: {problem}"
    if context:
        message += f" ({context})"
    message += f"; {hint or 'check the quoting and indentation around this line'}"
    rep.problems.append((line, len(rep.problems), f"{rep.file}:{line}: column {column}: {message}"))


def _key_text(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    # the same text the data walk sees: str() of the constructed key
    try:
        return str(loader.construct_object(node))
    except (yaml.YAMLError, ValueError, TypeError, OverflowError):
        return str(node.value)


def _index_lines(root: yaml.Node, loader: yaml.SafeLoader, rep: Report) -> bool:
    """Record the line of every path; report duplicate keys and recursive aliases.

    Iterative, so that deeply nested input cannot overflow the Python stack. Returns False when
    the document cannot be walked as data (recursive or exploding aliases).
    """
    stack: list[tuple[yaml.Node, KeyPath, bool]] = [(root, (), False)]
    on_path: set[int] = set()
    visits = 0
    ok = True
    while stack:
        node, path, leaving = stack.pop()
        if leaving:
            on_path.discard(id(node))
            continue
        if id(node) in on_path:
            rep.error(
                path,
                "this alias is used inside its own anchor, which makes the data recursive; "
                "write the value out instead",
                line=node.start_mark.line + 1,
            )
            ok = False
            continue
        visits += 1
        if visits > _MAX_NODES:
            rep.error(path, f"more than {_MAX_NODES} values after expanding aliases; remove them")
            return False
        rep.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.ScalarNode):
            rep.scalars.setdefault(path, node.value)
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            on_path.add(id(node))
            stack.append((node, path, True))
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key_node, value_node in node.value:
                key = _key_text(loader, key_node)
                line = key_node.start_mark.line + 1
                if key in seen:
                    rep.error(
                        path + (key,),
                        f"duplicate key '{key}' (also on line {seen[key]}); YAML keeps only the "
                        "last one: remove or merge one of them",
                        line=line,
                    )
                seen.setdefault(key, line)
                rep.lines.setdefault(path + (key,), line)
                stack.append((value_node, path + (key,), False))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                stack.append((item, path + (i,), False))
    return ok


NOTHING = object()


#: libyaml's safe loader when PyYAML was built with it: seven times faster than PyYAML's own,
#: with the same nodes and marks; its syntax errors say less, so a text it cannot read is
#: read again by PyYAML's loader for the message
_FAST_LOADER: Any = getattr(yaml, "CSafeLoader", None)


def _compose(text: str) -> tuple[Any, Any]:
    """A safe loader for ``text`` and the text's node tree (raises ``yaml.YAMLError``)."""
    if _FAST_LOADER is not None:
        loader = _FAST_LOADER(text)
        try:
            return loader, loader.get_single_node()
        except yaml.YAMLError:
            loader.dispose()
    loader = yaml.SafeLoader(text)
    try:
        return loader, loader.get_single_node()
    except BaseException:
        loader.dispose()
        raise


def load_yaml(text: str, rep: Report) -> Any:
    """Safe-load ``text``; on failure report it and return ``NOTHING``."""
    loader = None
    try:
        loader, node = _compose(text)
        if node is None:
            return None
        if not _index_lines(node, loader, rep):
            return NOTHING
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        _yaml_problem(exc, text, rep)
    except RecursionError:
        rep.error((), "the YAML is nested too deeply to read; flatten it")
    except (ValueError, TypeError, OverflowError) as exc:
        # PyYAML's safe constructors let these through for values such as the date 2024-02-30
        rep.error((), f"invalid YAML value: {exc}; quote the value to keep it as text")
    finally:
        if loader is not None:
            loader.dispose()
    return NOTHING
