"""Points in the forms GitHub Classroom's autograding reads.

Written from the documentation and the source of GitHub's autograding actions as they were
known when this was written (no network here to re-check); see ``docs/deployment.md``:

* the ``result`` step output of ``classroom-resources/autograding-command-grader@v1``: base64
  of ``{"version": 1, "status": "pass"|"fail"|"error", "max_score": N, "tests": [...]}``;
  ``classroom-resources/autograding-grading-reporter@v1`` reads it from the environment
  variable ``<STEP_ID>_RESULTS``, adds up the tests' scores, and posts ``Points X/Y`` on the
  check run, which is where Classroom takes the grade from;
* the line ``Points X/Y`` itself, as the older ``education/autograding`` action wrote it.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

from harness.core.model import GradeReport, Status
from harness.report.common import NOT_PASSED, first_line, points

COMMAND = "python -m harness ci"
"""What the tests' ``test_code`` says ran them."""


def points_line(report: GradeReport) -> str:
    """``Points 61.5/100``: an autograder error scores 0, never the partial sum."""
    score = 0.0 if report.autograder_error else report.score
    return f"Points {points(score)}/{points(report.max_score)}"


def result(report: GradeReport) -> dict:
    """The command grader's result: one test per graded function (and the training check)."""
    groups: dict[str, list] = {}
    for check in report.checks:
        if check.status is not Status.SKIP:
            groups.setdefault(check.function or check.id, []).append(check)
    tests = []
    for name, checks in groups.items():
        failed = [c for c in checks if c.status in NOT_PASSED]
        visible = [c for c in failed if not c.hidden]
        message = "; ".join(f"{c.id}: {first_line(c.message)}" for c in visible[:3]) or "all checks passed"
        tests.append(
            {
                "name": name,
                "status": "fail" if failed else "pass",
                "score": round(sum(c.score for c in checks), 2),
                "max_score": round(sum(c.max_score for c in checks), 2),
                "message": message,
                "test_code": COMMAND,
                "filename": "",
                "line_no": 0,
                "execution_time": f"{sum(c.duration for c in checks):.1f}s",
            }
        )
    if report.autograder_error:
        status = "error"
        for t in tests:
            t["score"] = 0
        tests.insert(
            0,
            {
                "name": "autograder error",
                "status": "error",
                "score": 0,
                "message": first_line(report.autograder_error),
                "test_code": COMMAND,
                "filename": "",
                "line_no": 0,
                "execution_time": "0s",
            },
        )
    else:
        status = "fail" if any(t["status"] == "fail" for t in tests) else "pass"
    return {"version": 1, "status": status, "max_score": round(report.max_score, 2), "tests": tests}


def encoded(report: GradeReport) -> str:
    """``result`` as the command grader's step output carries it: base64 of the JSON."""
    return base64.b64encode(json.dumps(result(report)).encode()).decode("ascii")


def set_outputs(values: dict[str, str]) -> Path | None:
    """Append ``name=value`` lines to ``$GITHUB_OUTPUT`` when set; the file, else None."""
    target = os.environ.get("GITHUB_OUTPUT")
    if not target:
        return None
    path = Path(target)
    with path.open("a", encoding="utf-8") as f:
        for name, value in values.items():
            f.write(f"{name}={' '.join(str(value).split())}\n")
    return path
