"""The verdict on a training run of any family's network (parent side): accuracy, and what went wrong.

``training.train`` runs where the submission's functions live and returns a
``TrainOutcome``; ``evaluate`` here holds the held-out labels and turns the outcome into
a verdict with messages a student can act on: too slow (which function, how many times
slower than the reference), a NaN (which function first produced it), layers that do not
learn, or an accuracy below the pass mark.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from harness.child.networks import LENET, Network, family_of
from harness.child.training import (
    COMPLETED,
    ERROR,
    NON_FINITE,
    TIME_LIMIT,
    K,
    TrainConfig,
    TrainOutcome,
)
from harness.core.ops import OPS
from harness.diagnose import legacy

# Likely causes, by operation, for the three ways training goes wrong.
SLOW_HINTS = {
    "conv.forward": "a Python loop over output pixels or images? Build the matrix of all patches "
    "once (im2col, e.g. with numpy stride tricks) and use one matrix product",
    "conv.backward": "a Python loop over output pixels or images? The weight gradient is "
    "col @ dy.T and the input gradient is col2im(w @ dy): loop at most over "
    "the k*k kernel offsets",
    "pooling.forward": "a Python loop over windows or images? Reshape to expose the window "
    "axes (or use a strided view) and take the max over them",
    "pooling.backward": "a Python loop over windows or images? Build a mask of each window's "
    "maximum with array operations, loop at most over the k*k offsets",
    "relu.forward": "a loop over elements? np.maximum(x, 0) does it at once",
    "relu.backward": "a loop over elements? diff * (x > 0) does it at once",
    "inner_product.forward": "a loop over the batch? w.T @ x + b.T is one matrix product",
    "inner_product.backward": "a loop over the batch? x @ diff.T and w @ diff are matrix products",
    "mlrloss": "a loop over the examples of the batch? Softmax, loss and gradients vectorise "
    "over the columns",
    "softmax_loss": "a loop over the examples of the batch? Softmax, loss and dx vectorise over "
    "the rows of x (N, C): x[np.arange(N), y] picks each example's score",
}
_POOL_FORWARD_NCHW = (
    "a Python loop over windows or images? When the windows tile the map, reshape to "
    "(N, C, H // k, k, W // k, k) and take the max over the two window axes; else use a strided "
    "view (np.lib.stride_tricks.sliding_window_view)"
)
_POOL_BACKWARD_NCHW = (
    "a Python loop over windows or images? Build a mask of each window's maximum with array "
    "operations (the reshaped input == its window max), loop at most over the k*k window offsets"
)
FAMILY_SLOW_HINTS = {
    "cs231n": {
        "inner_product.forward": "a loop over the batch? x.reshape(N, -1) @ w + b is one matrix product",
        "inner_product.backward": "a loop over the batch? dout @ w.T, x2d.T @ dout and dout.sum(axis=0) "
        "are matrix operations",
        "conv.backward": "a Python loop over images, filters and output pixels? Loop at most "
        "over the HH*WW kernel offsets: for each, dw[:, :, i, j] and the slice of dx it feeds are "
        "one tensordot/einsum over the batch and the output pixels",
        "conv.forward": "a Python loop over images, filters and output pixels? Loop at most over "
        "the HH*WW kernel offsets (one tensordot of the shifted input with w[:, :, i, j] each), or "
        "build the matrix of all patches once (im2col) and use one matrix product",
        "pooling.forward": _POOL_FORWARD_NCHW,
        "pooling.backward": _POOL_BACKWARD_NCHW,
        "relu.forward": "a loop over elements? np.maximum(x, 0) does it at once",
        "relu.backward": "a loop over elements? dout * (x > 0) does it at once",
    },
    "classapi": {
        "inner_product.forward": "a loop over the batch? Input @ W + b is one matrix product",
        "inner_product.backward": "a loop over the batch? Input.T @ delta, delta.sum(axis=0) and "
        "delta @ W.T are matrix operations",
        "conv.backward": "a Python loop over images, filters and output pixels? Loop at most over "
        "the k*k kernel offsets: for each, grad_W[:, :, i, j] and the slice of the input gradient "
        "it feeds are one tensordot/einsum over the batch and the output pixels",
        "conv.forward": "a Python loop over images, filters and output pixels? Loop at most over "
        "the k*k kernel offsets (one tensordot/einsum of the shifted padded input with W[:, :, i, j] "
        "each), or build the matrix of all patches once (im2col) and use one matrix product",
        "pooling.forward": _POOL_FORWARD_NCHW,
        "pooling.backward": _POOL_BACKWARD_NCHW,
        "relu.forward": "a loop over elements? np.maximum(Input, 0) does it at once",
        "relu.backward": "a loop over elements? delta * (Input > 0) does it at once",
        "softmax_ce": "a loop over the examples of the batch? Softmax, loss and gradient vectorise "
        "over the rows of logit (N, K)",
    },
}
"""A family's wording of a slow-function hint, by op (over ``SLOW_HINTS``, the dict API's)."""
NON_FINITE_HINTS = {
    "softmax_loss": "a softmax without each row's max subtracted overflows for large scores "
    "(exp(710) is inf): subtract x.max(axis=1, keepdims=True) before exp; look for log(0) too",
    "mlrloss": "a softmax without the column max subtracted overflows for large logits "
    "(exp(710) is inf): subtract each column's max before exp; look for log(0) too",
    "forward": "a non-finite output from finite inputs: an array created with np.empty and "
    "not filled everywhere, or a division by zero?",
    "backward": "a non-finite gradient from finite inputs: an array created with np.empty and "
    "not filled everywhere, or a division by zero?",
    "softmax_ce": "a softmax without each row's max subtracted overflows for large logits "
    "(exp(710) is inf): subtract logit.max(axis=1, keepdims=True) before exp; look for log(0) too",
    "loss": "a non-finite loss from finite scores: a softmax without the max subtracted "
    "overflows for large scores (exp(710) is inf); look for log(0) too",
    "diverged": "the training diverged (the parameters grew to {size:.3g}): a gradient is too "
    "large or has the wrong sign; the gradient checks say which function",
}
NOT_LEARNING_HINT = (
    "no gradient reaches the {layers}: {function} returned {what} as all zeros "
    "although its upstream gradient (diff) was non-zero ({count} of {done} iterations)"
)
NOT_LEARNING_PLAIN_HINT = (
    "no gradient reaches the {layers}: check that the backward passes return "
    "their gradients rather than zeros"
)
LOSS_FLAT_HINT = (
    "the loss did not fall: check the sign of the gradients and that each backward "
    "pass returns the gradient of its own inputs; the gradient checks say which"
)
HELD_OUT_HINT = (
    "the training batches are learned (batch accuracy {batch:.2f}) but held-out "
    "digits are not: the held-out digits go through the forward passes in batches of "
    "{eval_batch}; does a forward function assume a fixed batch size?"
)
BATCH_SIZE_HINT = (
    "it ran on training batches of {train_batch} but failed on the held-out digits "
    "(batches of {eval_batch}): does it assume a fixed batch size? Take it from the "
    "data's shape"
)
LAYER_WORDS = LENET.words
"""How messages name LeNet's layers; every network has its own (``Network.words``)."""
OUTPUT_WORDS = {
    "y": "its output data",
    "input": "the input gradient",
    "w": "the weight gradient",
    "b": "the bias gradient",
    "nll": "the loss (nll)",
    "wb": "the parameter gradient g",
    "percent": "percent",
}
SLOW_RATIO = 3.0  # an op is named as a bottleneck when this many times slower than the reference
SLOW_SHARE = 0.05  # ... and behind at least this share of the extra time


