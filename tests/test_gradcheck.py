"""Random-projection gradient checks: correct gradients pass, float32 forwards pass, mistakes fail.

Forwards and gradients come from the trusted reference (``harness.cases.reference.run``); a
"float32-internal" submission is the reference run on float32 copies of the inputs, which
computes every product and sum in float32 and returns float64 -- correct code that the
check must accept.
"""

from __future__ import annotations

import numpy as np
import pytest

from harness.cases import reference
from harness.cases.catalogue import Case, kink_margin
from harness.checks import gradcheck as gc
from harness.checks.gradcheck import gradcheck
from harness.core.ops import output_hw

MAX_PASS_CALLS = 1 + 8 * 3  # L(x), then per direction 4 calls, 4 more if the step adapts


# ---- cases -------------------------------------------------------------------------------


def _rng(seed):
    return np.random.default_rng(seed)


def conv_case(seed=0, h=12, w=12, c=4, k=5, num=6, n=3, stride=1, pad=0):
    rng = _rng(seed)
    params = dict(h=h, w=w, c=c, k=k, stride=stride, pad=pad, num=num)
    h_out, w_out = output_hw(params)
    arrays = dict(
        x=np.maximum(rng.standard_normal((h * w * c, n)), 0),
        w=rng.uniform(-1, 1, (k * k * c, num)) * np.sqrt(3 / (k * k * c)),
        b=0.1 * rng.standard_normal((1, num)),
    )
    return "conv", params, arrays, rng.standard_normal((h_out * w_out * num, n))


def ip_case(seed=0, d=20, num=20, n=5):
    rng = _rng(seed)
    arrays = dict(
        x=rng.standard_normal((d, n)),
        w=rng.uniform(-1, 1, (d, num)) * np.sqrt(3 / d),
        b=0.1 * rng.standard_normal((1, num)),
    )
    return "inner_product", {}, arrays, rng.standard_normal((num, n))


def relu_case(seed=0, h=6, w=5, c=2, n=4, margin=0.05):
    rng = _rng(seed)
    x = rng.standard_normal((h * w * c, n))
    x = np.sign(x) * (np.abs(x) + margin)  # every input at least `margin` from the kink
    return "relu", dict(h=h, w=w, c=c), dict(x=x), rng.standard_normal(x.shape)


def pooling_case(seed=0, h=8, w=8, c=3, n=3, k=2, stride=2, pad=0, spacing=0.05):
    """Each channel of each image holds distinct levels `spacing` apart: no window has a near-tie."""
    rng = _rng(seed)
    params = dict(h=h, w=w, c=c, k=k, stride=stride, pad=pad)
    levels = (np.arange(h * w) + 1) * spacing  # positive: zero padding never wins
    x = np.stack([np.concatenate([rng.permutation(levels) for _ in range(c)]) for _ in range(n)], axis=1)
    h_out, w_out = output_hw(params)
    return "pooling", params, dict(x=x), rng.standard_normal((h_out * w_out * c, n))


def mlr_case(seed=0, N=15, M=8, K=4, logit_scale=3.0):
    rng = _rng(seed)
    X = np.maximum(rng.standard_normal((N, M)), 0)
    theta = rng.standard_normal((K - 1, N)) * logit_scale / np.sqrt(N)
    arrays = dict(
        wb=np.concatenate([theta.ravel(), rng.standard_normal(K - 1)]),
        X=X,
        y=rng.integers(0, K, (1, M)).astype(float),
    )
    return "mlrloss", dict(K=K, prediction=0), arrays, None


def forward_of(layer, params, dtype=np.float64):
    """The reference forward as a submission's: canonical arrays in, float64 output out."""
    op, out = ("mlrloss", "nll") if layer == "mlrloss" else (f"{layer}.forward", "y")

    def forward(arrays):
        return reference.run(op, params, {k: v.astype(dtype) for k, v in arrays.items()})[out]

    return forward


def gradients(layer, params, arrays, dy, dtype=np.float64):
    """The reference gradients by input name: x, w, b (layers) or wb, X (mlrloss)."""
    cast = {k: v.astype(dtype) for k, v in arrays.items()}
    if layer == "mlrloss":
        out = reference.run("mlrloss", params, cast)
        return {"wb": out["wb"], "X": out["input"]}
    out = reference.run(f"{layer}.backward", params, {**cast, "dy": dy.astype(dtype)})
    return {"x": out["input"], **{k: out[k] for k in ("w", "b") if k in out}}


