"""The graded cases: canonical inputs of every operation, public (fixtures) and hidden.

A :class:`Case` holds canonical float64 inputs only (``harness.core.ops``); expected outputs
come from the trusted reference (:func:`expected`). Backward cases also hold ``y``, the
forward output computed by the reference, since the dict API hands the backward pass the
output dict (``data`` and ``diff``), and ``dy``, the upstream gradient.

Every case is drawn from its own random stream, seeded by ``(seed, op, name)``, so adding
or removing a case leaves the others unchanged. Conv, inner-product and mlrloss inputs and
every upstream gradient are short dyadic numbers (:func:`dyadic`): the forward and backward
products and sums are then exact, and their expected values do not depend on the BLAS.

Cases stay away from kinks unless a tag says otherwise: ReLU inputs satisfy
``|x| >= RELU_MARGIN``; in every pooling window the maximum exceeds the runner-up by at
least ``POOL_MARGIN`` and, when the map is padded, at least one real value is positive
(zero padding and -inf padding then agree). :func:`kink_margin` measures what a case
actually guarantees.

Tags (``Case.tags``):

- ``lenet``: the shapes of a LeNet layer (contract section 5).
- ``non_square``: conv/pooling with ``h != w`` (the historical batched im2col got it wrong).
- ``padded``: conv/pooling with ``pad > 0`` (the historical backward passes asserted pad 0).
- ``uneven``: conv/pooling whose windows do not tile the padded map (``(h + 2*pad - k) %
  stride != 0`` or the same for w): the remainder rows or columns are dropped.
- ``ties``: pooling windows whose maximum occurs more than once (integer-valued inputs);
  only here do tie policies differ (the reference routes to the first in Fortran order).
- ``pad_convention``: pooling windows whose real values are all negative, so zero padding
  (the contract) and -inf padding (PyTorch) give different answers.
- ``relu_zero``: ReLU inputs with exact zeros (``relu.forward`` only: the derivative at 0
  is a free choice, so no ``relu.backward`` case has zeros and none needs masking).
- ``large_logits``: mlrloss logits of the K-1 parameterised classes around LARGE_OFFSET
  (768, beyond EXP_OVERFLOW: ``exp`` without subtracting the column maximum overflows), within
  LABEL_SPREAD of each other; the last class scores 0 and is never the label. A softmax that
  subtracts each column's maximum before ``exp`` and then takes ``log`` of the label's
  probability (what the template's docstring asks) stays finite, even in float32: the cases
  never need log-sum-exp (docs/tolerances.md, "Audit of the cases").
- ``no_prediction``: mlrloss with ``prediction=0``, where the contract asks for percent 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from harness.cases import reference
from harness.core import seeds
from harness.core.ops import OPS, output_hw
from harness.core.windows import windows
from harness.profiles import dictapi

SEED = 20240521
"""The seed every public case is drawn from."""
FIXTURES_VERSION = 2
"""Bump when the public cases change (new cases, other shapes, another seed)."""

RELU_MARGIN = 0.05
"""Tie-free ReLU inputs satisfy ``|x| >= RELU_MARGIN``."""
POOL_MARGIN = 1e-3
"""Tie-free pooling windows: maximum minus runner-up (padding counts as 0) >= POOL_MARGIN."""
LARGE_LOGITS = 1e3
"""Bound on |logit| of the ``large_logits`` mlrloss cases (scale >= 200 in a case spec)."""
EXP_OVERFLOW = float(np.log(np.finfo(np.float64).max))
"""~709.78: ``exp`` of a float64 above this is inf."""
LARGE_OFFSET = 768.0
"""``large_logits``: the parameterised classes' logits sit around this, beyond EXP_OVERFLOW."""
LABEL_SPREAD = 80.0
"""``large_logits``: the parameterised classes' logits lie within this of each other and every
label among them, so ``exp(logit - max)`` of a label stays a normal float32 (above e**-87)."""
DYADIC_BITS = 10
"""Conv/inner-product/mlrloss inputs and upstream gradients carry ~11 significant bits (``dyadic``)."""
LOGIT_GAP = 1e-3
"""mlrloss: each column's best logit beats the second by at least LOGIT_GAP * max |logit|."""


