"""The cases of the cs231n family (``harness.profiles.cs231n``), in canonical form.

The same canonical ops as the LeNet family where the math is the same (conv, pooling,
affine = inner product, ReLU), plus ``softmax_loss``. Expected outputs come from the
family's own reference (``reference/cs231n``, ``Case.profile == "cs231n"``). The same
guarantees as ``harness.cases.catalogue``: every case has its own seeded stream, dyadic
conv/affine inputs and upstream gradients (exact sums whatever the BLAS), ReLU inputs at
least ``RELU_MARGIN`` from 0 and tie-free pooling windows, except the ``ties`` cases
(integer maps with tied maxima, windows that do not overlap): there the contract accepts any
one maximum of a tied window, and the checks judge by ``harness.cases.catalogue.any_max_routing``
(``profiles.cs231n.POOL_TIES``). Backward cases carry the reference's forward output ``y``
and an upstream gradient ``dy``.

What the family's contract adds and the cases cover (tags): non-square kernels
(``non_square_kernel``, canonical param ``kw``), non-square inputs (``non_square``),
padding 0-2 (``padded``), stride 1-3, overlapping pooling windows (``overlapping``: stride
below the window size; pooling has no padding in this family), affine inputs with more
than two dimensions whose ``dx`` must get that shape back (``unflattened``, params
``d1, d2, d3``), and softmax scores above 500 (``large_scores``: ``exp`` overflows unless the
row maximum is subtracted). ``course`` marks the shapes of the course notebook's own checks.
"""

from __future__ import annotations

import math

import numpy as np

from harness.cases.catalogue import (
    LARGE_LOGITS,
    LOGIT_GAP,
    RELU_MARGIN,
    SEED,
    Case,
    case_rng,
    dyadic,
    tie_free_map,
    tied_map,
    with_backward,
)
from harness.core.ops import OPS
from harness.profiles import cs231n as profile

PROFILE = profile.NAME

# conv: (name, h, w, c, batch, kh, kw, stride, pad, num)
_CONV = [
    ("course_forward", 4, 4, 3, 2, 4, 4, 2, 1, 3),
    ("course_backward", 5, 5, 3, 4, 3, 3, 1, 1, 2),
    ("net_conv", 28, 28, 1, 1, 7, 7, 1, 3, 2),
    (None, 7, 6, 2, 2, 3, 2, 1, 0, 3),
    (None, 5, 8, 1, 3, 2, 3, 2, 2, 2),
    (None, 4, 5, 3, 2, 1, 1, 1, 0, 4),
    (None, 9, 7, 2, 1, 3, 3, 2, 0, 2),
    (None, 6, 6, 2, 2, 5, 3, 3, 2, 2),
]
# max pooling: (name, h, w, c, batch, k, stride)
_POOL = [
    ("course_pool", 8, 8, 2, 3, 2, 2),
    ("net_pool", 28, 28, 2, 1, 2, 2),
    (None, 7, 7, 2, 2, 3, 2),
    (None, 5, 6, 1, 2, 3, 1),
    (None, 6, 4, 3, 1, 2, 1),
    (None, 9, 5, 2, 2, 3, 3),
    (None, 4, 4, 1, 1, 4, 1),
]
# Tied maxima, windows that do not overlap (stride == k): (name, h, w, c, batch, k, stride)
_POOL_TIES = [
    ("ties_k2", 6, 6, 2, 2, 2, 2),
    ("ties_k3", 9, 9, 1, 2, 3, 3),
]
# ReLU: (name, h, w, c, batch, scale of |x|)
_RELU = [
    (None, 4, 5, 3, 2, 1.0),
    (None, 1, 1, 1, 2, 1.0),
    (None, 3, 3, 2, 4, 1.0),
    (None, 2, 6, 1, 3, 10.0),
    (None, 8, 1, 1, 5, 1.0),
    (None, 5, 5, 4, 2, 1.0),
]
# affine: (name, example shape, out features, batch)
_AFFINE = [
    ("course_affine", (4, 5, 6), 3, 2),
    (None, (10,), 5, 3),
    (None, (2, 3), 4, 2),
    (None, (1,), 1, 1),
    (None, (6,), 3, 7),
    (None, (3, 2, 2), 2, 4),
    ("net_hidden", (2, 7, 7), 10, 2),
]
# softmax_loss: (name, batch, classes, max |score|)
_SOFTMAX = [
    ("course_softmax", 50, 10, 0.01 * 2**6),
    (None, 5, 10, 3.0),
    (None, 1, 2, 1.0),
    (None, 3, 4, LARGE_LOGITS),
    (None, 7, 3, LARGE_LOGITS),
    (None, 6, 5, 8.0),
]


