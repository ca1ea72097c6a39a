"""Speed before submitting: each graded function timed at the family's network's shapes (LeNet's,
the cs231n conv net's), and the training
check's time projected against its limit, in a few seconds (``python -m harness speed PATH``;
every grade runs it before training).

Invariants:

* The submission's functions run in the sandbox (the child's ``time_ops`` task); the
  reference's are timed in the parent at the same shapes, with the same inputs
  (``harness.child.lenet_ops.lenet_cases``), so the ratios compare like with like.
* The estimate never waits on slow code: every op is first timed on a batch of ``PROBE_BATCH``
  digits, beside the reference on the same batch, and scaled to the training batch
  (``_full_cost``: a loop over images or windows is linear in the batch size; code about as
  fast as the reference's scales like it). Ops whose full-size timing is expected to be cheap
  are timed again at the real size, within ``FULL_TIMING_TOTAL_S``.
* The projection is the training loop's own arithmetic: ``iterations`` x (one iteration's ops)
  plus the held-out evaluations' forward passes (``TrainConfig``), against the check's limit.
  It is an estimate (the harness adds about 10% during training, see benchmarks/README.md),
  which is why a submission is called too slow only when it is over the limit, and close
  to it within ``CLOSE``.
* The bottlenecks are named by ``training.verdict.slow_ops``, the rule the training check's own
  time-out uses: one rule, one home.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass

from harness import profiles
from harness.cases import reference
from harness.checks.rubric import TIME_BUDGET_FACTOR
from harness.child import lenet_ops, training
from harness.core.ops import OPS
from harness.training import check as training_check
from harness.training import verdict as training_verdict

PROBE_BATCH = 2
"""Digits per call in the first, scaled timing: a loop-based function is called on 2 digits, not 64."""
FULL_TIMING_S = 1.0
"""Time an op again at the real batch size when that is expected to cost less than this (``_full_cost``) ..."""
FULL_TIMING_TOTAL_S = 2.0
"""... and those ops together, fastest first, stay below this."""
CLOSE = 0.8
"""A projection above this share of the limit is reported as close to it."""
OVERHEAD = 1.1
"""The training loop's own work on top of the layers' (SGD, batches; benchmarks/README.md: +9.4%)."""


@dataclass(frozen=True)
class OpTiming:
    """One graded operation's time per training iteration, the submission's against the reference's."""

    op: str
    """Canonical op, e.g. ``pooling.forward``."""
    function: str
    """The submission's function that computes it."""
    seconds: float | None
    """Per iteration (all its layers), at the training batch size; None when it raised."""
    reference_seconds: float
    """The reference's time for the same work."""
    scaled: bool
    """True when ``seconds`` was scaled from a batch of PROBE_BATCH (too slow to time at full size)."""

    @property
    def ratio(self) -> float | None:
        """How many times slower than the reference."""
        if self.seconds is None or not self.reference_seconds:
            return None
        return self.seconds / self.reference_seconds


@dataclass(frozen=True)
class SpeedEstimate:
    """What the training check's time will be, and why."""

    timings: tuple[OpTiming, ...]
    """Every graded op, in the network's order."""
    projected_s: float
    """Projected seconds of the whole training check with the submission's functions."""
    reference_projected_s: float
    """The same projection with the reference's functions."""
    limit_s: float
    """The training check's wall-clock limit."""
    iterations: int
    """SGD iterations the projection is for."""
    slow: tuple[dict, ...]
    """The bottlenecks (``verdict.slow_ops``'s dicts: function, ratio, share, hint, message)."""
    failed: tuple[str, ...]
    """Functions that raised at the network's shapes (their time is unknown)."""
    seconds: float
    """How long the estimate took."""
    network: str = "LeNet"
    """The network the training check trains, in words (``Network.title``)."""

    @property
    def too_slow(self) -> bool:
        """The projection exceeds the training check's limit."""
        return self.projected_s > self.limit_s

    @property
    def close(self) -> bool:
        """The projection is within the limit but above CLOSE of it."""
        return not self.too_slow and self.projected_s > CLOSE * self.limit_s

    def to_dict(self) -> dict:
        return {
            "projected_s": round(self.projected_s, 2),
            "reference_projected_s": round(self.reference_projected_s, 2),
            "limit_s": self.limit_s,
            "iterations": self.iterations,
            "too_slow": self.too_slow,
            "timings": [
                {
                    "function": t.function,
                    "op": t.op,
                    "seconds": t.seconds,
                    "reference_seconds": t.reference_seconds,
                    "scaled": t.scaled,
                }
                for t in self.timings
            ],
            "slow": [s["function"] for s in self.slow],
            "failed": list(self.failed),
        }


