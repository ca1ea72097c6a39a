"""The GPU path: the reference on cupy arrays.

Every test here needs cupy and a working CUDA device, and is skipped without them (the
``gpu`` marker selects them: ``pytest -m gpu``). The reference takes its array module from
its data (``utils.get_array_module``), so the same code must give, on cupy, what it gives
on numpy, up to the summation order of cuBLAS, and keep its results on the device.
"""

from __future__ import annotations

import numpy as np
import pytest

from harness.core import paths
from harness.core.loader import load_isolated


def _cupy_with_a_device():
    try:
        import cupy

        if cupy.cuda.runtime.getDeviceCount() < 1:
            return None
        cupy.arange(3).sum().item()  # a kernel really runs
        return cupy
    except Exception:  # not installed, no driver, no device
        return None


cp = _cupy_with_a_device()
pytestmark = [pytest.mark.gpu, pytest.mark.skipif(cp is None, reason="needs cupy and a CUDA device")]

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
    "conv_net",
    "init_convnet",
    "get_lenet",
    "sgd_momentum",
    "im2col_conv_batch",
    "col2im_conv",
    "im2col_conv",
    "train",
    "evaluate",
]
REF = load_isolated(paths.REFERENCE_DIR, NAMES)
RTOL, ATOL = 1e-10, 1e-12  # float64 either way; only the order of the sums differs


def on_gpu(obj):
    """numpy arrays (also inside dicts) -> cupy arrays."""
    if isinstance(obj, dict):
        return {k: on_gpu(v) for k, v in obj.items()}
    return cp.asarray(obj) if isinstance(obj, np.ndarray) else obj


def assert_same(got, expected):
    """``got`` stayed on the device and equals ``expected`` (numpy) to float64 round-off."""
    if isinstance(expected, dict):
        for key in expected:
            assert_same(got[key], expected[key])
        return
    if isinstance(expected, (tuple, list)):
        assert len(got) == len(expected)
        for g, e in zip(got, expected):
            assert_same(g, e)
        return
    if isinstance(expected, np.ndarray):
        assert isinstance(got, cp.ndarray), f"the result left the device: {type(got)}"
        assert got.shape == expected.shape and got.dtype == expected.dtype
        np.testing.assert_allclose(
            cp.asnumpy(got), expected, rtol=RTOL, atol=ATOL * max(1.0, float(np.abs(expected).max(initial=0)))
        )
    elif isinstance(expected, (int, float, np.floating)):
        np.testing.assert_allclose(float(got), float(expected), rtol=RTOL)
    else:
        assert got == expected


def volume(x, h, w, c):
    return {"height": h, "width": w, "channel": c, "batch_size": x.shape[1], "data": x}


# (h, w, c, n, k, stride, pad, num): LeNet's layers and the awkward cases
CONV = [
    (28, 28, 1, 4, 5, 1, 0, 20),
    (12, 12, 20, 3, 5, 1, 0, 50),
    (7, 5, 2, 3, 3, 2, 1, 3),
    (9, 11, 2, 1, 5, 3, 2, 2),
]
POOL = [(24, 24, 20, 3, 2, 2, 0), (8, 8, 50, 3, 2, 2, 0), (7, 5, 3, 2, 3, 2, 1), (6, 6, 2, 2, 2, 2, 0)]


@pytest.mark.parametrize("case", CONV)
def test_conv_on_gpu_matches_numpy(case):
    h, w, c, n, k, stride, pad, num = case
    rng = np.random.default_rng(0)
    inp = volume(rng.standard_normal((h * w * c, n)), h, w, c)
    layer = {"type": "CONV", "k": k, "stride": stride, "pad": pad, "num": num, "group": 1}
    param = {"w": rng.standard_normal((k * k * c, num)), "b": rng.standard_normal((1, num))}
    out = REF["conv_layer_forward"](inp, layer, param)
    assert_same(REF["conv_layer_forward"](on_gpu(inp), layer, on_gpu(param)), out)
    out["diff"] = rng.standard_normal(out["data"].shape)
    expected = REF["conv_layer_backward"](out, inp, layer, param)
    assert_same(REF["conv_layer_backward"](on_gpu(out), on_gpu(inp), layer, on_gpu(param)), expected)


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("case", POOL)
def test_pooling_on_gpu_matches_numpy(case, ties):
    h, w, c, n, k, stride, pad = case
    rng = np.random.default_rng(1)
    x = rng.standard_normal((h * w * c, n))
    if ties:  # after a ReLU: the fast path's tie resolution
        x = np.maximum(x, 0)
    inp, layer = volume(x, h, w, c), {"type": "POOLING", "k": k, "stride": stride, "pad": pad}
    out = REF["pooling_layer_forward"](inp, layer)
    assert_same(REF["pooling_layer_forward"](on_gpu(inp), layer), out)
    out["diff"] = rng.standard_normal(out["data"].shape)
    expected = REF["pooling_layer_backward"](out, inp, layer)
    assert_same(REF["pooling_layer_backward"](on_gpu(out), on_gpu(inp), layer), expected)


