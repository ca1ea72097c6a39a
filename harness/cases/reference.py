"""The reference solution, run in the grader's own process (it is trusted).

Computes the expected canonical outputs of any case: fixtures, hidden cases, and the
hypotheses of the diagnosis engine all come from here.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from harness import profiles
from harness.core import device

_xp = np  # the array module reference.run computes with (on_device)

HOLDS_SOLUTION = True
"""This module computes any case (the student kit's stand-in, ``harness.cases.recorded``, does not)."""


@cache
def functions(folder: str | None = None, profile: str = profiles.DEFAULT) -> dict:
    """The reference's graded functions, by the profile's names (default: the profile's own reference)."""
    from harness.core.loader import load_isolated

    prof = profiles.get(profile)
    return load_isolated(Path(folder or prof.REFERENCE_DIR), list(prof.FUNCTIONS.values()), prof.MODULES)


@contextmanager
def on_device(xp):
    """Within the block, ``run`` computes on ``xp`` (cupy: the GPU); its results stay numpy."""
    global _xp
    old, _xp = _xp, xp
    try:
        yield
    finally:
        _xp = old


UNRECORDED: tuple[type[Exception], ...] = ()
"""What ``run`` raises for an input it cannot answer: nothing here (the student kit's stand-in,
``harness.cases.recorded``, raises its ``KitError``); a caller that can do without the answer
catches it."""

_RECORDERS: list[list] = []


@contextmanager
def recording():
    """Within the block, every ``run`` of a family's own reference appends ``(profile, op_name,
    params, arrays, outputs)`` to the list it yields (the student kit records the reference's
    answers to the cases it ships)."""
    calls: list = []
    _RECORDERS.append(calls)
    try:
        yield calls
    finally:
        _RECORDERS.remove(calls)


def run(
    op_name: str, params: dict, arrays: dict, fns: dict | None = None, profile: str = profiles.DEFAULT
) -> dict:
    """Canonical outputs of one operation, as float64 numpy arrays (scalars as 0-d arrays).

    ``profile``: the family whose reference computes them (through its own calling convention)."""
    prof = profiles.get(profile)
    xp = _xp if getattr(prof, "DEVICE_AWARE", False) else np  # a family's reference may be numpy-only
    copies = device.to_device(xp, {k: np.array(v, copy=True) for k, v in arrays.items()})
    outputs, _, _ = prof.call(fns or functions(profile=profile), op_name, params, copies)
    result = {k: np.asarray(device.to_host(v), dtype=np.float64) for k, v in outputs.items()}
    if fns is None:
        for calls in _RECORDERS:
            inputs = {k: np.array(v, copy=True) for k, v in arrays.items()}
            calls.append((profile, op_name, dict(params), inputs, result))
    return result


def caller(prof: Any) -> Callable[[str, dict, dict], dict]:
    """``call(op, params, arrays)`` over the reference's functions through profile ``prof``, in this
    process, arrays copied in and results left where they were computed (as a child's ``call``):
    what the training loop's timings and the GPU probe run the reference with."""
    from harness.child.training import ForwardStates
    from harness.core.ops import OPS

    fns = functions(profile=prof.NAME)
    states = ForwardStates() if getattr(prof, "KEEPS_FORWARD_STATE", False) else None

    def call(op_name: str, params: dict, arrays: dict) -> dict:
        extra = {}
        if states is not None and OPS[op_name].kind == "forward":
            extra = {"state": states.forward(op_name, arrays)}
        elif states is not None and OPS[op_name].kind == "backward":
            kept = states.backward(op_name, arrays)
            extra = {"state": kept} if kept is not None else {}
        return dict(prof.call(fns, op_name, params, {k: v.copy() for k, v in arrays.items()}, **extra)[0])

    call.keeps_forward_state = states is not None  # type: ignore[attr-defined]
    return call