def slow_ops(
    student_times: dict, reference_times: dict, names: dict | None = None, family: str = ""
) -> list[dict]:
    """The ops that make a submission slow, most extra seconds first, each with a hint in the
    words of ``family`` (a profile name; ``FAMILY_SLOW_HINTS``).

    An op is named when it is at least SLOW_RATIO times slower than the reference and
    accounts for at least SLOW_SHARE of the extra time per iteration (``time_ops`` times).
    """
    worded = FAMILY_SLOW_HINTS.get(family, {})
    names = names or _function_names()
    pairs = {
        op: (t, reference_times[op])
        for op, t in student_times.items()
        if t is not None and reference_times.get(op)
    }
    extra = {op: max(t - ref, 0.0) for op, (t, ref) in pairs.items()}
    total = sum(extra.values())
    found = []
    for op, (t, ref) in pairs.items():
        ratio, share = t / ref, extra[op] / total if total else 0.0
        if ratio >= SLOW_RATIO and share >= SLOW_SHARE:
            fn = names.get(op, op)
            found.append(
                {
                    "op": op,
                    "function": fn,
                    "seconds": t,
                    "reference_seconds": ref,
                    "ratio": ratio,
                    "share": share,
                    "hint": worded.get(op) or SLOW_HINTS.get(op, ""),
                    "message": f"{fn} is {ratio:.0f}x slower than the reference ({_fmt_s(t)} vs "
                    f"{_fmt_s(ref)} per iteration; {share:.0%} of the extra time)",
                }
            )
    return sorted(found, key=lambda d: -d["seconds"] + d["reference_seconds"])