@dataclass(frozen=True)
class Case:
    """One graded call in canonical form."""

    op: str
    """A key of ``harness.core.ops.OPS``."""
    name: str
    """Short readable name, unique within the op (``lenet_conv2_b2``, ``k3_s2_p1_h7w5_c3_b2_n3``)."""
    params: dict
    """Scalar parameters (JSON scalars), ``ops.OPS[op].params``."""
    arrays: dict
    """Canonical float64 inputs by name; backward ops also carry ``y`` (reference forward)."""
    tags: tuple[str, ...] = ()
    """What is special about the case (see the module docstring)."""
    profile: str = "dictapi"
    """The family whose reference computes its expected outputs and whose submissions it grades."""


# ---- public cases --------------------------------------------------------------------
# Windowed layers: (name or None for an automatic one, h, w, c, batch, k, stride, pad[, num]).

_CONV = [
    ("lenet_conv1_b2", 28, 28, 1, 2, 5, 1, 0, 20),
    ("lenet_conv2_b2", 12, 12, 20, 2, 5, 1, 0, 50),
    (None, 5, 5, 3, 2, 3, 1, 1, 4),
    (None, 7, 5, 2, 3, 3, 2, 1, 3),
    (None, 9, 11, 2, 1, 5, 3, 2, 2),
    (None, 4, 6, 3, 2, 1, 1, 0, 2),
    (None, 6, 6, 2, 3, 2, 2, 0, 2),
    (None, 9, 9, 1, 1, 3, 3, 0, 1),
    (None, 8, 8, 2, 2, 3, 2, 0, 3),
    (None, 3, 4, 1, 2, 2, 1, 1, 2),
]
_POOL = [
    ("lenet_pool1_b2", 24, 24, 20, 2, 2, 2, 0),
    (None, 7, 5, 3, 2, 3, 2, 1),
    (None, 9, 9, 1, 1, 3, 3, 0),
    (None, 5, 6, 2, 3, 2, 1, 0),
    (None, 8, 8, 2, 2, 5, 2, 2),
    (None, 7, 7, 2, 2, 2, 2, 0),
    (None, 5, 4, 2, 1, 1, 2, 0),
    (None, 6, 5, 1, 2, 3, 2, 0),
]
# Integer-valued maps with many zeros (ReLU outputs): windows with tied maxima.
_POOL_TIES = [(6, 6, 2, 2, 2, 2, 0), (7, 7, 1, 2, 3, 2, 0)]
# All-negative maps with padding: border windows hold only negative real values.
_POOL_PAD_CONVENTION = [(5, 6, 2, 1, 3, 2, 1)]
# ReLU: (name, h, w, c, batch, scale of |x|).
_RELU = [
    ("lenet_relu3_b2", 500, 1, 1, 2, 1.0),
    (None, 3, 4, 2, 1, 1.0),
    (None, 1, 1, 1, 2, 1.0),
    (None, 2, 2, 3, 4, 1.0),
    (None, 5, 3, 1, 2, 10.0),
    (None, 4, 4, 2, 3, 1.0),
    (None, 6, 6, 4, 2, 1.0),
]
# Inner product: (name, d, num, batch). LeNet's 800 -> 500 would cost ~10 MB of fixtures
# (w and its gradient are 400k values each); the 800-wide input is kept, num reduced.
_IP = [
    (None, 800, 10, 2),
    (None, 1, 1, 1),
    (None, 5, 3, 1),
    (None, 7, 4, 5),
    (None, 3, 10, 4),
    (None, 20, 1, 3),
    (None, 12, 6, 2),
    (None, 6, 6, 3),  # square weight: w and w.T have the same shape
]
# mlrloss: (name, N, K, M, max |logit|, prediction).
_LOSS = [
    ("lenet_loss_N500_K10_M4", 500, 10, 4, 8.0, 1),
    (None, 3, 2, 5, 3.0, 1),
    (None, 4, 3, 6, 3.0, 1),
    (None, 8, 10, 1, 3.0, 1),
    (None, 6, 10, 5, LARGE_LOGITS, 1),
    (None, 4, 3, 3, LARGE_LOGITS, 1),
    (None, 5, 4, 3, 3.0, 0),
]


