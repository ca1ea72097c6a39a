"""One LeNet training iteration: the reference vs PyTorch CPU, at the same thread count.

    python benchmarks/iteration.py [--batch 64 100] [--repeat 20] [--rounds 3] [--threads N]

An iteration is forward, loss, backward and the SGD-with-momentum update of every
parameter, float64, on a fixed batch of random digits:

* reference: ``conv_net`` (reference/conv_net.py, the provided glue calling the reference's
  layers) + ``sgd_momentum``, as reference/train_lenet.py runs it;
* PyTorch: the same network (conv 20 k5, ReLU, max-pool 2, conv 50 k5, ReLU, max-pool 2,
  linear 500, ReLU, loss over 9 parameterised classes and a fixed zero score),
  ``torch.optim.SGD(momentum=0.9, weight_decay=5e-4)``, autograd.

The reference computes the first conv layer's input gradient too (the API returns it);
PyTorch's autograd skips it. Times: median (and best) of ``--rounds`` x ``--repeat`` iterations, the two
timed in alternating processes (one library per process: their thread pools would fight in one);
the ratio is reference / PyTorch.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from _common import blas_limit, header, med, ms, reference, timeit, torch_or_none, worker_rounds

MU, BASE_LR, GAMMA, POWER, DECAY = 0.9, 0.01, 1e-4, 0.75, 5e-4


def reference_step(ref: dict, batch: int, seed: int = 0):
    """A closure running one training iteration of the reference (its state carried along)."""
    rng = np.random.default_rng(seed)
    layers = ref["get_lenet"](batch)
    state = {"params": ref["init_convnet"](layers, seed=seed), "it": 0}
    state["winc"] = [{"w": np.zeros_like(p["w"]), "b": np.zeros_like(p["b"])} for p in state["params"]]
    x = rng.uniform(0, 1, (784, batch))
    y = rng.integers(0, 10, (1, batch)).astype(np.float64)

    def step():
        _, grads = ref["conv_net"](state["params"], layers, x, y)
        lr = ref["get_lr"](state["it"], BASE_LR, GAMMA, POWER)
        state["params"], state["winc"] = ref["sgd_momentum"](
            lr, 2 * lr, MU, DECAY, state["params"], state["winc"], grads
        )
        state["it"] += 1

    return step


def torch_step(torch, batch: int, seed: int = 0):
    """A closure running one training iteration of the same network in PyTorch."""
    nn = torch.nn
    torch.manual_seed(seed)

    class Loss9(nn.Module):  # K-1 = 9 parameterised classes, the 10th scores zero (contract section 4)
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(500, 9)

        def forward(self, x):
            return nn.functional.pad(self.fc(x), (0, 1))

    net = nn.Sequential(
        nn.Conv2d(1, 20, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(20, 50, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(800, 500),
        nn.ReLU(),
        Loss9(),
    ).double()
    decay = [p for n, p in net.named_parameters() if n.endswith("weight")]
    no_decay = [p for n, p in net.named_parameters() if n.endswith("bias")]
    opt = torch.optim.SGD(
        [{"params": decay, "weight_decay": DECAY}, {"params": no_decay, "lr": 2 * BASE_LR}],
        lr=BASE_LR,
        momentum=MU,
    )
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda it: (1 + GAMMA * it) ** (-POWER))
    x = torch.rand(batch, 1, 28, 28, dtype=torch.float64)
    y = torch.randint(0, 10, (batch,))
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss_fn(net(x), y).backward()
        opt.step()
        sched.step()

    return step


def worker(name: str, args) -> None:
    """Time one library's iterations in this process; print ``{batch: [seconds...]}`` as JSON."""
    import json

    with blas_limit(args.threads):
        torch = torch_or_none(args.threads) if name == "torch" else None
        out = {}
        for batch in args.batch:
            step = torch_step(torch, batch) if name == "torch" else reference_step(reference(), batch)
            out[str(batch)] = timeit(step, repeat=args.repeat, warmup=5)
    print(json.dumps(out))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, nargs="+", default=[64, 100])
    ap.add_argument("--repeat", type=int, default=20, help="iterations timed per round")
    ap.add_argument("--rounds", type=int, default=3, help="alternating processes per library")
    ap.add_argument("--threads", type=int, help="threads of numpy's BLAS and of torch (default: BLAS's own)")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args.worker, args)
    with blas_limit(args.threads):
        torch = torch_or_none(args.threads)
        header("one LeNet training iteration (forward, backward, SGD), float64", torch)
    passed = [a for a in sys.argv[1:]]
    times = worker_rounds(__file__, passed, ["ref", "torch"] if torch is not None else ["ref"], args.rounds)
    print(
        f"\n{'batch':>5s} {'reference ms':>13s} {'pytorch ms':>11s} {'ratio':>6s}   "
        f"(medians of {args.rounds} x {args.repeat}; best in brackets)"
    )
    for batch in map(str, args.batch):
        r, rmin = med(times["ref"][batch]), min(times["ref"][batch])
        if torch is None:
            print(f"{batch:>5s} {ms(r):>13s} {'-':>11s} {'-':>6s}")
            continue
        t, tmin = med(times["torch"][batch]), min(times["torch"][batch])
        print(
            f"{batch:>5s} {ms(r):>13s} {ms(t):>11s} {r / t:6.2f}   "
            f"[{ms(rmin)} / {ms(tmin)} = {rmin / tmin:.2f}]"
        )


if __name__ == "__main__":
    main()
