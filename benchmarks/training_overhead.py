"""The training check's overhead over the submission's own compute.

    python benchmarks/training_overhead.py [--iterations 500] [--threads N] [--sandbox] [--profile] [--copies]

Runs the training loop of the ``train.lenet`` check (``harness.child.training.train`` through the
same caller the sandboxed child uses, ``harness.child.tasks._caller``) in this process on
the reference, with a timer around each of the submission's functions. Prints:

* the submission's own compute: seconds inside its 9 functions (training iterations and
  held-out evaluations);
* the harness's share, split into: the dict-API adapter and the read-only views of the
  inputs (``call`` minus the function), and the training loop itself (validation of the
  outputs, SGD update, gradient norms and dead-gradient counts, progress file, evaluation
  bookkeeping);
* the overhead, harness / own compute (target <= 10%); with ``--profile``, a sampling
  profile of the harness's share by line (a separate run: the sampler slows the loop);
* with ``--copies``, the same with copies of every input instead (what the check did first);
* for comparison, the wall time of the submission's own training script
  (reference/train_lenet.py's ``train``: its glue, its SGD) doing the same work.

With ``--sandbox`` it also runs the whole ``train.lenet`` check through the sandbox and
prints what the child process, the transfer and the verdict add on top.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

from _common import ROOT, blas_limit, header

from harness import profiles
from harness.cases import reference
from harness.child import training
from harness.child.tasks import _caller, progress_writer
from harness.core import paths
from harness.core.loader import load_isolated


def timed_functions(counter: dict) -> dict:
    """The reference's functions, each accumulating its own run time in ``counter[name]``."""
    fns = dict(reference.functions())

    def wrap(name, fn):
        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                counter[name] += time.perf_counter() - t0

        return timed

    return {name: wrap(name, fn) for name, fn in fns.items()}


def make_call(functions: dict, in_call: dict, copies: bool = False):
    """The child's caller (tasks._caller: read-only views of the inputs), timed as a whole.

    ``copies=True`` measures what the check did before: copies of every input of every call.
    """
    prof = profiles.get()
    inner = _caller(functions, prof, {})
    if copies:

        def inner(op_name, params, arrays):
            return prof.call(functions, op_name, params, {k: v.copy() for k, v in arrays.items()})[0]

    def call(op_name, params, arrays):
        t0 = time.perf_counter()
        try:
            return inner(op_name, params, arrays)
        finally:
            in_call["seconds"] += time.perf_counter() - t0

    return call


def in_process(iterations: int, profile: bool, copies: bool = False) -> float:
    cfg = training.TrainConfig(iterations=iterations, time_limit_s=1e9)
    x_train, y_train, x_eval, y_eval = training.dataset(cfg)
    own: dict = defaultdict(float)
    in_call = {"seconds": 0.0}
    call = make_call(timed_functions(own), in_call, copies)
    progress_file = Path("/tmp") / f"bench-progress-{id(own)}.json"
    progress = progress_writer(progress_file)  # what the child does

    sampler = _Sampler() if profile else None
    if sampler:
        sampler.start()
    start = time.perf_counter()
    outcome = training.train(call, x_train, y_train, x_eval, cfg, progress=progress)
    wall = time.perf_counter() - start
    if sampler:
        sampler.stop()
    progress_file.unlink(missing_ok=True)
    compute = sum(own.values())
    adapter = in_call["seconds"] - compute
    loop = wall - in_call["seconds"]
    acc = (
        float((outcome.scores.argmax(axis=0) == y_eval).mean())
        if outcome.scores is not None
        else float("nan")
    )
    print(
        f"\ntraining loop of the check, in process{', copies of every input (the old way)' if copies else ''}: "
        f"{outcome.iterations_done} iterations of batch {cfg.batch_size}, {outcome.status}, "
        f"held-out accuracy {acc:.4f}"
    )
    print(
        f"  wall                       {wall:8.2f} s  ({1e3 * wall / max(1, outcome.iterations_done):.1f} ms per iteration)"
    )
    print(f"  submission's own compute   {compute:8.2f} s")
    print(f"  harness: adapter + copies  {adapter:8.2f} s  ({100 * adapter / compute:5.1f}% of own compute)")
    print(f"  harness: training loop     {loop:8.2f} s  ({100 * loop / compute:5.1f}%)")
    print(
        f"  harness overhead           {wall - compute:8.2f} s  ({100 * (wall - compute) / compute:5.1f}%, target <= 10%)"
    )
    print(
        "  own compute by function: "
        + ", ".join(f"{k} {v:.2f}" for k, v in sorted(own.items(), key=lambda kv: -kv[1]))
    )
    if sampler:
        sampler.report()
    return wall


