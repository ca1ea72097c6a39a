"""harness.child.training: the LeNet run through canonical ops, its stop conditions and the verdict."""

import dataclasses
import json
import math

import numpy as np
import pytest

from harness import profiles
from harness.cases import reference
from harness.child import lenet_ops, training
from harness.child.training import TrainConfig, TrainOutcome
from harness.core import paths
from harness.core.loader import load_isolated
from harness.core.ops import OPS
from harness.profiles import dictapi
from harness.training import replay
from harness.training import verdict as training_verdict


def ref_call(op_name, params, arrays):
    return reference.run(op_name, params, arrays)


@pytest.fixture(scope="module")
def data():
    """A small stratified split of the shipped digits: 2000 to train on, 300 held out."""
    return training.dataset(TrainConfig(n_train=2000, n_test=300))


def small(**kw) -> TrainConfig:
    return TrainConfig(**{"eval_every": 20, "eval_subset": 100, **kw})


class FakeClock:
    """Time advances only when an op is called."""

    def __init__(self, per_call: float):
        self.now, self.per_call = 0.0, per_call

    def __call__(self):
        return self.now

    def wrap(self, call):
        def timed(op_name, params, arrays):
            self.now += self.per_call
            return call(op_name, params, arrays)

        return timed


# ---- the reference learns, deterministically ----------------------------------------------


@pytest.fixture(scope="module")
def reference_run(data):
    x_train, y_train, x_eval, y_eval = data
    cfg = small(iterations=60)
    progress = []
    outcome = training.train(ref_call, x_train, y_train, x_eval, cfg, progress=progress.append)
    return outcome, training_verdict.evaluate(outcome, y_eval, config=cfg), progress


@pytest.mark.slow
def test_reference_learns_in_60_iterations(reference_run):
    outcome, verdict, progress = reference_run
    assert outcome.status == training.COMPLETED and outcome.iterations_done == 60
    assert outcome.loss[:10].mean() > 2.2  # chance: ln 10 = 2.30
    assert outcome.loss[-10:].mean() < 0.8 * outcome.loss[:10].mean()
    assert outcome.batch_accuracy[-10:].mean() > 0.4
    assert verdict["accuracy"] > 0.4  # chance is 0.1; 60 iterations are far from the pass mark
    assert verdict["status"] == "FAIL" and "0.90 needed" in verdict["message"]
    assert [i for i, _ in verdict["eval_curve"]] == [20, 40, 60]
    assert outcome.eval_predictions.shape == (2, 100)
    assert outcome.scores.shape == (10, 300)
    assert outcome.feature_maps.shape == (24 * 24 * 20,)
    assert all(v == 0 for v in outcome.zero_grad_iterations.values())
    assert outcome.dead_backward == {}
    assert all(v > 0 for v in outcome.weight_change.values())
    assert [p["iteration"] for p in progress] == list(range(1, 61))


@pytest.mark.slow
def test_same_seed_same_numbers_other_seed_other_numbers(data, reference_run):
    x_train, y_train, x_eval, _ = data
    first = reference_run[0]
    again = training.train(ref_call, x_train, y_train, x_eval[:, :10], small(iterations=8))
    np.testing.assert_array_equal(again.loss, first.loss[:8])  # the lr schedule ignores the total
    np.testing.assert_array_equal(again.grad_norm, first.grad_norm[:8])
    other = training.train(ref_call, x_train, y_train, x_eval[:, :10], small(iterations=8, seed=1))
    assert not np.allclose(other.loss, first.loss[:8])


def test_matches_the_reference_training_script(data):
    """Same init, batch order and SGD as reference/train_lenet.py: the same losses."""
    x_train, y_train, x_eval, _ = data
    script = load_isolated(paths.REFERENCE_DIR, ["train"])["train"]
    lines = []
    params, _ = script(x_train, y_train, iters=4, batch_size=32, seed=3, log_every=1, log=lines.append)
    expected = [float(line.split("loss")[1].split()[0]) for line in lines]
    outcome = training.train(
        ref_call, x_train, y_train, x_eval[:, :5], small(iterations=4, batch_size=32, seed=3)
    )
    np.testing.assert_allclose(outcome.loss, expected, atol=5e-5)
    # The in-place SGD of the check computes what utils.sgd_momentum's expression does, to the bit.
    np.testing.assert_array_equal(outcome.conv1_w, params[0]["w"])


