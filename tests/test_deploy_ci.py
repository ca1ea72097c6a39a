"""The student repository's workflow, and ``python -m harness ci``: annotations, summary, points."""

from __future__ import annotations

import ast
import base64
import json
import os
import re
import subprocess
import sys

import pytest
import yaml

from harness import profiles
from harness.checks import rubric as rubric_mod
from harness.core import paths
from harness.core.model import CheckResult, GradeReport, Status
from harness.deploy import annotate, classroom
from harness.report.common import AUTOGRADER_ERROR

WORKFLOW = paths.TEMPLATE_DIR / ".github" / "workflows" / "grade.yml"
RELU_BROKEN = """\
    import numpy as np


    def relu_forward(input):
        output = {key: input[key] for key in ('height', 'width', 'channel', 'batch_size')}
        output['data'] = np.minimum(input['data'], 0)
        return output


    def relu_backward(output, input, layer):
        scale = 2.0
        raise IndexError('oops')
"""


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def steps(workflow) -> list[dict]:
    (job,) = workflow["jobs"].values()
    return job["steps"]


def step(workflow, name_part: str) -> dict:
    return next(s for s in steps(workflow) if name_part in s.get("name", ""))


# -- the workflow file ------------------------------------------------------------------------


def test_workflow_runs_on_every_push(workflow):
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert "push" in triggers and "workflow_dispatch" in triggers


def test_workflow_installs_a_pinned_grader_never_the_students_copy(workflow):
    env = workflow["env"]
    assert env["KIT_REF"] not in ("main", "master", "")
    grader = step(workflow, "student kit (pinned)")
    assert grader["uses"].startswith("actions/checkout@")
    # the student kit (python -m harness student-kit), never the harness repository and its reference/
    assert grader["with"]["repository"] == "${{ env.KIT_REPOSITORY }}"
    assert grader["with"]["ref"] == "${{ env.KIT_REF }}"
    assert not any("HARNESS_REPOSITORY" in str(v) for v in env), env
    install = step(workflow, "Install")["run"]
    assert f"-e ./{grader['with']['path']}" in install
    grade = step(workflow, "Grade")["run"]
    # -I: neither the student's working directory nor PYTHONPATH can supply `harness`.
    assert grade.startswith("python -I -m harness ci ")


def test_workflow_uploads_the_report_and_reports_points(workflow):
    grade = step(workflow, "Grade")
    out = re.search(r'--out "\$RUNNER_TEMP/([^"]+)"', grade["run"]).group(1)
    upload = step(workflow, "Upload")
    assert upload["uses"].startswith("actions/upload-artifact@") and upload["if"] == "always()"
    assert upload["with"]["path"].rstrip("/").endswith(out)
    reporter = step(workflow, "Classroom")
    assert reporter["uses"].startswith("classroom-resources/autograding-grading-reporter@")
    assert reporter["with"]["runners"] == grade["id"]
    assert reporter["env"] == {
        f"{grade['id'].upper()}_RESULTS": f"${{{{ steps.{grade['id']}.outputs.result }}}}"
    }


# -- the command it runs ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ci_run(tmp_path_factory, workflow):
    """The workflow's Grade step, run by bash in a fake runner on a student repository."""
    from conftest import make_submission

    root = tmp_path_factory.mktemp("runner")
    repo = make_submission(root / "workspace", {"relu": RELU_BROKEN})
    return (*grade_step(workflow, root, repo), root)


def grade_step(workflow, root, repo):
    """The workflow's Grade step, run by bash in a fake runner (``root``) on ``repo``:
    (process, step summary, step outputs)."""
    (repo / "harness").mkdir()  # a student's own `harness` must not be what runs
    (repo / "harness" / "__init__.py").write_text("raise SystemExit('the student harness ran')\n")
    summary, outputs = root / "summary.md", root / "outputs.txt"
    summary.touch()
    outputs.touch()
    env = {
        **os.environ,
        "GITHUB_ACTIONS": "true",
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_OUTPUT": str(outputs),
        "RUNNER_TEMP": str(root / "temp"),
        "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"],
    }
    command = step(workflow, "Grade")["run"] + " --no-train"  # training is tested elsewhere
    proc = subprocess.run(
        ["bash", "-c", command], cwd=repo, env=env, capture_output=True, text=True, timeout=120
    )
    return proc, summary.read_text(), outputs.read_text()


