"""The renderers of harness.report, each on one hand-made report."""

from __future__ import annotations

import dataclasses
import json
import xml.etree.ElementTree as ET

import pytest

from harness.core.model import CheckResult, GradeReport, Status
from harness.report import common, gradescope, markdown, terminal
from harness.report import files as reports

CONV_W_DETAILS = (
    "worst at kernel (dh=2, dw=0, c=1) -> filter 3: got 0.412, expected -0.412\n"
    "hint (likely cause): the gradient has the right size but the opposite sign\n"
    "reproduce: python -m harness grade SUBMISSION --only backward.conv.w --case 3"
)
TRACEBACK = "Traceback (most recent call last):\n  File \"harness/grade.py\", line 88\nKeyError: 'conv'"


@pytest.fixture
def report() -> GradeReport:
    checks = (
        CheckResult(
            "forward.conv",
            Status.PASS,
            10.0,
            10.0,
            "all 4 cases match (rtol 1e-6, atol 1e-9)",
            function="conv_layer_forward",
            cases_passed=4,
            cases_total=4,
            duration=0.12,
            numbers={"max_abs": 3.1e-12},
        ),
        CheckResult("forward.relu", Status.SKIP, 0.0, 0.0, "provided by the course profile"),
        CheckResult(
            "backward.conv.w",
            Status.FAIL,
            2.5,
            10.0,
            "54 of 150 elements differ (rtol 1e-6, atol 1e-9)",
            details=CONV_W_DETAILS,
            hint="the gradient has the right size but the opposite sign",
            function="conv_layer_backward",
            cases_passed=1,
            cases_total=4,
            output="debug: dW shape (5, 5)\n",
            duration=0.31,
            numbers={"mismatched": 54, "total": 150, "max_abs": 0.824},
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
            hidden=True,
            duration=41.7,
        ),
    )
    provenance = {
        "harness": "0.1.0",
        "fixtures": {"version": "3", "sha256": "9f2c41d0"},
        "seed": 20240917,
        "tolerances": {"rtol": 1e-6, "atol": 1e-9},
        "python": "3.11.7",
        "numpy": "2.4.6",
        "blas": "openblas 0.3.27",
        "time": "2025-03-01T10:00:00+00:00",
    }
    return GradeReport("submissions/alice", checks, provenance, notices=("relu is provided by the course",))


@pytest.fixture
def broken(report) -> GradeReport:
    return dataclasses.replace(report, autograder_error=TRACEBACK)


def test_points_are_short():
    assert [common.points(x) for x in (10.0, 87.5, 1 / 3, 0.0, 100)] == ["10", "87.5", "0.33", "0", "100"]


# terminal -----------------------------------------------------------------------------------


def test_terminal_table_groups_and_total(report):
    text = terminal.render(report)
    lines = text.splitlines()
    assert [line for line in lines if line in ("forward", "backward", "train")] == [
        "forward",
        "backward",
        "train",
    ]
    row = next(line for line in lines if "backward.conv.w" in line)
    assert row.split()[:5] == ["FAIL", "backward.conv.w", "2.5", "/", "10"]
    assert "54 of 150 elements differ" in row
    assert lines[-1] == "Score: 87.5 / 100"
    assert "2 passed, 1 failed, 1 error, 1 skipped" in lines
    assert "\x1b[" not in text


def test_terminal_failures_carry_details_indented(report):
    text = terminal.render(report)
    failures = text[text.index("Failures") :]
    assert "backward.conv.w (FAIL): 54 of 150 elements differ" in failures
    assert "    worst at kernel (dh=2, dw=0, c=1) -> filter 3: got 0.412, expected -0.412" in failures
    assert "      debug: dW shape (5, 5)" in failures
    assert "backward.pool (ERROR): IndexError" in failures
    assert "forward.conv (" not in failures
    assert text.count("hint (likely cause)") == 1  # already in the details: not repeated


def test_terminal_color_only_when_asked(report):
    assert "\x1b[31mFAIL" in terminal.render(report, color=True)


def test_terminal_autograder_error_is_prominent(broken):
    text = terminal.render(broken)
    top = text.split("forward")[0]
    assert "Autograder error" in top and "KeyError: 'conv'" in top
    assert "Score: not available (autograder error, contact staff)" in text
    assert "87.5" not in text


# gradescope ---------------------------------------------------------------------------------


