"""The cs231n family's reference, each function at its training network's shapes, vs PyTorch.

    python benchmarks/cs231n_layers.py [--batch 64] [--repeat 20] [--rounds 3] [--threads N]

The network of the family's contract (``shared/assignment-api-cs231n.md``): conv (8 filters
7x7, stride 1, pad 3) - relu - 2x2 max pool stride 2 - affine (hidden 100) - relu - affine
(10) - softmax loss, on 1x28x28 digits. Both libraries in float64, NCHW, with as many
threads as numpy's BLAS has (or ``--threads``); the reference is called as a student's
network calls it (forward for its cache, then backward), PyTorch through its aten kernels.
Times are medians (and bests) of ``--rounds`` x ``--repeat`` calls, each library in
processes of its own, alternating (see ``_common.worker_rounds``). torch is optional.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from _common import ROOT, blas_limit, header, print_ratio_table, timeit, torch_or_none, worker_rounds

from harness.core.loader import load_isolated
from harness.profiles import cs231n

F, HID, K = 8, 100, 10


def reference_cases(batch: int, seed: int = 0) -> dict:
    """name -> a call of the family's reference at the network's shapes."""
    ref = load_isolated(cs231n.REFERENCE_DIR, list(cs231n.FUNCTIONS.values()))
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, (batch, 1, 28, 28))
    w, b = rng.normal(0, 0.1, (F, 1, 7, 7)), np.zeros(F)
    conv = {"stride": 1, "pad": 3}
    pool = {"pool_height": 2, "pool_width": 2, "stride": 2}
    calls = {}
    y, cache = ref["conv_forward_naive"](x, w, b, conv)
    calls["conv forward"] = lambda: ref["conv_forward_naive"](x, w, b, conv)
    calls["conv backward"] = lambda: ref["conv_backward_naive"](y, cache)
    r, rcache = ref["relu_forward"](y)
    calls["relu forward"] = lambda: ref["relu_forward"](y)
    calls["relu backward"] = lambda: ref["relu_backward"](r, rcache)
    p, pcache = ref["max_pool_forward_naive"](r, pool)
    calls["pool forward"] = lambda: ref["max_pool_forward_naive"](r, pool)
    calls["pool backward"] = lambda: ref["max_pool_backward_naive"](p, pcache)
    w1, b1 = rng.normal(0, 0.01, (F * 14 * 14, HID)), np.zeros(HID)
    h, hcache = ref["affine_forward"](p, w1, b1)
    calls["affine1 forward"] = lambda: ref["affine_forward"](p, w1, b1)
    calls["affine1 backward"] = lambda: ref["affine_backward"](h, hcache)
    scores = rng.normal(0, 1, (batch, K))
    labels = rng.integers(0, K, batch)
    calls["softmax_loss (fwd+bwd)"] = lambda: ref["softmax_loss"](scores, labels)
    return calls


def torch_cases(torch, batch: int, seed: int = 0) -> dict:
    """name -> the same computation in PyTorch's kernels (random data of the same shapes)."""
    fn, aten = torch.nn.functional, torch.ops.aten
    g = torch.Generator().manual_seed(seed)
    rand = lambda *shape: torch.rand(*shape, generator=g, dtype=torch.float64)
    x, w, b = rand(batch, 1, 28, 28), rand(F, 1, 7, 7) - 0.5, rand(F) - 0.5
    y = fn.conv2d(x, w, b, 1, 3)
    calls = {
        "conv forward": lambda: fn.conv2d(x, w, b, 1, 3),
        "conv backward": lambda: aten.convolution_backward(
            y, x, w, [F], [1, 1], [3, 3], [1, 1], False, [0, 0], 1, [True, True, True]
        ),
        "relu forward": lambda: torch.relu(y),
        "relu backward": lambda: aten.threshold_backward(y, y, 0),
    }
    r = torch.relu(y)
    p, idx = aten.max_pool2d_with_indices(r, [2, 2], [2, 2])
    calls["pool forward"] = lambda: aten.max_pool2d_with_indices(r, [2, 2], [2, 2])
    calls["pool backward"] = lambda: aten.max_pool2d_with_indices_backward(
        p, r, [2, 2], [2, 2], [0, 0], [1, 1], False, idx
    )
    flat, w1, b1 = p.reshape(batch, -1), rand(HID, F * 14 * 14) - 0.5, rand(HID) - 0.5
    h = torch.addmm(b1, flat, w1.T)
    calls["affine1 forward"] = lambda: torch.addmm(b1, flat, w1.T)
    calls["affine1 backward"] = lambda: (h @ w1, h.T @ flat, h.sum(0))
    scores = rand(batch, K).requires_grad_()
    labels = torch.randint(0, K, (batch,), generator=g)

    def loss():
        with torch.enable_grad():
            value = fn.cross_entropy(scores, labels)
            return value, torch.autograd.grad(value, scores)

    calls["softmax_loss (fwd+bwd)"] = loss
    return calls


def worker(name: str, args) -> None:
    """Time one library's calls in this process; print ``{"batch name": [seconds...]}`` as JSON."""
    import json

    with blas_limit(args.threads):
        torch = torch_or_none(args.threads) if name == "torch" else None
        out = {}
        for batch in args.batch:
            calls = torch_cases(torch, batch) if torch is not None else reference_cases(batch)
            for case, call in calls.items():
                out[f"{batch} {case}"] = timeit(call, repeat=args.repeat)
    print(json.dumps(out))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, nargs="+", default=[64])
    ap.add_argument("--repeat", type=int, default=20, help="calls timed per round")
    ap.add_argument("--rounds", type=int, default=3, help="alternating processes per library")
    ap.add_argument("--threads", type=int, help="threads of numpy's BLAS and of torch (default: BLAS's own)")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args.worker, args)
    with blas_limit(args.threads):
        torch = torch_or_none(args.threads)
        header(f"cs231n reference ({cs231n.REFERENCE_DIR.relative_to(ROOT)}) vs PyTorch, float64", torch)
    times = worker_rounds(
        __file__, sys.argv[1:], ["ref", "torch"] if torch is not None else ["ref"], args.rounds
    )
    print_ratio_table(times, args.batch, args.rounds, args.repeat, width=26)


if __name__ == "__main__":
    main()