def evaluate(
    outcome: TrainOutcome,
    y_eval: np.ndarray,
    reference_times: dict | None = None,
    student_times: dict | None = None,
    config: TrainConfig | None = None,
    names: dict | None = None,
    student_files: frozenset | None = None,
    full_speed: float | None = None,
) -> dict:
    """The verdict on a training run (parent side).

    Returns a JSON-able dict: status (PASS, FAIL, ERROR), passed, message (one line),
    details (lines), hint (a likely cause, or ''), accuracy (None unless completed),
    eval_curve ``[[iteration, accuracy], ...]`` (along the way on the first eval_subset
    digits, the last point on all), slow_ops (``slow_ops``'s list when both timings are
    given) and numbers. ``names`` maps canonical ops to the submission's function names;
    ``student_files`` (file names) trims a traceback to the student's own frames.
    ``full_speed`` is the reference's accuracy after the whole budget (for a run stopped at the
    time limit: what full speed would have reached).
    """
    cfg = config or TrainConfig.from_dict(outcome.config)
    names = names or _function_names()
    y_eval = np.asarray(y_eval).astype(np.int64)
    result: dict[str, Any] = {
        "status": "FAIL",
        "passed": False,
        "message": "",
        "details": [],
        "hint": "",
        "accuracy": None,
        "min_accuracy": cfg.min_accuracy,
        "eval_curve": [],
        "slow_ops": [],
        "numbers": {
            "iterations": outcome.iterations,
            "iterations_done": outcome.iterations_done,
            "elapsed_s": round(outcome.elapsed_s, 3),
            "batch_size": cfg.batch_size,
            "seed": cfg.seed,
            "split_seed": cfg.split_seed,
        },
    }
    problem = _malformed(outcome, len(y_eval))
    if problem:
        result.update(status="ERROR", message=f"the training returned malformed results: {problem}")
        return result
    preds = outcome.eval_predictions
    curve = [
        [int(i), float((p == y_eval[: preds.shape[1]]).mean())]
        for i, p in zip(outcome.eval_iterations, preds)
    ]
    accuracy = None
    if outcome.status in (COMPLETED, TIME_LIMIT) and outcome.scores is not None:
        accuracy = float((outcome.scores.argmax(axis=0) == y_eval).mean())
        if not curve or curve[-1][0] != outcome.iterations_done:
            curve.append([outcome.iterations_done, accuracy])
        result["numbers"].update(accuracy=accuracy, min_accuracy=cfg.min_accuracy)
    if full_speed is not None:
        result["numbers"]["full_speed_accuracy"] = full_speed
    result.update(accuracy=accuracy, eval_curve=curve)
    if student_times and reference_times:
        result["slow_ops"] = slow_ops(student_times, reference_times, names, family_of(cfg.net))
    details = result["details"]
    if len(outcome.loss):
        details.append(
            f"loss {_first_last(outcome.loss)}; batch accuracy {_first_last(outcome.batch_accuracy)}"
        )
    if curve:
        details.append("held-out accuracy: " + ", ".join(f"{a:.3f} (iteration {i})" for i, a in curve))
    details.extend(outcome.notes)
    if outcome.status == ERROR:
        return _error_verdict(outcome, result, names, cfg, student_files)
    verdict = {
        TIME_LIMIT: _too_slow_verdict,
        NON_FINITE: _non_finite_verdict,
        COMPLETED: _accuracy_verdict,
    }[outcome.status]
    return verdict(outcome, result, names, cfg)