def test_gradescope_schema(report):
    results = gradescope.render(report)
    json.dumps(results)
    assert results["score"] == 87.5
    assert results["execution_time"] == 42
    assert {"score", "output", "tests", "execution_time"} <= results.keys()
    assert [t["name"] for t in results["tests"]] == [
        "forward.conv (conv_layer_forward)",
        "forward.relu",
        "backward.conv.w (conv_layer_backward)",
        "backward.pool",
        "train.lenet",
    ]
    for test in results["tests"]:
        assert {"name", "score", "max_score", "status", "output", "visibility"} <= test.keys()
        assert test["status"] in ("passed", "failed")
    assert [t["status"] for t in results["tests"]] == ["passed", "passed", "failed", "failed", "passed"]
    assert [t["score"] for t in results["tests"]] == [10.0, 0.0, 2.5, 0.0, 75.0]


def test_gradescope_output_has_summary_and_provenance(report):
    output = gradescope.render(report)["output"]
    assert "Score: 87.5 / 100" in output
    assert "fixtures: version=3, sha256=9f2c41d0" in output
    assert "seed: 20240917" in output
    assert "relu is provided by the course" in output


def test_gradescope_test_output_has_message_details_and_student_output(report):
    test = gradescope.render(report)["tests"][2]
    assert test["output"].startswith("54 of 150 elements differ (rtol 1e-6, atol 1e-9)")
    assert "1 of 4 cases passed." in test["output"]
    assert common.without_reproduce(CONV_W_DETAILS) in test["output"]
    assert "debug: dW shape (5, 5)" in test["output"]
    # A student cannot run the grader inside Gradescope: no reproduce line there.
    assert "reproduce:" not in test["output"] and "reproduce:" in CONV_W_DETAILS


def test_gradescope_names_and_outputs_say_things_once():
    checks = (
        CheckResult(
            "forward.relu",
            Status.PASS,
            1.0,
            1.0,
            "all 7 cases pass",
            function="relu_forward",
            cases_passed=7,
            cases_total=7,
        ),
        CheckResult(
            "train.lenet",
            Status.PASS,
            30.0,
            30.0,
            "held-out accuracy 0.961",
            function="train.lenet",
            cases_passed=100,
            cases_total=100,
        ),
    )
    relu, train = gradescope.render(GradeReport("alice", checks, {}))["tests"]
    assert relu["name"] == "forward.relu (relu_forward)" and train["name"] == "train.lenet"
    assert relu["output"] == "all 7 cases pass" and "cases passed" not in train["output"]


def test_gradescope_truncates_student_output(report):
    chatty = dataclasses.replace(report.checks[2], output="x" * (common.OUTPUT_LIMIT + 500))
    output = gradescope.render(dataclasses.replace(report, checks=(chatty,)))["tests"][0]["output"]
    assert "x" * common.OUTPUT_LIMIT in output and "x" * (common.OUTPUT_LIMIT + 1) not in output
    assert "[500 more characters cut]" in output


def test_gradescope_hidden_checks_after_due_date(report):
    visibility = {t["name"]: t["visibility"] for t in gradescope.render(report)["tests"]}
    assert visibility["train.lenet"] == "after_due_date"
    assert visibility["backward.pool"] == "visible"


def test_gradescope_autograder_error_is_a_zero_that_says_why(broken):
    results = gradescope.render(broken)
    assert results["score"] == 0
    assert results["output"].startswith(common.AUTOGRADER_ERROR)
    assert "KeyError: 'conv'" in results["output"]
    first = results["tests"][0]
    assert first["name"] == "Autograder error: contact staff" and first["status"] == "failed"
    assert "KeyError: 'conv'" in first["output"]


# markdown -----------------------------------------------------------------------------------


def test_markdown_table_details_and_footer(report):
    text = markdown.render(report)
    assert text.startswith("## Grade for `submissions/alice`: 87.5 / 100")
    assert "| ✅ | `forward.conv` | 10 / 10 | PASS: all 4 cases match (rtol 1e-6, atol 1e-9) |" in text
    assert "| ❌ | `backward.conv.w` | 2.5 / 10 | FAIL: 54 of 150 elements differ" in text
    assert "| ❌ | `backward.pool` | 0 / 5 | ERROR: IndexError" in text
    assert "<summary><code>backward.conv.w</code>: 54 of 150 elements differ" in text
    assert text.count("<details>") == 2
    assert "debug: dW shape (5, 5)" in text
    footer = text.rstrip().splitlines()[-1]
    assert footer.startswith("<sub>") and "seed: 20240917" in footer and "tolerances: rtol=1e-06" in footer


