"""Namespaces of a root grader's child: no network, a private ``/tmp``.

Invariant: when the grader is root, the child starts (between fork and exec, before it
drops its privileges) in a network namespace of its own -- no interface but a loopback
that is down: no TCP, UDP or abstract unix socket reaches anything outside -- and in a
mount namespace where ``/tmp``, ``/var/tmp`` and ``/dev/shm`` are fresh, size-bounded
tmpfs that vanish with the sandbox's last process; the folders under ``/tmp`` that the
child needs (its sandbox, a Python installed there) are bind-mounted back at the same
paths. Files written outside the sandbox folder therefore do not outlive the grade, and
other graders' and students' files under ``/tmp`` are not there to see. Not root (or a
kernel that refuses): nothing here applies, and the note says so. No PID namespace yet:
``harness.sandbox.proctree`` ends the child's processes, Landlock hides other processes'
``/proc`` entries. Raw syscalls via ctypes (Linux). ``docs/threat-model.md``.
"""

from __future__ import annotations

import ctypes
import os
import platform

CLONE_NEWNS, CLONE_NEWNET = 0x00020000, 0x40000000
MS_NOSUID, MS_NODEV, MS_REC, MS_PRIVATE = 2, 4, 16384, 1 << 18
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
    """Between fork and exec, as root: new network and mount namespaces with private
    temporary folders; the folders in ``keep`` stay visible at their paths."""
    open_tree, move_mount = _SYSCALLS[platform.machine()]
    _check(_LIBC.unshare(CLONE_NEWNET | CLONE_NEWNS), "unshare")
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
