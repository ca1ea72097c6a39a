"""The Gradescope bundle, built by the CLI and run end to end in a fake /autograder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import RELU_BROKEN, make_classapi_submission, make_cs231n_submission, make_submission

from harness import cli, options, profiles
from harness.checks import rubric as rubric_mod
from harness.core import paths
from harness.deploy import gradescope_bundle


def build_bundle(out: Path, choice: tuple[str, ...] = ("--rubric", str(paths.DEFAULT_RUBRIC))) -> int:
    """``python -m harness gradescope`` with the hidden seed 5, given as the environment does;
    ``choice``: the rubric or profile options (default: the dict API's rubric)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(options.HIDDEN_SEED_ENV, "5")
        return cli.main(["gradescope", "--out", str(out), "--no-train", *choice])


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "autograder.zip"
    assert build_bundle(out) == 0
    return out


def autograder(tmp_path: Path, bundle: Path, submission: Path | None) -> Path:
    """A fake /autograder: source/ unzipped from the bundle, submission/ filled as Gradescope does."""
    root = tmp_path / "autograder"
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(root / "source")
    (root / "submission").mkdir()
    if submission is not None:
        shutil.copytree(submission, root / "submission", dirs_exist_ok=True)
    return root


def run_autograder(root: Path, python: str = sys.executable) -> dict:
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "HARNESS_PYTHON": python}
    env.pop(options.HIDDEN_SEED_ENV, None)
    proc = subprocess.run(
        ["bash", str(root / "source" / "run_autograder")],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr  # Gradescope reads results.json whatever happened
    return json.loads((root / "results" / "results.json").read_text())


# -- the zip ----------------------------------------------------------------------------------


def test_bundle_layout(bundle):
    with zipfile.ZipFile(bundle) as zf:
        names = zf.namelist()
        infos = {i.filename: i for i in zf.infolist()}
        config = json.loads(zf.read("config/bundle.json"))
        assert zf.read("config/hidden_seed") == b"5\n"
        assert infos["config/hidden_seed"].external_attr >> 16 & 0o777 == 0o600
    assert names[:2] == ["setup.sh", "run_autograder"]
    for script in ("setup.sh", "run_autograder"):
        assert infos[script].external_attr >> 16 & 0o777 == 0o755
    project = gradescope_bundle.PROJECT
    for needed in (
        "harness/__init__.py",
        "harness/fixtures_lock.json",
        "fixtures/manifest.json",
        "reference/conv_layer.py",
        "pyproject.toml",
        "README.md",
    ):
        assert f"{project}/{needed}" in names
    assert not [n for n in names if "__pycache__" in n or n.startswith(f"{project}/tests/")]
    assert config["grade_args"] == ["--no-train"] and config["rubric"] == "rubric.toml"
    assert "config/rubric.toml" in names


def test_bundle_is_reproducible(bundle, tmp_path):
    again = tmp_path / "again.zip"
    assert build_bundle(again) == 0
    assert again.read_bytes() == bundle.read_bytes()


def test_scripts_are_valid_bash(bundle, tmp_path):
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(tmp_path)
    for script in ("setup.sh", "run_autograder"):
        assert subprocess.run(["bash", "-n", str(tmp_path / script)]).returncode == 0


def test_bad_rubric_is_refused(tmp_path, capsys):
    bad = tmp_path / "rubric.toml"
    bad.write_text('name = "no points"\n')
    assert cli.main(["gradescope", "--out", str(tmp_path / "a.zip"), "--rubric", str(bad)]) == 2
    assert "malformed rubric" in capsys.readouterr().err
    assert not (tmp_path / "a.zip").exists()


# -- end to end -------------------------------------------------------------------------------


@pytest.mark.slow
def test_reference_scores_full_marks(bundle, tmp_path):
    results = run_autograder(autograder(tmp_path, bundle, paths.REFERENCE_DIR))
    assert results["score"] == pytest.approx(70)
    assert all(t["status"] == "passed" for t in results["tests"] if t["max_score"])
    hidden = [t for t in results["tests"] if t["name"].startswith("hidden.")]
    assert hidden and all(t["visibility"] == "after_due_date" for t in hidden)


@pytest.mark.slow
def test_broken_submission_loses_the_right_points(bundle, tmp_path):
    student = make_submission(tmp_path / "student" / "my_repo", {"relu": RELU_BROKEN})
    results = run_autograder(autograder(tmp_path, bundle, student.parent))
    failed = {t["name"] for t in results["tests"] if t["status"] == "failed"}
    assert "forward.relu (relu_forward)" in failed
    assert all(".relu" in name for name in failed)
    assert 60 < results["score"] < 70
    forward = next(t for t in results["tests"] if t["name"] == "forward.relu (relu_forward)")
    assert "min(x, 0)" in forward["output"]


@pytest.mark.slow
def test_empty_submission_is_an_autograder_error_not_a_silent_zero(bundle, tmp_path):
    results = run_autograder(autograder(tmp_path, bundle, None))
    assert results["score"] == 0
    assert results["tests"][0]["name"] == "Autograder error: contact staff"
    assert "none of the assignment's functions" in results["output"]


def test_a_runner_that_cannot_start_still_writes_results(bundle, tmp_path):
    results = run_autograder(autograder(tmp_path, bundle, paths.REFERENCE_DIR), python="/bin/false")
    assert results["score"] == 0 and "Autograder error" in results["output"]


# -- the other assignment families ------------------------------------------------------------

CLASSAPI_RUBRIC = paths.ROOT / "harness" / "rubrics" / "classapi.toml"


@pytest.fixture(scope="module")
def family_bundles(tmp_path_factory) -> dict[str, Path]:
    """Bundles choosing the family three ways: ``auto`` (no --rubric: each submission's family is
    detected, graded with that family's rubric), ``rubric`` (--rubric classapi.toml) and
    ``mapping`` (--profile FILE.toml, a mapping file that exists only where the bundle is built)."""
    root = tmp_path_factory.mktemp("family_bundles")
    mapping = root / "my_course.toml"
    shutil.copyfile(profiles.get("classapi").spec["source"], mapping)
    choices = {
        "auto": (),
        "rubric": ("--rubric", str(CLASSAPI_RUBRIC)),
        "mapping": ("--profile", str(mapping)),
    }
    built = {}
    for name, choice in choices.items():
        built[name] = root / f"{name}.zip"
        assert build_bundle(built[name], choice) == 0
    mapping.unlink()  # Gradescope's machine never had it
    return built


FAMILY_CASES = [
    # (bundle, family, broken corpus entry or None, function it breaks)
    ("auto", "cs231n", None, ""),
    ("auto", "classapi", None, ""),
    ("auto", "cs231n", "relu_backward_no_mask", "relu_backward"),
    ("auto", "classapi", "relu_no_mask", "ReLULayer.backward"),
    ("rubric", "classapi", "relu_no_mask", "ReLULayer.backward"),
    ("mapping", "classapi", "relu_no_mask", "ReLULayer.backward"),
]


def family_submission(folder: Path, family: str, broken: str | None) -> Path:
    make = {"cs231n": make_cs231n_submission, "classapi": make_classapi_submission}[family]
    return make(folder, broken)


@pytest.mark.slow
@pytest.mark.parametrize(
    "bundle_name, family, broken, function",
    FAMILY_CASES,
    ids=[f"{b}-{f}-{x or 'reference'}" for b, f, x, _ in FAMILY_CASES],
)
def test_other_families_get_their_points(family_bundles, tmp_path, bundle_name, family, broken, function):
    student = family_submission(tmp_path / "student" / "repo", family, broken)
    results = run_autograder(autograder(tmp_path, family_bundles[bundle_name], student.parent))
    assert "Autograder error" not in results.get("output", ""), results.get("output")
    family_line = next(line for line in results["output"].splitlines() if "assignment family: " in line)
    if bundle_name == "mapping":  # the file shipped in the bundle, not the one it was built from
        assert family_line.endswith("/source/config/profile.toml (chosen with --profile)"), family_line
    else:
        assert f"assignment family: {family} (" in family_line
    points = rubric_mod.load(profiles.get(family).DEFAULT_RUBRIC).points
    lost = points[function] if function else 0
    assert results["score"] == pytest.approx(70 - lost)
    graded = [t for t in results["tests"] if t["max_score"]]
    failed = {t["name"] for t in graded if t["status"] == "failed"}
    assert all(name.endswith(f"({function})") for name in failed) and bool(failed) == bool(broken), failed
    mine = [t for t in graded if t["name"].endswith(f"({function})")]
    assert sum(t["score"] for t in mine) == 0 if broken else not mine
    hidden = [t for t in results["tests"] if t["name"].startswith("hidden.")]
    assert hidden and all(t["visibility"] == "after_due_date" for t in hidden)


@pytest.mark.slow
def test_a_rubric_of_one_family_grades_every_submission_as_that_family(family_bundles, tmp_path):
    """The classapi rubric's bundle handed a dict API submission: an autograder error saying what
    it looked for, never a silent 0 nor a grade by the wrong family's rubric."""
    student = make_submission(tmp_path / "student" / "repo")  # the dict API's modules only
    results = run_autograder(autograder(tmp_path, family_bundles["rubric"], student.parent))
    assert results["score"] == 0 and results["tests"][0]["name"] == "Autograder error: contact staff"
    assert "none of the assignment's functions (ConvLayer.backward" in results["output"]


def test_a_mapping_file_is_shipped_in_the_bundle(family_bundles):
    with zipfile.ZipFile(family_bundles["mapping"]) as zf:
        config = json.loads(zf.read("config/bundle.json"))
        shipped = zf.read("config/profile.toml").decode()
    assert config["profile"] == "profile.toml" and "--profile" not in config["grade_args"]
    assert 'class = "ConvLayer"' in shipped


def test_a_bad_mapping_file_is_refused(tmp_path):
    bad = tmp_path / "course.toml"
    bad.write_text("[layers.relu]\nmodule = 'r'\n")
    with pytest.raises(gradescope_bundle.BundleError, match="malformed profile"):
        gradescope_bundle.build(tmp_path / "a.zip", [], profile=bad)
    assert not (tmp_path / "a.zip").exists()


# -- setup.sh's self-test: the references of the families the bundle grades -------------------


def config_root(tmp_path: Path, bundle: Path) -> Path:
    """A fake /autograder holding only the bundle's ``config/`` (what ``selftest_plan`` reads)."""
    root = tmp_path / "autograder"
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(root / "source", [n for n in zf.namelist() if n.startswith("config/")])
    return root


def test_setup_grades_the_bundles_families_not_only_the_dict_api(bundle):
    with zipfile.ZipFile(bundle) as zf:
        setup = zf.read("setup.sh").decode()
    assert "-m harness.deploy.gradescope_bundle selftest" in setup
    assert "lenet-harness/reference" not in setup  # the dict API's reference, whatever the bundle


def test_selftest_plan_is_the_bundles_families_graded_as_configured(bundle, family_bundles, tmp_path):
    def plan(name: str, built: Path):
        root = config_root(tmp_path / name, built)
        config = root / "source" / "config"
        return [(f, r, opts, note) for f, r, opts, note in gradescope_bundle.selftest_plan(root)], config

    dictapi, config = plan("dictapi", bundle)  # --rubric default.toml
    assert [(f, r) for f, r, *_ in dictapi] == [("dictapi", paths.REFERENCE_DIR)]
    opts = dictapi[0][2]
    assert opts[:3] == ["--no-train", "--rubric", str(config / "rubric.toml")]
    assert opts[-2:] == ["--hidden-seed-file", str(config / "hidden_seed")]  # graded as a submission
    auto, _ = plan("auto", family_bundles["auto"])  # detected per submission: every family
    assert [(f, r) for f, r, *_ in auto] == [(n, p.REFERENCE_DIR) for n, p in profiles.PROFILES.items()]
    assert all("--profile" not in opts for _, _, opts, _ in auto)  # each detected as its students
    (rubric,), config = plan("rubric", family_bundles["rubric"])
    assert rubric[:2] == ("classapi", profiles.get("classapi").REFERENCE_DIR)
    assert rubric[2][1:3] == ["--rubric", str(config / "rubric.toml")]
    (mapping,), config = plan("mapping", family_bundles["mapping"])  # the shipped names: as shipped
    assert mapping[0] == "classapi" and mapping[3] == ""
    assert mapping[2][-4:-2] == ["--profile", str(config / "profile.toml")]


def test_selftest_plan_of_a_course_with_its_own_names(family_bundles, tmp_path):
    """A mapping file naming other classes cannot grade the shipped reference: the family's
    reference is graded as the family, and the plan says why."""
    root = config_root(tmp_path, family_bundles["mapping"])
    course = root / "source" / "config" / "profile.toml"
    course.write_text(course.read_text().replace('class = "ReLULayer"', 'class = "Relu"'))
    ((family, reference, opts, note),) = gradescope_bundle.selftest_plan(root)
    assert (family, reference) == ("classapi", profiles.get("classapi").REFERENCE_DIR)
    assert opts[-2:] == ["--profile", "classapi"] and str(course) not in opts
    assert "the course's own classes" in note
    # a family named in the grade options
    bundle_json = root / "source" / "config" / "bundle.json"
    config = json.loads(bundle_json.read_text())
    bundle_json.write_text(json.dumps({**config, "profile": None, "grade_args": ["--profile", "cs231n"]}))
    assert [f for f, *_ in gradescope_bundle.selftest_plan(root)] == ["cs231n"]


@pytest.mark.slow
def test_selftest_grades_the_reference_through_the_bundles_mapping(family_bundles, tmp_path, capsys):
    root = config_root(tmp_path, family_bundles["mapping"])
    assert gradescope_bundle.selftest(root) == 0
    out = capsys.readouterr().out
    assert "self-test: the classapi reference (" in out and "70 / 70" in out


@pytest.mark.slow
def test_a_failing_selftest_fails_setup(bundle, tmp_path, monkeypatch, capsys):
    root = config_root(tmp_path, bundle)
    plan = [("dictapi", paths.TEMPLATE_DIR, ["--only", "forward.relu"], "")]  # the starter: 0
    monkeypatch.setattr(gradescope_bundle, "selftest_plan", lambda root: plan)
    assert gradescope_bundle.selftest(root) == 1
    assert "self-test FAILED: the dictapi reference (graded as dictapi) scored 0" in capsys.readouterr().err
