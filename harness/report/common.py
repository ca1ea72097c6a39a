"""Wording and formatting shared by every renderer: points, groups, provenance, the autograder error."""

from __future__ import annotations

import json

from harness.core.model import CheckResult, GradeReport, Status

AUTOGRADER_ERROR = (
    "Autograder error: the grader itself failed, so this is not a grade of your work. "
    "Please contact the course staff and include this report."
)
"""What a student reads when the harness, not their submission, failed."""

AUTOGRADER_ERROR_SHORT = "autograder error, contact staff"
"""The same, where only a few words fit (a score line, a test name)."""

AUTOGRADER_ERROR_ID = "autograder.error"
"""Id of the synthetic check that carries an autograder error into per-check reports."""

OUTPUT_LIMIT = 2000
"""Characters of a submission's own output shown per check; the rest is cut."""

NOT_PASSED = (Status.FAIL, Status.ERROR)

REPRODUCE = "reproduce: "
"""Starts the line of a check's details that reruns just that check (``python -m harness grade ...``)."""


def without_reproduce(text: str) -> str:
    """``text`` without its reproduce lines: for readers who cannot run the grader (Gradescope)."""
    return "\n".join(line for line in text.splitlines() if not line.strip().startswith(REPRODUCE))


def points(x: float) -> str:
    """``10.0`` -> ``10``, ``87.5`` -> ``87.5``, ``1/3`` -> ``0.33``."""
    text = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def score_line(report: GradeReport) -> str:
    """``Score: 87.5 / 100``; never a bare number when the harness failed."""
    if report.autograder_error:
        return f"Score: not available ({AUTOGRADER_ERROR_SHORT})"
    return f"Score: {points(report.score)} / {points(report.max_score)}"


def group_of(check_id: str) -> str:
    """The id's first part: ``backward.conv.w`` -> ``backward``."""
    return check_id.split(".", 1)[0]


def grouped(checks) -> list[tuple[str, list[CheckResult]]]:
    """Checks by group, groups in order of first appearance, checks in catalogue order."""
    groups: dict[str, list[CheckResult]] = {}
    for check in checks:
        groups.setdefault(group_of(check.id), []).append(check)
    return list(groups.items())


def first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def explanation(check: CheckResult) -> str:
    """The details, plus the hint when the details do not already carry it."""
    details = check.details.rstrip()
    if check.hint and check.hint not in details:
        hint = f"hint (likely cause): {check.hint}"
        details = f"{details}\n{hint}" if details else hint
    return details


def truncate(text: str, limit: int = OUTPUT_LIMIT) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\n... [{len(text) - limit} more characters cut]"


def counts(checks) -> dict[Status, int]:
    found = {status: 0 for status in Status}
    for check in checks:
        found[check.status] += 1
    return found


def counts_line(checks) -> str:
    """``8 passed, 1 failed, 1 error, 0 skipped``."""
    n = counts(checks)
    return (
        f"{n[Status.PASS]} passed, {n[Status.FAIL]} failed, "
        f"{n[Status.ERROR]} error{'s' if n[Status.ERROR] != 1 else ''}, {n[Status.SKIP]} skipped"
    )


def _value(value) -> str:
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def provenance_items(provenance: dict) -> list[tuple[str, str | dict[str, str]]]:
    """Provenance flattened for display: scalars as text, one level of nesting kept as a dict."""
    items: list[tuple[str, str | dict[str, str]]] = []
    for key, value in provenance.items():
        if isinstance(value, dict):
            items.append((str(key), {str(k): _value(v) for k, v in value.items()}))
        else:
            items.append((str(key), _value(value)))
    return items


def provenance_lines(provenance: dict) -> list[str]:
    """``key: value`` per entry, nested dicts as ``k=v, k=v``."""
    lines = []
    for key, value in provenance_items(provenance):
        if isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items())
        lines.append(f"{key}: {value}")
    return lines


def autograder_error_check(report: GradeReport) -> CheckResult | None:
    """The autograder error as a check, for reports made of checks (JUnit, HTML, Gradescope tests)."""
    if not report.autograder_error:
        return None
    return CheckResult(
        id=AUTOGRADER_ERROR_ID, status=Status.ERROR, message=AUTOGRADER_ERROR, details=report.autograder_error
    )


def json_default(value):
    """Make numpy scalars and arrays (and anything else) JSON-friendly instead of failing."""
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)
