"""A control group per sandbox: total memory and processes of everything the child starts.

Invariant: when the grader is root and the machine offers the ``memory`` and ``pids``
controllers (cgroup v2, else the v1 hierarchies of a hybrid machine), every process of the
sandbox is in its group from before ``exec``: their memory together stays under
``Limits.memory_bytes`` (swap included where the kernel accounts it; the kernel's OOM
killer ends a process of the group beyond it) and their number under
``Limits.processes`` -- four processes of 1.5 GiB no longer pass a 4 GiB limit. Without
them (not root, no controllers) ``create`` returns None and says why; ``RLIMIT_AS`` per
process and the watchdog stay. Used by ``harness.sandbox.process``;
``docs/threat-model.md``.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field


def _mounts() -> list[tuple[str, str, set[str]]]:
    """``(mount point, type, options)`` of each cgroup file system."""
    found = []
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                left, _, right = line.partition(" - ")
                fstype, _, opts = (right.split() + ["", "", ""])[:3]
                if fstype in ("cgroup", "cgroup2"):
                    found.append((left.split()[4], fstype, set(opts.split(","))))
    except OSError:
        pass
    return found


def _own(controller: str) -> str:
    """This process's group in the hierarchy of ``controller`` ('' for cgroup v2)."""
    try:
        with open("/proc/self/cgroup") as f:
            for line in f:
                _, names, path = line.rstrip("\n").split(":", 2)
                if set(names.split(",")) == {controller} or (not controller and names == ""):
                    return path
    except (OSError, ValueError):
        pass
    return "/"


@dataclass
class Group:
    """The sandbox's group: one folder per hierarchy it lives in."""

    folders: list[str] = field(default_factory=list)
    """One folder per hierarchy (one with cgroup v2; memory and pids with v1)."""
    version: int = 2
    """1 or 2."""

    def join(self) -> None:
        """Move this process into the group (between fork and exec; its children follow)."""
        for folder in self.folders:
            with open(os.path.join(folder, "cgroup.procs"), "w") as f:
                f.write("0")

    def peak(self) -> int:
        """Most memory the group used (bytes), 0 where unknown."""
        for folder in self.folders:
            for name in ("memory.peak", "memory.max_usage_in_bytes"):
                try:
                    with open(os.path.join(folder, name)) as f:
                        return int(f.read().split()[0])
                except (OSError, ValueError, IndexError):
                    continue
        return 0

    def remove(self) -> None:
        """Delete the group (its processes are gone by now; a dying one gets a moment)."""
        for folder in self.folders:
            for _ in range(50):
                try:
                    os.rmdir(folder)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)


def _write(folder: str, name: str, value: int) -> bool:
    try:
        with open(os.path.join(folder, name), "w") as f:
            f.write(str(value))
        return True
    except OSError:
        return False


def create(name: str, memory_bytes: int, processes: int) -> tuple[Group | None, str]:
    """A new group ``name`` with these limits, and a note; ``(None, why)`` where unavailable."""
    if os.geteuid() != 0:
        return None, "no cgroup (the grader is not root)"
    mounts = _mounts()
    for point, fstype, _ in mounts:
        if fstype != "cgroup2":
            continue
        parent = os.path.join(point, _own("").lstrip("/"))
        try:
            with open(os.path.join(parent, "cgroup.controllers")) as f:
                controllers = set(f.read().split())
        except OSError:
            continue
        if not {"memory", "pids"} <= controllers:
            continue
        folder = os.path.join(parent, name)
        try:
            os.mkdir(folder, 0o755)
        except OSError:
            continue
        if _write(folder, "memory.max", memory_bytes) and _write(folder, "pids.max", processes):
            _write(folder, "memory.swap.max", 0)
            return Group([folder], 2), f"cgroup v2 ({memory_bytes >> 20} MiB, {processes} processes in all)"
        Group([folder]).remove()
    folders: list[str] = []
    for controller in ("memory", "pids"):
        found = next((p for p, t, opts in mounts if t == "cgroup" and controller in opts), None)
        if found is None:
            break
        folder = os.path.join(found, _own(controller).lstrip("/"), name)
        try:
            os.mkdir(folder, 0o755)
        except OSError:
            break
        folders.append(folder)
        if controller == "memory":
            ok = _write(folder, "memory.limit_in_bytes", memory_bytes)
            _write(folder, "memory.memsw.limit_in_bytes", memory_bytes)  # absent without swap accounting
        else:
            ok = _write(folder, "pids.max", processes)
        if not ok:
            break
    else:
        return Group(folders, 1), f"cgroup v1 ({memory_bytes >> 20} MiB, {processes} processes in all)"
    Group(folders).remove()
    return None, "no cgroup (no memory and pids controllers this grader may use)"