def test_payload_crosses_as_npy_arrays_and_strict_json(data):
    x_train, y_train, x_eval, _ = data
    outcome = training.train(
        ref_call, x_train, y_train, x_eval[:, :30], small(iterations=3, eval_every=2, eval_subset=10)
    )
    arrays, info = outcome.to_payload()
    params = {f"params.{layer}.{k}" for layer in training.LAYERS for k in ("w", "b")}
    replay = {
        f"replay.{s}.{layer}.{k}"
        for s in ("before", "momentum", "after")
        for layer in training.LAYERS
        for k in "wb"
    }
    assert set(arrays) == set(TrainOutcome.ARRAYS) | params | replay
    assert all(type(a) is np.ndarray and a.dtype.kind in "if" for a in arrays.values())
    info = json.loads(json.dumps(info, allow_nan=False))
    back = TrainOutcome.from_payload(arrays, info)
    assert back.status == outcome.status and back.config == outcome.config
    np.testing.assert_array_equal(back.scores, outcome.scores)
    np.testing.assert_array_equal(back.params["ip"]["w"], outcome.params["ip"]["w"])
    assert back.replay["iteration"] == 1
    np.testing.assert_array_equal(back.replay["after"]["conv2"]["b"], outcome.replay["after"]["conv2"]["b"])
    with pytest.raises(ValueError, match=r"params\.ip\.w of shape"):  # a parameter set is checked whole
        TrainOutcome.from_payload({**arrays, "params.ip.w": np.zeros((3, 3))}, info)
    # The sandbox may carry every array as float64: the integer ones come back as integers.
    back = TrainOutcome.from_payload({k: a.astype(np.float64) for k, a in arrays.items()}, info)
    assert back.eval_predictions.dtype == np.int64
    np.testing.assert_array_equal(back.eval_predictions, outcome.eval_predictions)
    assert TrainConfig.from_dict(info["config"]) == small(iterations=3, eval_every=2, eval_subset=10)


# ---- stopping early -------------------------------------------------------------------------


def test_nan_loss_names_mlrloss(data):
    x_train, y_train, x_eval, y_eval = data
    calls = {"mlrloss": 0}

    def nan_loss(op_name, params, arrays):
        out = ref_call(op_name, params, arrays)
        if op_name == "mlrloss":
            calls["mlrloss"] += 1
            if calls["mlrloss"] == 3:
                out["nll"] = np.array(np.nan)
        return out

    outcome = training.train(nan_loss, x_train, y_train, x_eval, small(iterations=10))
    assert outcome.status == training.NON_FINITE
    assert outcome.iterations_done == 2 and len(outcome.loss) == 2
    assert outcome.failure["op"] == "mlrloss" and outcome.failure["output"] == "nll"
    assert outcome.failure["inputs_finite"]
    assert outcome.scores is None
    verdict = training_verdict.evaluate(outcome, y_eval)
    assert verdict["status"] == "FAIL" and not verdict["passed"]
    assert verdict["message"].startswith("training stopped at iteration 3: mlrloss")
    assert verdict["hint"] == training_verdict.NON_FINITE_HINTS["mlrloss"]


def test_non_finite_forward_output_is_traced_to_its_op(data):
    x_train, y_train, x_eval, y_eval = data

    def inf_pool(op_name, params, arrays):
        out = ref_call(op_name, params, arrays)
        if op_name == "pooling.forward" and params["c"] == 50:  # the second pooling layer
            out["y"][7, 0] = np.inf
        return out

    outcome = training.train(inf_pool, x_train, y_train, x_eval, small(iterations=5))
    assert outcome.failure["op"] == "pooling.forward" and outcome.failure["layer"] == "pool2"
    verdict = training_verdict.evaluate(outcome, y_eval)
    assert "pooling_layer_forward (second pooling layer) returned NaN or inf" in verdict["message"]
    assert verdict["hint"] == training_verdict.NON_FINITE_HINTS["forward"]


