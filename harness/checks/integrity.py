"""Flags for review: what a submission did that the value checks alone would not catch.

Run by ``grade.extra_checks`` after every other check, with the sandbox still open:

* ``integrity.imports`` -- modules the rubric forbids (``forbidden_imports``: torch,
  tensorflow, jax, scipy's convolutions...), imported in the submission's source (read
  with ``ast``, never run) or loaded in the sandbox while its code ran.
* ``integrity.numerical_gradient`` -- a backward that differentiates its own forward
  numerically. Two witnesses: the child counts the forward calls the submission's own
  code makes during one backward call (more than ``MAX_INNER_CALLS``), and a probe finds
  gradients accurate only to finite-difference precision while the forward is exact.
* ``integrity.state`` -- the forward's result depends on earlier calls: on the same input
  (a point 1% away from a case, as the gradient checks use) it answers differently right
  after a backward call than in a fresh process. The gradient checks differentiate the
  reference's forward, so such a forward cannot bend them towards its own backward: the
  flag is for review only.
* ``integrity.copy`` -- every graded function is the reference's, once comments, docstrings,
  formatting and variable names are normalised away (``harness.checks.similarity``; the
  reference itself is not flagged when it is what is graded).
* ``integrity.sandbox`` -- what the child's guard refused or saw (the grader's files,
  other processes, writes outside the sandbox, files named like reports, processes
  started or left running, ctypes, signals, network), and submission files refused
  (links, special files).

A flag is a CheckResult with status FAIL and no points whose message starts with
``flagged for review``, plus one notice line: a person decides; the score stands. A clean submission gets no ``integrity.*`` line at all.

When the child runs as the grader's own user it could have changed the grader itself:
the grader's files are compared with their state when the sandbox started, and any
change raises ``TamperError`` -- an autograder error, never a grade.
"""

from __future__ import annotations

import ast
import dataclasses
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import numpy as np

from harness.cases import catalogue as cases_mod
from harness.cases import families
from harness.cases.catalogue import Case
from harness.checks.gradcheck import STEP_REL
from harness.checks.rubric import Rubric
from harness.core.model import CheckResult, Status
from harness.core.ops import OPS
from harness.sandbox.process import MAX_SUBMISSION_BYTES, Sandbox
from harness.sandbox.replies import Reply
from harness.sandbox.safefiles import read_bounded
from harness.sandbox.submission import Submission

REVIEW = "flagged for review"
MAX_INNER_CALLS = 2
"""Forward calls by the submission's own code during one backward call that are still plausible
(recomputing the output once, or twice); more is numerical differentiation."""
FD_LOW, FD_HIGH = 1e-11, 1e-3
"""Relative errors typical of finite differences (round-off over a step, or truncation)."""
SAME = 1e-9
"""Two runs of a deterministic forward on the same input agree this closely (relative)."""
PROBE_SEED = 7919


class TamperError(Exception):
    """The grader's own files changed while the submission ran: no result can be trusted."""


# ---- forbidden imports ---------------------------------------------------------------------


def _matches(name: str, forbidden: Iterable[str]) -> str:
    for f in forbidden:
        if name == f or name.startswith(f + "."):
            return f
    return ""


def imported_names(source: str) -> list[tuple[int, str]]:
    """(line, module) of every import in ``source``, including ``__import__('x')`` and
    ``importlib.import_module('x')`` with a literal name, and ``from a import b`` as ``a.b``."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            fn = node.func
            name = fn.id if isinstance(fn, ast.Name) else fn.attr if isinstance(fn, ast.Attribute) else ""
            if name in ("__import__", "import_module"):
                found.append((node.lineno, node.args[0].value))
    return found


def scan_imports(folder: Path, forbidden: Iterable[str]) -> list[str]:
    """``file:line: module`` for each forbidden import in the submission's source files."""
    hits, total = [], 0
    for path in sorted(Path(folder).glob("*.py")):
        data = read_bounded(path, MAX_SUBMISSION_BYTES - total)
        if data is None:
            continue
        total += len(data)
        for line, name in imported_names(data.decode("utf-8", errors="replace")):
            if _matches(name, forbidden):
                hits.append(f"{path.name}:{line}: {name}")
    return list(dict.fromkeys(hits))


# ---- the probe of one layer ----------------------------------------------------------------


@dataclasses.dataclass
class Probe:
    """What probing one layer found."""

    layer: str
    numerical: str = ""
    """Why its backward looks like finite differences ('' when it does not)."""
    state: str = ""
    """Why its forward looks stateful ('' when it does not)."""