def public_cases() -> list[Case]:
    """The fixture cases, deterministic from ``SEED``: at least 6 per op."""
    cases = []
    for op in ("inner_product.forward", "inner_product.backward"):
        cases += [_ip_case(op, case_rng(SEED, op, d, num, n), d, num, n, name) for name, d, num, n in _IP]
    for op in ("relu.forward", "relu.backward"):
        cases += [_relu_case(op, case_rng(SEED, op, *spec), *spec) for spec in _RELU]
    cases.append(_relu_case("relu.forward", case_rng(SEED, "relu_zero"), None, 4, 4, 2, 2, 1.0, zeros=True))
    for op in ("pooling.forward", "pooling.backward"):
        cases += [_pool_case(op, case_rng(SEED, op, *spec), *spec) for spec in _POOL]
        cases += [
            _pool_case(op, case_rng(SEED, op, "ties", *spec), None, *spec, kind="ties") for spec in _POOL_TIES
        ]
        cases += [
            _pool_case(op, case_rng(SEED, op, "pad_convention", *spec), None, *spec, kind="negative")
            for spec in _POOL_PAD_CONVENTION
        ]
    for op in ("conv.forward", "conv.backward"):
        cases += [_conv_case(op, case_rng(SEED, op, *spec), *spec) for spec in _CONV]
    cases += [_loss_case(case_rng(SEED, "mlrloss", *spec), *spec) for spec in _LOSS]
    return cases


# ---- hidden cases --------------------------------------------------------------------


def random_cases(seed: int, per_op: int = 2, exclude_tags=()) -> list[Case]:
    """Fresh random cases for hidden grading and gradient checks, ``per_op`` per operation.

    Same families and kink-free guarantees as the public cases (no ``ties``,
    ``pad_convention`` or ``relu_zero``), bounded sizes, names prefixed ``random_``.
    ``exclude_tags``: shape draws carrying any of these tags are redrawn (e.g.
    ``("non_square", "padded")`` for a historical-edition profile).
    """
    exclude = set(exclude_tags)
    cases = []
    for op_name, op in OPS.items():
        if op_name not in dictapi.FUNCTIONS:  # another family's op: its own cases module
            continue
        for i in range(per_op):
            rng = case_rng(seed, "hidden", op_name, i)
            for _ in range(1000):
                spec = _draw_spec(rng, op.layer)
                if not exclude & set(_spec_tags(op.layer, spec)):
                    break
            else:
                raise ValueError(f"cannot draw a {op_name} case without tags {sorted(exclude)}")
            case = _build(op_name, rng, spec)
            cases.append(Case(case.op, f"random_{i}_{case.name}", case.params, case.arrays, case.tags))
    return cases


def _draw_spec(rng, layer: str) -> tuple:
    ints = lambda lo, hi: int(rng.integers(lo, hi + 1))
    if layer in ("conv", "pooling"):
        k = int(rng.choice([1, 2, 3, 5] if layer == "conv" else [1, 2, 3, 4]))
        stride, pad = ints(1, 3), ints(0, min(2, k - 1))
        h, w = ints(max(1, k - 2 * pad), 12), ints(max(1, k - 2 * pad), 12)
        spec = (None, h, w, ints(1, 4), ints(1, 3), k, stride, pad)
        return spec + (ints(1, 4),) if layer == "conv" else spec
    if layer == "relu":
        return (None, ints(1, 8), ints(1, 8), ints(1, 4), ints(1, 3), float(10 ** rng.uniform(0, 1)))
    if layer == "inner_product":
        return (None, ints(1, 64), ints(1, 16), ints(1, 4))
    n, k, m, scale = ints(1, 16), ints(2, 10), ints(1, 8), float(10 ** rng.uniform(0, 3))
    return (None, n, max(k, 3) if scale >= 200 else k, m, scale, 1)  # large_logits needs K >= 3


