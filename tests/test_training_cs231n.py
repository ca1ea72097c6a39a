"""train.cs231n end to end: the cs231n family's conv net trained with the student's own functions
in the sandbox, judged by the shared training check (issue 16 item 4)."""

from pathlib import Path

import numpy as np
import pytest

from harness import profiles
from harness.cases import reference
from harness.checks import rubric
from harness.child import lenet_ops, networks, training
from harness.core import paths
from harness.core.model import Status
from harness.grade import grade
from harness.options import Options, TrainOptions
from harness.training import verdict as training_verdict

CORPUS = Path(__file__).parent / "corpus" / "cs231n"
REFERENCE = paths.ROOT / "reference" / "cs231n"
TEMPLATE = paths.ROOT / "student_template" / "cs231n"
CHECK = "train.cs231n"


def train_only(path, rubric_path=None, **training_options):
    report = grade(
        path,
        Options(only=(CHECK,), training=TrainOptions(**training_options), rubric=rubric_path),
    )
    assert not report.autograder_error, report.autograder_error
    # besides it, at most integrity flags (a reference copy with a wrapper is integrity.copy)
    assert all(c.id == CHECK or c.id.startswith("integrity.") for c in report.checks)
    return next(c for c in report.checks if c.id == CHECK)


def with_functions(tmp_path: Path, *sources: str) -> Path:
    """The reference's layers.py with ``sources`` appended (their definitions win), in a cs231n/ folder."""
    folder = tmp_path / "repo" / "cs231n"
    folder.mkdir(parents=True)
    text = (REFERENCE / "cs231n" / "layers.py").read_text()
    (folder / "layers.py").write_text("\n\n".join([text, *sources]))
    return folder.parent


# ---- the network, without a sandbox ----------------------------------------------------------


@pytest.mark.parametrize("name", sorted(networks.NETWORKS))
def test_every_network_runs_one_iteration_of_its_own_family_reference(name):
    """Each network's layer list, parameter shapes and loss agree: one iteration's ops, at its
    shapes, through its family's reference (a wrong shape is an OpError in the loop)."""
    net = networks.NETWORKS[name]
    family = next(f for f, n in networks.FAMILY_NETWORKS.items() if n == name)
    call = reference.caller(profiles.get(family))
    params = net.init_params(0)
    x = np.random.default_rng(0).uniform(0, 1, (784, 3))
    trainer = training.Net(call, network=net)
    volumes = trainer.forward(params, x)
    out = trainer.loss(params, volumes[-1], np.array([1, 2, 3]))
    grads = {**trainer.backward(params, volumes, out["input"]), **out["grads"]}
    assert set(grads) == set(net.params)
    for layer, (w_shape, b_shape, _fan_in) in net.params.items():
        assert grads[layer]["w"].shape == w_shape and grads[layer]["b"].shape == b_shape
    assert net.class_scores(params, volumes[-1]).shape == (networks.K, 3)
    k, kw, (h, w) = net.filters_geometry()
    assert params[net.filters_layer]["w"].shape[0] == k * kw and volumes[1].shape[0] % (h * w) == 0


def test_a_backward_gets_the_cache_its_own_forward_returned_in_the_same_iteration():
    """cs231n keeps each forward's cache for its backward (no second forward call), found by the
    identity of the very arrays the loop hands both; anything else calls the forward again."""
    states = training.ForwardStates()
    x, w = np.zeros((4, 2)), np.zeros((4, 3))
    state = states.forward("inner_product.forward", {"x": x, "w": w, "b": np.zeros((1, 3))})
    state["cache"] = "kept"
    assert states.backward("inner_product.backward", {"x": x.copy(), "w": w}) is None  # another x
    state = states.forward("inner_product.forward", {"x": x, "w": w})
    state["cache"] = "kept"
    assert states.backward("inner_product.backward", {"x": x, "w": w, "dy": 0})["cache"] == "kept"
    assert states.backward("inner_product.backward", {"x": x, "w": w}) is None  # taken once
    for i in range(training.ForwardStates.CAP + 1):  # bounded: the held-out forwards have no backward
        states.forward("relu.forward", {"x": np.zeros(i + 1)})
    assert len(states.entries) == training.ForwardStates.CAP


def test_each_backward_is_timed_without_its_forward():
    """The slow-function diagnosis compares each function's own time: a slow forward must not
    make its backward look slow (the backward's cache comes from an untimed forward)."""
    calls = []
    prof = profiles.get("cs231n")
    ref = reference.caller(prof)

    def call(op_name, params, arrays):
        calls.append(op_name)
        return ref(op_name, params, arrays)

    call.keeps_forward_state = True  # type: ignore[attr-defined]
    times = lenet_ops.time_ops(call, batch_size=2, repeats=1, network=networks.CS231N)
    assert set(times) == set(prof.FUNCTIONS) and all(t is not None for t in times.values())
    backward_at = calls.index("conv.backward")
    assert calls[backward_at - 1] == "conv.forward"  # its cache, untimed, just before


