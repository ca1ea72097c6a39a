"""The student kit (``python -m harness student-kit``): no solution inside, full marks for a correct
submission, the grader's diagnoses from fingerprints.

The kit is built once, by the real command, and run by an interpreter that sees the kit and
no other harness (a bare venv whose only path entries are the kit and this venv's third-party
packages), so its sandboxed children import the kit's own modules, as on a student's runner.
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest
from conftest import make_submission

from harness import cli, profiles
from harness.core import paths
from harness.core.model import Status
from harness.deploy import student_kit
from harness.grade import grade
from harness.options import Options, TrainOptions

pytestmark = pytest.mark.slow

NO_TRAIN = Options(training=TrainOptions(enabled=False))
GRADED = tuple(profiles.get().FUNCTIONS.values())


@pytest.fixture(scope="session")
def kit(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("kit") / "kit"
    assert cli.main(["student-kit", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="session")
def kit_python(kit, tmp_path_factory) -> str:
    """A Python whose ``harness`` is the kit's: a venv without packages, pointed at the kit first."""
    venv = tmp_path_factory.mktemp("kitvenv") / "venv"
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # A path line adds a folder without running the .pth files in it (this venv's editable harness).
    Path(site, "kit.pth").write_text(f"{kit}\n{sysconfig.get_paths()['purelib']}\n")
    where = subprocess.run(
        [python, "-I", "-c", "import harness; print(harness.__file__)"], capture_output=True, text=True
    )
    assert where.stdout.strip() == str(kit / "harness" / "__init__.py"), where
    return python


def kit_grade(python: str, submission: Path, out: Path, *args: str) -> dict:
    proc = subprocess.run(
        [python, "-I", "-m", "harness", "grade", str(submission), "--out", str(out), "--no-html", "--quiet"]
        + list(args),
        capture_output=True,
        text=True,
        timeout=900,
        cwd=out.parent,
    )
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    return json.loads((out / "report.json").read_text())


# -- what the kit holds -------------------------------------------------------------------------


def _bodies(tree: ast.AST) -> dict[str, str]:
    return {
        n.name: ast.dump(ast.Module(body=n.body, type_ignores=[]))
        for n in ast.walk(tree)
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
    }


def test_the_kit_holds_no_reference_and_no_module_with_reference_math(kit):
    files = {p.relative_to(kit).as_posix() for p in kit.rglob("*") if p.is_file()}
    assert not [f for f in files if f.startswith(("reference/", "tests/", ".git", "student_template/"))]
    assert not set(student_kit.WITHHELD) & files
    assert {"pyproject.toml", "README.md", "KIT.json"} <= files  # pip install -e needs both of the first
    assert (kit / "harness/cases/reference.py").read_text() == (
        paths.PACKAGE_DIR / "cases/recorded.py"
    ).read_text()
    mistakes = ast.parse((kit / student_kit.GENERATED).read_text())
    assert set(_bodies(mistakes)) <= {"applies"}, "the kit's mistakes module computes something"
    # No function of the kit has the body of a graded function of the reference, whatever its name.
    solution = {
        body
        for f in paths.REFERENCE_DIR.glob("*.py")
        for name, body in _bodies(ast.parse(f.read_text())).items()
        if name in GRADED
    }
    for f in kit.rglob("*.py"):
        copied = [name for name, body in _bodies(ast.parse(f.read_text())).items() if body in solution]
        assert not copied, f"{f.relative_to(kit)}: {copied} hold the reference's code"


def test_grading_the_kits_own_files_as_a_submission_scores_zero(kit, tmp_path):
    flat = tmp_path / "kit_as_submission"
    flat.mkdir()
    for f in kit.rglob("*.py"):
        shutil.copyfile(f, flat / f.relative_to(kit).as_posix().replace("/", "__"))
    alone = grade(flat, NO_TRAIN)
    assert "none of the assignment's functions" in alone.autograder_error, alone.autograder_error
    # Beside the starter code's documented stubs, the kit's modules earn nothing either.
    for f in paths.TEMPLATE_DIR.glob("*.py"):
        shutil.copyfile(f, flat / f.name)
    report = grade(flat, NO_TRAIN)
    assert not report.autograder_error, report.autograder_error
    assert report.max_score > 0 and report.score == 0, [(c.id, c.score) for c in report.checks if c.score]