def public_cases() -> list[Case]:
    """The family's fixture cases, deterministic from ``SEED``: at least 6 per op."""
    cases = []
    for op in ("inner_product.forward", "inner_product.backward"):
        cases += [_affine_case(op, case_rng(SEED, PROFILE, op, *spec), *spec) for spec in _AFFINE]
    for op in ("relu.forward", "relu.backward"):
        cases += [_relu_case(op, case_rng(SEED, PROFILE, op, *spec), *spec) for spec in _RELU]
    for op in ("pooling.forward", "pooling.backward"):
        cases += [_pool_case(op, case_rng(SEED, PROFILE, op, *spec), *spec) for spec in _POOL]
        cases += [_pool_case(op, case_rng(SEED, PROFILE, op, *spec), *spec, ties=True) for spec in _POOL_TIES]
    for op in ("conv.forward", "conv.backward"):
        cases += [_conv_case(op, case_rng(SEED, PROFILE, op, *spec), *spec) for spec in _CONV]
    cases += [_softmax_case(case_rng(SEED, PROFILE, "softmax_loss", *spec), *spec) for spec in _SOFTMAX]
    return cases


def random_cases(seed: int, per_op: int = 2, exclude_tags=()) -> list[Case]:
    """Fresh random cases of every op this family grades, ``per_op`` each, names ``random_``.

    ``exclude_tags``: draws carrying any of them are redrawn.
    """
    exclude = set(exclude_tags)
    cases = []
    for op_name in profile.FUNCTIONS:
        for i in range(per_op):
            rng = case_rng(seed, "hidden", PROFILE, op_name, i)
            for _ in range(1000):
                case = _draw(op_name, rng)
                if not exclude & set(case.tags):
                    break
            else:
                raise ValueError(f"cannot draw a {op_name} case without tags {sorted(exclude)}")
            cases.append(
                Case(case.op, f"random_{i}_{case.name}", case.params, case.arrays, case.tags, PROFILE)
            )
    return cases


def _draw(op: str, rng) -> Case:
    ints = lambda lo, hi: int(rng.integers(lo, hi + 1))
    layer = OPS[op].layer
    if layer == "conv":
        kh, kw = int(rng.choice([1, 2, 3, 5])), int(rng.choice([1, 2, 3, 5]))
        pad = ints(0, min(2, max(kh, kw) - 1))
        h, w = ints(max(1, kh - 2 * pad), 10), ints(max(1, kw - 2 * pad), 10)
        return _conv_case(op, rng, None, h, w, ints(1, 3), ints(1, 3), kh, kw, ints(1, 3), pad, ints(1, 4))
    if layer == "pooling":
        k = ints(1, 4)
        return _pool_case(op, rng, None, ints(k, 10), ints(k, 10), ints(1, 3), ints(1, 3), k, ints(1, 3))
    if layer == "relu":
        return _relu_case(
            op, rng, None, ints(1, 6), ints(1, 6), ints(1, 3), ints(1, 3), float(10 ** rng.uniform(0, 1))
        )
    if layer == "inner_product":
        dims = tuple(ints(1, 5) for _ in range(ints(1, 3)))
        return _affine_case(op, rng, None, dims, ints(1, 8), ints(1, 4))
    return _softmax_case(rng, None, ints(1, 12), ints(2, 10), float(10 ** rng.uniform(0, 3)))


# ---- builders ------------------------------------------------------------------------


def _case(op, name, params, arrays, tags, rng) -> Case:
    arrays = with_backward(op, params, arrays, rng, PROFILE)
    return Case(op, name, params, arrays, tuple(tags), PROFILE)


