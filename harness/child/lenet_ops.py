"""One training iteration's operations outside training: random inputs at the network's shapes
(LeNet's by default, ``harness.child.networks``), the time each op takes, and whether the layers
run on a GPU's arrays.

``training_check`` uses these when training runs out of time (to name the slow function
against the reference) and before training on a GPU (the device probe). Like ``training``,
everything goes through ``call(op_name, params, arrays) -> dict of canonical outputs``; a
``call`` with ``keeps_forward_state`` set (``training.ForwardStates``) has each backward timed
with the state its forward kept, so a backward's time is its own, not its forward's too.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np

from harness.child import networks
from harness.child.networks import Network, output_rows
from harness.child.training import Call
from harness.core import device
from harness.core.ops import OPS


def lenet_cases(
    batch_size: int = 64, seed: int = 0, network: Network | None = None
) -> list[tuple[str, str, dict, dict]]:
    """Every op instance of one iteration of ``network`` (LeNet by default), with random inputs:
    (layer, op, params, arrays)."""
    net = network or networks.LENET
    rng = np.random.default_rng(seed)
    params = net.init_params(seed)
    cases = []
    x = rng.uniform(0, 1, (784, batch_size))
    for layer, kind, p in net.layers:
        arrays = {"x": x}
        if layer in net.params:
            arrays.update(w=params[layer]["w"], b=rng.normal(0, 0.1, params[layer]["b"].shape))
        rows = output_rows(kind, p, arrays)
        cases.append((layer, f"{kind}.forward", p, arrays))
        cases.append((layer, f"{kind}.backward", p, {**arrays, "dy": rng.normal(0, 1, (rows, batch_size))}))
        x = rng.normal(0, 1, (rows, batch_size))
        if kind != "relu":
            x = np.abs(x)
    cases.append(net.loss_case(params, x, rng))
    return cases


def with_forward_outputs(call: Call, cases: list, xp=np) -> list:
    """``cases`` with each backward case's ``y`` computed by ``call``'s forward (zeros if it raises)."""
    for _layer, op_name, p, arrays in cases:
        if OPS[op_name].kind == "backward" and "y" not in arrays:
            try:
                arrays["y"] = xp.asarray(
                    call(
                        op_name.replace("backward", "forward"),
                        p,
                        {k: v.copy() for k, v in arrays.items() if k != "dy"},
                    )["y"],
                    dtype=np.float64,
                )
            except (Exception, SystemExit):
                arrays["y"] = xp.zeros_like(arrays["dy"])
    return cases


def device_problem(call: Call, xp, network: Network | None = None) -> str:
    """'' when every op runs on ``xp``'s arrays and returns arrays there, else what went wrong.

    One small LeNet batch through every op, before training on a GPU: a submission written
    for numpy only (``np.zeros`` filled from cupy arrays, say) is told so, and trains on the CPU.
    """
    if xp is np:
        return ""
    cases = [
        (layer, op, p, device.to_device(xp, arrays))
        for layer, op, p, arrays in lenet_cases(2, network=network)
    ]
    for layer, op_name, p, arrays in with_forward_outputs(call, cases, xp):
        try:
            outputs = call(op_name, p, {k: v.copy() for k, v in arrays.items()})
        except (Exception, SystemExit) as exc:  # whatever the submission does: the CPU then
            return f"{op_name} ({layer}) failed on cupy arrays: {type(exc).__name__}: {exc}"
        left = device.stays_on(xp, {k: v for k, v in outputs.items() if getattr(v, "ndim", 0) > 0})
        if left:
            return f"{op_name} ({layer}) takes its arrays off the GPU: {left}"
    return ""


def time_ops(
    call: Call,
    batch_size: int = 64,
    repeats: int = 3,
    budget_s: float = 60.0,
    clock: Callable[[], float] = time.perf_counter,
    xp=np,
    ops: list[str] | None = None,
    network: Network | None = None,
) -> dict:
    """Seconds each op takes per iteration of ``network`` (LeNet by default; all its instances, best of ``repeats``).

    An op that raises gets None. Repeats stop early once ``budget_s`` is spent. ``xp``: the
    array module the inputs are given in (cupy: timed up to the end of the GPU's work).
    ``ops``: time only these (the result has only their keys); None: every op.
    """
    cases = [
        (layer, op, p, device.to_device(xp, arrays))
        for layer, op, p, arrays in lenet_cases(batch_size, network=network)
        if ops is None or op in ops
    ]
    cases = with_forward_outputs(call, cases, xp)
    best: dict[tuple[str, str], float] = {}
    failed: set[str] = set()
    start = clock()
    for _rep in range(repeats):
        for layer, op_name, p, arrays in cases:
            if op_name in failed:
                continue
            copies = {k: v.copy() for k, v in arrays.items()}
            op = OPS[op_name]
            if op.kind == "backward" and getattr(call, "keeps_forward_state", False):
                try:  # untimed: the cache the backward is then called with
                    call(op.forward, p, {k: v for k, v in copies.items() if k not in ("dy", "y")})
                except Exception:
                    failed.add(op_name)
                    continue
            device.synchronize(xp)
            t0 = clock()
            try:
                call(op_name, p, copies)
                device.synchronize(xp)
            except Exception:
                failed.add(op_name)
                continue
            t = clock() - t0
            best[(layer, op_name)] = min(t, best.get((layer, op_name), math.inf))
        if clock() - start > budget_s:
            break
    times = {}
    timed = {name for _, name, _, _ in cases}
    for op_name in (name for name in OPS if name in timed):  # the network's ops (not another family's)
        ts = [t for (_, name), t in best.items() if name == op_name]
        times[op_name] = None if op_name in failed or not ts else float(sum(ts))
    return times
