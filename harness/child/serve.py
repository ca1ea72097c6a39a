"""The sandboxed child: imports the submission and serves the grader's requests.

Started by ``harness.sandbox.process`` as ``python -I -m harness.child CONFIG`` inside resource
limits. It reads one request at a time (a line naming a folder that holds
``request.json`` and ``inputs.npz``), runs it, writes ``reply.json`` and one ``.npy``
per returned array into that folder, and answers with a line. Nothing here decides a
verdict: the parent validates every byte it reads back, and expected values never
reach this process.

Before any submission code runs, an audit hook (``Guard``) is installed: it refuses the
grader's own files, other processes' ``/proc`` entries, writes outside the sandbox and
starting processes, and records these and what else a layer function has no reason to
do (use ctypes, signal other processes, use the network). The submission's graded functions are
wrapped where its own modules call them, counting calls: a backward that calls its
forward many times is differentiating it numerically. Both go back with every reply
(``integrity``) for ``harness.checks.integrity`` to judge. They are a witness and a speed
bump, not a wall: code aimed at this grader can get around them; the walls are the
process boundary, the limits and the unprivileged user (``docs/threat-model.md``).
"""

from __future__ import annotations

import functools
import json
import os
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

from harness.child import protocol

# Exact types only: a subclass may lie about its values (see harness.sandbox.replies.read_value).
SCALAR_TYPES = (float, int, np.float64, np.float32, np.float16, np.int64, np.int32)
MAX_EVENTS = 100
ORIGINAL = "__harness_original__"
"""Attribute of a counting wrapper holding the submission's own function (see ``CallCounter``)."""
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


class Functions(dict):
    """The submission's functions, imported on first use so one broken module spoils only its own."""

    def __init__(self, config: dict, profile: Any = None):
        super().__init__()
        self.files = config["functions"]  # function name -> file name in the submission folder
        self.folder = Path(config["folder"])
        self.refused = config.get("refused_files", {})
        self.profile = profile
        self.editions = config.get("editions", {})  # function -> the edition its def line was written for

    def __missing__(self, name):
        from harness.core.loader import import_file, resolve

        if name not in self.files:
            raise NotImplementedError(f"{name} is not defined in the submission")
        file = self.files[name]
        if file in self.refused:
            raise ImportError(f"{file} was not given to your code: it is {self.refused[file]}")
        module = import_file(self.folder, file)  # ``Class.method``: the class (loader.resolve)
        fn = resolve(module, name)
        fn = getattr(fn, ORIGINAL, fn)  # instrumented by an earlier request
        if not callable(fn):
            raise NotImplementedError(f"{name} is not defined in {file}")
        if name in self.editions and hasattr(self.profile, "adapt"):  # called as its edition calls it
            fn = self.profile.adapt(name, fn, self.editions[name])
        self[name] = fn
        return fn


# ---- the audit hook ------------------------------------------------------------------------


