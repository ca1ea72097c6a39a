"""Run untrusted submission code in a child process, and read back only what can be checked.

The child (``harness.child``) runs as ``python -I`` with a scrubbed environment, its
own temporary working directory, stdin closed, in its own session (process group),
under resource limits, and as an unprivileged user when the grader runs as root.
Requests and replies cross as JSON plus ``.npy`` files read with
``allow_pickle=False``; a crash, a timeout or a kill ends that child, and the next
request gets a fresh one.
"""
from __future__ import annotations

import json
import os
import pwd
import resource
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from harness import paths, profiles
from harness.submission import Submission

MAX_SUBMISSION_BYTES = 20 * 2**20
MAX_OUTPUT_CHARS = 4000


@dataclass(frozen=True)
class Limits:
    """Resource limits of the child."""

    timeout_s: float = 30.0
    """Wall-clock seconds per request."""
    memory_bytes: int = 4 * 2**30
    """Address space of the child (RLIMIT_AS)."""
    cpu_s: int = 900
    """CPU seconds over the child's life (RLIMIT_CPU); a fresh child starts from zero."""
    file_bytes: int = 256 * 2**20
    """Largest file the child may write (RLIMIT_FSIZE)."""
    processes: int = 64
    """Processes of the child's user (RLIMIT_NPROC; enforced when the child runs unprivileged)."""
    max_array_bytes: int = 512 * 2**20
    """Largest returned array the parent will read."""


@dataclass(frozen=True)
class Returned:
    """One value the submission returned, after validation by the parent."""

    array: np.ndarray | None
    """float64 copy of the value, or None when it is not acceptable."""
    problem: str = ""
    """Why it is not acceptable (wrong type, dtype, missing...), for the student."""
    dtype: str = ""
    """The dtype the submission used."""
    kind: str = ""
    """``ndarray`` or ``scalar``."""


@dataclass
class Reply:
    """What one request produced."""

    status: str
    """ok | not_implemented | exception | memory | timeout | crashed | protocol"""
    error: str = ""
    """One line: the exception, or what happened to the process."""
    traceback: str = ""
    """The student's traceback, trimmed to their own files."""
    outputs: dict = field(default_factory=dict)
    """Canonical output name -> Returned."""
    after: dict = field(default_factory=dict)
    """Input name (``input.data``, ``param.w``...) -> Returned, as it was after the call."""
    meta: dict = field(default_factory=dict)
    """Output dict fields, or the task's JSON result."""
    output: str = ""
    """The submission's stdout and stderr during the request, truncated."""
    seconds: float = 0.0
    """Time the request took inside the child."""

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(code).name
    except ValueError:
        return f"signal {code}"


_DROP: dict = {}


def unprivileged_user() -> tuple[tuple[int, int] | None, str]:
    """``((uid, gid), '')`` of the user the child runs as when the grader is root, else ``(None, why)``.

    The drop is tried once per grader process: the interpreter and numpy must be readable
    by that user (they are not when Python lives under a private /root).
    """
    if "result" in _DROP:
        return _DROP["result"]
    if os.geteuid() != 0:
        result = (None, "the grader is not root: the child runs as the grader's own user")
    else:
        try:
            pw = pwd.getpwnam("nobody")
            user = (pw.pw_uid, pw.pw_gid)

            def drop():
                os.setgroups([])
                os.setgid(user[1])
                os.setuid(user[0])
            probe = subprocess.run([sys.executable, "-I", "-c", "import numpy, harness.child"],
                                   preexec_fn=drop, cwd="/", capture_output=True, timeout=60)
            result = (user, "") if probe.returncode == 0 else (
                None, "could not drop privileges: user 'nobody' cannot run this Python "
                      "(install the grader where every user can read it)")
        except (KeyError, OSError, subprocess.SubprocessError) as exc:
            result = (None, f"could not drop privileges: {exc}")
    _DROP["result"] = result
    return result


