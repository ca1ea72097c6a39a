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
from harness.sandbox import landlock

pytestmark = pytest.mark.slow

NO_TRAIN = Options(training=TrainOptions(enabled=False))
FAMILIES = student_kit.families()


def family_reference(family: str, dest: Path) -> Path:
    """A copy of ``family``'s reference, laid out as a submission (no other family's folder in it)."""
    others = {profiles.get(f).REFERENCE_DIR.resolve() for f in profiles.PROFILES if f != family}
    source = profiles.get(family).REFERENCE_DIR

    def ignore(folder: str, names: list[str]) -> list[str]:
        return [n for n in names if n == "__pycache__" or (Path(folder) / n).resolve() in others]

    shutil.copytree(source, dest, ignore=ignore)
    return dest


def test_every_family_on_main_is_in_the_kit():
    """The kit covers the registry, not a list written here: a new family is in the next kit."""
    from harness.cases import families

    assert set(FAMILIES) == set(profiles.PROFILES) == set(families.MODULES)


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


def _reference_files() -> list[Path]:
    """Every file of every family's reference (the registry's ``REFERENCE_DIR``s)."""
    return sorted(
        {
            f
            for family in profiles.PROFILES
            for f in profiles.get(family).REFERENCE_DIR.rglob("*")
            if f.is_file() and "__pycache__" not in f.parts
        }
    )


def test_the_kit_holds_no_reference_and_no_module_with_reference_math(kit):
    files = {p.relative_to(kit).as_posix() for p in kit.rglob("*") if p.is_file()}
    assert not [f for f in files if f.startswith(("reference/", "tests/", ".git", "student_template/"))]
    for family in profiles.PROFILES:  # no family's reference folder, wherever the registry puts it
        where = profiles.get(family).REFERENCE_DIR.resolve().relative_to(paths.ROOT).as_posix()
        assert not [f for f in files if f.startswith(where + "/")], family
    assert not set(student_kit.WITHHELD) & files
    assert {"pyproject.toml", "README.md", "KIT.json"} <= files  # pip install -e needs both of the first
    assert (kit / "harness/cases/reference.py").read_text() == (
        paths.PACKAGE_DIR / "cases/recorded.py"
    ).read_text()
    for generated in student_kit.GENERATED:  # the mistakes' texts only: no prediction, no correct code
        tree = ast.parse((kit / generated).read_text())
        assert set(_bodies(tree)) <= {"applies"}, f"the kit's {generated} computes something"
    # No file of any family's reference, under any name; no function of the kit with the body of
    # any function of any family's reference (graded, helper or provided), whatever its name.
    copies = {f.read_bytes() for f in _reference_files()}
    assert not [f for f in files if (kit / f).read_bytes() in copies]
    solution = {
        body
        for f in _reference_files()
        if f.suffix == ".py"
        for body in _bodies(ast.parse(f.read_text())).values()
    }
    assert solution, "no reference function found: the test would prove nothing"
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
    """Any input the kit was not built with is refused, in every family: it cannot stand in for a
    solution."""
    code = textwrap.dedent(
        """
        from harness import profiles
        from harness.cases import families, reference
        refused = asked = 0
        for family in profiles.PROFILES:
            drawn = families.random_cases(0, family)  # the gradient checks' cases: recorded
            for op in profiles.get(family).FUNCTIONS:
                case = next(c for c in drawn if c.op == op)
                reference.run(op, case.params, case.arrays, profile=family)  # answered
                moved = {k: v * 1.5 + 0.25 for k, v in case.arrays.items()}
                asked += 1
                try:
                    reference.run(op, case.params, moved, profile=family)
                except reference.KitError:
                    refused += 1
        for module in ("harness.diagnose.mutants", "harness.deploy.student_kit"):
            try:
                __import__(module)
            except ModuleNotFoundError:
                print("no", module)
        try:
            reference.functions()
        except reference.KitError:
            print("no functions")
        print("refused", refused, "of", asked)
        """
    )
    proc = subprocess.run([kit_python, "-I", "-c", code], capture_output=True, text=True, timeout=300)
    lines = proc.stdout.split("\n")
    assert {"no harness.diagnose.mutants", "no harness.deploy.student_kit", "no functions"} <= set(lines), (
        proc.stdout + proc.stderr
    )
    asked = sum(len(profiles.get(f).FUNCTIONS) for f in profiles.PROFILES)
    assert f"refused {asked} of {asked}" in lines, proc.stdout + proc.stderr


# -- what the kit does ----------------------------------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
def test_the_kit_grades_each_familys_reference_with_full_marks(kit_python, tmp_path, family):
    correct = family_reference(family, tmp_path / "submission")
    report = kit_grade(kit_python, correct, tmp_path / "reports", "--no-train")
    assert not report.get("autograder_error"), report.get("autograder_error")
    assert report["provenance"]["profile"] == family
    assert not [c["id"] for c in report["checks"] if c["status"] != Status.PASS.value]
    ours = grade(correct, NO_TRAIN)  # the same checks as the course's grader, public cases
    # ... but the integrity flags: the kit cannot flag a copy of a reference it does not hold
    unit = sorted(c.id for c in ours.checks if not c.id.startswith("integrity."))
    assert sorted(c["id"] for c in report["checks"] if not c["id"].startswith("integrity.")) == unit
    assert report["score"] == report["max_score"] == ours.max_score > 0