class Guard:
    """An audit hook (PEP 578) that refuses some accesses and records suspicious events."""

    def __init__(self, config: dict):
        self.protected = tuple(os.path.realpath(p) for p in config.get("protected", ()))
        self.protected_names = frozenset(os.path.basename(p) for p in self.protected)
        self.writable = tuple(os.path.realpath(p) for p in config.get("writable", ()))
        self.report_names = frozenset(config.get("report_names", ()))
        self.events: dict[tuple[str, str], int] = {}

    def record(self, what: str, detail) -> None:
        key = (what, str(detail)[:200])
        if key in self.events or len(self.events) < MAX_EVENTS:
            self.events[key] = self.events.get(key, 0) + 1

    def take(self) -> list:
        """The events since the last ``take``."""
        events, self.events = self.events, {}
        return [[what, detail, n] for (what, detail), n in events.items()]

    def __call__(self, event: str, args: tuple) -> None:
        handler = _HANDLERS.get(event)
        if handler is not None:
            handler(self, event, args)

    # -- paths --
    def _resolve(self, path, dir_fd=None) -> str | None:
        if isinstance(path, int) or path is None:
            return None
        try:
            path = os.fsdecode(path)
            if dir_fd is not None and not os.path.isabs(path):
                path = os.path.join(os.readlink(f"/proc/self/fd/{dir_fd}"), path)
            return os.path.realpath(path)
        except (TypeError, ValueError, OSError):
            return None

    @staticmethod
    def _under(path: str, roots: tuple) -> bool:
        return any(path == r or path.startswith(r + os.sep) for r in roots)

    def _refuse(self, what: str, path: str, shown) -> None:
        self.record(what, path)
        raise PermissionError(13, f"{what}: refused to submissions", str(shown))

    def check_path(self, path, *, write: bool, dir_fd=None) -> None:
        real = self._resolve(path, dir_fd)
        if real is None:
            return
        raw = os.fsdecode(path) if isinstance(path, (str, bytes, os.PathLike)) else ""
        relative_parts = set(Path(raw).parts) if raw and not os.path.isabs(raw) else set()
        if self._under(real, self.protected) or relative_parts & self.protected_names:
            self._refuse("grader file", real, path)
        if real.startswith("/proc/"):
            pid = real.split("/")[2]
            if (
                pid.isdigit()
                and int(pid) != os.getpid()
                and not os.path.exists(f"/proc/{os.getpid()}/task/{pid}")
            ):
                self._refuse("another process's /proc", real, path)
        if write:
            if not self._under(real, self.writable):
                self._refuse("write outside the sandbox", real, path)
            if os.path.basename(real) in self.report_names:
                self.record("file named like a grader report", real)


def _on_open(guard: Guard, event, args) -> None:
    path, mode, flags = (tuple(args) + (None, None, None))[:3]
    write = (isinstance(flags, int) and bool(flags & _WRITE_FLAGS)) or (
        isinstance(mode, str) and any(c in mode for c in "wax+")
    )
    guard.check_path(path, write=write)


def _on_change(guard: Guard, event, args) -> None:
    """os.remove, os.rename, os.mkdir...: the first path argument (and a rename's target)."""
    args = tuple(args)
    dir_fd = (
        args[-1]
        if event in ("os.remove", "os.rmdir", "os.mkdir", "os.chmod", "os.chown")
        and isinstance(args[-1], int)
        else None
    )
    guard.check_path(args[0], write=True, dir_fd=dir_fd)
    if event in ("os.rename", "os.link", "os.symlink") and len(args) > 1:
        guard.check_path(args[1], write=True)


def _on_listing(guard: Guard, event, args) -> None:
    """os.listdir, os.scandir, glob: listing a grader folder is refused (and recorded) like opening it."""
    if args and args[0] is not None:
        guard.check_path(args[0], write=False)


def _on_process(guard: Guard, event, args) -> None:
    guard.record("started a process", f"{event} {repr(tuple(args))[:150]}")
    raise PermissionError(1, "starting processes is refused to submissions")


def _on_ctypes(guard: Guard, event, args) -> None:
    guard.record("used ctypes", f"{event} {repr(tuple(args))[:100]}")


def _on_signal(guard: Guard, event, args) -> None:
    if args and args[0] != os.getpid():
        guard.record("signalled another process", f"{event} {repr(tuple(args))[:100]}")


def _on_network(guard: Guard, event, args) -> None:
    guard.record("used the network", f"{event} {repr(tuple(args)[1:])[:100]}")


