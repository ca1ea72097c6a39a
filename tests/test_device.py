"""``--device``: what a grader without a usable GPU does when asked for one.

The GPU itself is exercised in ``tests/test_gpu.py`` (skipped without cupy and a CUDA
device); these tests run where there is none, and are skipped where there is one.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from harness import profiles
from harness.cases import reference
from harness.child import lenet_ops, training
from harness.core import device, paths
from harness.core.model import Status
from harness.grade import grade
from harness.options import Options, TrainOptions


def _gpu_usable() -> bool:
    try:
        device.array_module(device.CUDA)
        return True
    except device.DeviceError:
        return False


no_gpu = pytest.mark.skipif(_gpu_usable(), reason="a GPU is usable here: tests/test_gpu.py covers it")


def harness(*args):
    return subprocess.run(
        [sys.executable, "-m", "harness", *args], cwd=paths.ROOT, capture_output=True, text=True, timeout=120
    )


@no_gpu
@pytest.mark.parametrize(
    "command",
    [["grade", "reference", "--no-train", "--device", "cuda"], ["fixtures", "check", "--device", "cuda"]],
)
def test_cuda_without_a_gpu_is_a_usage_error_that_says_what_to_do(command, tmp_path):
    run = harness(*command, *(["--out", str(tmp_path)] if command[0] == "grade" else []))
    assert run.returncode == 2, run.stdout + run.stderr
    assert "--device cuda" in run.stderr and "without --device" in run.stderr
    assert "Traceback" not in run.stderr
    assert not list(tmp_path.iterdir())  # nothing graded, nothing written


def test_a_gradescope_bundle_for_the_gpu_is_refused(tmp_path):
    run = harness("gradescope", "--device", "cuda", "--out", str(tmp_path / "autograder.zip"))
    assert run.returncode == 2 and "no GPU" in run.stderr
    assert not (tmp_path / "autograder.zip").exists()


def test_an_unknown_device_is_refused_by_the_command_line():
    run = harness("grade", "reference", "--device", "tpu")
    assert run.returncode == 2 and "invalid choice: 'tpu'" in run.stderr


def test_numpy_is_the_cpu_device():
    assert device.array_module(device.CPU) is np
    with pytest.raises(device.DeviceError, match="unknown device"):
        device.array_module("tpu")
    a = np.arange(3.0)
    assert device.to_host(a) is a
    assert device.stays_on(np, {"y": a, "nll": 3.0}) == ""  # scalars are not judged
    assert (
        device.stays_on(np, {"y": a, "input": memoryview(b"ab")})
        == "'input' came back as builtins.memoryview"
    )


def test_a_cpu_run_reports_the_cpu_and_no_device_note():
    x, y, xe, _ = training.dataset(training.TrainConfig(n_train=640, n_test=100))
    call = reference.caller(profiles.get())
    outcome = training.train(call, x, y, xe, training.TrainConfig(iterations=3, eval_every=2))
    assert outcome.status == training.COMPLETED
    assert outcome.device == device.CPU and outcome.device_note == ""


@no_gpu
@pytest.mark.slow
def test_training_asked_for_cuda_without_a_gpu_falls_back_to_the_cpu_with_a_notice():
    """The sandbox's GPU child (no address-space limit, cupy imported before the audit hook)
    still trains, on the CPU, and the report says why."""
    report = grade(
        "reference", Options(only=("train.lenet",), device=device.CUDA, training=TrainOptions(iterations=30))
    )
    assert not report.autograder_error, report.autograder_error
    (check,) = report.checks
    assert check.status in (Status.PASS, Status.FAIL) and check.numbers["iterations_done"] == 30
    assert check.extra["device"] == device.CPU
    assert check.extra["device_note"].startswith("trained on the CPU")
    assert "trained on the CPU" in check.details
    assert any(n.startswith("train.lenet trained on the CPU") for n in report.notices)
    assert report.provenance["device"] == device.CUDA


def numpy_under_another_name():
    """numpy as a module that is not ``numpy``: the code paths taken for cupy (``xp is not np``:
    one SGD block, arrays moved with ``xp.asarray``, synchronisation) run on the CPU. It cannot
    catch a numpy-only call on device arrays; tests/test_gpu.py does, on a GPU."""
    import types

    stand_in = types.ModuleType("numpy_elsewhere")
    stand_in.__dict__.update({k: getattr(np, k) for k in dir(np) if not k.startswith("__")})
    stand_in.cuda = types.SimpleNamespace(
        get_current_stream=lambda: types.SimpleNamespace(synchronize=lambda: None)
    )
    return stand_in


def test_the_training_loop_takes_the_device_paths_to_the_same_numbers():
    xp = numpy_under_another_name()
    call = reference.caller(profiles.get())
    x, y, xe, _ = training.dataset(training.TrainConfig(n_train=640, n_test=100))
    config = training.TrainConfig(iterations=12, eval_every=5)
    on_cpu = training.train(call, x, y, xe, config)
    elsewhere = training.train(call, x, y, xe, config, xp=xp)
    assert elsewhere.device == device.CUDA and on_cpu.device == device.CPU
    for name in ("loss", "grad_norm", "eval_predictions", "scores", "conv1_w", "feature_maps"):
        np.testing.assert_array_equal(getattr(elsewhere, name), getattr(on_cpu, name), err_msg=name)
    assert lenet_ops.device_problem(call, xp) == ""
    assert all(t is not None for t in lenet_ops.time_ops(call, repeats=1, xp=xp).values())
