"""Each graded function, forward and backward, at LeNet's shapes: the reference vs PyTorch.

    python benchmarks/layers.py [--batch 64 100] [--repeat 20] [--rounds 3] [--threads N] [--device cpu|cuda]

Both in float64, PyTorch with as many intra-op threads as numpy's BLAS has (or ``--threads``
for both). The reference is called through its dict API exactly as conv_net.py calls it;
PyTorch through its own kernels (aten ops, no autograd bookkeeping, except for the loss), in
its native NCHW layout. Times are medians (and bests) of ``--rounds`` x ``--repeat`` calls,
each library in processes of its own, the two alternating (their thread pools would fight
in one process). torch is optional: without it only the reference column is printed.
``--device cuda`` runs the reference on cupy and PyTorch on CUDA.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from _common import (
    Device,
    blas_limit,
    header,
    print_ratio_table,
    reference,
    timeit,
    torch_or_none,
    worker_rounds,
)

# LeNet (assignment contract, section 5): instance, kind, h, w, c, k, stride, num
LAYERS = [
    ("conv1", "conv", 28, 28, 1, 5, 1, 20),
    ("relu1", "relu", 24, 24, 20, 0, 0, 0),
    ("pool1", "pool", 24, 24, 20, 2, 2, 0),
    ("conv2", "conv", 12, 12, 20, 5, 1, 50),
    ("relu2", "relu", 8, 8, 50, 0, 0, 0),
    ("pool2", "pool", 8, 8, 50, 2, 2, 0),
    ("ip", "ip", 800, 1, 1, 0, 0, 500),
    ("relu3", "relu", 500, 1, 1, 0, 0, 0),
    ("loss", "loss", 500, 1, 1, 0, 0, 10),
]


def nchw(x: np.ndarray, h: int, w: int, c: int) -> np.ndarray:
    """Columns ``(h*w*c, n)`` (Fortran (h, w, c) each) as a C-contiguous ``(n, c, h, w)`` array."""
    return np.ascontiguousarray(x.reshape(c, w, h, -1).transpose(3, 0, 2, 1))


def reference_cases(ref: dict, dev: Device, batch: int, seed: int = 0) -> dict:
    """name -> a call of the reference function at that LeNet instance (inputs on ``dev``)."""
    rng = np.random.default_rng(seed)
    calls = {}
    for name, kind, h, w, c, k, stride, num in LAYERS:
        x = rng.uniform(0.0, 1.0, (h * w * c, batch)) - (0.5 if kind == "relu" else 0.0)
        inp = {"height": h, "width": w, "channel": c, "batch_size": batch, "data": dev.ref(x)}
        if kind == "conv":
            layer = {"type": "CONV", "k": k, "stride": stride, "pad": 0, "num": num, "group": 1}
            param = {
                "w": dev.ref(rng.uniform(-0.1, 0.1, (k * k * c, num))),
                "b": dev.ref(rng.uniform(-0.1, 0.1, (1, num))),
            }
            out = ref["conv_layer_forward"](inp, layer, param)
            out["diff"] = dev.ref(rng.normal(size=out["data"].shape))
            calls[f"{name} forward"] = lambda inp=inp, layer=layer, param=param: ref["conv_layer_forward"](
                inp, layer, param
            )
            calls[f"{name} backward"] = lambda o=out, inp=inp, layer=layer, param=param: ref[
                "conv_layer_backward"
            ](o, inp, layer, param)
        elif kind == "pool":
            layer = {"type": "POOLING", "k": k, "stride": stride, "pad": 0}
            out = ref["pooling_layer_forward"](inp, layer)
            out["diff"] = dev.ref(rng.normal(size=out["data"].shape))
            calls[f"{name} forward"] = lambda inp=inp, layer=layer: ref["pooling_layer_forward"](inp, layer)
            calls[f"{name} backward"] = lambda o=out, inp=inp, layer=layer: ref["pooling_layer_backward"](
                o, inp, layer
            )
        elif kind == "relu":
            out = ref["relu_forward"](inp)
            out["diff"] = dev.ref(rng.normal(size=x.shape))
            calls[f"{name} forward"] = lambda inp=inp: ref["relu_forward"](inp)
            calls[f"{name} backward"] = lambda o=out, inp=inp: ref["relu_backward"](o, inp, {"type": "RELU"})
        elif kind == "ip":
            layer = {"type": "IP", "num": num}
            param = {
                "w": dev.ref(rng.uniform(-0.06, 0.06, (h, num))),
                "b": dev.ref(rng.uniform(-0.1, 0.1, (1, num))),
            }
            out = ref["inner_product_forward"](inp, layer, param)
            out["diff"] = dev.ref(rng.normal(size=out["data"].shape))
            calls[f"{name} forward"] = lambda inp=inp, layer=layer, param=param: ref["inner_product_forward"](
                inp, layer, param
            )
            calls[f"{name} backward"] = lambda o=out, inp=inp, layer=layer, param=param: ref[
                "inner_product_backward"
            ](o, inp, layer, param)
        else:  # the loss: value and both gradients in one call
            K = num
            wb = dev.ref(rng.uniform(-0.1, 0.1, (K - 1) * (h + 1)))
            y = dev.ref(rng.integers(0, K, (1, batch)).astype(np.float64))
            calls[f"{name} (mlrloss, fwd+bwd)"] = lambda wb=wb, X=inp["data"], y=y, K=K: ref["mlrloss"](
                wb, X, y, K, 0, 1
            )
    return calls


def torch_cases(torch, dev: Device, batch: int, seed: int = 0) -> dict:
    """name -> the same computation in PyTorch's kernels (random data of the same shapes)."""
    F, aten = torch.nn.functional, torch.ops.aten
    g = torch.Generator().manual_seed(seed)

    def rand(*shape):
        return dev.torch(torch.rand(*shape, generator=g, dtype=torch.float64))

    calls = {}
    for name, kind, h, w, c, k, stride, num in LAYERS:
        if kind == "conv":
            x, wt, bt = rand(batch, c, h, w), rand(num, c, k, k) - 0.5, rand(num) - 0.5
            dy = torch.randn_like(F.conv2d(x, wt, bt, stride))
            calls[f"{name} forward"] = lambda x=x, wt=wt, bt=bt, stride=stride: F.conv2d(x, wt, bt, stride)
            calls[f"{name} backward"] = lambda dy=dy, x=x, wt=wt, num=num, stride=stride: (
                aten.convolution_backward(
                    dy, x, wt, [num], [stride, stride], [0, 0], [1, 1], False, [0, 0], 1, [True, True, True]
                )
            )
        elif kind == "pool":
            x = rand(batch, c, h, w)
            y, idx = aten.max_pool2d_with_indices(x, [k, k], [stride, stride])
            dy = torch.randn_like(y)
            calls[f"{name} forward"] = lambda x=x, k=k, stride=stride: aten.max_pool2d_with_indices(
                x, [k, k], [stride, stride]
            )
            calls[f"{name} backward"] = lambda dy=dy, x=x, idx=idx, k=k, stride=stride: (
                aten.max_pool2d_with_indices_backward(
                    dy, x, [k, k], [stride, stride], [0, 0], [1, 1], False, idx
                )
            )
        elif kind == "relu":
            x = rand(batch, h * w * c) - 0.5
            y, dy = torch.relu(x), torch.randn_like(x)
            calls[f"{name} forward"] = lambda x=x: torch.relu(x)
            calls[f"{name} backward"] = lambda dy=dy, y=y: aten.threshold_backward(dy, y, 0)
        elif kind == "ip":
            x, wt, bt = rand(batch, h), rand(num, h) - 0.5, rand(num) - 0.5  # nn.Linear's layout
            dy = torch.randn(batch, num, dtype=torch.float64, device=x.device)
            calls[f"{name} forward"] = lambda x=x, wt=wt, bt=bt: torch.addmm(bt, x, wt.T)
            calls[f"{name} backward"] = lambda dy=dy, x=x, wt=wt: (dy @ wt, dy.T @ x, dy.sum(0))  # autograd's
        else:
            K = num
            theta, bias = (rand(K - 1, h) - 0.5).requires_grad_(), (rand(K - 1) - 0.5).requires_grad_()
            X = rand(batch, h).requires_grad_()
            labels = dev.torch(torch.randint(0, K, (batch,), generator=g))

            def loss(theta=theta, bias=bias, X=X, labels=labels):  # [theta X + b; 0], summed, 3 gradients
                with torch.enable_grad():
                    logits = F.pad(torch.addmm(bias, X, theta.T), (0, 1))
                    nll = F.cross_entropy(logits, labels, reduction="sum")
                    return torch.autograd.grad(nll, (theta, bias, X))

            calls[f"{name} (mlrloss, fwd+bwd)"] = loss
    return calls


