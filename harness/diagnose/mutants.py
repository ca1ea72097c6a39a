"""Building blocks of the hypotheses: what the reference computes when it makes a mistake.

``harness.diagnose.mistakes`` describes each known mistake; the arrays it predicts are made here:
the reference run on changed inputs (``run``), windows placed 1 apart, padded with -inf,
routed to another maximum or cropped at the wrong place (``patches``/``unpatch``, the
reference's im2col/col2im written with those knobs), other memory orders of a canonical
array (``layouts``), and the tolerance within which a student's result *is* a prediction
(``close``, the comparison's own predicate). Windows come from ``harness.core.windows``. Canonical layouts are those of ``harness.core.ops``: data ``(h*w*c, n)``, each column
the Fortran flattening of ``(h, w, c)``, which is a C-ordered ``(c, w, h, n)`` array.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

import numpy as np

from harness.cases import reference
from harness.core.compare import within_tolerance
from harness.core.ops import OPS, output_hw
from harness.core.windows import volume as cwhn
from harness.core.windows import window_slices, windows

Candidates = Iterable[tuple[np.ndarray, str]]
"""Predicted arrays, each with a detail for the hint."""


# ---- matching: the grader's own tolerance ----------------------------------------------------


def close_mask(got: np.ndarray, predicted: np.ndarray, scale: float | None = None) -> np.ndarray:
    """Elements of ``got`` within the grader's tolerance of ``predicted``: the predicate of
    ``harness.core.compare`` (``within_tolerance``), ``scale`` defaulting to ``max |predicted|``.

    A student who makes a mistake computes the mistaken formula with the same arithmetic as
    correct code (float32 at worst), so the mistaken result carries the same round-off as a
    correct one; the error analysis of ``compare`` (docs/tolerances.md) therefore bounds how
    far a faithful implementation of the mistake may land from our float64 mutant. A
    mutant that differs from the expected array by less than this cannot be told apart from
    it on that case, and is not evidence of anything (``harness.diagnose.engine``).
    """
    return within_tolerance(np.asarray(got, dtype=np.float64), np.asarray(predicted, dtype=np.float64), scale)


def close(got: np.ndarray, predicted: np.ndarray, scale: float | None = None) -> bool:
    """Same shape and every element within tolerance (see ``close_mask``)."""
    got, predicted = np.asarray(got), np.asarray(predicted)
    return got.shape == predicted.shape and bool(close_mask(got, predicted, scale).all())


# ---- the reference on changed inputs; canonical layouts -------------------------------------


def batch_size(case) -> int:
    a = case.arrays
    return int(a["X"].shape[1]) if "X" in a else int(a["x"].shape[1])


def run(case, op: str | None = None, params: dict | None = None, **arrays) -> dict:
    """The reference's outputs for the case with some parameters or inputs replaced."""
    return reference.run(
        op or case.op,
        {**case.params, **(params or {})},
        {**case.arrays, **arrays},
        profile=getattr(case, "profile", "dictapi"),
    )


def out_channels(case) -> int:
    return case.params["num"] if OPS[case.op].layer == "conv" else case.params["c"]


def flat(v: np.ndarray) -> np.ndarray:
    """Inverse of ``cwhn`` (``harness.core.windows.volume``)."""
    return np.ascontiguousarray(v).reshape(-1, v.shape[-1])


def volume_of(case, out: str):
    """``(names, sizes)`` of the volume behind a canonical 2-D output, or None."""
    op, p = OPS[case.op], case.params
    if op.kind == "loss" or op.layer == "inner_product":
        return None
    if out == "input":
        return ("h", "w", "c", "n"), (p["h"], p["w"], p["c"])
    if out == "y":
        if op.layer == "relu":
            return ("h", "w", "c", "n"), (p["h"], p["w"], p["c"])
        h_out, w_out = output_hw(p)
        return ("h", "w", "c", "n"), (h_out, w_out, out_channels(case))
    if out == "w" and op.layer == "conv":
        return ("dh", "dw", "c", "filter"), (p["k"], p["k"], p["c"])
    return None


def layouts(a: np.ndarray, names: tuple[str, ...], sizes: tuple[int, ...]) -> Candidates:
    """Other memory orders of a ``(prod(sizes), m)`` array whose columns flatten ``sizes`` in F order.

    Every way of holding the same values in a 4-D array (the volume's axes and the column
    axis in any order) and reshaping it to the canonical 2-D shape in C or F order.
    """
    rows, m = a.shape
    vol = a.reshape(tuple(sizes) + (m,), order="F")
    for order in ("C", "F"):
        for perm in itertools.permutations(range(4)):
            if perm == (0, 1, 2, 3) and order == "F":
                continue
            axes = ", ".join(names[i] for i in perm)
            yield (
                vol.transpose(perm).reshape(rows, m, order=order),
                f"they look like an ({axes}) array reshaped with order='{order}'",
            )