def test_inner_product_relu_and_loss_on_gpu_match_numpy():
    rng = np.random.default_rng(2)
    inp = volume(rng.standard_normal((800, 5)), 800, 1, 1)
    layer, param = (
        {"type": "IP", "num": 500},
        {"w": rng.standard_normal((800, 500)), "b": rng.standard_normal((1, 500))},
    )
    out = REF["inner_product_forward"](inp, layer, param)
    assert_same(REF["inner_product_forward"](on_gpu(inp), layer, on_gpu(param)), out)
    out["diff"] = rng.standard_normal(out["data"].shape)
    assert_same(
        REF["inner_product_backward"](on_gpu(out), on_gpu(inp), layer, on_gpu(param)),
        REF["inner_product_backward"](out, inp, layer, param),
    )

    relu_out = REF["relu_forward"](out)
    assert_same(REF["relu_forward"](on_gpu(out)), relu_out)
    relu_out["diff"] = rng.standard_normal(relu_out["data"].shape)
    assert_same(
        REF["relu_backward"](on_gpu(relu_out), on_gpu(out), {"type": "RELU"}),
        REF["relu_backward"](relu_out, out, {"type": "RELU"}),
    )

    K, N, M = 10, 500, 7
    wb, X = rng.standard_normal((K - 1) * (N + 1)) * 0.1, rng.standard_normal((N, M))
    y = rng.integers(0, K, (1, M)).astype(float)
    nll, g, od, percent = REF["mlrloss"](wb, X, y, K, 0, 1)
    got = REF["mlrloss"](cp.asarray(wb), cp.asarray(X), cp.asarray(y), K, 0, 1)
    assert_same(got[1:3], (g, od))
    np.testing.assert_allclose(float(got[0]), nll, rtol=RTOL)
    assert float(got[3]) == percent


def test_helpers_on_gpu_match_numpy():
    h, w, c, n, k, stride, pad = 7, 5, 2, 3, 3, 2, 1
    rng = np.random.default_rng(3)
    inp = volume(rng.standard_normal((h * w * c, n)), h, w, c)
    layer = {"k": k, "stride": stride, "pad": pad}
    h_out, w_out = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
    assert_same(
        REF["im2col_conv_batch"](on_gpu(inp), layer, h_out, w_out),
        REF["im2col_conv_batch"](inp, layer, h_out, w_out),
    )
    one = volume(inp["data"][:, :1], h, w, c)
    col = REF["im2col_conv"](one, layer, h_out, w_out)
    assert_same(REF["im2col_conv"](on_gpu(one), layer, h_out, w_out), col)
    assert_same(
        REF["col2im_conv"](cp.asarray(col), one, layer, h_out, w_out),
        REF["col2im_conv"](col, one, layer, h_out, w_out),
    )


