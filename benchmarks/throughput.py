"""Grading throughput: several submissions graded at once.

    python benchmarks/throughput.py [SUBMISSION] [--jobs 1 2 4] [--no-train] [--blas-threads N]

For each N in ``--jobs``, starts N copies of ``python -m harness grade SUBMISSION`` at the
same moment (each its own grader and sandboxed child, as a course's batch job would) and
prints the wall time until the last one ends, submissions per minute, and the slowest
single grade. ``--blas-threads N`` sets OPENBLAS_NUM_THREADS (and OMP_NUM_THREADS) for the
graders and their children, which the sandbox passes on: with more graders than cores,
1 avoids oversubscription.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

from _common import ROOT, header


def grade_many(submission: str, n: int, extra: list[str], env: dict) -> tuple[float, list[float], list[str]]:
    """Start n grades at once; (wall until the last ends, each one's seconds, each one's last line)."""
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        procs = []
        for i in range(n):
            cmd = [
                sys.executable,
                "-m",
                "harness",
                "grade",
                submission,
                "--quiet",
                "--no-html",
                "--out",
                os.path.join(tmp, str(i)),
                *extra,
            ]
            procs.append(
                (
                    subprocess.Popen(
                        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
                    ),
                    time.perf_counter(),
                )
            )
        each, lines = [], []
        for proc, t0 in procs:
            out, _ = proc.communicate()
            each.append(time.perf_counter() - t0)
            lines.append(((out or "").strip().splitlines() or ["?"])[-1])
        return time.perf_counter() - start, each, lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("submission", nargs="?", default="reference")
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--no-train", action="store_true", help="grade without the training check")
    ap.add_argument("--blas-threads", type=int, help="OPENBLAS_NUM_THREADS / OMP_NUM_THREADS of every grader")
    args = ap.parse_args()
    env = dict(os.environ)
    if args.blas_threads:
        env.update(OPENBLAS_NUM_THREADS=str(args.blas_threads), OMP_NUM_THREADS=str(args.blas_threads))
    extra = ["--no-train"] if args.no_train else []
    header(
        f"grading throughput: {args.submission} {' '.join(extra)}, "
        f"BLAS threads per grader: {args.blas_threads or 'default'}"
    )
    print(f"\n{'at once':>7s} {'wall s':>8s} {'per minute':>11s} {'slowest s':>10s}  scores")
    for n in args.jobs:
        wall, each, lines = grade_many(args.submission, n, extra, env)
        print(f"{n:7d} {wall:8.1f} {60 * n / wall:11.2f} {max(each):10.1f}  {', '.join(sorted(set(lines)))}")


if __name__ == "__main__":
    main()
