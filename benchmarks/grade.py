"""The full ``grade`` of a submission (the reference by default): wall time, and where it goes.

    python benchmarks/grade.py [SUBMISSION] [--no-train] [--skip-cli]

Prints, measured in this one run:

1. the wall time of the command a user types, ``python -m harness grade SUBMISSION``
   (interpreter start, fixtures verification, every check, the reports), with and without
   ``--no-train`` (the non-training checks alone);
2. the same grade run in this process, with every request to the sandboxed child recorded:
   the time of each kind of check (fixture comparisons, gradient checks, properties,
   training), how much of it the child spent running the submission's code, and how many
   calls each gradient check cost per case ("a handful of forward calls whatever the size").
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from _common import ROOT, header

from harness import grade as grade_mod
from harness import profiles
from harness.checks import catalogue as checks
from harness.options import Options, TrainOptions
from harness.sandbox.process import Sandbox


def cli_wall(submission: str, extra: list[str]) -> tuple[float, str]:
    """Seconds of ``python -m harness grade SUBMISSION --quiet --no-html EXTRA`` and its last line."""
    with tempfile.TemporaryDirectory() as out:
        cmd = [
            sys.executable,
            "-m",
            "harness",
            "grade",
            submission,
            "--quiet",
            "--no-html",
            "--out",
            out,
            *extra,
        ]
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        took = time.perf_counter() - start
    last = (proc.stdout.strip().splitlines() or ["(no output)"])[-1]
    return took, f"{last} (exit {proc.returncode})"


class Recorder:
    """Records every sandbox request and which check it served."""

    def __init__(self):
        self.calls: list[dict] = []  # task, op, wall seconds in the parent, seconds inside the child
        self.bounds: list[tuple[str, int]] = []  # (check id, number of calls made when it ended)

    def install(self):
        original_run, original_result = Sandbox.run, grade_mod.Grader.result
        rec = self

        def run(sb, task, request, arrays, **kw):
            t0 = time.perf_counter()
            reply = original_run(sb, task, request, arrays, **kw)
            rec.calls.append(
                {
                    "task": task,
                    "op": request.get("op", task),
                    "wall": time.perf_counter() - t0,
                    "child": reply.seconds,
                    "status": reply.status,
                }
            )
            return reply

        def result(grader, spec, outcomes, seconds):
            rec.bounds.append((spec.id, len(rec.calls)))
            return original_result(grader, spec, outcomes, seconds)

        Sandbox.run, grade_mod.Grader.result = run, result
        return lambda: (
            setattr(Sandbox, "run", original_run),
            setattr(grade_mod.Grader, "result", original_result),
        )

    def calls_by_check(self) -> dict[str, list[dict]]:
        out, start = {}, 0
        for check_id, end in self.bounds:
            out[check_id] = self.calls[start:end]
            start = end
        return out


def in_process(submission: str, train: bool) -> None:
    rec = Recorder()
    restore = rec.install()
    try:
        start = time.perf_counter()
        report = grade_mod.grade(submission, Options(training=TrainOptions(enabled=train)))
        wall = time.perf_counter() - start
    finally:
        restore()
    if report.autograder_error:
        print("autograder error:", report.autograder_error.splitlines()[0])
    kinds = {s.id: s.kind for s in checks.catalogue(profiles.get().FUNCTIONS)}
    per_check = rec.calls_by_check()
    rows: dict[str, dict] = defaultdict(lambda: defaultdict(float))
    for r in report.checks:
        kind = kinds.get(r.id, "train" if r.id.startswith("train") else "other")
        row = rows[kind]
        row["checks"] += 1
        row["seconds"] += r.duration
        for call in per_check.get(r.id, []):
            row["calls"] += 1
            row["child"] += call["child"]
    unit = sum(v["seconds"] for k, v in rows.items() if k != "train")
    training = rows["train"]["seconds"] if "train" in rows else 0.0
    if train and "train" not in rows:  # a training check that bypasses Grader.result
        training = sum(r.duration for r in report.checks if r.id.startswith("train"))
    print(f"\nin-process grade of {submission}: {report.score:g}/{report.max_score:g} in {wall:.2f} s wall")
    print(f"{'kind':12s} {'checks':>6s} {'calls':>6s} {'seconds':>8s} {'in child':>9s}")
    for kind, row in sorted(rows.items()):
        print(
            f"{kind:12s} {int(row['checks']):6d} {int(row['calls']):6d} {row['seconds']:8.2f} {row['child']:9.2f}"
        )
    print(
        f"unit checks {unit:.2f} s, training {training:.2f} s, "
        f"the rest (sandbox start, fixtures verification, scoring) {wall - unit - training:.2f} s"
    )
    child_total = sum(c["child"] for c in rec.calls)
    wall_total = sum(c["wall"] for c in rec.calls)
    print(
        f"{len(rec.calls)} requests to the child: {wall_total:.2f} s wall in the parent, "
        f"{child_total:.2f} s inside the child's task (protocol and process overhead "
        f"{wall_total - child_total:.2f} s, {1e3 * (wall_total - child_total) / max(1, len(rec.calls)):.1f} ms per request)"
    )
    print("\ngradient checks: requests per case (1 backward + the forward calls of the finite differences)")
    for r in report.checks:
        if kinds.get(r.id) == "gradcheck":
            calls = per_check.get(r.id, [])
            sum(1 for c in calls if not c["op"].endswith("backward") or c["op"] == "mlrloss")
            cases = max(1, r.cases_total)
            print(
                f"  {r.id:28s} {r.cases_total:2d} cases, {len(calls) / cases:5.1f} requests per case, "
                f"{r.duration:5.2f} s  ({r.status.value})"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("submission", nargs="?", default="reference")
    ap.add_argument("--no-train", action="store_true", help="the non-training checks only")
    ap.add_argument("--skip-cli", action="store_true", help="only the in-process breakdown")
    args = ap.parse_args()
    header(f"grade {args.submission}: wall time and where it goes")
    submission = str((ROOT / args.submission) if not Path(args.submission).is_absolute() else args.submission)
    if not args.skip_cli:
        variants = [["--no-train"]] if args.no_train else [[], ["--no-train"]]
        for extra in variants:
            took, last = cli_wall(args.submission, extra)
            print(f"python -m harness grade {args.submission} {' '.join(extra)}: {took:.2f} s wall -> {last}")
    in_process(submission, train=not args.no_train)


if __name__ == "__main__":
    main()
