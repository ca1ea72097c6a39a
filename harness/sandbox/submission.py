"""Find a submission's functions without running its code.

A submission is a folder of modules, a repository whose modules sit in a subfolder
(``python/``, ``src/``, ...), or one ``.py`` file holding every function. Functions are
found by parsing the source (``ast``), so a module that crashes at import still shows
which functions it defines; a module that does not even parse (Python 2 code) shows them
through its ``def`` lines (``harness.sandbox.syntax``), each with why it cannot run.
"""

from __future__ import annotations

import ast
import dataclasses
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.sandbox import syntax

SKIP_DIRS = {".git", "__pycache__", ".tox", ".venv", "venv", "node_modules", "reports", ".github"}
MAX_DEPTH = 4
MAX_FILES = 2000


Parameters = tuple[tuple[str, ...], int, bool]
"""A ``def`` line's positional parameters: their names, how many have no default, and
whether it takes ``*args`` (what ``profiles.editions`` matches against each edition's call)."""


class SubmissionError(Exception):
    """The path cannot be graded as a submission; the message says what to do."""


@dataclass(frozen=True)
class Submission:
    """Where a submission's functions are."""

    path: Path
    """What was given on the command line."""
    folder: Path
    """The folder that goes on the child's ``sys.path``."""
    functions: dict[str, Any] = field(default_factory=dict)
    """Function name -> the file that defines it (relative to ``folder``)."""
    syntax_errors: dict[str, Any] = field(default_factory=dict)
    """File (relative) -> the syntax error, for files that do not parse."""
    function_errors: dict[str, str] = field(default_factory=dict)
    """Function -> why it cannot run, when its file does not parse (``syntax.explain``: the
    line, its source and, when that is the cause, "this is Python 2 code")."""
    parameters: dict[str, Parameters] = field(default_factory=dict)
    """Function -> its ``def`` line's parameters (functions defined by a ``def`` in a file that parses)."""

    @property
    def name(self) -> str:
        return self.path.stem if self.path.is_file() else self.path.resolve().name


MAX_MODULE_BYTES = 2 * 2**20


def read_source(path: Path) -> str | None:
    """A module's text, or None when it is not a regular file of a sane size (FIFO, device, huge)."""
    try:
        st = path.stat()
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_MODULE_BYTES:
        return None
    try:
        with open(path, "rb") as f:
            return f.read(MAX_MODULE_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return None


@dataclass(frozen=True)
class _Module:
    names: set[str]
    error: str = ""
    problems: dict[str, str] = field(default_factory=dict)
    parameters: dict[str, Parameters] = field(default_factory=dict)


def def_parameters(node: ast.FunctionDef | ast.AsyncFunctionDef) -> Parameters:
    """A ``def`` node's ``Parameters``."""
    positional = [*node.args.posonlyargs, *node.args.args]
    names = tuple(a.arg for a in positional)
    return names, len(names) - len(node.args.defaults), node.args.vararg is not None


def _defined_functions(path: Path) -> _Module:
    """The names a module defines, its syntax error ('' none) and, when it does not parse,
    why each function found by scanning its lines cannot run (``syntax.explain``)."""
    source = read_source(path)
    if source is None:
        return _Module(set(), f"not a regular file, or larger than {MAX_MODULE_BYTES >> 20} MiB")
    try:
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as exc:
        spans = syntax.top_level_functions(source)
        why = {name: syntax.explain(path.name, source, name, span, exc) for name, span in spans.items()}
        return _Module(set(spans), syntax.error_text(exc), why)
    except ValueError as exc:  # null bytes
        return _Module(set(), str(exc))
    defs = [node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    names = {node.name for node in defs}
    # A class defines itself and ``Class.method`` for each method in its body.
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            names.add(node.name)
            names.update(
                f"{node.name}.{m.name}"
                for m in node.body
                if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))
            )
    # `name = other_function` at module level counts as a definition too.
    for node in tree.body:
        if isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif (
            isinstance(node, ast.ImportFrom)
            and node.module
            and not node.level
            # A re-export counts only when the module it comes from is in the same folder.
            and (path.parent / f"{node.module.split('.')[0]}.py").is_file()
        ):
            names.update(a.asname or a.name for a in node.names)
    return _Module(names, parameters={node.name: def_parameters(node) for node in defs})


def _candidate_folders(root: Path) -> Iterator[Path]:
    """Folders under root, breadth first, skipping tooling and hidden folders."""
    queue = [(root, 0)]
    while queue:
        folder, depth = queue.pop(0)
        yield folder
        if depth < MAX_DEPTH:
            try:
                children = sorted(p for p in folder.iterdir() if p.is_dir())
            except OSError:
                continue
            queue.extend(
                (p, depth + 1) for p in children if p.name not in SKIP_DIRS and not p.name.startswith(".")
            )