class Sandbox:
    """A child process serving one submission; restarted after any crash or timeout."""

    def __init__(self, submission: Submission, limits: Limits = Limits(),
                 profile: str = profiles.DEFAULT, env: dict | None = None):
        self.submission = submission
        self.limits = limits
        self.profile = profiles.get(profile)
        self.profile_name = profile
        self.extra_env = env or {}
        self.root = Path(tempfile.mkdtemp(prefix="harness-"))
        self.user, self.user_note = unprivileged_user()
        self.proc: subprocess.Popen | None = None
        self.count = 0
        self._prepare()

    # -- set-up -------------------------------------------------------------------------
    def _prepare(self) -> None:
        """Copy the submission's modules (and provided modules it lacks) where the child can read them."""
        sub = self.root / "submission"
        provided = self.root / "provided"
        work = self.root / "work"
        for d in (sub, provided, work, self.root / "calls"):
            d.mkdir()
        total = 0
        for f in sorted(self.submission.folder.glob("*.py")):
            total += f.stat().st_size
            if total > MAX_SUBMISSION_BYTES:
                break
            shutil.copyfile(f, sub / f.name)
        for name in self.profile.PROVIDED_MODULES:
            if not (sub / f"{name}.py").exists() and (paths.REFERENCE_DIR / f"{name}.py").exists():
                shutil.copyfile(paths.REFERENCE_DIR / f"{name}.py", provided / f"{name}.py")
        self.root.chmod(0o711)
        for d in (sub, provided):
            d.chmod(0o755)
            for f in d.iterdir():
                f.chmod(0o644)
        if self.user:
            for d in (work, self.root / "calls"):
                os.chown(d, *self.user)

    def _env(self) -> dict:
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(self.root / "work"),
               "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0",
               "MPLBACKEND": "Agg", "TMPDIR": str(self.root / "work")}
        for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS",
                    "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "CUDA_VISIBLE_DEVICES"):
            if key in os.environ:
                env[key] = os.environ[key]
        env.update(self.extra_env)
        return env

    def _preexec(self):
        limits, user = self.limits, self.user

        def setup():  # runs in the child between fork and exec
            resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
            resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s + 5))
            resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            if user:
                os.setgroups([])
                os.setgid(user[1])
                os.setuid(user[0])
                resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))
        return setup

    def _start(self) -> None:
        cmd_r, cmd_w = os.pipe()
        rep_r, rep_w = os.pipe()
        config = {"folder": str(self.root / "submission"), "provided": [str(self.root / "provided")],
                  "functions": self.submission.functions, "profile": self.profile_name,
                  "cmd_fd": cmd_r, "reply_fd": rep_w}
        config_path = self.root / f"config-{self.count}.json"
        config_path.write_text(json.dumps(config))
        config_path.chmod(0o644)
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-m", "harness.child", str(config_path)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            cwd=self.root / "work", env=self._env(), pass_fds=(cmd_r, rep_w),
            start_new_session=True, preexec_fn=self._preexec())
        os.close(cmd_r)
        os.close(rep_w)
        self._cmd = os.fdopen(cmd_w, "w")
        self._reply = rep_r

    def _kill(self) -> None:
        """End the child and everything in its process group."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        for f in (self._cmd,):
            try:
                f.close()
            except OSError:
                pass
        os.close(self._reply)
        self.proc = None

    def close(self) -> None:
        self._kill()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- requests -----------------------------------------------------------------------
    def call(self, op: str, params: dict, arrays: dict, *, after: bool = False,
             timeout: float | None = None) -> Reply:
        """Call the submission's function for one canonical operation."""
        return self.run("call", {"op": op, "params": params, "after": after}, arrays, timeout=timeout)

    def run(self, task: str, request: dict, arrays: dict, *, timeout: float | None = None,
            on_progress=None) -> Reply:
        """Run one request in the child; never raises for anything the submission does."""
        timeout = self.limits.timeout_s if timeout is None else timeout
        if self.proc is None:
            self._start()
        self.count += 1
        folder = self.root / "calls" / str(self.count)
        folder.mkdir()
        (folder / "request.json").write_text(json.dumps({"task": task, **request}))
        np.savez(folder / "inputs.npz", **{k: np.asarray(v) for k, v in arrays.items()})
        for f in (folder, *folder.iterdir()):
            f.chmod(0o755 if f.is_dir() else 0o644)
        if self.user:
            os.chown(folder, *self.user)
        start = time.monotonic()
        try:
            self._cmd.write(f"{folder}\n")
            self._cmd.flush()
        except (BrokenPipeError, OSError):
            return self._crashed(folder, start)
        line = self._wait_line(start, timeout, folder, on_progress)
        if line is None:
            output = self._read_output(folder)
            self._kill()
            return Reply("timeout", f"timed out after {timeout:g} s", output=output,
                         seconds=time.monotonic() - start)
        if not line:
            return self._crashed(folder, start)
        reply = self._read_reply(folder)
        shutil.rmtree(folder, ignore_errors=True)
        return reply

    def _wait_line(self, start, timeout, folder, on_progress):
        """The child's answer: a line, '' when the pipe closed, None on timeout."""
        buf = b""
        while True:
            left = timeout - (time.monotonic() - start)
            if left <= 0:
                return None
            ready, _, _ = select.select([self._reply], [], [], min(left, 0.5))
            if on_progress:
                on_progress(folder)
            if not ready:
                continue
            chunk = os.read(self._reply, 4096)
            if not chunk:
                return ""
            buf += chunk
            if b"\n" in buf:
                return buf.decode(errors="replace")

    def _crashed(self, folder: Path, start: float) -> Reply:
        output = self._read_output(folder)
        proc = self.proc
        try:
            code = proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        self._kill()
        if code is None:
            why = "stopped answering (closed the grader's channel)"
        elif code < 0:
            why = f"killed by {_signal_name(-code)}"
            if -code == signal.SIGXCPU:
                why += f" (CPU time limit of {self.limits.cpu_s} s)"
            if -code == signal.SIGKILL:
                why += " (out of memory, or killed)"
        else:
            why = f"the process exited with status {code} (os._exit or exit in C code?)"
        return Reply("crashed", why, output=output, seconds=time.monotonic() - start)

    def _read_output(self, folder: Path) -> str:
        path = folder / "output.txt"
        try:
            with open(path, "rb") as f:
                data = f.read(MAX_OUTPUT_CHARS + 1)
        except OSError:
            return ""
        text = data.decode(errors="replace")
        if len(text) > MAX_OUTPUT_CHARS:
            text = text[:MAX_OUTPUT_CHARS] + "\n... (output truncated)"
        return text

    def _read_reply(self, folder: Path) -> Reply:
        output = self._read_output(folder)
        try:
            raw = (folder / "reply.json").read_bytes()
            if len(raw) > 2**20:
                raise ValueError("reply too large")
            reply = json.loads(raw)
            status = str(reply["status"])
        except (OSError, ValueError, KeyError, TypeError):
            return Reply("protocol", "the child's reply was missing or malformed", output=output)
        result = Reply(status, str(reply.get("error", ""))[:500], str(reply.get("traceback", ""))[:4000],
                       output=output, seconds=float(reply.get("seconds", 0) or 0))
        if status != "ok":
            return result
        result.meta = reply.get("meta", {}) if isinstance(reply.get("meta"), dict) else {}
        for group, prefix in (("outputs", "out_"), ("after", "after_")):
            descr = reply.get(group) or {}
            if isinstance(descr, dict):
                getattr(result, group).update(
                    {str(k): self.read_value(folder / f"{prefix}{k}.npy", d) for k, d in descr.items()})
        return result

    def read_value(self, path: Path, descr) -> Returned:
        """Validate one returned value: a real ndarray of a real numeric dtype, bounded in size."""
        if not isinstance(descr, dict):
            return Returned(None, "the grader could not read this value")
        if descr.get("problem"):
            problem = descr["problem"]
            if problem == "wrong type":
                problem = f"returned {descr.get('type', '?')}, expected a numpy.ndarray"
                if descr.get("type") == "builtins.list":
                    problem += " (convert it with np.array)"
                if descr.get("type") == "builtins.NoneType":
                    problem = "returned None: is a return statement missing?"
            elif problem == "wrong dtype":
                problem = f"returned an array of dtype {descr.get('dtype')}, expected float64"
            return Returned(None, problem, dtype=str(descr.get("dtype", "")))
        try:
            if path.stat().st_size > self.limits.max_array_bytes:
                return Returned(None, f"returned an array larger than {self.limits.max_array_bytes >> 20} MiB")
            value = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            return Returned(None, f"the grader could not read the returned value ({exc})")
        if type(value) is not np.ndarray or value.dtype.kind not in "biuf":
            return Returned(None, "returned a value that is not a plain numeric array")
        return Returned(value.astype(np.float64), dtype=str(value.dtype), kind=str(descr.get("kind", "")))
