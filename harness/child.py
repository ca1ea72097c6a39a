"""The sandboxed child: imports the submission and serves the grader's requests.

Started by ``harness.sandbox`` as ``python -I -m harness.child CONFIG`` inside resource
limits. It reads one request at a time (a line naming a folder that holds
``request.json`` and ``inputs.npz``), runs it, writes ``reply.json`` and one ``.npy``
per returned array into that folder, and answers with a line. Nothing here decides a
verdict: the parent validates every byte it reads back, and expected values never
reach this process.
"""
from __future__ import annotations

import json
import os
import signal
import sys
import time
import traceback
from pathlib import Path

import numpy as np

# Exact types only: a subclass may lie about its values (see sandbox.read_outputs).
SCALAR_TYPES = (float, int, np.float64, np.float32, np.float16, np.int64, np.int32)


class Functions(dict):
    """The submission's functions, imported on first use so one broken module spoils only its own."""

    def __init__(self, config: dict):
        super().__init__()
        self.files = config["functions"]  # function name -> file name in the submission folder
        self.folder = Path(config["folder"])

    def __missing__(self, name):
        from harness.loader import import_module_file
        if name not in self.files:
            raise NotImplementedError(f"{name} is not defined in the submission")
        path = self.folder / self.files[name]
        module = import_module_file(path, path.stem)
        fn = getattr(module, name, None)
        if not callable(fn):
            raise NotImplementedError(f"{name} is not defined in {path.name}")
        self[name] = fn
        return fn


def describe(obj, path: Path) -> dict:
    """Save one returned value as .npy if it is acceptable, else describe what it is."""
    from harness.profiles.dictapi import is_missing
    missing = is_missing(obj)
    if missing:
        return {"problem": missing}
    if type(obj).__module__.startswith("cupy") and hasattr(obj, "get"):
        obj = obj.get()
    if type(obj) in SCALAR_TYPES:
        np.save(path, np.asarray(obj), allow_pickle=False)
        return {"kind": "scalar", "type": type(obj).__name__, "dtype": str(np.asarray(obj).dtype)}
    if type(obj) is not np.ndarray:
        return {"problem": "wrong type", "type": f"{type(obj).__module__}.{type(obj).__qualname__}"}
    if obj.dtype.kind not in "biuf":
        return {"problem": "wrong dtype", "type": "numpy.ndarray", "dtype": str(obj.dtype),
                "shape": list(obj.shape)}
    np.save(path, obj, allow_pickle=False)
    return {"kind": "ndarray", "type": "numpy.ndarray", "dtype": str(obj.dtype), "shape": list(obj.shape)}


def student_traceback(exc: BaseException, roots: list[str]) -> str:
    """The traceback, keeping only frames in the submission's own files."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if any(f.filename.startswith(r) for r in roots)]
    for f in frames:  # name files as the student knows them: relu.py, not a temporary path
        f.filename = os.path.basename(f.filename)
    lines = traceback.format_list(frames) + traceback.format_exception_only(type(exc), exc)
    return "".join(lines)[-4000:]


def run_call(functions, profile, request: dict, inputs: dict, folder: Path) -> dict:
    outputs, meta, passed = profile.call(functions, request["op"], request["params"], inputs)
    reply = {"outputs": {}, "meta": {}, "after": {}}
    for name, obj in outputs.items():
        reply["outputs"][name] = describe(obj, folder / f"out_{name}.npy")
    for key, value in meta.items():
        reply["meta"][key] = value if type(value) in (int, float, str, bool) else repr(value)[:80]
    if request.get("after"):
        # The arrays that were passed in, as they are now: the parent checks they did not change.
        for name, value in _flatten(passed).items():
            reply["after"][name] = describe(value, folder / f"after_{name}.npy")
    return reply


def _flatten(passed: dict) -> dict:
    """``{'param': {'w': a}}`` -> ``{'param.w': a}`` for the arrays, plus each dict's key set."""
    flat = {}
    for dname, d in passed.items():
        if isinstance(d, dict):
            for key, value in d.items():
                if isinstance(value, np.ndarray):
                    flat[f"{dname}.{key}"] = value
        elif isinstance(d, np.ndarray):
            flat[dname] = d
    return flat


def serve(config: dict, cmd_in, reply_out) -> None:
    from harness import profiles
    profile = profiles.get(config.get("profile", "dictapi"))
    functions = Functions(config)
    roots = [str(Path(config["folder"])), *config.get("provided", [])]
    tasks = {"call": lambda req, arrays, folder: run_call(functions, profile, req, arrays, folder)}
    from harness import training_check  # the LeNet training runs here too
    tasks.update(training_check.child_tasks(functions, profile))
    for line in cmd_in:
        folder = Path(line.strip())
        request = json.loads((folder / "request.json").read_text())
        with np.load(folder / "inputs.npz", allow_pickle=False) as z:
            inputs = {k: z[k] for k in z.files}
        sys.stdout.flush()
        sys.stderr.flush()
        log = os.open(folder / "output.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        start = time.perf_counter()
        try:
            reply = tasks[request["task"]](request, inputs, folder)
            reply["status"] = "ok"
        except NotImplementedError as exc:
            reply = {"status": "not_implemented", "error": str(exc) or "NotImplementedError",
                     "traceback": student_traceback(exc, roots)}
        except MemoryError as exc:
            reply = {"status": "memory", "error": "MemoryError", "traceback": student_traceback(exc, roots)}
        except BaseException as exc:  # SystemExit, KeyboardInterrupt and friends included
            reply = {"status": "exception", "error": f"{type(exc).__name__}: {exc}"[:500],
                     "traceback": student_traceback(exc, roots)}
        reply["seconds"] = time.perf_counter() - start
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        (folder / "reply.json").write_text(json.dumps(reply, default=str))
        reply_out.write("done\n")
        reply_out.flush()


def main(argv: list[str]) -> None:
    config = json.loads(Path(argv[1]).read_text())
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an oversized write fails instead of killing us
    cmd_in = os.fdopen(config["cmd_fd"], "r")
    reply_out = os.fdopen(config["reply_fd"], "w")
    sys.path[:0] = [config["folder"], *config.get("provided", [])]
    sys.stdin = open(os.devnull)
    serve(config, cmd_in, reply_out)


if __name__ == "__main__":
    main(sys.argv)
