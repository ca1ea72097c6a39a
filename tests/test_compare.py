"""Tolerant comparison: float32-internal correct code passes, every plausible mistake fails,
and messages name elements by the assignment's coordinates without leaking hidden values.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from harness.cases import reference
from harness.core import paths
from harness.core.compare import ATOL_SCALE, RTOL, compare, coordinates, fmt, sci
from harness.core.ops import output_hw

# LeNet's conv2 (contract, section 5): 12x12x20 -> 8x8x50 with 5x5 kernels; batch 100.
CONV2 = dict(h=12, w=12, c=20, k=5, stride=1, pad=0, num=50)
CONV1 = dict(h=28, w=28, c=1, k=5, stride=1, pad=0, num=20)
BATCH = 100


def conv_arrays(params, n=BATCH, seed=0):
    rng = np.random.default_rng(seed)
    h, w, c, k, num = (params[key] for key in ("h", "w", "c", "k", "num"))
    fan_in = h * w * c
    h_out, w_out = output_hw(params)
    return dict(
        x=np.maximum(rng.standard_normal((h * w * c, n)), 0),
        w=rng.uniform(-1, 1, (k * k * c, num)) * np.sqrt(3 / fan_in),
        b=0.1 * rng.standard_normal((1, num)),
        dy=rng.standard_normal((h_out * w_out * num, n)),
    )


def run(op, params, arrays, dtype=np.float64):
    return reference.run(op, params, {k: v.astype(dtype) for k, v in arrays.items()})


def fwd(arrays):
    return {k: arrays[k] for k in ("x", "w", "b")}


def volume(params):
    return (params["h"], params["w"], params["c"])


def out_volume(params):
    return (*output_hw(params), params["num"])


@pytest.fixture(scope="module")
def conv2():
    arrays = conv_arrays(CONV2)
    return arrays, run("conv.forward", CONV2, fwd(arrays))["y"], run("conv.backward", CONV2, arrays)


# ---- correct code computing in float32 passes ------------------------------------------


@pytest.mark.parametrize("params", [CONV2, CONV1], ids=["conv2", "conv1"])
def test_float32_internal_conv_passes_at_lenet_shapes(params):
    arrays = conv_arrays(params)
    for op, outputs in (("conv.forward", ("y",)), ("conv.backward", ("input", "w", "b"))):
        given = fwd(arrays) if op == "conv.forward" else arrays
        exact, single = run(op, params, given), run(op, params, given, np.float32)
        for name in outputs:
            result = compare(single[name], exact[name], what=name, dtype="float32", bias_like=name == "b")
            assert result.ok, (op, result.message, result.facts)
            # with room to spare: the worst element uses less than half its tolerance
            assert result.numbers["max_abs"] < 0.5 * (ATOL_SCALE * result.numbers["scale"])


def test_float32_internal_inner_product_relu_pooling_and_loss_pass():
    rng = np.random.default_rng(1)
    x, dy = np.maximum(rng.standard_normal((800, BATCH)), 0), rng.standard_normal((500, BATCH))
    ip = dict(
        x=x, w=rng.uniform(-1, 1, (800, 500)) * np.sqrt(3 / 800), b=0.1 * rng.standard_normal((1, 500)), dy=dy
    )
    pool = dict(h=8, w=8, c=50, k=2, stride=2, pad=0)
    pool_arrays = dict(x=rng.standard_normal((3200, BATCH)), dy=rng.standard_normal((800, BATCH)))
    X = np.maximum(rng.standard_normal((500, BATCH)), 0)
    mlr = dict(wb=rng.standard_normal(9 * 501) * 0.2, X=X, y=rng.integers(0, 10, (1, BATCH)).astype(float))
    cases = [
        ("inner_product.backward", {}, ip),
        ("relu.backward", dict(h=500, w=1, c=1), dict(x=dy, dy=x[:500])),
        ("pooling.forward", pool, pool_arrays),
        ("pooling.backward", pool, pool_arrays),
        ("mlrloss", dict(K=10, prediction=1), mlr),
    ]
    for op, params, arrays in cases:
        exact, single = run(op, params, arrays), run(op, params, arrays, np.float32)
        for name in exact:
            result = compare(single[name], exact[name], what=name, dtype="float32")
            assert result.ok, (op, name, result.message, result.facts)


# ---- every plausible mistake fails ---------------------------------------------------------


@pytest.mark.parametrize("batch_size", [2, 10, 100])
@pytest.mark.parametrize("grad", ["w", "b", "input"])
def test_gradient_divided_by_the_batch_size_fails(conv2, batch_size, grad):
    expected = conv2[2][grad]
    result = compare(expected / batch_size, expected, what=grad)
    assert not result.ok
    assert result.numbers["mismatched"] > 0.9 * expected.size


@pytest.mark.parametrize("factor", [2.0, -1.0], ids=["times-2", "sign-flipped"])
def test_factor_two_and_sign_flip_fail(conv2, factor):
    expected = conv2[2]["w"]
    result = compare(factor * expected, expected, what="dL/dw", volume=(5, 5, 20), volume_kind="kernel")
    assert not result.ok
    assert re.match(
        r"dL/dw: \d+ of 25000 elements differ \(rtol 1e-4, atol 1e-5 x max\|expected\|\)$", result.message
    )
    assert result.facts[0].startswith("worst at kernel (dh=")


def test_transposed_weight_gradient_fails_on_shape(conv2):
    expected = conv2[2]["w"]
    result = compare(expected.T, expected, what="dL/dw", volume=(5, 5, 20), volume_kind="kernel")
    assert not result.ok and result.message == "dL/dw has shape (50, 500), expected (500, 50)"
    assert result.facts[1].startswith("that is the expected shape transposed")
    assert "one per kernel offset and input channel" in result.facts[2]


def test_spatially_transposed_map_fails_on_values(conv2):
    """h and w swapped in a square map: right shape, wrong places."""
    expected = conv2[2]["input"]
    swapped = expected.reshape(20, 12, 12, BATCH).transpose(0, 2, 1, 3).reshape(expected.shape)
    result = compare(swapped, expected, volume=volume(CONV2))
    assert not result.ok and result.numbers["mismatched"] > 0.8 * expected.size


def test_flipped_kernel_fails(conv2):
    arrays, y, _ = conv2
    k, c = 5, 20
    rows = [
        (k - 1 - dh) + k * (k - 1 - dw) + k * k * ic for ic in range(c) for dw in range(k) for dh in range(k)
    ]
    flipped = run("conv.forward", CONV2, {**fwd(arrays), "w": arrays["w"][rows]})["y"]
    result = compare(flipped, y, volume=out_volume(CONV2))
    assert not result.ok and result.numbers["mismatched"] > 0.8 * y.size


def test_missing_bias_fails(conv2):
    arrays, y, _ = conv2
    no_bias = run("conv.forward", CONV2, {**fwd(arrays), "b": 0 * arrays["b"]})["y"]
    result = compare(no_bias, y, volume=out_volume(CONV2))
    assert not result.ok and result.numbers["mismatched"] > 0.8 * y.size


def test_off_by_one_window_fails(conv2):
    """Windows starting one row too low: the output of the image shifted up by one pixel."""
    arrays, y, _ = conv2
    shifted = np.roll(arrays["x"].reshape(20, 12, 12, BATCH), -1, axis=2).reshape(arrays["x"].shape)
    off_by_one = run("conv.forward", CONV2, {**fwd(arrays), "x": shifted})["y"]
    result = compare(off_by_one, y, volume=out_volume(CONV2))
    assert not result.ok and result.numbers["mismatched"] > 0.8 * y.size


def test_a_single_wrong_element_fails_and_is_located(conv2):
    _, y, _ = conv2
    got = y.copy()
    row, col = 3 + 8 * 5 + 64 * 7, 42  # (h=3, w=5, c=7, n=42)
    got[row, col] += 0.01 * np.abs(y).max()
    result = compare(got, y, what="y", volume=out_volume(CONV2))
    assert not result.ok
    assert result.message.startswith(f"y: 1 of {y.size} elements differ")
    assert result.facts[0].startswith("worst at (h=3, w=5, c=7, n=42): got ")
    assert result.numbers["worst_coords"] == {"h": 3, "w": 5, "c": 7, "n": 42}
    assert result.numbers["worst_index"] == [row, col]


def test_one_tie_routed_to_the_other_maximum_fails():
    """Pooling backward: the contract routes a tie to the first maximum in Fortran order."""
    params = dict(h=4, w=4, c=2, k=2, stride=2, pad=0)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((32, 3))
    first, second = 1 + 4 * 2 + 16 * 1, 1 + 4 * 3 + 16 * 1  # (h=1, w=2, c=1) and (h=1, w=3, c=1)
    x[[first, second], 2] = 5.0  # a tie in one window of image 2
    dy = rng.standard_normal((8, 3)) + 3.0
    expected = run("pooling.backward", params, dict(x=x, dy=dy))["input"]
    assert expected[first, 2] != 0 and expected[second, 2] == 0
    got = expected.copy()
    got[[first, second], 2] = got[[second, first], 2]
    result = compare(got, expected, volume=(4, 4, 2))
    assert not result.ok and result.numbers["mismatched"] == 2
    assert result.facts[0].startswith("worst at (h=1, w=")


# ---- the ladder and its messages ---------------------------------------------------------


@pytest.mark.parametrize("row", [0, 1, 11, 12, 143, 144, 2879])
def test_map_coordinates_follow_the_contract(row):
    h, w, c = 12, 12, 20
    ih, iw, ic = row % h, (row // h) % w, row // (h * w)
    assert row == ih + h * iw + h * w * ic
    text, coords = coordinates((row, 7), (h * w * c, 10), (h, w, c))
    assert text == f"(h={ih}, w={iw}, c={ic}, n=7)" and coords == {"h": ih, "w": iw, "c": ic, "n": 7}


def test_kernel_wb_and_plain_coordinates():
    assert (
        coordinates((2 + 5 * 0 + 25 * 1, 3), (500, 50), (5, 5, 20), "kernel")[0]
        == "kernel (dh=2, dw=0, c=1) -> filter 3"
    )
    assert coordinates((2 * 15 + 4,), (3 * 16,), (3, 15), "wb")[0] == "theta[2, 4] (class 2, feature 4)"
    assert coordinates((3 * 15 + 1,), (3 * 16,), (3, 15), "wb") == (
        "bias[1] (class 1)",
        {"part": "bias", "class": 1},
    )
    assert coordinates((4, 1), (10, 2)) == ("[4, 1]", None)
    assert coordinates((4, 1), (10, 2), (3, 3, 1))[0] == "[4, 1]"  # volume does not fit: plain


def test_hidden_case_reveals_no_expected_values(conv2):
    _, y, _ = conv2
    got = 2 * y
    result = compare(got, y, what="y", volume=out_volume(CONV2), hide_expected=True)
    text = " ".join((result.message, *result.facts))
    worst = tuple(result.numbers["worst_index"])
    assert not result.ok and "worst at (h=" in text
    for leak in (fmt(y[worst]), fmt(got[worst]), f"{np.abs(y).max():.3g}", f"{np.abs(y[worst]):.3g}"):
        assert leak not in text
    assert not re.search(r"(got|expected) -?\d", text) and "largest error" not in text
    for key in ("expected", "got", "max_abs", "max_rel", "scale", "atol"):
        assert result.numbers[key] is None


def test_hidden_scalar():
    result = compare(np.array(2.0), np.array(3.0), what="nll", hide_expected=True)
    assert not result.ok and result.message == "nll differs (rtol 1e-4, atol 1e-5 x max|expected|)"
    assert all(not f.startswith("largest error") for f in result.facts)


def test_scalar_message():
    result = compare(np.array(2.0), np.array(3.0), what="nll")
    assert result.message == "nll differs: got 2, expected 3 (rtol 1e-4, atol 1e-5 x max|expected|)"


def test_passing_message_and_numbers():
    e = np.arange(6.0).reshape(3, 2)
    result = compare(e + 1e-9, e, what="y")
    assert result.ok and result.facts == ()
    assert result.message == "y: all 6 elements within tolerance (rtol 1e-4, atol 1e-5 x max|expected|)"
    assert result.numbers["mismatched"] == 0 and result.numbers["atol"] == pytest.approx(5e-5)


def test_same_size_wrong_shape():
    e = np.zeros((12, 2))
    result = compare(np.zeros((6, 4)), e, volume=(3, 2, 2))
    assert result.facts[:2] == (
        "shape (6, 4), expected (12, 2)",
        "same number of elements (24): check the order in which you reshape or flatten",
    )
    assert "h*w*c = 3*2*2 = 12" in result.facts[2]


def test_bias_shapes():
    e = np.arange(3.0).reshape(1, 3)
    assert compare(np.arange(3.0), e, bias_like=True).ok
    assert not compare(np.arange(3.0), e).ok
    column = compare(np.arange(3.0).reshape(3, 1), e, bias_like=True)
    assert not column.ok and "not a column" in column.facts[-1]


def test_nan_and_inf_are_located_in_memory_order():
    e = np.ones((6, 2))
    got = e.copy()
    got[4, 0] = got[1, 1] = got[0, 1] = got[5, 1] = np.nan
    got[2, 1] = np.inf
    result = compare(got, e, what="y", volume=(3, 2, 1))
    assert not result.ok and result.message == "y has 4 NaN and 1 inf among 12 elements"
    assert result.facts[0] == (
        "NaN at 4 elements (first 3): (h=1, w=1, c=0, n=0); (h=0, w=0, c=0, n=1); (h=1, w=0, c=0, n=1)"
    )
    assert result.facts[1] == "inf at 1 element: (h=2, w=0, c=0, n=1)"
    assert result.numbers["nan"] == 4 and result.numbers["inf"] == 1


def test_integer_dtype_fails_even_with_right_values():
    e = np.arange(6.0).reshape(3, 2)
    result = compare(e, e, what="y", dtype="int64")
    assert not result.ok and result.message == "y has dtype int64, expected floating point (float64)"
    assert result.facts[-1].startswith("values: all 6 elements within tolerance")


def test_float32_dtype_is_a_fact_not_a_failure():
    e = np.linspace(-1, 1, 10)
    result = compare(e.astype(np.float32).astype(np.float64), e, dtype="float32")
    assert result.ok and result.facts[0].startswith("dtype float32: accepted")


def test_all_zero_expected_has_a_tiny_absolute_floor():
    assert compare(np.full(4, 1e-14), np.zeros(4)).ok
    assert not compare(np.full(4, 1e-6), np.zeros(4)).ok


def test_broken_expected_values_are_a_grader_error():
    with pytest.raises(ValueError, match="reference or the case"):
        compare(np.zeros(2), np.array([0.0, np.nan]))


def test_empty_arrays():
    assert compare(np.zeros((0, 3)), np.zeros((0, 3))).ok


def test_tolerances_are_documented_with_their_values():
    doc = (paths.ROOT / "docs" / "tolerances.md").read_text()
    assert f"RTOL = {sci(RTOL)}" in doc and f"ATOL_SCALE = {sci(ATOL_SCALE)}" in doc
    from harness.checks import gradcheck

    for name in ("GC_RTOL", "STEP_REL", "MAX_UNCERTAINTY", "KINK_SAFETY", "KINK_MIN_REL"):
        assert f"{name} = {sci(getattr(gradcheck, name))}" in doc, name