def test_markdown_cells_stay_in_their_column(report):
    piped = dataclasses.replace(report.checks[0], message="a | b <i>\nsecond line")
    text = markdown.render(dataclasses.replace(report, checks=(piped,)))
    assert "| PASS: a \\| b &lt;i&gt; |" in text
    assert "second line" not in text


def test_markdown_fence_survives_backticks(report):
    ticks = dataclasses.replace(report.checks[2], details="use ```np.sum``` here")
    text = markdown.render(dataclasses.replace(report, checks=(ticks,)))
    assert "````text\nuse ```np.sum``` here" in text


def test_markdown_autograder_error(broken):
    text = markdown.render(broken)
    assert "> [!CAUTION]" in text and common.AUTOGRADER_ERROR in text
    assert "KeyError: 'conv'" in text
    assert "87.5" not in text


def test_step_summary_appends(report, tmp_path, monkeypatch):
    target = tmp_path / "summary.md"
    target.write_text("# earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(target))
    text = markdown.render(report)
    assert markdown.append_step_summary(text) == target
    assert markdown.append_step_summary("second") == target
    assert target.read_text(encoding="utf-8") == "# earlier step\n" + text + "second\n"


def test_step_summary_without_github(monkeypatch):
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    assert markdown.append_step_summary("anything") is None


# write_all ----------------------------------------------------------------------------------

ALL_FILES = {"report.json", "results.json", "summary.md", "junit.xml", "report.html"}


def test_write_all_writes_every_file(report, tmp_path):
    written = reports.write_all(report, tmp_path / "out")
    assert set(written) == ALL_FILES
    assert {p.name for p in (tmp_path / "out").iterdir()} == ALL_FILES
    assert GradeReport.from_dict(json.loads(written["report.json"].read_text(encoding="utf-8"))) == report
    assert json.loads(written["results.json"].read_text(encoding="utf-8")) == gradescope.render(report)
    assert written["summary.md"].read_text(encoding="utf-8") == markdown.render(report)
    cases = ET.parse(written["junit.xml"]).getroot().iter("testcase")
    assert [c.get("name") for c in cases] == [c.id for c in report.checks]
    assert "Score: 87.5 / 100" in written["report.html"].read_text(encoding="utf-8")


def test_write_all_without_html(report, tmp_path):
    assert set(reports.write_all(report, tmp_path, html=False)) == ALL_FILES - {"report.html"}


def test_write_all_survives_a_renderer_raising(report, tmp_path, monkeypatch):
    def explode(_report):
        raise RuntimeError("markdown renderer exploded")

    monkeypatch.setattr(markdown, "render", explode)
    written = reports.write_all(report, tmp_path)
    assert set(written) == ALL_FILES - {"summary.md"} | {reports.RENDER_ERRORS}
    assert not (tmp_path / "summary.md").exists()
    errors = written[reports.RENDER_ERRORS].read_text(encoding="utf-8")
    assert "== summary.md ==" in errors and "RuntimeError: markdown renderer exploded" in errors


def test_write_all_reports_a_broken_pytest_session(report, tmp_path, monkeypatch):
    from harness.report import plugin

    (tmp_path / "junit.xml").write_text("<stale/>")
    monkeypatch.setattr(plugin, "run_pytest", lambda *a, **k: 3)
    written = reports.write_all(report, tmp_path)
    assert set(written) == {"report.json", "results.json", "summary.md", reports.RENDER_ERRORS}
    assert not (tmp_path / "junit.xml").exists()
    assert "the pytest session exited with 3" in written[reports.RENDER_ERRORS].read_text(encoding="utf-8")


def test_write_all_numpy_numbers(report, tmp_path):
    np = pytest.importorskip("numpy")
    check = dataclasses.replace(
        report.checks[2], numbers={"max_abs": np.float64(0.824), "worst": np.array([2, 0])}
    )
    written = reports.write_all(dataclasses.replace(report, checks=(check,)), tmp_path, html=False)
    assert json.loads(written["report.json"].read_text())["checks"][0]["numbers"] == {
        "max_abs": 0.824,
        "worst": [2, 0],
    }
