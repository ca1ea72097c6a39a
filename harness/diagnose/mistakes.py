"""The catalogue of common mistakes: what each one would have produced on a case's own inputs.

A :class:`Mistake` names one way of getting a layer wrong and the graded outputs it
affects (``"conv.forward:y"``, ``"*.backward:b"``, with ``fnmatch`` wildcards). It is tested
in one of two ways (``harness.diagnose.engine`` runs them):

- ``predict(case, out, expected)``: a *mutant* of the reference -- the reference run on
  changed inputs or parameters (a flipped kernel, pad 0, one image of the batch), a
  reference building block used the mistaken way (windows one pixel apart, gradient sent
  to every tied maximum), or a transformation of the expected array (transposed, divided
  by the batch size, another memory order). It yields candidate arrays, each with a detail
  for the hint; a candidate that equals the student's result is evidence for the mistake.
- ``test(case, out, got, expected)``: a *signature*, a weaker cheap property of the student's
  result (right only for the first image, right except near the border or at ties); it
  returns a detail (possibly ``""``) when it holds, ``None`` when not.

Hints are module constants (tests import them): what the result matches, then what to look
at in the code. They are guesses; ``harness.diagnose.engine`` words them as such.
"""

from __future__ import annotations

import fnmatch
import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from harness.core.compare import fmt_shape
from harness.core.ops import output_hw
from harness.diagnose.mutants import (
    Candidates,
    batch_size,
    border_mask,
    close,
    close_mask,
    conv_backward,
    conv_forward,
    cwhn,
    flip_kernel,
    layouts,
    mlr_parts,
    out_channels,
    patches,
    pool_backward,
    pool_backward_overwrite,
    pool_forward,
    read_rows,
    reshaped_transpose,
    run,
    unpatch,
    volume_of,
)

# ---- hints --------------------------------------------------------------------------------

IN_PLACE = (
    "the function changes its input in place (e.g. `x[x < 0] = 0` or `x *= ...` on "
    "input['data']); later layers and the backward pass then see the modified values"
)
PARAM_CHANGED = (
    "the function changes its param dict (e.g. `param['b'] = param['b'].reshape(-1, 1)` "
    "or `param['w'] -= ...`), so the caller's weights change too: keep a reshaped or "
    "updated array in a local variable"
)
DIFF_CHANGED = (
    "the function changes output['diff'] in place (e.g. `diff[x <= 0] = 0` or `diff *= mask`): "
    "compute input_od as a new array, e.g. `diff * (x > 0)`"
)
ARGUMENT_CHANGED = "the function changes one of its arguments in place: compute on new arrays"
NONDETERMINISTIC = (
    "two calls with the same inputs disagree: the function seems to draw random numbers "
    "(np.random...) or to keep state between calls; a layer's result must depend only on "
    "its arguments"
)

