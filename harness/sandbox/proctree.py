"""Find and end every process a sandboxed child started, daemons included (Linux ``/proc``).

A process group is not enough: a daemon calls ``setsid()`` and leaves it, and a
double fork hands the grandchild to init. So the grader makes itself a *child
subreaper* (``PR_SET_CHILD_SUBREAPER``): an orphan anywhere below it is re-parented
to the grader instead of init, and stays findable. A sandbox's processes are then

* the child and everything below it by parent pid;
* anything in the child's session or process group;
* orphans the grader adopted since the sandbox started (parent pid == the grader's,
  not a sandbox server, started no earlier than the sandbox's first server: a process the
  grader's own program started before grading is not one), and everything below them;
* anything started since then whose environment carries the sandbox's token (a
  fallback where the subreaper is unavailable), or that runs as the sandbox's own uid;
* anything seen as a member before and still alive (same pid *and* start time).

Processes are signalled through a pidfd pinned before their start time is
re-checked, so a recycled pid is never hit.
"""

from __future__ import annotations

import ctypes
import os
import signal
import time
from dataclasses import dataclass

PR_SET_CHILD_SUBREAPER = 36
CLK_TCK = os.sysconf("SC_CLK_TCK")

_SERVERS: set[int] = set()
"""Pids of every live sandbox child of this process: never counted as adopted orphans."""
_SUBREAPER: dict[str, bool] = {}


def add_server(pid: int) -> None:
    """Record a live sandbox child of this process: never taken for an adopted orphan."""
    _SERVERS.add(pid)


def remove_server(pid: int) -> None:
    """Forget a sandbox child once it is dead and reaped."""
    _SERVERS.discard(pid)


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    pgid: int
    sid: int
    start: int
    """Start time in clock ticks since boot (with the pid, a process's identity)."""
    state: str
    """``R``, ``S``, ``Z`` (zombie: dead, waiting to be reaped), ..."""


def become_subreaper() -> bool:
    """Make this process the reaper of orphaned descendants (once; False where unavailable)."""
    if "ok" not in _SUBREAPER:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            _SUBREAPER["ok"] = libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
        except (OSError, AttributeError):
            _SUBREAPER["ok"] = False
    return _SUBREAPER["ok"]


def now_ticks() -> int:
    """The current time in the clock ticks of ``Proc.start``."""
    with open("/proc/uptime") as f:
        return int(float(f.read().split()[0]) * CLK_TCK)


def read_stat(pid: int) -> Proc | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
    except OSError:
        return None
    # "pid (comm) state ppid pgrp session ..."; comm may hold spaces and parentheses.
    fields = raw[raw.rfind(b")") + 2 :].split()
    try:
        return Proc(pid, int(fields[1]), int(fields[2]), int(fields[3]), int(fields[19]), fields[0].decode())
    except (IndexError, ValueError):
        return None


def snapshot() -> dict[int, Proc]:
    """Every process on the machine."""
    procs = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            p = read_stat(int(name))
            if p is not None:
                procs[p.pid] = p
    return procs


def _has_token(pid: int, token: bytes) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return token in f.read(1 << 20)
    except OSError:
        return False


def _owner(pid: int) -> int | None:
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return None


def _below(procs: dict[int, Proc], roots: set[int]) -> set[int]:
    """``roots`` and their descendants by parent pid."""
    children: dict[int, list[int]] = {}
    for p in procs.values():
        children.setdefault(p.ppid, []).append(p.pid)
    found, todo = set(), [r for r in roots if r in procs]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, ()))
    return found