def _too_slow_verdict(outcome: TrainOutcome, result: dict, names: dict, cfg: TrainConfig) -> dict:
    done = outcome.iterations_done
    per_it = outcome.projected_s / outcome.iterations
    accuracy = result["accuracy"]
    if done and accuracy is not None:
        message = (
            f"stopped at the time limit ({cfg.time_limit_s:.0f} s) after {done} of {outcome.iterations} "
            f"iterations ({_fmt_s(per_it)} per iteration): held-out accuracy {accuracy:.3f}"
        )
        passed = accuracy >= cfg.min_accuracy
        result.update(status="PASS" if passed else "FAIL", passed=passed)  # graded on what it learned
    elif done:
        message = (
            f"training stopped after {done} of {outcome.iterations} iterations ({outcome.elapsed_s:.0f} s; "
            f"limit {cfg.time_limit_s:.0f} s): at {_fmt_s(per_it)} per iteration the whole run "
            f"would take about {outcome.projected_s:.0f} s"
        )
    else:
        message = (
            f"training stopped during the first iteration after {outcome.elapsed_s:.0f} s (limit "
            f"{cfg.time_limit_s:.0f} s): the whole run of {outcome.iterations} iterations would take "
            f"more than {outcome.projected_s:.0f} s"
        )
    if accuracy is None or not done:
        result["status"] = "ERROR"
    result["message"] = message
    result["numbers"].update(projected_s=round(outcome.projected_s, 1), seconds_per_iteration=per_it)
    result["details"].extend(slow["message"] for slow in result["slow_ops"])
    if result["slow_ops"]:
        worst = result["slow_ops"][0]
        result["hint"] = f"{worst['function']}: {worst['hint']}"
        if accuracy is not None:
            result["message"] += (
                f"; the bottleneck: {worst['function']} ({worst['ratio']:.0f}x the reference's time)"
            )
    full = result["numbers"].get("full_speed_accuracy")
    if full is not None:
        result["details"].append(
            f"at full speed ({outcome.iterations} iterations within the limit) the reference's layers reach "
            f"{full:.3f} with the same seed and digits"
        )
    return result


def _error_verdict(
    outcome: TrainOutcome, result: dict, names: dict, cfg: TrainConfig, student_files: frozenset | None = None
) -> dict:
    f = outcome.failure or {}
    fn = names.get(f.get("op"), f.get("op") or "a function")
    result.update(
        status="ERROR",
        message=f"training stopped {_when(f)}: {fn} ({_word(cfg.net.words, f.get('layer'))}) {_error_text(f)}",
    )
    if f.get("phase") == "eval":
        result["hint"] = BATCH_SIZE_HINT.format(train_batch=cfg.batch_size, eval_batch=cfg.eval_batch)
    frames = student_frames(f["traceback"], student_files) if f.get("traceback") else ""
    if frames:
        result["details"].append(frames)
    if f.get("kind") != "invalid output" and (old := legacy.cause(f.get("message", ""), frames)):
        result["hint"] = old  # numpy 1.x or Python 2 code: say so before anything else
    return result


_FRAME = re.compile(r'^  File "([^"]+)", line \d+')


