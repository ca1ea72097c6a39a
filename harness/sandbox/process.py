"""Run untrusted submission code in a child process, and read back only what can be checked.

The child (``harness.child.serve``) runs as ``python -I`` with a scrubbed environment, its
own temporary working directory, stdin closed, stdout and stderr on a pipe the parent
drains and caps, in its own session, under resource limits, and as an unprivileged
user when the grader runs as root. Requests and replies cross as JSON plus ``.npy``
files; the parent opens them without following links, bounds every size before
reading, and accepts only plain numeric arrays. Replies are decoded and validated in ``harness.sandbox.replies``. Each layer is served by its own
child, so what one module does at import (monkeypatching numpy, a background thread)
cannot reach another's checks; a crash, a timeout or a kill ends that child, the next
request gets a fresh one, and every process the child started -- daemons that left
its session included (``harness.sandbox.proctree``) -- is killed after each request.

The threat model, with what is and is not defended: ``docs/threat-model.md``.
"""

from __future__ import annotations

import json
import os
import resource
import secrets
import select
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from harness import profiles
from harness.child import protocol
from harness.core import paths
from harness.core.ops import OPS
from harness.sandbox import cgroup, interpreter, landlock, namespaces, proctree, share, walls
from harness.sandbox.budget import Budget
from harness.sandbox.privileges import drop_privileges, fresh_uid, unprivileged_user
from harness.sandbox.replies import Reply, read_reply
from harness.sandbox.safefiles import (
    OutputPipe,
    changed_files,
    grader_files,
    lock_answers,
    read_bounded,
    tree_size,
    write_new,
)
from harness.sandbox.submission import Submission

MAX_SUBMISSION_BYTES = 20 * 2**20
TOKEN_VAR = "HARNESS_SANDBOX"
"""Environment variable marking the sandbox's processes (one random token per sandbox)."""
REPORT_NAMES = ("results.json", "report.json", "report.html", "junit.xml", "summary.md")
"""Files named like the grader's reports: the child may not write them outside its folder."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of the child."""

    timeout_s: float = 30.0
    """Wall-clock seconds per request."""
    memory_bytes: int = 4 * 2**30
    """Address space of the child (RLIMIT_AS)."""
    cpu_s: int = 900
    """CPU seconds per CPU the child may use, over the child's life (RLIMIT_CPU: all threads
    together); a fresh child starts from zero. 900 lets a 5-minute training request use every core."""
    file_bytes: int = 256 * 2**20
    """Largest file the child may write (RLIMIT_FSIZE)."""
    processes: int = 256
    """Processes and threads of the child's user (RLIMIT_NPROC, when it runs unprivileged);
    the parent also kills the child's tree when it holds more processes than this."""
    max_array_bytes: int = 512 * 2**20
    """Largest returned array the parent will read."""
    disk_bytes: int = 2**30
    """Largest total size of the files in the sandbox's folder; beyond it the child is killed."""


@dataclass
class Observed:
    """What the children of one sandbox reported or were seen doing, for ``harness.checks.integrity``."""

    events: dict[tuple[str, str], int] = field(default_factory=dict)
    """(what, detail) -> count: grader files or other processes' /proc refused, writes outside
    the sandbox refused, processes started, ctypes used, signals sent, network used."""
    modules: set[str] = field(default_factory=set)
    """Every module name loaded in a child after its start-up."""
    inner_calls: dict[str, dict[str, int]] = field(default_factory=dict)
    """op -> {function name: most calls of it by the submission's own code during one request}."""
    seconds: dict[str, list[float]] = field(default_factory=dict)
    """op -> seconds of each successful request, as measured in the child."""
    killed: int = 0
    """Processes killed after requests or at the end (beyond the children themselves)."""
    refused_files: dict[str, str] = field(default_factory=dict)
    """File of the submission -> why it was not copied into the sandbox (a link, not a regular file)."""


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(code).name
    except ValueError:
        return f"signal {code}"


