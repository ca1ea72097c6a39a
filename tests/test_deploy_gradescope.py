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
from conftest import RELU_BROKEN, make_submission

from harness import cli, options
from harness.core import paths
from harness.deploy import gradescope_bundle


def build_bundle(out: Path) -> int:
    """``python -m harness gradescope`` with the hidden seed 5, given as the environment does."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(options.HIDDEN_SEED_ENV, "5")
        return cli.main(
            ["gradescope", "--out", str(out), "--no-train", "--rubric", str(paths.DEFAULT_RUBRIC)]
        )


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
