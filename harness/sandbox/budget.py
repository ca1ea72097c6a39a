"""Time budgets of a whole grade: a wall-clock limit, and a cumulative limit per function.

Invariant: no request starts once the grade's deadline has passed, none runs past it (its
timeout is cut to the time left), and a function whose calls have used up its cumulative
budget is not called again; each refusal is a ``timeout`` reply that says which budget ran
out, so the checks still to come of that function fail with that reason while the rest
of the grade goes on. Without it, a submission whose every call takes just under the
per-call timeout holds one grade for hours (395 calls of 30 s). Used by
``harness.sandbox.process.Sandbox``; limits set from ``harness.options.Options``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

GRADESCOPE_LIMIT_S = 900.0
"""The Gradescope autograder timeout the README asks a course to set: 15 minutes (Gradescope's
default is 10, too short for the historical rubric's 540 s training budget of a slow submission)."""
DEFAULT_GRADE_LIMIT_S = GRADESCOPE_LIMIT_S - 60.0
"""The default limit of a whole grade: that timeout, less a minute for start-up and reports."""
DEFAULT_FUNCTION_BUDGET_S = 150.0
"""The default cumulative time of one function's calls: five calls at the default 30 s timeout;
the slowest correct submission of the corpus (pure loops) uses a few seconds."""


@dataclass
class Budget:
    """What is left of a grade's time, overall and per function."""

    grade_s: float | None = None
    """Wall-clock seconds of the whole grade (None: unlimited)."""
    function_s: float | None = None
    """Cumulative seconds of the calls of one function (None: unlimited)."""
    started: float = field(default_factory=time.monotonic)
    """When the grade started (``time.monotonic``)."""
    spent: dict[str, float] = field(default_factory=dict)
    """Function name -> seconds its calls took so far."""

    def left(self) -> float:
        """Seconds left of the whole grade (``inf`` when unlimited)."""
        if self.grade_s is None:
            return math.inf
        return self.grade_s - (time.monotonic() - self.started)

    def refusal(self, function: str | None = None) -> str:
        """Why no request (of ``function``) may start now, or ''."""
        if self.left() <= 0:
            return f"the grade's time limit of {self.grade_s:g} s was reached before this call (not called)"
        if function and self.function_s is not None and self.spent.get(function, 0.0) >= self.function_s:
            return (
                f"{function} used up its time budget ({self.spent[function]:.0f} s over its calls, "
                f"limit {self.function_s:g} s): not called again; make it faster"
            )
        return ""

    def clamp(self, timeout: float) -> float:
        """A request's timeout, cut to the time left of the grade."""
        return max(0.0, min(timeout, self.left()))

    def charge(self, function: str | None, seconds: float) -> None:
        """Count ``seconds`` of a request of ``function`` against its budget."""
        if function:
            self.spent[function] = self.spent.get(function, 0.0) + max(0.0, seconds)
