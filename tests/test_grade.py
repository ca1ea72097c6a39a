"""grade(): whole-submission behaviour, through the real sandbox."""

from pathlib import Path

import pytest

from harness.core.model import Status
from harness.grade import grade
from harness.options import Options, TrainOptions

RELU_ONLY = Options(only=("*.relu*",), training=TrainOptions(enabled=False))


def relu_checks(report):
    return [c for c in report.checks if ".relu" in c.id]


def test_a_module_that_does_not_compile_spoils_only_its_own_functions(submission):
    path = submission({"relu": "def relu_forward(input) oops\n"})
    report = grade(path, Options(only=("*.relu*", "forward.conv"), training=TrainOptions(enabled=False)))
    relu = relu_checks(report)
    assert relu and all(c.status is Status.ERROR for c in relu)
    assert all(c.message.startswith("relu.py does not compile (line 1): ") for c in relu)
    conv = [c for c in report.checks if c.id == "forward.conv"]
    assert conv[0].status is Status.PASS  # conv_net.py imports relu, but conv_layer does not


def test_a_missing_module_is_not_implemented_even_when_others_import_it(submission):
    path = submission(drop=("relu",))
    report = grade(path, RELU_ONLY)
    relu = relu_checks(report)
    assert relu and all(c.status is Status.ERROR for c in relu)
    assert all(c.message.startswith("not implemented: relu_") for c in relu)
    assert report.score == 0 and report.exit_code == 1


def test_the_template_scores_zero_and_every_function_is_not_implemented():
    report = grade("student_template", Options(training=TrainOptions(enabled=False)))
    assert report.score == 0 and report.max_score == pytest.approx(70)
    assert {c.status for c in report.checks} == {Status.ERROR}
    assert all("not implemented" in c.message for c in report.checks)


def test_one_file_submission_and_repository_layout(tmp_path):
    import shutil

    from harness.core import paths

    repo = tmp_path / "repo"
    shutil.copytree(paths.REFERENCE_DIR, repo / "python")
    # a ReLU of the student's own: a verbatim copy of the reference would be flagged (integrity.copy)
    shutil.copyfile(
        Path(__file__).parent / "corpus" / "correct" / "relu_ge_zero" / "relu.py", repo / "python" / "relu.py"
    )
    (repo / "README.md").write_text("my assignment\n")
    report = grade(repo, Options(training=TrainOptions(enabled=False), only=("forward.*",)))
    assert report.checks and all(c.status is Status.PASS for c in report.checks)


def test_provenance_names_the_commit_and_the_blas():
    from harness import __version__
    from harness.core import revision

    report = grade("student_template", RELU_ONLY)
    prov = report.provenance
    assert prov["harness_version"] == __version__
    assert prov["harness_commit"] == revision.git_commit()
    assert not prov["blas"].startswith("unknown"), prov["blas"]  # threadpoolctl is a dependency