def read_rows(w: np.ndarray, sizes: tuple[int, int, int], names: tuple[str, str, str]) -> Candidates:
    """Weights as seen by code that reads w's rows in another order than (dh, dw, c) fastest-first."""
    rows, m = w.shape
    for perm in itertools.permutations(range(3)):
        if perm == (0, 1, 2):
            continue
        # Code reading row r as (axes in perm order, the first fastest) sees w[row(perm)] at each place.
        vol = w.reshape(tuple(sizes[i] for i in perm) + (m,), order="F")
        seen = vol.transpose(tuple(int(np.argsort(perm)[i]) for i in range(3)) + (3,))
        fastest = ", then ".join(names[i] for i in perm)
        c_order = " (the C-order flattening of (k, k, c))" if perm == (2, 1, 0) else ""
        yield seen.reshape(rows, m, order="F"), f"you read the rows with {fastest} varying fastest{c_order}"


def reshaped_transpose(a: np.ndarray, shape: tuple[int, ...]) -> Candidates:
    """``a.T`` brought back to ``shape`` by reshape (C or F): a transpose done with reshape."""
    if a.ndim != 2 or a.shape[0] == 1 or a.shape[1] == 1:
        return
    for order in ("C", "F"):
        yield a.T.reshape(shape, order=order), f"with order='{order}'"


def flip_kernel(w: np.ndarray, k: int, c: int) -> np.ndarray:
    return w.reshape(c, k, k, -1)[:, ::-1, ::-1].reshape(w.shape)


# ---- windows (convolution and pooling) placed, padded, routed or cropped otherwise ---------


def patches(x, params, place=None, pad_value=0.0) -> np.ndarray:
    """Every window's values, ``(c, k_w, k_h, w_out, h_out, n)``; windows start ``place`` apart
    (the stride by default) and the map is padded with ``pad_value`` (``harness.core.windows``)."""
    return windows(np.asarray(x, dtype=np.float64), params, place, pad_value)


def unpatch(g, params, place=None, crop="center") -> np.ndarray:
    """Adjoint of ``patches``: add each window back where it came from.

    ``crop``: ``center`` (the right answer), ``none`` (the padded map), ``origin`` (rows and
    columns 0..h-1, 0..w-1 of the padded map).
    """
    h, w, c, p = (params[key] for key in ("h", "w", "c", "pad"))
    v = np.zeros((c, w + 2 * p, h + 2 * p, g.shape[-1]))
    for dw, dh, index in window_slices(params, place):
        v[index] += g[:, dw, dh]
    if crop == "none":
        return flat(v)
    start = p if crop == "center" else 0
    return flat(v[:, start : start + w, start : start + h])


def border_mask(case, out: str) -> np.ndarray | None:
    """Elements that depend on windows overlapping the padding: output positions (forward) or
    the input positions inside such windows (backward)."""
    p = case.params
    if not p.get("pad"):
        return None
    h, w, k, s, pad = p["h"], p["w"], p["k"], p["stride"], p["pad"]
    h_out, w_out = output_hw(p)
    oh, ow = np.arange(h_out), np.arange(w_out)
    edge_h = (oh * s - pad < 0) | (oh * s - pad + k > h)
    edge_w = (ow * s - pad < 0) | (ow * s - pad + k > w)
    edge = edge_w[:, None] | edge_h[None, :]  # (w_out, h_out)
    n = batch_size(case)
    if out == "y":
        return np.broadcast_to(edge[None, :, :, None], (out_channels(case), w_out, h_out, n)).reshape(-1, n)
    if out == "input":
        g = np.broadcast_to(edge[None, None, None, :, :, None].astype(float), (p["c"], k, k, w_out, h_out, n))
        return unpatch(g, p) > 0
    return None


def conv_forward(case, w=None, place=None) -> np.ndarray:
    """The convolution of the case's input, with other weights or window placement."""
    params, a = case.params, case.arrays
    w = a["w"] if w is None else w
    col = patches(a["x"], params, place)
    n = col.shape[-1]
    col = col.reshape(-1, col.shape[3] * col.shape[4] * n)
    return (w.T @ col + a["b"].reshape(-1, 1)).reshape(-1, n)


def conv_backward(case, place=None, crop="center") -> dict:
    """The convolution's gradients with windows placed ``place`` apart, or cropped otherwise."""
    params, a = case.params, case.arrays
    col = patches(a["x"], params, place)
    shape = col.shape
    col = col.reshape(-1, shape[3] * shape[4] * shape[5])
    dy = np.ascontiguousarray(a["dy"]).reshape(params["num"], -1)
    dcol = (a["w"] @ dy).reshape(shape)
    return {"input": unpatch(dcol, params, place, crop), "w": col @ dy.T}


