"""Independent verification of reference/: loops, scipy and finite differences.

Nothing here is computed by the reference itself and then trusted: forwards are compared
with plain loops written from the assignment contract (and scipy for convolution),
backwards with central finite differences in float64, the helpers with their formulas.

Layout (contract, section 2): data is ``(h*w*c, n)``, each column the Fortran flattening
of ``(h, w, c)``; conv weights are ``(k*k*c, num)`` with row ``dh + k*dw + k*k*ic``.
"""

import numpy as np
import pytest
import scipy.signal

from harness.core import paths
from harness.core.loader import load_isolated

NAMES = [
    "inner_product_forward",
    "inner_product_backward",
    "relu_forward",
    "relu_backward",
    "pooling_layer_forward",
    "pooling_layer_backward",
    "conv_layer_forward",
    "conv_layer_backward",
    "mlrloss",
    "im2col_conv",
    "col2im_conv",
    "im2col_conv_batch",
    "get_lr",
    "sgd_momentum",
    "get_lenet",
    "init_convnet",
    "conv_net",
]
REF = load_isolated(paths.REFERENCE_DIR, NAMES)

RTOL, ATOL = 1e-10, 1e-12  # forward against loops: same sums, different order
FD_RTOL, FD_ATOL = 1e-6, 1e-7  # backward against central differences (eps 1e-6)


# ---- independent implementations written from the contract ---------------------------


def out_size(size, k, stride, pad):
    return (size + 2 * pad - k) // stride + 1


def to_volume(data, h, w, c):
    """``(h*w*c, n)`` -> ``(h, w, c, n)``: element (ih, iw, ic) of column j at row ih + h*iw + h*w*ic."""
    n = data.shape[1]
    vol = np.empty((h, w, c, n))
    for ih in range(h):
        for iw in range(w):
            for ic in range(c):
                vol[ih, iw, ic] = data[ih + h * iw + h * w * ic]
    return vol


def to_columns(vol):
    """Inverse of ``to_volume``."""
    h, w, c, n = vol.shape
    data = np.empty((h * w * c, n))
    for ih in range(h):
        for iw in range(w):
            for ic in range(c):
                data[ih + h * iw + h * w * ic] = vol[ih, iw, ic]
    return data


def zero_pad(vol, pad):
    h, w = vol.shape[:2]
    out = np.zeros((h + 2 * pad, w + 2 * pad) + vol.shape[2:])
    out[pad : pad + h, pad : pad + w] = vol
    return out


def kernel_of(wts, k, c):
    """``(k*k*c, num)`` weights -> ``(k, k, c, num)`` kernel, row dh + k*dw + k*k*ic."""
    kernel = np.empty((k, k, c, wts.shape[1]))
    for dh in range(k):
        for dw in range(k):
            for ic in range(c):
                kernel[dh, dw, ic] = wts[dh + k * dw + k * k * ic]
    return kernel


def conv_loops(x, h, w, c, wts, b, k, stride, pad):
    """Cross-correlation by a loop over output pixels; returns ``(h_out*w_out*num, n)``."""
    xpad, kernel = zero_pad(to_volume(x, h, w, c), pad), kernel_of(wts, k, c)
    num, n = wts.shape[1], x.shape[1]
    h_out, w_out = out_size(h, k, stride, pad), out_size(w, k, stride, pad)
    y = np.empty((h_out, w_out, num, n))
    for oh in range(h_out):
        for ow in range(w_out):
            patch = xpad[oh * stride : oh * stride + k, ow * stride : ow * stride + k]  # (k, k, c, n)
            for f in range(num):
                for j in range(n):
                    y[oh, ow, f, j] = np.sum(patch[..., j] * kernel[..., f]) + np.ravel(b)[f]
    return to_columns(y)


def conv_scipy(x, h, w, c, wts, b, k, stride, pad):
    """The same with ``scipy.signal.correlate`` (valid mode over (h, w, c), then strided)."""
    xpad, kernel = zero_pad(to_volume(x, h, w, c), pad), kernel_of(wts, k, c)
    num, n = wts.shape[1], x.shape[1]
    y = np.empty((out_size(h, k, stride, pad), out_size(w, k, stride, pad), num, n))
    for f in range(num):
        for j in range(n):
            full = scipy.signal.correlate(xpad[..., j], kernel[..., f], mode="valid", method="direct")
            y[:, :, f, j] = full[::stride, ::stride, 0] + np.ravel(b)[f]
    return to_columns(y)