@pytest.mark.slow
def test_the_command_fails_the_job_on_failures(ci_run):
    proc, *_ = ci_run
    assert proc.returncode == 1, proc.stderr
    assert "student harness" not in proc.stdout + proc.stderr


@pytest.mark.slow
def test_the_command_annotates_the_failing_functions(ci_run):
    proc, *_ = ci_run
    errors = [line for line in proc.stdout.splitlines() if line.startswith("::error")]
    assert len(errors) == 2, errors
    forward, backward = errors
    # relu_forward: no traceback, so the annotation sits on its def line.
    assert forward.startswith("::error file=relu.py,line=4,title=relu_forward%3A 1 check not passed")
    assert "forward.relu (FAIL" in forward and "hint (likely cause): the output matches min(x, 0)" in forward
    # relu_backward raises: the annotation sits on the raising line.
    assert backward.startswith("::error file=relu.py,line=12,title=relu_backward%3A 3 checks not passed")
    assert "%0Areproduce: python -m harness grade . --only backward.relu.input" in backward


@pytest.mark.slow
def test_each_annotation_counts_its_functions_whole_loss(ci_run):
    """The title's points lost are the function's, as the Classroom result has them (its maximum
    minus its score), also when a check that passed was cancelled by wrong values."""
    proc, summary, outputs, root = ci_run
    values = dict(line.split("=", 1) for line in outputs.splitlines())
    result = {t["name"]: t for t in json.loads(base64.b64decode(values["result"]))["tests"]}
    titles = re.findall(r"^::error [^:]*title=(\w+)%3A [^(]*\(([\d.]+) points lost\)", proc.stdout, re.M)
    assert [name for name, _ in titles] == ["relu_forward", "relu_backward"]
    for name, lost in titles:
        assert float(lost) == pytest.approx(result[name]["max_score"] - result[name]["score"], abs=0.005)
    assert float(dict(titles)["relu_forward"]) == 4  # min(x, 0): nothing right, its properties neither


@pytest.mark.slow
def test_the_command_writes_summary_points_and_report(ci_run):
    proc, summary, outputs, root = ci_run
    assert summary.startswith("## Grade for `.`")
    assert "`forward.relu`" in summary and "artifact **grade-report**" in summary
    lines = proc.stdout.splitlines()
    assert re.fullmatch(r"Points \d+(\.\d+)?/70", lines[-1])
    assert lines[-2] == "::notice title=Autograding complete::" + lines[-1]
    values = dict(line.split("=", 1) for line in outputs.splitlines())
    assert values["points"] == lines[-1].removeprefix("Points ")
    result = json.loads(base64.b64decode(values["result"]))
    assert result["status"] == "fail" and result["max_score"] == 70
    relu = next(t for t in result["tests"] if t["name"] == "relu_forward")
    assert relu["status"] == "fail" and relu["score"] < relu["max_score"] == 4
    assert sum(t["score"] for t in result["tests"]) == pytest.approx(float(values["score"]), abs=0.05)
    assert (root / "temp" / "grade-report" / "report.html").is_file()


# -- the other assignment families ---------------------------------------------------------------

CLASSAPI_RELU_BROKEN = """\
    \"\"\"ReLU with two mistakes: the forward keeps the negative part, the backward raises.\"\"\"
    import numpy as np


    class ReLULayer():
        def __init__(self):
            self.trainable = False

        def forward(self, Input, **kwargs):
            self.Input = Input
            return np.minimum(Input, 0)

        def backward(self, delta):
            scale = 2.0
            raise IndexError('oops')
"""
FAMILY_REPOS = {
    # family: (the broken file, {graded unit: its annotation's line: the def, else the raising line})
    "classapi": ("layers/relu_layer.py", {"ReLULayer.forward": 9, "ReLULayer.backward": 15}),
    # tests/corpus/cs231n/broken/relu_backward_no_mask.py in place of the reference's relu_backward
    "cs231n": ("cs231n/layers.py", {"relu_backward": 0}),
}


@pytest.fixture(scope="module", params=sorted(FAMILY_REPOS))
def family_ci_run(request, tmp_path_factory, workflow):
    """The Grade step on a repository of another family with a broken layer: (family, process,
    summary, outputs, repository)."""
    from conftest import make_classapi_submission, make_cs231n_submission

    family = request.param
    root = tmp_path_factory.mktemp(f"runner_{family}")
    if family == "classapi":
        repo = make_classapi_submission(
            root / "workspace", overrides={"layers/relu_layer.py": CLASSAPI_RELU_BROKEN}
        )
    else:
        repo = make_cs231n_submission(root / "workspace", broken="relu_backward_no_mask")
    return (family, *grade_step(workflow, root, repo), repo)


