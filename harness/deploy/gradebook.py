"""The class's gradebook: one CSV row per student, one column per check group, the total.

The first row under the header is ``(maximum)``: the points each column is out of.

A check group is the graded function a check belongs to (``conv_layer_forward``, ...) or,
for checks of no function, the check's id (``train.lenet``). A student who could not be
graded gets empty points and the reason in ``status``: never a silent zero.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from pathlib import Path

from harness import profiles
from harness.core.model import GradeReport
from harness.deploy import FLAG_PREFIX
from harness.report.common import first_line, points

FIXED = ("student", "status", "total", "max_total")
TRAILING = ("flags", "seconds", "report")
MAXIMUM = "(maximum)"
"""The ``student`` cell of the row under the header that gives each column's maximum."""
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Row:
    """What the gradebook and the class report know about one student."""

    student: str
    """The submission's name: its folder, or its zip file without ``.zip``."""
    source: str
    """The folder or zip graded."""
    report: GradeReport | None
    """The grade, or None when there is none."""
    reason: str = ""
    """Why there is no grade (unreadable zip, timeout, autograder error), for the instructor."""
    seconds: float = 0.0
    """Wall-clock seconds of the grading process."""
    report_dir: str = ""
    """The student's report folder, relative to the bulk output folder."""
    reused: bool = False
    """Graded by an earlier run and unchanged since: not graded again."""

    @property
    def graded(self) -> bool:
        """A report came back and it grades the submission (no autograder error, no reason not to)."""
        return self.result is not None

    @property
    def result(self) -> GradeReport | None:
        """The report when the submission was graded, else None (``report`` may hold an autograder error)."""
        if self.report is None or self.report.autograder_error or self.reason:
            return None
        return self.report


def group_of(check) -> str:
    return check.function or check.id


def groups(rows: list[Row], profile: str = profiles.DEFAULT) -> list[str]:
    """Column names: the profile's functions in their order, then any other group as first seen."""
    seen: dict[str, None] = {}
    for row in rows:
        if row.result is not None:
            for check in row.result.checks:
                if check.max_score or check.score:
                    seen.setdefault(group_of(check), None)
    order = [f for f in profiles.get(profile).FUNCTIONS.values() if f in seen]
    return order + [g for g in seen if g not in order]


def _safe(text: str) -> str:
    """A cell a spreadsheet will not run as a formula (student names are student input)."""
    return "'" + text if text.startswith(_FORMULA) else text


def maxima(rows: list[Row], columns: list[str]) -> dict[str, float]:
    """Each column's points available (the largest over the graded students), and the total's."""
    top: dict[str, float] = {}
    for row in rows:
        report = row.result
        if report is not None:
            per: dict[str, float] = {}
            for check in report.checks:
                per[group_of(check)] = per.get(group_of(check), 0.0) + check.max_score
            for c in columns:
                top[c] = max(top.get(c, 0.0), per.get(c, 0.0))
            top["total"] = max(top.get("total", 0.0), report.max_score)
    return top


def render(rows: list[Row], profile: str = profiles.DEFAULT, similar=()) -> str:
    """The CSV: a header, the ``MAXIMUM`` row (each column's points available), one row per student.

    ``similar``: ``similarity.Pair``s; each student of a pair gets ``similar:<other>`` in ``flags``.
    """
    columns = groups(rows, profile)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([*FIXED, *columns, *TRAILING])
    top = maxima(rows, columns)
    if top:
        total = points(top["total"])
        writer.writerow([MAXIMUM, "maximum", total, total, *(points(top[c]) for c in columns), "", "", ""])
    alike: dict[str, list[str]] = {}
    for pair in similar:
        alike.setdefault(pair.a, []).append(f"similar:{pair.b}")
        alike.setdefault(pair.b, []).append(f"similar:{pair.a}")
    for row in sorted(rows, key=lambda r: r.student.lower()):
        report = row.result
        if report is not None:
            per: dict[str, float] = {}
            for check in report.checks:
                per[group_of(check)] = per.get(group_of(check), 0.0) + check.score
            flags = " ".join(
                [c.id for c in report.checks if c.message.startswith(FLAG_PREFIX)]
                + alike.get(row.student, [])
            )
            cells = [
                "graded",
                points(report.score),
                points(report.max_score),
                *(points(per[c]) if c in per else "" for c in columns),
                flags,
            ]
        else:
            why = row.reason or first_line(row.report.autograder_error if row.report else "") or "not graded"
            cells = [f"not graded: {why}", "", "", *("" for _ in columns), ""]
        writer.writerow(
            [_safe(row.student), *(_safe(c) for c in cells), f"{row.seconds:.1f}", _safe(row.report_dir)]
        )
    return buf.getvalue()


def write(rows: list[Row], path: str | Path, profile: str = profiles.DEFAULT, similar=()) -> Path:
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(render(rows, profile, similar), encoding="utf-8")
    os.replace(tmp, path)
    return path
