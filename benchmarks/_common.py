"""Shared by the benchmark scripts: the machine header, a fair timer, the reference, torch.

Benchmarks are scripts, not tests: each prints numbers measured in one run, with the
machine they were measured on. Run them from the project root, e.g.
``python benchmarks/layers.py``. See ``benchmarks/README.md``.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python benchmarks/x.py` from anywhere imports the harness
    sys.path.insert(0, str(ROOT))

from harness.core import paths  # noqa: E402
from harness.core.loader import load_isolated  # noqa: E402

REFERENCE_NAMES = [
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
    "get_lr",
]


def reference() -> dict:
    """The reference's functions by name (graded ones and the provided glue)."""
    return load_isolated(paths.REFERENCE_DIR, REFERENCE_NAMES)


def blas_threads() -> int:
    """Threads of numpy's BLAS (threadpoolctl), or the core count when unknown."""
    try:
        from threadpoolctl import threadpool_info

        return max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")
    except Exception:
        return os.cpu_count() or 1


def blas_text() -> str:
    """Which BLAS numpy calls and which kernel it runs (threadpoolctl), e.g. ``openblas 0.3.31 SkylakeX``."""
    try:
        from threadpoolctl import threadpool_info

        return "; ".join(
            f"{i.get('internal_api')} {i.get('version')} kernel {i.get('architecture', '?')} "
            f"({i.get('num_threads')} threads)"
            for i in threadpool_info()
            if i["user_api"] == "blas"
        )
    except Exception:
        return "unknown (pip install threadpoolctl)"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def torch_or_none(threads: int | None = None):
    """torch with ``threads`` intra-op threads, or None (torch is an optional benchmark dependency)."""
    try:
        import torch
    except ImportError:
        print(
            "torch is not installed: the PyTorch columns are skipped "
            "(optional benchmark dependency: pip install torch, a CPU build)"
        )
        return None
    torch.set_num_threads(threads or blas_threads())
    return torch


def header(title: str, torch=None) -> None:
    """Print what the numbers below were measured on."""
    env = {
        k: os.environ[k]
        for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")
        if k in os.environ
    }
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",)
    print(f"# {title}")
    print(f"# machine: {cpu_model()}, {os.cpu_count()} cores, load average {load[0]:.2f} at start")
    print(f"# python {platform.python_version()}, numpy {np.__version__}, BLAS: {blas_text()}")
    print(f"# BLAS environment: {env or 'none set'}")
    if torch is not None:
        print(f"# torch {torch.__version__}, {torch.get_num_threads()} intra-op threads")
    print(f"# command: {' '.join([Path(sys.executable).name, *sys.argv])}")


def timeit(fn, repeat: int = 30, warmup: int = 3, min_time: float = 0.0) -> list[float]:
    """Seconds of ``repeat`` calls of ``fn()`` after ``warmup`` calls (at least ``min_time`` s in all)."""
    for _ in range(warmup):
        fn()
    times = []
    start = time.perf_counter()
    while len(times) < repeat or time.perf_counter() - start < min_time:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def interleaved(fns: dict, repeat: int = 30, warmup: int = 3) -> dict[str, list[float]]:
    """Time several functions in alternation, so a load that comes and goes hits them alike."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return times


def med(ts: list[float]) -> float:
    return statistics.median(ts)


def ms(t: float | None) -> str:
    return "-" if t is None else f"{t * 1e3:.3f}"


def blas_limit(threads: int | None):
    """Context: numpy's BLAS limited to ``threads`` (no-op for None); torch_or_none follows it."""
    import contextlib

    if not threads:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=threads, user_api="blas")


class Device:
    """Where a benchmark runs: ``cpu`` (numpy, torch CPU) or ``cuda`` (cupy, torch CUDA).

    ``ref(a)`` moves a numpy array where the reference computes; ``torch(t)`` moves a
    tensor; ``sync()`` waits for queued GPU work, so that timers measure the work itself.
    """

    def __init__(self, name: str = "cpu", torch=None):
        self.name, self._torch = name, torch
        if name == "cuda":
            import cupy  # a clear ImportError when cupy is absent

            self.xp = cupy
        else:
            self.xp = np

    def ref(self, a):
        return a if self.xp is np else self.xp.asarray(a)

    def torch(self, t):
        return t if self.name == "cpu" else t.to("cuda")

    def sync(self) -> None:
        if self.name == "cuda":
            self.xp.cuda.Device().synchronize()
            if self._torch is not None and self._torch.cuda.is_available():
                self._torch.cuda.synchronize()

    def timed(self, fn):
        """``fn`` followed by a synchronisation (a no-op on the CPU)."""
        if self.name == "cpu":
            return fn

        def run():
            fn()
            self.sync()

        return run

    def describe(self) -> str:
        if self.name == "cpu":
            return "cpu"
        props = self.xp.cuda.runtime.getDeviceProperties(self.xp.cuda.Device().id)
        return f"cuda: {props['name'].decode() if isinstance(props['name'], bytes) else props['name']}"


def worker_rounds(script: str, args: list[str], workers: list[str], rounds: int = 3) -> dict[str, dict]:
    """Run ``script --worker W ARGS`` for each worker W, ``rounds`` times in alternation.

    Each library is timed in a process of its own: numpy's BLAS threads and PyTorch's
    OpenMP threads both spin for a while after their work, and in one process they take
    the cores from each other. Alternating the processes spreads a changing machine
    load over both. Each worker prints one JSON object ``{name: [seconds, ...]}`` as its
    last line; the lists of all rounds are joined.
    """
    import json
    import subprocess

    merged: dict[str, dict] = {w: {} for w in workers}
    for _ in range(rounds):
        for w in workers:
            proc = subprocess.run(
                [sys.executable, script, "--worker", w, *args], capture_output=True, text=True
            )
            if proc.returncode:
                raise SystemExit(f"worker {w} failed:\n{proc.stderr[-2000:]}")
            for name, times in json.loads(proc.stdout.strip().splitlines()[-1]).items():
                merged[w].setdefault(name, []).extend(times)
    return merged


def print_ratio_table(
    times: dict[str, dict], batches: list[int], rounds: int, repeat: int, width: int
) -> None:
    """The reference's per-call times beside PyTorch's (``worker_rounds`` results), one table per batch."""
    ours, theirs = times["ref"], times.get("torch", {})
    for batch in batches:
        print(f"\nbatch {batch}: ms per call, median of {rounds} x {repeat} (best in brackets)")
        print(f"{'function':{width}s} {'reference':>10s} {'pytorch':>10s} {'ratio':>6s}   {'best':>20s}")
        total_ref = total_torch = 0.0
        for key in [k for k in ours if k.startswith(f"{batch} ")]:
            name = key.split(" ", 1)[1]
            r, rmin = med(ours[key]), min(ours[key])
            t, tmin = (med(theirs[key]), min(theirs[key])) if key in theirs else (None, None)
            total_ref += r
            total_torch += t or 0.0
            line = f"{name:{width}s} {ms(r):>10s} {ms(t):>10s} "
            line += f"{r / t:6.2f}   [{ms(rmin)} / {ms(tmin)} = {rmin / tmin:.2f}]" if t else "     -"
            print(line)
        print(
            f"{'sum':{width}s} {ms(total_ref):>10s} {ms(total_torch or None):>10s} "
            + (f"{total_ref / total_torch:6.2f}" if total_torch else "     -")
        )
