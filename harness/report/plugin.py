"""Thin pytest wiring: a GradeReport presented as a pytest session, one test item per check.

Grading has already happened; the session only replays verdicts, so pytest's own ``--junitxml``
and pytest-html's ``--html --self-contained-html`` render them::

    pytest.main([...], plugins=[GradePlugin(report)])   # or run_pytest(report, out_dir)

No test files exist: the session's top directory is collected as a ``GradeRun`` (so nothing on
disk is imported), which holds one ``CheckGroup`` per id prefix (JUnit's classname) holding one
``CheckItem`` per check. PASS passes, FAIL fails in the call with its message and details,
ERROR errors in setup, SKIP skips with the message as reason.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.core.model import CheckResult, GradeReport, Status
from harness.report import html as html_report
from harness.report.common import (
    AUTOGRADER_ERROR,
    autograder_error_check,
    explanation,
    first_line,
    group_of,
    grouped,
    points,
    provenance_lines,
    score_line,
)

HTML_PLUGIN = "pytest_html.plugin"
"""pytest-html, named by its module (so the name is the same with every pytest >= 8)."""
HTML_PLUGINS = ("pytest_metadata.plugin", HTML_PLUGIN)
"""The plugins a session with an HTML report loads: pytest-html and the one it needs."""
AUTOLOAD_OFF = "PYTEST_DISABLE_PLUGIN_AUTOLOAD"
"""Set during the session: no plugin is loaded because it is installed (``pytest11`` entry points)."""
SESSION_ENV_IGNORED = ("PYTEST_PLUGINS", "PYTEST_ADDOPTS")
"""Unset during the session: plugins and options it would otherwise take from the environment."""
TRUSTED_MODULES = ("_pytest.", "pytest_html.", "pytest_metadata.", __name__)
"""Where every plugin object of the session comes from (``OnlyNamedPlugins`` checks)."""


class OnlyNamedPlugins:
    """Ends the session before it collects anything if a plugin it did not name was loaded."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_configure(self, config):
        for name, plugin in config.pluginmanager.list_name_plugin():
            if plugin is None:  # blocked with -p no:NAME
                continue
            where = getattr(plugin, "__name__", None) or type(plugin).__module__
            if not (where + ".").startswith(TRUSTED_MODULES) and not where.startswith(TRUSTED_MODULES):
                raise pytest.UsageError(
                    f"the report session loaded a plugin it did not name: {name} ({where})"
                )


class CheckNotPassed(Exception):
    """Raised by a CheckItem to make pytest record its FAIL (in call) or ERROR (in setup)."""

    def __init__(self, check: CheckResult):
        super().__init__(check.message)
        self.check = check


@dataclass(frozen=True)
class Crash:
    """Where and what, as pytest's ``reprcrash``: JUnit and ``-r`` summaries read the message."""

    path: str
    lineno: int | None
    message: str


class CheckFailureRepr:
    """A check's failure text in place of a traceback: the message, then the details indented."""

    def __init__(self, check: CheckResult):
        self.check = check
        self.reprcrash = Crash(check.id, None, first_line(check.message) or check.status.value)

    def lines(self) -> list[str]:
        body = explanation(self.check)
        return [
            self.check.message.strip() or self.check.status.value,
            *("    " + line if line else "" for line in body.splitlines()),
        ]

    def toterminal(self, tw) -> None:
        head, *rest = self.lines()
        tw.line(head, red=True, bold=True)
        for line in rest:
            tw.line(line)

    def __str__(self) -> str:
        return "\n".join(self.lines())


class CheckItem(pytest.Item):
    """One check's verdict, replayed."""

    def __init__(self, *, check: CheckResult, **kwargs):
        super().__init__(**kwargs)
        self.check = check
        self.user_properties += [("score", points(check.score)), ("max_score", points(check.max_score))]

    @property
    def verdict_phase(self) -> str:
        return "setup" if self.check.status in (Status.ERROR, Status.SKIP) else "call"

    def setup(self) -> None:
        if self.check.status is Status.SKIP:
            pytest.skip(self.check.message or "skipped")
        if self.check.status is Status.ERROR:
            raise CheckNotPassed(self.check)

    def runtest(self) -> None:
        if self.check.status is Status.FAIL:
            raise CheckNotPassed(self.check)

    def reportinfo(self):
        return self.path, None, self.check.id

    def complete_report(self, report: pytest.TestReport) -> None:
        """Give the verdict's report the check's text, time and HTML extras instead of ours."""
        if report.when != self.verdict_phase:
            return
        report.duration = self.check.duration
        if self.check.status is Status.SKIP:  # (where, line, reason), as pytest's skips: no plugin.py line
            # pytest prints no line number for None, though its annotation says int
            report.longrepr = (self.check.id, None, f"Skipped: {self.check.message or 'skipped'}")  # type: ignore[assignment]
        elif self.check.status is not Status.PASS:
            # duck-typed like pytest's TerminalRepr (toterminal, __str__), whose class is private API
            report.longrepr = CheckFailureRepr(self.check)  # type: ignore[assignment]
        if self.config.pluginmanager.hasplugin(HTML_PLUGIN):
            # pytest-html reads this attribute, which TestReport does not declare
            report.extras = [*getattr(report, "extras", []), *html_report.extras(self.check)]  # type: ignore[attr-defined]