FLIPPED_KERNEL = (
    "the values match a convolution with a flipped kernel (a true convolution, as "
    "scipy.signal.convolve computes, or w[k-1-dh, k-1-dw]): this layer is a "
    "cross-correlation, use the weight of kernel offset (dh, dw) as it is"
)
WEIGHT_ROW_ORDER = (
    "the values match reading the rows of the weights in another order than the "
    "convention: row dh + k*dw + k*k*c holds kernel offset (dh, dw) of input channel c "
    "(the Fortran flattening of a (k, k, c) patch, height offset fastest)"
)
RESHAPE_FOR_TRANSPOSE = (
    "the values match a transpose done with .reshape(): reshape keeps the memory "
    "order and does not transpose; use .T"
)
MEMORY_ORDER = (
    "right values in the wrong memory order: each column must be the Fortran-order "
    "flattening of an (h, w, c) volume, row ih + h*iw + h*w*ic (e.g. "
    "`vol.reshape(-1, order='F')` of an (h, w, c) array, or a C-order (c, w, h) array)"
)
BIAS_IGNORED = (
    "the values match the output without the bias: add param['b'], one value per output "
    "(channel), as a column (b.T or b.reshape(-1, 1))"
)
BIAS_AS_ROW = (
    "the values match adding b as a row: b is (1, num) and the data (num, batch), so add b.T "
    "(or b.reshape(-1, 1))"
)
BIAS_NOT_SUMMED = (
    "the bias gradient is not summed over the batch: dL/db is diff summed over every "
    "image (and, for a convolution, over every output position), shape (1, num)"
)
BIAS_WRONG_AXIS = (
    "the bias gradient is summed over the wrong axis: diff is (num, batch), so sum over "
    "the batch with diff.sum(axis=1)"
)
WEIGHT_GRAD_TRANSPOSED = (
    "the weight gradient is transposed: dL/dw has the shape of w, x @ diff.T "
    "for the inner product (d, num), (k*k*c, num) for a convolution"
)
TRANSPOSED = "the result is the expected array transposed: look for a missing or an extra .T"
MATMUL_W_SIZES = (
    "a matrix product failed on the two sizes of w (or theta), which had to match: w seems to "
    "be used where w.T is needed, or the reverse (w is (d, num): the forward pass is "
    "w.T @ x + b.T, input_od = w @ diff; mlrloss: theta (K-1, N) @ X, od = theta.T @ (P - I))"
)
W_TRANSPOSE = (
    "the values match using w where w.T is needed: w is (d, num), so the forward pass is "
    "w.T @ x + b.T and input_od = w @ diff"
)
GRAD_DIVIDED_BY_BATCH = (
    "the result is the expected one divided by the batch size: backward functions "
    "return sums over the batch (the network divides the parameter gradients once; "
    "input_od is never divided)"
)
LOSS_AVERAGED = (
    "mlrloss averages over the batch: nll, g and od are sums over the batch (the network "
    "divides by the batch size once)"
)
INPUT_GRAD_MISSING = (
    "input_od is all zeros: the gradient with respect to the layer's input is not "
    "computed (the layers below need it)"
)
NOT_COMPUTED = "the result is all zeros: is it computed at all (a zeros array left from the template)?"
SIGN_FLIPPED = "the result has the right size but the opposite sign"
STRIDE_IGNORED = (
    "the values match windows placed 1 apart instead of `stride` apart: the window of "
    "output (oh, ow) starts at row oh*stride, column ow*stride of the padded map"
)
PAD_IGNORED = (
    "the values match the layer without padding: pad the map with `pad` zeros on every side "
    "first (np.pad); h_out = (h + 2*pad - k) // stride + 1"
)
PAD_NOT_CROPPED = (
    "input_od has the size of the padded map: cut the padding off (rows pad..pad+h-1, "
    "columns pad..pad+w-1) before returning"
)
PAD_CROP_OFFSET = (
    "the values match cutting the padding off at the wrong place: keep rows pad..pad+h-1 "
    "and columns pad..pad+w-1 of the padded gradient"
)
OFF_BY_ONE = "the output size is off by one: h_out = (h + 2*pad - k) // stride + 1 (the same for w_out)"
AVERAGE_POOLING = "the values match average pooling: this layer takes the maximum of each window"
POOL_PAD_NEG_INF = (
    "the values match padding with -inf (PyTorch's convention): this assignment pads with "
    "zeros, so a window of negative values beside the padding has the maximum 0"
)
POOL_GRAD_SPREAD = (
    "the gradient is spread over the whole window: each window's upstream gradient goes "
    "only to the position of its maximum"
)
POOL_ARGMAX_UNRAVEL = (
    "each window's gradient goes to the mirror image of its maximum inside the window (the "
    "element at offset (dw, dh) instead of (dh, dw)): the index of the maximum within the window "
    "is unravelled in the other order than the window was flattened in; flattened as "
    "[dh + k*dw] (order='F'), dh = i % k and dw = i // k, as np.unravel_index(i, (k, k), order='F') gives"
)
POOL_TIES = (
    "right except in windows whose maximum occurs more than once: the convention sends the "
    "gradient to the first maximum only, in Fortran order of the window (height offset "
    "fastest), as np.argmax of the window flattened with order='F' finds it"
)
POOL_OVERWRITE = (
    "where windows overlap, one window's gradient replaces another's: add them up (+=); "
    "an input inside two windows receives both gradients"
)
RELU_BACKWARD_OUTPUT = (
    "input_od matches the forward output output['data'] instead of a gradient: "
    "the upstream gradient is output['diff'], input_od = diff * (x > 0)"
)
RELU_TIMES_VALUE = (
    "input_od matches diff multiplied by the values of x (or of the output): multiply "
    "diff by the 0/1 mask (x > 0)"
)
RELU_NO_MASK = "the gradient also passes where x < 0: ReLU's derivative is 0 there, input_od = diff * (x > 0)"
RELU_INVERTED_MASK = "the gradient passes where x < 0 and is blocked where x > 0: the mask is inverted"
RELU_MASK_ONLY = "input_od is the 0/1 mask (x > 0) itself: multiply it by output['diff']"
RELU_RETURNS_MASK = "the output is the mask (x > 0), not the values: max(x, 0)"
RELU_MIN = "the output matches min(x, 0): ReLU keeps the positive part, max(x, 0)"
SOFTMAX_UNSTABLE = (
    "NaN or inf for large logits: exp overflows (above ~709 in float64, ~88 in float32). "
    "Subtract each column's largest logit before exp"
)
LOG_UNDERFLOW = (
    "inf from log of an underflowed probability: exp overflows nowhere here, but the true "
    "label's probability is below the smallest float (e**-745 in float64, e**-103 in float32) "
    "and rounds to 0, so log gives -inf. Compute log-probabilities as "
    "(logit - max) - log(sum(exp(logit - max))) instead of log(softmax)"
)
K_MINUS_1 = (
    "g holds a gradient for all K classes: only the first K-1 classes have parameters (the "
    "last class's score is fixed at 0), so g has (K-1)*(N+1) values, the rows 0..K-2 of the "
    "theta gradient and then of the bias gradient"
)
ZERO_CLASS_FIRST = (
    "the values match giving the fixed zero score to class 0: the class without "
    "parameters is the last one, K-1 (logits = [theta @ X + bias; 0])"
)
ZERO_CLASS_DROPPED = (
    "the values match a softmax over the K-1 parameterised classes only: the last class "
    "has the fixed score 0 and takes part in the softmax (logits = [theta @ X + bias; 0])"
)
THETA_ORDER = (
    "the values match reading theta from wb in the wrong order: "
    "theta = wb[:(K-1)*N].reshape(K-1, N) (C order), bias = wb[(K-1)*N:]"
)
G_THETA_ORDER = (
    "the theta part of g is in the wrong order: it is the C-order ravel of the (K-1, N) "
    "array ((P - I) @ X.T)[:K-1], not of its transpose"
)
PERCENT_SCALE = "percent is a fraction between 0 and 1, not a percentage"
PERCENT_PREDICTION = "percent must be 0 when prediction is 0 (only prediction=1 asks for the accuracy)"
BATCH_ONE = (
    "right for one image of the batch only: handle every column of data, and accumulate (+=) "
    "the parameter gradients over all images, or sum over the batch axis"
)
HARDCODED_BATCH = (
    "the number of images differs from the batch: take the batch size from "
    "input['batch_size'] (or data.shape[1]), not a constant"
)
BATCH_FROM_ROWS = "batch_size is the number of columns of data (data.shape[1]), not of rows"
BORDER = (
    "right except near the border, where windows overlap the padding: check the padding (zeros, "
    "`pad` rows and columns on every side) and, in the backward pass, how it is cut off"
)
CONSTANT_FACTOR = "the result is off by the same factor everywhere: look for a stray constant"
PERMUTED_VALUES = (
    "the values are right but in the wrong places: check the order of your reshape/transpose/flatten steps"
)
FIELDS_SWAPPED = "height and width are swapped: height is the number of rows h_out, width the columns w_out"
FIELD_NOT_UPDATED = (
    "the field holds the input's value: the output dict describes the output (height "
    "h_out, width w_out; channel num for a convolution; height num for the inner product)"
)
FIELD_CHANNEL = "channel is the number of output channels: num for a convolution, c (unchanged) for pooling"