def _conv_case(op, rng, name, h, w, c, n, kh, kw, stride, pad, num) -> Case:
    params = dict(h=h, w=w, c=c, k=kh, stride=stride, pad=pad, num=num)
    if kw != kh:
        params["kw"] = kw
    bound = math.sqrt(3 / (kh * kw * c))
    arrays = {
        "x": dyadic(rng.uniform(-1, 1, (h * w * c, n))),
        "w": dyadic(rng.uniform(-bound, bound, (kh * kw * c, num))),
        "b": dyadic(rng.uniform(-0.5, 0.5, (1, num))),
    }
    tags = ["non_square"] * (h != w) + ["non_square_kernel"] * (kh != kw) + ["padded"] * (pad > 0)
    tags += ["course"] * bool(name and name.startswith("course"))
    name = name or f"k{kh}x{kw}_s{stride}_p{pad}_h{h}w{w}_c{c}_b{n}_f{num}"
    return _case(op, name, params, arrays, tags, rng)


def _pool_case(op, rng, name, h, w, c, n, k, stride, ties=False) -> Case:
    params = dict(h=h, w=w, c=c, k=k, stride=stride, pad=0)
    x = tied_map(rng, params, n) if ties else tie_free_map(rng, params, n)
    tags = ["non_square"] * (h != w) + ["overlapping"] * (stride < k) + ["ties"] * ties
    tags += ["course"] * bool(name and name.startswith("course"))
    name = name or f"k{k}_s{stride}_h{h}w{w}_c{c}_b{n}"
    return _case(op, name, params, {"x": x}, tags, rng)


def _relu_case(op, rng, name, h, w, c, n, scale) -> Case:
    params = dict(h=h, w=w, c=c)
    shape = (h * w * c, n)
    signs = rng.choice([-1.0, 1.0], shape)
    signs.flat[:2] = (-1.0, 1.0)  # both signs in every case: no null function (zeros, x, 2x) passes one
    x = signs * rng.uniform(RELU_MARGIN, 1.0, shape) * scale
    return _case(op, name or f"h{h}w{w}_c{c}_b{n}", params, {"x": x}, [], rng)


def _affine_case(op, rng, name, dims, num, n) -> Case:
    d = int(np.prod(dims))
    params = {f"d{i + 1}": size for i, size in enumerate(dims)} if len(dims) > 1 else {}
    bound = math.sqrt(3 / d)
    arrays = {
        "x": dyadic(rng.uniform(-1, 1, (d, n))),
        "w": dyadic(rng.uniform(-bound, bound, (d, num))),
        "b": dyadic(rng.uniform(-0.5, 0.5, (1, num))),
    }
    tags = ["unflattened"] * (len(dims) > 1) + ["course"] * bool(name and name.startswith("course"))
    name = name or f"x{'x'.join(map(str, dims))}_m{num}_b{n}"
    return _case(op, name, params, arrays, tags, rng)


def _softmax_case(rng, name, n, classes, scale) -> Case:
    """Scores with max |score| in (scale/2, scale]; about half the labels (at least one) not the argmax."""
    while True:
        x = dyadic(rng.standard_normal((classes, n)))
        x *= 2.0 ** (int(np.frexp(scale / np.abs(x).max())[1]) - 1)  # a power of two: still dyadic
        top2 = -np.sort(-x, axis=0)[:2]
        if classes < 2 or (top2[0] - top2[1]).min() >= LOGIT_GAP * scale:
            break
    best = x.argmax(axis=0)
    labels = best.copy()
    for j in rng.permutation(n)[: max(1, n // 2)]:
        labels[j] = rng.choice([label for label in range(classes) if label != best[j]])
    tags = ["large_scores"] * (scale >= 200) + ["course"] * bool(name and name.startswith("course"))
    name = name or f"{'large_' if scale >= 200 else ''}n{n}_c{classes}"
    arrays = {"x": x, "labels": labels[None, :].astype(np.float64)}
    return Case("softmax_loss", name, {}, arrays, tuple(tags), PROFILE)