def window_axes_last(pt: np.ndarray, order: str = "F") -> np.ndarray:
    """``(c, w_out, h_out, n, k*k)``: window values listed in Fortran (dh fastest) or C order."""
    if order == "C":
        pt = pt.transpose(0, 2, 1, 3, 4, 5)
    c, k1, k2, w_out, h_out, n = pt.shape
    return np.moveaxis(pt.reshape(c, k1 * k2, w_out, h_out, n), 1, -1)


def pool_forward(case, reduce="max", place=None, pad_value=0.0) -> np.ndarray:
    pt = patches(case.arrays["x"], case.params, place, pad_value)
    if reduce == "max":
        return flat(pt.max(axis=(1, 2)))
    if reduce == "mean":
        return flat(pt.mean(axis=(1, 2)))
    real = patches(np.ones_like(case.arrays["x"]), case.params, place)  # mean of the real values only
    return flat(pt.sum(axis=(1, 2)) / np.maximum(real.sum(axis=(1, 2)), 1))


def pool_routes(case, route="first", place=None, pad_value=0.0) -> np.ndarray:
    """Which share of each window's gradient each window element gets, ``(c, k, k, w_out, h_out, n)``."""
    pt = patches(case.arrays["x"], case.params, place, pad_value)
    c, k, _, w_out, h_out, n = pt.shape
    top = pt.max(axis=(1, 2), keepdims=True)
    if route in ("spread", "mean"):
        return np.full(pt.shape, 1.0 if route == "spread" else 1.0 / (k * k))
    if route in ("all", "split"):
        tied = (pt == top).astype(float)
        return tied if route == "all" else tied / tied.sum(axis=(1, 2), keepdims=True)
    if route == "first_swapped":  # the argmax's index unravelled in the other order: (dh, dw) -> (dw, dh)
        return pool_routes(case, "first", place, pad_value).transpose(0, 2, 1, 3, 4, 5)
    order = "C" if route == "first_c" else "F"
    listed = window_axes_last(pt, order)
    if route == "last":
        pick = k * k - 1 - np.argmax(listed[..., ::-1], axis=-1)
    else:
        pick = np.argmax(listed, axis=-1)
    onehot = np.moveaxis(np.eye(k * k)[pick], -1, 1)  # (c, k*k, w_out, h_out, n)
    if order == "C":
        return onehot.reshape(c, k, k, w_out, h_out, n).transpose(0, 2, 1, 3, 4, 5)
    return onehot.reshape(c, k, k, w_out, h_out, n)


def pool_backward(case, route="first", place=None, pad_value=0.0, crop="center") -> np.ndarray:
    c = case.params["c"]
    h_out, w_out = output_hw(case.params)
    dy = cwhn(case.arrays["dy"], h_out, w_out, c)
    share = pool_routes(case, route, place, pad_value)
    return unpatch(share * dy[:, None, None], case.params, place, crop)


def pool_backward_overwrite(case, h_outer: bool) -> np.ndarray:
    """Each window assigns (=) its gradient to its first maximum; later windows win."""
    params = case.params
    h, w, c, k, s, p = (params[key] for key in ("h", "w", "c", "k", "stride", "pad"))
    h_out, w_out = output_hw(params)
    share = pool_routes(case)
    dy = cwhn(case.arrays["dy"], h_out, w_out, c)
    v = np.zeros((c, w + 2 * p, h + 2 * p, dy.shape[-1]))
    pairs = (
        [(oh, ow) for oh in range(h_out) for ow in range(w_out)]
        if h_outer
        else [(oh, ow) for ow in range(w_out) for oh in range(h_out)]
    )
    for oh, ow in pairs:
        region = v[:, ow * s : ow * s + k, oh * s : oh * s + k]
        chosen = share[:, :, :, ow, oh] > 0
        region[chosen] = (chosen * dy[:, None, None, ow, oh])[chosen]
    return flat(v[:, p : p + w, p : p + h])


# ---- mlrloss ----------------------------------------------------------------------------------


def mlr_parts(case):
    """theta (K-1, N), bias (K-1, 1), logits (K, M) and labels of an mlrloss case."""
    a, K = case.arrays, case.params["K"]
    X = a["X"]
    N = X.shape[0]
    theta = a["wb"][: N * (K - 1)].reshape(K - 1, N)
    bias = a["wb"][N * (K - 1) :].reshape(K - 1, 1)
    logits = np.vstack([theta @ X + bias, np.zeros((1, X.shape[1]))])
    return theta, bias, logits, a["y"].reshape(-1).astype(int)