def worker(name: str, args) -> None:
    """Time one library's calls in this process; print ``{"batch name": [seconds...]}`` as JSON."""
    import json

    with blas_limit(args.threads):
        torch = torch_or_none(args.threads) if name == "torch" else None
        dev = Device(args.device, torch)
        out = {}
        for batch in args.batch:
            calls = (
                torch_cases(torch, dev, batch)
                if name == "torch"
                else reference_cases(reference(), dev, batch)
            )
            for case, fn in calls.items():
                if torch is not None:
                    with torch.no_grad():
                        out[f"{batch} {case}"] = timeit(dev.timed(fn), repeat=args.repeat)
                else:
                    out[f"{batch} {case}"] = timeit(dev.timed(fn), repeat=args.repeat)
    print(json.dumps(out))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, nargs="+", default=[64, 100])
    ap.add_argument("--repeat", type=int, default=20, help="calls timed per round")
    ap.add_argument("--rounds", type=int, default=3, help="alternating processes per library")
    ap.add_argument("--threads", type=int, help="threads of numpy's BLAS and of torch (default: BLAS's own)")
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args.worker, args)
    with blas_limit(args.threads):
        torch = torch_or_none(args.threads)
        if torch is not None and args.device == "cuda" and not torch.cuda.is_available():
            print("this torch has no CUDA: the PyTorch columns are skipped")
            torch = None
        header(
            f"graded functions at LeNet shapes: reference vs PyTorch, float64, device "
            f"{Device(args.device).describe()}",
            torch,
        )
    times = worker_rounds(
        __file__, sys.argv[1:], ["ref", "torch"] if torch is not None else ["ref"], args.rounds
    )
    print_ratio_table(times, args.batch, args.rounds, args.repeat, width=30)


if __name__ == "__main__":
    main()
