"""Points: a TOML rubric gives each graded function its points and the course profile.

The rule for points (README, "The rule for points"; the rubric files repeat it):

* Within a function, points are split between its checks by the weight of their kind
  (fixture cases, hidden cases, gradient checks, properties).
* A value check (fixture, hidden: compared with the reference's values) earns its share
  times the fraction of its cases that passed.
* A qualifying check (gradient check, properties: no expected values) earns its share
  times the fraction of its own cases that passed times its *gate*: the fraction of cases
  passed over the value checks it is ``gated_by`` (``checks.catalogue.CheckSpec``). A
  function that computes nothing right earns nothing, however consistent or well-formed.
  A gate whose value checks did not run (``--only``) is 0.
* Each check's points only ever read that function's own results: one function's points
  depend on that function alone.
* Rounding: a function's earned points are rounded *down* to the rubric's ``step``
  (``[scoring] step``: 0.01 by default, 1 for whole points per function), then split over
  its checks in hundredths by largest remainder; available points likewise. Every number
  shown has 2 decimals and the checks add up exactly to the total.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib

from harness.core import paths
from harness.core.model import CheckResult, Status

TIME_BUDGET_FACTOR = "time_budget_factor"
"""``[train]`` key, optional: the training check's time limit becomes this many times the
reference's projected time on the grading machine (``harness.training.speed.course_budget``),
instead of the fixed ``--train-time-limit``. Without it, a fixed limit; either way a grade
says before training when a submission is projected over it."""


class RubricError(ValueError):
    """The rubric file is missing or malformed; the message says where."""


@dataclass(frozen=True)
class Rubric:
    """Points per function and the course profile."""

    name: str
    """The edition's name, shown in reports."""
    points: dict[str, Any]
    """Submission function name (or the training check's id: ``train.lenet``, ``train.cs231n``) -> points."""
    weights: dict[str, Any]
    """Check kind -> weight within its function."""
    provided: tuple[Any, ...] = ()
    """Functions the course provides: not graded; the reference's version is used in training."""
    exclude_tags: tuple[Any, ...] = ()
    """Case tags this course's starter code cannot pass (e.g. ``non_square``, ``padded``)."""
    train: dict[str, Any] = field(default_factory=dict)
    """Training check settings: accuracy ``bands``, and the budget: ``iterations`` (of batch 64)
    and ``time_limit_s`` (a slower run is graded on what it learned by then)."""
    forbidden_imports: tuple[Any, ...] = ()
    """Modules a submission must not use."""
    family: str = ""
    """The assignment profile this rubric's function names belong to (``cs231n``); '' for any."""
    path: str = ""
    """The file it was read from."""
    step: float = 0.01
    """A function's earned points are rounded down to a multiple of this (0.01, or 1: whole points)."""
    python: str = ""
    """The interpreter the submissions' child runs under (``python = PATH``: absolute, or relative
    to the rubric's folder), e.g. a virtual environment with the numpy they were written for;
    '' the grader's own. ``--child-python`` overrides it."""

    def check_points(self, function: str) -> float:
        return float(self.points.get(function, 0.0))


