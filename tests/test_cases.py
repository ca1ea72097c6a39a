"""The cases: coverage of the required variety, kink margins, ties, hidden-case determinism.

Margins and ties are re-derived here by brute force, independently of the vectorised
helpers in harness.cases.catalogue.
"""

import math
import re

import numpy as np
import pytest

from harness.cases import catalogue as cases
from harness.cases import families, reference
from harness.core.ops import OPS as ALL_OPS
from harness.core.ops import output_hw
from harness.profiles import dictapi

OPS = {name: op for name, op in ALL_OPS.items() if name in dictapi.FUNCTIONS}  # the LeNet family's

PUBLIC = cases.public_cases()
HIDDEN = cases.random_cases(seed=123, per_op=8)
WINDOWED = ("conv.forward", "conv.backward", "pooling.forward", "pooling.backward")


def of(op, pool=PUBLIC):
    return [c for c in pool if c.op == op]


def windows(case):
    """Brute force: per window, (real values, whether it touches padding)."""
    p = case.params
    h, w, c, k, s, pad = p["h"], p["w"], p["c"], p["k"], p["stride"], p["pad"]
    x = case.arrays["x"]
    h_out, w_out = output_hw(p)
    for n in range(x.shape[1]):
        for ic in range(c):
            for ow in range(w_out):
                for oh in range(h_out):
                    real, padded = [], False
                    for dw in range(k):
                        for dh in range(k):
                            ih, iw = oh * s - pad + dh, ow * s - pad + dw
                            if 0 <= ih < h and 0 <= iw < w:
                                real.append(x[ih + h * iw + h * w * ic, n])
                            else:
                                padded = True
                    yield real, padded


def brute_gap(case):
    gaps = []
    for real, padded in windows(case):
        cand = sorted(real + ([0.0] if padded else []), reverse=True)
        gaps.append(cand[0] - cand[1] if len(cand) > 1 else np.inf)
    return min(gaps)


# ---- coverage --------------------------------------------------------------------------


@pytest.mark.parametrize("op", OPS)
def test_every_op_has_at_least_six_cases_with_unique_readable_names(op):
    names = [c.name for c in of(op)]
    assert len(names) >= 6
    assert len(set(names)) == len(names)
    assert all(re.fullmatch(r"[a-z0-9_]{3,40}", name, re.I) for name in names), names


@pytest.mark.parametrize("case", PUBLIC + HIDDEN, ids=lambda c: f"{c.op}:{c.name}")
def test_case_holds_canonical_float64_inputs(case):
    op = OPS[case.op]
    assert set(case.params) == set(op.params)
    assert all(type(v) is int for v in case.params.values())
    expected_inputs = set(op.inputs) | ({"y"} if op.kind == "backward" else set())
    assert set(case.arrays) == expected_inputs
    assert all(a.dtype == np.float64 and np.isfinite(a).all() for a in case.arrays.values())
    if op.layer in ("conv", "pooling", "relu"):
        p = case.params
        assert case.arrays["x"].shape[0] == p["h"] * p["w"] * p["c"]
    if op.kind == "backward":
        y = reference.run(op.forward, case.params, case.arrays)["y"]
        np.testing.assert_array_equal(case.arrays["y"], y)
        assert case.arrays["dy"].shape == y.shape


@pytest.mark.parametrize("op", WINDOWED)
def test_windowed_ops_cover_the_required_variety(op):
    cs = of(op)
    batches = {c.arrays["x"].shape[1] for c in cs}
    channels = {c.params["c"] for c in cs}
    assert 1 in batches and max(batches) > 1
    assert 1 in channels and max(channels) > 1
    assert {c.params["pad"] for c in cs} >= {0, 1, 2}
    assert {c.params["stride"] for c in cs} >= {1, 2, 3}
    assert {c.params["k"] for c in cs} >= {1, 2, 3, 5}
    assert any(c.params["h"] != c.params["w"] for c in cs)
    assert any((c.params["h"] + 2 * c.params["pad"] - c.params["k"]) % c.params["stride"] for c in cs)


@pytest.mark.parametrize("op", WINDOWED)
def test_historical_profile_keeps_enough_cases(op):
    kept = [c for c in of(op) if not {"non_square", "padded"} & set(c.tags)]
    assert len(kept) >= 4
    assert any("lenet" in c.tags for c in kept)