def test_a_lenet_iteration_on_gpu_matches_numpy():
    layers = REF["get_lenet"](8)
    params = REF["init_convnet"](layers, seed=0)
    params_gpu = REF["init_convnet"](layers, seed=0, xp=cp)
    assert all(isinstance(p["w"], cp.ndarray) for p in params_gpu)
    rng = np.random.default_rng(4)
    x, y = rng.uniform(0, 1, (784, 8)), rng.integers(0, 10, (1, 8)).astype(float)
    cp_cpu, grads = REF["conv_net"](params, layers, x, y)
    cp_gpu, grads_gpu = REF["conv_net"](params_gpu, layers, cp.asarray(x), cp.asarray(y))
    np.testing.assert_allclose(cp_gpu["cost"], cp_cpu["cost"], rtol=1e-9)
    assert cp_gpu["percent"] == cp_cpu["percent"]
    for g_gpu, g in zip(grads_gpu, grads):
        if len(g["w"]):
            assert_same(g_gpu, g)
    winc = [{"w": np.zeros_like(p["w"]), "b": np.zeros_like(p["b"])} for p in params]
    winc_gpu = [{"w": cp.zeros_like(p["w"]), "b": cp.zeros_like(p["b"])} for p in params_gpu]
    new, _ = REF["sgd_momentum"](0.01, 0.02, 0.9, 5e-4, params, winc, grads)
    new_gpu, _ = REF["sgd_momentum"](0.01, 0.02, 0.9, 5e-4, params_gpu, winc_gpu, grads_gpu)
    for p_gpu, p in zip(new_gpu, new):
        if len(p["w"]):
            assert_same(p_gpu, p)


@pytest.mark.slow
def test_the_reference_trains_on_gpu():
    from harness.child import training

    x_train, y_train, x_eval, y_eval = training.dataset()
    params, layers = REF["train"](x_train, y_train, iters=300, batch_size=64, seed=0, xp=cp, log=None)
    assert isinstance(params[0]["w"], cp.ndarray)
    accuracy = REF["evaluate"](params, layers, cp.asarray(x_eval), cp.asarray(y_eval))
    assert float(accuracy) > 0.9


# ---- the command line --------------------------------------------------------------------


def test_fixtures_regenerated_on_the_gpu_match_the_shipped_ones():
    from harness.cases import fixtures

    assert fixtures.check(paths.FIXTURES_DIR, xp=cp) == []


def numpy_only_submission(tmp_path):
    """The reference with the corpus's mlrloss built on scipy.special.logsumexp (numpy only)."""
    import shutil

    folder = tmp_path / "numpy_only"
    shutil.copytree(paths.REFERENCE_DIR, folder, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(paths.ROOT / "tests" / "corpus" / "correct" / "scipy_logsumexp" / "mlrloss.py", folder)
    return folder


def test_the_reference_passes_the_device_probe_and_a_numpy_only_loss_does_not(tmp_path):
    from harness import profiles
    from harness.cases import reference
    from harness.child import lenet_ops

    prof = profiles.get()
    assert lenet_ops.device_problem(reference.caller(prof), cp) == ""
    numpy_only = load_isolated(numpy_only_submission(tmp_path), list(prof.FUNCTIONS.values()))

    def call(op_name, params, arrays):
        return prof.call(numpy_only, op_name, params, arrays)[0]

    assert "mlrloss" in lenet_ops.device_problem(call, cp)


def test_reference_timings_on_the_gpu_cover_every_op():
    from harness import profiles
    from harness.cases import reference
    from harness.child import lenet_ops

    times = lenet_ops.time_ops(reference.caller(profiles.get()), xp=cp)
    assert all(t is not None and t > 0 for t in times.values()), times


@pytest.mark.slow
def test_grade_on_cuda_trains_the_reference_on_the_gpu(tmp_path):
    from harness.core.model import Status
    from harness.grade import grade
    from harness.options import Options

    report = grade("reference", Options(only=("train.lenet",), device="cuda"))
    (check,) = report.checks
    assert check.status is Status.PASS, check.message
    assert check.extra["device"] == "cuda" and not check.extra["device_note"]
    assert "trained on the GPU" in check.details and report.provenance["device"] == "cuda"


@pytest.mark.slow
def test_a_numpy_only_submission_trains_on_the_cpu_with_a_notice(tmp_path):
    from harness.grade import grade
    from harness.options import Options, TrainOptions

    path = numpy_only_submission(tmp_path)
    report = grade(path, Options(only=("train.lenet",), device="cuda", training=TrainOptions(iterations=50)))
    (check,) = report.checks
    assert check.extra["device"] == "cpu" and "mlrloss" in check.extra["device_note"]
    assert any("trained on the CPU, not the GPU" in n for n in report.notices)
