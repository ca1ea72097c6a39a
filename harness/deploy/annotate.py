"""GitHub Actions annotations (``::error file=...,line=...::``) at the student's failing functions.

One annotation per graded function that did not pass (GitHub shows at most 10 errors per
step; the assignment has 9 functions), placed on the line of the student's traceback inside
that function when there is one, else on the function's ``def`` line; a flag for review
(``integrity.*``) is a warning. The files and lines
come from parsing the submission's source (``ast``), never from running it.
https://docs.github.com/en/actions/using-workflows/workflow-commands-for-github-actions
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness import profiles
from harness.core.model import CheckResult, GradeReport
from harness.deploy import FLAG_PREFIX
from harness.report.common import AUTOGRADER_ERROR, NOT_PASSED, REPRODUCE, first_line, points
from harness.sandbox import syntax
from harness.sandbox.submission import SubmissionError, locate, read_source

MAX_MESSAGE = 1500
"""Characters of one annotation's text; GitHub truncates long ones anyway."""

_FRAME = re.compile(r'File "([^"]+)", line (\d+)')


@dataclass(frozen=True)
class Where:
    """A place in the student's repository."""

    file: str
    """Path relative to the repository root (what GitHub's ``file=`` expects)."""
    line: int
    """Line of the ``def``; 0 when the function was not found."""
    end: int
    """Last line of the function."""
    syntax_error: bool = False
    """The file does not compile: ``line`` is the syntax error's line, shared by its functions."""


def escape_data(text: str) -> str:
    """A workflow command's message: ``%``, CR and LF escaped as GitHub's toolkit does."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value (``file=``, ``title=``): also ``:`` and ``,``."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(level: str, message: str, **props) -> str:
    """``::error file=a.py,line=3,title=T::message`` (properties that are empty are left out)."""
    given = ",".join(f"{k}={escape_property(str(v))}" for k, v in props.items() if v not in (None, "", 0))
    return f"::{level}{' ' + given if given else ''}::{escape_data(message)}"


def locations(path: str | Path, profile: str = profiles.DEFAULT) -> dict[str, Where]:
    """Function name -> where it is defined, relative to ``path`` (the repository root)."""
    prof = profiles.get(profile)
    try:
        sub = locate(path, prof.MODULES)
    except SubmissionError:
        return {}
    root = Path(path).resolve()
    root = root.parent if root.is_file() else root
    found: dict[str, Where] = {}
    for name, file in sub.functions.items():
        source = sub.folder / file
        try:
            rel = source.resolve().relative_to(root).as_posix()
        except ValueError:
            rel = source.name
        line, end = _def_lines(source, name)
        found[name] = Where(rel, line, end, syntax_error=file in sub.syntax_errors)
    return found


def _def_lines(source: Path, name: str) -> tuple[int, int]:
    text = read_source(source)
    try:
        tree = ast.parse(text) if text is not None else None
    except SyntaxError as exc:  # at the line that does not compile: the function's own, else the file's
        span = syntax.top_level_functions(text or "").get(name)
        own = syntax.compile_error(text or "", *span) if span else None
        line = (own or exc).lineno or 0
        return line, line
    except ValueError:
        tree = None
    if tree is None:
        return 0, 0
    # A name defined twice is bound to its last definition: the one that was graded.
    owner, _, method = name.partition(".")
    if method:  # ``Class.method``: the method inside its class
        for node in reversed(tree.body):
            if isinstance(node, ast.ClassDef) and node.name == owner:
                for sub in reversed(node.body):
                    if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)) and sub.name == method:
                        first = min([sub.lineno, *(d.lineno for d in sub.decorator_list)])
                        return first, sub.end_lineno or first
                return 0, 0
        return 0, 0
    for node in reversed(tree.body):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            return first, node.end_lineno or first
    for node in reversed(tree.body):  # `name = ...` or `from x import name`
        if isinstance(node, ast.Assign):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.ImportFrom):
            names = [a.asname or a.name for a in node.names]
        else:
            continue
        if name in names:
            return node.lineno, node.end_lineno or node.lineno
    return 0, 0


def _traceback_line(checks: list[CheckResult], where: Where) -> int:
    """The deepest line of the student's traceback that falls inside the function, or 0."""
    base = Path(where.file).name
    best = 0
    for check in checks:
        for file, line in _FRAME.findall(check.details):
            if Path(file).name == base and where.line <= int(line) <= where.end:
                best = int(line)
    return best


