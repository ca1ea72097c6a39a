"""Mistakes particular to one assignment family, and the family's wording of shared ones.

The catalogue of ``harness.diagnose.mistakes`` is written on canonical ops and holds for
every family whose op it is (a flipped kernel is a flipped kernel in any layout). This
module adds, per profile name (``Case.profile``):

- ``FAMILY_MISTAKES``: mistakes only that family's convention makes possible (the cs231n
  ``softmax_loss`` summing where the contract asks the mean, conv weights read as
  ``(C, F, HH, WW)``), tried after the shared catalogue;
- ``FAMILY_HINTS``: the family's words for a shared mistake (``dx``, ``dout`` and ``b`` of
  shape ``(F,)`` instead of ``input_od``, ``output['diff']`` and ``param['b']``), by mistake id.

Shapes a family's adapter rejects before any value is compared (a ``dx`` left flattened,
an output channels last, a ``dx`` with the padding still on) are explained by the adapter
itself (``harness.profiles.cs231n.WRONG_SHAPE_HINTS``).
"""

from __future__ import annotations

import numpy as np

from harness.diagnose.mistakes import Candidates, Mistake, scaled
from harness.diagnose.mutants import batch_size, run
from harness.profiles.cs231n import from_nchw, to_nchw

LOSS_SUMMED = (
    "the loss and dx are N times too large: softmax_loss returns the *mean* over the batch, "
    "loss = -sum(log p[i, y[i]]) / N and dx = (softmax(x) - onehot(y)) / N"
)
SOFTMAX_UNSTABLE_NCHW = (
    "NaN or inf for large scores: exp overflows (above ~709 in float64). Subtract each row's "
    "maximum before exp -- into a new array, `shifted = x - x.max(axis=1, keepdims=True)`, not "
    "`x -= ...` on the caller's scores -- and compute log-probabilities as "
    "shifted - log(sum(exp(shifted)))"
)
W_AXES_SWAPPED = (
    "the values match reading the weights as (C, F, HH, WW), w[c, f] for w[f, c]: w is "
    "(F, C, HH, WW), filter f's weights for input channel c are w[f, c]"
)
IN_PLACE_X = (
    "the function changes the caller's array in place (e.g. `x -= x.max(axis=1, keepdims=True)` "
    "or `x[x < 0] = 0`); the caller (and the backward pass, through the cache) then sees the "
    "modified values: compute into a new array (`shifted = x - ...`, `np.maximum(x, 0)`)"
)
PARAM_CHANGED_WB = (
    "the function changes the caller's w or b in place (e.g. `w -= ...` or `b.shape = ...`): "
    "keep a reshaped or updated array in a local variable"
)
DOUT_CHANGED = (
    "the function changes dout in place (e.g. `dout[x <= 0] = 0`): compute dx as a new array, "
    "e.g. `dout * (x > 0)`"
)


def _cs231n_unstable(case, out, got, expected) -> str | None:
    if np.isfinite(got).all():
        return None
    x = case.arrays["x"]
    with np.errstate(all="ignore"):
        e = np.exp(x)
        p = e / e.sum(axis=0)
    if not (np.isfinite(e).all() and np.isfinite(p).all() and (p > 0).all()):
        return f"the largest score here is {np.abs(x).max():.4g}"
    return None


def _swapped_w(case, out, expected) -> Candidates:
    p = case.params
    kw = p.get("kw", p["k"])
    if p["c"] == p["num"]:
        w = to_nchw(case.arrays["w"], p["k"], kw, p["c"]).swapaxes(0, 1)
        yield run(case, w=from_nchw(w))["y"], ""


FAMILY_MISTAKES: dict[str, tuple[Mistake, ...]] = {
    "cs231n": (
        Mistake(
            "loss_summed",
            LOSS_SUMMED,
            ("softmax_loss:loss", "softmax_loss:input"),
            predict=scaled(lambda case: float(batch_size(case)) if batch_size(case) > 1 else None),
        ),
        Mistake(
            "softmax_unstable",
            SOFTMAX_UNSTABLE_NCHW,
            ("softmax_loss:*",),
            test=_cs231n_unstable,
            nonfinite=True,
        ),
        Mistake("w_axes_swapped", W_AXES_SWAPPED, ("conv.forward:y",), predict=_swapped_w),
    ),
}
"""Profile name -> its own mistakes, tried after the shared catalogue."""

FAMILY_HINTS: dict[str, dict[str, str]] = {
    "cs231n": {
        "bias_ignored": "the values match the output without the bias: add b, one value per "
        "output (filter), e.g. `+ b` for the affine layer, `+ b[None, :, None, None]` for a convolution",
        "relu_no_mask": "the gradient also passes where x < 0: ReLU's derivative is 0 there, "
        "dx = dout * (x > 0)",
        "per_image": "right for one image of the batch only: accumulate (+=) dw and db over every "
        "image, or sum over the batch axis",
        "grad_divided_by_batch": "the result is the expected one divided by the batch size: a "
        "layer's backward returns sums over the batch (only softmax_loss takes the mean)",
        "pad_not_cropped": "dx has the size of the padded input: crop the padding off "
        "(dx_pad[:, :, pad:pad+H, pad:pad+W]) before returning",
    },
}
"""Profile name -> mistake id -> the family's wording of a shared mistake's hint."""

IN_PLACE_NAMES = {"x": IN_PLACE_X, "w": PARAM_CHANGED_WB, "b": PARAM_CHANGED_WB, "dout": DOUT_CHANGED}
"""Arguments the cs231n adapter reports by name after a call -> why changing one is wrong."""
