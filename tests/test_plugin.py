"""harness.report.plugin driven by pytest's own pytester: one item per check, JUnit XML, pytest-html."""

from __future__ import annotations

import base64
import dataclasses
import re
import struct
import xml.etree.ElementTree as ET
import zlib

import pytest

from harness.core.model import CheckResult, GradeReport, Status
from harness.report.common import AUTOGRADER_ERROR
from harness.report.plugin import AUTOLOAD_OFF, GradePlugin, OnlyNamedPlugins, pytest_args

pytest_plugins = ["pytester"]


def png_base64(width: int = 3, height: int = 2) -> str:
    """A real (tiny, red) PNG, base64-encoded, as the training figures are."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
    return base64.b64encode(png).decode("ascii")


FIGURE = png_base64()


@pytest.fixture
def report() -> GradeReport:
    checks = (
        CheckResult(
            "forward.conv",
            Status.PASS,
            10.0,
            10.0,
            "all 4 cases match (rtol 1e-6, atol 1e-9)",
            details="max abs error 3.1e-12 at (h=0, w=1, c=2, n=0)",
            duration=0.12,
        ),
        CheckResult("forward.relu", Status.SKIP, 0.0, 0.0, "provided by the course profile"),
        CheckResult(
            "backward.conv.w",
            Status.FAIL,
            2.5,
            10.0,
            "54 of 150 elements differ (rtol 1e-6, atol 1e-9)",
            details="worst at kernel (dh=2, dw=0, c=1) -> filter 3: got 0.412, expected -0.412\n"
            "hint (likely cause): the gradient has the right size but the opposite sign",
            output="debug: dW shape (5, 5)\n",
            duration=0.31,
        ),
        CheckResult(
            "backward.pool",
            Status.ERROR,
            0.0,
            5.0,
            "IndexError: index 7 is out of bounds for axis 0",
            details='File "pooling_layer.py", line 12, in pooling_layer_backward',
            duration=0.05,
        ),
        CheckResult(
            "train.lenet",
            Status.PASS,
            75.0,
            75.0,
            "test accuracy 0.981 >= 0.95 after 300 iterations",
            duration=41.7,
            extra={
                "figures": [{"title": "training loss", "png_base64": FIGURE}],
                "tables": [
                    {
                        "title": "accuracy per digit",
                        "html": "<table><tr><th>digit</th><th>accuracy</th></tr>"
                        "<tr><td>7</td><td>0.977</td></tr></table>",
                    }
                ],
            },
        ),
    )
    provenance = {
        "harness": "0.1.0",
        "fixtures": {"version": "3", "sha256": "9f2c41d0"},
        "seed": 20240917,
        "numpy": "2.4.6",
        "blas": "openblas 0.3.27",
        "time": "2025-03-01T10:00:00+00:00",
    }
    return GradeReport("submissions/alice", checks, provenance)


def grade(pytester, report, *args):
    """The session ``run_pytest`` runs (autoloading off, so only the plugins it names), in pytester."""
    out = pytester.path / "out"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(AUTOLOAD_OFF, "1")
        result = pytester.runpytest(
            *pytest_args(out, extra_args=args), plugins=[GradePlugin(report), OnlyNamedPlugins()]
        )
    return result, out


def test_one_item_per_check_with_its_outcome(pytester, report):
    result, _ = grade(pytester, report)
    result.assert_outcomes(passed=2, failed=1, errors=1, skipped=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_items_are_named_by_check_id(pytester, report):
    result, _ = grade(pytester, report, "--collect-only", "-q")
    result.stdout.fnmatch_lines(
        [
            "forward::forward.conv",
            "forward::forward.relu",
            "backward::backward.conv.w",
            "backward::backward.pool",
            "train::train.lenet",
            "5 tests collected*",
        ]
    )


def test_failure_text_is_the_check_not_a_traceback(pytester, report):
    result, _ = grade(pytester, report, "-ra")
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of backward.pool*",
            "IndexError: index 7 is out of bounds for axis 0",
            '    File "pooling_layer.py", line 12, in pooling_layer_backward',
            "*_ backward.conv.w _*",
            "54 of 150 elements differ (rtol 1e-6, atol 1e-9)",
            "    worst at kernel (dh=2, dw=0, c=1) -> filter 3: got 0.412, expected -0.412",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "SKIPPED [1] forward.relu: provided by the course profile",
            "ERROR backward::backward.pool - IndexError: index 7 is out of bounds*",
            "FAILED backward::backward.conv.w - 54 of 150 elements differ*",
        ]
    )
    result.stdout.fnmatch_lines(["*Score: 87.5 / 100*"])
    for noise in ("*Traceback*", "*plugin.py*", "*CheckNotPassed*"):
        result.stdout.no_fnmatch_line(noise)


def test_only_the_report_is_collected(pytester, report):
    trap = "raise RuntimeError('a file on disk was imported')"
    pytester.makeconftest(trap)
    pytester.makepyfile(test_student=trap)
    (pytester.path / "out").mkdir()
    (pytester.path / "out" / "conftest.py").write_text(trap)
    (pytester.path / "out" / "test_more.py").write_text(trap)
    result, _ = grade(pytester, report)
    result.assert_outcomes(passed=2, failed=1, errors=1, skipped=1)


def test_junit_xml(pytester, report):
    _, out = grade(pytester, report)
    suite = ET.parse(out / "junit.xml").getroot().find("testsuite")
    assert suite.get("tests") == "5" and suite.get("failures") == "1" and suite.get("errors") == "1"
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert list(cases) == [c.id for c in report.checks]
    assert [c.get("classname") for c in cases.values()] == [
        "forward",
        "forward",
        "backward",
        "backward",
        "train",
    ]
    assert (
        abs(float(cases["train.lenet"].get("time")) - 41.7) < 1.0
    )  # the check's own duration (+ setup/teardown overhead)

    failure = cases["backward.conv.w"].find("failure")
    assert failure.get("message") == "54 of 150 elements differ (rtol 1e-6, atol 1e-9)"
    assert "got 0.412, expected -0.412" in failure.text
    assert "IndexError: index 7 is out of bounds" in cases["backward.pool"].find("error").get("message")
    assert cases["forward.relu"].find("skipped").get("message") == "provided by the course profile"
    assert cases["forward.conv"].find("failure") is None and cases["forward.conv"].find("error") is None

    props = {p.get("name"): p.get("value") for p in cases["backward.conv.w"].iter("property")}
    assert props == {"score": "2.5", "max_score": "10"}


def test_html_is_self_contained_and_complete(pytester, report):
    _, out = grade(pytester, report)
    page = (out / "report.html").read_text(encoding="utf-8")
    assert not (out / "assets").exists()
    assert not re.search(r"<script[^>]+src=", page)
    assert not re.search(r"<link[^>]+href=", page)
    assert "Score: 87.5 / 100" in page
    assert "Grade report: submissions/alice" in page
    for fact in ("9f2c41d0", "20240917", "openblas 0.3.27", "2025-03-01T10:00:00+00:00"):
        assert fact in page
    assert f"data:image/png;base64,{FIGURE}" in page
    assert "accuracy per digit" in page and "0.977" in page
    assert "debug: dW shape (5, 5)" in page
    assert "max abs error 3.1e-12" in page
    assert 'data-column-type="points">Points</th>' in page
    assert "2.5 / 10" in page


def test_a_bad_figure_is_reported_not_fatal(pytester, report):
    bad = dataclasses.replace(
        report.checks[-1], extra={"figures": [{"title": "loss", "png_base64": "not base64!"}]}
    )
    result, out = grade(pytester, dataclasses.replace(report, checks=(bad,)))
    result.assert_outcomes(passed=1)
    assert "could not be shown" in (out / "report.html").read_text(encoding="utf-8")


def test_autograder_error_is_an_error_item(pytester, report):
    broken = dataclasses.replace(
        report, autograder_error="Traceback (most recent call last):\nKeyError: 'conv'"
    )
    result, out = grade(pytester, broken)
    result.assert_outcomes(passed=2, failed=1, errors=2, skipped=1)
    result.stdout.fnmatch_lines(["*Autograder error*", "*KeyError: 'conv'*"])
    error = next(
        c for c in ET.parse(out / "junit.xml").iter("testcase") if c.get("name") == "autograder.error"
    )
    assert AUTOGRADER_ERROR in error.find("error").get("message")
    assert AUTOGRADER_ERROR in (out / "report.html").read_text(encoding="utf-8")


def test_no_checks(pytester, report):
    result, out = grade(pytester, dataclasses.replace(report, checks=()))
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    assert (out / "junit.xml").is_file() and (out / "report.html").is_file()