def margin(layer, params, arrays):
    """The kink margin the grader passes (``harness.cases.catalogue.kink_margin``)."""
    op = "mlrloss" if layer == "mlrloss" else f"{layer}.forward"
    return kink_margin(Case(op, "test", params, arrays))


def check(case, wrt, grad=None, *, dtype=np.float64, seed=1, forward=None, **kw):
    layer, params, arrays, dy = case
    if grad is None:
        grad = gradients(layer, params, arrays, dy, dtype)[wrt]
    return gradcheck(
        forward or forward_of(layer, params, dtype),
        arrays,
        wrt,
        grad,
        dy=dy,
        rng=_rng(seed),
        kink_margin=margin(layer, params, arrays),
        **kw,
    )


CASES = {
    "conv": conv_case(),
    "conv-stride2-pad1-nonsquare": conv_case(1, h=9, w=7, c=3, k=3, num=4, n=2, stride=2, pad=1),
    "conv2-lenet": conv_case(2, h=12, w=12, c=20, k=5, num=50, n=10),
    "inner_product": ip_case(),
    "relu": relu_case(),
    "pooling": pooling_case(),
    "pooling-overlap-pad": pooling_case(1, h=7, w=9, k=3, stride=2, pad=1),
    "mlrloss": mlr_case(),
    "mlrloss-large-logits": mlr_case(1, N=50, M=20, K=10, logit_scale=15.0),
}
WRT = {
    "conv": ("x", "w", "b"),
    "inner_product": ("x", "w", "b"),
    "relu": ("x",),
    "pooling": ("x",),
    "mlrloss": ("wb", "X"),
}
PAIRS = [(name, wrt) for name, case in CASES.items() for wrt in WRT[case[0]]]


# ---- correct code passes -------------------------------------------------------------------


@pytest.mark.parametrize("name,wrt", PAIRS)
def test_correct_gradient_passes(name, wrt):
    result = check(CASES[name], wrt)
    assert result.ok, (result.message, result.facts, result.numbers)
    assert result.numbers["forward_calls"] <= MAX_PASS_CALLS
    assert max(result.numbers["rel_errors"]) < 1e-4


@pytest.mark.parametrize("name,wrt", PAIRS)
def test_float32_internal_forward_and_backward_pass(name, wrt):
    result = check(CASES[name], wrt, dtype=np.float32)
    assert result.ok, (result.message, result.facts, result.numbers)


@pytest.mark.parametrize("name,wrt", PAIRS)
@pytest.mark.parametrize("seed", range(3, 8))
def test_float32_internal_passes_for_other_directions(name, wrt, seed):
    assert check(CASES[name], wrt, dtype=np.float32, seed=seed).ok


# ---- mistakes fail ---------------------------------------------------------------------------


def _batch(case):
    layer, _, arrays, _ = case
    return arrays["X" if layer == "mlrloss" else "x"].shape[1]


SCALINGS = {"divided by 2": 0.5, "times 2": 2.0, "sign flipped": -1.0}


@pytest.mark.parametrize("name,wrt", PAIRS)
@pytest.mark.parametrize("mistake", [*SCALINGS, "divided by the batch size", "zero"])
def test_scaled_gradient_fails(name, wrt, mistake):
    case = CASES[name]
    right = gradients(case[0], case[1], case[2], case[3])[wrt]
    factor = 1 / _batch(case) if mistake == "divided by the batch size" else SCALINGS.get(mistake, 0.0)
    result = check(case, wrt, right * factor, dtype=np.float32)
    assert not result.ok
    assert result.message.startswith("gradient disagrees with finite differences of your forward")
    if factor:
        assert result.numbers["ratio"] == pytest.approx(factor, rel=1e-2)
        ratio = result.numbers["ratio"]
        assert f"in every direction your gradient is {ratio:.4g} times the finite difference" in result.facts


def _missing_term(name, wrt):
    """A gradient that leaves out part of the sum, one per case."""
    layer, params, arrays, dy = CASES[name]
    if layer in ("conv", "inner_product") and wrt in ("w", "b"):
        first_image_only = dy.copy()
        first_image_only[:, 1:] = 0
        return gradients(layer, params, arrays, first_image_only)[wrt]
    if layer == "conv":  # input gradient without kernel offset (0, 0)
        w = arrays["w"].copy()
        k, c = params["k"], params["c"]
        w[[k * k * ic for ic in range(c)]] = 0
        return gradients(layer, params, {**arrays, "w": w}, dy)["x"]
    if layer == "inner_product":  # x gradient with w transposed (w is square here)
        return arrays["w"].T @ dy
    if layer == "relu":  # the mask forgotten
        return dy
    if layer == "pooling":  # overlapping windows overwrite instead of adding up
        return _pooling_backward_overwriting(params, arrays["x"], dy)
    P_minus_I = gradients(layer, params, arrays, dy)
    if wrt == "wb":  # bias part forgotten
        g = P_minus_I["wb"].copy()
        g[-(params["K"] - 1) :] = 0
        return g
    # X gradient from P instead of P - I: adds theta.T @ onehot(y)[:K-1]
    K, N = params["K"], arrays["X"].shape[0]
    theta = arrays["wb"][: N * (K - 1)].reshape(K - 1, N)
    onehot = np.eye(K)[arrays["y"].astype(int).ravel()].T[: K - 1]
    return P_minus_I["X"] + theta.T @ onehot


