"""The package layout as built, checked against ``docs/architecture.md``.

These are checked statically, with :mod:`ast` or the text (nothing is imported, so the checks are
fast and see the code exactly as written):

- every module and package under ``src/trustcode/`` has its line in the doc's layout section, and
  every path that section names still exists;
- the layering: a module-level import of a trustcode module goes only to the importing module's own
  unit or to a unit on a lower layer. Imports inside a function body are exempt: they run on first
  use, keep ``import trustcode`` and ``trustcode --help`` fast, and may reach sideways (the doc says
  which do). Everything else counts as module level, including class bodies and
  ``if TYPE_CHECKING:`` blocks: a type-only import still states a dependency of the module;
- no cycle of module-level imports, between units or between modules. Here imports under
  ``if TYPE_CHECKING:`` do not count: they never run, and they are how two modules of one package
  name each other's types (``rules.tokens`` annotates with ``rules.ruleset.Compiled``);
- the doc's "One place for each rule": no module imports another's ``_private`` name, a score
  meets its threshold only in ``types.meets_threshold``, only ``atomic.check_target`` words an
  existing output, and nothing under ``src/`` names the development tree (``../shared``).

A *unit* is a top-level module (``segment.py`` -> ``segment``), a top-level package
(``trustcode.rules.terms`` -> ``rules``), or, inside ``io/``, a subpackage of its own
(``trustcode.io.tables.xlsx`` -> ``io.tables``), because the readers and the table writers are two
independent jobs. The package's own ``__init__.py`` is the unit ``trustcode``.

>>> _unit("trustcode.io.tables.xlsx"), _unit("trustcode.rules.terms"), _unit("trustcode")
('io.tables', 'rules', 'trustcode')
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "trustcode"
DOC = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"

#: Layers, top to bottom; the same list as the "Layers" section of docs/architecture.md.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("cli",),
    ("workflows",),
    ("engines", "diagnose", "report", "coded", "validation"),
    ("pipeline", "evaluate", "review", "refiqda", "figures"),
    ("rules", "classify", "combine", "compare", "agreement", "gold", "dictionaries", "redact"),
    ("codebook", "segment", "io", "io.readers", "io.tables"),
    ("nlp", "ngrams", "skopsfile", "embeddings", "atomic"),
    ("types", "errors", "trustcode"),
)

#: Packages whose subpackages are units of their own.
SUBDIVIDED = frozenset({"io"})

#: Module-level imports that break the layering and are accepted for now, as
#: (importing module, imported module) pairs. Each entry needs a comment saying why and who fixes
#: it. Empty: the code keeps the layering. An entry whose import is gone fails the test, so the
#: list only shrinks.
ALLOWED: frozenset[tuple[str, str]] = frozenset()


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def _modules() -> dict[str, Path]:
    """Every module under src/trustcode by dotted name (packages by their ``__init__.py``)."""
    return {_module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def _unit(module: str) -> str:
    parts = module.split(".")[1:]
    if not parts:
        return "trustcode"
    if parts[0] in SUBDIVIDED and len(parts) > 1:
        return f"{parts[0]}.{parts[1]}"
    return parts[0]


#: Where an import statement sits: at module level, under ``if TYPE_CHECKING:``, in a function.
MODULE, TYPING, FUNCTION = "module", "typing", "function"


def _imports(module: str) -> Iterator[tuple[str, int, str]]:
    """(imported trustcode module, line, where) for each import in ``module``."""
    path = _modules()[module]
    return _parse_imports(
        path.read_text(encoding="utf-8"), module, path.name == "__init__.py", set(_modules())
    )


def _parse_imports(
    source: str, module: str, is_package: bool, known: set[str]
) -> Iterator[tuple[str, int, str]]:
    """The trustcode imports in ``source``, the text of ``module``, resolved against ``known``."""
    package = module if is_package else module.rpartition(".")[0]

    def walk(node: ast.AST, where: str) -> Iterator[tuple[str, int, str]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and where == MODULE and _is_type_checking(child.test):
                for statement in child.body:
                    yield from walk(ast.Module(body=[statement], type_ignores=[]), TYPING)
                for statement in child.orelse:
                    yield from walk(ast.Module(body=[statement], type_ignores=[]), where)
            elif isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name == "trustcode" or alias.name.startswith("trustcode."):
                        yield alias.name, child.lineno, where
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")[: len(package.split(".")) - (child.level - 1)]
                    origin = ".".join(base + ([child.module] if child.module else []))
                else:
                    origin = child.module or ""
                if not (origin == "trustcode" or origin.startswith("trustcode.")):
                    continue
                for alias in child.names:
                    # ``from pkg import submodule`` depends on the submodule, not only on pkg
                    target = f"{origin}.{alias.name}"
                    yield (target if target in known else origin), child.lineno, where
            else:
                nested = isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
                yield from walk(child, FUNCTION if nested else where)

    yield from walk(ast.parse(source), MODULE)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


@cache
def _module_level_edges(
    kinds: frozenset[str] = frozenset({MODULE, TYPING}),
) -> tuple[tuple[str, str, int], ...]:
    """(importer, imported, line) for every import of a trustcode module of the given kinds."""
    return tuple(
        (module, target, line)
        for module in _modules()
        for target, line, where in _imports(module)
        if where in kinds
    )


def _doc_section(title: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"{DOC} has no '## {title}' section; the architecture checks read it"
    return match.group(1)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_every_module_has_its_line_in_the_doc() -> None:
    named = set(re.findall(r"`([\w/]+(?:\.py|/))`", _doc_section("Layout as built")))
    expected = {"__init__.py"}
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).as_posix()
        if path.name == "__init__.py":
            if path.parent != SRC:
                expected.add(rel.removesuffix("__init__.py"))
        else:
            expected.add(rel)
    missing = sorted(expected - named)
    assert not missing, (
        f"{DOC.name}, section 'Layout as built', has no line for {', '.join(missing)}: add one "
        "line each saying the module's job (its docstring's first line, in short)"
    )
    gone = sorted(name for name in named if not (SRC / name).exists())
    assert not gone, (
        f"{DOC.name}, section 'Layout as built', names paths that no longer exist under "
        f"{SRC}: {', '.join(gone)}. Remove or rename those lines"
    )


def test_the_layers_in_the_doc_are_the_layers_tested() -> None:
    doc_layers = tuple(
        tuple(re.findall(r"`([\w.]+)`", line))
        for line in re.findall(r"^\d+\. [^`\n]*: (.+)$", _doc_section("Layers"), re.M)
    )
    assert doc_layers == LAYERS, (
        f"The numbered list in {DOC.name}, section 'Layers', says {doc_layers}, but "
        f"tests/test_architecture.py checks {LAYERS}: make them the same"
    )


def test_every_unit_sits_on_one_layer() -> None:
    placed = [unit for layer in LAYERS for unit in layer]
    twice = sorted({unit for unit in placed if placed.count(unit) > 1})
    assert not twice, f"LAYERS places {', '.join(twice)} on more than one layer"
    units = {_unit(module) for module in _modules()}
    unplaced = sorted(units - set(placed))
    assert not unplaced, (
        f"These units sit on no layer: {', '.join(unplaced)}. Add each to LAYERS in "
        f"tests/test_architecture.py and to the 'Layers' section of {DOC.name}"
    )
    stale = sorted(set(placed) - units)
    assert not stale, f"LAYERS names {', '.join(stale)}, which no module under {SRC} makes up"


def test_module_level_imports_go_only_down() -> None:
    rank = {unit: depth for depth, layer in enumerate(LAYERS) for unit in layer}
    violations = set()
    messages = []
    for importer, imported, line in _module_level_edges():
        src, dst = _unit(importer), _unit(imported)
        if src not in rank or dst not in rank:
            messages.append(
                f"{importer} (line {line}) imports {imported}: {src!r} or {dst!r} "
                "sits on no layer of LAYERS, or does not exist"
            )
            continue
        if src == dst or rank[dst] > rank[src]:
            continue
        violations.add((importer, imported))
        if (importer, imported) not in ALLOWED:
            where = "on the same layer as" if rank[dst] == rank[src] else "above"
            messages.append(
                f"{_modules()[importer].relative_to(SRC.parent)}:{line} imports {imported} at "
                f"module level, but {dst!r} is {where} {src!r}: move the import into the "
                "function that needs it, or move the code to a lower layer"
            )
    assert not messages, "\n".join(messages)
    stale = sorted(ALLOWED - violations)
    assert not stale, f"ALLOWED lists imports that are gone or now legal; remove them: {stale}"


@pytest.mark.parametrize("level", ["unit", "module"])
def test_no_cycle_of_module_level_imports(level: str) -> None:
    graph: dict[str, set[str]] = {}
    for importer, imported, _ in _module_level_edges(frozenset({MODULE})):
        if level == "unit":
            importer, imported = _unit(importer), _unit(imported)
        if importer != imported:
            graph.setdefault(importer, set()).add(imported)
    cycles = _cycles(graph)
    assert not cycles, (
        f"Module-level imports form a cycle between these {level}s: "
        + "; ".join(" <-> ".join(cycle) for cycle in cycles)
        + ". Move one of the imports into the function that uses it, or split the module"
    )


def test_imports_resolve_relative_and_absolute_alike() -> None:
    known = {
        "trustcode",
        "trustcode.io",
        "trustcode.io.tables",
        "trustcode.io.tables.xlsx",
        "trustcode.rules",
        "trustcode.rules.terms",
        "trustcode.types",
        "trustcode.gold",
    }
    source = (
        "import os\n"
        "from .. import __version__\n"
        "from ...types import Codebook\n"
        "from . import xlsx\n"
        "import trustcode.rules.terms\n"
        "class Holder:\n"
        "    from trustcode import gold\n"
        "def later():\n"
        "    from trustcode.rules import RuleSet\n"
        "if TYPE_CHECKING:\n"
        "    from ..tables.xlsx import Sheet\n"
        "else:\n"
        "    import trustcode.types\n"
    )
    found = list(_parse_imports(source, "trustcode.io.tables", True, known))
    assert found == [
        ("trustcode.io", 2, MODULE),
        ("trustcode.types", 3, MODULE),
        ("trustcode.io.tables.xlsx", 4, MODULE),
        ("trustcode.rules.terms", 5, MODULE),
        ("trustcode.gold", 7, MODULE),  # a class body runs at import: module level
        ("trustcode.rules", 9, FUNCTION),
        ("trustcode.io.tables.xlsx", 11, TYPING),
        ("trustcode.types", 13, MODULE),
    ]
    assert [_unit(target) for target, _, _ in found] == [
        "io",
        "types",
        "io.tables",
        "rules",
        "gold",
        "rules",
        "io.tables",
        "types",
    ]


def test_the_library_does_not_know_the_development_tree() -> None:
    """Nothing under src/ names ``../shared`` (the project's development data beside the
    checkout): an installed trustcode has no such folder, and its help and messages must not
    point there."""
    named = [
        f"{path.relative_to(SRC.parent)}:{number}"
        for path in sorted(SRC.rglob("*"))
        if path.is_file() and path.suffix in {".py", ".yaml", ".md", ".json"}
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1)
        if "../shared" in line or "corpus-sources" in line
    ]
    assert not named, f"src/ names the development tree at: {', '.join(named)}"


def test_a_score_becomes_a_coding_in_one_place() -> None:
    """Comparing a score with a code's threshold is :func:`trustcode.types.meets_threshold`'s
    job alone: a comparison with a threshold (or its array, ``cut``) anywhere else is a second
    copy of the rule, which a change of ``>=`` would miss."""
    copies = []
    for name, path in _modules().items():
        if name == "trustcode.types":
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.Compare):
                continue
            if not all(isinstance(op, (ast.Gt, ast.GtE, ast.Lt, ast.LtE)) for op in node.ops):
                continue
            sides = [ast.unparse(side) for side in (node.left, *node.comparators)]
            text = " ".join(sides)
            if re.search(r"\bthresholds?\b", text) or (
                re.search(r"\bcut\b", text) and re.search(r"score|value", text)
            ):
                copies.append(f"{path.relative_to(SRC.parent)}:{node.lineno}: {ast.unparse(node)}")
    assert not copies, "compare a score with its threshold through meets_threshold:\n" + "\n".join(
        copies
    )


def test_one_check_refuses_an_existing_output() -> None:
    """Every writer refuses an existing output through :func:`trustcode.atomic.check_target`,
    so the condition has one message and one error class; no other module words it."""
    worded = [
        f"{path.relative_to(SRC.parent)}:{node.lineno}"
        for name, path in _modules().items()
        if name != "trustcode.atomic"
        for node in ast.walk(ast.parse(path.read_text("utf-8")))
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and re.search(r"\b(exists;|already exists?)\b", node.value)
    ]
    assert not worded, f"refuse an existing output with atomic.check_target: {', '.join(worded)}"


def _private_imports(source: str, module: str, is_package: bool) -> list[tuple[int, str, str]]:
    """(line, trustcode module, name) for each ``_private`` name ``source`` imports from another
    module, wherever the import stands (module level, ``TYPE_CHECKING``, a function)."""
    package = module if is_package else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
            origin = ".".join(base + ([node.module] if node.module else []))
        else:
            origin = node.module or ""
        if origin.split(".")[0] != "trustcode" or origin == module:
            continue
        found += [
            (node.lineno, origin, alias.name)
            for alias in node.names
            if alias.name.startswith("_") and not alias.name.startswith("__")
        ]
    return found


def test_private_names_stay_in_their_module() -> None:
    """A name another module imports is public: no module imports a ``_private`` name from
    another (a name that must be shared loses its underscore, or the code moves next to it)."""
    imports = [
        f"{path.relative_to(SRC.parent)}:{line}: from {origin} import {name}"
        for module, path in _modules().items()
        for line, origin, name in _private_imports(
            path.read_text("utf-8"), module, path.name == "__init__.py"
        )
    ]
    assert not imports, "imports of private names:\n" + "\n".join(imports)


def test_private_imports_are_found_at_every_depth() -> None:
    source = (
        "from ._local import _a\n"
        "from .other import public, _b\n"
        "from ..tables import _c as c\n"
        "from trustcode.types import __version__\n"
        "def f():\n"
        "    from .other import _d\n"
    )
    found = _private_imports(source, "trustcode.io.readers.corpus", is_package=False)
    assert [(origin, name) for _, origin, name in found] == [
        ("trustcode.io.readers._local", "_a"),
        ("trustcode.io.readers.other", "_b"),
        ("trustcode.io.tables", "_c"),
        ("trustcode.io.readers.other", "_d"),
    ]
