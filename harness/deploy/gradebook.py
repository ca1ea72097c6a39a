"""The class's gradebook: one CSV row per student, one column per check group, the total.

The first row under the header is ``(maximum)``: the points each column is out of.

A check group is the graded function a check belongs to (``conv_layer_forward``, ...) or,
for checks of no function, the check's id (``train.lenet``). A column is one assignment
family's group: in a class of one family it is named by the group alone; when the class
mixes families (the dict API and cs231n both have ``relu_forward``, worth other points) every
column is named ``<family>:<group>`` (``cs231n:relu_forward``), and a student has points only
in their own family's columns. The ``family`` column says which family each student was
graded as. A student who could not be graded gets empty points and the reason in
``status``: never a silent zero.
"""

from __future__ import annotations

import csv
import functools
import io
import os
from dataclasses import dataclass
from pathlib import Path

from harness import profiles
from harness.core.model import GradeReport
from harness.deploy import FLAG_PREFIX
from harness.report.common import first_line, points

FIXED = ("student", "status", "total", "max_total")
TRAILING = ("family", "flags", "seconds", "report")
SEPARATOR = ":"
"""Between the family and the group in a column's name, when the class mixes families."""
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


def family_of(row: Row, default: str = profiles.DEFAULT) -> str:
    """The assignment family the row's report was graded as (``default`` when a graded report
    does not say); '' for a submission with no family (not graded before one was chosen)."""
    report = row.report
    if report is None:
        return ""
    return _family_name(str(report.provenance.get("profile") or (default if row.result is not None else "")))


@functools.lru_cache(maxsize=64)
def _family_name(name: str) -> str:
    if name in profiles.PROFILES or not name:
        return name
    try:  # a mapping file (``--profile my_course.toml``) is of its family (read once per run)
        return str(profiles.get(name).NAME)
    except (ValueError, OSError):
        return "" if name == profiles.AUTO else Path(name).name


@dataclass(frozen=True)
class Column:
    """One column of points: a family's check group."""

    name: str
    """The header: the group, or ``<family>:<group>`` in a class of several families."""
    family: str
    group: str

    def checks(self, row: Row, default: str = profiles.DEFAULT) -> list:
        """The row's checks of this column: none for a student of another family."""
        report = row.result
        if report is None or family_of(row, default) != self.family:
            return []
        return [c for c in report.checks if group_of(c) == self.group]


def columns(rows: list[Row], profile: str = profiles.DEFAULT) -> list[Column]:
    """The columns of points: per family (``profile``, the class's own, first; then the registry's
    order), its functions in their order, then any other group as first seen. Named by the group
    alone when one family is graded, else ``<family>:<group>``."""
    seen: dict[str, dict[str, None]] = {}
    for row in rows:
        if row.result is not None:
            groups_seen = seen.setdefault(family_of(row, profile), {})
            for check in row.result.checks:
                if check.max_score or check.score:
                    groups_seen.setdefault(group_of(check), None)
    known = [profile, *(f for f in profiles.PROFILES if f != profile)]
    families = [f for f in known if f in seen] + sorted(f for f in seen if f not in known)
    out = []
    for family in families:
        try:
            functions = list(profiles.get(family).FUNCTIONS.values())
        except (ValueError, OSError):
            functions = []
        order = [f for f in functions if f in seen[family]]
        for group in order + [g for g in seen[family] if g not in order]:
            name = f"{family}{SEPARATOR}{group}" if len(families) > 1 else group
            out.append(Column(name, family, group))
    return out


def groups(rows: list[Row], profile: str = profiles.DEFAULT) -> list[str]:
    """The columns' names (``columns``)."""
    return [c.name for c in columns(rows, profile)]


def _safe(text: str) -> str:
    """A cell a spreadsheet will not run as a formula (student names are student input)."""
    return "'" + text if text.startswith(_FORMULA) else text


def maxima(rows: list[Row], cols: list[Column], profile: str = profiles.DEFAULT) -> dict[str, float]:
    """Each column's points available (the largest over its family's graded students), and the
    total's (over every graded student), by column name."""
    top: dict[str, float] = {}
    for row in rows:
        report = row.result
        if report is not None:
            for c in cols:
                mine = c.checks(row, profile)
                if mine:
                    top[c.name] = max(top.get(c.name, 0.0), sum(check.max_score for check in mine))
            top["total"] = max(top.get("total", 0.0), report.max_score)
    return top


def render(rows: list[Row], profile: str = profiles.DEFAULT, similar=()) -> str:
    """The CSV: a header, the ``MAXIMUM`` row (each column's points available), one row per student.

    ``profile``: the class's family (its columns first; the family of a report that names none).
    ``similar``: ``similarity.Pair``s; each student of a pair gets ``similar:<other>`` in ``flags``.
    """
    cols = columns(rows, profile)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([*FIXED, *(c.name for c in cols), *TRAILING])
    top = maxima(rows, cols, profile)
    if top:
        total = points(top["total"])
        writer.writerow(
            [MAXIMUM, "maximum", total, total, *(points(top.get(c.name, 0.0)) for c in cols), "", "", "", ""]
        )
    alike: dict[str, list[str]] = {}
    for pair in similar:
        alike.setdefault(pair.a, []).append(f"similar:{pair.b}")
        alike.setdefault(pair.b, []).append(f"similar:{pair.a}")
    for row in sorted(rows, key=lambda r: r.student.lower()):
        report = row.result
        family = family_of(row, profile)
        if report is not None:
            flags = " ".join(
                [c.id for c in report.checks if c.message.startswith(FLAG_PREFIX)]
                + alike.get(row.student, [])
            )
            mine = [c.checks(row, profile) for c in cols]
            cells = [
                "graded",
                points(report.score),
                points(report.max_score),
                *(points(sum(check.score for check in checks)) if checks else "" for checks in mine),
                family,
                flags,
            ]
        else:
            why = row.reason or first_line(row.report.autograder_error if row.report else "") or "not graded"
            cells = [f"not graded: {why}", "", "", *("" for _ in cols), family, ""]
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
