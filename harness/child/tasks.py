"""The tasks the child serves beyond single calls: the training run and per-op timings.

``child_tasks`` registers them with the child's protocol loop (``harness.child.serve``). They
call the submission's functions through its profile, and the functions the course provides
through the self-contained copies the parent shared for the request (``harness.sandbox.share``): the child
never imports ``reference/`` or any module of the grader that holds reference math.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import numpy as np

from harness.child import lenet_ops, networks, protocol, training
from harness.core import device
from harness.core.loader import load_isolated
from harness.core.ops import OPS


def _readonly(a: np.ndarray) -> np.ndarray:
    if not isinstance(a, np.ndarray):  # cupy has no read-only arrays: a copy (on the GPU, cheap)
        return a.copy()
    view = a.view()
    view.flags.writeable = False
    return view


def _caller(functions, profile, request: dict):
    """``call(op, params, arrays)`` over the submission's functions; those the course provides come
    from the copies the parent shared for this request (``reference_folder``), never from ``reference/``.

    Arguments go in as read-only views: copying every input of every call costs about a
    quarter of the layers' own compute. A function that writes into its arguments (a ReLU in
    place, say) gets copies from then on, as the training loop needs its arrays unchanged.
    A profile that ``KEEPS_FORWARD_STATE`` (cs231n) gets each backward called with the cache
    its forward returned in this iteration (``training.ForwardStates``).
    """
    needs_copies: set[str] = set()
    provided = list(request.get("provided", []))
    shared = load_isolated(Path(request["reference_folder"]), provided) if provided else {}
    states = training.ForwardStates() if getattr(profile, "KEEPS_FORWARD_STATE", False) else None

    def call(op_name, params, arrays):
        op, name = OPS[op_name], profile.FUNCTIONS[op_name]
        fn = _Chosen(functions, shared, provided)  # a cs231n backward calls its forward too
        extra = {}
        if states is not None and op.kind == "forward":
            extra = {"state": states.forward(op_name, arrays)}
        elif states is not None and op.kind == "backward":
            kept = states.backward(op_name, arrays)
            extra = {"state": kept} if kept is not None and name not in needs_copies else {}
            # (a backward that wrote into its arguments may write into its cache too, whose arrays
            # are the forward's read-only views: it gets its forward called again, on copies)
        if name not in needs_copies:
            try:
                views = {k: _readonly(v) for k, v in arrays.items()}
                return _writable(profile.call(fn, op_name, params, views, **extra)[0])
            except ValueError as exc:
                if "read-only" not in str(exc):
                    raise
                needs_copies.add(name)
                if op.kind == "backward":
                    extra = {}
        copies = {k: v.copy() for k, v in arrays.items()}
        return _writable(profile.call(fn, op_name, params, copies, **extra)[0])

    call.keeps_forward_state = states is not None  # type: ignore[attr-defined]
    return call


class _Chosen(dict):
    """Function name -> the submission's function, or the shared copy when the course provides it;
    looked up on first use (a function the call does not use is never imported)."""

    def __init__(self, functions, shared: dict, provided: list):
        super().__init__()
        self.functions, self.shared, self.provided = functions, shared, provided

    def __missing__(self, name: str):
        fn = (self.shared if name in self.provided else self.functions)[name]
        self[name] = fn
        return fn


def _writable(outputs: dict) -> dict:
    """Outputs the loop may update in place (a function may return a view of its read-only input)."""
    return {
        k: v.copy() if isinstance(v, np.ndarray) and not v.flags.writeable else v for k, v in outputs.items()
    }


def child_tasks(functions, profile) -> dict:
    """The tasks the child serves for this check: ``train`` and ``time_ops``."""

    def train_task(request, arrays, folder: Path) -> dict:
        call = _caller(functions, profile, request)
        config = training.TrainConfig.from_dict(request["config"])
        progress = progress_writer(folder / protocol.PROGRESS)
        xp, note = _device(call, config.device, config.net)
        outcome = training.train(
            call, arrays["x_train"], arrays["y_train"], arrays["x_eval"], config, progress=progress, xp=xp
        )
        outcome.device_note = note
        out_arrays, info = outcome.to_payload()
        for name, value in out_arrays.items():
            np.save(
                folder / protocol.value_file(protocol.OUTPUTS, name),
                np.asarray(value, dtype=np.float64),
                allow_pickle=False,
            )
        return {
            protocol.OUTPUTS: {name: {"kind": protocol.NDARRAY} for name in out_arrays},
            "data": {"info": info},
        }

    def time_task(request, arrays, folder: Path) -> dict:
        call = _caller(functions, profile, request)
        times = lenet_ops.time_ops(
            call,
            batch_size=request.get("batch_size", 64),
            budget_s=request.get("budget_s", 60.0),
            xp=device.array_module(request.get("device", device.CPU)),
            ops=request.get("ops"),
            network=networks.get(request.get("network", networks.LENET.name)),
        )
        return {"outputs": {}, "data": {"times": times}}

    return {"train": train_task, "time_ops": time_task}


def progress_writer(path: Path, every_s: float = 0.2):
    """``progress(info)`` for ``training.train``: the parent's progress line reads this file."""
    written = [-math.inf]

    def progress(info: dict) -> None:
        now = time.monotonic()
        if now - written[0] >= every_s or info["iteration"] == info["iterations"]:
            written[0] = now
            part = path.with_name(path.name + ".part")  # renamed into place: never read half-written
            part.write_text(json.dumps(info, default=float))
            os.replace(part, path)

    return progress


def _device(call, asked: str, network=None) -> tuple:
    """``(array module, note)``: where to train; the note says why not on the GPU asked for."""
    if asked == device.CPU:
        return np, ""
    try:
        xp = device.array_module(asked)
    except device.DeviceError as exc:
        return np, f"trained on the CPU: {exc}"
    problem = lenet_ops.device_problem(call, xp, network)
    if problem:
        return np, (
            f"trained on the CPU, not the GPU asked for: {problem}. Layers that take their "
            f"array module from their inputs (xp = cupy.get_array_module(x)) run on either."
        )
    return xp, ""