def _pooling_backward_overwriting(params, x, dy):
    h, w, c, k, s, pad = (params[key] for key in ("h", "w", "c", "k", "stride", "pad"))
    h_out, w_out = output_hw(params)
    n = x.shape[1]
    vol = np.pad(x.reshape(c, w, h, n), ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    dvol = np.zeros_like(vol)
    dyv = dy.reshape(c, w_out, h_out, n)
    for ic in range(c):
        for ow in range(w_out):
            for oh in range(h_out):
                for j in range(n):
                    win = vol[ic, ow * s : ow * s + k, oh * s : oh * s + k, j]
                    iw, ih = np.unravel_index(np.argmax(win), win.shape)
                    dvol[ic, ow * s + iw, oh * s + ih, j] = dyv[ic, ow, oh, j]  # '=' not '+='
    return dvol[:, pad : pad + w, pad : pad + h].reshape(h * w * c, n)


MISSING = [(name, wrt) for name, wrt in PAIRS if name != "pooling"]  # no overlap: nothing to miss


@pytest.mark.parametrize("name,wrt", MISSING)
def test_gradient_missing_a_term_fails(name, wrt):
    wrong = _missing_term(name, wrt)
    right = gradients(*CASES[name])[wrt]
    assert not np.allclose(wrong, right)
    assert not check(CASES[name], wrt, wrong, dtype=np.float32).ok


def test_missing_term_of_the_overlap_case_is_right_without_overlap():
    """The overwriting pooling backward is correct when windows do not overlap (sanity of the test)."""
    _, params, arrays, dy = CASES["pooling"]
    assert np.allclose(
        _pooling_backward_overwriting(params, arrays["x"], dy), gradients("pooling", params, arrays, dy)["x"]
    )


def test_transposed_square_gradient_fails():
    case = CASES["inner_product"]
    right = gradients(*case)["w"]
    result = check(case, "w", right.T, dtype=np.float32)
    assert not result.ok and result.numbers["ratio"] is None


def test_spatially_transposed_input_gradient_fails():
    """h and w swapped in a square map: same shape, wrong elements."""
    layer, params, arrays, dy = case = CASES["conv"]
    h, w, c = params["h"], params["w"], params["c"]
    right = gradients(*case)["x"]
    swapped = right.reshape(c, w, h, -1).transpose(0, 2, 1, 3).reshape(right.shape)
    assert not check(case, "x", swapped, dtype=np.float32).ok


# ---- cost -----------------------------------------------------------------------------------


def test_forward_calls_do_not_grow_with_the_tensor():
    small, large = (
        conv_case(3, h=6, w=6, c=2, k=3, num=2, n=1),
        conv_case(4, h=24, w=24, c=8, k=5, num=16, n=8),
    )
    for case in (small, large):
        right = gradients(*case)["x"]
        passing, failing = check(case, "x", dtype=np.float32), check(case, "x", 2 * right, entries=4)
        assert passing.ok and passing.numbers["forward_calls"] <= MAX_PASS_CALLS
        assert not failing.ok and failing.numbers["forward_calls"] <= MAX_PASS_CALLS + 2 * 4


def test_calls_are_counted_by_the_forward_itself():
    layer, params, arrays, dy = case = CASES["relu"]
    calls = []
    inner = forward_of(layer, params)

    def counting(a):
        calls.append(1)
        return inner(a)

    result = check(case, "x", forward=counting)
    assert result.ok and result.numbers["forward_calls"] == len(calls)


# ---- messages ---------------------------------------------------------------------------


def test_failure_facts_name_entries_by_their_coordinates():
    case = CASES["conv"]
    right = gradients(*case)
    x_result = check(case, "x", 2 * right["x"], volume=(12, 12, 4))
    w_result = check(case, "w", -right["w"], volume=(5, 5, 4), volume_kind="kernel")
    entry = [f for f in x_result.facts if f.startswith("at (h=")]
    assert len(entry) == 4 and all(", n=" in f and "finite difference" in f for f in entry)
    assert any(f.startswith("at kernel (dh=") and "-> filter" in f for f in w_result.facts)
    assert x_result.facts[0].startswith("direction 1: your gradient gives")
    assert x_result.facts[-1].startswith("tolerance:")
    for e in x_result.numbers["entries"]:
        assert e["numeric"] == pytest.approx(e["analytic"] / 2, rel=1e-6)


def test_mlrloss_entries_name_theta_and_bias():
    case = CASES["mlrloss"]
    g = gradients(*case)["wb"]
    result = check(case, "wb", g * 3, volume=(3, 15), volume_kind="wb", entries=20)
    texts = " ".join(result.facts)
    assert "theta[" in texts and "bias[" in texts


def test_passing_message():
    result = check(CASES["conv"], "w", what="dL/dw")
    assert result.message.startswith(
        "dL/dw agrees with finite differences of your forward in 3 random directions"
    )
    assert result.facts == ()


def test_wrong_shape_fails_with_shape_facts():
    case = CASES["inner_product"]
    right = gradients(*case)["x"]
    result = check(case, "x", right.T.copy()[:, :-1])
    assert not result.ok and "shape" in result.message
    assert result.numbers["forward_calls"] == 0


def test_bias_gradient_may_be_one_dimensional():
    case = CASES["conv"]
    assert check(case, "b", gradients(*case)["b"].ravel()).ok


def test_nan_in_the_gradient_is_named():
    case = CASES["relu"]
    g = gradients(*case)["x"].copy()
    g[7, 1] = np.nan
    result = check(case, "x", g, volume=(6, 5, 2))
    assert not result.ok and "NaN" in result.message
    assert "(h=1, w=1, c=0, n=1)" in result.facts[0]


def test_forward_of_the_wrong_shape_cannot_be_checked():
    layer, params, arrays, dy = case = CASES["relu"]
    result = check(case, "x", forward=lambda a: np.zeros((3, 3)))
    assert not result.ok and "cannot be checked" in result.message and "(3, 3)" in result.message


def test_forward_exceptions_propagate():
    def broken(arrays):
        raise ZeroDivisionError("student bug")

    with pytest.raises(ZeroDivisionError):
        check(CASES["relu"], "x", forward=broken)


def test_noisy_forward_is_not_passed():
    layer, params, arrays, dy = case = CASES["inner_product"]
    noise = _rng(9)
    inner = forward_of(layer, params)
    result = check(case, "x", forward=lambda a: inner(a) * (1 + 1e-2 * noise.standard_normal()))
    assert not result.ok


@pytest.mark.parametrize("kink_margin", [0.0, 1e-5])
def test_too_small_kink_margin_is_a_grader_error(kink_margin):
    layer, params, arrays, dy = CASES["relu"]
    with pytest.raises(ValueError, match="kink_margin"):
        gradcheck(forward_of(layer, params), arrays, "x", dy, dy=dy, rng=_rng(0), kink_margin=kink_margin)


def test_steps_respect_the_kink_margin():
    layer, params, arrays, dy = case = CASES["relu"]
    result = check(case, "x")
    # largest move 2 h max|u| <= KINK_SAFETY * margin / 2, and max|u| <= |u| = 1
    assert max(result.numbers["eps"]) <= gc.KINK_SAFETY * margin(layer, params, arrays) / 4 * np.sqrt(
        arrays["x"].size
    )


@pytest.mark.parametrize("name", ["relu", "pooling", "pooling-overlap-pad"])
def test_piecewise_linear_cases_stay_off_their_kinks(name):
    layer, params, arrays, _ = CASES[name]
    assert margin(layer, params, arrays) > 0


def test_failure_facts_list_only_where_gradient_and_finite_difference_disagree():
    case = CASES["conv"]
    right = gradients(*case)["x"]
    wrong = right.copy()
    wrong.flat[0] = 50 * float(np.abs(right).max())  # one entry wrong, the rest right
    result = check(case, "x", wrong, volume=(12, 12, 4), entries=6)
    listed = [f for f in result.facts if f.startswith("at (h=")]
    assert len(listed) == 1 and "h=0, w=0, c=0, n=0" in listed[0]
    assert "5 of 6 entries checked one by one agree with the finite difference (not listed)" in result.facts
    assert len(result.numbers["entries"]) == 6  # every entry checked stays in the numbers
    directions = [f for f in result.facts if f.startswith("direction ")]
    assert directions and all("differ by" in f for f in directions)
