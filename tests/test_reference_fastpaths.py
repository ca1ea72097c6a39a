"""The reference's fast paths give, bit for bit, what its general code gives.

Max-pooling backward has a fast path for non-overlapping windows (stride == k, LeNet's
pooling): one masked product over the input instead of a loop of ``where`` over the
window offsets. Every case here is one where the fast path runs or must decline, and the
result is compared byte for byte (``-0.0`` included) with the general loop, which
``tests/test_reference.py`` verifies against plain loops.
"""

import numpy as np
import pytest

from harness.core import paths
from harness.core.loader import load_isolated

REF = load_isolated(
    paths.REFERENCE_DIR,
    [
        "pooling_layer_backward",
        "pooling_layer_forward",
        "_route_tiles",
        "_route_windows",
        "as_cwhn",
        "pad_cwhn",
        "output_size",
    ],
)


def general(x, dy, h, w, c, k, stride, pad):
    """pooling_layer_backward by the general loop only."""
    n = x.shape[1]
    h_out, w_out = REF["output_size"](h, k, stride, pad), REF["output_size"](w, k, stride, pad)
    xv = REF["pad_cwhn"](REF["as_cwhn"](x, h, w, c), pad)
    dx = REF["_route_windows"](xv, dy.reshape(c, w_out, h_out, n), k, stride, h_out, w_out)
    return np.ascontiguousarray(dx[:, pad : pad + w, pad : pad + h]).reshape(h * w * c, n)


def backward(x, dy, h, w, c, k, stride, pad):
    inp = {"height": h, "width": w, "channel": c, "batch_size": x.shape[1], "data": x}
    layer = {"type": "POOLING", "k": k, "stride": stride, "pad": pad}
    out = REF["pooling_layer_forward"](inp, layer)
    out["diff"] = dy
    return REF["pooling_layer_backward"](out, inp, layer)


def same_bytes(a, b):
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


# (h, w, c, n, k, pad): stride == k throughout
SHAPES = {
    "lenet_pool1": (24, 24, 20, 3, 2, 0),
    "lenet_pool2": (8, 8, 50, 3, 2, 0),
    "not_square": (6, 4, 2, 2, 2, 0),
    "not_divisible": (7, 5, 2, 2, 2, 0),  # a last row and column that no window covers
    "k3": (9, 6, 1, 2, 3, 0),
    "padded": (5, 5, 2, 2, 2, 1),
    "padded_k3": (4, 7, 1, 2, 3, 2),
    "k1": (3, 4, 2, 1, 1, 0),
}


@pytest.mark.parametrize("values", ["distinct", "relu_zeros", "small_integers"])
@pytest.mark.parametrize("shape", list(SHAPES.values()), ids=list(SHAPES))
def test_tiled_backward_is_the_general_loop_bit_for_bit(shape, values):
    h, w, c, n, k, pad = shape
    rng = np.random.default_rng(0)
    x = rng.standard_normal((h * w * c, n))
    if values == "relu_zeros":  # after a ReLU: windows full of tied zeros
        x = np.maximum(x, 0)
    elif values == "small_integers":  # ties anywhere in a window
        x = rng.integers(-1, 2, x.shape).astype(float)
    h_out, w_out = (h + 2 * pad - k) // k + 1, (w + 2 * pad - k) // k + 1
    dy = rng.standard_normal((h_out * w_out * c, n))
    dy[0, 0] = -0.0  # a negative zero must come out as the general loop gives it
    assert same_bytes(backward(x, dy, h, w, c, k, k, pad), general(x, dy, h, w, c, k, k, pad))


def test_the_fast_path_runs_for_lenet_and_resolves_ties():
    c, h_out, w_out, n = 2, 3, 3, 2
    x = np.zeros((c, 2 * w_out, 2 * h_out, n))  # every window a four-way tie
    dy = np.arange(1.0, 1 + c * w_out * h_out * n).reshape(c, w_out, h_out, n)
    dx = REF["_route_tiles"](x, dy, 2, h_out, w_out)
    assert dx is not None
    np.testing.assert_array_equal(dx[:, ::2, ::2], dy)  # the first offset (dh = dw = 0) gets it all
    assert np.count_nonzero(dx) == dy.size


@pytest.mark.parametrize("bad", ["nan_input", "inf_dy", "nan_dy"])
def test_the_fast_path_declines_non_finite_values(bad):
    c, h_out, w_out, n = 1, 2, 2, 1
    rng = np.random.default_rng(1)
    x = rng.standard_normal((c, 4, 4, n))
    dy = rng.standard_normal((c, w_out, h_out, n))
    if bad == "nan_input":
        x[0, 1, 1, 0] = np.nan
    else:
        dy[0, 1, 0, 0] = np.inf if bad == "inf_dy" else np.nan
    assert REF["_route_tiles"](x, dy, 2, h_out, w_out) is None
    data, d = x.reshape(-1, n), dy.reshape(-1, n)  # (c, w, h, n) C order is the columns' layout
    np.testing.assert_array_equal(backward(data, d, 4, 4, c, 2, 2, 0), general(data, d, 4, 4, c, 2, 2, 0))
