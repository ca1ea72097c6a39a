"""The training check's loop on the CPU and on the GPU, side by side: seconds and speed-up.

    python benchmarks/train_device.py [--iterations 500] [--batch 64]

Runs ``harness.child.training.train`` (the loop of the ``train.lenet`` check, held-out evaluations
included) with the reference's layers, first on numpy, then on cupy, in this process, and
prints both wall times, the ratio and the held-out predictions' agreement. Without cupy and
a CUDA device it says so and prints the CPU row alone.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _common import header

from harness import profiles
from harness.cases import reference
from harness.child import training
from harness.core import device


def run(xp, iterations: int, batch: int, data) -> tuple[float, np.ndarray, float]:
    """(seconds, final held-out predictions, last batch loss) of one training on ``xp``."""
    x, y, xe, _ = data
    config = training.TrainConfig(iterations=iterations, batch_size=batch, time_limit_s=3600)
    call = reference.caller(profiles.get())
    training.train(call, x, y, xe, training.TrainConfig(iterations=3, batch_size=batch), xp=xp)  # warm-up
    start = time.perf_counter()
    outcome = training.train(call, x, y, xe, config, xp=xp)
    device.synchronize(xp)
    took = time.perf_counter() - start
    assert outcome.status == training.COMPLETED, outcome.failure
    return took, outcome.scores.argmax(axis=0), float(outcome.loss[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=500)
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()
    header(f"train.lenet loop, reference layers, {args.iterations} iterations of batch {args.batch}")
    data = training.dataset()
    y_eval = data[3]
    cpu_s, cpu_pred, cpu_loss = run(np, args.iterations, args.batch, data)
    print(
        f"cpu  (numpy): {cpu_s:7.2f} s  {cpu_s / args.iterations * 1e3:6.2f} ms/iteration  "
        f"held-out {np.mean(cpu_pred == y_eval):.4f}  last loss {cpu_loss:.4f}"
    )
    try:
        cp = device.array_module(device.CUDA)
    except device.DeviceError as exc:
        print(f"cuda: skipped ({exc})")
        return
    name = cp.cuda.runtime.getDeviceProperties(0)["name"].decode()
    gpu_s, gpu_pred, gpu_loss = run(cp, args.iterations, args.batch, data)
    print(
        f"cuda (cupy, {name}): {gpu_s:7.2f} s  {gpu_s / args.iterations * 1e3:6.2f} ms/iteration  "
        f"held-out {np.mean(gpu_pred == y_eval):.4f}  last loss {gpu_loss:.4f}"
    )
    print(
        f"speed-up cuda over cpu: {cpu_s / gpu_s:.2f}x; same held-out predictions for "
        f"{np.mean(gpu_pred == cpu_pred):.4f} of the digits"
    )


if __name__ == "__main__":
    main()
