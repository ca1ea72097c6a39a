"""train.classapi end to end: the homework's ConvNet built from the student's layer classes, trained
in the sandbox with the homework's SGD, judged by the shared training check (issue 17 item 5)."""

import shutil
from pathlib import Path

import numpy as np
import pytest

from harness import profiles
from harness.checks import rubric
from harness.child import networks, training
from harness.core.model import Status
from harness.grade import grade
from harness.options import Options, TrainOptions
from harness.profiles import classapi
from harness.training import check as training_check
from harness.training import verdict as training_verdict

CORPUS = Path(__file__).parent / "corpus" / "classapi"
CHECK = "train.classapi"


def train_only(path, **training_options):
    report = grade(
        path, Options(profile="classapi", only=(CHECK,), training=TrainOptions(**training_options))
    )
    assert not report.autograder_error, report.autograder_error
    # besides it, at most integrity flags (a reference copy with a wrapper is integrity.copy)
    assert all(c.id == CHECK or c.id.startswith("integrity.") for c in report.checks)
    return next(c for c in report.checks if c.id == CHECK)


def reference_with(tmp_path: Path, corpus: str = "", **sources: str) -> Path:
    """A copy of the family's reference with a corpus entry's files and ``sources`` (path relative
    to the submission -> text appended to the reference's file) laid over it."""
    sub = tmp_path / "submission"
    shutil.copytree(classapi.REFERENCE_DIR, sub, ignore=shutil.ignore_patterns("__pycache__"))
    if corpus:
        entry = CORPUS / corpus
        for f in entry.rglob("*.py"):
            shutil.copyfile(f, sub / f.relative_to(entry))
    for rel, text in sources.items():
        target = sub / rel
        target.write_text(target.read_text() + "\n\n" + text)
    return sub


# ---- the forward's object is the backward's -------------------------------------------------------


class _Counted:
    """A layer class that records which object each forward and backward ran on."""

    log: list = []

    def __init__(self, num_input, num_output):
        self.W, self.b = np.zeros((num_input, num_output)), np.zeros((1, num_output))

    def forward(self, x):
        self.x = x
        _Counted.log.append(("forward", id(self)))
        return x @ self.W + self.b

    def backward(self, delta):
        _Counted.log.append(("backward", id(self)))
        self.grad_W, self.grad_b = self.x.T @ delta, delta.sum(axis=0, keepdims=True)
        return delta @ self.W.T


def test_training_calls_backward_on_the_object_its_forward_ran_on():
    """As the homework's network does: one object per layer and iteration, forward then backward;
    no second forward for the backward (the unit checks build a fresh object per call)."""
    prof = profiles.get("classapi")
    fns = {
        prof.FUNCTIONS["inner_product.forward"]: _Counted,
        prof.FUNCTIONS["inner_product.backward"]: _Counted,
    }
    states = training.ForwardStates()
    rng = np.random.default_rng(0)
    arrays = {"x": rng.normal(size=(4, 3)), "w": rng.normal(size=(4, 2)), "b": np.zeros((1, 2))}
    _Counted.log = []
    state = states.forward("inner_product.forward", arrays)
    y = prof.call(fns, "inner_product.forward", {}, arrays, state=state)[0]["y"]
    dy = rng.normal(size=y.shape)
    kept = states.backward("inner_product.backward", arrays)
    out = prof.call(fns, "inner_product.backward", {}, {**arrays, "dy": dy}, state=kept)[0]
    assert [kind for kind, _ in _Counted.log] == ["forward", "backward"]
    assert _Counted.log[0][1] == _Counted.log[1][1]
    np.testing.assert_allclose(out["w"], arrays["x"] @ dy.T)
    np.testing.assert_allclose(out["input"], arrays["w"] @ dy)
    _Counted.log = []  # without a kept state (a unit check): a fresh object, forward then backward
    prof.call(fns, "inner_product.backward", {}, {**arrays, "dy": dy})
    assert [kind for kind, _ in _Counted.log] == ["forward", "backward"]


# ---- the check, end to end -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def reference_check():
    """The family's reference trained with the rubric's budget (500 iterations, 300 s): the one slow run."""
    return train_only(classapi.REFERENCE_DIR)


@pytest.mark.slow
def test_the_reference_trains_past_95_percent_within_the_budget(reference_check):
    check = reference_check
    budget = rubric.load(profiles.get("classapi").DEFAULT_RUBRIC).train
    assert check.status is Status.PASS, check.message
    assert check.numbers["iterations_done"] == budget["iterations"] == 500
    assert check.numbers["accuracy"] >= 0.95
    assert check.numbers["elapsed_s"] < budget["time_limit_s"]
    assert check.score == check.max_score == 30
    titles = " / ".join(f["title"] for f in check.extra["figures"])
    for word in ("curves", "Confusion", "Misclassified", "confused", "filters"):
        assert word in titles
    assert "trained with your FCLayer.forward" in check.details
    assert "SoftmaxCrossEntropyLossLayer" in check.details


def test_the_template_gets_zero_with_not_implemented():
    check = train_only(classapi.TEMPLATE_DIR, iterations=5)
    assert check.score == 0 and check.status is Status.ERROR
    assert "not implemented" in check.message, check.message