# ---- the catalogue's data model -----------------------------------------------------------


@dataclass(frozen=True)
class Mistake:
    """One known mistake and how to recognise it."""

    id: str
    """Stable id, e.g. ``flipped_kernel``."""
    hint: str
    """What to tell the student (a module constant)."""
    where: tuple[str, ...]
    """``op:output`` patterns (fnmatch) of the graded outputs it can explain."""
    predict: Callable[..., Candidates] | None = None
    """``(case, out, expected) -> [(array, detail), ...]``: what the mistake would have returned."""
    test: Callable[..., str | None] | None = None
    """``(case, out, got, expected) -> detail or None``: a signature of the mistake in the result."""
    nonfinite: bool = False
    """Tested on results that hold NaN or inf (every other mistake needs finite values)."""

    def applies(self, op_name: str, out: str) -> bool:
        return any(fnmatch.fnmatchcase(f"{op_name}:{out}", pattern) for pattern in self.where)


# ---- predictions that fit any layer -------------------------------------------------------


def zeros(case, out, expected) -> Candidates:
    yield np.zeros_like(expected), ""


def scaled(factor_of: Callable) -> Callable:
    def predict(case, out, expected):
        f = factor_of(case)
        if f is not None:
            yield expected * f, ""

    return predict


def one_over_batch(case):
    n = batch_size(case)
    return 1.0 / n if n > 1 else None