def _spec_tags(layer: str, spec: tuple) -> tuple[str, ...]:
    if layer in ("conv", "pooling"):
        _, h, w, c, n, k, stride, pad = spec[:8]
        return _window_tags(dict(h=h, w=w, k=k, stride=stride, pad=pad))
    if layer == "mlrloss":
        return ("large_logits",) if spec[4] >= 200 else ()
    return ()


def _build(op: str, rng, spec: tuple) -> Case:
    layer = OPS[op].layer
    if layer == "conv":
        return _conv_case(op, rng, *spec)
    if layer == "pooling":
        return _pool_case(op, rng, *spec)
    if layer == "relu":
        return _relu_case(op, rng, *spec)
    if layer == "inner_product":
        name, d, num, n = spec
        return _ip_case(op, rng, d, num, n, name)
    return _loss_case(rng, *spec)


# ---- expected outputs and kink margins -------------------------------------------------


def expected(case: Case) -> dict[str, np.ndarray]:
    """The reference's canonical outputs for a case (scalars as 0-d arrays)."""
    return reference.run(case.op, case.params, case.arrays, profile=case.profile)


def kink_margin(case: Case) -> float | None:
    """How far the case's inputs are from a kink of the operation; None for smooth ops.

    ReLU: ``min |x|`` (0 with exact zeros). Pooling: the smallest gap, over all windows,
    between the maximum and the runner-up, padding counting as one value 0 (ties among
    padding are constants and do not matter); 0 with ties, ``inf`` when no window has two
    candidates (k == 1). A perturbation of max-norm below ``margin / 2`` cannot change any
    window's argmax, nor (ReLU: below ``margin``) any sign.
    """
    layer = OPS[case.op].layer
    if layer == "relu":
        return float(np.abs(case.arrays["x"]).min())
    if layer == "pooling":
        return float(window_gaps(case.arrays["x"], case.params).min())
    return None


def pooling_windows(x: np.ndarray, params: dict) -> tuple[np.ndarray, np.ndarray]:
    """Every pooling window's values and which are real (not padding): two ``(windows, k*k)``.

    Padding reads as 0; each row lists a window in Fortran order (height offset fastest).
    """
    k = params["k"]
    # (c, k_w, k_h, w_out, h_out, n) -> one row per window, listed (c, w_out, h_out, n), dh fastest
    rows = lambda a: np.moveaxis(a, (1, 2), (4, 5)).reshape(-1, k * k)
    return rows(windows(x, params)), rows(windows(np.ones(x.shape, bool), params, pad_value=False))


