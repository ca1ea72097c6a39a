"""Where arrays live: ``cpu`` (numpy) or ``cuda`` (cupy, optional: ``pip install .[gpu]``).

``--device cuda`` runs the reference (fixture generation, reference timings) and the training
of submissions whose layers work with any array module on cupy. The checks themselves compare
numpy arrays: results come back to the host (``to_host``) before anything judges them.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

CPU, CUDA = "cpu", "cuda"
DEVICES = (CPU, CUDA)


class DeviceError(Exception):
    """The device asked for cannot be used; the message says what to do."""


def array_module(device: str = CPU) -> ModuleType:
    """numpy for ``cpu``; cupy for ``cuda``, after checking that a kernel really runs there."""
    if device == CPU:
        return np
    if device != CUDA:
        raise DeviceError(f"unknown device {device!r}: use one of {', '.join(DEVICES)}")
    try:
        import cupy
    except ImportError:
        raise DeviceError(
            "--device cuda needs cupy: install it with `pip install -e .[gpu]` "
            "(cupy-cuda12x), or grade on the CPU without --device"
        ) from None
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            raise RuntimeError("no CUDA device found")
        cupy.arange(3).sum().item()  # a kernel runs: the driver and the toolkit match
    except Exception as exc:  # cupy's CUDARuntimeError and friends
        raise DeviceError(
            f"--device cuda: cupy is installed but cannot use a GPU here "
            f"({type(exc).__name__}: {exc}); grade on the CPU without --device, "
            f"or check the NVIDIA driver and CUDA_VISIBLE_DEVICES"
        ) from None
    xp: ModuleType = cupy  # untyped package: its module, as numpy's
    return xp


def name_of(xp: ModuleType) -> str:
    return CPU if xp is np else CUDA


def to_host(value: Any) -> Any:
    """A numpy array from a numpy or cupy array (anything else is left as it is)."""
    get = getattr(value, "get", None)  # cupy.ndarray.get() copies to the host
    if get is not None and not isinstance(value, np.ndarray) and type(value).__module__.startswith("cupy"):
        return get()
    return value


def synchronize(xp: ModuleType) -> None:
    """Wait for the device's queued work (for timings); nothing to wait for on the CPU."""
    if xp is not np:
        xp.cuda.get_current_stream().synchronize()


def to_device(xp: ModuleType, arrays: dict[str, Any]) -> dict[str, Any]:
    """The numpy arrays of ``arrays`` copied to ``xp``'s device (other values unchanged)."""
    if xp is np:
        return dict(arrays)
    return {k: xp.asarray(v) if isinstance(v, np.ndarray) else v for k, v in arrays.items()}


def stays_on(xp: ModuleType, outputs: dict[str, Any]) -> str:
    """'' if every array output is on ``xp``'s device, else which one left it (and as what)."""
    for name, value in outputs.items():
        if hasattr(value, "shape") and not isinstance(value, xp.ndarray):
            return f"{name!r} came back as {type(value).__module__}.{type(value).__name__}"
    return ""