def pool_loops(x, h, w, c, k, stride, pad):
    """Max pooling with zero padding; returns ``(y, dx_of)`` where ``dx_of(dy)`` routes to the first max."""
    xpad = zero_pad(to_volume(x, h, w, c), pad)
    n = x.shape[1]
    h_out, w_out = out_size(h, k, stride, pad), out_size(w, k, stride, pad)
    y = np.empty((h_out, w_out, c, n))
    where = {}
    for oh in range(h_out):
        for ow in range(w_out):
            for ic in range(c):
                for j in range(n):
                    window = xpad[oh * stride : oh * stride + k, ow * stride : ow * stride + k, ic, j]
                    y[oh, ow, ic, j] = window.max()
                    first = int(np.argmax(window.ravel(order="F")))  # Fortran order: dh fastest
                    where[oh, ow, ic, j] = (oh * stride + first % k, ow * stride + first // k)

    def dx_of(dy):
        dyv = to_volume(dy, h_out, w_out, c)
        dxpad = np.zeros(xpad.shape)
        for (oh, ow, ic, j), (ph, pw) in where.items():
            dxpad[ph, pw, ic, j] += dyv[oh, ow, ic, j]
        return to_columns(dxpad[pad : pad + h, pad : pad + w])

    return to_columns(y), dx_of


def ip_loops(x, wts, b):
    d, n = x.shape
    y = np.zeros((wts.shape[1], n))
    for f in range(wts.shape[1]):
        for j in range(n):
            y[f, j] = sum(wts[i, f] * x[i, j] for i in range(d)) + np.ravel(b)[f]
    return y


def mlr_direct(wb, X, y, K):
    """Summed NLL and accuracy, one column at a time, log-sum-exp by ``np.logaddexp.reduce``."""
    N, M = X.shape
    theta, bias = wb[: (K - 1) * N].reshape(K - 1, N), wb[(K - 1) * N :]
    nll, correct = 0.0, 0
    for j in range(M):
        scores = np.append(theta @ X[:, j] + bias, 0.0)  # the last class scores 0
        label = int(y[0, j])
        nll += np.logaddexp.reduce(scores) - scores[label]
        correct += int(np.argmax(scores) == label)
    return nll, correct / M


def numeric_grad(f, x, eps=1e-6):
    """Central differences of the scalar ``f()`` at every entry of ``x`` (perturbed in place)."""
    g = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        up = f()
        x[i] = old - eps
        down = f()
        x[i] = old
        g[i] = (up - down) / (2 * eps)
    return g


def directional(f, x, d, eps=1e-6):
    """Central difference of ``f()`` along direction ``d`` (x perturbed in place, restored)."""
    old = x.copy()
    x += eps * d
    up = f()
    x[...] = old - eps * d
    down = f()
    x[...] = old
    return (up - down) / (2 * eps)


def volume(x, h, w, c):
    return {"height": h, "width": w, "channel": c, "batch_size": x.shape[1], "data": x}


def away_from_ties(rng, shape, gap=0.05):
    """Distinct values at least ``gap`` apart and from 0: max and ReLU are smooth around them."""
    size = int(np.prod(shape))
    values = (rng.permutation(size) - size / 2 + 0.5) * gap
    return values.reshape(shape) + rng.uniform(-gap / 4, gap / 4, shape)


def test_layout_helpers_follow_the_contract():
    h, w, c = 3, 4, 2
    vol = np.arange(h * w * c, dtype=float).reshape(h, w, c)[..., None]
    data = to_columns(vol)
    assert data[1 + h * 2 + h * w * 1, 0] == vol[1, 2, 1, 0]
    np.testing.assert_array_equal(data[:, 0], vol[..., 0].ravel(order="F"))
    np.testing.assert_array_equal(to_volume(data, h, w, c), vol)


# ---- convolution ------------------------------------------------------------------------

# (h, w, c, n, k, stride, pad, num)
CONV_EDGE = {
    "batch1": (5, 5, 2, 1, 3, 1, 0, 2),
    "k1": (4, 3, 3, 2, 1, 1, 0, 2),
    "pad_eq_k-1": (4, 4, 1, 2, 3, 1, 2, 2),
    "pad_gt_k-1": (3, 3, 2, 1, 2, 1, 2, 1),
    "stride_gt_k": (7, 7, 1, 2, 2, 3, 0, 2),
    "h_ne_w": (5, 7, 2, 2, 3, 2, 1, 3),
    "one_channel": (6, 6, 1, 2, 3, 1, 0, 3),
    "many_channels": (4, 4, 4, 2, 2, 1, 0, 2),
}
CONV_LENET = {"lenet_conv1": (28, 28, 1, 2, 5, 1, 0, 20), "lenet_conv2": (12, 12, 20, 2, 5, 1, 0, 50)}


def conv_case(case, seed=0):
    h, w, c, n, k, stride, pad, num = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((h * w * c, n))
    param = {"w": rng.standard_normal((k * k * c, num)), "b": rng.standard_normal((1, num))}
    layer = {"type": "CONV", "k": k, "stride": stride, "pad": pad, "num": num, "group": 1}
    return volume(x, h, w, c), layer, param


@pytest.mark.parametrize(
    "case", list({**CONV_EDGE, **CONV_LENET}.values()), ids=list({**CONV_EDGE, **CONV_LENET})
)
def test_conv_forward_matches_loops_and_scipy(case):
    h, w, c, n, k, stride, pad, num = case
    inp, layer, param = conv_case(case)
    x_before = inp["data"].copy()
    out = REF["conv_layer_forward"](inp, layer, param)
    args = (inp["data"], h, w, c, param["w"], param["b"], k, stride, pad)
    assert (out["height"], out["width"], out["channel"], out["batch_size"]) == (
        out_size(h, k, stride, pad),
        out_size(w, k, stride, pad),
        num,
        n,
    )
    np.testing.assert_allclose(out["data"], conv_loops(*args), rtol=RTOL, atol=RTOL)
    np.testing.assert_allclose(out["data"], conv_scipy(*args), rtol=RTOL, atol=RTOL)
    np.testing.assert_array_equal(inp["data"], x_before)


def test_conv_forward_accepts_a_flat_bias():
    inp, layer, param = conv_case(CONV_EDGE["h_ne_w"])
    flat = {"w": param["w"], "b": param["b"].ravel()}
    np.testing.assert_array_equal(
        REF["conv_layer_forward"](inp, layer, flat)["data"],
        REF["conv_layer_forward"](inp, layer, param)["data"],
    )


@pytest.mark.parametrize("case", list(CONV_EDGE.values()), ids=list(CONV_EDGE))
def test_conv_backward_matches_finite_differences(case):
    inp, layer, param = conv_case(case, seed=1)
    out = REF["conv_layer_forward"](inp, layer, param)
    v = np.random.default_rng(2).standard_normal(out["data"].shape)
    out["diff"] = v
    grad, dx = REF["conv_layer_backward"](out, inp, layer, param)

    def loss():
        return np.sum(REF["conv_layer_forward"](inp, layer, param)["data"] * v)

    assert dx.shape == inp["data"].shape and grad["w"].shape == param["w"].shape
    assert np.size(grad["b"]) == layer["num"]
    np.testing.assert_allclose(dx, numeric_grad(loss, inp["data"]), rtol=FD_RTOL, atol=FD_ATOL)
    np.testing.assert_allclose(grad["w"], numeric_grad(loss, param["w"]), rtol=FD_RTOL, atol=FD_ATOL)
    np.testing.assert_allclose(
        np.reshape(grad["b"], (1, -1)), numeric_grad(loss, param["b"]), rtol=FD_RTOL, atol=FD_ATOL
    )


@pytest.mark.parametrize("case", list(CONV_LENET.values()), ids=list(CONV_LENET))
def test_conv_backward_lenet_shapes_along_random_directions(case):
    inp, layer, param = conv_case(case, seed=3)
    out = REF["conv_layer_forward"](inp, layer, param)
    rng = np.random.default_rng(4)
    v = rng.standard_normal(out["data"].shape)
    out["diff"] = v
    grad, dx = REF["conv_layer_backward"](out, inp, layer, param)

    def loss():
        return np.sum(REF["conv_layer_forward"](inp, layer, param)["data"] * v)

    for array, g in ((inp["data"], dx), (param["w"], grad["w"]), (param["b"], grad["b"])):
        d = rng.standard_normal(array.shape)
        expected = directional(loss, array, d)
        assert np.sum(np.reshape(g, d.shape) * d) == pytest.approx(expected, rel=1e-6)


# ---- pooling ----------------------------------------------------------------------------

# (h, w, c, n, k, stride, pad)
POOL_EDGE = {
    "batch1": (4, 4, 2, 1, 2, 2, 0),
    "k1": (3, 4, 2, 2, 1, 1, 0),
    "pad_eq_k-1": (4, 4, 1, 2, 3, 1, 2),
    "pad_gt_k-1": (3, 3, 2, 1, 2, 2, 2),
    "stride_gt_k": (7, 7, 1, 2, 2, 3, 0),
    "h_ne_w": (5, 7, 2, 2, 3, 2, 1),
    "overlapping": (5, 5, 1, 2, 3, 1, 0),
    "many_channels": (4, 4, 4, 2, 2, 2, 0),
}
POOL_LENET = {"lenet_pool1": (24, 24, 20, 2, 2, 2, 0)}


@pytest.mark.parametrize(
    "case", list({**POOL_EDGE, **POOL_LENET}.values()), ids=list({**POOL_EDGE, **POOL_LENET})
)
def test_pooling_forward_matches_loops(case):
    h, w, c, n, k, stride, pad = case
    x = np.random.default_rng(5).standard_normal((h * w * c, n))  # negatives meet zero padding
    layer = {"type": "POOLING", "k": k, "stride": stride, "pad": pad}
    out = REF["pooling_layer_forward"](volume(x, h, w, c), layer)
    assert (out["height"], out["width"], out["channel"], out["batch_size"]) == (
        out_size(h, k, stride, pad),
        out_size(w, k, stride, pad),
        c,
        n,
    )
    np.testing.assert_array_equal(out["data"], pool_loops(x, h, w, c, k, stride, pad)[0])


@pytest.mark.parametrize("case", list(POOL_EDGE.values()), ids=list(POOL_EDGE))
def test_pooling_backward_matches_finite_differences_and_loops(case):
    h, w, c, n, k, stride, pad = case
    rng = np.random.default_rng(6)
    x = away_from_ties(rng, (h * w * c, n))
    layer = {"type": "POOLING", "k": k, "stride": stride, "pad": pad}
    inp = volume(x, h, w, c)
    out = REF["pooling_layer_forward"](inp, layer)
    v = rng.standard_normal(out["data"].shape)
    out["diff"] = v
    dx = REF["pooling_layer_backward"](out, inp, layer)

    def loss():
        return np.sum(REF["pooling_layer_forward"](inp, layer)["data"] * v)

    np.testing.assert_allclose(dx, numeric_grad(loss, x), rtol=FD_RTOL, atol=FD_ATOL)
    np.testing.assert_allclose(dx, pool_loops(x, h, w, c, k, stride, pad)[1](v), rtol=RTOL, atol=ATOL)


def test_pooling_backward_lenet_shape_matches_loops():
    h, w, c, n, k, stride, pad = POOL_LENET["lenet_pool1"]
    rng = np.random.default_rng(7)
    x = rng.standard_normal((h * w * c, n))
    layer = {"type": "POOLING", "k": k, "stride": stride, "pad": pad}
    out = REF["pooling_layer_forward"](volume(x, h, w, c), layer)
    out["diff"] = rng.standard_normal(out["data"].shape)
    dx = REF["pooling_layer_backward"](out, volume(x, h, w, c), layer)
    np.testing.assert_array_equal(dx, pool_loops(x, h, w, c, k, stride, pad)[1](out["diff"]))


@pytest.mark.parametrize("k, stride, pad", [(2, 2, 0), (3, 1, 0), (3, 2, 1), (2, 1, 1)])
def test_pooling_ties_go_to_the_first_max_in_fortran_window_order(k, stride, pad):
    h, w, c, n = 5, 6, 2, 2
    rng = np.random.default_rng(8)
    x = rng.integers(-1, 2, (h * w * c, n)).astype(float)  # many ties, zeros tie with padding
    layer = {"type": "POOLING", "k": k, "stride": stride, "pad": pad}
    out = REF["pooling_layer_forward"](volume(x, h, w, c), layer)
    out["diff"] = rng.standard_normal(out["data"].shape)
    dx = REF["pooling_layer_backward"](out, volume(x, h, w, c), layer)
    np.testing.assert_allclose(
        dx, pool_loops(x, h, w, c, k, stride, pad)[1](out["diff"]), rtol=RTOL, atol=ATOL
    )


def test_pooling_tie_in_one_window_by_hand():
    # One 2x2 window holding 1 everywhere: Fortran order is (0,0), (1,0), (0,1), (1,1).
    x = np.ones((4, 1))
    layer = {"type": "POOLING", "k": 2, "stride": 2, "pad": 0}
    out = REF["pooling_layer_forward"](volume(x, 2, 2, 1), layer)
    out["diff"] = np.array([[3.0]])
    dx = REF["pooling_layer_backward"](out, volume(x, 2, 2, 1), layer)
    np.testing.assert_array_equal(dx.ravel(), [3, 0, 0, 0])
    x = np.array([[0.0], [2.0], [2.0], [1.0]])  # rows (0,0) (1,0) (0,1) (1,1): first max is (1,0)
    dx = REF["pooling_layer_backward"](out, volume(x, 2, 2, 1), layer)
    np.testing.assert_array_equal(dx.ravel(), [0, 3, 0, 0])


def test_pooling_pads_with_zeros_not_minus_infinity():
    x = -np.ones((9, 1))  # 3x3, padded to 5x5: both 3x3 windows along each axis reach the border
    layer = {"type": "POOLING", "k": 3, "stride": 2, "pad": 1}
    out = REF["pooling_layer_forward"](volume(x, 3, 3, 1), layer)
    np.testing.assert_array_equal(out["data"], np.zeros((4, 1)))  # every window touches padding


# ---- inner product and relu -------------------------------------------------------------

IP_CASES = {"batch1": (4, 3, 1), "one_output": (5, 1, 3), "one_input": (1, 4, 2), "lenet_ip": (800, 500, 2)}


@pytest.mark.parametrize("d, num, n", list(IP_CASES.values()), ids=list(IP_CASES))
def test_inner_product_forward_matches_loops(d, num, n):
    rng = np.random.default_rng(9)
    x, wts, b = rng.standard_normal((d, n)), rng.standard_normal((d, num)), rng.standard_normal((1, num))
    inp = {"height": d, "width": 1, "channel": 1, "batch_size": n, "data": x}
    for bias in (b, b.ravel()):
        out = REF["inner_product_forward"](inp, {"type": "IP", "num": num}, {"w": wts, "b": bias})
        assert (out["height"], out["width"], out["channel"], out["batch_size"]) == (num, 1, 1, n)
        np.testing.assert_allclose(out["data"], ip_loops(x, wts, b), rtol=RTOL, atol=1e-10)


@pytest.mark.parametrize("d, num, n", [(4, 3, 1), (5, 2, 3), (1, 1, 2)])
def test_inner_product_backward_matches_finite_differences(d, num, n):
    rng = np.random.default_rng(10)
    x, v = rng.standard_normal((d, n)), rng.standard_normal((num, n))
    param = {"w": rng.standard_normal((d, num)), "b": rng.standard_normal((1, num))}
    inp = {"height": d, "width": 1, "channel": 1, "batch_size": n, "data": x}
    layer = {"type": "IP", "num": num}
    out = REF["inner_product_forward"](inp, layer, param)
    out["diff"] = v
    grad, dx = REF["inner_product_backward"](out, inp, layer, param)

    def loss():
        return np.sum(REF["inner_product_forward"](inp, layer, param)["data"] * v)

    np.testing.assert_allclose(dx, numeric_grad(loss, x), rtol=FD_RTOL, atol=FD_ATOL)
    np.testing.assert_allclose(grad["w"], numeric_grad(loss, param["w"]), rtol=FD_RTOL, atol=FD_ATOL)
    np.testing.assert_allclose(
        np.reshape(grad["b"], (1, -1)), numeric_grad(loss, param["b"]), rtol=FD_RTOL, atol=FD_ATOL
    )


@pytest.mark.parametrize("h, w, c, n", [(3, 4, 2, 2), (1, 1, 1, 1), (5, 1, 3, 2)])
def test_relu_forward_and_backward(h, w, c, n):
    rng = np.random.default_rng(11)
    x = away_from_ties(rng, (h * w * c, n))
    before = x.copy()
    inp = volume(x, h, w, c)
    out = REF["relu_forward"](inp)
    expected = np.array([[xi if xi > 0 else 0.0 for xi in row] for row in x])
    np.testing.assert_array_equal(out["data"], expected)
    assert (out["height"], out["width"], out["channel"], out["batch_size"]) == (h, w, c, n)
    np.testing.assert_array_equal(x, before)  # a new array, the input untouched
    v = rng.standard_normal(x.shape)
    out["diff"] = v
    dx = REF["relu_backward"](out, inp, {"type": "RELU"})
    np.testing.assert_allclose(
        dx, numeric_grad(lambda: np.sum(REF["relu_forward"](inp)["data"] * v), x), rtol=FD_RTOL, atol=FD_ATOL
    )


# ---- mlrloss ----------------------------------------------------------------------------


def mlr_case(N, M, K, scale=1.0, seed=12):
    rng = np.random.default_rng(seed)
    wb = rng.standard_normal((K - 1) * (N + 1)) * scale
    X = rng.standard_normal((N, M))
    y = rng.integers(0, K, (1, M)).astype(float)
    return wb, X, y


@pytest.mark.parametrize("N, M, K", [(4, 5, 3), (3, 1, 2), (6, 7, 10)])
def test_mlrloss_matches_direct_formula_and_finite_differences(N, M, K):
    wb, X, y = mlr_case(N, M, K)
    nll, g, od, percent = REF["mlrloss"](wb, X, y, K, 0, 1)
    nll_direct, acc = mlr_direct(wb, X, y, K)
    assert float(nll) == pytest.approx(nll_direct, rel=1e-12)
    assert percent == pytest.approx(acc)
    assert np.shape(g) == ((K - 1) * (N + 1),) and od.shape == (N, M)
    np.testing.assert_allclose(
        g, numeric_grad(lambda: mlr_direct(wb, X, y, K)[0], wb), rtol=FD_RTOL, atol=FD_ATOL
    )
    np.testing.assert_allclose(
        od, numeric_grad(lambda: mlr_direct(wb, X, y, K)[0], X), rtol=FD_RTOL, atol=FD_ATOL
    )


def test_mlrloss_percent_only_when_asked():
    wb, X, y = mlr_case(4, 20, 5)
    assert REF["mlrloss"](wb, X, y, 5, 0, 0)[3] == 0
    acc = mlr_direct(wb, X, y, 5)[1]
    assert 0 < acc < 1  # the case can tell a right accuracy from 0 or 1
    assert REF["mlrloss"](wb, X, y, 5, 0, 1)[3] == pytest.approx(acc)


def test_mlrloss_large_logits_stay_finite():
    wb, X, y = mlr_case(4, 6, 4, scale=300.0)  # logits of order 1e3
    scores = wb[:12].reshape(3, 4) @ X + wb[12:, None]
    assert np.abs(scores).max() > 700  # exp would overflow without the max shift
    nll, g, od, _ = REF["mlrloss"](wb, X, y, 4, 0, 1)
    assert all(np.all(np.isfinite(a)) for a in (nll, g, od))
    assert float(nll) == pytest.approx(mlr_direct(wb, X, y, 4)[0], rel=1e-12)
    wb_big = np.concatenate([np.zeros(12), [1e3, -1e3, 0.0]])  # pure bias logits [1e3, -1e3, 0, 0]
    nll, g, od, _ = REF["mlrloss"](wb_big, X, np.full((1, 6), 1.0), 4, 0, 1)
    assert float(nll) == pytest.approx(6 * 2e3, rel=1e-12)
    assert np.all(np.isfinite(g)) and np.all(np.isfinite(od))


# ---- utils ------------------------------------------------------------------------------


def im2col_loops(x, h, w, c, k, stride, pad):
    """The historical per-pixel im2col: column ``oh + h_out*ow`` is the Fortran-flattened patch."""
    xpad = zero_pad(to_volume(x[:, None], h, w, c), pad)[..., 0]
    h_out, w_out = out_size(h, k, stride, pad), out_size(w, k, stride, pad)
    col = np.zeros((k * k * c, h_out * w_out))
    for oh in range(h_out):
        for ow in range(w_out):
            col[:, oh + h_out * ow] = xpad[
                oh * stride : oh * stride + k, ow * stride : ow * stride + k
            ].ravel(order="F")
    return col


IM2COL_CASES = {
    "square": (5, 5, 2, 3, 1, 0),
    "h_ne_w_pad_stride": (5, 7, 3, 3, 2, 1),
    "k1": (3, 2, 2, 1, 1, 0),
    "pad_gt_k-1": (3, 3, 1, 2, 1, 2),
}


@pytest.mark.parametrize("h, w, c, k, stride, pad", list(IM2COL_CASES.values()), ids=list(IM2COL_CASES))
def test_im2col_conv_matches_per_pixel_definition_and_col2im_is_its_adjoint(h, w, c, k, stride, pad):
    rng = np.random.default_rng(13)
    h_out, w_out = out_size(h, k, stride, pad), out_size(w, k, stride, pad)
    layer = {"k": k, "stride": stride, "pad": pad}
    x = rng.standard_normal(h * w * c)
    col = REF["im2col_conv"]({"height": h, "width": w, "channel": c, "data": x}, layer, h_out, w_out)
    np.testing.assert_array_equal(col, im2col_loops(x, h, w, c, k, stride, pad))
    y = rng.standard_normal(col.shape)
    back = REF["col2im_conv"](y, {"height": h, "width": w, "channel": c}, layer, h_out, w_out)
    assert np.size(back) == h * w * c
    assert np.sum(col * y) == pytest.approx(np.sum(x * np.ravel(back)), rel=1e-12)


def test_im2col_conv_batch_stacks_per_image_columns():
    h, w, c, n, k, stride, pad = 5, 6, 2, 3, 3, 1, 1
    x = np.random.default_rng(14).standard_normal((h * w * c, n))
    h_out, w_out = out_size(h, k, stride, pad), out_size(w, k, stride, pad)
    layer = {"k": k, "stride": stride, "pad": pad}
    cols = REF["im2col_conv_batch"](volume(x, h, w, c), layer, h_out, w_out)
    assert cols.shape == (k * k * c, h_out * w_out, n)
    for j in range(n):
        np.testing.assert_array_equal(cols[:, :, j], im2col_loops(x[:, j], h, w, c, k, stride, pad))


def test_get_lr_is_the_inv_policy():
    assert REF["get_lr"](0, 0.01, 1e-4, 0.75) == pytest.approx(0.01, rel=1e-15)
    assert REF["get_lr"](10000, 0.01, 1e-4, 0.75) == pytest.approx(0.01 / 2**0.75, rel=1e-14)
    assert REF["get_lr"](30000, 0.5, 1e-4, 0.5) == pytest.approx(0.25, rel=1e-14)


def test_sgd_momentum_formula():
    rng = np.random.default_rng(15)
    w, b, gw, gb, iw, ib = (rng.standard_normal(s) for s in [(3, 2), (1, 2)] * 3)
    empty = {"w": np.zeros((0,)), "b": np.zeros((0,))}
    params, winc, grads = [{"w": w, "b": b}, empty], [{"w": iw, "b": ib}, empty], [{"w": gw, "b": gb}, empty]
    saved = [a.copy() for a in (w, b, iw, ib)]
    new_params, new_winc = REF["sgd_momentum"](0.1, 0.2, 0.9, 0.5, params, winc, grads)
    w_inc, b_inc = 0.9 * iw + 0.1 * (gw + 0.5 * w), 0.9 * ib + 0.2 * gb  # no decay on b
    np.testing.assert_allclose(new_winc[0]["w"], w_inc, rtol=1e-14)
    np.testing.assert_allclose(new_winc[0]["b"], b_inc, rtol=1e-14)
    np.testing.assert_allclose(new_params[0]["w"], w - w_inc, rtol=1e-14)
    np.testing.assert_allclose(new_params[0]["b"], b - b_inc, rtol=1e-14)
    assert new_params[1]["w"].size == 0 and new_params[1]["b"].size == 0
    assert len(new_params) == len(new_winc) == 2
    for a, s in zip((w, b, iw, ib), saved):
        np.testing.assert_array_equal(a, s)


def test_get_lenet_is_the_contract_network():
    layers = REF["get_lenet"](100)
    assert [layer["type"] for layer in layers] == [
        "DATA",
        "CONV",
        "RELU",
        "POOLING",
        "CONV",
        "RELU",
        "POOLING",
        "IP",
        "RELU",
        "LOSS",
    ]
    assert (layers[0]["height"], layers[0]["width"], layers[0]["channel"], layers[0]["batch_size"]) == (
        28,
        28,
        1,
        100,
    )
    for i, num in ((1, 20), (4, 50)):
        assert {key: layers[i][key] for key in ("num", "k", "stride", "pad")} == {
            "num": num,
            "k": 5,
            "stride": 1,
            "pad": 0,
        }
    for i in (3, 6):
        assert (layers[i]["k"], layers[i]["stride"], layers[i].get("pad", 0)) == (2, 2, 0)
    assert layers[7]["num"] == 500 and layers[9]["num"] == 10


def test_init_convnet_lenet_shapes_and_bounds():
    layers = REF["get_lenet"](64)
    params = REF["init_convnet"](layers, seed=0)
    # (w shape, b shape, fan_in = h*w*c of the layer's input) written from the contract
    expected = [
        ((25, 20), (1, 20), 28 * 28),
        None,
        None,
        ((500, 50), (1, 50), 12 * 12 * 20),
        None,
        None,
        ((800, 500), (1, 500), 800),
        None,
        ((9, 500), (9, 1), 500),
    ]
    assert len(params) == len(expected)
    for p, exp in zip(params, expected):
        if exp is None:
            assert np.size(p["w"]) == 0 and np.size(p["b"]) == 0
            continue
        w_shape, b_shape, fan_in = exp
        bound = np.sqrt(3 / fan_in)
        assert p["w"].shape == w_shape and p["b"].shape == b_shape
        assert p["w"].dtype == np.float64
        assert np.abs(p["w"]).max() <= bound and np.abs(p["w"]).max() > 0.9 * bound
        assert abs(p["w"].mean()) < 0.1 * bound
        np.testing.assert_array_equal(p["b"], 0)
    again = REF["init_convnet"](layers, seed=0)
    np.testing.assert_array_equal(again[6]["w"], params[6]["w"])


TINY_NET = [
    {"type": "DATA", "height": 6, "width": 6, "channel": 1, "batch_size": 4},
    {"type": "CONV", "num": 2, "k": 3, "stride": 1, "pad": 0, "group": 1},
    {"type": "RELU"},
    {"type": "POOLING", "k": 2, "stride": 2, "pad": 0},
    {"type": "IP", "num": 3, "init_type": "uniform"},
    {"type": "RELU"},
    {"type": "LOSS", "num": 3},
]


def tiny_net_case():
    rng = np.random.default_rng(16)
    params = REF["init_convnet"](TINY_NET, seed=1)
    for p in params:
        if np.size(p["w"]):
            p["w"] *= 3  # livelier than the init, so that every ReLU sees both signs
            p["b"] += rng.uniform(0.1, 0.3, p["b"].shape)
    x = rng.standard_normal((36, 4))
    y = np.array([[0.0, 1.0, 2.0, 1.0]])
    return params, x, y


def tiny_net_cost_by_loops(params, x, y):
    """The tiny network's mean loss, every layer from the loop implementations above."""
    a = conv_loops(x, 6, 6, 1, params[0]["w"], params[0]["b"], 3, 1, 0)
    a, _ = pool_loops(np.maximum(a, 0), 4, 4, 2, 2, 2, 0)
    a = np.maximum(ip_loops(a, params[3]["w"], params[3]["b"]), 0)
    wb = np.concatenate([params[5]["w"].ravel(), params[5]["b"].ravel()])
    nll, acc = mlr_direct(wb, a, y, 3)
    return nll / x.shape[1], acc


def test_conv_net_cost_matches_loops():
    params, x, y = tiny_net_case()
    cp, _ = REF["conv_net"](params, TINY_NET, x, y)
    cost, acc = tiny_net_cost_by_loops(params, x, y)
    assert cp["cost"] == pytest.approx(cost, rel=1e-10)
    assert cp["percent"] == pytest.approx(acc)


def test_conv_net_gradients_match_finite_differences():
    params, x, y = tiny_net_case()
    _, grads = REF["conv_net"](params, TINY_NET, x, y)
    assert len(grads) == len(params)

    def cost():
        return REF["conv_net"](params, TINY_NET, x, y)[0]["cost"]

    for i in (0, 3, 5):  # CONV, IP, LOSS
        for key in ("w", "b"):
            expected = numeric_grad(cost, params[i][key])
            assert np.abs(expected).max() > 1e-3  # the check is not vacuous
            np.testing.assert_allclose(
                np.reshape(grads[i][key], expected.shape),
                expected,
                rtol=FD_RTOL,
                atol=FD_ATOL,
                err_msg=f"layer {i} {key}",
            )
