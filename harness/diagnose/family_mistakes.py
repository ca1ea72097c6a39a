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

_NCHW_HINTS = {
    "weight_row_order": "the values match reading the kernel in another order: w[f, c, i, j] is "
    "the weight of input channel c at row i, column j of the window (a kernel transposed, "
    "w[f, c, j, i], or channels and offsets taken in the wrong order fit here)",
    "weight_grad_order": "the weight gradient's values are in another order than w's: its entry "
    "[f, c, i, j] belongs to input channel c at row i, column j of the window, as in w",
    "memory_order": "right values in the wrong order of axes: images are (N, C, H, W); look for "
    "a reshape where a transpose was needed (e.g. (N, H, W, C) data reshaped to (N, C, H, W))",
    "pool_ties": "right except in windows whose maximum occurs more than once: send each "
    "window's gradient to one of its maxima only (any one, e.g. the first, which np.argmax finds), not to every one",
    "ties": "right except in windows whose maximum occurs more than once: send each window's "
    "gradient to one of its maxima only (any one, e.g. the first, which np.argmax finds), not to every one",
    "pool_argmax_unravel": "each window's gradient goes to the mirror image of its maximum inside "
    "the window (row j, column i instead of row i, column j): unravel the index of the maximum "
    "in the order the window was flattened, np.unravel_index(idx, (pool_height, pool_width)) "
    "for a window flattened row by row",
    "batch_one": "right for one image of the batch only: handle every image (axis 0 is the "
    "batch), and accumulate (+=) the parameter gradients over all images, or sum over the batch axis",
    "hardcoded_batch": "the number of images differs from the batch: take the batch size from "
    "the input's first axis (x.shape[0]), not a constant",
}
"""Wording of shared mistakes for the families whose images are (N, C, H, W) arrays and whose
conv weights are (F, C, HH, WW) (the canonical rows and Fortran orders are not theirs)."""