def test_the_kits_reference_computes_nothing_new(kit_python):
    """Any input the kit was not built with is refused: it cannot stand in for a solution."""
    code = textwrap.dedent(
        """
        from harness.cases import fixtures, reference
        from harness.core.ops import OPS
        refused = 0
        for op in OPS:
            case, expected = fixtures.load(op)[0]
            moved = {k: v * 1.5 + 0.25 for k, v in case.arrays.items()}
            try:
                reference.run(op, case.params, moved)
            except reference.KitError:
                refused += 1
        try:
            import harness.diagnose.mutants
        except ModuleNotFoundError:
            print("no mutants")
        try:
            reference.functions()
        except reference.KitError:
            print("no functions")
        print("refused", refused, "of", len(OPS))
        """
    )
    proc = subprocess.run([kit_python, "-I", "-c", code], capture_output=True, text=True, timeout=300)
    lines = proc.stdout.split("\n")
    assert "no mutants" in lines and "no functions" in lines, proc.stdout + proc.stderr
    from harness.core.ops import OPS

    assert f"refused {len(OPS)} of {len(OPS)}" in lines, proc.stdout + proc.stderr


# -- what the kit does ----------------------------------------------------------------------------


def test_the_kit_grades_a_correct_submission_with_full_marks(kit_python, tmp_path):
    correct = make_submission(tmp_path / "correct")
    report = kit_grade(kit_python, correct, tmp_path / "reports", "--no-train")
    assert not report.get("autograder_error"), report.get("autograder_error")
    assert not [c["id"] for c in report["checks"] if c["status"] != Status.PASS.value]
    ours = grade(correct, NO_TRAIN)  # the same checks as the course's grader, public cases
    assert sorted(c["id"] for c in report["checks"]) == sorted(c.id for c in ours.checks)
    assert report["score"] == report["max_score"] == ours.max_score > 0


@pytest.mark.parametrize("mistake", ["conv_flipped_kernel", "ip_weight_grad_transposed"])
def test_the_kit_names_the_mistake_the_grader_names(kit_python, tmp_path, mistake):
    broken = paths.ROOT / "tests" / "corpus" / "broken" / mistake
    submission = make_submission(tmp_path / mistake)
    for f in broken.glob("*.py"):
        shutil.copyfile(f, submission / f.name)
    ours = grade(submission, NO_TRAIN)
    failing = [
        c for c in ours.checks if c.status is Status.FAIL and c.hint and not c.id.startswith("gradcheck")
    ]
    assert failing, "the grader names no mistake here: nothing to compare"
    only = [arg for c in failing for arg in ("--only", c.id)]
    theirs = kit_grade(kit_python, submission, tmp_path / "kit-reports", "--no-train", *only)
    hints = {c["id"]: c["hint"] for c in theirs["checks"]}
    assert hints == {c.id: c.hint for c in failing}


def test_the_kit_fails_a_wrong_backward_as_the_grader_does(kit_python, tmp_path):
    """The gradient checks differentiate the reference forward: the kit answers from recorded
    points, and a failing gradient is a FAIL, never an autograder error."""
    submission = make_submission(tmp_path / "no_mask")
    for f in (paths.ROOT / "tests" / "corpus" / "broken" / "relu_backward_no_mask").glob("*.py"):
        shutil.copyfile(f, submission / f.name)
    only = ("gradcheck.relu.input", "backward.relu.input")
    ours = grade(submission, Options(only=only, training=TrainOptions(enabled=False)))
    theirs = kit_grade(
        kit_python, submission, tmp_path / "kit-reports", *[a for o in only for a in ("--only", o)]
    )
    assert not theirs.get("autograder_error"), theirs.get("autograder_error")
    assert {c["id"]: c["status"] for c in theirs["checks"]} == {c.id: c.status.value for c in ours.checks}
    assert {c["status"] for c in theirs["checks"]} == {Status.FAIL.value}