_HANDLERS = {
    "open": _on_open,
    **dict.fromkeys(
        (
            "os.remove",
            "os.rmdir",
            "os.rename",
            "os.mkdir",
            "os.symlink",
            "os.link",
            "os.chmod",
            "os.chown",
            "os.truncate",
            "os.utime",
            "shutil.rmtree",
        ),
        _on_change,
    ),
    **dict.fromkeys(("os.listdir", "os.scandir"), _on_listing),
    **dict.fromkeys(
        (
            "os.system",
            "subprocess.Popen",
            "os.exec",
            "os.posix_spawn",
            "os.spawn",
            "os.fork",
            "os.forkpty",
            "pty.spawn",
        ),
        _on_process,
    ),
    **dict.fromkeys(
        (
            "ctypes.dlopen",
            "ctypes.dlsym",
            "ctypes.dlsym/handle",
            "ctypes.string_at",
            "ctypes.cdata",
            "ctypes.wstring_at",
        ),
        _on_ctypes,
    ),
    **dict.fromkeys(("os.kill", "os.killpg", "signal.pthread_kill"), _on_signal),
    **dict.fromkeys(("socket.connect", "socket.bind", "socket.sendto"), _on_network),
}


# ---- counting calls between the submission's functions ---------------------------------------


class CallCounter:
    """Wraps the graded functions where the submission's modules refer to them, counting calls.

    The grader calls the original functions; only calls made by the submission's own code
    (a backward calling its forward) go through a wrapper.
    """

    def __init__(self, names, roots: list[str]):
        self.names = set(names)
        self.roots = tuple(roots)
        self.counts: dict[str, int] = {}

    def instrument(self, functions: Functions) -> None:
        modules = []
        for module in list(sys.modules.values()):
            file = str(getattr(module, "__file__", "") or "")
            if file.startswith(self.roots):
                try:
                    modules.append((module, list(vars(module).items())))
                except TypeError:
                    continue
        originals = {id(fn): name for name, fn in functions.items() if name in self.names}
        for _, items in modules:  # graded functions the grader has not asked for yet
            for attr, value in items:
                if attr in self.names and callable(value) and not hasattr(value, ORIGINAL):
                    originals.setdefault(id(value), attr)
        for module, items in modules:
            for attr, value in items:
                name = originals.get(id(value))
                if name is not None:
                    setattr(module, attr, self._wrap(name, value))

    def _wrap(self, name: str, fn):
        counts = self.counts

        @functools.wraps(fn)
        def counted(*args, **kwargs):
            counts[name] = counts.get(name, 0) + 1
            return fn(*args, **kwargs)

        setattr(counted, ORIGINAL, fn)
        return counted

    def take(self) -> dict:
        counts = dict(self.counts)
        self.counts.clear()
        return counts


# ---- replies -------------------------------------------------------------------------------


def describe(obj, path: Path, max_bytes: int = 512 * 2**20) -> dict:
    """Save one returned value as .npy if it is acceptable, else describe what it is."""
    from harness.profiles.dictapi import is_missing

    missing = is_missing(obj)
    if missing:
        return {"problem": missing}
    if type(obj).__module__.startswith("cupy") and hasattr(obj, "get"):
        obj = obj.get()
    if type(obj) in SCALAR_TYPES:
        np.save(path, np.asarray(obj), allow_pickle=False)
        return {"kind": protocol.SCALAR, "type": type(obj).__name__, "dtype": str(np.asarray(obj).dtype)}
    if type(obj) is not np.ndarray:
        return {"problem": protocol.WRONG_TYPE, "type": f"{type(obj).__module__}.{type(obj).__qualname__}"}
    if obj.dtype.kind not in "biuf":
        return {
            "problem": protocol.WRONG_DTYPE,
            "type": "numpy.ndarray",
            "dtype": str(obj.dtype),
            "shape": list(obj.shape),
        }
    if obj.nbytes > max_bytes:
        return {
            "problem": f"returned an array of shape {obj.shape} ({obj.nbytes >> 20} MiB), larger than "
            f"the {max_bytes >> 20} MiB the grader reads"
        }
    np.save(path, obj, allow_pickle=False)
    return {
        "kind": protocol.NDARRAY,
        "type": "numpy.ndarray",
        "dtype": str(obj.dtype),
        "shape": list(obj.shape),
    }