def transposed(case, out, expected) -> Candidates:
    if expected.ndim == 2:
        yield expected.T, ""


def reshape_transposed(case, out, expected) -> Candidates:
    yield from reshaped_transpose(expected, expected.shape)


def memory_orders(case, out, expected) -> Candidates:
    vol = volume_of(case, out)
    if vol is not None and expected.ndim == 2:
        yield from layouts(expected, *vol)


def single_images(case, out: str, expected=None) -> Candidates:
    """The contribution of one image to a sum over the batch: the first, and the last."""
    n = batch_size(case)
    if n < 2:
        return
    a = case.arrays
    for i, what in (
        (0, "only the first image counts"),
        (
            n - 1,
            "only the last image counts: is the gradient assigned (=) rather than "
            "accumulated (+=) in a loop over images?",
        ),
    ):
        keep = slice(i, i + 1)
        if case.op == "mlrloss":
            part = run(case, X=a["X"][:, keep], y=a["y"][:, keep])
        else:
            part = run(case, **{name: a[name][:, keep] for name in ("x", "dy", "y") if name in a})
        yield part[out], what


# ---- predictions: convolution, inner product ---------------------------------------------------


def flipped_kernel(case, out, expected) -> Candidates:
    """A true convolution: the kernel reversed in height and width."""
    if out == "w":  # the gradient of a flipped-kernel forward is the expected one flipped back
        yield flip_kernel(expected, case.params["k"], case.params["c"]), ""
    else:
        yield run(case, w=flip_kernel(case.arrays["w"], case.params["k"], case.params["c"]))[out], ""


def weight_rows(case, out, expected) -> Candidates:
    """Conv outputs computed by code that reads the rows of param['w'] in another order."""
    w, p = case.arrays["w"], case.params
    for seen, detail in read_rows(w, (p["k"], p["k"], p["c"]), ("dh", "dw", "c")):
        yield run(case, w=seen)[out], detail


def w_for_w_transposed(case, out, expected) -> Candidates:
    """w where w.T is needed: only possible without a crash when w is square."""
    w = case.arrays["w"]
    if w.shape[0] == w.shape[1]:
        yield run(case, w=w.T)[out], ""


def w_reshaped(case, out, expected) -> Candidates:
    """Outputs computed with ``w.reshape(num, rows)`` where ``w.T`` is needed."""
    w = case.arrays["w"]
    if min(w.shape) > 1:
        yield run(case, w=w.reshape(w.shape[::-1]).T)[out], "w.reshape(...) where w.T is needed"


def without_bias(case, out, expected) -> Candidates:
    yield run(case, b=np.zeros_like(case.arrays["b"]))[out], ""


def bias_as_row(case, out, expected) -> Candidates:
    """``w.T @ x + b`` with b (1, num): broadcasts without an error when the batch is 1 or num."""
    b = case.arrays["b"]
    if expected.shape[1] in (1, expected.shape[0]):
        yield expected - b.reshape(-1, 1) + b.reshape(1, -1), ""


def bias_summed_over_outputs(case, out, expected) -> Candidates:
    yield case.arrays["dy"].sum(axis=0), ""


def without_padding(case, out, expected) -> Candidates:
    p = case.params
    if p["pad"] and p["k"] <= min(p["h"], p["w"]):
        yield run(case, params={"pad": 0})["y"], ""


def stride_one(case, out, expected) -> Candidates:
    """Windows 1 apart: with the output size of stride 1, or with the right size."""
    if case.params["stride"] == 1:
        return
    if case.op == "conv.backward":
        yield conv_backward(case, place=1)[out], ""
    elif case.op == "pooling.backward":
        yield pool_backward(case, place=1), ""
    else:
        yield run(case, params={"stride": 1})["y"], "the output size too"
        yield (conv_forward(case, place=1) if case.op == "conv.forward" else pool_forward(case, place=1)), ""


def cropped(crop: str) -> Callable:
    """The input gradient of the padded map, cropped as ``crop`` says (``none``, ``origin``)."""

    def predict(case, out, expected):
        if case.op == "conv.backward":
            yield conv_backward(case, crop=crop)["input"], ""
        else:
            yield pool_backward(case, crop=crop), ""

    return predict


# ---- predictions: pooling, relu ----------------------------------------------------------------


def average_pooling(case, out, expected) -> Candidates:
    yield pool_forward(case, "mean"), ""
    yield pool_forward(case, "mean_real"), "the padding left out of the mean"


