"""Similarity of graded functions, for review: copies of the reference, and near-identical pairs
of students (``python -m harness bulk``). A person decides; nothing is deducted.

Invariants:

* Only source is read (``ast``), never run: a function is compared as its normalised syntax
  tree, a token sequence that is blind to comments, docstrings, formatting and the names of
  variables and arguments (each name becomes its order of first use), but not to structure,
  attributes (``np.maximum``), constants or keyword names.
* A graded unit is a module-level function, a method of a module-level class (``Class.method``)
  or a class graded whole; the last definition of a name counts, as in Python.
* ``identical`` means every graded function the submission defines (at least
  ``MIN_FUNCTIONS``) has the reference's tokens exactly: a renamed, reformatted, recommented
  copy. A partial copy is left to the pairwise comparison, where the reference takes part.
* ``near`` compares two submissions function by function (difflib's ratio of the token
  sequences); functions shorter than ``MIN_TOKENS`` are skipped, since short correct code
  (``np.maximum(x, 0)``, ``w.T @ x + b``) is alike in every class. A pair is flagged when the
  near-identical functions (ratio >= ``NEAR``) hold at least ``SHARE`` of the compared tokens,
  and at least ``MIN_COMPARED`` tokens were compared.
"""

from __future__ import annotations

import ast
import difflib
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

from harness.sandbox.submission import read_source

MIN_FUNCTIONS = 5
"""A copy of the reference needs this many graded functions (of 9) defined and identical."""
MIN_TOKENS = 60
"""Functions with fewer tokens are not compared (short correct code is alike everywhere)."""
NEAR = 0.9
"""difflib ratio from which two functions' token sequences are near-identical."""
SHARE = 0.6
"""Share of the compared tokens in near-identical functions that flags a pair."""
MIN_COMPARED = 400
"""Tokens compared, at least, before a pair can be flagged."""

Tokens = tuple[str, ...]


def tokens(fn: ast.AST) -> Tokens:
    """A function's normalised token sequence (module docstring: what it ignores)."""
    names: dict[str, str] = {}
    out: list[str] = []

    def name(n: str) -> str:
        return names.setdefault(n, f"v{len(names)}")

    def visit(node: object) -> None:
        if isinstance(node, list):
            body = node
            first = body[0] if body else None
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                body = body[1:]  # a docstring
            for item in body:
                visit(item)
            return
        if not isinstance(node, ast.AST):
            return
        out.append(type(node).__name__)
        if isinstance(node, ast.Name):
            out.append(name(node.id))
        elif isinstance(node, ast.arg):
            out.append(name(node.arg))
        elif isinstance(node, ast.Attribute):
            out.append(node.attr)
        elif isinstance(node, ast.Constant):
            out.append(repr(node.value)[:40])
        elif isinstance(node, ast.keyword):
            out.append(str(node.arg))
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            out.extend(name(n) for n in node.names)
        for field_name, value in ast.iter_fields(node):
            if field_name in ("name", "id", "arg", "attr", "value") and not isinstance(
                value, (ast.AST, list)
            ):
                continue
            if field_name in ("ctx", "type_comment"):
                continue
            visit(value)

    visit(fn.args if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) else fn)
    if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
        visit(fn.body)
    return tuple(out)


def functions(folder: Path, wanted: dict[str, str]) -> dict[str, Tokens]:
    """Function name -> tokens, for every function of ``wanted`` (name -> file) that parses."""
    found: dict[str, Tokens] = {}
    for fn_name, file in wanted.items():
        source = read_source(Path(folder) / file)
        try:
            tree = ast.parse(source or "")
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        node = _definition(tree, fn_name)
        if node is not None:
            found[fn_name] = tokens(node)
    return found


def _definition(tree: ast.Module, name: str) -> ast.AST | None:
    """The graded unit ``name`` of a module: a function, ``Class.method`` (the layer-class
    family), or a class graded whole (its loss layer); the last definition, the one Python keeps."""
    owner, _, method = name.partition(".")
    found: ast.AST | None = None
    for node in tree.body:
        if method and isinstance(node, ast.ClassDef) and node.name == owner:
            found = next(
                (
                    item
                    for item in reversed(node.body)
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name == method
                ),
                None,  # a class defined again replaces the earlier one, methods and all
            )
        elif not method and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found = node if node.name == owner else found
    return found


def identical(mine: dict[str, Tokens], reference: dict[str, Tokens]) -> bool:
    """Every function in ``mine`` (at least MIN_FUNCTIONS) equals the reference's."""
    return len(mine) >= MIN_FUNCTIONS and all(reference.get(fn) == t for fn, t in mine.items())


@dataclass(frozen=True)
class Pair:
    """Two submissions whose graded functions are near-identical."""

    a: str
    """One student (or ``reference``)."""
    b: str
    """The other."""
    share: float
    """Share of the compared tokens in near-identical functions."""
    functions: tuple[str, ...]
    """The near-identical functions."""

    def text(self) -> str:
        return f"{self.a} and {self.b}: {self.share:.0%} of the compared code near-identical ({', '.join(self.functions)})"


def near(a: dict[str, Tokens], b: dict[str, Tokens]) -> tuple[float, tuple[str, ...], int]:
    """(share of compared tokens in near-identical functions, those functions, tokens compared)."""
    compared = same = 0
    alike = []
    for fn in sorted(set(a) & set(b)):
        size = min(len(a[fn]), len(b[fn]))  # a padded copy weighs no more than what it copied
        if size < MIN_TOKENS:
            continue
        compared += size
        if difflib.SequenceMatcher(None, a[fn], b[fn], autojunk=False).ratio() >= NEAR:
            same += size
            alike.append(fn)
    return (same / compared if compared else 0.0), tuple(alike), compared


def pairs(submissions: dict[str, dict[str, Tokens]]) -> list[Pair]:
    """Every flagged pair among ``submissions`` (name -> its functions' tokens), most alike first."""
    found = []
    for x, y in combinations(sorted(submissions), 2):
        share, alike, compared = near(submissions[x], submissions[y])
        if compared >= MIN_COMPARED and share >= SHARE:
            found.append(Pair(x, y, share, alike))
    return sorted(found, key=lambda p: (-p.share, p.a, p.b))
