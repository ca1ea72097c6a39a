"""The HTML report's parts, in pytest-html's terms: environment, summary, columns, per-check extras.

pytest-html draws the page; this module only says what goes in it, from the one result model.
The extras are plain dicts in pytest-html's format (``pytest_html.extras``) so that nothing here
imports pytest-html before pytest loads it as a plugin.
"""

from __future__ import annotations

import base64
import binascii
from html import escape

from harness.core.model import CheckResult, GradeReport
from harness.report.common import (
    AUTOGRADER_ERROR,
    counts_line,
    explanation,
    points,
    provenance_items,
    score_line,
    truncate,
)

_RED = "color:#b00020"

STYLE = """<style>
body, #results-table, .filters button, .collapse button, a, .filter { color: #1f1f1f; }
.run-count { display: none; }
.check-message { font-weight: bold; white-space: pre-wrap; }
#results-table td.col-message { white-space: normal; overflow-wrap: anywhere; }
#results-table .extra pre { white-space: pre-wrap; overflow-wrap: anywhere; }
.logwrapper:not(:has(.log)) { display: none; }
table.per-class { border-collapse: collapse; margin: 0.5em 0; }
table.per-class th, table.per-class td { padding: 3px 12px; border-bottom: 1px solid #ddd; text-align: right; }
table.per-class caption { font-weight: bold; text-align: left; padding-bottom: 4px; }
</style>"""
"""The page's own style on top of pytest-html's: dark text (pytest-html's grey #999 on white is
below WCAG AA contrast), padded tables, long messages and details wrapped to the window, no
empty log box (the log is emptied, see ``extras``), and pytest-html's "N tests took X" line
hidden, since it times the replay of verdicts, not the grade (``duration_line`` says that)."""


def title(report: GradeReport) -> str:
    return f"Grade report: {report.submission}"


def environment(report: GradeReport) -> dict:
    """The provenance, for pytest-html's Environment table (which inserts values as HTML)."""
    env: dict[str, str | dict[str, str]] = {"Submission": escape(report.submission)}
    for key, value in provenance_items(report.provenance):
        if isinstance(value, dict):
            env[key] = {escape(k): escape(v) for k, v in value.items()}
        else:
            env[key] = escape(value)
    return env


def summary(report: GradeReport) -> list[str]:
    """HTML paragraphs for the top of the Summary section: the score first."""
    parts = [
        STYLE,
        f'<p style="font-size:1.6em;font-weight:bold">{escape(score_line(report))}</p>',
        f'<p class="grade-counts">{escape(counts_line(report.checks))}; {escape(duration_line(report))}</p>',
    ]
    if report.autograder_error:
        parts.append(
            f'<div style="border:2px solid #b00020;padding:0.5em">'
            f'<p style="{_RED};font-weight:bold">{escape(AUTOGRADER_ERROR)}</p>'
            f"<pre>{escape(report.autograder_error)}</pre></div>"
        )
    if report.notices:
        items = "".join(f"<li>{escape(n)}</li>" for n in report.notices)
        parts.append(f"<p>Notes:</p><ul>{items}</ul>")
    for check in report.checks:  # figures go on the page itself: result rows start collapsed
        parts.extend(figures_section(check))
    return parts


def duration_line(report: GradeReport) -> str:
    """``graded in 88 s``: the whole grade (training included), from the provenance."""
    seconds = report.provenance.get("seconds")
    if not isinstance(seconds, (int, float)):
        seconds = sum(c.duration for c in report.checks)
    return f"graded in {seconds:.1f} s" if seconds < 10 else f"graded in {seconds:.0f} s"


def figures_section(check: CheckResult) -> list[str]:
    """A check's tables and figures as HTML blocks (the training check's report), or []."""
    tables, figures = check.extra.get("tables", ()), check.extra.get("figures", ())
    if not tables and not figures:
        return []
    parts = [f"<h3>{escape(check.id)}: {escape(check.message)}</h3>"]
    # A figure carries its title inside its image, a table usually as its caption: no heading again.
    for table in tables:
        title = "" if "<caption" in table["html"] else f"<h4>{escape(table.get('title', ''))}</h4>"
        parts.append(title + table["html"])
    for figure in figures:
        data = _png(figure.get("png_base64", ""))
        name = escape(figure.get("title") or "Figure")
        parts.append(
            f'<p style="{_RED}">Figure {name} could not be shown (not base64 PNG).</p>'
            if data is None
            else f'<p><img alt="{name}" title="{name}" style="max-width:100%" '
            f'src="data:image/png;base64,{data}"></p>'
        )
    return parts


def header_cells() -> list[str]:
    """Columns added to the results table, after the test name."""
    return [
        '<th class="sortable" data-column-type="points">Points</th>',
        '<th data-column-type="message">Message</th>',
    ]


def id_cell(check: CheckResult) -> str:
    """The test-name cell: the check id as it is (not pytest's ``group::id::setup`` node id)."""
    return f'<td class="col-testId">{escape(check.id)}</td>'


def row_cells(check: CheckResult | None) -> list[str]:
    if check is None:
        return ['<td class="col-points"></td>', '<td class="col-message"></td>']
    return [
        f'<td class="col-points">{points(check.score)} / {points(check.max_score)}</td>',
        f'<td class="col-message">{escape(check.message.strip())}</td>',
    ]


def _extra(
    content: str,
    format_type: str,
    name: str | None = None,
    mime_type: str | None = None,
    extension: str | None = None,
) -> dict:
    return {
        "name": name,
        "format_type": format_type,
        "content": content,
        "mime_type": mime_type,
        "extension": extension,
    }


def _png(data: str) -> str | None:
    """Base64 PNG data from ``png_base64`` (bare or as a data URI); None when it is not base64."""
    data = data.removeprefix("data:image/png;base64,")
    try:
        base64.b64decode(data.encode("ascii"), validate=True)
    except (binascii.Error, ValueError):
        return None
    return data


def extras(check: CheckResult) -> list[dict]:
    """What a row shows when opened, in reading order: the message, its explanation, then the
    code's output. It replaces pytest-html's log (``plugin`` empties that: the log would repeat
    the message, come after the output, and say "No log output captured" for every pass)."""
    blocks = [f'<p class="check-message">{escape(check.message.strip() or check.status.value)}</p>']
    if explanation(check):
        blocks.append(f"<pre>{escape(explanation(check))}</pre>")
    if check.output.strip():
        blocks.append(f"<h4>Output of your code</h4><pre>{escape(truncate(check.output.rstrip()))}</pre>")
    if check.extra.get("tables") or check.extra.get("figures"):
        blocks.append("<p>Figures and tables: in the summary at the top of the page.</p>")
    return [_extra("".join(blocks), "html")]