def _corpus_submission(family: str, name: str, dest: Path) -> Path:
    """A broken corpus submission: the family's reference with the corpus entry over it (a folder
    of modules replacing the reference's, or one file of definitions appended to the family's
    one module)."""
    corpus = paths.ROOT / "tests" / "corpus" / ("" if family == profiles.DEFAULT else family) / "broken"
    submission = family_reference(family, dest)
    if (corpus / name).is_dir():
        shutil.copytree(corpus / name, submission, dirs_exist_ok=True)
        return submission
    prof = profiles.get(family)
    (module,) = {prof.MODULES[fn] for fn in prof.FUNCTIONS.values()}  # one module holds them all
    target = next(submission.rglob(f"{module}.py"))
    source = (corpus / f"{name}.py").read_text()
    target.write_text(target.read_text() + "\n\n" + source)  # the corpus' definitions win
    return submission


# Per family, broken submissions whose mistakes the grader names from predictions (the kit's
# fingerprints): shared mistakes and the family's own.
NAMED = [
    ("dictapi", "conv_flipped_kernel"),
    ("dictapi", "ip_weight_grad_transposed"),
    ("cs231n", "conv_w_axes_swapped"),
    ("cs231n", "softmax_sum_not_mean"),
    ("classapi", "conv_flipped_kernel"),
    ("classapi", "conv_weight_grad_batch_mean"),
]


def test_the_named_mistakes_cover_every_family():
    assert {family for family, _ in NAMED} == set(FAMILIES)


@pytest.mark.parametrize(("family", "mistake"), NAMED, ids=[f"{f}-{m}" for f, m in NAMED])
def test_the_kit_names_the_mistake_the_grader_names(kit_python, tmp_path, family, mistake):
    submission = _corpus_submission(family, mistake, tmp_path / mistake)
    ours = grade(submission, NO_TRAIN)
    failing = [
        c for c in ours.checks if c.status is Status.FAIL and c.hint and not c.id.startswith("gradcheck")
    ]
    assert failing, "the grader names no mistake here: nothing to compare"
    only = [arg for c in failing for arg in ("--only", c.id)]
    theirs = kit_grade(kit_python, submission, tmp_path / "kit-reports", "--no-train", *only)
    assert theirs["provenance"]["profile"] == family
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


def test_the_kit_trains_and_scores_with_the_submissions_own_layers(kit_python, tmp_path):
    """The kit has no trusted forward: the held-out digits are scored by the submission's own
    forward passes, which for the reference's layers gives the grader's accuracy exactly."""
    correct = make_submission(tmp_path / "correct")
    budget = ("--only", "train.lenet", "--train-iterations", "20")
    theirs = kit_grade(kit_python, correct, tmp_path / "kit-reports", *budget)
    assert not theirs.get("autograder_error"), theirs.get("autograder_error")
    (trained,) = [c for c in theirs["checks"] if c["id"] == "train.lenet"]
    assert any("no speed estimate in the student kit" in n for n in theirs["notices"]), theirs["notices"]
    ours = grade(correct, Options(only=("train.lenet",), training=TrainOptions(iterations=20)))
    (graded,) = [c for c in ours.checks if c.id == "train.lenet"]
    assert trained["numbers"]["accuracy"] == graded.numbers["accuracy"] > 0.1, (trained, graded)
    assert trained["status"] == graded.status.value


READS_THE_KIT = """
import gc, sys


def _disarm():  # the audit hook stops refusing anything (tests/test_hostile_walls.py)
    serve = sys.modules.get("harness.child.serve")
    if serve is not None:
        serve._HANDLERS.clear()
    for o in gc.get_objects():
        if type(o).__name__ == "Guard":
            o.protected, o.protected_names, o.writable = (), frozenset(), ("/",)


def relu_forward(input):
    _disarm()
    read = []
    for path in {paths!r}:
        try:
            with open(path, "rb") as f:
                read.append(len(f.read()))
        except OSError:
            pass
    output = {{key: input[key] for key in ("height", "width", "channel", "batch_size")}}
    output["data"] = input["data"] * (0.0 if read else 1.0) * (input["data"] > 0)
    return output
"""


@pytest.mark.skipif(not landlock.abi(), reason="the kit's files are walled by Landlock (Linux >= 5.13)")
def test_the_kits_child_cannot_read_the_recorded_answers_or_fingerprints(kit, kit_python, tmp_path):
    """Under the walls, a submission that disarms the audit hook still reads nothing of ``kit/``
    (its ReLU is right only when every read failed), though the files are there to read."""
    secrets = [str(kit / "kit" / "recorded.npz"), str(kit / "kit" / "fingerprints.json")]
    assert all(Path(p).stat().st_size > 0 for p in secrets)
    submission = make_submission(tmp_path / "reader", {"relu": READS_THE_KIT.format(paths=secrets)})
    theirs = kit_grade(
        kit_python, submission, tmp_path / "kit-reports", "--no-train", "--only", "forward.relu"
    )
    assert not theirs.get("autograder_error"), theirs.get("autograder_error")
    assert [(c["id"], c["status"]) for c in theirs["checks"] if c["id"] == "forward.relu"] == [
        ("forward.relu", Status.PASS.value)
    ], theirs["checks"]


def test_the_kit_says_why_it_cannot_train_with_provided_functions(kit, kit_python, tmp_path):
    """The historical rubric's course provides layers the kit does not hold: the training check
    says so (ERROR with what to do), never an autograder error."""
    correct = make_submission(tmp_path / "correct")
    rubric = str(kit / "harness" / "rubrics" / "historical.toml")
    theirs = kit_grade(
        kit_python, correct, tmp_path / "kit-reports", "--rubric", rubric, "--only", "train.lenet"
    )
    assert not theirs.get("autograder_error"), theirs.get("autograder_error")
    (trained,) = [c for c in theirs["checks"] if c["id"] == "train.lenet"]
    assert trained["status"] == Status.ERROR.value
    assert "the student kit cannot train with the functions the course provides" in trained["message"]