def minus_inf_padding(case, out, expected) -> Candidates:
    if case.params["pad"]:
        yield (
            (pool_forward(case, pad_value=-np.inf) if out == "y" else pool_backward(case, pad_value=-np.inf)),
            "",
        )


def spread_gradient(case, out, expected) -> Candidates:
    yield pool_backward(case, "spread"), "every element gets the full gradient"
    yield pool_backward(case, "mean"), "every element gets 1/k^2 of it, as average pooling would"


def argmax_unravelled(case, out, expected) -> Candidates:
    yield pool_backward(case, "first_swapped"), ""


def tie_policies(case, out, expected) -> Candidates:
    yield pool_backward(case, "all"), "you send it to every tied maximum"
    yield pool_backward(case, "last"), "you send it to the last one"
    yield pool_backward(case, "split"), "you split it between them"
    yield pool_backward(case, "first_c"), "you take the first in C order (width offset fastest)"


def overwritten_overlaps(case, out, expected) -> Candidates:
    if case.params["k"] > case.params["stride"]:
        yield pool_backward_overwrite(case, h_outer=True), ""
        yield pool_backward_overwrite(case, h_outer=False), ""


def relu(fn: Callable) -> Callable:
    """A relu prediction from ``fn(x, dy, y)``."""

    def predict(case, out, expected):
        a = case.arrays
        yield fn(a["x"], a.get("dy"), np.maximum(a["x"], 0)), ""

    return predict


# ---- predictions: mlrloss -------------------------------------------------------------------


def full_k_gradient(case, out, expected) -> Candidates:
    """g with rows for all K classes (the zero class included)."""
    _, _, logits, labels = mlr_parts(case)
    e = np.exp(logits - logits.max(axis=0))
    P = e / e.sum(axis=0)
    P[labels, np.arange(labels.size)] -= 1
    yield np.concatenate([(P @ case.arrays["X"].T).ravel(), P.sum(axis=1)]), ""


def theta_read_f(case, out, expected) -> Candidates:
    a, K = case.arrays, case.params["K"]
    N = a["X"].shape[0]
    theta = a["wb"][: N * (K - 1)].reshape((K - 1, N), order="F")
    wb = np.concatenate([theta.ravel(), a["wb"][N * (K - 1) :]])
    yield run(case, wb=wb)[out], ""


def theta_grad_f(case, out, expected) -> Candidates:
    K, N = case.params["K"], case.arrays["X"].shape[0]
    theta = expected[: N * (K - 1)].reshape(K - 1, N)
    yield np.concatenate([theta.ravel(order="F"), expected[N * (K - 1) :]]), ""


def zero_class_first(case, out, expected) -> Candidates:
    y = (case.arrays["y"] - 1) % case.params["K"]
    yield run(case, y=y)[out], ""


def zero_class_dropped(case, out, expected) -> Candidates:
    """The softmax over the K-1 parameterised classes only (possible when no label is K-1)."""
    theta, bias, logits, labels = mlr_parts(case)
    if out == "percent" or (labels >= logits.shape[0] - 1).any():
        return
    z = logits[:-1] - logits[:-1].max(axis=0)
    logp = z - np.log(np.exp(z).sum(axis=0))
    cols = np.arange(labels.size)
    E = np.exp(logp)
    E[labels, cols] -= 1
    X = case.arrays["X"]
    yield (
        {
            "nll": -logp[labels, cols].sum(),
            "wb": np.concatenate([(E @ X.T).ravel(), E.sum(axis=1)]),
            "input": theta.T @ E,
        }[out],
        "",
    )


def percent_always(case, out, expected) -> Candidates:
    yield run(case, params={"prediction": 1})["percent"], ""


def percent_times_100(case, out, expected) -> Candidates:
    yield expected * 100, ""
    yield run(case, params={"prediction": 1})["percent"] * 100, "and computed whatever prediction is"


# ---- signatures: properties of the result itself, tried when no prediction fits ------------


def log_of_underflow(case, out, got, expected) -> str | None:
    """An inf nll where no exp overflows but a label's probability underflows (float32 or float64)."""
    if out != "nll" or np.isnan(got).any() or not np.isposinf(got).any():
        return None
    _, _, logits, labels = mlr_parts(case)
    if logits.max() > np.log(np.finfo(np.float64).max):
        return None  # exp overflows too: unstable_softmax's case
    gap = float((logits.max(axis=0) - logits[labels, np.arange(logits.shape[1])]).max())
    if gap < -np.log(np.finfo(np.float32).tiny):
        return None
    return f"a true label's logit is {gap:.4g} below its column's largest"


