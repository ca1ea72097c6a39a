"""Sliding windows of canonical feature maps: the one extractor of conv and pooling windows.

A canonical feature map is ``(h*w*c, n)``, each column the Fortran flattening of
``(h, w, c)`` (``harness.core.ops``), which is the C-ordered ``(c, w, h, n)`` array that
``volume`` views. Windows are ``k x k``; the one at output ``(oh, ow)`` starts at padded row
``oh * step`` and column ``ow * step`` (``step`` = the stride, unless a caller places windows
otherwise to predict a mistake); how many there are is ``ops.output_hw`` of the parameters.
Case generation (tie-free pooling margins), diagnosis (mutants) and the adjoint that adds
windows back (``window_slices``) all index windows through here, so they agree by construction.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import numpy.typing as npt

from harness.core.ops import output_hw


def volume(a: npt.NDArray[Any], h: int, w: int, c: int) -> npt.NDArray[Any]:
    """``(h*w*c, n)`` canonical data as a C-ordered ``(c, w, h, n)`` array (a view when it can be)."""
    return np.ascontiguousarray(a).reshape(c, w, h, a.shape[1])


def window_slices(
    params: dict[str, Any], step: int | None = None
) -> Iterator[tuple[int, int, tuple[Any, ...]]]:
    """``(dw, dh, index)`` per kernel offset: ``padded_volume[index]`` is that offset's value in
    every window, ``(c, w_out, h_out, n)``; windows start ``step`` apart (the stride by default)."""
    k = params["k"]
    h_out, w_out = output_hw(params)
    step = params["stride"] if step is None else step
    for dw in range(k):
        for dh in range(k):
            yield (
                dw,
                dh,
                (
                    slice(None),
                    slice(dw, dw + step * (w_out - 1) + 1, step),
                    slice(dh, dh + step * (h_out - 1) + 1, step),
                ),
            )


def windows(
    x: npt.NDArray[Any], params: dict[str, Any], step: int | None = None, pad_value: Any = 0.0
) -> npt.NDArray[Any]:
    """Every window's values, ``(c, k_w, k_h, w_out, h_out, n)``, of canonical data ``x`` padded
    with ``pad_value`` by ``params['pad']``; windows start ``step`` apart (the stride by default)."""
    h, w, c, k, p = (params[key] for key in ("h", "w", "c", "k", "pad"))
    h_out, w_out = output_hw(params)
    v = np.pad(volume(x, h, w, c), ((0, 0), (p, p), (p, p), (0, 0)), constant_values=pad_value)
    out = np.empty((c, k, k, w_out, h_out, x.shape[1]), dtype=v.dtype)
    for dw, dh, index in window_slices(params, step):
        out[:, dw, dh] = v[index]
    return out