def test_lenet_shapes_are_present():
    def shape(c):
        return tuple(c.params[k] for k in ("h", "w", "c", "k", "stride", "pad")) + (c.params.get("num"),)

    for op in ("conv.forward", "conv.backward"):
        assert {(28, 28, 1, 5, 1, 0, 20), (12, 12, 20, 5, 1, 0, 50)} <= {shape(c) for c in of(op)}
    for op in ("pooling.forward", "pooling.backward"):
        assert (24, 24, 20, 2, 2, 0, None) in {shape(c) for c in of(op)}
    for op in ("inner_product.forward", "inner_product.backward"):
        assert any(c.arrays["x"].shape[0] == 800 for c in of(op))
    assert any(c.arrays["X"].shape[0] == 500 and c.params["K"] == 10 for c in of("mlrloss"))


@pytest.mark.parametrize("case", PUBLIC + HIDDEN, ids=lambda c: f"{c.op}:{c.name}")
def test_shape_tags_follow_the_params(case):
    tags = set(case.tags)
    if case.op not in WINDOWED:
        assert not tags & {"non_square", "padded", "uneven", "ties", "pad_convention"}
        return
    p = case.params
    assert ("non_square" in tags) == (p["h"] != p["w"])
    assert ("padded" in tags) == (p["pad"] > 0)
    uneven = any((size + 2 * p["pad"] - p["k"]) % p["stride"] for size in (p["h"], p["w"]))
    assert ("uneven" in tags) == uneven


# ---- exactness -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "case",
    [
        c
        for c in PUBLIC + HIDDEN
        if OPS[c.op].layer in ("conv", "inner_product", "mlrloss") or OPS[c.op].kind == "backward"
    ],
    ids=lambda c: f"{c.op}:{c.name}",
)
def test_arithmetic_inputs_are_short_dyadic_numbers(case):
    arrays = dict(case.arrays)
    if "large_logits" in case.tags:  # the bias is only added: theta and bias each on their own grid
        n_theta = (case.params["K"] - 1) * case.arrays["X"].shape[0]
        arrays["wb"], arrays["bias"] = arrays["wb"][:n_theta], arrays["wb"][n_theta:]
    for name, a in arrays.items():
        if name in ("dy", "w", "b", "X", "wb", "bias") or (
            name == "x" and OPS[case.op].layer != "relu" and OPS[case.op].layer != "pooling"
        ):
            mantissa, _ = np.frexp(a)  # at most DYADIC_BITS + 1 significant bits each ...
            assert (np.mod(mantissa * 2.0 ** (cases.DYADIC_BITS + 1), 1) == 0).all(), name
            quantum = 2.0 ** (int(np.frexp(np.abs(a).max())[1]) - cases.DYADIC_BITS - 3)
            assert (np.mod(a / quantum, 1) == 0).all(), name  # ... on a common grid


@pytest.mark.parametrize("case", of("inner_product.backward"), ids=lambda c: c.name)
def test_inner_product_results_are_exact(case):
    """Correctly rounded sums (fsum) equal the BLAS results bit for bit: no rounding happened."""
    x, w, b, dy = (case.arrays[k] for k in ("x", "w", "b", "dy"))
    out = cases.expected(case)
    y = [[math.fsum([*(w[:, j] * x[:, n]), b[0, j]]) for n in range(x.shape[1])] for j in range(w.shape[1])]
    np.testing.assert_array_equal(case.arrays["y"], y)
    gw = [[math.fsum(x[i] * dy[j]) for j in range(w.shape[1])] for i in range(w.shape[0])]
    np.testing.assert_array_equal(out["w"], gw)
    gx = [[math.fsum(w[i] * dy[:, n]) for n in range(x.shape[1])] for i in range(w.shape[0])]
    np.testing.assert_array_equal(out["input"], gx)


# ---- kinks -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "case", [c for c in PUBLIC + HIDDEN if OPS[c.op].layer == "relu"], ids=lambda c: f"{c.op}:{c.name}"
)
def test_relu_inputs_stay_away_from_zero_unless_tagged(case):
    x = case.arrays["x"]
    if "relu_zero" in case.tags:
        assert case.op == "relu.forward" and (x == 0).any()
        assert cases.kink_margin(case) == 0
    else:
        assert np.abs(x).min() >= cases.RELU_MARGIN
        assert cases.kink_margin(case) == np.abs(x).min()


def test_relu_zero_case_exists_and_backward_has_no_zeros():
    assert any("relu_zero" in c.tags for c in of("relu.forward"))
    assert not any((c.arrays["x"] == 0).any() for c in of("relu.backward"))