def student_frames(text: str, files: frozenset | None) -> str:
    """A traceback's text with only the frames in the student's own files (by file name), and a
    line saying how many frames of the grader and libraries were cut; ``files`` None keeps all."""
    if not files:
        return text.rstrip()
    kept, cut, keep = [], 0, True
    for line in text.rstrip().splitlines():
        frame = _FRAME.match(line)
        if frame:
            keep = frame.group(1).replace("\\", "/").rsplit("/", 1)[-1] in files
            cut += not keep
            if keep:
                kept.append(line.replace(frame.group(1), frame.group(1).rsplit("/", 1)[-1]))
        elif line.startswith("    ") and line.strip():
            if keep:
                kept.append(line)
        else:
            keep = True
            kept.append(line)
    if cut:
        kept.insert(
            1 if kept and kept[0].startswith("Traceback") else 0,
            f"  ({cut} frame{'s' if cut != 1 else ''} of the grader and libraries not shown)",
        )
    return "\n".join(kept)


def _accuracy_verdict(outcome: TrainOutcome, result: dict, names: dict, cfg: TrainConfig) -> dict:
    accuracy, done = result["accuracy"], outcome.iterations_done
    net = cfg.net
    stuck = [
        layer for layer in net.param_layers if done and outcome.zero_grad_iterations.get(layer, 0) == done
    ]
    if stuck:
        verb, its = ("do", "their") if len(stuck) > 1 else ("does", "its")
        result["message"] = (
            f"the {_layer_list(stuck, net)} {verb} not learn: {its} weight gradient was zero "
            f"in all {done} iterations (held-out accuracy {accuracy:.3f})"
        )
        result["hint"] = _not_learning_hint(outcome, stuck, names, net)
        result["not_learning"] = stuck
        return result
    if accuracy < cfg.min_accuracy:
        result["message"] = (
            f"held-out accuracy {accuracy:.3f} after {done} iterations; {cfg.min_accuracy:.2f} needed"
        )
        if _tail_mean(outcome.loss) > 0.9 * _head_mean(outcome.loss):
            result["hint"] = LOSS_FLAT_HINT
        elif _tail_mean(outcome.batch_accuracy) >= cfg.min_accuracy:
            result["hint"] = HELD_OUT_HINT.format(
                batch=_tail_mean(outcome.batch_accuracy), eval_batch=cfg.eval_batch
            )
        return result
    result.update(
        status="PASS",
        passed=True,
        message=f"held-out accuracy {accuracy:.3f} after {done} iterations of batch "
        f"{cfg.batch_size} ({outcome.elapsed_s:.0f} s)",
    )
    return result


def _non_finite_verdict(outcome: TrainOutcome, result: dict, names: dict, cfg: TrainConfig) -> dict:
    f = outcome.failure or {}
    op = f.get("op", "")
    if op:
        result["message"] = (
            f"training stopped {_when(f)}: {names.get(op, op)} "
            f"({_word(cfg.net.words, f.get('layer'))}) returned NaN or inf "
            f"in {_word(OUTPUT_WORDS, f.get('output'))}"
        )
    else:
        result["message"] = f"training stopped {_when(f)}: the class scores became NaN or inf"
    size = max(f.get("max_abs_param", 0.0), f.get("max_abs_input", 0.0))
    if size > 1e6 or not f.get("inputs_finite", True):
        result["hint"] = NON_FINITE_HINTS["diverged"].format(size=size)
    elif op:
        result["hint"] = NON_FINITE_HINTS.get(op) or NON_FINITE_HINTS.get(OPS[op].kind, "")
    result["details"].append(
        f"largest |input| of that call {f.get('max_abs_input', 0.0):.3g}, "
        f"largest |parameter| {f.get('max_abs_param', 0.0):.3g}"
    )
    result["numbers"].update(failed_iteration=f.get("iteration", 0) + 1)
    return result


def _word(table: dict[str, str], key: object) -> object:
    """What ``table`` calls ``key`` (a name sent by the child), or the key itself."""
    return table.get(key, key) if isinstance(key, str) else key


def _when(failure: dict) -> str:
    if failure.get("phase") == "train":
        return f"at iteration {failure.get('iteration', 0) + 1}"
    return f"while scoring the held-out digits after iteration {failure.get('iteration', 0)}"


