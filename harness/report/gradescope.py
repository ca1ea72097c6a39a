"""The report in Gradescope's ``results.json`` format.

https://gradescope-autograders.readthedocs.io/en/latest/specs/#output-format
"""

from __future__ import annotations

from harness.core.model import CheckResult, GradeReport, Status
from harness.report.common import (
    AUTOGRADER_ERROR,
    autograder_error_check,
    counts_line,
    explanation,
    first_line,
    provenance_lines,
    score_line,
    truncate,
    without_reproduce,
)

TEST_OUTPUT_LIMIT = 10_000
"""Characters per test's output; Gradescope caps the whole file, so one check must not eat it."""


def _status(check: CheckResult) -> str:
    if check.status is Status.PASS:
        return "passed"
    if check.status is Status.SKIP and check.score >= check.max_score:
        return "passed"
    return "failed"


def _test_output(check: CheckResult) -> str:
    parts = [check.message.strip()]
    if check.status is Status.SKIP:
        parts[0] = f"Skipped: {parts[0]}" if parts[0] else "Skipped."
    # The count of cases, unless the message already gives it ("all 7 cases pass"); the
    # training check's "cases" are its credit in percent, not cases.
    if check.cases_total and "case" not in check.message and check.function != check.id:
        parts.append(f"{check.cases_passed} of {check.cases_total} cases passed.")
    body = without_reproduce(explanation(check))  # a student cannot run the grader inside Gradescope
    if body and body != check.message.strip():
        parts.append(body)
    if check.output.strip():
        parts.append("Output of your code:\n" + truncate(check.output.rstrip()))
    return truncate("\n\n".join(p for p in parts if p), TEST_OUTPUT_LIMIT)


def _test(check: CheckResult) -> dict:
    name = f"{check.id} ({check.function})" if check.function and check.function != check.id else check.id
    test = {
        "name": name,
        "score": check.score,
        "max_score": check.max_score,
        "status": _status(check),
        "output": _test_output(check),
        "output_format": "text",
        "visibility": "after_due_date" if check.hidden else "visible",
    }
    if not check.hidden:  # the numbers behind the text: the training check's metrics and curves
        data = {k: check.extra[k] for k in ("metrics", "eval_curve", "curves") if check.extra.get(k)}
        if check.numbers or data:
            test["extra_data"] = {"numbers": check.numbers, **data}
    return test


def _summary(report: GradeReport) -> str:
    parts = []
    if report.autograder_error:
        parts.append(f"{AUTOGRADER_ERROR}\n\n{report.autograder_error.rstrip()}")
    parts.append(f"{score_line(report)}\n{counts_line(report.checks)}")
    failed = [c for c in report.checks if c.status in (Status.FAIL, Status.ERROR) and not c.hidden]
    if failed:
        parts.append("Not passed:\n" + "\n".join(f"  {c.id}: {first_line(c.message)}" for c in failed))
    if report.notices:
        parts.append("Notes:\n" + "\n".join(f"  - {n}" for n in report.notices))
    parts.append("Graded with:\n" + "\n".join(f"  {line}" for line in provenance_lines(report.provenance)))
    return "\n\n".join(parts)


def render(report: GradeReport) -> dict:
    """The ``results.json`` dict; an autograder error scores 0 and says so, first."""
    tests = [_test(c) for c in report.checks]
    error = autograder_error_check(report)
    if error is not None:
        tests.insert(0, {**_test(error), "name": "Autograder error: contact staff"})
    return {
        "score": 0.0 if report.autograder_error else report.score,
        "execution_time": round(sum(c.duration for c in report.checks)),
        "output": _summary(report),
        "output_format": "text",
        "test_output_format": "text",
        "tests": tests,
    }