class _Sampler:
    """A tiny in-process sampling profiler of the main thread: where the harness's time goes, by line."""

    def __init__(self, interval: float = 0.002):
        self.interval, self.counts, self.total = interval, Counter(), 0
        self._stop = False

    def start(self):
        import threading

        self.main = threading.main_thread().ident
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self._stop:
            frame = sys._current_frames().get(self.main)
            self.total += 1
            # the innermost frame outside the reference's modules: who is spending the time
            while frame is not None:
                code = frame.f_code
                if "reference" in code.co_filename or "benchmarks" in code.co_filename:
                    self.counts["(the submission's functions)"] += 1
                    break
                if "/harness/" in code.co_filename:
                    where = f"{Path(code.co_filename).name}:{frame.f_lineno} {code.co_name}"
                    self.counts[where] += 1
                    break
                frame = frame.f_back
            time.sleep(self.interval)

    def stop(self):
        self._stop = True
        self.thread.join()

    def report(self, top: int = 12):
        print("  sampled (main thread), share of the run:")
        for where, n in self.counts.most_common(top):
            print(f"    {100 * n / max(1, self.total):5.1f}%  {where}")


def standalone(iterations: int) -> float:
    """The submission's own training script for the same work: reference/train_lenet.py's loop.

    Same data, batch size, seed and iterations, with its own glue (conv_net.py) and SGD; it
    scores the first 500 held-out digits every 100 iterations (its own end included) and
    then all of them, about what the check scores.
    """
    fns = load_isolated(paths.REFERENCE_DIR, ["train", "evaluate"])
    cfg = training.TrainConfig(iterations=iterations)
    x_train, y_train, x_eval, y_eval = training.dataset(cfg)
    start = time.perf_counter()
    params, layers = fns["train"](
        x_train,
        y_train,
        iters=iterations,
        batch_size=cfg.batch_size,
        seed=cfg.seed,
        xval=x_eval[:, : cfg.eval_subset],
        yval=y_eval[: cfg.eval_subset],
        log_every=cfg.eval_every,
        log=lambda line: None,
    )
    acc = fns["evaluate"](params, layers, x_eval, y_eval)
    wall = time.perf_counter() - start
    print(
        f"\nthe reference's own train_lenet.train for the same work: {wall:.2f} s "
        f"({1e3 * wall / iterations:.1f} ms per iteration), held-out accuracy {acc:.4f}"
    )
    return wall


def through_sandbox(inprocess_wall: float) -> None:
    from harness import grade as grade_mod
    from harness.options import Options

    start = time.perf_counter()
    report = grade_mod.grade(str(ROOT / "reference"), Options(only=("train.lenet",)))
    wall = time.perf_counter() - start
    check = next((c for c in report.checks if c.id == "train.lenet"), None)
    if check is None:
        print("\nthe grade has no train.lenet check yet:", report.autograder_error.splitlines()[:1])
        return
    print(f"\ntrain.lenet through the sandbox: {check.status.value} '{check.message}'")
    print(
        f"  check {check.duration:.2f} s, whole grade --only train.lenet {wall:.2f} s; "
        f"the in-process loop took {inprocess_wall:.2f} s: sandbox, transfer, verdict and figures add "
        f"{check.duration - inprocess_wall:.2f} s"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iterations", type=int, default=training.TrainConfig().iterations)
    ap.add_argument("--threads", type=int, help="threads of numpy's BLAS (default: its own)")
    ap.add_argument(
        "--profile",
        action="store_true",
        help="add a sampling profile of where the harness's share goes (it slows the loop itself)",
    )
    ap.add_argument(
        "--copies",
        action="store_true",
        help="also measure the loop with copies of every input (what the check did before views)",
    )
    ap.add_argument(
        "--sandbox", action="store_true", help="also run the train.lenet check through the sandbox"
    )
    args = ap.parse_args()
    with blas_limit(args.threads):
        header("the training check's overhead over the submission's own compute")
        wall = in_process(args.iterations, profile=args.profile)
        if args.copies:
            in_process(args.iterations, profile=False, copies=True)
        own = standalone(args.iterations)
        print(f"the check's loop vs the submission's own training script: {100 * (wall / own - 1):+.1f}%")
    if args.sandbox:
        through_sandbox(wall)


if __name__ == "__main__":
    main()
