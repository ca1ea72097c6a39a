"""The unprivileged user the sandboxed child runs as when the grader is root.

A fresh uid of its own per sandbox (so RLIMIT_NPROC and a kill by uid touch nothing else),
with ``no_new_privs``; where that user cannot read the Python installation (Python under a
private /root), the child keeps only the capability to read files: it can read, but write,
signal or trace nothing of the grader's. Used by ``harness.sandbox.process``.
"""

from __future__ import annotations

import ctypes
import functools
import os
import pwd
import secrets
import subprocess
import sys
from typing import NamedTuple


class Drop(NamedTuple):
    """Who the child runs as when the grader is root."""

    uid: int
    gid: int
    keep_read: bool
    """Also keep CAP_DAC_READ_SEARCH (read any file), for a Python that other users cannot read."""
    dedicated: bool = False
    """Each sandbox gets a uid of its own (no account, no other process): sandboxes graded side by
    side cannot signal or read each other, and every process of that uid is the sandbox's."""


DEDICATED_UIDS = range(40000, 60000)
"""Where dedicated uids are drawn from (within the 65536 uids a user namespace usually maps)."""


def fresh_uid() -> int:
    """A uid with no account and no process, drawn at random from DEDICATED_UIDS."""
    in_use = set()
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                in_use.add(os.stat(f"/proc/{name}").st_uid)
            except OSError:
                pass
    for _ in range(1000):
        uid = DEDICATED_UIDS[secrets.randbelow(len(DEDICATED_UIDS))]
        try:
            pwd.getpwuid(uid)
        except KeyError:
            if uid not in in_use:
                return uid
    raise OSError("no free uid to run the sandbox as")


_LIBC = ctypes.CDLL(None, use_errno=True)
_PR_SET_KEEPCAPS, _PR_SET_NO_NEW_PRIVS, _PR_CAP_AMBIENT, _PR_CAP_AMBIENT_RAISE = 8, 38, 47, 2
_CAP_DAC_READ_SEARCH = 2
_CAP_VERSION_3 = 0x20080522


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def _prctl(*args: int) -> None:
    if _LIBC.prctl(*args, *([0] * (5 - len(args)))) != 0:
        raise OSError(ctypes.get_errno(), f"prctl{args}")


def drop_privileges(user: Drop) -> None:
    """Become ``user`` for good (between fork and exec, or in a test's child)."""
    if user.keep_read:
        _prctl(_PR_SET_KEEPCAPS, 1)
    os.setgroups([])
    os.setgid(user.gid)
    os.setuid(user.uid)
    if user.keep_read:
        data = (_CapData * 2)()
        bit = 1 << _CAP_DAC_READ_SEARCH
        data[0].effective = data[0].permitted = data[0].inheritable = bit
        if _LIBC.capset(ctypes.byref(_CapHeader(_CAP_VERSION_3, 0)), data) != 0:
            raise OSError(ctypes.get_errno(), "capset")
        _prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_RAISE, _CAP_DAC_READ_SEARCH)  # survives exec
    _prctl(_PR_SET_NO_NEW_PRIVS, 1)  # no set-uid program can give privileges back


_DROP: dict[str, tuple[Drop | None, str]] = {}
"""The answer of ``unprivileged_user``, once found (under the key ``result``)."""


def unprivileged_user() -> tuple[Drop | None, str]:
    """``(Drop, note)`` of the user the child runs as when the grader is root, else ``(None, why)``.

    Tried once per grader process, in order: a uid of the sandbox's own (no account), then
    ``nobody``; each must be able to run this Python and numpy. Where neither can (a Python
    under a private /root), the child still runs as such a user, keeping only the capability
    to read files: it can then read everything, but write, signal or trace nothing of the
    grader's.
    """
    if "result" in _DROP:
        return _DROP["result"]
    if os.geteuid() != 0:
        _DROP["result"] = (
            None,
            "the grader is not root: the child runs as the grader's own user "
            "(it could write what the grader can; changes to the grader's files "
            "are detected)",
        )
        return _DROP["result"]
    candidates = []
    try:
        uid = fresh_uid()
        candidates.append((Drop(uid, uid, False, True), "a uid of its own"))
    except OSError:
        pass
    try:
        pw = pwd.getpwnam("nobody")
        candidates.append((Drop(pw.pw_uid, pw.pw_gid, False), "user nobody"))
    except KeyError:
        pass
    result: tuple[Drop | None, str] = (
        None,
        "could not drop privileges: no unprivileged user to run the child as",
    )
    for keep_read in (False, True):
        for user, who in candidates:
            user = user._replace(keep_read=keep_read)
            try:
                probe = subprocess.run(
                    [sys.executable, "-I", "-c", "import numpy, harness.child.serve"],
                    preexec_fn=functools.partial(drop_privileges, user),
                    cwd="/",
                    capture_output=True,
                    timeout=60,
                )
            except (OSError, subprocess.SubprocessError) as exc:
                result = (None, f"could not drop privileges: {exc}")
                continue
            if probe.returncode == 0:
                _DROP["result"] = (
                    user,
                    f"the child runs as {who}"
                    + (
                        ", keeping only the capability to read files (this Python is not readable by other "
                        "users): it can read every file but write, signal or trace none of the grader's"
                        if keep_read
                        else ""
                    ),
                )
                return _DROP["result"]
            result = (
                None,
                "could not drop privileges: other users cannot run this Python "
                "(install the grader where every user can read it)",
            )
    _DROP["result"] = result
    return result


_PR_SET_DUMPABLE = 4


def undumpable() -> None:
    """Make this process undumpable: its ``/proc/PID`` environ, memory, file descriptors and
    maps become root's, so a process of the same user (a child, when the grader is not root)
    cannot read a secret this process holds. Nothing else changes; children it starts with
    ``exec`` are dumpable again."""
    _prctl(_PR_SET_DUMPABLE, 0)
