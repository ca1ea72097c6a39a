"""The training check's time box against each rubric's budget: correct but slow submissions.

    python benchmarks/training_budgets.py [--seconds 1.5 3] [--rubric default historical] [--jobs 4]

Grades ``train.lenet`` of the slowed correct submission (``tests/corpus/slowed``: the reference
with an inner-product backward that sleeps, so that an iteration takes about ``--seconds``)
under each rubric's own budget (its ``[train]`` iterations and time limit), and prints for
each: seconds per iteration measured, iterations done, the grader's held-out accuracy, the
credit of the rubric's bands and the training points. The runs are mostly asleep: ``--jobs``
of them run side by side. This measures the README's section "The training check's time box".
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMPUTE_S = 0.04  # the rest of an iteration on the 2-core machine, idle (README: 39-41 ms)


def one(rubric_name: str, seconds: float) -> dict:
    from harness.checks import rubric as rubric_mod
    from harness.core import paths
    from harness.grade import grade
    from harness.options import Options

    folder = Path(tempfile.mkdtemp(prefix="slowed-"))
    try:
        for f in paths.REFERENCE_DIR.glob("*.py"):
            shutil.copyfile(f, folder / f.name)
        source = (ROOT / "tests" / "corpus" / "slowed" / "inner_product.py").read_text()
        sleep = max(seconds - COMPUTE_S, 0.0)
        (folder / "inner_product.py").write_text(source.replace("SLEEP_S = 1.46", f"SLEEP_S = {sleep:.3f}"))
        path = paths.PACKAGE_DIR / "rubrics" / f"{rubric_name}.toml"
        rubric = rubric_mod.load(path)
        start = time.perf_counter()
        report = grade(folder, Options(only=("train.lenet",), rubric=str(path)))
        (check,) = report.checks
        n = check.numbers
        return {
            "rubric": rubric_name,
            "target_s": seconds,
            "limit_s": rubric.train.get("time_limit_s"),
            "iterations": n.get("iterations"),
            "done": n.get("iterations_done"),
            "s_per_it": n.get(
                "seconds_per_iteration", n.get("elapsed_s", 0) / max(n.get("iterations_done", 1), 1)
            ),
            "accuracy": n.get("accuracy"),
            "full_speed": n.get("full_speed_accuracy"),
            "credit": n.get("credit"),
            "points": f"{check.score:g} / {check.max_score:g}",
            "check_s": time.perf_counter() - start,
            "message": check.message,
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, nargs="+", default=[1.5, 3.0])
    p.add_argument("--rubric", nargs="+", default=["default", "historical"])
    p.add_argument("--jobs", type=int, default=4)
    args = p.parse_args()
    runs = [(r, s) for r in args.rubric for s in args.seconds]
    print(f"load average before: {os.getloadavg()}", flush=True)
    with ProcessPoolExecutor(args.jobs) as pool:
        results = list(pool.map(one, *zip(*runs)))
    print(f"load average after: {os.getloadavg()}")
    print(
        "| rubric | target s/it | limit | measured s/it | iterations done | held-out accuracy | "
        "full speed | credit | points | check took |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['rubric']} | {r['target_s']:g} | {r['limit_s']:g} s | {r['s_per_it']:.2f} | "
            f"{r['done']} of {r['iterations']} | {r['accuracy']:.3f} | {r['full_speed'] or float('nan'):.3f} | "
            f"{r['credit']:.0%} | {r['points']} | {r['check_s']:.0f} s |"
        )
    for r in results:
        print(f"{r['rubric']} {r['target_s']:g} s: {r['message']}", file=sys.stderr)


if __name__ == "__main__":
    main()