def unstable_softmax(case, out, got, expected) -> str | None:
    """NaN or inf where exp of the logits overflows (float64 above ~709, float32 above ~88)."""
    if np.isfinite(got).all():
        return None
    logits = case.arrays["x"] if case.op == "softmax_ce" else mlr_parts(case)[2]
    for dtype in (np.float64, np.float32):
        with np.errstate(all="ignore"):
            e = np.exp(logits.astype(dtype))
            p = e / e.sum(axis=0)
        if not (np.isfinite(e).all() and np.isfinite(p).all() and (p > 0).all()):
            return f"the largest logit here is {np.abs(logits).max():.4g}"
    return None


def not_summed_bias(case, out, got, expected) -> str | None:
    """A bias gradient with more values than outputs that sums to the right one."""
    num = expected.size
    if got.size <= num or got.size % num:
        return None
    for order in ("C", "F"):
        for shape, axis in (((num, -1), 1), ((-1, num), 0)):
            if close(got.reshape(shape, order=order).sum(axis=axis).reshape(expected.shape), expected):
                return f"your {fmt_shape(got.shape)} array summed over its other axis gives the right one"
    return None


def column_count(case, out, got, expected) -> str | None:
    """As many rows as expected, another number of columns, the shared columns right."""
    if (
        got.ndim != 2
        or expected.ndim != 2
        or got.shape[0] != expected.shape[0]
        or got.shape[1] == expected.shape[1]
    ):
        return None
    m = min(got.shape[1], expected.shape[1])
    if close(got[:, :m], expected[:, :m], np.abs(expected).max()):
        return f"{got.shape[1]} columns for a batch of {expected.shape[1]}"
    return None


def off_by_one(case, out, got, expected) -> str | None:
    """A windowed forward output one row or column of windows too small or too large."""
    if got.ndim != 2 or got.shape[1] != expected.shape[1] or got.shape == expected.shape:
        return None
    h_out, w_out = output_hw(case.params)
    c = out_channels(case)
    for dh, dw in itertools.product((-1, 0, 1), repeat=2):
        hh, ww = h_out + dh, w_out + dw
        if (dh, dw) == (0, 0) or hh <= 0 or ww <= 0 or got.shape[0] != hh * ww * c:
            continue
        mh, mw = min(hh, h_out), min(ww, w_out)
        g = cwhn(got, hh, ww, c)[:, :mw, :mh]
        e = cwhn(expected, h_out, w_out, c)[:, :mw, :mh]
        if close(g, e, np.abs(expected).max()):
            return f"{hh} x {ww} output positions, expected {h_out} x {w_out}"
    return None


def one_column(case, out, got, expected) -> str | None:
    """Per-image outputs: exactly one image's column is right."""
    n = batch_size(case)
    if n < 2 or got.shape != expected.shape or expected.ndim != 2 or expected.shape[1] != n:
        return None
    scale = np.abs(expected).max()
    right = [j for j in range(n) if close(got[:, j], expected[:, j], scale)]
    if len(right) != 1:
        return None
    others_zero = not np.any(np.delete(got, right[0], axis=1))
    return f"only image {right[0]} of {n} is right" + (": the other columns are 0" if others_zero else "")


def border_only(case, out, got, expected) -> str | None:
    mask = border_mask(case, out)
    if mask is None or got.shape != expected.shape or mask.shape != got.shape or mask.all():
        return None
    bad = ~close_mask(got, expected)
    if bad.any() and not (bad & ~mask).any():
        return f"{int(bad.sum())} wrong values, all near the border"
    return None


def ties_only(case, out, got, expected) -> str | None:
    """Pooling backward: every wrong value lies in a window whose maximum is tied."""
    if got.shape != expected.shape:
        return None
    pt = patches(case.arrays["x"], case.params)
    tied_windows = (pt == pt.max(axis=(1, 2), keepdims=True)).sum(axis=(1, 2)) > 1  # (c, w_out, h_out, n)
    if not tied_windows.any():
        return None
    k = case.params["k"]
    spread = np.broadcast_to(
        tied_windows[:, None, None].astype(float), (pt.shape[0], k, k) + tied_windows.shape[1:]
    )
    in_tied = unpatch(spread, case.params) > 0
    bad = ~close_mask(got, expected)
    if bad.any() and not (bad & ~in_tied).any():
        return ""
    return None