FAMILY_HINTS: dict[str, dict[str, str]] = {
    "cs231n": {
        **_NCHW_HINTS,
        "bias_ignored": "the values match the output without the bias: add b, one value per "
        "output (filter), e.g. `+ b` for the affine layer, `+ b[None, :, None, None]` for a convolution",
        "bias_as_row": "the values match adding b along the wrong axis: out is (N, M), add b "
        "(one value per output, shape (M,)) to every row, `x @ w + b`",
        "relu_no_mask": "the gradient also passes where x < 0: ReLU's derivative is 0 there, "
        "dx = dout * (x > 0)",
        "relu_backward_output": "dx matches the forward output instead of a gradient: the "
        "upstream gradient is dout, dx = dout * (x > 0)",
        "relu_times_value": "dx matches dout multiplied by the values of x (or of the output): "
        "multiply dout by the 0/1 mask (x > 0)",
        "relu_times_input": "dx matches dout multiplied by the values of x (or of the output): "
        "multiply dout by the 0/1 mask (x > 0)",
        "relu_mask_only": "dx is the 0/1 mask (x > 0) itself: multiply it by dout",
        "input_grad_missing": "dx is all zeros: the gradient with respect to the layer's input is "
        "not computed (the layers below need it)",
        "w_not_transposed": "the values match using w where w.T is needed: w is (D, M), so "
        "out = x.reshape(N, D) @ w + b and dx = (dout @ w.T) reshaped to x's shape",
        "weight_grad_transposed": "dw is transposed: it has w's shape, (D, M) for the affine "
        "layer (x.reshape(N, D).T @ dout), (F, C, HH, WW) for a convolution",
        "bias_wrong_axis": "db is summed over the wrong axis: dout is (N, M), so sum over the "
        "batch, dout.sum(axis=0)",
        "bias_not_summed": "db is not summed over the batch: it is dout summed over every image "
        "(and, for a convolution, every output position), shape (M,) or (F,)",
        "per_image": "right for one image of the batch only: accumulate (+=) dw and db over every "
        "image, or sum over the batch axis",
        "grad_divided_by_batch": "the result is the expected one divided by the batch size: a "
        "layer's backward returns sums over the batch (only softmax_loss takes the mean)",
        "pad_not_cropped": "dx has the size of the padded input: crop the padding off "
        "(dx_pad[:, :, pad:pad+H, pad:pad+W]) before returning",
        "pad_crop_offset": "the values match cropping the padding off at the wrong place: keep "
        "dx_pad[:, :, pad:pad+H, pad:pad+W]",
    },
    "classapi": {
        **_NCHW_HINTS,
        "pool_argmax_unravel": "each window's gradient goes to the mirror image of its maximum "
        "inside the window (row j, column i instead of row i, column j): unravel the index of the "
        "maximum in the order the window was flattened, np.unravel_index(idx, (kernel_size, "
        "kernel_size)) for a window flattened row by row",
        "hardcoded_batch": "the number of images differs from the batch: take the batch size from "
        "the input's first axis (Input.shape[0]), not a constant",
        "bias_ignored": "the values match the output without the bias: add b, one value per output "
        "(filter), e.g. `+ self.b` for the FC layer, `+ self.b[None, :, None, None]` for a convolution",
        "bias_as_row": "the values match adding b along the wrong axis: the output is "
        "(N, num_output), add b (one value per output) to every row",
        "relu_no_mask": "the gradient also passes where the input < 0: ReLU's derivative is 0 "
        "there, return delta * (Input > 0) with the input its forward kept",
        "relu_backward_output": "backward returns the forward output instead of a gradient: the "
        "upstream gradient is delta, return delta * (Input > 0)",
        "relu_times_value": "backward returns delta multiplied by the values of the input (or of "
        "the output): multiply delta by the 0/1 mask (Input > 0)",
        "relu_times_input": "backward returns delta multiplied by the values of the input (or of "
        "the output): multiply delta by the 0/1 mask (Input > 0)",
        "relu_mask_only": "backward returns the 0/1 mask (Input > 0) itself: multiply it by delta",
        "input_grad_missing": "the gradient backward returns is all zeros: the gradient with "
        "respect to the layer's input is not computed (the layers below need it)",
        "w_not_transposed": "the values match using W where W.T is needed: W is (num_input, "
        "num_output), so the forward pass is Input @ W + b and backward returns delta @ W.T",
        "weight_grad_transposed": "grad_W is transposed: it has W's shape, (num_input, num_output) "
        "for the FC layer (Input.T @ delta), (filters, inputs, k, k) for a convolution",
        "bias_wrong_axis": "grad_b is summed over the wrong axis: delta is (N, num_output), so sum "
        "over the batch, delta.sum(axis=0)",
        "bias_not_summed": "grad_b is not summed over the batch: it is delta summed over every "
        "image (and, for a convolution, every output position)",
        "per_image": "right for one image of the batch only: accumulate (+=) grad_W and grad_b "
        "over every image, or sum over the batch axis",
        "grad_divided_by_batch": "the result is the expected one divided by the batch size: a "
        "layer's grad_W and grad_b are sums over the batch of the delta it receives (a 1/N of "
        "the mean loss reaches them through delta, from the loss layer; no other layer divides)",
        "pad_not_cropped": "the gradient backward returns has the size of the padded input: crop "
        "the padding off (grad[:, :, pad:pad+H, pad:pad+W]) before returning",
        "pad_crop_offset": "the values match cropping the padding off at the wrong place: keep "
        "grad[:, :, pad:pad+H, pad:pad+W] of the padded gradient",
        "softmax_unstable": "NaN or inf for large logits: exp overflows (above ~709 in float64). "
        "Subtract each row's largest logit before exp (logit - logit.max(axis=1, keepdims=True)) "
        "and compute log-probabilities as shifted - log(sum(exp(shifted)))",
        "nondeterministic": "the same call gave another result after other calls: a layer must "
        "keep what backward needs on its own object (self), set by its own last forward, never "
        "on the class or in a module-level variable",
    },
}
"""Profile name -> mistake id -> the family's wording of a shared mistake's hint (the dict API's
words, ``input_od``, ``output['diff']``, ``param['b']``, and its Fortran-ordered rows, are not
the family's). ``nondeterministic`` words ``engine.nondeterminism_hint``."""

FAMILY_IN_PLACE: dict[str, dict[str, str]] = {
    "cs231n": {"x": IN_PLACE_X, "w": PARAM_CHANGED_WB, "b": PARAM_CHANGED_WB, "dout": DOUT_CHANGED},
    "classapi": {
        "input.data": "forward changes its Input array in place (e.g. `Input[Input < 0] = 0`): the "
        "layer before (and this layer's backward) then see modified values; compute into a new "
        "array, e.g. np.maximum(Input, 0)",
        "param.w": "the layer changes W in place during forward or backward (e.g. `self.W -= ...` "
        "or `self.W.shape = ...`): only the optimizer updates weights; keep reshaped arrays in "
        "local variables",
        "param.b": "the layer changes b in place during forward or backward: only the optimizer "
        "updates it; keep reshaped arrays in local variables",
        "output.diff": "backward changes delta in place (e.g. `delta[Input <= 0] = 0`): the caller's "
        "array changes too; compute the gradient as a new array, e.g. `delta * (Input > 0)`",
    },
}
"""Profile name -> argument name its adapter reports after a call -> why changing it is wrong."""
