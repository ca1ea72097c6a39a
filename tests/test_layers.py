"""The import graph of ``harness/`` keeps to the layering and has no cycle.

Packages (and the top-level modules among them) are ranked
``core < profiles < child < cases < sandbox < diagnose < checks < training < report < options
< grade < deploy < cli < __main__``: a module imports only from its own package or a package
ranked below it; ``harness`` itself (``__version__``) is importable by all. Every import
statement counts, those inside functions too: deferring an import hides a dependency (and a
cycle), it does not remove it. Importing ``a.b.c`` runs ``a/__init__`` and ``a/b/__init__``
first, so those are dependencies as well, as Python executes them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from harness.core import paths

LAYERS = [
    "core",
    "profiles",
    "child",
    "cases",
    "sandbox",
    "diagnose",
    "checks",
    "training",
    "report",
    "options",
    "grade",
    "deploy",
    "cli",
    "__main__",
]


def _name(path: Path) -> str:
    parts = list(path.relative_to(paths.PACKAGE_DIR.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(p): p for p in sorted(paths.PACKAGE_DIR.rglob("*.py"))}


def _imports(module: str) -> list[tuple[int, str, tuple[str, ...]]]:
    """(line, imported module, names taken from it) for every import of a harness module in ``module``."""
    path = MODULES[module]
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, ()) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            source = ".".join([*base, *([node.module] if node.module else [])])
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                if submodule in MODULES:
                    found.append((node.lineno, submodule, ()))
                else:
                    found.append((node.lineno, source, (alias.name,)))
    return [(line, target, names) for line, target, names in found if target.split(".")[0] == "harness"]


def _runs(target: str) -> list[str]:
    """The modules that importing ``target`` executes: its packages, then itself."""
    parts = target.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1) if ".".join(parts[:i]) in MODULES]


def _rank(module: str) -> int:
    parts = module.split(".")
    return -1 if len(parts) == 1 else LAYERS.index(parts[1])


def test_every_module_has_a_layer():
    unknown = sorted(m for m in MODULES if m != "harness" and m.split(".")[1] not in LAYERS)
    assert not unknown, f"modules outside every layer (add their package to LAYERS in its place): {unknown}"


def test_modules_import_only_their_own_package_or_below():
    violations = [
        f"{module}:{line} imports {target} ({target.split('.')[1]} is above {module.split('.')[1]})"
        for module in MODULES
        for line, target, _ in _imports(module)
        if _rank(target) > _rank(module) and (target.split(".")[:2] != module.split(".")[:2])
    ]
    assert not violations, "\n".join(violations)


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _private_uses(module: str) -> list[str]:
    """``from other import _name`` and ``other._name`` where ``other`` is a harness module bound by an import."""
    uses = [
        f"{module}:{line} takes {name} from {target}"
        for line, target, names in _imports(module)
        for name in names
        if _private(name) and target != module
    ]
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    bound = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("harness"):
            bound.update({a.asname or a.name: f"{node.module}.{a.name}" for a in node.names})
        elif isinstance(node, ast.Import):
            bound.update({a.asname: a.name for a in node.names if a.asname})
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr) and isinstance(node.value, ast.Name):
            target = bound.get(node.value.id)
            if target in MODULES and target != module:
                uses.append(f"{module}:{node.lineno} uses {node.value.id}.{node.attr}")
    return uses


def test_no_private_names_across_modules():
    violations = [use for module in MODULES for use in _private_uses(module)]
    assert not violations, "\n".join(violations)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while not component or component[-1] != v:
                component.append(stack.pop())
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle():
    graph = {
        module: {run for _, target, _ in _imports(module) for run in _runs(target)} - {module}
        for module in MODULES
    }
    assert not _cycles(graph), _cycles(graph)


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"a"}, "c": {"a"}}, [["a", "b"]]),
        ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"d"}}, [["a", "b", "c"]]),
    ],
)
def test_cycle_finder(graph, expected):
    assert _cycles(graph) == expected


def test_import_of_a_submodule_runs_its_packages():
    assert _runs("harness.report.plugin") == ["harness", "harness.report", "harness.report.plugin"]
