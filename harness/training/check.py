"""The training check (``train.lenet``, ``train.cs231n``, ...): the family's network trained with
the submission's layers, inside the sandbox.

The network is the assignment family's (``harness.child.networks.for_profile``); everything else
here (data, budget, replay, verdict, figures, the slow-function diagnosis) is shared.

The child's side is ``harness.child.tasks``: the training loop of ``harness.child.training``
calls the submission's functions (the self-contained copies of those the course provides,
``harness.sandbox.share``). ``run`` runs in the parent: it sends the training digits and the
*images* of the held-out digits and keeps the held-out labels; it scores the returned
parameters itself and replays one iteration with the submission's functions
(``harness.training.replay``), then judges with ``training_verdict.evaluate``.

Invariant: the budget (iterations, time limit) is the command line's, else the rubric's
``[train]``, else ``TrainConfig``'s; a run stopped by the time limit is graded on what it
learned by then, like a completed one.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

from harness import profiles
from harness.cases import reference
from harness.child import lenet_ops, networks, protocol, training
from harness.core import device
from harness.core.model import CheckResult, Status
from harness.sandbox import safejson
from harness.sandbox.safefiles import read_bounded
from harness.training import replay
from harness.training import verdict as training_verdict

CHECK_ID = networks.LENET.check_id
"""The LeNet family's check id; every family's is its network's ``check_id`` (``check_id``)."""
MAX_PROGRESS_BYTES = 1 << 16
"""Largest ``progress.json`` the grader reads (the child writes about 200 bytes)."""
EVAL_MARGIN_S = 120.0  # the request's timeout beyond the training's own limit (final evaluation)


# ---- parent side ---------------------------------------------------------------------


def network(options, rubric=None) -> networks.Network:
    """The training network of the family being graded: ``options.profile`` once chosen
    (``grade.choose_profile``); before that (``auto``) the rubric's family, else the default
    family's (LeNet). A family without a network is a ValueError."""
    name = options.profile
    if name == profiles.AUTO:
        name = (rubric.family if rubric is not None else "") or profiles.DEFAULT
    net = networks.for_profile(name)
    if net is None:
        raise ValueError(f"the {name} family has no training network")
    return net


def check_id(profile_name: str) -> str | None:
    """The training check's id for an assignment family; None when the family has none."""
    net = networks.for_profile(profile_name)
    return net.check_id if net is not None else None


def load_data(options) -> tuple:
    """The split, from the shipped digits or ``--data`` (raises mnist.MnistError before any training)."""
    config = config_from(options)
    return training.dataset(config, options.training.data)


def config_from(options, rubric=None) -> training.TrainConfig:
    """The run's settings: the budget given on the command line, else the rubric's (``[train]``
    ``iterations`` and ``time_limit_s``), else ``TrainConfig``'s defaults."""
    budget = rubric.train if rubric is not None else {}
    defaults = training.TrainConfig()
    opts = options.training
    return training.TrainConfig.for_network(
        network(options, rubric).name,
        seed=options.seed,
        iterations=opts.iterations or int(budget.get("iterations", defaults.iterations)),
        time_limit_s=opts.time_limit_s or float(budget.get("time_limit_s", defaults.time_limit_s)),
        give_up_factor=opts.give_up_factor or defaults.give_up_factor,
        device=options.device,
        score_held_out=False,  # the grader scores the returned parameters itself (training.replay)
    )


def _terminal_progress(info: dict, label: str = CHECK_ID) -> None:
    if not sys.stderr.isatty():
        return
    done, total = info.get("iteration", 0), info.get("iterations", 0)
    loss = info.get("loss")
    rate = info.get("rate") or 0
    eta = (total - done) / rate if rate else float("nan")
    sys.stderr.write(
        f"\r  {label}: iteration {done}/{total}  loss {loss if loss is not None else '?':.4}"
        f"  {rate:.1f} it/s  eta {eta:.0f} s   "
    )
    sys.stderr.flush()