def _text(exc: BaseException) -> str:
    """``Type: message``, even when the exception's own ``__str__`` fails."""
    name = type(exc).__name__
    try:
        message = str(exc)
        message = message if isinstance(message, str) else ""
    except BaseException:  # a hostile __str__
        message = "(the exception's message could not be read)"
    return f"{name}: {message}"[:500] if message else name


def student_traceback(exc: BaseException, roots: list[str]) -> str:
    """The traceback, keeping only frames in the submission's own files (and saying how many were cut)."""
    try:
        every = traceback.extract_tb(exc.__traceback__)
        frames = [f for f in every if any(f.filename.startswith(r) for r in roots)]
        for f in frames:  # name files as the student knows them: relu.py, not a temporary path
            f.filename = os.path.basename(f.filename)
        cut = len(every) - len(frames)
        note = (
            [f"  ({cut} frame{'s' if cut != 1 else ''} of the grader and libraries not shown)\n"]
            if cut
            else []
        )
        lines = note + traceback.format_list(frames) + [_text(exc) + "\n"]
        return "".join(lines)[-4000:]
    except BaseException:
        return _text(exc)


def run_call(
    functions,
    profile,
    request: dict,
    inputs: dict,
    folder: Path,
    counter: CallCounter | None = None,
    max_bytes: int = 512 * 2**20,
) -> dict:
    fn_name = getattr(profile, "FUNCTIONS", {}).get(request["op"])
    if counter is not None and fn_name:
        functions[fn_name]  # import it first, then wrap what its module refers to
        counter.instrument(functions)
        counter.take()
    outputs, meta, passed = profile.call(functions, request["op"], request["params"], inputs)
    reply: dict[str, dict[str, Any]] = {protocol.OUTPUTS: {}, "meta": {}, protocol.AFTER: {}}
    for name, obj in outputs.items():
        reply[protocol.OUTPUTS][name] = describe(
            obj, folder / protocol.value_file(protocol.OUTPUTS, name), max_bytes
        )
    for key, value in meta.items():
        if isinstance(value, np.integer):  # np.int64(10), as shapes compute it: an integer field
            value = int(value)
        reply["meta"][key] = value if type(value) in (int, float, str, bool) else repr(value)[:80]
    if request.get("after"):
        # The arrays that were passed in, as they are now: the parent checks they did not change.
        for name, value in _flatten(passed).items():
            reply[protocol.AFTER][name] = describe(
                value, folder / protocol.value_file(protocol.AFTER, name), max_bytes
            )
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


def _restore_output(out_fd: int, work: str) -> None:
    """Point stdout/stderr back at the grader's pipe and the working directory back home."""
    try:
        os.dup2(out_fd, 1)
        os.dup2(out_fd, 2)
        sys.stdout = open(1, "w", closefd=False, errors="replace", buffering=1)
        sys.stderr = open(2, "w", closefd=False, errors="replace", buffering=1)
    except (OSError, ValueError):
        pass  # the submission closed them: its output is lost, nothing else
    try:
        os.chdir(work)
    except OSError:
        pass