def _rel(got: np.ndarray, want: np.ndarray) -> float:
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if got.size != want.size:
        return np.inf
    scale = max(float(np.abs(want).max(initial=0.0)), 1e-300)
    return float(np.abs(got.reshape(want.shape) - want).max(initial=0.0)) / scale


class Value(NamedTuple):
    """A usable returned value: its float64 copy and the dtype the submission used."""

    array: np.ndarray
    dtype: str


def _value(reply: Reply, name: str) -> Value | None:
    r = reply.outputs.get(name) if reply.ok else None
    return None if r is None or r.array is None else Value(r.array, r.dtype)


def probe_layer(sb: Sandbox, op_name: str, case: Case, timeout: float) -> Probe:
    """Forward at x1 in a fresh child, backward at x0, forward at x0 and at x1 again.

    x1 is x0 moved 1% along a random direction, as a gradient check moves it. A forward that
    is a function of its input gives the same answer at x1 both times.
    """
    op = OPS[op_name]
    loss = op.kind == "loss"
    fwd = op_name if loss else op.forward
    value = op.value if loss else "y"
    wrt = op.wrt[0][1] if loss else "x"
    params = case.params
    inputs = {k: case.arrays[k] for k in (op.inputs if loss else OPS[fwd].inputs)}
    x0 = inputs[wrt]
    u = np.random.default_rng(PROBE_SEED).standard_normal(x0.shape)
    u /= np.linalg.norm(u)
    x1 = x0 + STEP_REL * np.linalg.norm(x0) * u
    at_x1 = {**inputs, wrt: x1}
    expected = cases_mod.expected(case)
    ref0 = expected[op.value] if loss else case.arrays["y"]  # a backward case carries its forward output
    result = Probe(op.layer)
    if sb.group == f"layer:{op.layer}":
        sb.restart()
    fresh = sb.call(fwd, params, at_x1, timeout=timeout)
    back = sb.call(op_name, params, case.arrays, timeout=timeout)
    again0 = back if loss else sb.call(fwd, params, inputs, timeout=timeout)
    again1 = sb.call(fwd, params, at_x1, timeout=timeout)
    f, a0, a1 = _value(fresh, value), _value(again0, value), _value(again1, value)
    if f is not None and a1 is not None and _rel(a1.array, f.array) > SAME:
        result.state = (
            f"on the same input, its {fwd} gave a result {_rel(a1.array, f.array):.1e} "
            f"(relative) away right after a backward call from the one it gave in a fresh process"
        )
    if a0 is not None and np.dtype(a0.dtype).kind == "f" and np.dtype(a0.dtype).itemsize == 8:
        fwd_err = _rel(a0.array, ref0)
        for out in op.grads():
            g = _value(back, out)
            if g is None or g.dtype != "float64" or out not in expected:
                continue
            err = _rel(g.array, expected[out])
            if FD_LOW < err < FD_HIGH and err > 1e3 * max(fwd_err, 1e-16):
                result.numerical = (
                    f"its gradient {out!r} is accurate only to {err:.1e} (relative) while its "
                    f"forward is exact to {fwd_err:.1e}: the precision of finite differences "
                    f"(or of float32 arithmetic in the backward alone)"
                )
                break
    return result


# ---- all flags -----------------------------------------------------------------------------


def _flag(check_id: str, message: str, lines: list[str]) -> CheckResult:
    return CheckResult(
        check_id,
        Status.FAIL,
        message=f"{REVIEW}: {message}"[:300],
        details="\n".join(f"  {line}" for line in lines[:40]),
    )


def _probe_ops(results: list[CheckResult], fn_names: dict[str, Any]) -> list[str]:
    """Backward and loss ops worth probing: no crash or timeout in the layer's functions, and
    a gradient check passed (or, none having run, a backward check): a backward that fails
    them gains nothing from a stateful forward, nor is it a working numerical gradient."""
    ops = []
    for name, op in OPS.items():
        if op.kind == "forward" or name not in fn_names:
            continue
        fns = {fn_names[name], fn_names[op.forward]} if op.forward else {fn_names[name]}
        mine = [r for r in results if r.function in fns]
        if any(r.status is Status.ERROR for r in mine):
            continue
        grad = [r for r in mine if r.id.startswith(f"gradcheck.{op.layer}.")]
        back = [r for r in mine if r.id.startswith(f"backward.{op.layer}.")]
        if any(r.status is Status.PASS for r in (grad or back)):
            ops.append(name)
    return ops


class RunSettings(Protocol):
    """What ``run`` reads of the grade options (``harness.options.Options``, a layer above)."""

    @property
    def timeout(self) -> float: ...

    @property
    def seed(self) -> int: ...


