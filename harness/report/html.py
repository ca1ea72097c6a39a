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
    NOT_PASSED,
    counts_line,
    explanation,
    points,
    provenance_items,
    score_line,
    truncate,
)

_RED = "color:#b00020"


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
        f'<p style="font-size:1.6em;font-weight:bold">{escape(score_line(report))}</p>',
        f"<p>{escape(counts_line(report.checks))}</p>",
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


def figures_section(check: CheckResult) -> list[str]:
    """A check's tables and figures as HTML blocks (the training check's report), or []."""
    tables, figures = check.extra.get("tables", ()), check.extra.get("figures", ())
    if not tables and not figures:
        return []
    parts = [f"<h3>{escape(check.id)}: {escape(check.message)}</h3>"]
    for table in tables:
        parts.append(f"<h4>{escape(table.get('title', ''))}</h4>{table['html']}")
    for figure in figures:
        data = _png(figure.get("png_base64", ""))
        name = escape(figure.get("title") or "Figure")
        parts.append(
            f'<p style="{_RED}">Figure {name} could not be shown (not base64 PNG).</p>'
            if data is None
            else f'<h4>{name}</h4><img alt="{name}" style="max-width:100%" '
            f'src="data:image/png;base64,{data}">'
        )
    return parts


def header_cells() -> list[str]:
    """Columns added to the results table, after the test name."""
    return [
        '<th class="sortable" data-column-type="points">Points</th>',
        '<th data-column-type="message">Message</th>',
    ]


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
    """Per-check extras: explanation and the code's output, tables (HTML), figures (PNG images)."""
    blocks = []
    # A failure's explanation is already the row's log (the pytest failure text); don't repeat it.
    if check.status not in NOT_PASSED and explanation(check):
        blocks.append(f"<h4>Details</h4><pre>{escape(explanation(check))}</pre>")
    if check.output.strip():
        blocks.append(f"<h4>Output of your code</h4><pre>{escape(truncate(check.output.rstrip()))}</pre>")
    if check.extra.get("tables") or check.extra.get("figures"):
        blocks.append("<p>Figures and tables: in the summary at the top of the page.</p>")
    return [_extra("".join(blocks), "html")] if blocks else []