def _write_reply(folder: Path, reply: dict) -> None:
    try:
        text = json.dumps(reply, default=str)
    except BaseException as exc:  # a value whose str() fails or loops
        text = json.dumps(
            {"status": protocol.EXCEPTION, "error": f"the reply could not be encoded ({_text(exc)})"}
        )
    fd = os.open(folder / protocol.REPLY, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def serve(config: dict, cmd_in, reply_out) -> None:
    from harness import profiles

    profile = profiles.get(config.get("profile", "dictapi"))
    functions = Functions(config, profile)
    roots = [str(Path(config["folder"])), *config.get("provided", [])]
    counter = CallCounter(getattr(profile, "COUNTED", getattr(profile, "FUNCTIONS", {}).values()), roots)
    max_bytes = int(config.get("max_array_bytes", 512 * 2**20))
    tasks = {
        "call": lambda req, arrays, folder: run_call(
            functions, profile, req, arrays, folder, counter, max_bytes
        )
    }

    def more_tasks():
        from harness.child import tasks as child_tasks  # the training runs here too

        tasks.update(child_tasks.child_tasks(functions, profile))

    if not str(config.get("group", "")).startswith("layer:"):
        more_tasks()  # before the guard: the grader's own imports are trusted
    if config.get("device"):  # cupy, the CUDA context and cuBLAS now: they load libraries with ctypes
        from harness.core import device

        try:
            xp = device.array_module(config["device"])
            (xp.ones((2, 2)) @ xp.ones((2, 2))).sum().item()
        except Exception:
            pass  # the training says so, and runs on the CPU
    else:  # on the CPU, cupy is not offered: get_array_module(x) gives numpy, as without cupy
        sys.modules.update({"cupy": None, "cupyx": None})  # type: ignore[dict-item]  # None blocks the import
    guard = None
    if "guard" in config:
        guard = Guard(config["guard"])
        sys.addaudithook(guard)
    out_fd = config.get("out_fd", 1)
    work = os.getcwd()
    reported = set(sys.modules)
    for line in cmd_in:
        folder = Path(line.strip())
        try:
            request = json.loads((folder / protocol.REQUEST).read_text())
            with np.load(folder / protocol.INPUTS, allow_pickle=False) as z:
                inputs = {k: z[k] for k in z.files}
            if request.get("task") not in tasks:
                more_tasks()
        except Exception as exc:
            request = {}
            reply: dict[str, Any] = {
                "status": protocol.PROTOCOL,
                "error": f"the request could not be read: {_text(exc)}",
            }
        else:
            reply = _handle(tasks, request, inputs, folder, roots, out_fd, work)
        modules = set(sys.modules) - reported
        reported |= modules
        reply["integrity"] = {
            "events": guard.take() if guard else [],
            "calls": counter.take() if request.get("task") == "call" else {},
            "modules": sorted(modules)[:2000],
        }
        try:
            _write_reply(folder, reply)
        except OSError:
            pass  # the parent finds no reply and says so
        reply_out.write("done\n")
        reply_out.flush()


def _handle(tasks, request: dict, inputs: dict, folder: Path, roots, out_fd: int, work: str) -> dict:
    _restore_output(out_fd, work)
    start = time.perf_counter()
    try:
        reply = tasks[request["task"]](request, inputs, folder)
        reply["status"] = protocol.OK
    except NotImplementedError as exc:
        reply = {
            "status": protocol.NOT_IMPLEMENTED,
            "error": _text(exc).partition(": ")[2] or "NotImplementedError",
            "traceback": student_traceback(exc, roots),
        }
    except MemoryError as exc:
        reply = {
            "status": protocol.MEMORY,
            "error": "MemoryError",
            "traceback": student_traceback(exc, roots),
        }
    except BaseException as exc:  # SystemExit, KeyboardInterrupt and friends included
        reply = {
            "status": protocol.EXCEPTION,
            "error": _text(exc),
            "traceback": student_traceback(exc, roots),
        }
    reply["seconds"] = time.perf_counter() - start
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass
    return reply


def main(argv: list[str]) -> None:
    config = json.loads(Path(argv[1]).read_text())
    sys.modules.setdefault("harness.child.serve", sys.modules[__name__])  # one copy of this module, not two
    sys.dont_write_bytecode = True  # python -I ignores $PYTHONDONTWRITEBYTECODE
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an oversized write fails instead of killing us
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # KeyboardInterrupt only when raised
    cmd_in = os.fdopen(config["cmd_fd"], "r")
    reply_out = os.fdopen(config["reply_fd"], "w")
    sys.path[:0] = [config["folder"], *config.get("provided", [])]
    sys.stdin = open(os.devnull)
    serve(config, cmd_in, reply_out)


if __name__ == "__main__":
    main(sys.argv)