class Tracker:
    """The processes of one sandbox (see the module docstring for what counts)."""

    def __init__(self, token: str, uid: int | None = None):
        self.token = token.encode()
        self.uid = uid
        """A uid only this sandbox's processes run as, or None."""
        self.since = now_ticks() - CLK_TCK  # a second of slack: ticks are coarse
        self.seen: dict[int, int] = {}  # pid -> start time of processes found before
        self.strays: set[tuple[int, int]] = set()
        """(pid, start) of every process other than a server found by ``kill_all``."""
        self.subreaper = become_subreaper()
        self.first_start: int | None = None
        """Start time of the sandbox's first server (``started``): no orphan of it is older."""
        self.process_one: dict[int, int] = {}
        """Server pid -> the pid (in our namespace) of the process that really serves, where the
        server is the keeper of a PID namespace (``harness.sandbox.namespaces``): never a stray."""

    def started(self, server: int) -> None:
        """``server`` (a child of this process) has just started: orphans adopted from now on may
        be the sandbox's; a child the grader started earlier is not."""
        p = read_stat(server)
        if p is not None and (self.first_start is None or p.start < self.first_start):
            self.first_start = p.start

    def add_keeper(self, server: int) -> None:
        """``server`` keeps a PID namespace: its one child is the server too."""
        children = [p.pid for p in snapshot().values() if p.ppid == server]
        if len(children) == 1:
            self.process_one[server] = children[0]

    def end_process_one(self, server: int) -> bool:
        """SIGKILL the process 1 that ``server`` keeps, while the keeper lives: the keeper then
        reaps it and exits, so it is never orphaned to the grader (a subreaper) as a zombie."""
        inner = self.process_one.pop(server, None)
        if inner is None:
            return False
        p = read_stat(inner)
        return p is not None and p.ppid == server and _signal(inner, p.start, signal.SIGKILL)

    def _is_server(self, pid: int, server: int | None) -> bool:
        return server is not None and pid in (server, self.process_one.get(server))

    def members(self, server: int | None) -> dict[int, Proc]:
        """The sandbox's processes alive or zombie now, the server (the child's pid) included."""
        procs = snapshot()
        me = os.getpid()
        guard = {me, os.getppid()}
        roots: set[int] = set()
        for p in procs.values():
            if p.pid in guard or p.start < self.since:
                continue
            if (
                server is not None and (p.pid == server or p.sid == server or p.pgid == server)
            ) or self.seen.get(p.pid) == p.start:
                roots.add(p.pid)
            elif p.ppid == me and p.pid not in _SERVERS and p.start >= (self.first_start or self.since):
                roots.add(p.pid)  # an orphan re-parented to us
            elif self.uid is not None and _owner(p.pid) == self.uid:
                roots.add(p.pid)  # the sandbox's own uid
            elif p.ppid != me and _has_token(p.pid, self.token):
                roots.add(p.pid)
        found = {pid: procs[pid] for pid in _below(procs, roots) if pid not in guard}
        self.seen.update({pid: p.start for pid, p in found.items()})
        return found

    def kill_all(self, server: int | None, *, spare_server: bool = False, wait_s: float = 5.0) -> int:
        """SIGKILL every member until none is left alive (or ``wait_s`` passed); reap adopted ones.

        ``spare_server``: leave the server itself running (end only what it started).
        The server is never reaped here: its ``Popen`` does that and learns its status.
        Returns how many processes other than the server were found.
        """
        deadline = time.monotonic() + wait_s
        strays: set[tuple[int, int]] = set()
        while True:
            found = self.members(server)
            strays.update((pid, p.start) for pid, p in found.items() if not self._is_server(pid, server))
            self.strays.update(strays)
            self._reap(found, server)
            alive = {
                pid: p
                for pid, p in found.items()
                if p.state != "Z" and not (spare_server and self._is_server(pid, server))
            }
            if not alive or time.monotonic() > deadline:
                return len(strays)
            for pid, p in alive.items():
                _signal(pid, p.start, signal.SIGKILL)
            time.sleep(0.005)

    def count(self, server: int | None) -> int:
        """Live members, the server included."""
        return sum(p.state != "Z" for p in self.members(server).values())

    def _reap(self, found: dict[int, Proc], server: int | None) -> None:
        me = os.getpid()
        for pid, p in found.items():
            if p.ppid == me and pid != server and pid not in _SERVERS:
                try:
                    os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    pass


def _signal(pid: int, start: int, sig: int) -> bool:
    """Signal ``pid`` only if it is still the process that started at ``start``."""
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        fd = None
    try:
        p = read_stat(pid)
        if p is None or p.start != start:
            return False
        if fd is not None:
            signal.pidfd_send_signal(fd, sig)
        else:
            os.kill(pid, sig)
        return True
    except (ProcessLookupError, PermissionError, OSError):
        return False
    finally:
        if fd is not None:
            os.close(fd)