def constant_factor(case, out, got, expected) -> str | None:
    """One fitted factor explains every element (needs a few elements to be evidence)."""
    if got.shape != expected.shape or got.size < 4 or not expected.any():
        return None
    r = float(np.vdot(got, expected) / np.vdot(expected, expected))
    if abs(r - 1) < 1e-3 or r == 0 or not close(got, r * expected):
        return None
    n = batch_size(case)
    for factor, what in ((n, "the batch size"), (1 / n, "1 / the batch size")):
        if n > 1 and abs(r / factor - 1) < 1e-6:
            return f"{r:.4g} times, {what}"
    return f"{r:.4g} times the expected values"


def same_values(case, out, got, expected) -> str | None:
    if got.size != expected.size or got.size < 3:
        return None
    if close(np.sort(got.ravel()), np.sort(expected.ravel())):
        return ""
    return None


# ---- the catalogue, in order of preference (specific before generic) ---------------------------

LOSS_OUTPUTS = ("mlrloss:nll", "mlrloss:wb", "mlrloss:input")
WINDOWED = ("conv.forward:y", "pooling.forward:y")
WINDOWED_BACKWARD = ("conv.backward:input", "pooling.backward:input")

MISTAKES: tuple[Mistake, ...] = (
    # -- nothing computed ------------------------------------------------------------------------
    Mistake("input_grad_missing", INPUT_GRAD_MISSING, ("*.backward:input", "mlrloss:input"), predict=zeros),
    Mistake("not_computed", NOT_COMPUTED, ("*:*",), predict=zeros),
    # -- mlrloss ---------------------------------------------------------------------------------
    Mistake("log_of_underflow", LOG_UNDERFLOW, ("mlrloss:nll",), test=log_of_underflow, nonfinite=True),
    Mistake(
        "softmax_unstable",
        SOFTMAX_UNSTABLE,
        ("mlrloss:*", "softmax_ce:*"),
        test=unstable_softmax,
        nonfinite=True,
    ),
    Mistake("loss_averaged", LOSS_AVERAGED, LOSS_OUTPUTS, predict=scaled(one_over_batch)),
    Mistake("k_minus_1_ignored", K_MINUS_1, ("mlrloss:wb",), predict=full_k_gradient),
    Mistake("zero_class_first", ZERO_CLASS_FIRST, ("mlrloss:*",), predict=zero_class_first),
    Mistake("zero_class_dropped", ZERO_CLASS_DROPPED, LOSS_OUTPUTS, predict=zero_class_dropped),
    Mistake("theta_order", THETA_ORDER, LOSS_OUTPUTS, predict=theta_read_f),
    Mistake("g_theta_order", G_THETA_ORDER, ("mlrloss:wb",), predict=theta_grad_f),
    Mistake("percent_scale", PERCENT_SCALE, ("mlrloss:percent",), predict=percent_times_100),
    Mistake("percent_without_prediction", PERCENT_PREDICTION, ("mlrloss:percent",), predict=percent_always),
    # -- convolution and inner product -----------------------------------------------------------
    Mistake(
        "flipped_kernel",
        FLIPPED_KERNEL,
        ("conv.forward:y", "conv.backward:input", "conv.backward:w"),
        predict=flipped_kernel,
    ),
    Mistake(
        "weight_row_order", WEIGHT_ROW_ORDER, ("conv.forward:y", "conv.backward:input"), predict=weight_rows
    ),
    Mistake(
        "w_not_transposed",
        W_TRANSPOSE,
        ("inner_product.forward:y", "inner_product.backward:input"),
        predict=w_for_w_transposed,
    ),
    Mistake(
        "w_reshaped", RESHAPE_FOR_TRANSPOSE, ("conv.forward:y", "inner_product.forward:y"), predict=w_reshaped
    ),
    Mistake(
        "bias_ignored", BIAS_IGNORED, ("conv.forward:y", "inner_product.forward:y"), predict=without_bias
    ),
    Mistake("bias_as_row", BIAS_AS_ROW, ("inner_product.forward:y",), predict=bias_as_row),
    Mistake("pad_ignored", PAD_IGNORED, WINDOWED, predict=without_padding),
    Mistake(
        "stride_ignored",
        STRIDE_IGNORED,
        WINDOWED + WINDOWED_BACKWARD + ("conv.backward:w",),
        predict=stride_one,
    ),
    Mistake("pad_not_cropped", PAD_NOT_CROPPED, WINDOWED_BACKWARD, predict=cropped("none")),
    Mistake("pad_crop_offset", PAD_CROP_OFFSET, WINDOWED_BACKWARD, predict=cropped("origin")),
    Mistake("weight_grad_transposed", WEIGHT_GRAD_TRANSPOSED, ("*.backward:w",), predict=transposed),
    Mistake(
        "bias_wrong_axis", BIAS_WRONG_AXIS, ("inner_product.backward:b",), predict=bias_summed_over_outputs
    ),
    Mistake("bias_not_summed", BIAS_NOT_SUMMED, ("*.backward:b",), test=not_summed_bias),
    # -- pooling ---------------------------------------------------------------------------------
    Mistake("average_pooling", AVERAGE_POOLING, ("pooling.forward:y",), predict=average_pooling),
    Mistake(
        "pool_pad_neg_inf",
        POOL_PAD_NEG_INF,
        ("pooling.forward:y", "pooling.backward:input"),
        predict=minus_inf_padding,
    ),
    Mistake("pool_grad_spread", POOL_GRAD_SPREAD, ("pooling.backward:input",), predict=spread_gradient),
    Mistake("pool_ties", POOL_TIES, ("pooling.backward:input",), predict=tie_policies),
    Mistake(
        "pool_argmax_unravel", POOL_ARGMAX_UNRAVEL, ("pooling.backward:input",), predict=argmax_unravelled
    ),
    Mistake("pool_overwrite", POOL_OVERWRITE, ("pooling.backward:input",), predict=overwritten_overlaps),
    # -- relu ------------------------------------------------------------------------------------
    Mistake(
        "relu_backward_output",
        RELU_BACKWARD_OUTPUT,
        ("relu.backward:input",),
        predict=relu(lambda x, dy, y: y),
    ),
    Mistake(
        "relu_times_value", RELU_TIMES_VALUE, ("relu.backward:input",), predict=relu(lambda x, dy, y: dy * y)
    ),
    Mistake(
        "relu_times_input", RELU_TIMES_VALUE, ("relu.backward:input",), predict=relu(lambda x, dy, y: dy * x)
    ),
    Mistake("relu_no_mask", RELU_NO_MASK, ("relu.backward:input",), predict=relu(lambda x, dy, y: dy)),
    Mistake(
        "relu_inverted_mask",
        RELU_INVERTED_MASK,
        ("relu.backward:input",),
        predict=relu(lambda x, dy, y: dy * (x < 0)),
    ),
    Mistake(
        "relu_mask_only",
        RELU_MASK_ONLY,
        ("relu.backward:input",),
        predict=relu(lambda x, dy, y: (x > 0).astype(float)),
    ),
    Mistake(
        "relu_returns_mask",
        RELU_RETURNS_MASK,
        ("relu.forward:y",),
        predict=relu(lambda x, dy, y: (x > 0).astype(float)),
    ),
    Mistake("relu_min", RELU_MIN, ("relu.forward:y",), predict=relu(lambda x, dy, y: np.minimum(x, 0))),
    # -- any layer -------------------------------------------------------------------------------
    Mistake("per_image", BATCH_ONE, ("*.backward:w", "*.backward:b", "mlrloss:wb"), predict=single_images),
    Mistake(
        "grad_divided_by_batch", GRAD_DIVIDED_BY_BATCH, ("*.backward:*",), predict=scaled(one_over_batch)
    ),
    Mistake("sign_flipped", SIGN_FLIPPED, ("*:*",), predict=scaled(lambda case: -1.0)),
    Mistake("transposed", TRANSPOSED, ("*:*",), predict=transposed),
    Mistake("reshape_for_transpose", RESHAPE_FOR_TRANSPOSE, ("*:*",), predict=reshape_transposed),
    Mistake("weight_grad_order", WEIGHT_ROW_ORDER, ("conv.backward:w",), predict=memory_orders),
    Mistake("memory_order", MEMORY_ORDER, ("*:y", "*:input"), predict=memory_orders),
    # -- signatures: weaker evidence, tried only when no prediction fits ---------------------------
    Mistake("hardcoded_batch", HARDCODED_BATCH, ("*:y", "*:input"), test=column_count),
    Mistake("off_by_one", OFF_BY_ONE, WINDOWED, test=off_by_one),
    Mistake("batch_one", BATCH_ONE, ("*:y", "*:input"), test=one_column),
    Mistake("border", BORDER, WINDOWED + WINDOWED_BACKWARD, test=border_only),
    Mistake("ties", POOL_TIES, ("pooling.backward:input",), test=ties_only),
    Mistake("constant_factor", CONSTANT_FACTOR, ("*:*",), test=constant_factor),
    Mistake("permuted_values", PERMUTED_VALUES, ("*:*",), test=same_values),
)
"""Every known mistake, in the order hypotheses are tried (the first that fits is reported)."""