def _message(checks: list[CheckResult], cut: Sequence[CheckResult] = ()) -> str:
    """The failing ``checks``, each on a line; then ``cut``, the function's checks that passed
    but lost points (a gate: the values are wrong), so the points lost add up."""
    lines = [
        f"{c.id} ({c.status.value}, {points(c.score)}/{points(c.max_score)}): {first_line(c.message)}"
        for c in [*checks, *cut]
    ]
    hints = list(dict.fromkeys(c.hint for c in checks if c.hint))
    lines += [f"hint (likely cause): {h}" for h in hints[:3]]
    reproduce = next(
        (
            line.strip()
            for c in checks
            for line in c.details.splitlines()
            if line.strip().startswith(REPRODUCE)
        ),
        "",
    )
    if reproduce:
        lines.append(reproduce)
    text = "\n".join(lines)
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE] + "\n..."


def lost(checks: list[CheckResult]) -> float:
    """Points lost over ``checks``: their maximum minus their score, in hundredths as shown."""
    return round(sum(c.max_score - c.score for c in checks), 2)


def _syntax_annotation(checks: list[CheckResult], place: Where, every: list[CheckResult]) -> str:
    """One error at the line that does not compile, with its source line, for all its functions."""
    functions = list(dict.fromkeys(c.function for c in checks))
    shown = next((c for c in checks if c.details), checks[0])
    mine = [c for c in every if c.function in functions]
    message = f"{first_line(shown.message)}\n{shown.details.strip()}".strip()
    message += f"\nnot graded until it compiles: {', '.join(functions)}"
    title = f"{place.file} does not compile ({points(lost(mine))} points lost)"
    return command("error", message[:MAX_MESSAGE], file=place.file, line=place.line, title=title)


def workflow_annotations(
    report: GradeReport, path: str | Path | None = None, profile: str = profiles.DEFAULT
) -> list[str]:
    """Workflow commands for every graded function that did not pass; hidden checks stay hidden.

    ``path`` is the repository root as given to the grader (default: ``report.submission``):
    ``file=`` is relative to it.
    """
    if report.autograder_error:
        return [
            command(
                "error",
                f"{AUTOGRADER_ERROR}\n{first_line(report.autograder_error)}",
                title="Autograder error",
            )
        ]
    where = locations(path if path is not None else report.submission, profile)
    groups: dict[str, list[CheckResult]] = {}
    shown = [c for c in report.checks if not c.hidden]  # hidden checks: neither shown nor counted
    out = []
    for check in report.checks:
        if check.status not in NOT_PASSED or check.hidden:
            continue
        place = where.get(check.function)
        if check.message.startswith(FLAG_PREFIX):  # a person will look: a warning, not an error
            out.append(command("warning", check.message, title=check.id))
        elif place is not None and place.syntax_error:  # one annotation per file that does not compile
            groups.setdefault(f"file:{place.file}", []).append(check)
        else:
            groups.setdefault(check.function or check.id, []).append(check)
    for function, checks in groups.items():
        if function.startswith("file:"):
            out.append(_syntax_annotation(checks, where[checks[0].function], shown))
            continue
        # The function's loss over all its checks: a check that passed loses its points too when
        # the function's values are wrong (its gate, ``harness.checks.rubric``).
        mine = [c for c in shown if (c.function or c.id) == function]
        failing = {c.id for c in checks}
        cut = [c for c in mine if c.id not in failing and c.score < c.max_score]
        title = (
            f"{function}: {len(checks)} check{'s' if len(checks) != 1 else ''} not passed "
            f"({points(lost(mine))} points lost)"
        )
        place = where.get(function)
        if place is None:
            out.append(command("error", _message(checks, cut), title=title))
            continue
        line = _traceback_line(checks, place) or place.line
        out.append(command("error", _message(checks, cut), file=place.file, line=line, title=title))
    return out
