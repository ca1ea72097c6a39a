"""The result model: plain dataclasses that every report is rendered from."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Status(str, Enum):
    PASS = "PASS"
    FAIL = "FAIL"  # the submission ran and gave a wrong answer
    ERROR = "ERROR"  # the submission crashed, timed out, was killed or is not implemented
    SKIP = "SKIP"  # not run (provided by the course profile, filtered out by --only, ...)


@dataclass(frozen=True)
class CheckResult:
    """The verdict on one check."""

    id: str
    """Stable dotted id, e.g. ``forward.conv``, ``backward.conv.w``, ``train.lenet``."""
    status: Status
    """PASS, FAIL, ERROR (crash, timeout, not implemented) or SKIP."""
    score: float = 0.0
    """Points earned."""
    max_score: float = 0.0
    """Points available."""
    message: str = ""
    """One line for the student: what failed, or what passed."""
    details: str = ""
    """The full explanation: facts in a fixed order, the hint, the reproduce line."""
    hint: str = ""
    """Likely cause, a guess: empty when no hypothesis fits."""
    function: str = ""
    """The submission's function under test, e.g. ``conv_layer_forward``."""
    cases_passed: int = 0
    """Cases that passed."""
    cases_total: int = 0
    """Cases run."""
    numbers: dict[str, Any] = field(default_factory=dict)
    """Numeric details: max abs/rel error, mismatched count, worst index, tolerances, seed."""
    output: str = ""
    """The submission's own stdout/stderr during the check, truncated."""
    hidden: bool = False
    """A hidden case: shown to students only after the due date, never with expected values."""
    duration: float = 0.0
    """Seconds the check took."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Check-specific payload for the reports (e.g. training curves, figures as data URIs)."""

    @property
    def fraction(self) -> float:
        return self.cases_passed / self.cases_total if self.cases_total else 0.0

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["status"] = self.status.value
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CheckResult:
        return cls(**{**d, "status": Status(d["status"])})


@dataclass(frozen=True)
class GradeReport:
    """Everything a grading run produced."""

    submission: str
    """The submission's path as given."""
    checks: tuple[CheckResult, ...]
    """Every check, in catalogue order."""
    provenance: dict[str, Any]
    """Harness and fixtures versions, seeds, tolerances, Python/numpy/BLAS versions, time."""
    autograder_error: str = ""
    """Set when the harness itself failed: the reason and traceback, for staff."""
    notices: tuple[str, ...] = ()
    """Things the reader should know (functions provided by the profile, flags for review, ...)."""

    @property
    def score(self) -> float:
        return round(sum(c.score for c in self.checks), 2)  # checks carry hundredths (rubric.score)

    @property
    def max_score(self) -> float:
        return round(sum(c.max_score for c in self.checks), 2)

    @property
    def exit_code(self) -> int:
        """0 all passed, 1 graded with failures, 2 the harness could not grade."""
        if self.autograder_error:
            return 2
        bad = any(c.status in (Status.FAIL, Status.ERROR) for c in self.checks)
        return 1 if bad else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "submission": self.submission,
            "score": self.score,
            "max_score": self.max_score,
            "provenance": self.provenance,
            "autograder_error": self.autograder_error,
            "notices": list(self.notices),
            "checks": [c.to_dict() for c in self.checks],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GradeReport:
        return cls(
            submission=d["submission"],
            provenance=d["provenance"],
            checks=tuple(CheckResult.from_dict(c) for c in d["checks"]),
            autograder_error=d.get("autograder_error", ""),
            notices=tuple(d.get("notices", ())),
        )