def test_time_limit_stops_with_iterations_done_and_a_projection(data):
    x_train, y_train, x_eval, y_eval = data
    clock = FakeClock(per_call=0.5)  # 17 ops per iteration: 8.5 s
    cfg = small(iterations=100, time_limit_s=30, give_up_factor=math.inf)
    outcome = training.train(clock.wrap(ref_call), x_train, y_train, x_eval, cfg, clock=clock)
    assert outcome.status == training.TIME_LIMIT
    assert outcome.iterations_done == 3  # 30.5 s > 30 s at the 10th op of the 4th: stopped there
    assert outcome.elapsed_s == pytest.approx(30.5)
    assert outcome.projected_s == pytest.approx(850)  # 25.5 s for 3 iterations
    # The parameters learned so far come back, for the grader to score (the child does not).
    assert outcome.scores is None and outcome.params and outcome.feature_maps is not None
    ref_times = {op: 0.001 for op in OPS}
    student_times = {**ref_times, "conv.forward": 0.24, "pooling.backward": 0.05}
    verdict = training_verdict.evaluate(outcome, y_eval, ref_times, student_times)
    assert verdict["status"] == "ERROR"
    assert "stopped after 3 of 100 iterations" in verdict["message"]
    assert "would take about 850 s" in verdict["message"]
    assert [s["function"] for s in verdict["slow_ops"]] == ["conv_layer_forward", "pooling_layer_backward"]
    assert any(
        d.startswith("conv_layer_forward is 240x slower than the reference") for d in verdict["details"]
    )
    assert verdict["hint"] == "conv_layer_forward: " + training_verdict.SLOW_HINTS["conv.forward"]
    # Scored (as the grader scores the returned parameters): graded on what it learned.
    scored = dataclasses.replace(outcome, scores=replay.scores(profiles.get(), outcome.params, x_eval, cfg))
    verdict = training_verdict.evaluate(
        outcome=scored,
        y_eval=y_eval,
        reference_times=ref_times,
        student_times=student_times,
        full_speed=0.961,
    )
    accuracy = float((scored.scores.argmax(axis=0) == y_eval).mean())
    assert verdict["accuracy"] == accuracy and verdict["status"] == "FAIL"  # 3 iterations learn little
    assert verdict["message"] == (
        f"stopped at the time limit (30 s) after 3 of 100 iterations (8.5 s per iteration): held-out "
        f"accuracy {accuracy:.3f}; the bottleneck: conv_layer_forward (240x the reference's time)"
    )
    assert (
        "at full speed (100 iterations within the limit) the reference's layers reach 0.961"
        in verdict["details"][-1]
    )


def test_hopeless_projection_gives_up_early(data):
    x_train, y_train, x_eval, _ = data
    clock = FakeClock(per_call=0.5)
    cfg = small(iterations=100, time_limit_s=300, give_up_factor=2.0)  # 850 s projected > 2 x 300 s
    outcome = training.train(clock.wrap(ref_call), x_train, y_train, x_eval, cfg, clock=clock)
    assert outcome.status == training.TIME_LIMIT
    assert outcome.iterations_done == cfg.give_up_after
    assert outcome.projected_s == pytest.approx(850)


def test_time_limit_in_the_first_iteration(data):
    x_train, y_train, x_eval, y_eval = data
    clock = FakeClock(per_call=20)
    outcome = training.train(
        clock.wrap(ref_call), x_train, y_train, x_eval, small(iterations=100, time_limit_s=30), clock=clock
    )
    assert outcome.status == training.TIME_LIMIT and outcome.iterations_done == 0
    assert outcome.elapsed_s == 40  # checked after each op: the second one crossed the limit
    verdict = training_verdict.evaluate(outcome, y_eval)
    assert verdict["message"] == (
        "training stopped during the first iteration after 40 s (limit 30 s): "
        "the whole run of 100 iterations would take more than 4000 s"
    )