def expected_line(repo, file: str, unit: str, line: int) -> int:
    """``line`` when given, else the line of ``unit``'s (last) ``def`` in ``file``."""
    if line:
        return line
    tree = ast.parse((repo / file).read_text())
    return [n.lineno for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == unit][-1]


@pytest.mark.slow
def test_other_families_fail_the_job_with_annotations_on_the_broken_layer(family_ci_run):
    family, proc, summary, outputs, repo = family_ci_run
    assert proc.returncode == 1, proc.stderr
    file, units = FAMILY_REPOS[family]
    assert "student harness" not in proc.stdout + proc.stderr
    assert f"assignment family: {family} (detected" in proc.stdout
    errors = [line for line in proc.stdout.splitlines() if line.startswith("::error")]
    assert len(errors) == len(units), errors
    for (unit, line), error in zip(units.items(), errors):
        where = f"::error file={file},line={expected_line(repo, file, unit, line)},"
        assert error.startswith(where + f"title={unit}%3A "), (where, error)
        assert "%0Areproduce: python -m harness grade . --only " in error


@pytest.mark.slow
def test_other_families_summary_and_points(family_ci_run):
    family, proc, summary, outputs, repo = family_ci_run
    _, units = FAMILY_REPOS[family]
    rubric = rubric_mod.load(profiles.get(family).DEFAULT_RUBRIC)
    expected = f"{70 - sum(rubric.points[u] for u in units):g}"  # each broken unit scores 0
    lines = proc.stdout.splitlines()
    assert lines[-1] == f"Points {expected}/70"
    values = dict(line.split("=", 1) for line in outputs.splitlines())
    assert values["points"] == f"{expected}/70" and values["score"] == expected
    result = json.loads(base64.b64decode(values["result"]))
    assert result["status"] == "fail" and result["max_score"] == 70
    assert {t["name"] for t in result["tests"] if t["status"] == "fail"} == set(units)
    assert (
        summary.startswith(f"## Grade for `.`: {expected} / 70\n") and "artifact **grade-report**" in summary
    )
    assert "| ❌ | `backward.relu.input` | 0 / 2.4 |" in summary
    assert f"Score: {expected} / 70" in proc.stdout


# -- annotations and points, on hand-made reports ---------------------------------------------


def test_workflow_command_escaping():
    assert annotate.escape_data("50% done\r\nnext") == "50%25 done%0D%0Anext"
    assert annotate.escape_property("a:b,c") == "a%3Ab%2Cc"
    assert annotate.command("error", "m", file="x.py", line=0, title="") == "::error file=x.py::m"


def test_annotations_skip_hidden_checks_and_unknown_places(tmp_path):
    (tmp_path / "relu.py").write_text("def relu_forward(input):\n    return input\n")
    checks = (
        CheckResult("forward.relu", Status.FAIL, 0, 4, "wrong", function="relu_forward"),
        CheckResult("hidden.forward.relu", Status.FAIL, 0, 1, "secret", function="relu_forward", hidden=True),
        CheckResult("train.lenet", Status.FAIL, 0, 30, "accuracy 0.1", function="train.lenet"),
    )
    checks += (CheckResult("integrity.imports", Status.FAIL, 0, 0, "flagged for review: imports torch"),)
    lines = annotate.workflow_annotations(GradeReport(str(tmp_path), checks, {}), tmp_path)
    assert lines[0] == "::warning title=integrity.imports::flagged for review: imports torch"
    assert lines[1].startswith(
        "::error file=relu.py,line=1,title=relu_forward%3A 1 check not passed (4 points"
    )
    assert "secret" not in "".join(lines)
    assert lines[2].startswith("::error title=train.lenet%3A 1 check not passed")


