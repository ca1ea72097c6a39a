"""Likely causes, on arrays: every mistake of the catalogue is recognised from what it returns,
signatures hold on results built to show them, and nothing is said when nothing fits."""

from __future__ import annotations

import fnmatch

import numpy as np
import pytest
from conftest import DICT_API_WORDS

from harness import profiles
from harness.cases import catalogue as cases
from harness.cases import fixtures
from harness.core.ops import OPS, output_hw, output_meta
from harness.diagnose import engine as diagnose
from harness.diagnose import family_mistakes, mistakes, mutants
from harness.diagnose.mistakes import MISTAKES
from harness.diagnose.mutants import close


def fixture_cases(op_name: str):
    return fixtures.load(op_name)


def case_named(op_name: str, name: str):
    for case, expected in fixtures.load(op_name):
        if case.name == name:
            return case, expected
    raise KeyError(name)


def outputs(op_name: str, expected: dict) -> dict:
    return {k: (np.reshape(v, ()) if k in ("nll", "percent") else v) for k, v in expected.items()}


def same(predicted, expected, out) -> bool:
    """Within tolerance, a bias of shape (n,) and (1, n) being the same (the contract)."""
    if out == "b" and predicted.size == expected.size:
        predicted = predicted.reshape(expected.shape)
    return predicted.shape == expected.shape and close(predicted, expected)


def diagnosed(op_name, case, out, got, expected):
    found = diagnose.diagnose(OPS[op_name], case, out, got, expected)
    return found[0] if found else None


# Predictions two mistakes share by construction: the first in the catalogue names them.
SAME_PREDICTION = {
    ("memory_order", "reshape_for_transpose"),  # x.T.reshape(...) is one memory order among all
    ("weight_grad_order", "reshape_for_transpose"),
    ("memory_order", "transposed"),  # a square (rows == batch) array
    ("not_computed", "input_grad_missing"),  # zeros, named for what is missing
    ("transposed", "weight_grad_transposed"),
    ("w_reshaped", "w_not_transposed"),  # a square weight: reshaping it to w.T's shape changes nothing
    ("reshape_for_transpose", "weight_grad_transposed"),  # a square weight gradient: the same
}


def test_catalogue_has_at_least_twenty_distinct_mistakes_with_hints():
    ids = [m.id for m in MISTAKES]
    assert len(ids) == len(set(ids))
    assert len({m.hint for m in MISTAKES}) >= 20
    assert all(m.hint and (m.predict or m.test) for m in MISTAKES)
    for m in MISTAKES:
        assert any(m.applies(op, out) for op, o in OPS.items() for out in o.outputs), m.id


