"""The report as plain text for a terminal: a table of checks, then failures, then the score."""

from __future__ import annotations

import textwrap

from harness.core.model import GradeReport, Status
from harness.report.common import (
    AUTOGRADER_ERROR,
    NOT_PASSED,
    counts_line,
    explanation,
    first_line,
    grouped,
    points,
    score_line,
    truncate,
)

_COLORS = {Status.PASS: "32", Status.FAIL: "31", Status.ERROR: "1;35", Status.SKIP: "33"}
_WIDTH = max(len(s.value) for s in Status)


def _paint(text: str, code: str, color: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if color else text


def _gap(lines: list[str]) -> list[str]:
    """A blank line to separate a new block, unless the last line is blank already."""
    return [""] if lines[-1] else []


def _indent(text: str, spaces: int) -> list[str]:
    return textwrap.indent(text, " " * spaces).splitlines()


def _banner(report: GradeReport, color: bool) -> list[str]:
    bar = "!" * 78
    lines = [
        bar,
        *textwrap.wrap(AUTOGRADER_ERROR, 78),
        bar,
        *_indent(report.autograder_error.rstrip(), 4),
        bar,
    ]
    return [_paint(line, "1;31", color) for line in lines]


def render(report: GradeReport, color: bool = False) -> str:
    """The whole report as text; ``color`` adds ANSI colours."""
    lines = [f"Grading {report.submission}", ""]
    if report.autograder_error:
        lines += [*_banner(report, color), ""]

    id_w = max((len(c.id) for c in report.checks), default=0)
    got_w = max((len(points(c.score)) for c in report.checks), default=0)
    max_w = max((len(points(c.max_score)) for c in report.checks), default=0)
    for group, checks in grouped(report.checks):
        lines.append(_paint(group, "1", color))
        for c in checks:
            status = _paint(c.status.value.ljust(_WIDTH), _COLORS[c.status], color)
            pts = f"{points(c.score):>{got_w}} / {points(c.max_score):<{max_w}}"
            lines.append(f"  {status}  {c.id:<{id_w}}  {pts}  {first_line(c.message)}".rstrip())

    failures = [c for c in report.checks if c.status in NOT_PASSED]
    if failures:
        lines += ["", _paint("Failures", "1", color), ""]
        for c in failures:
            head = f"{c.id} ({c.status.value}): {first_line(c.message)}"
            lines.append(_paint(head, _COLORS[c.status], color))
            lines += _indent(explanation(c), 4)
            if c.output.strip():
                lines += ["    output of your code:", *_indent(truncate(c.output.rstrip()), 6)]
            lines.append("")

    if report.notices:
        lines += [*_gap(lines), "Notes:", *(f"  - {n}" for n in report.notices)]
    lines += [*_gap(lines), counts_line(report.checks), _paint(score_line(report), "1", color)]
    if report.autograder_error:
        lines.append(_paint(AUTOGRADER_ERROR, "1;31", color))
    return "\n".join(lines) + "\n"
