"""The report as GitHub-flavoured markdown (a CI job summary, a PR comment)."""

from __future__ import annotations

import html
import os
from pathlib import Path

from harness.core.model import GradeReport, Status
from harness.report.common import (
    AUTOGRADER_ERROR,
    NOT_PASSED,
    counts_line,
    explanation,
    first_line,
    points,
    provenance_lines,
    score_line,
    truncate,
)

ICONS = {Status.PASS: "✅", Status.FAIL: "❌", Status.ERROR: "❌", Status.SKIP: "⏭️"}


def _cell(text: str) -> str:
    """One table cell: one line, pipes escaped, HTML inert."""
    return html.escape(first_line(text), quote=False).replace("|", "\\|")


def _fenced(text: str) -> str:
    """A code block whose fence no backtick run in ``text`` can close."""
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}text\n{text.rstrip()}\n{fence}"


def render(report: GradeReport) -> str:
    """Summary table, failures in ``<details>`` blocks, provenance footer."""
    out = [f"## Grade for `{report.submission}`: {score_line(report).removeprefix('Score: ')}", ""]
    if report.autograder_error:
        out += [
            "> [!CAUTION]",
            f"> **{AUTOGRADER_ERROR}**",
            "",
            "<details><summary>Autograder error (for staff)</summary>",
            "",
            _fenced(report.autograder_error),
            "",
            "</details>",
            "",
        ]

    out += ["| | Check | Points | Result |", "|:-:|---|--:|---|"]
    for c in report.checks:
        out.append(
            f"| {ICONS[c.status]} | `{c.id}` | {points(c.score)} / {points(c.max_score)} "
            f"| {c.status.value}: {_cell(c.message)} |"
        )
    out += ["", f"{counts_line(report.checks)}. **{score_line(report)}**", ""]

    failures = [c for c in report.checks if c.status in NOT_PASSED]
    if failures:
        out += ["### Not passed", ""]
    for c in failures:
        body = explanation(c)
        if c.output.strip():
            body += "\n\noutput of your code:\n" + truncate(c.output.rstrip())
        out += [
            f"<details><summary><code>{html.escape(c.id)}</code>: {html.escape(first_line(c.message))}"
            "</summary>",
            "",
            _fenced(body or c.message),
            "",
            "</details>",
            "",
        ]

    if report.notices:
        out += ["### Notes", "", *(f"- {n}" for n in report.notices), ""]
    footer = " · ".join(html.escape(line) for line in provenance_lines(report.provenance))
    out += ["---", f"<sub>{footer}</sub>", ""]
    return "\n".join(out)


def append_step_summary(text: str) -> Path | None:
    """Append ``text`` to ``$GITHUB_STEP_SUMMARY`` when set; the file it went to, else None."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    path = Path(target)
    with path.open("a", encoding="utf-8") as f:
        f.write(text if text.endswith("\n") else text + "\n")
    return path