def run(sb, submission, options, rubric, data=None) -> CheckResult:
    """Train in the sandbox and judge; returns the family's training CheckResult."""
    start = time.perf_counter()
    config = config_from(options, rubric)
    net = config.net
    _result = functools.partial(_check_result, net.check_id)
    x_train, y_train, x_eval, y_eval = data if data is not None else load_data(options)
    prof = profiles.get(options.profile)
    provided = [fn for fn in prof.FUNCTIONS.values() if fn in rubric.provided]
    if provided and not reference.HOLDS_SOLUTION:
        return _result(
            Status.ERROR,
            f"the student kit cannot train with the functions the course provides ({', '.join(provided)}): "
            "it holds no reference to take them from; the course's grader trains with them "
            "(the unit checks above are the kit's grade; --no-train skips this check)",
            start,
            provided=provided,
        )
    missing = [fn for fn in prof.FUNCTIONS.values() if fn not in provided and fn not in submission.functions]
    if missing:
        return _result(
            Status.ERROR,
            f"cannot train: {', '.join(missing)} not defined in the submission",
            start,
            provided=provided,
        )

    unreadable: list[str] = []  # what the child wrote that is not a progress document

    def progress(folder: Path) -> None:
        path = folder / protocol.PROGRESS
        if unreadable or not os.path.lexists(path):
            return
        try:
            info = safejson.loads(read_bounded(path, MAX_PROGRESS_BYTES), MAX_PROGRESS_BYTES, "progress.json")
            if not isinstance(info, dict):
                raise safejson.ProtocolError("progress.json is not a JSON object")
        except safejson.ProtocolError as exc:
            unreadable.append(str(exc))
            return
        try:
            _terminal_progress(info, net.check_id)
        except (ValueError, TypeError):
            pass  # a field of the wrong type: no progress line, nothing else

    reply = sb.run(
        "train",
        {"config": config.to_dict(), "provided": provided},
        {"x_train": x_train, "y_train": y_train.astype(np.float64), "x_eval": x_eval},
        timeout=config.time_limit_s + EVAL_MARGIN_S,
        on_progress=progress,
    )
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    if unreadable:
        return _result(
            Status.ERROR,
            f"protocol error: {unreadable[0]} (the training's process wrote it; no result of it is used)",
            start,
            output=reply.output,
            provided=provided,
        )
    if not reply.ok:
        what = "not implemented" if reply.status == protocol.NOT_IMPLEMENTED else reply.error
        details = reply.traceback and "  your traceback:\n" + reply.traceback
        return _result(
            Status.ERROR,
            f"training stopped: {what}",
            start,
            details=details,
            output=reply.output,
            provided=provided,
        )
    arrays = {k: v.array for k, v in reply.outputs.items() if v.array is not None}
    try:
        outcome = training.TrainOutcome.from_payload(arrays, reply.data.get("info", {}), net)
    except (KeyError, TypeError, ValueError) as exc:
        return _result(
            Status.ERROR, f"the training returned malformed results ({exc})", start, provided=provided
        )
    untrusted = ""
    if outcome.status in (training.COMPLETED, training.TIME_LIMIT):
        if not outcome.params:
            return _result(
                Status.ERROR,
                "the training returned no parameters",
                start,
                output=reply.output,
                provided=provided,
            )
        try:
            outcome.scores = replay.scores(prof, outcome.params, x_eval, config, sb, provided)
        except (replay.ReplayError, training.OpError, training.Stop) as exc:  # the kit's: your forwards
            return _result(
                Status.FAIL, f"scoring the held-out digits failed: {exc}", start, provided=provided
            )
        if outcome.iterations_done > config.replay_at:
            untrusted = replay.replay(sb, prof, provided, outcome, config, x_train, y_train)
        else:
            untrusted = f"fewer than {config.replay_at + 1} iterations: nothing learned to grade"
    student_times = reference_times = full_speed = None
    if outcome.status == training.TIME_LIMIT:
        request = {"provided": provided, "device": outcome.device, "network": net.name}
        timed = sb.run("time_ops", request, {}, timeout=120)
        student_times = timed.data.get("times") if timed.ok else None
        if reference.HOLDS_SOLUTION:  # the student kit has no reference to time or train
            reference_times = lenet_ops.time_ops(
                reference.caller(prof), xp=device.array_module(outcome.device), network=net
            )
            full_speed = _full_speed_accuracy(prof, config, (x_train, y_train, x_eval, y_eval))
    own_files = frozenset(p.name for p in submission.folder.glob("*.py"))  # the student's modules
    verdict = training_verdict.evaluate(
        outcome,
        y_eval,
        reference_times,
        student_times,
        config,
        names=dict(prof.FUNCTIONS),
        student_files=own_files,
        full_speed=full_speed,
    )
    if untrusted and verdict.get("accuracy") is not None:
        verdict.update(
            status="FAIL", message=f"no credit for the accuracy {verdict['accuracy']:.3f}: {untrusted}"
        )
    from harness.training import figures  # matplotlib: parent only

    shown = figures.training_figures(outcome, verdict, x_eval, y_eval, net)
    from harness.training import metrics

    extra = {
        "figures": [f for f in shown if "png_base64" in f],
        "metrics": (
            metrics.summary(y_eval, outcome.scores, max_mistakes=20) if outcome.scores is not None else {}
        ),
        "curves": {
            "loss": [float(v) for v in outcome.loss],
            "batch_accuracy": [float(v) for v in outcome.batch_accuracy],
        },
        "tables": [f for f in shown if "html" in f],
        "eval_curve": verdict.get("eval_curve", []),
        "provided": provided,
        "from_submission": [fn for fn in prof.FUNCTIONS.values() if fn not in provided],
        "device": outcome.device,
        "device_note": outcome.device_note,
    }
    credit = band_credit(verdict.get("accuracy"), rubric.train.get("bands", []))
    if verdict.get("not_learning") or untrusted:  # random conv features still classify: no credit for that
        credit = 0.0
    status = Status[verdict["status"]] if verdict["status"] in Status.__members__ else Status.FAIL
    if status is Status.PASS and credit < 1.0:
        status = Status.FAIL
    numbers = {**verdict.get("numbers", {}), "credit": credit}
    details = list(verdict.get("details", []))
    details.append(_sources_line(provided, prof))
    if outcome.device_note:
        details.append(outcome.device_note)
    elif outcome.device != device.CPU:
        details.append(f"trained on the GPU ({outcome.device}, cupy)")
    return _result(
        status,
        verdict["message"],
        start,
        details="\n".join("  " + d for d in details),
        hint=verdict.get("hint", ""),
        numbers=numbers,
        extra=extra,
        output=reply.output,
        provided=provided,
    )