class CheckGroup(pytest.Collector):
    """The checks sharing an id prefix (``forward``, ``backward``, ...)."""

    def __init__(self, *, checks: list[CheckResult], **kwargs):
        super().__init__(**kwargs)
        self.checks = checks

    def collect(self):
        return [CheckItem.from_parent(self, name=c.id, check=c) for c in self.checks]


class GradeRun(pytest.Directory):
    """Stands in for the directory pytest was pointed at: the report's checks, not its files."""

    def __init__(self, *, checks: list[CheckResult], **kwargs):
        super().__init__(**kwargs)
        self.checks = checks

    def collect(self):
        return [
            CheckGroup.from_parent(self, name=group, nodeid=group, checks=members)
            for group, members in grouped(self.checks)
        ]


class GradePlugin:
    """The pytest plugin: state is the report; hooks forward to the nodes and to ``harness.report.html``."""

    def __init__(self, report: GradeReport):
        self.report = report
        error = autograder_error_check(report)
        self.checks = ([error] if error else []) + list(report.checks)
        """What the session replays: the report's checks, after its autograder error if any."""
        self._by_nodeid = {f"{group_of(c.id)}::{c.id}": c for c in self.checks}

    @pytest.hookimpl(tryfirst=True)
    def pytest_collect_directory(self, path: Path, parent):
        # The session's top directory (``out_dir``) becomes the run; nothing below it is walked.
        if isinstance(parent, pytest.Session):
            return GradeRun.from_parent(parent, path=path, checks=self.checks)
        return None

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item, call):
        report = yield
        if isinstance(item, CheckItem):
            item.complete_report(report)
        return report

    def pytest_report_header(self, config):
        return [f"grading: {self.report.submission}", *provenance_lines(self.report.provenance)]

    def pytest_terminal_summary(self, terminalreporter):
        if self.report.autograder_error:
            terminalreporter.write_sep("!", AUTOGRADER_ERROR, red=True, bold=True)
        terminalreporter.write_sep("=", score_line(self.report), bold=True)

    @pytest.hookimpl(optionalhook=True)
    def pytest_metadata(self, metadata, config):
        metadata.clear()
        metadata.update(html_report.environment(self.report))

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_report_title(self, report):
        report.title = html_report.title(self.report)

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_summary(self, prefix, summary, postfix, session):
        prefix.extend(html_report.summary(self.report))

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_header(self, cells):
        cells[2:2] = html_report.header_cells()

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_row(self, report, cells):
        check = self._by_nodeid.get(report.nodeid)
        if check is not None:
            cells[1] = html_report.id_cell(check)
        cells[2:2] = html_report.row_cells(check)

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_html(self, report, data):
        if report.nodeid in self._by_nodeid:  # the row's extras say it all, in reading order
            data.clear()


def pytest_args(out_dir: str | os.PathLike, *, html: bool = True, extra_args=()) -> list[str]:
    """Arguments for a grading session writing ``junit.xml`` (and ``report.html``) to ``out_dir``.

    The session is sealed off from its surroundings: no ini file, no conftest.py, no cache, and
    ``out_dir`` (created here) as its only directory, so nothing near the submission is imported;
    the plugins it loads are named here (``HTML_PLUGINS``), never found (``run_pytest`` turns
    autoloading off). The rootdir is the working directory only so that node ids print as
    ``group::check.id``.
    """
    out = Path(out_dir).resolve()
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    named = [arg for plugin in HTML_PLUGINS for arg in ("-p", plugin)] if html else []
    args = [
        str(out),
        *named,
        "-c",
        os.devnull,
        "--rootdir",
        os.getcwd(),
        "--confcutdir",
        str(out),
        "--noconftest",
        "-p",
        "no:cacheprovider",
        "-o",
        "junit_suite_name=grade",
        "--junitxml",
        str(out / "junit.xml"),
    ]
    if html:
        args += ["--html", str(out / "report.html"), "--self-contained-html"]
    return args + list(extra_args)


@contextlib.contextmanager
def _sealed_environment():
    """Within the block: plugin autoloading off, and no plugin or option from the environment."""
    saved = {key: os.environ.pop(key, None) for key in (*SESSION_ENV_IGNORED, AUTOLOAD_OFF)}
    os.environ[AUTOLOAD_OFF] = "1"
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_pytest(report: GradeReport, out_dir: str | os.PathLike, extra_args=(), *, html: bool = True) -> int:
    """Replay ``report`` as a pytest session writing ``out_dir``/junit.xml and report.html.

    The session loads pytest's own plugins, ``GradePlugin`` and ``HTML_PLUGINS`` only: a plugin
    installed where Python finds packages (by a submission that could write there) is not loaded,
    and one loaded anyway ends the session (``OnlyNamedPlugins``). Returns pytest's exit code:
    0 all passed, 1 some check did not pass, 5 no checks; others mean the session itself went
    wrong.
    """
    with _sealed_environment():
        return int(
            pytest.main(
                pytest_args(out_dir, html=html, extra_args=extra_args),
                plugins=[GradePlugin(report), OnlyNamedPlugins()],
            )
        )