def any_max_routing(case: Case, got: np.ndarray) -> np.ndarray:
    """The pooling input gradient that routes each window's ``dy`` to one of its maxima: the tied
    maximum where ``got`` is closest to that ``dy`` (the expected value when any one maximum of a
    tied window is accepted). Exact for windows that do not overlap (``ties`` cases)."""
    x, dy, p = case.arrays["x"], case.arrays["dy"], case.params
    n = x.shape[1]
    vals, real = pooling_windows(x, p)  # (windows, k*k), windows in (c, w_out, h_out, n) order
    rows, _ = pooling_windows(np.arange(x.shape[0], dtype=np.float64)[:, None], p)
    rows = np.repeat(rows.astype(np.int64), n, axis=0)  # the same windows, for every image
    cols = np.tile(np.arange(n), len(rows) // n)[:, None] * np.ones_like(rows)
    g = np.where(real, got[np.where(real, rows, 0), cols], np.nan)
    d = _window_dy(dy, p, n)
    candidate = real & (vals == np.where(real, vals, -np.inf).max(axis=1, keepdims=True))
    choice = np.argmin(np.where(candidate, np.abs(g - d[:, None]), np.inf), axis=1)
    routed = np.zeros_like(got, dtype=np.float64)
    pick = np.arange(len(rows))
    np.add.at(routed, (rows[pick, choice], cols[pick, choice]), d)
    return routed


def _window_dy(dy: np.ndarray, params: dict, n: int) -> np.ndarray:
    """``dy`` (h_out*w_out*c, n) in the window order of :func:`pooling_windows`."""
    h_out, w_out = output_hw(params)
    return dy.reshape(params["c"], w_out, h_out, n).ravel()


def negative_padded_windows(x: np.ndarray, params: dict) -> int:
    """How many pooling windows touch padding and hold no positive real value (``pad_convention``)."""
    vals, real = pooling_windows(x, params)
    real_max = np.where(real, vals, -np.inf).max(axis=1)
    return int(((~real.all(axis=1)) & (real_max <= 0)).sum())


def window_gaps(x: np.ndarray, params: dict) -> np.ndarray:
    """Per pooling window: maximum minus runner-up, padding counted once as 0 (inf: one candidate)."""
    vals, real = pooling_windows(x, params)
    cand = np.where(real, vals, -np.inf)
    pad = np.where(real.all(axis=1), -np.inf, 0.0)
    top2 = -np.sort(-np.concatenate([cand, pad[:, None]], axis=1), axis=1)[:, :2]
    return top2[:, 0] - top2[:, 1]


# ---- case builders -------------------------------------------------------------------


def dyadic(a: np.ndarray, bits: int = DYADIC_BITS) -> np.ndarray:
    """``a`` rounded to a multiple of a power of two ``2**-bits`` times its largest magnitude.

    Sums of products of such values are exact in float64 (for fewer than 2**30 terms), so
    conv and inner-product results do not depend on the summation order, hence not on
    the BLAS or the CPU: their fixtures regenerate byte for byte anywhere.
    """
    top = np.abs(a).max() if a.size else 0.0
    if top == 0:
        return a
    quantum = 2.0 ** (int(np.frexp(top)[1]) - 1 - bits)
    return np.round(a / quantum) * quantum


case_rng = seeds.stream  # every case from its own stream of (seed, op, name...)


def _window_tags(p: dict) -> tuple[str, ...]:
    tags = ["non_square"] if p["h"] != p["w"] else []
    if p["pad"] > 0:
        tags.append("padded")
    if any((size + 2 * p["pad"] - p["k"]) % p["stride"] for size in (p["h"], p["w"])):
        tags.append("uneven")
    return tuple(tags)


def with_backward(op: str, params: dict, arrays: dict, rng, profile: str = "dictapi") -> dict:
    """Add the reference's forward output ``y`` and an upstream gradient ``dy`` to a backward case."""
    fwd = OPS[op].forward
    if not fwd:
        return arrays
    with reference.on_device(np):  # an input of the case: the same on every device
        y = reference.run(fwd, params, arrays, profile=profile)["y"]
    return {**arrays, "y": y, "dy": dyadic(rng.standard_normal(y.shape))}


def _conv_case(op, rng, name, h, w, c, n, k, stride, pad, num) -> Case:
    params = dict(h=h, w=w, c=c, k=k, stride=stride, pad=pad, num=num)
    bound = math.sqrt(3 / (k * k * c))  # LeNet's uniform init
    arrays = {
        "x": dyadic(rng.uniform(-1, 1, (h * w * c, n))),
        "w": dyadic(rng.uniform(-bound, bound, (k * k * c, num))),
        "b": dyadic(rng.uniform(-0.5, 0.5, (1, num))),
    }
    tags = _window_tags(params) + (("lenet",) if name and name.startswith("lenet") else ())
    name = name or f"k{k}_s{stride}_p{pad}_h{h}w{w}_c{c}_b{n}_n{num}"
    return Case(op, name, params, with_backward(op, params, arrays, rng), tags)


def _ip_case(op, rng, d, num, n, name=None) -> Case:
    bound = math.sqrt(3 / d)
    arrays = {
        "x": dyadic(rng.uniform(-1, 1, (d, n))),
        "w": dyadic(rng.uniform(-bound, bound, (d, num))),
        "b": dyadic(rng.uniform(-0.5, 0.5, (1, num))),
    }
    return Case(op, name or f"d{d}_n{num}_b{n}", {}, with_backward(op, {}, arrays, rng), ())


def _relu_case(op, rng, name, h, w, c, n, scale, zeros=False) -> Case:
    params = dict(h=h, w=w, c=c)
    shape = (h * w * c, n)
    x = rng.choice([-1.0, 1.0], shape) * rng.uniform(RELU_MARGIN, 1.0, shape) * scale
    if not (x > 0).any() or not (x < 0).any():  # both signs: identity, zeros, 2x never pass
        x.flat[0], x.flat[-1] = abs(x.flat[0]), -abs(x.flat[-1])
    tags: tuple[str, ...] = ("lenet",) if name and name.startswith("lenet") else ()
    if zeros:
        x[rng.random(shape) < 0.3] = 0.0
        x.flat[0] = 0.0
        tags += ("relu_zero",)
    name = name or f"{'zeros_' if zeros else ''}h{h}w{w}_c{c}_b{n}"
    return Case(op, name, params, with_backward(op, params, {"x": x}, rng), tags)


def _pool_case(op, rng, name, h, w, c, n, k, stride, pad, kind="distinct") -> Case:
    """kind: ``distinct`` (tie-free, margin POOL_MARGIN), ``ties`` or ``negative`` (pad_convention)."""
    params = dict(h=h, w=w, c=c, k=k, stride=stride, pad=pad)
    tags = _window_tags(params)
    if kind == "ties":
        x, tags, prefix = tied_map(rng, params, n), tags + ("ties",), "ties_"
    elif kind == "negative":
        x, tags, prefix = -_distinct_magnitudes(rng, params, n), tags + ("pad_convention",), "padconv_"
        if not negative_padded_windows(x, params):
            raise AssertionError(f"{op} pad_convention case has no all-negative padded window")
    else:
        x, prefix = tie_free_map(rng, params, n), ""
    if name and name.startswith("lenet"):
        tags += ("lenet",)
    name = name or f"{prefix}k{k}_s{stride}_p{pad}_h{h}w{w}_c{c}_b{n}"
    return Case(op, name, params, with_backward(op, params, {"x": x}, rng), tags)


def _distinct_magnitudes(rng, params: dict, n: int) -> np.ndarray:
    """Canonical ``(h*w*c, n)`` of positive values, distinct within each (channel, image) plane.

    Plane values are ``(j + u) * 2*POOL_MARGIN``-ish: distinct integers j >= 1 plus a jitter
    below POOL_MARGIN, so any two differ by at least POOL_MARGIN and each is >= 2*POOL_MARGIN.
    """
    h, w, c = params["h"], params["w"], params["c"]
    grid = max(h * w, round(1 / (2 * POOL_MARGIN)))
    planes = np.empty((c, n, h * w))
    for ic in range(c):
        for i in range(n):
            j = rng.choice(grid, size=h * w, replace=False) + 1
            planes[ic, i] = j * 2 * POOL_MARGIN + rng.uniform(0, POOL_MARGIN, h * w)
    # planes[ic, i] lists the (w, h) plane in C order: the Fortran (h, w) column of channel ic.
    return planes.transpose(0, 2, 1).reshape(c * h * w, n)


def tie_free_map(rng, params: dict, n: int) -> np.ndarray:
    """Distinct magnitudes with random signs; every window touching padding keeps a positive value."""
    x = _distinct_magnitudes(rng, params, n) * rng.choice(
        [-1.0, 1.0], (params["h"] * params["w"] * params["c"], n)
    )
    if params["pad"]:
        h, w, c, k, s, p = (params[key] for key in ("h", "w", "c", "k", "stride", "pad"))
        h_out, w_out = output_hw(params)
        vol = x.reshape(c, w, h, n)  # a view: flipping here flips x
        for ow in range(w_out):
            for oh in range(h_out):
                if p <= ow * s and ow * s - p + k <= w and p <= oh * s and oh * s - p + k <= h:
                    continue  # no padding in this window
                ws, hs = slice(max(ow * s - p, 0), ow * s - p + k), slice(max(oh * s - p, 0), oh * s - p + k)
                window = vol[:, ws, hs, :]  # (c, kw, kh, n), real values only
                for ic in range(c):
                    for i in range(n):
                        if window[ic, ..., i].max() < 0:
                            window[ic, 0, 0, i] *= -1  # a distinct magnitude stays distinct
    if window_gaps(x, params).min() < POOL_MARGIN:
        raise AssertionError("tie-free pooling construction violated its margin")
    return x


def tied_map(rng, params: dict, n: int) -> np.ndarray:
    """Small integers, about half of them 0 (like ReLU outputs), with at least one tied window."""
    shape = (params["h"] * params["w"] * params["c"], n)
    while True:
        x = np.maximum(rng.integers(-3, 4, shape), 0).astype(np.float64)
        if (window_gaps(x, params) == 0).sum() >= 2:
            return x


def _loss_case(rng, name, N, K, M, scale, prediction) -> Case:
    """Logits scaled to max |logit| in (scale/2, scale]; about half the labels (at least one) are not the argmax."""
    params = {"K": K, "prediction": prediction}
    lenet = bool(name and name.startswith("lenet"))
    large = scale >= 200
    if large and K < 3:
        raise ValueError("large_logits needs K >= 3: two parameterised classes to choose labels from")
    while True:
        # LeNet's features come out of a ReLU: non-negative.
        X = dyadic(rng.uniform(0, 1, (N, M)) if lenet else rng.standard_normal((N, M)))
        theta, bias = dyadic(rng.standard_normal((K - 1, N))), dyadic(rng.standard_normal(K - 1))
        scores = theta @ X + bias[:, None]  # exact: dyadic inputs
        # A power of two keeps theta dyadic and the logits exact: max |score| in (bound/2, bound].
        bound = LABEL_SPREAD / 2 - 1 if large else scale  # room for the bias's rounding below
        factor = 2.0 ** (int(np.frexp(bound / np.abs(scores).max())[1]) - 1)
        # Large: the bias carries the offset, rounded to DYADIC_BITS of its own (0.5 here);
        # theta @ X (~30 bits) plus such a bias is still exact.
        shifted = dyadic(bias * factor + LARGE_OFFSET) if large else bias * factor
        logits = np.vstack([(theta * factor) @ X + shifted[:, None], np.zeros((1, M))])
        top2 = -np.sort(-logits, axis=0)[:2]
        if (top2[0] - top2[1]).min() >= LOGIT_GAP * bound:
            break
    theta, bias = theta * factor, shifted
    best = logits.argmax(axis=0)
    labels = best.copy()
    # At least one label is not the argmax: otherwise P - I (and the whole gradient) can be
    # ~1e-40 with large logits, far below the round-off of any float32 implementation.
    # Large logits: labels among the parameterised classes only (within LABEL_SPREAD of the max).
    choices = K - 1 if large else K
    wrong = rng.permutation(M)[: max(1, M // 2)]
    for j in wrong:
        labels[j] = rng.choice([label for label in range(choices) if label != best[j]])
    arrays = {"wb": np.concatenate([theta.ravel(), bias]), "X": X, "y": labels[None, :].astype(np.float64)}
    tags: tuple[str, ...] = ("large_logits",) if large else ()
    tags += ("lenet",) if lenet else ()
    tags += () if prediction else ("no_prediction",)
    name = name or f"{'large_' if large else ''}{'nopred_' if not prediction else ''}N{N}_K{K}_M{M}"
    return Case("mlrloss", name, params, arrays, tags)