def module_file(module: str) -> str:
    """The file of a course module, relative to the submission folder: ``layers.conv_layer`` ->
    ``layers/conv_layer.py``."""
    return module.replace(".", "/") + ".py"


def scan(folder: Path, wanted: dict[str, str]) -> Submission:
    """Map each wanted function to the file defining it in ``folder`` (not recursive, except
    into the packages that ``wanted``'s dotted modules name: ``layers.conv_layer``).

    ``wanted`` maps function name -> its historical module; the historical module wins
    when several files define a function (``from relu import relu_forward`` elsewhere).
    File names are relative to ``folder`` (``layers/conv_layer.py``).
    """
    found: dict[str, Any] = {}
    errors: dict[str, Any] = {}
    modules: dict[str, _Module] = {}
    packages = sorted({m.split(".")[0] for m in wanted.values() if "." in m})
    files = sorted(folder.glob("*.py"))[:MAX_FILES]
    for pkg in packages:
        if (folder / pkg).is_dir() and not (folder / pkg).is_symlink():
            files += sorted((folder / pkg).glob("*.py"))[:MAX_FILES]
    defs = {}
    for f in files:
        rel = f.relative_to(folder).as_posix()
        parsed = modules[rel] = _defined_functions(f)
        if parsed.error:
            errors[rel] = parsed.error
        defs[rel] = parsed.names
    for name, module in wanted.items():
        own = module_file(module)
        owners = [f for f, names in defs.items() if name in names]
        if own in owners:
            found[name] = own
        elif own in errors:
            found[name] = own  # it is there, but does not parse (others only import it)
        elif owners:
            found[name] = owners[0]
    problems = {n: modules[f].problems[n] for n, f in found.items() if n in modules[f].problems}
    parameters = {n: modules[f].parameters[n] for n, f in found.items() if n in modules[f].parameters}
    return Submission(
        path=folder,
        folder=folder,
        functions=found,
        syntax_errors=errors,
        function_errors=problems,
        parameters=parameters,
    )


def detect(path: str | Path) -> tuple[str, str]:
    """Which assignment family a submission belongs to, statically: ``(profile name, why)``.

    Each profile's functions are located (:func:`locate`); a profile with a
    ``DETECT_FUNCTION`` counts only when that function is defined in its course module
    (``layers.py``). The profile finding the most functions wins, then the shallowest
    folder, then the default profile. Raises SubmissionError when no profile finds anything.
    """
    from harness import profiles

    found = []
    for name, prof in profiles.PROFILES.items():
        try:
            sub = locate(path, prof.MODULES)
        except SubmissionError:
            continue
        marker = getattr(prof, "DETECT_FUNCTION", "")
        if marker and sub.functions.get(marker) != module_file(prof.MODULES[marker]):
            continue
        try:
            depth = len(sub.folder.resolve().relative_to(Path(path).resolve()).parts)
        except ValueError:  # a single file: its own folder
            depth = 0
        where = sub.functions.get(marker) or next(iter(sub.functions.values()))
        rel = (sub.folder / where).relative_to(sub.folder.parent) if depth else Path(where)
        found.append((len(sub.functions), -depth, name == profiles.DEFAULT, name, sub, rel, marker))
    if not found:
        return profiles.DEFAULT, "no family's functions found"
    count, _, _, name, sub, rel, marker = max(found)
    why = f"{rel} defines {marker}" if marker else f"{count} of its functions found, first in {rel}"
    return name, f"detected: {why}"


def locate(path: str | Path, wanted: dict[str, str]) -> Submission:
    """Find the submission's folder and functions, or raise SubmissionError saying what to do."""
    path = Path(path)
    if not path.exists():
        raise SubmissionError(
            f"{path}: no such file or folder; give the folder holding your "
            f"modules (e.g. conv_layer.py) or a single .py file"
        )
    if path.is_file():
        if path.suffix != ".py":
            raise SubmissionError(
                f"{path}: not a Python file; give a folder of modules or one .py file (unzip archives first)"
            )
        sub = scan(path.parent, wanted)
        only = {name: f for name, f in sub.functions.items() if f == path.name}
        errors = {f: e for f, e in sub.syntax_errors.items() if f == path.name}
        return dataclasses.replace(
            sub,
            path=path,
            functions=only,
            syntax_errors=errors,
            function_errors={n: e for n, e in sub.function_errors.items() if n in only},
            parameters={n: p for n, p in sub.parameters.items() if n in only},
        )
    best = None
    for folder in _candidate_folders(path):
        sub = scan(folder, wanted)
        if best is None or len(sub.functions) > len(best.functions):
            best = sub
        if len(sub.functions) == len(wanted):
            break
    if best is None or not best.functions:
        raise SubmissionError(
            f"{path}: none of the assignment's functions ({', '.join(sorted(wanted)[:3])}, ...) is "
            f"defined in any .py file here or in its subfolders; is this the right folder?"
        )
    return dataclasses.replace(best, path=path)