@pytest.mark.parametrize(
    ("entry", "unit", "layer"),
    [
        ("broken/fc_grad_w_transposed", "FCLayer.backward", "second FCLayer (128 -> 10)"),
        ("broken/conv_pad_wrong_axes", "ConvLayer.forward", "first ConvLayer"),
    ],
)
def test_a_broken_layer_stops_training_naming_its_class_and_its_place(tmp_path, entry, unit, layer):
    check = train_only(reference_with(tmp_path, entry), iterations=5)
    assert check.score == 0 and check.status is Status.ERROR
    assert check.message.startswith(f"training stopped at iteration 1: {unit} ({layer})"), check.message


def test_either_loss_gradient_scale_trains_the_same_weights(tmp_path, reference_check):
    """The homework leaves the loss gradient's scale open: a layer returning that of the summed
    loss trains exactly as one returning that of the mean (the network reads the scale off the
    layer's own outputs); the same held-out predictions after the same iterations."""
    mean = train_only(classapi.REFERENCE_DIR, iterations=12)
    summed = train_only(reference_with(tmp_path, "correct/loss_grad_summed"), iterations=12)
    assert summed.numbers["iterations_done"] == 12, summed.message
    assert summed.numbers["accuracy"] == mean.numbers["accuracy"] > 0.3
    first = lambda c: c.extra["figures"][1]  # the confusion matrix: every held-out prediction
    assert first(summed) == first(mean)


def test_a_backward_that_returns_zeros_is_named_as_the_one_that_cuts_the_gradient(tmp_path):
    source = """
_backward = ReLULayer.backward
def _zeros(self, delta):
    _backward(self, delta)
    return np.zeros_like(delta)
ReLULayer.backward = _zeros
"""
    check = train_only(reference_with(tmp_path, **{"layers/relu_layer.py": source}), iterations=10)
    assert check.score == 0 and check.status is Status.FAIL
    assert "do not learn" in check.message and "first ConvLayer" in check.message, check.message
    assert "ReLULayer.backward in the ReLULayer after" in check.hint, check.hint


def test_a_slow_forward_is_named_and_its_backward_is_not(tmp_path):
    """Correct but slow (a conv forward that sleeps 0.2 s a call): graded on what it learned by the
    time limit, the bottleneck named; its backward, which training calls on the same object
    without a second forward, is not blamed."""
    source = """
import time as _time
_forward = ConvLayer.forward
def _slow(self, *args, **kwargs):
    _time.sleep(0.2)
    return _forward(self, *args, **kwargs)
ConvLayer.forward = _slow
"""
    check = train_only(
        reference_with(tmp_path, **{"layers/conv_layer.py": source}), iterations=30, time_limit_s=5.0
    )
    done = check.numbers["iterations_done"]
    assert 2 <= done < 30, check.message
    assert check.message.startswith(f"stopped at the time limit (5 s) after {done} of 30 iterations")
    assert "the bottleneck: ConvLayer.forward" in check.message, check.message
    assert (
        check.hint == "ConvLayer.forward: " + training_verdict.FAMILY_SLOW_HINTS["classapi"]["conv.forward"]
    )
    assert "ConvLayer.backward is" not in check.details
    bands = rubric.load(profiles.get("classapi").DEFAULT_RUBRIC).train["bands"]
    assert check.numbers["credit"] == training_check.band_credit(check.numbers["accuracy"], bands)


def test_the_network_is_the_homeworks():
    net = networks.CLASSAPI
    assert [kind for _, kind, _ in net.layers] == [
        "conv", "relu", "pooling", "conv", "relu", "pooling", "inner_product", "relu", "inner_product"
    ]  # fmt: skip
    assert net.params["fc1"][0] == (784, 128) and net.params["fc2"][0] == (128, 10)
    assert net.sgd["momentum"] == 0.0 and net.sgd["weight_decay"] == 0.005 and net.sgd["batch_size"] == 100


def test_a_loss_layer_that_gives_nan_stops_training_with_its_own_hint(tmp_path):
    """A softmax without the max subtracted, on logits scaled past exp's overflow: the loss layer
    is named, with the family's hint (rows of logit), not an autograder error."""
    source = """
def _overflowing(self, logit, gt):
    logit = logit * 1e6  # scores far past exp's overflow, and no max subtracted
    p = np.exp(logit) / np.exp(logit).sum(axis=1, keepdims=True)
    self.prob, self.gt = p, gt
    self.loss = -np.sum(gt * np.log(p)) / logit.shape[0]
    self.acc = float(np.mean(p.argmax(axis=1) == gt.argmax(axis=1)))
    return self.loss
SoftmaxCrossEntropyLossLayer.forward = _overflowing
"""
    sub = reference_with(tmp_path, **{"criterion/softmax_cross_entropy.py": source})
    check = train_only(sub, iterations=5)
    assert check.score == 0 and check.status is Status.FAIL, check.message
    assert check.message.startswith(
        "training stopped at iteration 1: SoftmaxCrossEntropyLossLayer (loss layer)"
    )
    assert "NaN or inf" in check.message
    assert check.hint == training_verdict.NON_FINITE_HINTS["softmax_ce"], check.hint
