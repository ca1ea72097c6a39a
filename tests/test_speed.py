"""harness.training.speed: the training check's time known before training, and what to vectorise."""

from __future__ import annotations

import contextlib
import io
import shutil
import time
from pathlib import Path

import pytest

from harness import cli
from harness.checks import rubric
from harness.child.training import TrainConfig
from harness.core import paths
from harness.grade import grade
from harness.options import Options, TrainOptions
from harness.training import speed
from harness.training import verdict as training_verdict

LOOPS = Path(__file__).parent / "corpus" / "correct" / "slow_but_correct"


@pytest.fixture(scope="module")
def loop_pooling(tmp_path_factory) -> Path:
    """The reference with a correct pooling layer written as Python loops over every element."""
    from conftest import make_submission

    path = make_submission(tmp_path_factory.mktemp("speed") / "loops")
    shutil.copyfile(LOOPS / "pooling_layer.py", path / "pooling_layer.py")
    return path


def test_projection_is_the_training_loops_arithmetic():
    cfg = TrainConfig(iterations=500, batch_size=64, eval_every=100, eval_subset=500, n_test=2000)
    times = {"conv.forward": 0.01, "conv.backward": 0.02}
    # 500 iterations of both ops (+ the loop's own share), then 4,500 held-out digits through the forward
    assert speed.projection(times, cfg) == pytest.approx(speed.OVERHEAD * 500 * 0.03 + 0.01 * 4500 / 64)


def test_summary_says_over_close_or_within_the_limit():
    def estimate(projected):
        return speed.SpeedEstimate((), projected, 20.0, 300.0, 500, ({"function": "relu_forward"},), (), 1.0)

    assert speed.summary(estimate(900)).startswith("too slow:") and "vectorise relu_forward" in speed.summary(
        estimate(900)
    )
    assert speed.summary(estimate(290)).startswith("close to the limit:")
    assert speed.summary(estimate(100)).startswith("fast enough:")


@pytest.mark.slow
def test_speed_command_names_the_loop_based_function(loop_pooling):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = cli.main(["speed", str(loop_pooling)])
    text = out.getvalue()
    assert rc == 1, text
    assert "too slow: training would take about" in text and "pooling_layer_forward" in text
    verdict = text.split("too slow:")[1]
    assert "vectorise pooling_layer" in verdict
    assert training_verdict.SLOW_HINTS["pooling.forward"] in text
    assert "conv_layer_forward" not in verdict.splitlines()[0]  # the reference's conv is not blamed


@pytest.mark.slow
def test_a_grade_says_it_before_training_starts(loop_pooling):
    heard = []
    options = Options(only=("train.lenet",), training=TrainOptions(time_limit_s=4.0))
    report = grade(loop_pooling, options, say=lambda text: heard.append((time.perf_counter(), text)))
    ended = time.perf_counter()
    (train,) = [c for c in report.checks if c.id == "train.lenet"]
    assert heard and heard[0][1].startswith("train.lenet: too slow") and "pooling_layer" in heard[0][1]
    assert heard[0][0] < ended - train.duration  # said before the training started
    assert any(n.startswith("train.lenet too slow") for n in report.notices)
    assert train.extra["speed"]["too_slow"] and "pooling_layer_forward" in train.extra["speed"]["slow"]


def test_help_lists_every_command():
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        cli.main(["--help"])
    for command in cli.COMMANDS:
        assert command in out.getvalue()


def rubric_with(tmp_path, train_line: str) -> Path:
    text = (paths.DEFAULT_RUBRIC.read_text()) + f"{train_line}\n"
    (tmp_path / "course.toml").write_text(text)
    return tmp_path / "course.toml"


@pytest.mark.parametrize("value", ["-1", "0", "true", '"ten"'])
def test_a_bad_time_budget_factor_is_a_rubric_error(tmp_path, value):
    with pytest.raises(rubric.RubricError, match="time_budget_factor must be a positive number"):
        rubric.load(rubric_with(tmp_path, f"time_budget_factor = {value}"))


def test_the_course_budget_follows_the_reference_on_this_machine(tmp_path):
    est = speed.SpeedEstimate((), 900.0, 40.0, 300.0, 500, (), (), 1.0)
    assert speed.course_budget(est, rubric.load()) is est  # no factor: the fixed limit
    scaled = speed.course_budget(est, rubric.load(rubric_with(tmp_path, "time_budget_factor = 25")))
    assert scaled.limit_s == 1000.0 and not scaled.too_slow and scaled.close


@pytest.mark.slow
def test_a_course_can_give_slow_correct_code_the_time_it_needs(loop_pooling, tmp_path):
    course = rubric_with(tmp_path, "time_budget_factor = 100000")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = cli.main(["speed", str(loop_pooling), "--rubric", str(course)])
    assert rc == 0 and "fast enough: training would take about" in out.getvalue()