@pytest.mark.parametrize("mistake", [m for m in MISTAKES if m.predict], ids=lambda m: m.id)
def test_each_mutant_is_recognised_from_its_own_result(mistake):
    """Feed the mutant's prediction, rounded to float32 as careless code would, back as the answer."""
    tried = 0
    for op_name, op in OPS.items():
        outs = [o for o in op.outputs if mistake.applies(op_name, o)]
        if not outs:
            continue
        pool = fixture_cases(op_name)
        if mistake.id == "w_not_transposed":  # square weights only: drawn among hidden shapes
            pool = [
                (c, cases.expected(c))
                for seed in range(40)
                for c in cases.random_cases(seed)
                if c.op == op_name and c.arrays["w"].shape[0] == c.arrays["w"].shape[1]
            ]
        for case, expected in pool:
            exp = outputs(op_name, expected)
            for out in outs:
                candidates = list(mistake.predict(case, out, exp[out]))
                step = max(1, len(candidates) // 3)  # memory orders: 47 per case, a sample is enough
                for predicted, _ in candidates[len(case.name) % step :: step]:
                    predicted = np.asarray(predicted, dtype=np.float64)
                    if same(predicted, exp[out], out):
                        continue  # no difference on this case
                    got = predicted.astype(np.float32).astype(np.float64)
                    found = diagnosed(op_name, case, out, got, exp[out])
                    assert found is not None, (mistake.id, case.name, out)
                    if found.hint == mistake.hint:
                        tried += 1
                        continue
                    negligible = np.abs(predicted).max() <= 1e-5 * np.abs(exp[out]).max()
                    assert (mistake.id, found.id) in SAME_PREDICTION or (
                        negligible and found.id in ("not_computed", "input_grad_missing")
                    ), f"{mistake.id} on {op_name} {case.name} {out} diagnosed as {found.id}"
    assert tried, f"{mistake.id}: no fixture case shows this mistake"


def test_a_slightly_different_result_is_not_the_mutant():
    """1% away from a mutant is far outside the tolerance: no claim that it is that mistake."""
    case, expected = case_named("conv.forward", "k3_s1_p1_h5w5_c3_b2_n4")
    flipped = mutants.run(case, w=mutants.flip_kernel(case.arrays["w"], 3, 3))["y"]
    rng = np.random.default_rng(0)
    got = flipped * (1 + 0.01 * rng.choice([-1, 1], flipped.shape))
    assert diagnose.likely_cause(OPS["conv.forward"], case, "y", got, expected["y"]) == ""


def test_nothing_is_said_when_nothing_fits():
    rng = np.random.default_rng(1)
    for op_name in OPS:
        for case, expected in fixture_cases(op_name)[:3]:
            for out, exp in outputs(op_name, expected).items():
                got = exp + 0.3 * np.abs(exp).max() * rng.standard_normal(np.shape(exp)) + 0.1
                assert diagnose.likely_cause(OPS[op_name], case, out, got, exp) == "", (
                    op_name,
                    case.name,
                    out,
                )


def test_likely_cause_never_raises():
    case, expected = case_named("conv.forward", "lenet_conv1_b2")
    broken = cases.Case("conv.forward", "broken", {}, {})
    assert diagnose.likely_cause(OPS["conv.forward"], broken, "y", expected["y"] * 2, expected["y"]) == ""
    assert diagnose.likely_cause(OPS["conv.forward"], case, "y", np.zeros((0,)), expected["y"]) == ""


# ---- mistakes computed independently of the mutants ----------------------------------------


def test_a_true_convolution_from_scipy_is_a_flipped_kernel():
    from scipy.signal import convolve

    case, expected = case_named("conv.forward", "k3_s1_p1_h5w5_c3_b2_n4")
    p = case.params
    h, w, c, k, num, n = p["h"], p["w"], p["c"], p["k"], p["num"], case.arrays["x"].shape[1]
    x = np.pad(case.arrays["x"].reshape(h, w, c, n, order="F"), ((1, 1), (1, 1), (0, 0), (0, 0)))
    W = case.arrays["w"].reshape(k, k, c, num, order="F")
    out = np.zeros((h, w, num, n))
    for f in range(num):
        for i in range(n):
            out[:, :, f, i] = sum(convolve(x[:, :, ic, i], W[:, :, ic, f], mode="valid") for ic in range(c))
    got = out.reshape(-1, n, order="F") + np.repeat(case.arrays["b"].ravel(), h * w)[:, None]
    assert diagnose.likely_cause(OPS["conv.forward"], case, "y", got, expected["y"]).startswith(
        mistakes.FLIPPED_KERNEL
    )


def test_channels_first_c_order_output_is_a_memory_order():
    case, expected = case_named("pooling.forward", "k3_s2_p1_h7w5_c3_b2")
    h_out, w_out = output_hw(case.params)
    vol = expected["y"].reshape(h_out, w_out, 3, 2, order="F")
    got = vol.transpose(2, 0, 1, 3).reshape(-1, 2)  # PyTorch's (c, h, w), C order
    hint = diagnose.likely_cause(OPS["pooling.forward"], case, "y", got, expected["y"])
    assert hint.startswith(mistakes.MEMORY_ORDER) and "(c, h, w, n)" in hint


def test_overwriting_the_weight_gradient_per_image_is_right_for_one_image():
    case, expected = case_named("inner_product.backward", "d7_n4_b5")
    x, dy = case.arrays["x"], case.arrays["dy"]
    got = np.outer(x[:, -1], dy[:, -1])  # dw = ... inside the loop, not +=
    hint = diagnose.likely_cause(OPS["inner_product.backward"], case, "w", got, expected["w"])
    assert hint.startswith(mistakes.BATCH_ONE) and "last image" in hint


def test_bias_gradient_of_shape_num_by_batch_is_not_summed():
    case, expected = case_named("conv.backward", "k3_s2_p1_h7w5_c2_b3_n3")
    dy = case.arrays["dy"].reshape(3, -1, 3)  # (num, positions, batch)
    got = dy.sum(axis=1)  # summed over positions only
    assert diagnose.likely_cause(OPS["conv.backward"], case, "b", got, expected["b"]).startswith(
        mistakes.BIAS_NOT_SUMMED
    )


# ---- signatures -------------------------------------------------------------------------------


def test_right_only_for_the_first_image():
    case, expected = case_named("conv.backward", "k3_s2_p1_h7w5_c2_b3_n3")
    got = expected["input"].copy()
    got[:, 1:] = 0
    hint = diagnose.likely_cause(OPS["conv.backward"], case, "input", got, expected["input"])
    assert hint.startswith(mistakes.BATCH_ONE) and "only image 0 of 3" in hint


def test_a_constant_number_of_columns_is_a_hard_coded_batch_size():
    case, expected = case_named("relu.forward", "h4w4_c2_b3")
    got = expected["y"][:, :2]
    hint = diagnose.likely_cause(OPS["relu.forward"], case, "y", got, expected["y"])
    assert hint.startswith(mistakes.HARDCODED_BATCH) and "2 columns for a batch of 3" in hint


def test_one_window_too_many_is_off_by_one():
    case, expected = case_named("pooling.forward", "k2_s2_p0_h7w7_c2_b2")
    h_out, w_out = output_hw(case.params)
    vol = expected["y"].reshape(2, w_out, h_out, 2)  # (c, w, h, n) view of the F columns
    bigger = np.concatenate([vol, np.full((2, w_out, 1, 2), 7.0)], axis=2)  # one more row of windows
    got = bigger.reshape(-1, 2)
    hint = diagnose.likely_cause(OPS["pooling.forward"], case, "y", got, expected["y"])
    assert hint.startswith(mistakes.OFF_BY_ONE) and f"{h_out + 1} x {w_out}" in hint


def test_wrong_only_where_windows_overlap_the_padding():
    case, expected = case_named("conv.forward", "k3_s2_p1_h7w5_c2_b3_n3")
    mask = mutants.border_mask(case, "y")
    assert mask.any() and not mask.all()
    got = np.where(mask, expected["y"] + 1.0, expected["y"])
    assert (
        diagnose.likely_cause(OPS["conv.forward"], case, "y", got, expected["y"])
        == mistakes.BORDER + f" ({int(mask.sum())} wrong values, all near the border)"
    )


def test_wrong_only_at_ties():
    case, expected = case_named("pooling.backward", "ties_k3_s2_p0_h7w7_c1_b2")
    share = mutants.pool_routes(case, "all")
    tied = share.sum(axis=(1, 2)) > 1
    rng = np.random.default_rng(3)  # a random tie-break: no mutant fits
    pick = rng.random(share.shape) * share
    pick = (pick == pick.max(axis=(1, 2), keepdims=True)) & (share > 0)
    h_out, w_out = output_hw(case.params)
    dy = mutants.cwhn(case.arrays["dy"], h_out, w_out, 1)
    got = mutants.unpatch(pick * dy[:, None, None], case.params)
    assert tied.any()
    assert not close(got, expected["input"])
    assert diagnose.likely_cause(OPS["pooling.backward"], case, "input", got, expected["input"]).startswith(
        mistakes.POOL_TIES
    )


def test_a_constant_factor_and_the_batch_size():
    case, expected = case_named("inner_product.backward", "d7_n4_b5")
    hint = diagnose.likely_cause(OPS["inner_product.backward"], case, "w", 0.5 * expected["w"], expected["w"])
    assert hint == f"{mistakes.CONSTANT_FACTOR} (0.5 times the expected values)"
    hint = diagnose.likely_cause(OPS["inner_product.backward"], case, "w", expected["w"] / 5, expected["w"])
    assert hint.startswith(mistakes.GRAD_DIVIDED_BY_BATCH)
    hint = diagnose.likely_cause(OPS["inner_product.backward"], case, "w", expected["w"] * 5, expected["w"])
    assert hint == f"{mistakes.CONSTANT_FACTOR} (5 times, the batch size)"


def test_right_values_in_other_places():
    case, expected = case_named("mlrloss", "N4_K3_M6")
    got = np.random.default_rng(4).permutation(expected["wb"])
    assert diagnose.likely_cause(OPS["mlrloss"], case, "wb", got, expected["wb"]) == mistakes.PERMUTED_VALUES


def test_nan_only_for_large_logits_is_an_unstable_softmax():
    large, expected = case_named("mlrloss", "large_N6_K10_M5")
    hint = diagnose.likely_cause(
        OPS["mlrloss"], large, "nll", np.array(np.inf), np.reshape(expected["nll"], ())
    )
    assert hint.startswith(mistakes.SOFTMAX_UNSTABLE)
    got = expected["wb"].copy()
    got[3] = np.nan
    assert diagnose.likely_cause(OPS["mlrloss"], large, "wb", got, expected["wb"]).startswith(
        mistakes.SOFTMAX_UNSTABLE
    )
    small, expected = case_named("mlrloss", "N4_K3_M6")  # logits below 3: exp cannot overflow
    assert (
        diagnose.likely_cause(OPS["mlrloss"], small, "nll", np.array(np.nan), np.reshape(expected["nll"], ()))
        == ""
    )


def _loss_case(bias: list[float], labels: list[int]) -> cases.Case:
    """K = 3, one feature equal to 0: the logits are ``bias`` and 0."""
    wb = np.array([0.0, 0.0, *bias])
    X, y = np.zeros((1, len(labels))), np.array([labels], dtype=float)
    return cases.Case("mlrloss", "handmade", {"K": 3, "prediction": 1}, {"wb": wb, "X": X, "y": y})


def _stable_log_of_softmax(case) -> float:
    """The docstring's recipe: max subtracted, then log of the label's probability."""
    _, _, logits, labels = mutants.mlr_parts(case)
    with np.errstate(all="ignore"):
        e = np.exp(logits - logits.max(axis=0))
        return float(-np.log((e / e.sum(axis=0))[labels, np.arange(len(labels))]).sum())


def test_log_of_an_underflowed_probability_is_told_from_an_overflowing_exp():
    underflow = _loss_case([-900.0, 1.0], [0])  # exp(-901) underflows; nothing overflows
    nll = _stable_log_of_softmax(underflow)
    assert nll == np.inf
    expected = np.reshape(cases.expected(underflow)["nll"], ())
    hint = diagnose.likely_cause(OPS["mlrloss"], underflow, "nll", np.array(nll), expected)
    assert hint.startswith(mistakes.LOG_UNDERFLOW) and "901" in hint, hint
    overflow = _loss_case([800.0, 790.0], [1])  # no max subtraction: exp(800) = inf, P = nan
    assert np.isfinite(_stable_log_of_softmax(overflow))  # the recipe handles it
    expected = np.reshape(cases.expected(overflow)["nll"], ())
    for got in (np.nan, np.inf):
        hint = diagnose.likely_cause(OPS["mlrloss"], overflow, "nll", np.array(got), expected)
        assert hint.startswith(mistakes.SOFTMAX_UNSTABLE), hint


# ---- properties and crashes -----------------------------------------------------------------


@pytest.mark.parametrize(
    "op_name, case_name, key, got, hint",
    [
        ("pooling.forward", "k3_s2_p1_h7w5_c3_b2", "height", 3, mistakes.FIELDS_SWAPPED),  # h_out 4, w_out 3
        ("pooling.forward", "k3_s2_p1_h7w5_c3_b2", "height", 7, mistakes.FIELD_NOT_UPDATED),
        ("conv.forward", "k3_s2_p1_h7w5_c2_b3_n3", "width", 2, mistakes.PAD_IGNORED),  # (5 - 3)//2 + 1
        ("conv.forward", "k3_s2_p1_h7w5_c2_b3_n3", "width", 5, mistakes.FIELD_NOT_UPDATED),
        ("conv.forward", "k5_s3_p2_h9w11_c2_b1_n2", "width", 11, mistakes.FIELD_NOT_UPDATED),
        ("conv.forward", "k5_s3_p2_h9w11_c2_b1_n2", "height", 9, mistakes.FIELD_NOT_UPDATED),
        ("conv.forward", "k3_s2_p0_h8w8_c2_b2_n3", "height", 6, mistakes.STRIDE_IGNORED),  # 8 - 3 + 1
        ("conv.forward", "lenet_conv1_b2", "height", 23, mistakes.OFF_BY_ONE),
        ("conv.forward", "lenet_conv2_b2", "channel", 20, mistakes.FIELD_CHANNEL),
        ("inner_product.forward", "d7_n4_b5", "height", 7, mistakes.FIELD_NOT_UPDATED),
        ("relu.forward", "h5w3_c1_b2", "height", 3, mistakes.FIELDS_SWAPPED),
        ("relu.forward", "h5w3_c1_b2", "batch_size", 100, mistakes.HARDCODED_BATCH),
        ("relu.forward", "h5w3_c1_b2", "batch_size", 15, mistakes.BATCH_FROM_ROWS),
        ("relu.forward", "h5w3_c1_b2", "height", "missing", ""),
        ("conv.forward", "lenet_conv1_b2", "height", 17, ""),
    ],
)
def test_field_hints(op_name, case_name, key, got, hint):
    case, _ = case_named(op_name, case_name)
    want = output_meta(OPS[op_name], case.params, case.arrays)[key]
    assert diagnose.field_hint(OPS[op_name], case, key, got, want) == hint


def test_in_place_and_nondeterminism_hints():
    op = OPS["relu.backward"]
    assert diagnose.in_place_hint(op, "input.data") == mistakes.IN_PLACE
    assert diagnose.in_place_hint(op, "output.diff") == mistakes.DIFF_CHANGED
    assert diagnose.in_place_hint(OPS["conv.forward"], "param.b") == mistakes.PARAM_CHANGED
    assert diagnose.in_place_hint(OPS["mlrloss"], "X").startswith(mistakes.ARGUMENT_CHANGED)
    assert diagnose.nondeterminism_hint(op) == mistakes.NONDETERMINISTIC


@pytest.mark.parametrize("family", ["cs231n", "classapi"])
def test_every_hint_a_family_can_get_is_in_its_own_words(family):
    """Each shared mistake that can be diagnosed on one of the family's ops, and each argument its
    adapter reports as modified, is explained without the dict API's variables or layout."""
    prof = profiles.get(family)
    ops = set(prof.FUNCTIONS)
    seen = 0
    for m in MISTAKES + family_mistakes.FAMILY_MISTAKES.get(family, ()):
        if any(fnmatch.fnmatchcase(op, w.partition(":")[0]) for op in ops for w in m.where):
            seen += 1
            hint = diagnose.hint_for(m, family)
            assert not DICT_API_WORDS.search(hint), f"{family}: {m.id}: {hint}"
    assert seen >= 30
    assert not DICT_API_WORDS.search(diagnose.nondeterminism_hint(OPS["conv.forward"], family))
    for name in _modified_argument_names(prof):
        hint = diagnose.in_place_hint(OPS["relu.backward"], name, family)
        assert not DICT_API_WORDS.search(hint), f"{family}: {name}: {hint}"


def _modified_argument_names(prof) -> set[str]:
    """Every argument name the family's adapter hands back after a call, over its public cases."""
    from harness.cases import families, reference

    fns = reference.functions(profile=prof.NAME)
    names: set[str] = set()
    for case in families.MODULES[prof.NAME].public_cases():
        arrays = {k: v.copy() for k, v in case.arrays.items()}
        passed = prof.call(fns, case.op, dict(case.params), arrays)[2]
        for key, value in passed.items():
            names |= {f"{key}.{sub}" for sub in value} if isinstance(value, dict) else {key}
    return names