@pytest.mark.parametrize(
    "case", [c for c in PUBLIC + HIDDEN if OPS[c.op].layer == "pooling"], ids=lambda c: f"{c.op}:{c.name}"
)
def test_pooling_margin_and_padding_guarantees(case):
    gap = brute_gap(case)
    assert cases.kink_margin(case) == pytest.approx(gap)
    if "ties" in case.tags:
        assert gap == 0
        assert any(len(real) > 1 and sorted(real)[-1] == sorted(real)[-2] for real, _ in windows(case))
    else:
        assert gap >= cases.POOL_MARGIN
    negative_padded = [real for real, padded in windows(case) if padded and max(real) <= 0]
    if "pad_convention" in case.tags:
        assert negative_padded
        # Zero padding makes those windows' maximum 0; -inf padding would not.
        y = reference.run("pooling.forward", case.params, case.arrays)["y"]
        assert (y == 0).sum() >= len(negative_padded)
    else:
        assert not negative_padded


def test_both_pooling_ops_have_ties_and_pad_convention_cases():
    for op in ("pooling.forward", "pooling.backward"):
        tags = [set(c.tags) for c in of(op)]
        assert sum("ties" in t for t in tags) >= 2
        assert any("pad_convention" in t for t in tags)
        assert any("ties" in t for t in tags if "padded" not in t)


@pytest.mark.parametrize(
    "op", ["inner_product.forward", "inner_product.backward", "conv.forward", "conv.backward", "mlrloss"]
)
def test_smooth_ops_have_no_kink_margin(op):
    assert all(cases.kink_margin(c) is None for c in of(op, PUBLIC + HIDDEN))


# ---- mlrloss ---------------------------------------------------------------------------


def logits(case):
    X, K = case.arrays["X"], case.params["K"]
    N, M = X.shape
    wb = case.arrays["wb"]
    theta, bias = wb[: N * (K - 1)].reshape(K - 1, N), wb[N * (K - 1) :].reshape(K - 1, 1)
    return np.vstack([theta @ X + bias, np.zeros((1, M))])


def test_mlrloss_variety():
    cs = of("mlrloss")
    ks = {c.params["K"] for c in cs}
    assert 10 in ks and min(ks) <= 3
    assert any(c.params["prediction"] == 1 for c in cs)
    large = [c for c in cs if "large_logits" in c.tags]
    assert large and all(500 <= np.abs(logits(c)).max() <= 1.01e3 for c in large)
    assert all(np.abs(logits(c)).max() < 100 for c in cs if "large_logits" not in c.tags)


@pytest.mark.parametrize("case", of("mlrloss", PUBLIC + HIDDEN), ids=lambda c: c.name)
def test_mlrloss_inputs_are_consistent(case):
    K, (N, M) = case.params["K"], case.arrays["X"].shape
    assert case.arrays["wb"].shape == ((K - 1) * (N + 1),)
    y = case.arrays["y"]
    assert y.shape == (1, M) and np.array_equal(y, np.round(y)) and y.min() >= 0 and y.max() < K
    top2 = -np.sort(-logits(case), axis=0)[:2]
    assert (top2[0] - top2[1]).min() > 0  # the argmax (percent) is unambiguous
    out = cases.expected(case)
    assert all(np.isfinite(v).all() for v in out.values())
    if case.params["prediction"] and M > 1:
        assert 0 < out["percent"] < 1


# ---- hidden cases ----------------------------------------------------------------------


def test_random_cases_are_deterministic_per_seed_and_differ_across_seeds():
    a, b, c = cases.random_cases(5), cases.random_cases(5), cases.random_cases(6)
    assert len(a) == 2 * len(OPS) and [x.op for x in a].count("conv.backward") == 2
    assert all(x.name.startswith("random_") for x in a)
    for x, y in zip(a, b):
        assert (x.op, x.name, x.params, x.tags) == (y.op, y.name, y.params, y.tags)
        assert all(np.array_equal(x.arrays[k], y.arrays[k]) for k in x.arrays)
    differ = [
        x.name != y.name or any(not np.array_equal(x.arrays[k], y.arrays[k]) for k in x.arrays)
        for x, y in zip(a, c)
    ]
    assert all(differ)


def test_random_cases_can_exclude_tags():
    cs = cases.random_cases(9, per_op=6, exclude_tags=("non_square", "padded"))
    assert len(cs) == 6 * len(OPS)
    for c in cs:
        assert not {"non_square", "padded"} & set(c.tags)
        if c.op in WINDOWED:
            assert c.params["h"] == c.params["w"] and c.params["pad"] == 0


