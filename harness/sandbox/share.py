"""The functions a course provides, as self-contained copies the sandboxed child may load.

A course edition may give students some of the graded functions (the historical one gave
pooling and conv backward and mlrloss); training then runs the reference's versions of
those. The child may not read ``reference/``, which holds every graded function, so each
provided function reaches it as a module of its own, ``provided_<function>.py``, cut out of
the reference with ``ast``.

Invariant: a shared module holds the function under its own name and every helper it needs,
from its own module or from any other reference module (``utils``...), under private names
(``_utils__get_array_module``), and nothing else of the reference. Its only imports are of
modules outside the reference folder (numpy, ...): it never resolves a name through the
submission's modules, so it works whatever the student's ``utils.py``, ``conv_net.py`` or
``init_convnet.py`` hold, or without them. ``check_self_contained`` proves this of every
module written; a reference the cutter cannot handle is a ``ShareError`` (an autograder
error), never a copy that reaches into the submission.
"""

from __future__ import annotations

import ast
import builtins
import copy
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any

from harness.core import paths

PREFIX = "provided_"
"""File name prefix of a shared module: ``provided_mlrloss.py``."""


class ShareError(RuntimeError):
    """The reference cannot be cut into self-contained copies (a construct the cutter does not handle)."""


def private_name(module: str, name: str) -> str:
    """The name a helper ``module.name`` takes inside a shared module."""
    return f"_{module}__{name}"


class _Library:
    """The reference's modules, parsed once, and what each top-level name of each one is."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.trees = {p.stem: ast.parse(p.read_text(), str(p)) for p in sorted(folder.glob("*.py"))}
        self.symbols = {m: self._symbols(m, tree) for m, tree in self.trees.items()}

    def _symbols(self, module: str, tree: ast.Module) -> dict[str, tuple[Any, ...]]:
        """name -> ('def', node) | ('assign', node) | ('internal', module, name) | ('external', import node)."""
        table: dict[str, tuple[Any, ...]] = {}
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                table[node.name] = ("def", node)
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    for name in ast.walk(target):
                        if isinstance(name, ast.Name):
                            table[name.id] = ("assign", node)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    top = alias.name.split(".")[0]
                    if top in self.trees:
                        raise ShareError(f"{module}.py: 'import {alias.name}' of a reference module")
                    local = alias.asname or top
                    table[local] = ("external", ast.Import(names=[copy.copy(alias)]))
            elif isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    local = alias.asname or alias.name
                    if node.level == 0 and node.module in self.trees:
                        table[local] = ("internal", node.module, alias.name)
                    elif node.level:
                        raise ShareError(f"{module}.py: relative import of {node.module!r}")
                    else:
                        table[local] = (
                            "external",
                            ast.ImportFrom(module=node.module, names=[copy.copy(alias)], level=0),
                        )
        return table

    def resolve(self, module: str, name: str) -> tuple[str, str]:
        """Follow ``from utils import x`` to the module that defines ``x``."""
        seen = set()
        while True:
            entry = self.symbols[module].get(name)
            if entry is None or entry[0] != "internal":
                return module, name
            if (module, name) in seen:
                raise ShareError(f"import cycle for {name!r}")
            seen.add((module, name))
            module, name = entry[1], entry[2]
            if name not in self.symbols.get(module, {}):
                raise ShareError(f"{module}.py defines no {name!r}")

    def home(self, function: str) -> str:
        """The reference module that defines ``function``."""
        for module, table in self.symbols.items():
            if table.get(function, ("",))[0] == "def":
                return module
        raise ShareError(f"no reference module defines {function!r}")

    def cut(self, function: str, module: str | None = None) -> str:
        """The source of ``function``'s self-contained module."""
        module = module or self.home(function)
        root = self.resolve(module, function)
        names = {root: function}  # (module, name) -> name in the shared module
        nodes: list[tuple[str, Any]] = []  # (module, node) in the order found; written in source order below
        imports: dict[str, ast.stmt] = {}
        todo = [root]
        while todo:
            mod, name = todo.pop()
            kind, node = self.symbols[mod][name][:2]
            if kind not in ("def", "assign"):
                raise ShareError(f"{mod}.{name} is not a function or a constant")
            if all(n is not node for _, n in nodes):
                nodes.append((mod, node))
            for used in _names_used(node):
                entry = self.symbols[mod].get(used)
                if entry is None:
                    continue  # a builtin or a local: check_self_contained proves which
                if entry[0] == "external":
                    text = ast.unparse(entry[1])
                    if used in imports and ast.unparse(imports[used]) != text:
                        raise ShareError(f"{used!r} names two different imports")
                    imports[used] = entry[1]
                    continue
                target = self.resolve(mod, used)
                if target not in names:
                    names[target] = private_name(*target)
                    todo.append(target)
        order = {m: i for i, m in enumerate(self.trees)}
        nodes.sort(key=lambda mn: (mn[0] != root[0], order[mn[0]], mn[1].lineno))
        body: list[ast.stmt] = [imports[k] for k in sorted(imports)]
        for mod, node in nodes:
            mapping = {
                local: names[self.resolve(mod, local)]
                for local, entry in self.symbols[mod].items()
                if entry[0] != "external" and self.resolve(mod, local) in names
            }
            body.append(_Renamer(mapping).rename(node))
        tree = ast.Module(body=body, type_ignores=[])
        ast.fix_missing_locations(tree)
        doc = (
            f'"""{function} as the course provides it (from reference/{module}.py), with its '
            f'helpers under private names: it imports nothing of the submission."""\n'
        )
        return doc + ast.unparse(tree) + "\n"