def test_an_exception_names_the_function(data):
    x_train, y_train, x_eval, y_eval = data

    def broken_relu(op_name, params, arrays):
        if op_name == "relu.backward" and params["c"] == 50:
            raise ValueError("operands could not be broadcast together")
        return ref_call(op_name, params, arrays)

    outcome = training.train(broken_relu, x_train, y_train, x_eval, small(iterations=5))
    assert outcome.status == training.ERROR and outcome.iterations_done == 0
    assert outcome.failure["op"] == "relu.backward" and outcome.failure["layer"] == "relu2"
    verdict = training_verdict.evaluate(outcome, y_eval)
    assert verdict["status"] == "ERROR"
    assert verdict["message"] == (
        "training stopped at iteration 1: relu_backward (second ReLU) raised "
        "ValueError: operands could not be broadcast together"
    )
    assert "broadcast" in verdict["details"][-1]  # the traceback


def test_a_wrong_shape_is_an_invalid_output(data):
    x_train, y_train, x_eval, y_eval = data

    def flat_ip(op_name, params, arrays):
        out = ref_call(op_name, params, arrays)
        if op_name == "inner_product.forward":
            out["y"] = out["y"].ravel()
        return out

    outcome = training.train(flat_ip, x_train, y_train, x_eval, small(iterations=5))
    verdict = training_verdict.evaluate(outcome, y_eval)
    assert outcome.failure["kind"] == "invalid output"
    assert (
        "inner_product_forward (inner-product layer) returned 'y' of shape (32000,); training needs (500, 64)"
        in verdict["message"]
    )


def test_a_fixed_batch_size_fails_on_the_held_out_digits(data):
    x_train, y_train, x_eval, y_eval = data

    def batch_64_only(op_name, params, arrays):
        if op_name == "conv.forward" and arrays["x"].shape[1] != 64:
            raise IndexError("index 64 is out of bounds for axis 1 with size 64")
        return ref_call(op_name, params, arrays)

    outcome = training.train(batch_64_only, x_train, y_train, x_eval, small(iterations=3))
    assert outcome.status == training.ERROR and outcome.failure["phase"] == "eval"
    assert outcome.iterations_done == 3
    verdict = training_verdict.evaluate(outcome, y_eval)
    assert "while scoring the held-out digits after iteration 3" in verdict["message"]
    assert verdict["hint"].startswith("it ran on training batches of 64")


# ---- the verdict ----------------------------------------------------------------------------


@pytest.mark.slow
def test_zero_conv_backward_fails_because_the_conv_layers_do_not_learn(data):
    x_train, y_train, x_eval, y_eval = data

    def zero_conv_backward(op_name, params, arrays):
        out = ref_call(op_name, params, arrays)
        if op_name == "conv.backward":
            out = {k: np.zeros_like(v) for k, v in out.items()}
        return out

    outcome = training.train(zero_conv_backward, x_train, y_train, x_eval, small(iterations=20))
    assert outcome.status == training.COMPLETED
    assert outcome.zero_grad_iterations == {"conv1": 20, "conv2": 20, "ip": 0, "loss": 0}
    np.testing.assert_array_equal(outcome.grad_norm[:, :2], 0)
    verdict = training_verdict.evaluate(outcome, y_eval, config=small(iterations=20, min_accuracy=0.0))
    assert verdict["status"] == "FAIL"  # whatever the accuracy
    assert verdict["message"].startswith(
        "the conv layers (conv1, conv2) do not learn: their weight gradient was zero in all 20 iterations"
    )
    assert verdict["hint"] == training_verdict.NOT_LEARNING_HINT.format(
        layers="conv layers (conv1, conv2)",
        function="conv_layer_backward in the second conv layer",
        what="the weight, bias and input gradients",
        count=20,
        done=20,
    )


