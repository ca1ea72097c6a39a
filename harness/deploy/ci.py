"""``python -m harness ci PATH``: grade in a GitHub Actions job, and speak GitHub's formats.

On top of ``grade`` (reports written to ``--out``, the text report printed), it prints an
``::error`` annotation at each failing function, appends the markdown summary to
``$GITHUB_STEP_SUMMARY``, prints ``Points X/Y`` and sets the step outputs ``result`` (GitHub
Classroom's command-grader format), ``score``, ``max_score`` and ``points``. Outside GitHub
Actions the environment variables are unset and only the printing happens.
"""

from __future__ import annotations

import sys
from pathlib import Path

from harness.deploy import annotate, classroom

ARTIFACT_NOTE = (
    "The full report (report.html: every check, your code's output, figures) is attached "
    "to this run as the artifact **grade-report**."
)
"""Under the step summary: where the HTML report is."""


def run(path: str, options, out: Path, *, html: bool = True) -> int:
    """Grade ``path`` and emit everything a workflow step shows; the grade's exit code."""
    from harness.grade import grade
    from harness.report import files, markdown, terminal

    result = grade(path, options)
    written = files.write_all(result, out, html=html)
    print(terminal.render(result, color=False))
    print(f"reports: {out}/ ({', '.join(sorted(p.name for p in written.values()))})")
    from harness import profiles

    family = result.provenance.get("profile")  # as graded (detected or chosen)
    for line in annotate.workflow_annotations(
        result, path, family if family in profiles.PROFILES else profiles.DEFAULT
    ):
        print(line)
    summary = markdown.render(result)
    if html and "report.html" in written:
        summary += "\n" + ARTIFACT_NOTE + "\n"
    markdown.append_step_summary(summary)
    line = classroom.points_line(result)
    print(annotate.command("notice", line, title="Autograding complete"))
    print(line)
    classroom.set_outputs(
        {
            "result": classroom.encoded(result),
            "points": line.removeprefix("Points "),
            "score": f"{0.0 if result.autograder_error else result.score:g}",
            "max_score": f"{result.max_score:g}",
        }
    )
    sys.stdout.flush()
    return result.exit_code