def _names_used(node: ast.AST) -> set[str]:
    """Every name a top-level statement reads or declares global."""
    used = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Name):
            used.add(n.id)
        elif isinstance(n, (ast.Global, ast.Nonlocal)):
            used.update(n.names)
    return used


def _bound_in(fn: ast.AST) -> set[str]:
    """Names a function (or any scope nested in it) binds itself, less those it declares global."""
    bound, declared = set(), set()
    for n in ast.walk(fn):
        if isinstance(n, ast.arg):
            bound.add(n.arg)
        elif isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
            bound.add(n.id)
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n is not fn:
            bound.add(n.name)
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in n.names)
        elif isinstance(n, ast.Global):
            declared.update(n.names)
    return bound - declared


class _Renamer(ast.NodeTransformer):
    """Rename the module-level names a statement uses, leaving names its functions bind locally."""

    def __init__(self, mapping: dict[str, str]):
        self.mapping = mapping
        self.local: set[str] = set()

    def rename(self, node: ast.stmt) -> ast.stmt:
        node = copy.deepcopy(node)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            self.local = _bound_in(node)
            node.name = self.mapping.get(node.name, node.name)
            for part in ("decorator_list",):
                setattr(node, part, [self.visit(d) for d in getattr(node, part)])
            node.body = [self.visit(s) for s in node.body]
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                node.args = self.visit(node.args)  # default values are read at module level
            return node
        self.local = set()
        visited: ast.stmt = self.visit(node)
        return visited

    def visit_Name(self, node: ast.Name) -> ast.Name:
        if node.id in self.mapping and node.id not in self.local:
            node.id = self.mapping[node.id]
        return node

    def visit_Global(self, node: ast.Global) -> ast.Global:
        node.names = [self.mapping.get(n, n) for n in node.names]
        return node


def check_self_contained(source: str, reference_modules: Collection[str]) -> None:
    """Raise ``ShareError`` unless every name the module's code reads is bound in the module or
    a builtin, and every import (anywhere in it) is of a module outside ``reference_modules``."""
    tree = ast.parse(source)
    top = set(dir(builtins))
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            top.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            top.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                top.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    for n in ast.walk(tree):
        if isinstance(n, ast.Import):
            modules = [a.name.split(".")[0] for a in n.names]
        elif isinstance(n, ast.ImportFrom):
            modules = ["." if n.level else (n.module or "").split(".")[0]]
        else:
            modules = []
        inside = [m for m in modules if m == "." or m in reference_modules]
        if inside:
            raise ShareError(f"a shared copy imports {inside[0]!r}, a module a submission also has")
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            local = _bound_in(fn)
            for n in ast.walk(fn):
                if not isinstance(n, ast.Name) or not isinstance(n.ctx, ast.Load):
                    continue
                if n.id not in local and n.id not in top:
                    raise ShareError(f"a shared copy reads {n.id!r}, which it does not define")


def write_provided(
    names: Iterable[str], profile: Any, folder: Path, source: Path = paths.REFERENCE_DIR
) -> list[Path]:
    """Write one self-contained module per function of ``names`` into ``folder``; return their paths.

    ``profile.MODULES`` says where each function lives in the reference (else it is searched for).
    """
    library = _Library(Path(source))
    folder.mkdir(exist_ok=True)
    written = []
    for name in names:
        text = library.cut(name, getattr(profile, "MODULES", {}).get(name))
        check_self_contained(text, library.trees)
        path = folder / f"{PREFIX}{name}.py"
        path.write_text(text)
        written.append(path)
    return written