def test_public_cases_are_deterministic():
    again = cases.public_cases()
    assert [(c.op, c.name) for c in again] == [(c.op, c.name) for c in PUBLIC]
    assert all(np.array_equal(x.arrays[k], y.arrays[k]) for x, y in zip(again, PUBLIC) for k in x.arrays)


# ---- the audit of docs/tolerances.md ("Audit of the cases"): degeneracies and null values ----


def _public(layer_op: str):
    return [c for c in cases.public_cases() if c.op == layer_op]


def test_every_shape_degeneracy_a_student_could_special_case_appears():
    ip = _public("inner_product.forward")
    assert any(c.arrays["w"].shape[0] == c.arrays["w"].shape[1] > 1 for c in ip), (
        "square inner-product weight"
    )
    for op in ("inner_product.forward", "relu.forward", "pooling.forward", "conv.forward"):
        assert {c.arrays["x"].shape[1] == 1 for c in _public(op)} == {True, False}, f"{op}: batch 1 and more"
    assert {c.arrays["X"].shape[1] == 1 for c in _public("mlrloss")} == {True, False}
    for op in ("pooling.forward", "conv.forward", "pooling.backward", "conv.backward"):
        params = [c.params for c in _public(op)]
        for name, test in (
            ("h == w", lambda p: p["h"] == p["w"]),
            ("k == stride", lambda p: p["k"] == p["stride"]),
            ("pad 0", lambda p: p["pad"] == 0),
        ):
            assert {test(p) for p in params} == {True, False}, f"{op}: {name} and not"


def test_relu_cases_hold_both_signs():
    """Identity, zeros and a scaled ReLU then fail every case (the null-submission corpus)."""
    for c in _public("relu.forward") + _public("relu.backward"):
        assert (c.arrays["x"] > 0).any() and (c.arrays["x"] < 0).any(), c.name


@pytest.mark.parametrize("seed", [None, 0, 1])
def test_large_logits_overflow_exp_and_stay_within_a_stable_softmax(seed):
    from harness.diagnose.mutants import mlr_parts

    pool = cases.public_cases() if seed is None else cases.random_cases(seed, per_op=8)
    large = [c for c in pool if c.op == "mlrloss" and "large_logits" in c.tags]
    assert large or seed is not None
    for c in large:
        _, _, logits, labels = mlr_parts(c)
        assert logits.max() > cases.EXP_OVERFLOW, c.name  # no max subtraction: inf
        gaps = logits.max(axis=0) - logits[labels, np.arange(len(labels))]
        assert gaps.max() <= cases.LABEL_SPREAD < -np.log(np.finfo(np.float32).tiny), c.name
        with np.errstate(all="ignore"):  # the docstring's recipe, literally, in float32
            z = (logits - logits.max(axis=0)).astype(np.float32)
            p = np.exp(z) / np.exp(z).sum(axis=0)
            assert np.isfinite(np.log(p[labels, np.arange(len(labels))])).all(), c.name
            assert not np.isfinite(np.exp(logits)).all()


NULLS = {
    "zeros": lambda v, x: np.zeros_like(v),
    "ones": lambda v, x: np.ones_like(v),
    "constant": lambda v, x: np.full_like(v, 0.37),
    "input": lambda v, x: np.resize(x, v.shape),
    "twice": lambda v, x: 2 * v,
}


NULL_KNOWN: dict[tuple[str, str], str] = {}
"""Null values that pass a public case of a family, and why: its fixtures stay byte-identical
until the family's owner replaces the case (strict xfail: once fixed, this says so)."""


@pytest.mark.parametrize(
    "family, null",
    [
        pytest.param(f, n, marks=pytest.mark.xfail(strict=True, reason=NULL_KNOWN[f, n]))
        if (f, n) in NULL_KNOWN
        else (f, n)
        for f in families.MODULES
        for n in sorted(NULLS)
    ],
)
def test_no_null_value_passes_a_public_case(family, null):
    """Every output of every family's public cases differs from what a function that computes nothing returns."""
    from harness.core.compare import compare

    for c in families.MODULES[family].public_cases():
        first_input = c.arrays.get("x", c.arrays.get("X"))
        for out, value in cases.expected(c).items():
            if out == ALL_OPS[c.op].accuracy:
                continue  # judged with the loss value (nll, loss), never alone
            assert not compare(NULLS[null](value, first_input), value).ok, (c.op, c.name, out)