# ---- the check, end to end ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def reference_check():
    """The family's reference trained with the rubric's budget (500 iterations, 300 s): the one slow run."""
    return train_only(REFERENCE)


@pytest.mark.slow
def test_the_reference_trains_past_95_percent_within_the_budget(reference_check):
    check = reference_check
    budget = rubric.load(profiles.get("cs231n").DEFAULT_RUBRIC).train
    assert check.status is Status.PASS, check.message
    assert check.numbers["iterations_done"] == budget["iterations"] == 500
    assert check.numbers["accuracy"] >= 0.95
    assert check.numbers["elapsed_s"] < budget["time_limit_s"]
    assert check.score == check.max_score == 30
    titles = " / ".join(f["title"] for f in check.extra["figures"])
    for word in ("curves", "Confusion", "Misclassified", "confused", "filters"):
        assert word in titles
    assert "trained with your affine_forward" in check.details and "softmax_loss" in check.details


def test_the_template_gets_zero_with_not_implemented():
    check = train_only(TEMPLATE, iterations=5)
    assert check.score == 0 and check.status is Status.ERROR
    assert "not implemented" in check.message, check.message


@pytest.mark.parametrize(
    ("corpus_file", "function", "why"),
    [
        ("conv_dx_not_cropped.py", "conv_backward_naive", "crop the padding off"),
        ("affine_dx_not_reshaped.py", "affine_backward", "not reshaped back"),
    ],
)
def test_a_broken_backward_stops_training_naming_its_own_function(tmp_path, corpus_file, function, why):
    source = (CORPUS / "broken" / corpus_file).read_text()
    check = train_only(with_functions(tmp_path, source), iterations=5)
    assert check.score == 0 and check.status is Status.ERROR
    assert check.message.startswith(f"training stopped at iteration 1: {function} ("), check.message
    assert why in check.message


def test_a_backward_that_returns_zeros_is_named_as_the_one_that_cuts_the_gradient(tmp_path):
    source = """
def relu_backward(dout, cache):
    return np.zeros_like(dout)
"""
    check = train_only(with_functions(tmp_path, source), iterations=10)
    assert check.score == 0 and check.status is Status.FAIL
    assert "conv layer and hidden affine layer do not learn" in check.message, check.message
    assert "relu_backward in the ReLU after the hidden affine layer" in check.hint


def test_a_slow_forward_is_named_and_its_backward_is_not(tmp_path):
    """Correct but slow (a conv forward that sleeps 0.4 s a call, 0.8 s an iteration with the
    held-out forwards): graded on what it learned by the time limit, the bottleneck named. Its
    backward is not blamed: training calls each forward once and the timings time a backward
    alone."""
    source = """
import time as _time
_conv_forward = conv_forward_naive
def conv_forward_naive(x, w, b, conv_param):
    _time.sleep(0.4)
    return _conv_forward(x, w, b, conv_param)
"""
    check = train_only(with_functions(tmp_path, source), iterations=20, time_limit_s=5.0)
    done = check.numbers["iterations_done"]
    assert 2 <= done < 20, check.message
    assert check.message.startswith(f"stopped at the time limit (5 s) after {done} of 20 iterations")
    assert "the bottleneck: conv_forward_naive" in check.message
    assert check.hint == "conv_forward_naive: " + training_verdict.FAMILY_SLOW_HINTS["cs231n"]["conv.forward"]
    assert "conv_backward_naive is" not in check.details
    assert check.numbers["credit"] == rubric_credit(check.numbers["accuracy"])


def rubric_credit(accuracy: float) -> float:
    from harness.training import check as training_check

    bands = rubric.load(profiles.get("cs231n").DEFAULT_RUBRIC).train["bands"]
    return training_check.band_credit(accuracy, bands)


def test_a_backward_that_writes_into_its_cache_still_trains(tmp_path):
    """The kept cache holds the forward's read-only views of the loop's arrays: a backward that
    writes into it gets its forward called again on copies (as in a unit check), not an error."""
    source = """
def relu_backward(dout, cache):
    x = cache
    x[x < 0] = 0  # into the forward's input, kept in the cache
    return dout * (x > 0)
"""
    check = train_only(with_functions(tmp_path, source), iterations=12)
    assert check.numbers["iterations_done"] == 12, check.message
    assert check.numbers["accuracy"] > 0.5, check.message


def test_the_2019_edition_trains_with_the_provided_softmax_loss(tmp_path):
    """softmax_loss came with the 2019 starter: training uses the reference's self-contained copy
    (``harness.sandbox.share``, cut from the family's reference), never the student's stub."""
    stub = """
def softmax_loss(x, y):
    raise NotImplementedError
"""
    edition = str(paths.PACKAGE_DIR / "rubrics" / "cs231n-2019.toml")
    check = train_only(with_functions(tmp_path, stub), edition, iterations=12)
    assert check.numbers["iterations_done"] == 12 and check.numbers["accuracy"] > 0.5, check.message
    assert "the reference's softmax_loss (provided by the course)" in check.details
