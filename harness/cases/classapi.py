"""The cases of the layer-class family (``harness.profiles.classapi``), in canonical form.

The same canonical ops as the LeNet family where the math is the same (convolution, max
pooling, fully connected = inner product, ReLU), plus ``softmax_ce`` (the loss layer on
one-hot labels). Expected outputs come from the family's own reference
(``reference/classapi``, ``Case.profile == "classapi"``) through the family's adapter. The
same guarantees as ``harness.cases.catalogue``: every case has its own seeded stream, dyadic
conv/fc inputs and upstream gradients (exact sums whatever the BLAS), ReLU inputs at least
``RELU_MARGIN`` from 0, tie-free pooling windows (the homework does not say which maximum of
a tied window gets the gradient, so ties are not graded), logits whose largest entry leads by
at least ``LOGIT_GAP`` times their scale.

Only what the homework's classes can express (``shared/assignment-api-class.md``):
convolutions of stride 1 with square kernels and ``pad < kernel_size``, pooling windows
with stride = kernel size and zero padding (a window of negative values next to the padding
takes the padding's 0: ``pad_convention``). What the cases cover (tags): non-square maps
(``non_square``: the homework's starter crashes on them), padding 0-2 (``padded``),
batches above one, and logits above exp's overflow (``large_logits``). ``homework`` marks
the homework network's own layer settings (its first convolution, 1 -> 8 channels 3x3 pad 1,
on a 6x6 map to keep the fixtures small; its 2x2 pooling; ten classes). The network at full
size is exercised by the family's training check.
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
    negative_padded_windows,
    tie_free_map,
    with_backward,
)
from harness.core.ops import OPS

PROFILE = "classapi"

# conv: (name, h, w, c, batch, k, pad, filters); stride 1, pad < k
_CONV = [
    ("homework_conv1", 6, 6, 1, 1, 3, 1, 8),
    (None, 7, 5, 2, 2, 3, 0, 3),
    (None, 5, 8, 2, 2, 3, 1, 2),
    (None, 9, 6, 2, 1, 5, 2, 2),
    (None, 6, 7, 2, 1, 2, 1, 2),
]
# max pooling: (name, h, w, c, batch, k, pad); stride = k
_POOL = [
    ("homework_pool", 8, 8, 2, 1, 2, 0),
    (None, 7, 5, 3, 1, 2, 1),
    (None, 9, 6, 2, 1, 3, 0),
    (None, 6, 9, 1, 1, 3, 1),
]
# Every window touching the padding all negative: the padding's 0 is its maximum.
_POOL_PAD_CONVENTION = [(None, 5, 6, 2, 1, 2, 1)]
# ReLU: (name, h, w, c, batch, scale of |x|)
_RELU = [
    (None, 4, 5, 3, 1, 1.0),
    (None, 1, 1, 1, 2, 1.0),  # one pixel, two images: one of each sign
    (None, 3, 6, 2, 2, 10.0),
]
# fully connected: (name, num_input, num_output, batch)
_FC = [
    (None, 12, 10, 2),
    (None, 7, 3, 4),
    (None, 1, 1, 1),
    (None, 6, 6, 3),  # square weight: W and W.T have the same shape
]
# softmax cross-entropy: (name, classes, batch, max |logit|)
_SOFTMAX = [
    ("homework_loss", 10, 8, 8.0),
    (None, 3, 2, 3.0),
    (None, 2, 1, 3.0),
    (None, 10, 6, LARGE_LOGITS),
    (None, 4, 3, LARGE_LOGITS),
]


def public_cases() -> list[Case]:
    """The family's fixture cases, deterministic from ``SEED``: at least 3 per op."""
    cases = []
    for op in ("inner_product.forward", "inner_product.backward"):
        cases += [_fc_case(op, case_rng(SEED, PROFILE, op, *spec), *spec) for spec in _FC]
    for op in ("relu.forward", "relu.backward"):
        cases += [_relu_case(op, case_rng(SEED, PROFILE, op, *spec), *spec) for spec in _RELU]
    for op in ("pooling.forward", "pooling.backward"):
        cases += [_pool_case(op, case_rng(SEED, PROFILE, op, *spec), *spec) for spec in _POOL]
        cases += [
            _pool_case(op, case_rng(SEED, PROFILE, op, "negative", *spec), *spec, negative=True)
            for spec in _POOL_PAD_CONVENTION
        ]
    for op in ("conv.forward", "conv.backward"):
        cases += [_conv_case(op, case_rng(SEED, PROFILE, op, *spec), *spec) for spec in _CONV]
    cases += [_softmax_case(case_rng(SEED, PROFILE, "softmax_ce", *spec), *spec) for spec in _SOFTMAX]
    return cases


def random_cases(seed: int, per_op: int = 2, exclude_tags=()) -> list[Case]:
    """Fresh random cases of every op this family grades, ``per_op`` each, names ``random_``.

    ``exclude_tags``: draws carrying any of them are redrawn.
    """
    exclude = set(exclude_tags)
    cases = []
    for op_name in _OPS:
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


_OPS = tuple(
    name for name, op in OPS.items() if op.layer in ("inner_product", "relu", "conv", "pooling", "softmax_ce")
)
"""The ops of this family, in ``OPS`` order."""