def _full_speed_accuracy(prof, config, data) -> float | None:
    """Held-out accuracy of the reference's layers after the whole budget of iterations, same
    seed and data: what the submission's layers reach at full speed when they are correct."""
    x_train, y_train, x_eval, y_eval = data
    reference_config = dataclasses.replace(config, time_limit_s=math.inf, device=device.CPU, eval_every=10**9)
    outcome = training.train(reference.caller(prof), x_train, y_train, x_eval, reference_config)
    if outcome.status != training.COMPLETED or not outcome.params:
        return None
    return float((replay.scores(prof, outcome.params, x_eval, config).argmax(axis=0) == y_eval).mean())


def band_credit(accuracy, bands) -> float:
    """Fraction of the training points for a held-out accuracy: the first band reached."""
    if accuracy is None:
        return 0.0
    for threshold, fraction in sorted(bands, key=lambda b: -b[0]):
        if accuracy >= threshold:
            return float(fraction)
    return 0.0


def _sources_line(provided: list, prof) -> str:
    own = [fn for fn in prof.FUNCTIONS.values() if fn not in provided]
    line = f"trained with your {', '.join(own)}"
    return line + (f"; the reference's {', '.join(provided)} (provided by the course)" if provided else "")


def _check_result(
    check: str,
    status,
    message,
    start,
    *,
    details="",
    hint="",
    numbers=None,
    extra=None,
    output="",
    provided=(),
) -> CheckResult:
    numbers = numbers or {}
    credit = numbers.get("credit", 0.0)
    return CheckResult(
        check,
        status,
        message=message,
        details=details,
        hint=hint,
        function=check,
        cases_passed=round(credit * 100),
        cases_total=100,
        numbers=numbers,
        output=output[-4000:],
        duration=time.perf_counter() - start,
        extra=extra or {"provided": list(provided)},
    )