def _not_learning_hint(outcome: TrainOutcome, stuck: list, names: dict, net: Network = LENET) -> str:
    """Name the backward pass that cut the gradient: the first, in backward order, that returned
    all zeros from a non-zero upstream gradient in at least half of the iterations."""
    done = outcome.iterations_done
    for layer, kind, _ in reversed(net.layers):
        dead = {what: outcome.dead_backward.get(f"{layer}.{what}", 0) for what in ("w", "b", "input")}
        dead = {what: count for what, count in dead.items() if count >= max(1, done // 2)}
        if dead:
            words = [{"w": "weight", "b": "bias", "input": "input"}[w] for w in dead]
            grads = "the " + (", ".join(words[:-1]) + " and " if len(words) > 1 else "") + words[-1]
            grads += " gradients" if len(words) > 1 else " gradient"
            fn = names.get(f"{kind}.backward", f"{kind}.backward")
            return NOT_LEARNING_HINT.format(
                layers=_layer_list(stuck, net),
                function=f"{fn} in the {net.words[layer]}",
                what=grads,
                count=max(dead.values()),
                done=done,
            )
    return NOT_LEARNING_PLAIN_HINT.format(layers=_layer_list(stuck, net))


def _malformed(outcome: TrainOutcome, m: int) -> str:
    if outcome.status not in (COMPLETED, TIME_LIMIT, NON_FINITE, ERROR):
        return f"unknown status {outcome.status!r}"
    e, s = len(outcome.eval_iterations), min(outcome.config.get("eval_subset", m), m)
    if outcome.eval_predictions.shape != (e, s):
        return f"eval_predictions of shape {outcome.eval_predictions.shape}, expected {(e, s)}"
    scores = outcome.scores
    if outcome.status == COMPLETED and scores is None:
        return "final scores missing"
    if scores is not None and (scores.shape != (K, m) or not np.isfinite(scores).all()):
        return "final scores of the wrong shape or not finite"
    return ""


def _function_names() -> dict:
    from harness.profiles import dictapi

    return dict(dictapi.FUNCTIONS)


def _layer_list(layers: list, net: Network = LENET) -> str:
    if net is LENET and set(layers) >= {"conv1", "conv2"}:
        rest = [net.words[x] for x in layers if x not in ("conv1", "conv2")]
        return " and ".join(["conv layers (conv1, conv2)"] + rest)
    return " and ".join(net.words.get(x, x) for x in layers)


def _error_text(f: dict) -> str:
    message = str(f.get("message", ""))
    if f.get("kind") == "invalid output":
        return message
    if message.partition(":")[0] == "NotImplementedError":  # a starter's stub, its message or none
        return f"is not implemented (it raised {message})"
    return f"raised {message}"


def _window(a: np.ndarray, n: int) -> int:
    """Iterations averaged at each end: ``n``, fewer in a short run, so that head and tail never
    overlap (12 iterations: the first 6 against the last 6, not two windows sharing 8)."""
    return max(1, min(n, len(a) // 2))


def _head_mean(a: np.ndarray, n: int = 10) -> float:
    return float(np.mean(a[: _window(a, n)])) if len(a) else math.nan


def _tail_mean(a: np.ndarray, n: int = 10) -> float:
    return float(np.mean(a[-_window(a, n) :])) if len(a) else math.nan


def _first_last(a: np.ndarray, n: int = 10) -> str:
    """``2.301 (first 10 iterations) -> 0.152 (last 10)``; each iteration's value when there are few."""
    if len(a) < 2 * n:
        which = f"iterations 1-{len(a)}" if len(a) > 1 else "iteration 1"
        return " -> ".join(f"{v:.3f}" for v in a) + f" ({which})"
    return f"{_head_mean(a, n):.3f} (first {n} iterations) -> {_tail_mean(a, n):.3f} (last {n})"


def _fmt_s(t: float) -> str:
    return f"{t * 1000:.1f} ms" if t < 1 else f"{t:.1f} s"