def projection(times: dict, config: training.TrainConfig) -> float:
    """Seconds of a training run whose ops take ``times`` (op -> seconds per iteration; None: 0)."""
    step = sum(t or 0.0 for t in times.values())
    forward = sum(t or 0.0 for op, t in times.items() if OPS[op].kind == "forward")
    evals = config.iterations // config.eval_every * config.eval_subset + config.n_test
    return OVERHEAD * config.iterations * step + forward * evals / config.batch_size


def estimate(sb, options, rubric, clock=time.perf_counter) -> SpeedEstimate:
    """Time the submission in ``sb`` against the reference and project the training check."""
    start = clock()
    prof = profiles.get(options.profile)
    provided = [fn for fn in prof.FUNCTIONS.values() if fn in rubric.provided]
    config = training_check.config_from(options, rubric)  # the training check's own config (budget included)
    batch = config.batch_size
    ref_call = reference.caller(prof)
    net = config.net
    ref_times = lenet_ops.time_ops(ref_call, batch_size=batch, budget_s=1.0, network=net)
    ref_probe = lenet_ops.time_ops(ref_call, batch_size=PROBE_BATCH, budget_s=0.3, network=net)
    probe = _child_times(sb, provided, PROBE_BATCH, net.name, budget_s=0.3)
    costs = _full_cost(probe, ref_probe, ref_times, batch)
    student = {op: costs.get(op) for op in probe}
    was_scaled = {op: True for op in student}
    quick, cost = [], 0.0
    for op, c in sorted(costs.items(), key=lambda oc: oc[1]):
        if c < FULL_TIMING_S and cost + c < FULL_TIMING_TOTAL_S:
            quick.append(op)
            cost += c
    if quick:  # vectorised code is far from linear in the batch size: time these at full size
        for op, t in _child_times(sb, provided, batch, net.name, quick, budget_s=1.0).items():
            if t is not None:
                student[op], was_scaled[op] = t, False
    names = dict(prof.FUNCTIONS)
    graded = [op for op in OPS if op in names]  # this family's ops (OPS also lists other families')
    timings = tuple(
        OpTiming(op, names[op], student.get(op), ref_times.get(op) or 0.0, was_scaled.get(op, False))
        for op in graded
    )
    failed = tuple(
        names[op]
        for op in graded
        if student.get(op) is None and names[op] not in provided and names[op] in sb.submission.functions
    )
    slow = training_verdict.slow_ops({op: t for op, t in student.items()}, ref_times, names, prof.NAME)
    return SpeedEstimate(
        timings=timings,
        projected_s=projection({op: student.get(op) for op in graded}, config),
        reference_projected_s=projection(ref_times, config),
        limit_s=config.time_limit_s,
        iterations=config.iterations,
        slow=tuple(s for s in slow if s["function"] not in provided),
        failed=failed,
        seconds=clock() - start,
        network=net.title,
    )


def course_budget(est: SpeedEstimate, rubric) -> SpeedEstimate:
    """``est`` under the rubric's time budget (``rubric.TIME_BUDGET_FACTOR``, validated when the
    rubric is read): unchanged without it, else ``limit_s`` = factor x the reference's projection
    on this machine, measured just before training: a budget that follows the machine."""
    factor = rubric.train.get(TIME_BUDGET_FACTOR)
    if factor is None:
        return est
    return dataclasses.replace(est, limit_s=float(factor) * est.reference_projected_s)