def test_points_lost_are_the_functions_not_its_failing_checks(tmp_path):
    """A check that passed earns nothing when the function's values are wrong (its gate): the
    annotation's points lost are the function's whole loss, and it shows that check too."""
    (tmp_path / "relu.py").write_text("def relu_forward(input):\n    return input\n")
    checks = (
        CheckResult("forward.relu", Status.FAIL, 0.4, 2.4, "6 of 7 cases fail", function="relu_forward"),
        CheckResult(
            "properties.relu.forward",
            Status.PASS,
            0.2,
            1.2,
            "all 3 cases pass; points scaled by forward.relu (1 of 7 cases right): ...",
            function="relu_forward",
        ),
        CheckResult("gradcheck.relu.input", Status.PASS, 0.4, 0.4, "ok", function="relu_forward"),
        CheckResult("hidden.forward.relu", Status.FAIL, 0, 1, "secret", function="relu_forward", hidden=True),
    )
    (line,) = annotate.workflow_annotations(GradeReport(str(tmp_path), checks, {}), tmp_path)
    # 2.4 - 0.4 + 1.2 - 0.2 (not 2, the failing check's alone); the hidden check neither counted nor shown
    assert line.startswith(
        "::error file=relu.py,line=1,title=relu_forward%3A 1 check not passed (3 points lost)"
    )
    assert "%0Aproperties.relu.forward (PASS, 0.2/1.2): all 3 cases pass; points scaled by" in line
    assert "gradcheck.relu.input" not in line and "secret" not in line


def test_annotation_paths_are_relative_to_the_repository(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "relu.py").write_text(
        "import numpy\n\n@staticmethod\ndef relu_forward(x):\n    pass\n"
    )
    where = annotate.locations(tmp_path)
    assert where["relu_forward"] == annotate.Where("src/relu.py", 3, 5)


def test_autograder_error_is_one_annotation_and_zero_points():
    report = GradeReport(
        "s",
        (CheckResult("forward.relu", Status.PASS, 4, 4, "ok", function="relu_forward"),),
        {},
        autograder_error="KeyError: 'conv'\ntraceback",
    )
    (line,) = annotate.workflow_annotations(report)
    assert line.startswith("::error title=Autograder error::") and AUTOGRADER_ERROR[:40] in line
    assert classroom.points_line(report) == "Points 0/4"
    result = classroom.result(report)
    assert result["status"] == "error" and result["tests"][0]["name"] == "autograder error"
    assert sum(t["score"] for t in result["tests"]) == 0


def test_a_compile_error_is_shown_once_with_its_line_and_annotated_there(tmp_path):
    from conftest import make_submission

    from harness.grade import grade
    from harness.options import Options, TrainOptions

    source = "import numpy as np\n\n\ndef relu_forward(input):\n    return np.maximum(input['data'] 0)\n"
    path = make_submission(
        tmp_path / "repo", {"relu": source + "\n\ndef relu_backward(o, i, l):\n    pass\n"}
    )
    report = grade(path, Options(only=("*.relu*",), training=TrainOptions(enabled=False)))
    relu = [c for c in report.checks if ".relu" in c.id]
    assert len(relu) > 2 and all(c.message.startswith("relu.py does not compile (line 5): ") for c in relu)
    shown = [c for c in relu if "np.maximum(input['data'] 0)" in c.details]
    assert len(shown) == 1 and "^" in shown[0].details  # the source line once, with a caret
    assert all(f"(shown under {shown[0].id})" in c.message for c in relu if c is not shown[0])
    (line,) = [a for a in annotate.workflow_annotations(report, path) if "relu" in a]
    assert line.startswith("::error file=relu.py,line=5,title=relu.py does not compile")
    assert "relu_forward, relu_backward" in line and "np.maximum(input['data'] 0)" in line


def test_annotations_sit_on_the_definition_python_runs(tmp_path):
    """A function defined twice (a stub left above the real one) is bound to its last ``def``."""
    (tmp_path / "layers").mkdir()
    (tmp_path / "layers" / "relu_layer.py").write_text(
        "class ReLULayer:\n    def backward(self, d):\n        pass\n\n"
        "    def backward(self, d):\n        return d\n"
    )
    (tmp_path / "cs231n").mkdir()
    (tmp_path / "cs231n" / "layers.py").write_text(
        "def relu_backward(dout, cache):\n    pass\n\n\ndef relu_backward(dout, cache):\n    return dout\n"
    )
    assert annotate.locations(tmp_path, "classapi")["ReLULayer.backward"] == annotate.Where(
        "layers/relu_layer.py", 5, 6
    )
    assert annotate.locations(tmp_path / "cs231n", "cs231n")["relu_backward"] == annotate.Where(
        "layers.py", 5, 6
    )
