"""Every report file of one grade, written at once: one renderer failing loses only its own file.

Files are replaced whole (written aside, then renamed), and ``junit.xml``/``report.html`` are
deleted before the pytest session writes them, so a stale or half-written file never passes for
this run's (``docs/threat-model.md``, reports).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import traceback
from collections.abc import Callable
from pathlib import Path

from harness.core.model import GradeReport
from harness.report import gradescope, markdown, plugin
from harness.report.common import json_default

RENDER_ERRORS = "render_errors.txt"
"""Written by ``write_all`` (and returned under this key) when some renderer failed: the tracebacks."""

REPORT_DIR_MODE = 0o700
"""A report folder the harness creates is its owner's alone: a submission's process, or another
student's in a bulk run, reads no report (an existing folder keeps its mode)."""

_PYTEST_OK = (0, 1, 5)  # all passed, some did not pass, no checks: the files were written either way

log = logging.getLogger(__name__)


def _write_text(path: Path, text: str) -> None:
    """Write whole or not at all: a crash mid-write leaves the previous file, not half of one."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _dump(data) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, default=json_default) + "\n"


def _pytest_session(report: GradeReport, out: Path, html: bool) -> dict[str, Path | str]:
    """junit.xml and report.html from one pytest session: each name -> its path, or why it is missing."""
    names = ["junit.xml", "report.html"] if html else ["junit.xml"]
    for name in names:
        (out / name).unlink(missing_ok=True)  # a stale file must not pass for this run's
    session_output = io.StringIO()
    with contextlib.redirect_stdout(session_output):
        rc = plugin.run_pytest(report, out, html=html)
    results: dict[str, Path | str] = {}
    for name in names:
        if rc in _PYTEST_OK and (out / name).is_file():
            results[name] = out / name
        else:
            results[name] = f"the pytest session exited with {rc}:\n{session_output.getvalue()}"
    return results


def write_all(report: GradeReport, out_dir: str | os.PathLike, *, html: bool = True) -> dict[str, Path]:
    """Write report.json, results.json, summary.md, junit.xml and report.html into ``out_dir``.

    Each file is written independently: one renderer failing loses only its own file. The
    failures are logged and written to ``render_errors.txt``, returned under ``RENDER_ERRORS``.
    Returns file name -> path for every file written.
    """
    out = Path(out_dir)
    out.mkdir(mode=REPORT_DIR_MODE, parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    errors: dict[str, str] = {}

    def attempt(name: str, render: Callable[[], str]) -> None:
        try:
            _write_text(out / name, render())
            written[name] = out / name
        except Exception:
            errors[name] = traceback.format_exc()

    attempt("report.json", lambda: _dump(report.to_dict()))
    attempt("results.json", lambda: _dump(gradescope.render(report)))
    attempt("summary.md", lambda: markdown.render(report))
    try:
        for name, result in _pytest_session(report, out, html).items():
            if isinstance(result, Path):
                written[name] = result
            else:
                errors[name] = result
    except Exception:
        errors["junit.xml" if not html else "junit.xml, report.html"] = traceback.format_exc()

    if errors:
        for name, reason in errors.items():
            log.error("could not write %s: %s", name, reason)
        text = "".join(f"== {name} ==\n{reason.rstrip()}\n\n" for name, reason in errors.items())
        with contextlib.suppress(OSError):
            _write_text(out / RENDER_ERRORS, text)
            written[RENDER_ERRORS] = out / RENDER_ERRORS
    return written