def _full_cost(probe: dict, ref_probe: dict, ref_times: dict, batch: int) -> dict:
    """Each op's time at full size, from its probe: code within SLOW_RATIO of the reference on
    the probe scales like the reference (the reference's full-size time times that ratio);
    slower code is taken as linear in the batch (loops over images or windows), which it is."""
    costs = {}
    for op, t in probe.items():
        if t is None:
            continue
        linear = t * batch / PROBE_BATCH
        ratio = t / ref_probe[op] if ref_probe.get(op) else math.inf
        if ratio < training_verdict.SLOW_RATIO and ref_times.get(op):
            costs[op] = ratio * ref_times[op]
        else:
            costs[op] = linear
    return costs


def _child_times(
    sb, provided: list, batch: int, network: str, ops: list | None = None, budget_s: float = 0.0
) -> dict:
    """The submission's per-iteration op times at ``batch`` digits (the child's ``time_ops``;
    one pass, more while within ``budget_s``) in ``network``; ``ops``: only these."""
    request = {
        "provided": provided,
        "batch_size": batch,
        "budget_s": budget_s,
        "ops": ops,
        "network": network,
    }
    reply = sb.run("time_ops", request, {}, timeout=60)
    times = reply.data.get("times") if reply.ok else None
    return {op: times.get(op) for op in OPS if op in times} if isinstance(times, dict) else {}


def summary(est: SpeedEstimate) -> str:
    """One line: the projection against the limit, and what to vectorise."""
    head = (
        f"training would take about {est.projected_s:.0f} s of its {est.limit_s:.0f} s limit "
        f"({est.iterations} iterations; the reference: about {est.reference_projected_s:.0f} s)"
    )
    if est.too_slow:
        names = ", ".join(s["function"] for s in est.slow) or "your layers"
        return f"too slow: {head}: vectorise {names}"
    if est.close:
        return f"close to the limit: {head}"
    return f"fast enough: {head}"


def render(est: SpeedEstimate) -> str:
    """The table of functions and the verdict, for a terminal."""
    width = max(len(t.function) for t in est.timings)
    lines = [f"{'function':<{width}}  {'yours':>10}  {'reference':>10}  {'slower':>7}"]
    for t in est.timings:
        yours = (
            ("raised" if t.function in est.failed else "-")
            if t.seconds is None
            else _fmt(t.seconds) + ("*" if t.scaled else " ")
        )
        ratio = f"{t.ratio:.0f}x" if t.ratio is not None else "-"
        lines.append(f"{t.function:<{width}}  {yours:>10}  {_fmt(t.reference_seconds):>10}  {ratio:>7}")
    lines.append(
        f"times per training iteration (batch of 64, every layer of {est.network} that uses the function)"
    )
    if any(t.scaled for t in est.timings):
        lines.append(f"* timed on {PROBE_BATCH} digits and scaled to 64 (too slow to time at full size)")
    lines += ["", summary(est)]
    if est.too_slow or est.close:
        lines.append(advice(est))
    lines += [
        f"  {fn} raised at {est.network}'s shapes: its time is not counted (grade to see why)"
        for fn in est.failed
    ]
    missing = [t.function for t in est.timings if t.seconds is None and t.function not in est.failed]
    if missing:
        lines.append(f"  not timed (not defined, or provided by the course): {', '.join(missing)}")
    lines.append(f"(estimated in {est.seconds:.1f} s)")
    return "\n".join(lines)


def advice(est: SpeedEstimate) -> str:
    """What to vectorise, function by function, slowest first."""
    lines = []
    for s in est.slow:
        lines += [f"  {s['message']}", f"    what to do: {s['hint']}"]
    return "\n".join(lines) or "  no single function stands out: every layer adds to the time"


def _fmt(t: float) -> str:
    return f"{t * 1000:.1f} ms" if t < 1 else f"{t:.2f} s"