def outcome_of(loss, batch_accuracy, scores, **kw) -> TrainOutcome:
    n = len(loss)
    fields = dict(
        status=training.COMPLETED,
        iterations=n,
        iterations_done=n,
        elapsed_s=10.0,
        projected_s=10.0,
        loss=np.asarray(loss, float),
        batch_accuracy=np.asarray(batch_accuracy, float),
        grad_norm=np.ones((n, 4)),
        eval_iterations=np.zeros(0, np.int64),
        eval_predictions=np.zeros((0, 5), np.int64),
        scores=scores,
        zero_grad_iterations=dict.fromkeys(training.LAYERS, 0),
        config=TrainConfig().to_dict(),
    )
    fields.update(kw)
    return TrainOutcome(**fields)


Y5 = np.array([0, 1, 2, 3, 4])


def test_pass_when_accurate():
    verdict = training_verdict.evaluate(outcome_of([2.3] * 20, [0.9] * 20, np.eye(10)[:, Y5]), Y5)
    assert verdict["passed"] and verdict["status"] == "PASS" and verdict["accuracy"] == 1.0
    assert verdict["eval_curve"] == [[20, 1.0]]


def test_flat_loss_hint():
    verdict = training_verdict.evaluate(outcome_of([2.3] * 20, [0.1] * 20, np.eye(10)[:, [9] * 5]), Y5)
    assert verdict["status"] == "FAIL" and verdict["accuracy"] == 0.0
    assert verdict["hint"] == training_verdict.LOSS_FLAT_HINT


def test_a_short_run_whose_loss_fell_is_not_called_flat():
    """12 iterations: the first 6 against the last 6 (two windows of 10 would share 8 and call
    a loss that fell by 30% flat)."""
    falling = np.linspace(2.3, 1.6, 12)
    verdict = training_verdict.evaluate(outcome_of(falling, [0.1] * 12, np.eye(10)[:, [9] * 5]), Y5)
    assert verdict["status"] == "FAIL" and verdict.get("hint") != training_verdict.LOSS_FLAT_HINT
    flat = training_verdict.evaluate(outcome_of([2.3] * 12, [0.1] * 12, np.eye(10)[:, [9] * 5]), Y5)
    assert flat["hint"] == training_verdict.LOSS_FLAT_HINT


def test_learned_batches_but_not_held_out_hint():
    verdict = training_verdict.evaluate(
        outcome_of(np.linspace(2.3, 0.1, 20), [0.99] * 20, np.eye(10)[:, [9] * 5]), Y5
    )
    assert verdict["hint"].startswith("the training batches are learned (batch accuracy 0.99)")


def test_diverged_hint_when_parameters_blew_up():
    failure = {
        "phase": "train",
        "iteration": 7,
        "op": "conv.forward",
        "layer": "conv1",
        "output": "y",
        "inputs_finite": True,
        "max_abs_input": 3e200,
        "max_abs_param": 3e200,
    }
    outcome = outcome_of([2.3] * 7, [0.1] * 7, None, status=training.NON_FINITE, failure=failure)
    verdict = training_verdict.evaluate(outcome, Y5)
    assert verdict["message"].startswith("training stopped at iteration 8: conv_layer_forward")
    assert verdict["hint"] == training_verdict.NON_FINITE_HINTS["diverged"].format(size=3e200)


def test_malformed_results_are_an_error():
    verdict = training_verdict.evaluate(outcome_of([2.3] * 3, [0.1] * 3, np.zeros((10, 4))), Y5)
    assert verdict["status"] == "ERROR" and "malformed" in verdict["message"]


# ---- timing -------------------------------------------------------------------------------------