def _draw(op: str, rng) -> Case:
    ints = lambda lo, hi: int(rng.integers(lo, hi + 1))
    layer = OPS[op].layer
    if layer == "conv":
        k = int(rng.choice([1, 2, 3, 5]))
        pad = ints(0, min(2, k - 1))
        h, w = ints(max(1, k - 2 * pad), 9), ints(max(1, k - 2 * pad), 9)
        return _conv_case(op, rng, None, h, w, ints(1, 3), ints(1, 3), k, pad, ints(1, 4))
    if layer == "pooling":
        k = ints(2, 3)
        pad = ints(0, k - 1)
        return _pool_case(op, rng, None, ints(k, 9), ints(k, 9), ints(1, 3), ints(1, 3), k, pad)
    if layer == "relu":
        return _relu_case(
            op, rng, None, ints(1, 6), ints(1, 6), ints(1, 3), ints(1, 3), float(10 ** rng.uniform(0, 1))
        )
    if layer == "inner_product":
        return _fc_case(op, rng, None, ints(1, 40), ints(1, 12), ints(1, 4))
    return _softmax_case(rng, None, ints(2, 10), ints(1, 8), float(10 ** rng.uniform(0, 3)))


# ---- builders ------------------------------------------------------------------------


def _case(op, name, params, arrays, tags, rng) -> Case:
    arrays = with_backward(op, params, arrays, rng, PROFILE)
    return Case(op, name, params, arrays, tuple(tags), PROFILE)


def _shape_tags(name, h, w, pad) -> list[str]:
    tags = ["non_square"] * (h != w) + ["padded"] * (pad > 0)
    return tags + ["homework"] * bool(name and name.startswith("homework"))


def _conv_case(op, rng, name, h, w, c, n, k, pad, num) -> Case:
    params = dict(h=h, w=w, c=c, k=k, stride=1, pad=pad, num=num)
    bound = math.sqrt(3 / (k * k * c))
    arrays = {
        "x": dyadic(rng.uniform(-1, 1, (h * w * c, n))),
        "w": dyadic(rng.uniform(-bound, bound, (k * k * c, num))),
        "b": dyadic(rng.uniform(-0.5, 0.5, (1, num))),
    }
    name = name or f"k{k}_p{pad}_h{h}w{w}_c{c}_b{n}_f{num}"
    return _case(op, name, params, arrays, _shape_tags(name, h, w, pad), rng)


def _pool_case(op, rng, name, h, w, c, n, k, pad, negative=False) -> Case:
    params = dict(h=h, w=w, c=c, k=k, stride=k, pad=pad)
    x = tie_free_map(rng, params, n)
    tags = _shape_tags(name, h, w, pad)
    if negative:
        x = -np.abs(x)  # distinct magnitudes stay distinct
        if not negative_padded_windows(x, params):
            raise AssertionError(f"{op} pad_convention case has no all-negative padded window")
        tags.append("pad_convention")
    name = name or f"{'padconv_' if negative else ''}k{k}_p{pad}_h{h}w{w}_c{c}_b{n}"
    return _case(op, name, params, {"x": x}, tags, rng)


def _relu_case(op, rng, name, h, w, c, n, scale) -> Case:
    params = dict(h=h, w=w, c=c)
    shape = (h * w * c, n)
    x = rng.choice([-1.0, 1.0], shape) * rng.uniform(RELU_MARGIN, 1.0, shape) * scale
    if not (x > 0).any() or not (x < 0).any():  # both signs: identity, zeros, 2x never pass
        x.flat[0], x.flat[-1] = abs(x.flat[0]), -abs(x.flat[-1])
    return _case(op, name or f"h{h}w{w}_c{c}_b{n}", params, {"x": x}, _shape_tags(name, h, w, 0), rng)


def _fc_case(op, rng, name, d, num, n) -> Case:
    bound = math.sqrt(3 / d)
    arrays = {
        "x": dyadic(rng.uniform(-1, 1, (d, n))),
        "w": dyadic(rng.uniform(-bound, bound, (d, num))),
        "b": dyadic(rng.uniform(-0.5, 0.5, (1, num))),
    }
    tags = ["homework"] * bool(name and name.startswith("homework"))
    return _case(op, name or f"in{d}_out{num}_b{n}", {}, arrays, tags, rng)


def _softmax_case(rng, name, K, n, scale) -> Case:
    """Logits ``(K, n)`` with max |logit| in (scale/2, scale] (``large_logits``: the largest
    positive and above 750, where exp overflows), one-hot labels ``t`` ``(K, n)``; about half
    the labels (at least one) are not the argmax, whose lead is at least ``LOGIT_GAP * scale``
    (the accuracy does not hang on rounding)."""
    while True:
        logits = dyadic(rng.standard_normal((K, n)))
        logits *= 2.0 ** (int(np.frexp(scale / np.abs(logits).max())[1]) - 1)  # still dyadic
        if scale >= 200:
            # Flipping signs and adding a power of two keep the values exact.
            logits = logits if logits.max() >= -logits.min() else -logits
            logits += 256.0 * (logits.max() < 750)
        top2 = -np.sort(-logits, axis=0)[:2]
        if (top2[0] - top2[1]).min() >= LOGIT_GAP * scale:
            break
    labels = logits.argmax(axis=0)
    for j in rng.permutation(n)[: max(1, n // 2)]:
        labels[j] = rng.choice([label for label in range(K) if label != labels[j]])
    t = np.zeros((K, n))
    t[labels, np.arange(n)] = 1.0
    tags = ["large_logits"] * (scale >= 200) + ["homework"] * bool(name and name.startswith("homework"))
    name = name or f"{'large_' if scale >= 200 else ''}K{K}_b{n}"
    return Case("softmax_ce", name, {}, {"x": logits, "t": t}, tuple(tags), PROFILE)
