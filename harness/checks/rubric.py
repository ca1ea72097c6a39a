"""Points: a TOML rubric gives each graded function its points and the course profile.

Within a function, points are split between its checks by the weight of their kind
(fixture cases, hidden cases, gradient checks, properties); a check earns its share
times the fraction of its cases that passed.
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


class RubricError(ValueError):
    """The rubric file is missing or malformed; the message says where."""


@dataclass(frozen=True)
class Rubric:
    """Points per function and the course profile."""

    name: str
    points: dict[str, Any]
    """Submission function name (or ``train.lenet``) -> points."""
    weights: dict[str, Any]
    """Check kind -> weight within its function."""
    provided: tuple[Any, ...] = ()
    """Functions the course provides: not graded; the reference's version is used in training."""
    exclude_tags: tuple[Any, ...] = ()
    """Case tags this course's starter code cannot pass (e.g. ``non_square``, ``padded``)."""
    train: dict[str, Any] = field(default_factory=dict)
    """Training check settings: accuracy bands and budget."""
    forbidden_imports: tuple[Any, ...] = ()
    """Modules a submission must not use."""
    path: str = ""

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
    try:
        points = {str(k): float(v) for k, v in data["points"].items()}
        weights = {str(k): float(v) for k, v in data.get("weights", {}).items()}
        profile = data.get("profile", {})
        return Rubric(
            name=str(data.get("name", path.stem)),
            points=points,
            weights={"fixture": 6.0, "hidden": 2.0, "gradcheck": 3.0, "properties": 1.0, **weights},
            provided=tuple(profile.get("provided", ())),
            exclude_tags=tuple(profile.get("exclude_tags", ())),
            train=dict(data.get("train", {})),
            forbidden_imports=tuple(data.get("forbidden_imports", ())),
            path=str(path),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise RubricError(
            f"{path}: malformed rubric ({exc!r}); see {paths.DEFAULT_RUBRIC} for the expected layout"
        ) from None


def score(rubric: Rubric, results: list[CheckResult], kinds: dict[str, str]) -> list[CheckResult]:
    """Give every check its max_score and score. ``kinds`` maps check id -> kind."""
    totals: dict[str, float] = {}
    for r in results:
        if r.status is not Status.SKIP:
            totals[r.function] = totals.get(r.function, 0.0) + rubric.weights.get(kinds.get(r.id, ""), 1.0)
    scored = []
    for r in results:
        if r.status is Status.SKIP or not totals.get(r.function):
            scored.append(dataclasses.replace(r, score=0.0, max_score=0.0))
            continue
        share = rubric.weights.get(kinds.get(r.id, ""), 1.0) / totals[r.function]
        max_score = rubric.check_points(r.function) * share
        earned = max_score * r.fraction  # cases that passed before a crash still count
        scored.append(dataclasses.replace(r, score=earned, max_score=max_score))
    return scored


def selected(check_id: str, patterns: Sequence[str] | None) -> bool:
    """``--only`` filter: glob patterns on check ids (comma-separated lists allowed)."""
    if not patterns:
        return True
    pats = [p.strip() for pat in patterns for p in pat.split(",") if p.strip()]
    return any(fnmatch.fnmatch(check_id, p) or check_id.startswith(p + ".") for p in pats)
