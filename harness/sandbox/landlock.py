"""Landlock: the kernel's own file and network walls around the sandboxed child.

Landlock (Linux >= 5.13) lets an unprivileged process give up access for itself and every
process it starts, for good; no audit hook, ctypes trick or capability gets it back
(capabilities bypass file permissions, not Landlock). The parent builds a ruleset before
the child starts (``Ruleset.build``: paths opened while the grader can still see them) and
the child's ``preexec`` step enforces it between fork and exec (``Ruleset.enforce``), so the
Python that starts is already confined:

* read (and execute) only: the Python installation and the packages on the child's
  ``sys.path`` -- minus the harness package and the grader's repository --, the system
  libraries, the child runtime's own files (``harness.child.RUNTIME``), and the sandbox's
  submission and provided folders; the harness's other modules, ``reference/``,
  ``fixtures/``, ``tests/``, ``.git`` and every other student's folder are out of reach;
* write only the sandbox's work and call folders (and ``/dev/null``);
* no TCP bind or connect (ABI >= 4); no signal to, and no abstract unix socket of, a
  process outside the sandbox (ABI >= 6); no ptrace or ``/proc/PID/mem`` of the grader (ABI 1).

Raw syscalls through ctypes (x86-64 and aarch64 numbers; no binding to install). Without
Landlock (an old kernel, another architecture) ``abi()`` is 0: the grade says so in its
provenance and notices (``harness.sandbox.process.Sandbox.walls``). See
``docs/threat-model.md``.
"""

from __future__ import annotations

import ctypes
import os
import platform
from dataclasses import dataclass, field

_SYSCALLS = {
    "x86_64": (444, 445, 446),
    "aarch64": (444, 445, 446),  # the generic table: same numbers
}
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1

# Filesystem rights, by the ABI that introduced them.
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR = 1 << 4, 1 << 5, 1 << 6, 1 << 7
MAKE_REG, MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = 1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
_FS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 4: (1 << 15) - 1, 5: (1 << 16) - 1}
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV
"""The rights a rule on a file (not a folder) may carry."""

READ = READ_FILE | READ_DIR
READ_EXEC = READ | EXECUTE
WRITE = (
    READ
    | WRITE_FILE
    | REMOVE_DIR
    | REMOVE_FILE
    | MAKE_DIR
    | MAKE_REG
    | MAKE_SYM
    | MAKE_FIFO
    | MAKE_SOCK
    | TRUNCATE
    | REFER
)
"""A work folder: create, write, rename within, delete; no device nodes."""


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


_LIBC = ctypes.CDLL(None, use_errno=True)
_LIBC.syscall.restype = ctypes.c_long
_PR_SET_NO_NEW_PRIVS = 38


def _numbers() -> tuple[int, int, int] | None:
    return _SYSCALLS.get(platform.machine())


_ABI: list[int] = []


def abi() -> int:
    """The Landlock ABI version this kernel offers; 0 when it has none (or it is disabled)."""
    if not _ABI:
        numbers = _numbers()
        version = 0
        if numbers is not None:
            version = _LIBC.syscall(numbers[0], None, ctypes.c_size_t(0), _CREATE_RULESET_VERSION)
        _ABI.append(max(0, int(version)))
    return _ABI[0]


def handled(version: int) -> tuple[int, int, int]:
    """``(fs, net, scoped)`` rights this ABI can refuse: everything it knows."""
    fs = _FS_BY_ABI.get(version, (1 << 16) - 1) if version else 0
    net = NET_BIND_TCP | NET_CONNECT_TCP if version >= 4 else 0
    scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if version >= 6 else 0
    return fs, net, scoped


@dataclass
class Ruleset:
    """A Landlock ruleset ready to enforce: an open ruleset descriptor, or none."""

    fd: int | None
    """The ruleset's descriptor (close-on-exec), or None without Landlock."""
    abi: int
    """The kernel's Landlock ABI (0: none)."""
    missing: list[str] = field(default_factory=list)
    """Paths asked for that do not exist (skipped)."""
    paths: list[str] = field(default_factory=list)
    """Every path the rules name (with or without Landlock: what the child needs to see)."""

    @classmethod
    def build(cls, rules: dict[str, int]) -> Ruleset:
        """A ruleset that allows only ``rules`` (path -> rights); everything else is refused.

        A rule on a file keeps only the rights a file can have. Raises ``OSError`` when
        the kernel refuses a rule (a harness bug: an autograder error, not a grade).
        """
        version = abi()
        if not version:
            return cls(None, 0, paths=list(rules))
        fs, net, scoped = handled(version)
        attr = _RulesetAttr(fs, net, scoped)
        size = 8 if version < 4 else 16 if version < 6 else 24
        numbers = _numbers()
        assert numbers is not None
        fd = _LIBC.syscall(numbers[0], ctypes.byref(attr), ctypes.c_size_t(size), 0)
        if fd < 0:
            raise OSError(ctypes.get_errno(), "landlock_create_ruleset")
        missing = []
        try:
            for path, rights in rules.items():
                try:
                    pfd = os.open(path, os.O_PATH | os.O_CLOEXEC)
                except FileNotFoundError:
                    missing.append(path)
                    continue
                try:
                    allowed = rights & fs
                    if not os.path.isdir(f"/proc/self/fd/{pfd}"):
                        allowed &= FILE_RIGHTS
                    rule = _PathBeneath(allowed, pfd)
                    if _LIBC.syscall(numbers[1], int(fd), _RULE_PATH_BENEATH, ctypes.byref(rule), 0) != 0:
                        raise OSError(ctypes.get_errno(), f"landlock_add_rule {path}")
                finally:
                    os.close(pfd)
        except BaseException:
            os.close(fd)
            raise
        return cls(int(fd), version, missing, list(rules))

    def enforce(self, own: dict[str, int] | None = None) -> None:
        """Confine this process and its future children (between fork and exec).

        ``own``: rules on paths that must be opened by this very process (``/proc/self``
        names the grader's own entry when the parent opens it).
        """
        if self.fd is None:
            return
        numbers = _numbers()
        assert numbers is not None
        for path, rights in (own or {}).items():
            pfd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            try:
                rule = _PathBeneath(rights & handled(self.abi)[0], pfd)
                if _LIBC.syscall(numbers[1], self.fd, _RULE_PATH_BENEATH, ctypes.byref(rule), 0) != 0:
                    raise OSError(ctypes.get_errno(), f"landlock_add_rule {path}")
            finally:
                os.close(pfd)
        if _LIBC.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
        if _LIBC.syscall(numbers[2], self.fd, 0) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self")

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