def load(path: str | Path | None = None) -> Rubric:
    """Read a rubric; the default ships with the harness."""
    path = Path(path) if path else paths.DEFAULT_RUBRIC
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise RubricError(
            f"{path}: rubric file not found; pass --rubric with an existing TOML "
            f"file, or leave it out to use the default"
        ) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RubricError(f"{path}: not valid TOML ({exc})") from None
    factor = data.get("train", {}).get(TIME_BUDGET_FACTOR) if isinstance(data.get("train"), dict) else None
    if factor is not None and (
        isinstance(factor, bool) or not isinstance(factor, (int, float)) or factor <= 0
    ):
        raise RubricError(f"{path}: [train] {TIME_BUDGET_FACTOR} must be a positive number, got {factor!r}")
    try:
        points = {str(k): float(v) for k, v in data["points"].items()}
        weights = {str(k): float(v) for k, v in data.get("weights", {}).items()}
        profile = data.get("profile", {})
        train = dict(data.get("train", {}))
        for key, kind in (("iterations", int), ("time_limit_s", (int, float))):
            value = train.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, kind) or value <= 0):
                raise RubricError(f"{path}: [train] {key} must be a positive number, got {value!r}")
        return Rubric(
            name=str(data.get("name", path.stem)),
            points=points,
            weights={"fixture": 6.0, "hidden": 2.0, "gradcheck": 3.0, "properties": 1.0, **weights},
            provided=tuple(profile.get("provided", ())),
            exclude_tags=tuple(profile.get("exclude_tags", ())),
            train=train,
            forbidden_imports=tuple(data.get("forbidden_imports", ())),
            family=str(data.get("family", "")),
            path=str(path),
            step=_step(data.get("scoring", {}).get("step", 0.01), path),
            python=_python(data.get("python", ""), path),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise RubricError(
            f"{path}: malformed rubric ({exc!r}); see {paths.DEFAULT_RUBRIC} for the expected layout"
        ) from None


def _python(value: Any, path: Path) -> str:
    if not isinstance(value, str):
        raise ValueError(f"python = {value!r}: give the interpreter's path as a string")
    if not value or Path(value).is_absolute() or "/" not in value:  # '' / absolute / a name on PATH
        return value
    return str((path.parent / value).absolute())


def _step(value: Any, path: Path) -> float:
    step = float(value)
    if round(step * 100) < 1 or abs(step * 100 - round(step * 100)) > 1e-9:
        raise ValueError(f"[scoring] step = {value!r}: use a positive multiple of 0.01 (0.01, 0.5, 1)")
    return step


CENTS = 100
"""Points are shown, stored and added in hundredths."""


def score(
    rubric: Rubric,
    results: list[CheckResult],
    kinds: dict[str, str],
    gates: dict[str, tuple[str, ...]] | None = None,
) -> list[CheckResult]:
    """Give every check its max_score and score (module docstring: the rule for points).

    ``kinds`` maps check id -> kind; ``gates`` maps a qualifying check's id -> the value
    checks it is gated by (``CheckSpec.gated_by``).
    """
    gates = gates or {}
    by_id = {r.id: r for r in results}
    totals: dict[str, float] = {}
    for r in results:
        if r.status is not Status.SKIP:
            totals[r.function] = totals.get(r.function, 0.0) + rubric.weights.get(kinds.get(r.id, ""), 1.0)
    raw: dict[str, tuple[float, float]] = {}  # id -> (max, earned), unrounded
    notes: dict[str, str] = {}
    for r in results:
        if r.status is Status.SKIP or not totals.get(r.function):
            continue
        share = rubric.weights.get(kinds.get(r.id, ""), 1.0) / totals[r.function]
        max_score = rubric.check_points(r.function) * share
        earned = max_score * r.fraction  # cases that passed before a crash still count
        if gates.get(r.id):
            gate, notes[r.id] = _gate(gates[r.id], by_id)
            earned *= gate
        raw[r.id] = (max_score, earned)
    cents = _rounded(rubric, results, raw)
    scored = []
    for r in results:
        if r.id not in raw:
            scored.append(dataclasses.replace(r, score=0.0, max_score=0.0))
            continue
        got, top = cents[r.id]
        message = r.message
        if notes.get(r.id) and r.fraction and raw[r.id][1] < raw[r.id][0] * r.fraction - 1e-12:
            message = f"{message}; {notes[r.id]}"
        scored.append(dataclasses.replace(r, score=got / CENTS, max_score=top / CENTS, message=message))
    return scored


def _gate(ids: tuple[str, ...], by_id: dict[str, CheckResult]) -> tuple[float, str]:
    """The passed fraction over the value checks ``ids`` that ran, and a note for the message."""
    ran = [by_id[i] for i in ids if i in by_id and by_id[i].status is not Status.SKIP]
    passed, total = sum(r.cases_passed for r in ran), sum(r.cases_total for r in ran)
    names = " + ".join(r.id for r in ran)
    if not total:
        return 0.0, f"no points: {' / '.join(ids)} did not run, and only they show the values are right"
    return passed / total, (
        f"points scaled by {names} ({passed} of {total} cases right): "
        f"a check without expected values cannot earn more than the values show"
    )


def _rounded(
    rubric: Rubric, results: list[CheckResult], raw: dict[str, tuple[float, float]]
) -> dict[str, tuple[int, int]]:
    """Check id -> (earned, available) in hundredths: per function, totals rounded (earned down
    to ``rubric.step``), then split by largest remainder, each check within its available."""
    step = round(rubric.step * CENTS)
    functions: dict[str, list[str]] = {}
    for r in results:
        if r.id in raw:
            functions.setdefault(r.function, []).append(r.id)
    out: dict[str, tuple[int, int]] = {}
    for ids in functions.values():
        tops = _apportion([raw[i][0] * CENTS for i in ids], round(sum(raw[i][0] for i in ids) * CENTS))
        earned_total = sum(raw[i][1] for i in ids) * CENTS
        full = earned_total >= sum(tops) - 1e-6  # full marks stay full whatever the step
        target = sum(tops) if full else min(int(earned_total / step + 1e-6) * step, sum(tops))
        gots = _apportion([raw[i][1] * CENTS for i in ids], target, caps=tops)
        out.update({i: (g, t) for i, g, t in zip(ids, gots, tops)})
    return out


def _apportion(values: list[float], total: int, caps: list[int] | None = None) -> list[int]:
    """Integers adding up to ``total``, each within 1 of its value (largest remainder), never above its cap."""
    caps = caps or [10**12] * len(values)
    floors = [min(int(v + 1e-9), c) for v, c in zip(values, caps)]
    left = total - sum(floors)
    order = sorted(range(len(values)), key=lambda i: (-(values[i] - floors[i]), i))
    while left > 0:
        room = [i for i in order if floors[i] < caps[i]]
        if not room:
            break
        for i in room[:left]:
            floors[i] += 1
        left = total - sum(floors)
    while left < 0:  # values rounded up past a smaller total: take from the smallest remainders
        for i in reversed(order):
            if floors[i] > 0 and left < 0:
                floors[i] -= 1
                left += 1
    return floors


def selected(check_id: str, patterns: Sequence[str] | None) -> bool:
    """``--only`` filter: glob patterns on check ids (comma-separated lists allowed)."""
    if not patterns:
        return True
    pats = [p.strip() for pat in patterns for p in pat.split(",") if p.strip()]
    return any(fnmatch.fnmatch(check_id, p) or check_id.startswith(p + ".") for p in pats)
