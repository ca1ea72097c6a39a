"""The class report: one self-contained HTML page about a bulk run.

Score histogram, pass rate per check, the most common likely causes, the slowest
submissions, the submissions that could not be graded, and every student with a link to
their own report. Figures are matplotlib (Agg, object-oriented API) PNGs embedded as base64;
no script, no external resource. Everything a student wrote (names, messages) is escaped.
"""

from __future__ import annotations

import base64
import io
import os
import re
import statistics
from collections import Counter
from datetime import datetime, timezone
from html import escape
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from harness import __version__, profiles
from harness.core.model import CheckResult, Status
from harness.deploy import FLAG_PREFIX
from harness.deploy.gradebook import Row, columns
from harness.diagnose import legacy
from harness.report.common import NOT_PASSED, first_line, points

TOP = 10
"""Rows of the 'slowest' and 'likely causes' tables."""

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:72em;color:#222;padding:0 1em}
h1{margin-bottom:.2em} h2{margin-top:1.8em;border-bottom:1px solid #ddd;padding-bottom:.2em}
.meta{color:#555} .cards{display:flex;gap:1em;flex-wrap:wrap;margin:1em 0}
.card{border:1px solid #ddd;border-radius:6px;padding:.6em 1em;min-width:8em}
.card b{display:block;font-size:1.6em} .bad{color:#b00020} .ok{color:#1b7f3b}
table{border-collapse:collapse;margin:.5em 0;font-size:.95em;max-width:100%} th,td{padding:.25em .7em;text-align:left;vertical-align:top}
th{background:#f4f4f4} tr:nth-child(even) td{background:#fafafa} td.num{text-align:right;font-variant-numeric:tabular-nums}
.bar{display:inline-block;height:.8em;background:#4c9f70;vertical-align:middle} .barbg{display:inline-block;width:8em;background:#eee}
.causes td:nth-child(2){min-width:24em} td.num{white-space:nowrap} img{max-width:100%} code{font-size:.95em} footer{margin-top:3em;color:#777;font-size:.85em}
"""


def _table(head: list[str], rows: list[list[str]], numeric: tuple[int, ...] = (), cls: str = "") -> str:
    """Cells are HTML already (escape before)."""
    attr = f' class="{cls}"' if cls else ""
    out = [f"<table{attr}><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"]
    for row in rows:
        out.append(
            "<tr>"
            + "".join(
                f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>" for i, c in enumerate(row)
            )
            + "</tr>"
        )
    return "\n".join(out) + "</table>"


def new_figure(width: float, height: float) -> Figure:
    """A figure drawn by the Agg canvas: no display, pyplot's global state untouched."""
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def png_base64(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _some(items: list[str], n: int) -> str:
    """The first ``n`` items, comma-separated, and how many more."""
    more = f" and {len(items) - n} more" if len(items) > n else ""
    return ", ".join(items[:n]) + more


def _short(text: str, limit: int = 90) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _img(png: str, alt: str) -> str:
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{png}">'


# -- the numbers -------------------------------------------------------------------------------


def pass_rates(rows: list[Row]) -> list[tuple[str, int, int]]:
    """(check id, students who passed it, students who ran it), in catalogue order."""
    order: dict[str, list[int]] = {}
    for row in rows:
        if row.result is not None:
            for c in row.result.checks:
                if c.status is not Status.SKIP:
                    tally = order.setdefault(c.id, [0, 0])
                    tally[0] += c.status is Status.PASS
                    tally[1] += 1
    return [(cid, p, n) for cid, (p, n) in order.items()]


_ERRORS = (
    ("not implemented", "not implemented yet"),
    ("timed out", "a call timed out (an endless loop, or far too slow)"),
    ("killed by", "the process was killed (out of memory, or a crash)"),
    ("exited with status", "the code exits the process"),
    ("does not compile", "a module does not compile"),
    ("is not defined in the submission", "not implemented yet"),
)
_NUMBER = re.compile(r"\(case [^)]*\)|[-+]?\d[\d.]*(e[-+]?\d+)?|'[^']*'")


def cause(check: CheckResult) -> str:
    """The check's likely cause: its hint, else the kind of error (the exception's type, a
    timeout, a compile error...), else the kind of failure its message names with the numbers
    taken out, so that every failure is counted somewhere (a list returned, a shape...)."""
    if check.hint:
        return legacy.summary(check.hint) or check.hint  # old code: one cause per idiom, not per line
    if check.status not in NOT_PASSED or is_flag(check):  # flags have a section of their own
        return ""
    if legacy.summary(check.message):
        return f"error: {legacy.summary(check.message)}"
    raised = re.search(r"raised (\w+)", check.message)
    if raised:
        return f"error: raises {raised.group(1)}"
    for needle, text in _ERRORS:
        if needle in check.message:
            return f"error: {text}"
    kind = check.message.rsplit(": ", 1)[-1] if ": " in check.message else check.message
    kind = _NUMBER.sub("N", kind).strip()
    return f"no likely cause found: {kind[:120]}" if kind else ""


def causes(rows: list[Row]) -> list[tuple[str, set, set]]:
    """(likely cause, students, check ids), the cause most students share first."""
    found: dict[str, tuple[set, set]] = {}
    for row in rows:
        if row.result is not None:
            for c in row.result.checks:
                if c.status in NOT_PASSED and cause(c):
                    students, ids = found.setdefault(cause(c), (set(), set()))
                    students.add(row.student)
                    ids.add(c.id)
    return sorted(((h, s, i) for h, (s, i) in found.items()), key=lambda t: (-len(t[1]), t[0]))


def flags(rows: list[Row]) -> list[tuple[str, CheckResult]]:
    """(student, check) for every check that flags a submission for a person to review."""
    return [
        (row.student, c)
        for row in sorted(rows, key=lambda r: r.student.lower())
        if row.result is not None
        for c in row.result.checks
        if is_flag(c)
    ]


def is_flag(check: CheckResult) -> bool:
    return check.status in NOT_PASSED and check.message.startswith(FLAG_PREFIX)


# -- the figures -------------------------------------------------------------------------------


def histogram(scores: list[float], max_score: float) -> str:
    fig = new_figure(7.0, 3.0)
    ax = fig.add_subplot()
    bins = max(5, min(20, int(max_score) or 10))
    ax.hist(scores, bins=bins, range=(0, max_score or 1), color="#4c78a8", edgecolor="white")
    for value, style, label in (
        (statistics.mean(scores), "--", "mean"),
        (statistics.median(scores), ":", "median"),
    ):
        ax.axvline(value, color="#333", linestyle=style, label=f"{label} {points(value)}")
    ax.set_xlabel(f"points (of {points(max_score)})")
    ax.set_ylabel("students")
    locator = ax.yaxis.get_major_locator()
    if isinstance(locator, MaxNLocator):  # the default AutoLocator is one
        locator.set_params(integer=True)
    ax.legend(frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return png_base64(fig)


def pass_rate_chart(rates: list[tuple[str, int, int]]) -> str:
    fig = new_figure(7.0, 0.6 + 0.22 * len(rates))
    ax = fig.add_subplot()
    ids = [cid for cid, _, _ in rates][::-1]
    values = [100.0 * p / n for _, p, n in rates][::-1]
    colors = ["#1b7f3b" if v >= 80 else "#e0a100" if v >= 50 else "#b00020" for v in values]
    ax.barh(range(len(ids)), values, color=colors, height=0.7)
    ax.set_yticks(range(len(ids)), ids, fontsize=8, family="monospace")
    ax.set_xlim(0, 100)
    ax.set_xlabel("students passing (%)")
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_ylim(-0.6, len(ids) - 0.4)
    return png_base64(fig)


# -- the page ----------------------------------------------------------------------------------


def _link(row: Row, out_dir: Path | None) -> str:
    if not row.report_dir:
        return ""
    for name in ("report.html", "summary.md", "report.json", "grader.log"):
        if out_dir is None or (out_dir / row.report_dir / name).is_file():
            href = "/".join(escape(part, quote=True) for part in f"{row.report_dir}/{name}".split("/"))
            return f'<a href="{href}">{escape(name)}</a>'
    return ""


def render(
    rows: list[Row],
    meta: dict | None = None,
    profile: str = profiles.DEFAULT,
    out_dir: Path | None = None,
    similar=(),
) -> str:
    """The page; ``out_dir`` (where it is written) lets links point only at files that exist;
    ``similar`` the near-identical pairs (``similarity.Pair``)."""
    graded = [r.result for r in rows if r.result is not None]
    failed = [r for r in rows if not r.graded]
    scores = [report.score for report in graded]
    max_score = Counter(report.max_score for report in graded).most_common(1)[0][0] if graded else 0.0
    parts = [
        "<h1>Class report</h1>",
        f'<p class="meta">{escape(str((meta or {}).get("folder", "")))} &middot; generated '
        f"{datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} &middot; harness {escape(__version__)}</p>",
    ]
    cards = [
        ("submissions", str(len(rows)), ""),
        ("graded", str(len(graded)), "ok"),
        ("not graded", str(len(failed)), "bad" if failed else ""),
    ]
    if scores:
        cards += [
            ("mean", f"{points(statistics.mean(scores))} / {points(max_score)}", ""),
            ("median", points(statistics.median(scores)), ""),
            ("full marks", str(sum(s >= max_score - 1e-9 for s in scores)), ""),
        ]
    parts.append(
        '<div class="cards">'
        + "".join(
            f'<div class="card"><b class="{cls}">{escape(v)}</b>{escape(k)}</div>' for k, v, cls in cards
        )
        + "</div>"
    )

    parts.append("<h2>Scores</h2>")
    if scores:
        parts.append(_img(histogram(scores, max_score), "histogram of the students' scores"))
        head = ["group", "mean", "max", "students with full marks"]
        body = []
        for col in columns(rows, profile):
            # over the students graded on this group: a student of another family has none of its
            # checks (its own column when the class mixes families), which is no 0
            mine = [checks for checks in (col.checks(r, profile) for r in rows) if checks]
            got = [sum(c.score for c in checks) for checks in mine]
            top = max((sum(c.max_score for c in checks) for checks in mine), default=0.0)
            body.append(
                [
                    f"<code>{escape(col.name)}</code>",
                    points(statistics.mean(got)),
                    points(top),
                    str(sum(x >= top - 1e-9 for x in got)),
                ]
            )
        parts.append(_table(head, body, numeric=(1, 2, 3)))
    else:
        parts.append("<p>No submission was graded.</p>")

    rates = pass_rates(rows)
    parts.append("<h2>Pass rate per check</h2>")
    if rates:
        parts.append(_img(pass_rate_chart(rates), "share of students passing each check"))
        worst = sorted(rates, key=lambda t: (t[1] / t[2], t[0]))
        body = [
            [
                f"<code>{escape(cid)}</code>",
                f"{p} / {n}",
                f'<span class="barbg"><span class="bar" style="width:{100 * p / n:.0f}%"></span></span> '
                f"{100 * p / n:.0f}%",
            ]
            for cid, p, n in worst
        ]
        parts.append(
            "<details><summary>As a table, hardest first</summary>"
            + _table(["check", "passed", "rate"], body, numeric=(1,))
            + "</details>"
        )

    parts.append("<h2>Most common likely causes</h2>")
    found = causes(rows)
    if found:
        body = [
            [
                str(len(s)),
                escape(h),
                _some([f"<code>{escape(i)}</code>" for i in sorted(ids)], 4),
                _some([escape(name) for name in sorted(s)], 8),
            ]
            for h, s, ids in found[:TOP]
        ]
        parts.append(
            _table(
                ["students", "likely cause (hint, or kind of error)", "checks", "who"],
                body,
                numeric=(0,),
                cls="causes",
            )
        )
    else:
        parts.append("<p>No failing check came with a likely cause.</p>")

    parts.append("<h2>Flagged for review</h2>")
    flagged = flags(rows)
    if flagged:
        parts.append(
            _table(
                ["student", "check", "flag"],
                [
                    [escape(name), f"<code>{escape(c.id)}</code>", escape(first_line(c.message))]
                    for name, c in flagged
                ],
            )
        )
    else:
        parts.append("<p>No submission was flagged.</p>")

    parts.append("<h2>Near-identical submissions</h2>")
    if similar:
        parts.append(
            "<p>Graded functions alike up to names, comments and formatting; a person decides, "
            "nothing was deducted.</p>"
            + _table(
                ["students", "near-identical code", "functions"],
                [
                    [
                        f"{escape(p.a)} &amp; {escape(p.b)}",
                        f"{p.share:.0%}",
                        _some([f"<code>{escape(f)}</code>" for f in p.functions], 9),
                    ]
                    for p in similar
                ],
                numeric=(1,),
            )
        )
    else:
        parts.append("<p>No pair of submissions is near-identical.</p>")

    parts.append("<h2>Slowest submissions</h2>")
    slow = sorted((r for r in rows if r.seconds), key=lambda r: -r.seconds)[:TOP]
    if slow:
        parts.append(
            _table(
                ["student", "seconds", "score"],
                [
                    [
                        escape(r.student),
                        f"{r.seconds:.1f}",
                        points(r.result.score) if r.result is not None else "not graded",
                    ]
                    for r in slow
                ],
                numeric=(1,),
            )
        )
    else:
        parts.append("<p>No submission reached the grader.</p>")

    parts.append("<h2>Failures to grade</h2>")
    if failed:
        parts.append(
            _table(
                ["student", "source", "reason", "report"],
                [
                    [
                        escape(r.student),
                        escape(os.path.basename(r.source)),
                        escape(r.reason or "not graded"),
                        _link(r, out_dir),
                    ]
                    for r in failed
                ],
            )
        )
    else:
        parts.append('<p class="ok">None: every submission was graded.</p>')

    parts.append("<h2>Students</h2>")
    body = []
    for r in sorted(rows, key=lambda r: r.student.lower()):
        result = r.result
        score = f"{points(result.score)} / {points(result.max_score)}" if result else "not graded"
        bad = sum(c.status in NOT_PASSED for c in result.checks) if result else 0
        body.append(
            [
                escape(r.student),
                score,
                str(bad) if r.graded else "",
                escape(_short(first_line(r.reason)))
                if not r.graded
                else ("graded earlier" if r.reused else ""),
                _link(r, out_dir),
            ]
        )
    parts.append(_table(["student", "score", "checks not passed", "note", "report"], body, numeric=(1, 2)))

    prov = next((report.provenance for report in graded), {})
    footer = [f"{escape(str(k))}: {escape(str(v))}" for k, v in (meta or {}).items() if k != "folder"]
    footer += [
        f"{k}: {escape(str(prov[k]))}"
        for k in ("rubric", "fixtures_version", "fixtures_sha256", "python", "numpy")
        if k in prov
    ]
    parts.append("<footer>" + " &middot; ".join(footer) + "</footer>")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Class report</title>'
        f"<style>{CSS}</style></head><body>\n" + "\n".join(parts) + "\n</body></html>\n"
    )


def write(
    rows: list[Row],
    path: str | Path,
    meta: dict | None = None,
    profile: str = profiles.DEFAULT,
    similar=(),
) -> Path:
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(render(rows, meta, profile, out_dir=path.parent, similar=similar), encoding="utf-8")
    os.replace(tmp, path)
    return path
