"""Namespaces of a root grader's child: no network, a private ``/tmp``, no other process.

Invariant: when the grader is root, the child starts (between fork and exec, before it
drops its privileges) in a network namespace of its own -- no interface but a loopback
that is down: no TCP, UDP or abstract unix socket reaches anything outside -- in a
mount namespace where ``/tmp``, ``/var/tmp`` and ``/dev/shm`` are fresh, size-bounded
tmpfs that vanish with the sandbox's last process (the folders under ``/tmp`` that the
child needs, its sandbox and a Python installed there, are bind-mounted back at the same
paths), and in a PID namespace of which the child's Python is process 1, with a ``/proc``
of that namespace: it sees no process but its own and its descendants, can signal no
other, and when it ends, the kernel ends every process it started. Files written outside
the sandbox folder therefore do not outlive the grade, and other graders' and students'
files under ``/tmp`` and processes are not there to see.

A process enters a new PID namespace only through its next child, so ``enter`` forks: the
forked process (the namespace's process 1) goes on to exec the child's Python; the one
subprocess started stays in the grader's namespace as its *keeper*, holding no descriptor
(the grader's pipes see end-of-file when the child closes them), waiting for it and
exiting as it exited (same code, same signal). Killing the keeper (the grader's timeout,
``killpg``) kills process 1 by its parent-death signal, and with it the whole namespace.

Not root (or a kernel that refuses): nothing here applies, and the note says so
(``harness.sandbox.proctree`` ends the child's processes; Landlock hides other processes'
``/proc`` entries). Raw syscalls via ctypes (Linux). ``docs/threat-model.md``.
"""

from __future__ import annotations

import ctypes
import os
import platform
import resource
import signal

CLONE_NEWNS, CLONE_NEWNET, CLONE_NEWPID = 0x00020000, 0x40000000, 0x20000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC, MS_PRIVATE = 2, 4, 8, 16384, 1 << 18
PR_SET_PDEATHSIG = 1
OPEN_TREE_CLONE, AT_RECURSIVE, AT_FDCWD = 1, 0x8000, -100
MOVE_MOUNT_F_EMPTY_PATH = 0x4
_SYSCALLS = {"x86_64": (428, 429), "aarch64": (428, 429)}  # open_tree, move_mount
PRIVATE = ("/tmp", "/var/tmp", "/dev/shm")
"""Folders replaced by an empty tmpfs of the child's own."""

_LIBC = ctypes.CDLL(None, use_errno=True)
_LIBC.syscall.restype = ctypes.c_long


def _check(result: int, what: str) -> int:
    if result < 0:
        raise OSError(ctypes.get_errno(), what)
    return result


def available() -> bool:
    """Whether this grader can give its children namespaces (root on Linux, x86-64 or aarch64)."""
    return os.geteuid() == 0 and platform.machine() in _SYSCALLS and os.path.isdir("/proc/self/ns")


def keep_under_private(paths: list[str | os.PathLike[str]]) -> list[str]:
    """The outermost of ``paths`` that lie under a folder ``enter`` replaces (bind-mounted back)."""
    inside = sorted(
        {os.path.realpath(p) for p in paths if any(os.path.realpath(p).startswith(d + "/") for d in PRIVATE)}
    )
    kept: list[str] = []
    for p in inside:
        if not any(p.startswith(k + "/") for k in kept):
            kept.append(p)
    return kept


def enter(keep: list[str], tmp_bytes: int) -> None:
    """Between fork and exec, as root: new network, mount and PID namespaces with private
    temporary folders (the folders in ``keep`` stay visible at their paths). Returns in
    the namespace's process 1; the process that called it becomes its keeper and never
    returns."""
    open_tree, move_mount = _SYSCALLS[platform.machine()]
    _check(_LIBC.unshare(CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWPID), "unshare")
    _check(_LIBC.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /")
    clones = []
    for path in keep:
        fd = _LIBC.syscall(open_tree, AT_FDCWD, path.encode(), OPEN_TREE_CLONE | AT_RECURSIVE)
        clones.append((_check(fd, f"open_tree {path}"), path))
    options = f"mode=1777,size={tmp_bytes}".encode()
    for folder in PRIVATE:
        if os.path.isdir(folder) and not os.path.islink(folder):
            _check(
                _LIBC.mount(b"tmpfs", folder.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, options),
                f"mount tmpfs {folder}",
            )
    for fd, path in clones:
        os.makedirs(path, exist_ok=True)
        _check(
            _LIBC.syscall(move_mount, fd, b"", AT_FDCWD, path.encode(), MOVE_MOUNT_F_EMPTY_PATH),
            f"move_mount {path}",
        )
        os.close(fd)
    _become_process_one()


def _become_process_one() -> None:
    """Fork into the new PID namespace; the parent stays as the keeper (module docstring)."""
    pid = os.fork()
    if pid == 0:
        die_with_keeper()
        # This namespace's /proc. A kernel that refuses leaves the grader's /proc, where
        # Landlock grants the child its own entry alone.
        _LIBC.mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None)
        return
    _keep(pid)


def die_with_keeper() -> None:
    """Process 1 of the namespace gets SIGKILL when its keeper dies (set again after a change
    of user: the kernel clears it then)."""
    _check(_LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl(PR_SET_PDEATHSIG)")


def _keep(pid: int) -> None:
    """The keeper: hold nothing open, wait for process 1, exit as it did. Never returns."""
    try:
        os.closerange(0, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
        while True:
            try:
                _, status = os.waitpid(pid, 0)
                break
            except InterruptedError:
                continue
        if os.WIFSIGNALED(status):
            number = os.WTERMSIG(status)
            signal.signal(number, signal.SIG_DFL)
            os.kill(os.getpid(), number)
            os._exit(128 + number)
        os._exit(os.waitstatus_to_exitcode(status))
    finally:
        os._exit(255)