def test_time_ops_times_every_op_at_lenet_shapes():
    seen = set()

    def recording(op_name, params, arrays):
        seen.add((op_name, arrays["x"].shape if "x" in arrays else arrays["X"].shape))
        if op_name == "pooling.backward":
            raise NotImplementedError
        return ref_call(op_name, params, arrays)

    times = lenet_ops.time_ops(recording, batch_size=8, repeats=2)
    assert set(times) == set(dictapi.FUNCTIONS)  # LeNet's ops (softmax_loss is another family's)
    assert times["pooling.backward"] is None
    assert all(t > 0 for op, t in times.items() if op != "pooling.backward")
    assert ("conv.forward", (784, 8)) in seen and ("conv.forward", (2880, 8)) in seen
    assert ("relu.forward", (500, 8)) in seen and ("mlrloss", (500, 8)) in seen


def test_slow_ops_names_the_ops_behind_the_extra_time():
    ref = {"conv.forward": 0.01, "relu.forward": 0.001, "mlrloss": 0.001, "conv.backward": 0.02}
    student = {"conv.forward": 0.5, "relu.forward": 0.05, "mlrloss": 0.005, "conv.backward": 0.05}
    slow = training_verdict.slow_ops(student, ref)
    # mlrloss: 5x slower but 0.7% of the extra time; conv.backward: 5% of it but only 2.5x slower
    assert [(s["function"], round(s["ratio"])) for s in slow] == [
        ("conv_layer_forward", 50),
        ("relu_forward", 50),
    ]
    assert slow[0]["message"] == (
        "conv_layer_forward is 50x slower than the reference "
        "(500.0 ms vs 10.0 ms per iteration; 86% of the extra time)"
    )
    assert (
        training_verdict.slow_ops(
            {"conv.forward": None, "relu.forward": 0.01}, {"conv.forward": 0.01, "relu.forward": 0.01}
        )
        == []
    )


def test_a_training_traceback_keeps_only_the_students_frames():
    from harness.training.verdict import student_frames

    text = (
        "Traceback (most recent call last):\n"
        '  File "/opt/harness/child/training.py", line 370, in train\n'
        "    run.step()\n"
        '  File "/opt/harness/profiles/dictapi.py", line 80, in call\n'
        "    out = fn(**kwargs)\n"
        '  File "/tmp/work/sub/relu.py", line 5, in relu_forward\n'
        "    out = x[::2] + x\n"
        "          ~~~~~~^~~\n"
        "ValueError: operands could not be broadcast together\n"
    )
    trimmed = student_frames(text, frozenset({"relu.py", "conv_layer.py"}))
    assert trimmed.splitlines() == [
        "Traceback (most recent call last):",
        "  (2 frames of the grader and libraries not shown)",
        '  File "relu.py", line 5, in relu_forward',
        "    out = x[::2] + x",
        "          ~~~~~~^~~",
        "ValueError: operands could not be broadcast together",
    ]
    assert student_frames(text, None) == text.rstrip()


@pytest.mark.parametrize("family", ["cs231n", "classapi"])
def test_training_hints_are_in_the_familys_own_words(family):
    """What training says of a slow or non-finite function of a family other than the dict API
    uses that family's names (no ``diff``, ``w.T @ x + b.T``, columns of data)."""
    from conftest import DICT_API_WORDS

    from harness import profiles

    ops = list(profiles.get(family).FUNCTIONS)
    times = dict.fromkeys(ops, 1.0)
    for op in ops:
        (slow,) = training_verdict.slow_ops({**times, op: 100.0}, times, family=family)
        assert slow["hint"] and not DICT_API_WORDS.search(slow["hint"]), (op, slow["hint"])
        if "w" in OPS[op].inputs or OPS[op].kind == "loss":
            assert "w.T @ x" not in slow["hint"] and "columns" not in slow["hint"], (op, slow["hint"])
    loss_op = next(op for op in ops if OPS[op].kind == "loss")
    hint = training_verdict.NON_FINITE_HINTS.get(loss_op) or training_verdict.NON_FINITE_HINTS["loss"]
    assert "row" in hint or "max subtracted" in hint