def run(
    sb: Sandbox, submission: Submission, options: RunSettings, rubric: Rubric, results: list[CheckResult]
) -> tuple[list[CheckResult], list[str]]:
    """Every integrity flag of this grading run (``results`` is read, never changed).

    Raises TamperError when the
    grader's own files changed.
    """
    fn_names = sb.profile.FUNCTIONS
    flags: list[CheckResult] = []

    # A key written after a [table] in TOML lands in that table: accept it under [train] too.
    forbidden = tuple(rubric.forbidden_imports or rubric.train.get("forbidden_imports", ()))
    if forbidden:
        static = scan_imports(submission.folder, forbidden)
        loaded = sorted({_matches(m, forbidden) for m in sb.observed.modules} - {""})
        if static or loaded:
            names = sorted({_matches(h.rsplit(": ", 1)[1], forbidden) for h in static} | set(loaded))
            flags.append(
                _flag(
                    "integrity.imports",
                    f"uses {', '.join(names)}, which this course forbids",
                    [f"imported at {h}" for h in static]
                    + [f"loaded while your code ran: {m}" for m in loaded],
                )
            )

    numerical, state = [], []
    for op_name, calls in sorted(sb.observed.inner_calls.items()):
        op = OPS.get(op_name)
        if op is None or op.kind == "forward":
            continue
        fwd_fn = fn_names[op.forward] if op.forward else fn_names[op_name]
        n = calls.get(fwd_fn, 0)
        if n > MAX_INNER_CALLS:
            numerical.append(
                f"{fn_names[op_name]} called {fwd_fn} {n} times during one call: "
                f"numerical differentiation of the forward?"
            )
    timeout = min(options.timeout, sb.limits.timeout_s)
    probe_cases = {
        c.op: c
        for c in families.random_cases(
            options.seed + PROBE_SEED, sb.profile.NAME, per_op=1, exclude_tags=rubric.exclude_tags
        )
    }
    for op_name in _probe_ops(results, fn_names):
        if op_name not in probe_cases:
            continue
        found = probe_layer(sb, op_name, probe_cases[op_name], timeout)
        if found.numerical:
            numerical.append(f"{fn_names[op_name]}: {found.numerical}")
        if found.state:
            state.append(f"{found.layer}: {found.state}")
    if numerical:
        flags.append(
            _flag(
                "integrity.numerical_gradient",
                "a backward pass looks like numerical differentiation of the forward",
                numerical,
            )
        )
    if state:
        flags.append(
            _flag(
                "integrity.state",
                "a forward pass depends on earlier calls (state kept between calls)",
                state,
            )
        )

    copy = reference_copy(submission, sb.profile)
    if copy:
        flags.append(
            _flag(
                "integrity.copy", copy, ["compared: the syntax of each graded function (see similarity.py)"]
            )
        )

    sb.restart()  # end every process before judging what the sandbox saw
    lines = [
        f"{what}: {detail}" + (f" ({n} times)" if n > 1 else "")
        for (what, detail), n in sorted(sb.observed.events.items())
    ]
    lines += [
        f"{file} was not given to your code: it is {why}"
        for file, why in sorted(sb.observed.refused_files.items())
    ]
    if sb.observed.killed:
        lines.append(f"left {sb.observed.killed} process(es) running after its calls (killed)")
    if lines:
        kinds = sorted({line.split(":")[0] for line in lines})
        flags.append(
            _flag(
                "integrity.sandbox",
                "your code did what a layer function has no reason to do (" + "; ".join(kinds)[:150] + ")",
                lines,
            )
        )

    changed = sb.changed_grader_files()
    if changed:
        raise TamperError(
            "the grader's own files changed while the submission ran, so no result of "
            "this run can be trusted; regrade on a fresh installation and review the "
            "submission. Changed: " + ", ".join(os.path.relpath(p) for p in changed[:10])
        )
    notices = [f"{f.id}: {f.message}" for f in flags]
    return flags, notices


def reference_copy(submission: Submission, profile: Any) -> str:
    """Why the submission reads as a copy of the reference, or ''."""
    from harness.checks import similarity
    from harness.core import paths
    from harness.sandbox.submission import SubmissionError, locate

    reference_dir = Path(getattr(profile, "REFERENCE_DIR", paths.REFERENCE_DIR))  # the family's own
    if Path(submission.folder).resolve() == reference_dir.resolve():
        return ""
    try:
        ref = locate(reference_dir, profile.MODULES)
    except SubmissionError:
        return ""
    mine = similarity.functions(submission.folder, submission.functions)
    if not similarity.identical(mine, similarity.functions(ref.folder, ref.functions)):
        return ""
    return (
        f"all {len(mine)} graded functions are the reference solution's, up to names, comments and formatting"
    )
