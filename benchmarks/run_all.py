"""Run every benchmark, one after the other, and print their output (the numbers of benchmarks/README.md).

    python benchmarks/run_all.py [--quick] [--skip NAME ...] > benchmarks/results.txt

``--quick`` shortens every run (fewer repeats, 100 training iterations, one throughput level):
a smoke test of the scripts, not numbers to record. Each script's command line and the
load average before and after it are printed: numbers measured while the load average was
above the core count were measured on a busy machine.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

FULL = {
    "layers": ["layers.py"],
    "layers-1thread": ["layers.py", "--threads", "1"],
    "cs231n_layers": ["cs231n_layers.py"],
    "iteration": ["iteration.py"],
    "iteration-1thread": ["iteration.py", "--threads", "1"],
    "grade": ["grade.py"],
    "training_overhead": ["training_overhead.py", "--sandbox"],
    "training_overhead-profile": ["training_overhead.py", "--iterations", "200", "--profile"],
    "throughput": ["throughput.py", "--jobs", "1", "2", "4"],
    "throughput-1blas": ["throughput.py", "--jobs", "2", "4", "--blas-threads", "1"],
    "train_device": ["train_device.py"],
}
QUICK = {
    "layers": ["layers.py", "--repeat", "5", "--batch", "64"],
    "cs231n_layers": ["cs231n_layers.py", "--repeat", "5", "--rounds", "1"],
    "iteration": ["iteration.py", "--repeat", "5", "--batch", "64"],
    "grade": ["grade.py", "--no-train"],
    "training_overhead": ["training_overhead.py", "--iterations", "100"],
    "throughput": ["throughput.py", "--jobs", "2", "--no-train"],
    "train_device": ["train_device.py", "--iterations", "30"],
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--skip", nargs="*", default=[], help="names of benchmarks to leave out")
    args = ap.parse_args()
    failed = []
    for name, argv in (QUICK if args.quick else FULL).items():
        if name in args.skip:
            continue
        cmd = [sys.executable, str(HERE / argv[0]), *argv[1:]]
        print(
            f"\n===== {name}: python benchmarks/{' '.join(argv)} (load average {os.getloadavg()[0]:.2f})",
            flush=True,
        )
        start = time.perf_counter()
        code = subprocess.call(cmd, cwd=HERE.parent)
        print(
            f"===== {name}: {time.perf_counter() - start:.0f} s, exit {code}, "
            f"load average after {os.getloadavg()[0]:.2f}",
            flush=True,
        )
        if code:
            failed.append(name)
    if failed:
        print("failed:", ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