@dataclass(frozen=True)
class Child:
    """One running child process and the grader's ends of its pipes."""

    proc: subprocess.Popen[bytes]
    """The child (``python -I -m harness.child``), leader of its own session."""
    group: str
    """What it serves: ``layer:<layer>`` (the unit checks of one layer) or ``task:<task>``."""
    commands: TextIO
    """Where the grader writes one request folder per line."""
    answers: int
    """Read end of the pipe on which the child answers a line per request."""
    output: OutputPipe
    """The child's stdout and stderr, drained and capped."""


# ---- the sandbox -------------------------------------------------------------------------


class Sandbox:
    """Children serving one submission, one per layer; restarted after any crash or timeout."""

    def __init__(
        self,
        submission: Submission,
        limits: Limits = Limits(),
        profile: str = profiles.DEFAULT,
        env: dict[str, Any] | None = None,
        device: str = "cpu",
        budget: Budget | None = None,
        python: interpreter.ChildPython | None = None,
    ):
        self.submission = submission
        self.budget = budget or Budget()
        """The grade's time budgets: no request starts past them (``harness.sandbox.budget``)."""
        self.python = python
        """Another interpreter for the children (``harness.sandbox.interpreter``); None: the grader's own."""
        self.limits = limits
        self.device = device
        """``cuda``: the children of tasks (training, timing) may use the GPU: cupy is imported
        before the audit hook, and RLIMIT_AS is not set (CUDA reserves far more address space
        than it uses); the unit checks' children keep every limit."""
        self.profile = profiles.get(profile)
        self.profile_name = profile
        self.extra_env = env or {}
        self.token = secrets.token_hex(16)
        self.user, self.user_note = unprivileged_user()
        if self.user and self.user.dedicated:
            uid = fresh_uid()
            self.user = self.user._replace(uid=uid, gid=uid)  # drawn at random: not in the note,
            # which reports carry, so that a regrade's results.json is the same
        self.tracker = proctree.Tracker(
            self.token, self.user.uid if self.user and self.user.dedicated else None
        )
        self.namespaces = namespaces.available()
        """Children start in network, mount and PID namespaces of their own (root only)."""
        self.cgroup, cgroup_note = cgroup.create(
            f"harness-{self.token[:16]}", limits.memory_bytes, limits.processes
        )
        """Every process of the sandbox is in this group (root only), or None."""
        if self.user and self.user.keep_read and landlock.abi():
            self.user_note += "; Landlock limits its reads to Python, its packages and its own sandbox"
        self.walls_note = "; ".join(
            [
                walls.describe(),
                "network, mount and PID namespaces" if self.namespaces else "no namespaces",
                cgroup_note,
            ]
        )
        """The kernel walls this sandbox's children get (provenance); see ``harness.sandbox.walls``."""
        self.grader_state = grader_files() if self.user is None else None
        if self.user and not self.user.keep_read:
            self.user_note += lock_answers()
        self.root = Path(tempfile.mkdtemp(prefix="harness-"))
        self.child: Child | None = None
        self.count = 0
        self.observed = Observed()
        self._prepare()

    @property
    def proc(self) -> subprocess.Popen[bytes] | None:
        """The running child's process, if one runs."""
        return self.child.proc if self.child else None

    @property
    def group(self) -> str | None:
        """What the running child serves (``Child.group``), if one runs."""
        return self.child.group if self.child else None

    # -- set-up -------------------------------------------------------------------------
    def _prepare(self) -> None:
        """Copy the submission's modules (and provided modules it lacks) where the child can read them."""
        sub = self.root / "submission"
        provided = self.root / "provided"
        work = self.root / "work"
        for d in (sub, provided, work, self.root / "calls", self.root / "reference_provided"):
            d.mkdir()
        total = 0
        # Packages (layers/conv_layer.py, and those graded code imports) come along, one level deep.
        folder = self.submission.folder
        graded = {Path(f).parent.as_posix() for f in self.submission.functions.values()} - {"."}
        if graded:  # a family whose code lives in packages
            graded |= {
                p.name
                for p in folder.iterdir()
                if p.is_dir() and not p.is_symlink() and (p / "__init__.py").is_file()
            }
        packages = sorted(graded)
        files = sorted(self.submission.folder.glob("*.py"))
        for pkg in packages:
            (sub / pkg).mkdir(parents=True, exist_ok=True)
            files += sorted((self.submission.folder / pkg).glob("*.py"))
        for f in files:
            rel = f.relative_to(self.submission.folder).as_posix()
            data = read_bounded(f, MAX_SUBMISSION_BYTES - total)
            if data is None:
                why = (
                    "a symbolic link: submit the file itself"
                    if f.is_symlink()
                    else "not a regular file"
                    if not f.is_file()
                    else "over the size limit of a submission"
                )
                self.observed.refused_files[rel] = why
                continue
            total += len(data)
            (sub / rel).write_bytes(data)
        for name in self.profile.PROVIDED_MODULES:
            if not (sub / f"{name}.py").exists() and (paths.REFERENCE_DIR / f"{name}.py").exists():
                shutil.copyfile(paths.REFERENCE_DIR / f"{name}.py", provided / f"{name}.py")
        self.runtime: Path | None = None
        if self.python is not None:  # its interpreter has no harness: a copy of the child runtime
            self.runtime = interpreter.copy_runtime(self.root / "runtime")
        self._readable(self.root, traverse_only=True)
        for d in (sub, provided, self.root / "calls"):
            self._readable(d)
        if self.runtime is not None:
            for d in sorted({self.runtime, *(f.parent for f in self.runtime.rglob("*.py"))}):
                self._readable(d)
        if self.user:
            os.chown(work, self.user.uid, self.user.gid)
            work.chmod(0o700)
        self._calls_fd = os.open(self.root / "calls", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)

    def _readable(self, path: Path, traverse_only: bool = False) -> None:
        """Let the child (and, when it has a uid of its own, only it) read ``path`` and its files."""
        group = self.user.gid if self.user is not None and self.user.dedicated else None
        private = group is not None
        if group is not None:
            os.chown(path, 0, group)
        if path.is_dir():
            path.chmod(
                (0o710 if traverse_only else 0o750) if private else (0o711 if traverse_only else 0o755)
            )
            if traverse_only:
                return
            for f in path.iterdir():
                if (f.is_file() or f.is_dir()) and not f.is_symlink():
                    self._readable(f)
        else:
            path.chmod(0o640 if private else 0o644)

    def _env(self, gpu: bool = False) -> dict[str, Any]:
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.root / "work"),
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONHASHSEED": "0",
            "MPLBACKEND": "Agg",
            "TMPDIR": str(self.root / "work"),
            TOKEN_VAR: self.token,
            # Keep freed buffers in the process: LeNet's layers reallocate the same large arrays
            # every iteration, and glibc's default returns them to the kernel (page faults).
            "MALLOC_MMAP_THRESHOLD_": "268435456",
            "MALLOC_TRIM_THRESHOLD_": "536870912",
        }
        for key in (
            "OPENBLAS_CORETYPE",
            "OPENBLAS_L2_SIZE",
            "OMP_NUM_THREADS",
            "OPENBLAS_NUM_THREADS",
            "MKL_NUM_THREADS",
            "CUDA_VISIBLE_DEVICES",
        ):
            if key in os.environ:
                env[key] = os.environ[key]
        if gpu:  # where cupy finds the CUDA libraries
            env.update(
                {
                    k: v
                    for k, v in os.environ.items()
                    if k in ("CUDA_PATH", "CUDA_HOME", "LD_LIBRARY_PATH") or k.startswith("CUPY_")
                }
            )
        env.update(self.extra_env)
        return env

    def _guard(self) -> dict[str, Any]:
        """What the child's audit hook refuses (see ``harness.child.serve.Guard``)."""
        return {
            "protected": [
                str(p)
                for p in (paths.REFERENCE_DIR, paths.FIXTURES_DIR, paths.ROOT / "tests", paths.ROOT / ".git")
            ],
            "writable": [str(self.root / "work"), str(self.root / "calls"), os.devnull],
            "report_names": list(REPORT_NAMES),
        }

    def _preexec(self, ruleset: landlock.Ruleset, gpu: bool = False) -> Callable[[], None]:
        limits, user, group = self.limits, self.user, self.cgroup
        keep = namespaces.keep_under_private([self.root, *ruleset.paths]) if self.namespaces else None
        try:
            cpus = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            cpus = os.cpu_count() or 1
        cpu = limits.cpu_s * max(1, cpus)

        def setup() -> None:  # runs in the child between fork and exec
            if not gpu:  # CUDA reserves far more address space than it uses
                resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
            resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            if group is not None:
                group.join()
            if keep is not None:
                namespaces.enter(keep, limits.disk_bytes)
            if user:
                drop_privileges(user)
                resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))
            if keep is not None:
                namespaces.die_with_keeper()  # cleared by the change of user
            ruleset.enforce(walls.own(gpu))  # last: the Python that starts is already walled in

        return setup

    def _start(self, group: str) -> Child:
        cmd_r, cmd_w = os.pipe()
        rep_r, rep_w = os.pipe()
        out_r, out_w = os.pipe()
        config = {
            "folder": str(self.root / "submission"),
            "provided": [str(self.root / "provided")],
            "functions": self.submission.functions,
            "editions": profiles.editions(self.profile, self.submission.parameters)[0],
            "profile": profiles.spec(self.profile, self.profile_name),
            "cmd_fd": cmd_r,
            "reply_fd": rep_w,
            "out_fd": out_w,
            "guard": self._guard(),
            "max_array_bytes": self.limits.max_array_bytes,
            "group": group,
            "refused_files": self.observed.refused_files,
        }
        gpu = self.device == "cuda" and group.startswith("task:")
        if gpu:
            config["device"] = self.device
        fd, config_path = tempfile.mkstemp(prefix="config-", suffix=".json", dir=self.root)
        with os.fdopen(fd, "w") as f:
            json.dump(config, f)
        self._readable(Path(config_path))
        ruleset = walls.ruleset(self.root, Path(config_path), gpu, self.python)
        try:
            proc = subprocess.Popen(
                interpreter.command(self.python, self.runtime, config_path),
                stdin=subprocess.DEVNULL,
                stdout=out_w,
                stderr=out_w,
                cwd=self.root / "work",
                env=self._env(gpu),
                pass_fds=(cmd_r, rep_w, out_w),
                start_new_session=True,
                preexec_fn=self._preexec(ruleset, gpu),
            )
        except BaseException:
            for fd in (cmd_w, rep_r, out_r):
                os.close(fd)
            raise  # the grader's environment, not the submission: an autograder error
        finally:
            ruleset.close()
            for fd in (cmd_r, rep_w, out_w):
                os.close(fd)
        proctree.add_server(proc.pid)
        self.tracker.started(proc.pid)
        if self.namespaces:
            self.tracker.add_keeper(proc.pid)  # Popen returned: process 1 has started its Python
        os.set_blocking(out_r, False)
        self.child = Child(proc, group, os.fdopen(cmd_w, "w"), rep_r, OutputPipe(out_r))
        return self.child

    def _kill(self) -> None:
        """End the child and every process it started."""
        child = self.child
        if child is None:
            self.tracker.kill_all(None)
            self.observed.killed = len(self.tracker.strays)
            return
        proc = child.proc
        if self.tracker.end_process_one(proc.pid):
            try:
                proc.wait(timeout=5)  # the keeper reaps process 1 and exits as it did
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.tracker.kill_all(proc.pid)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self.tracker.kill_all(proc.pid)  # orphans re-parented while it died
        self.observed.killed = len(self.tracker.strays)
        proctree.remove_server(proc.pid)
        for close in (
            child.commands.close,
            lambda: os.close(child.answers),
            lambda: os.close(child.output.fd),
        ):
            try:
                close()
            except OSError:
                pass
        self.child = None

    def restart(self) -> None:
        """End the current child; the next request starts a fresh one."""
        self._kill()

    def close(self) -> None:
        self._kill()
        if self.cgroup is not None:
            self.cgroup.remove()
        try:
            os.close(self._calls_fd)
        except OSError:
            pass

        def writable(func: Callable[[str], object], path: str, _exc: object) -> None:  # made unreadable
            try:
                os.chmod(os.path.dirname(path), 0o700)
                os.chmod(path, 0o700)
                func(path)
            except OSError:
                pass

        shutil.rmtree(self.root, onerror=writable)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def share_reference(self, names: list[str]) -> str:
        """A folder the child may read, with a self-contained copy of each of the reference's
        functions ``names`` (those the course provides; see ``harness.sandbox.share``)."""
        folder = self.root / "reference_provided"  # made in _prepare: the child's walls name it
        share.write_provided(names, self.profile, folder, source=self.profile.REFERENCE_DIR)  # the family's
        self._readable(folder)
        return str(folder)

    def changed_grader_files(self) -> list[str]:
        """The grader's own files changed since the sandbox started (checked only when the
        child runs as the grader's own user; another user cannot write them)."""
        if self.grader_state is None:
            return []
        return changed_files(self.grader_state, grader_files())

    # -- requests -----------------------------------------------------------------------
    def call(
        self,
        op: str,
        params: dict[str, Any],
        arrays: dict[str, Any],
        *,
        after: bool = False,
        timeout: float | None = None,
        group: str | None = None,
    ) -> Reply:
        """Call the submission's function for one canonical operation (in the child of its
        layer, or of ``group``: one child serving a training iteration's every op)."""
        request = {"op": op, "params": params, "after": after}
        return self.run("call", request, arrays, timeout=timeout, group=group)

    def run(
        self,
        task: str,
        request: dict[str, Any],
        arrays: dict[str, Any],
        *,
        timeout: float | None = None,
        on_progress: Callable[[Path], None] | None = None,
        group: str | None = None,
    ) -> Reply:
        """Run one request in the child; never raises for anything the submission does.

        A ``call`` runs in the child of its layer, any other task in a child of its own.
        """
        timeout = self.limits.timeout_s if timeout is None else timeout
        op = request.get("op") if task == "call" else None
        function = getattr(self.profile, "FUNCTIONS", {}).get(op) if op else None
        refused = self.budget.refusal(function)
        if refused:
            return Reply(protocol.TIMEOUT, refused)
        cut = self.budget.clamp(timeout) < timeout
        timeout = self.budget.clamp(timeout)
        began = time.monotonic()
        try:
            reply = self._run(task, request, arrays, op, timeout, on_progress, group)
        finally:
            self.budget.charge(function, time.monotonic() - began)
        if cut and reply.status == protocol.TIMEOUT:
            reply.error = f"the grade's time limit of {self.budget.grade_s:g} s was reached during this call"
        return reply

    def _run(
        self,
        task: str,
        request: dict[str, Any],
        arrays: dict[str, Any],
        op: str | None,
        timeout: float,
        on_progress: Callable[[Path], None] | None,
        group: str | None = None,
    ) -> Reply:
        if task != "call" and isinstance(request.get("provided"), list) and request["provided"]:
            # The child refuses reference/: hand it the provided functions alone (see child.serve).
            request = {**request, "reference_folder": self.share_reference(request["provided"])}
        group = group or (f"layer:{OPS[op].layer}" if op in OPS else f"task:{task}")
        if self.child is not None and self.child.group != group:
            self._kill()
        child = self.child or self._start(group)
        self.count += 1
        folder = self._new_folder(task, request, arrays)
        start = time.monotonic()
        try:
            child.commands.write(f"{folder}\n")
            child.commands.flush()
        except (BrokenPipeError, OSError, ValueError):
            return self._crashed(child, folder, start)
        line = self._wait_line(child, start, timeout, folder, on_progress)
        if line is None or isinstance(line, Reply):
            reply = line or Reply(protocol.TIMEOUT, f"timed out after {timeout:g} s")
            reply.output = child.output.take()
            reply.seconds = time.monotonic() - start
            self._kill()
            shutil.rmtree(folder, ignore_errors=True)
            return reply
        if not line:
            return self._crashed(child, folder, start)
        reply = read_reply(folder, self.limits.max_array_bytes)
        if self.tracker.kill_all(child.proc.pid, spare_server=True):
            self.observed.killed = len(self.tracker.strays)
            self._discard_stale_lines(child)
        reply.output = child.output.take()
        if reply.status == protocol.PROTOCOL:
            self._kill()  # out of step with us (a forged answer?): the next request gets a fresh child
        shutil.rmtree(folder, ignore_errors=True)
        self._observe(op, reply)
        return reply

    def _new_folder(self, task: str, request: dict[str, Any], arrays: dict[str, Any]) -> Path:
        """A fresh folder of the request (a name the child cannot guess), written without following links."""
        name = f"{self.count}-{secrets.token_hex(6)}"
        os.mkdir(name, 0o700, dir_fd=self._calls_fd)
        dfd = os.open(
            name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=self._calls_fd
        )
        try:
            write_new(dfd, protocol.REQUEST, json.dumps({"task": task, **request}).encode())
            fd = os.open(
                protocol.INPUTS,
                os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                0o644,
                dir_fd=dfd,
            )
            with os.fdopen(fd, "wb") as f:
                inputs: dict[str, Any] = {k: np.asarray(v) for k, v in arrays.items()}
                np.savez(f, **inputs)
            os.chmod(dfd, 0o700 if self.user else 0o755)  # its own: no other sandbox reads it
            if self.user:
                os.chown(dfd, self.user.uid, self.user.gid)
        finally:
            os.close(dfd)
        return self.root / "calls" / name

    def _wait_line(
        self,
        child: Child,
        start: float,
        timeout: float,
        folder: Path,
        on_progress: Callable[[Path], None] | None,
    ) -> str | Reply | None:
        """The child's answer: a line, '' when the pipe closed, None on timeout, or a Reply
        when the watchdog killed it (too many processes, too much disk)."""
        buf = b""
        next_watch = start + 0.25
        while True:
            now = time.monotonic()
            left = timeout - (now - start)
            if left <= 0:
                return None
            fds = [child.answers] + ([child.output.fd] if child.output.open else [])
            ready, _, _ = select.select(fds, [], [], min(left, 0.25))
            if child.output.fd in ready:
                child.output.drain()
            if on_progress:
                on_progress(folder)
            if time.monotonic() >= next_watch:
                next_watch = time.monotonic() + 0.25
                breach = self._watchdog(child)
                if breach:
                    return breach
            if child.answers not in ready:
                continue
            chunk = os.read(child.answers, 4096)
            if not chunk:
                return ""
            buf += chunk
            if b"\n" in buf:
                return buf.decode(errors="replace")

    @staticmethod
    def _discard_stale_lines(child: Child) -> None:
        """Drop answers that forked copies of the child wrote before they were killed."""
        while select.select([child.answers], [], [], 0)[0]:
            if not os.read(child.answers, 65536):
                return

    def _watchdog(self, child: Child) -> Reply | None:
        """Kill a child that holds too many processes or fills its folder."""
        n = self.tracker.count(child.proc.pid)
        if n > self.limits.processes:
            return Reply(protocol.CRASHED, f"started more than {self.limits.processes} processes (killed)")
        size, entries = tree_size(self.root)
        if size > self.limits.disk_bytes or entries >= 20000:
            return Reply(
                protocol.CRASHED,
                f"wrote more than {self.limits.disk_bytes >> 20} MiB or 20000 files (killed)",
            )
        return None

    def _crashed(self, child: Child, folder: Path, start: float) -> Reply:
        try:
            code: int | None = child.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            code = None
        output = child.output.take()
        self._kill()
        shutil.rmtree(folder, ignore_errors=True)
        if code is None:
            why = "stopped answering (closed the grader's channel)"
        elif code < 0:
            why = f"killed by {_signal_name(-code)}"
            if -code == signal.SIGXCPU:
                why += f" (CPU time limit of {self.limits.cpu_s} s per CPU)"
            if -code == signal.SIGKILL:
                why += " (out of memory, or killed)"
        else:
            why = f"the process exited with status {code} (os._exit or exit in C code?)"
        return Reply(protocol.CRASHED, why, output=output, seconds=time.monotonic() - start)

    def _observe(self, op: str | None, reply: Reply) -> None:
        obs, info = self.observed, reply.integrity
        for what, detail, n in info.get("events", ()):
            key = (what, detail)
            if key in obs.events or len(obs.events) < 200:
                obs.events[key] = obs.events.get(key, 0) + n
        obs.modules.update(info.get("modules", ()))
        if op and reply.ok:
            obs.seconds.setdefault(op, []).append(reply.seconds)
            calls = obs.inner_calls.setdefault(op, {})
            for fn, n in info.get("calls", {}).items():
                calls[fn] = max(calls.get(fn, 0), n)
