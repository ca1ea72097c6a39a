"""The kernel walls of one sandbox: which files the child may read and write (Landlock).

Invariant: before any submission code runs, the child can read only the Python installation
and the packages on its ``sys.path`` (minus the harness package and the grader's
repository), the system libraries, the child runtime's own files
(``harness.child.RUNTIME``) and its sandbox's submission and provided folders (a repository
that is itself on ``sys.path``, e.g. a student kit, may be listed, never read); it can
write only its sandbox's work and call folders. ``reference/``, ``fixtures/``, ``tests/``,
``.git``, the harness's other modules and every other student's folder are unreadable to it,
whatever its user or capabilities. Mechanism: ``harness.sandbox.landlock``; namespaces and
the cgroup of a root grader: ``harness.sandbox.namespaces``. Modes and what each has:
``docs/threat-model.md``.
"""

from __future__ import annotations

import glob
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

from harness.child import RUNTIME
from harness.core import paths
from harness.sandbox import landlock
from harness.sandbox.interpreter import ChildPython

SYSTEM_READ = (
    "/lib",
    "/lib32",
    "/lib64",
    "/usr/lib",
    "/usr/lib32",
    "/usr/lib64",
    "/usr/local/lib",
    "/sys/devices/system/cpu",
)
"""Shared libraries (and locales) every Python needs; the CPU topology BLAS libraries read."""
OWN = {"/proc/self": landlock.READ}
"""Opened by the child itself before it is confined: its own ``/proc`` entry (memory maps, status)."""
SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/localtime", "/dev/urandom", "/dev/random")
"""Single files a Python process reads at start or on use."""
GPU_DEVICES = "/dev/nvidia*"
"""Device files CUDA opens (the training child with ``--device cuda`` only; not yet tried on a
GPU machine under Landlock: a refusal there makes training fall back to the CPU, saying so)."""
GPU_READ = ("/proc/driver/nvidia", "/sys/bus/pci", "/sys/devices", "/sys/module", "/usr/local/cuda")
"""CUDA's driver reads its configuration and the PCI topology from these (not the other
processes' ``/proc`` entries: the child's own is granted by ``OWN``)."""


def own(gpu: bool = False) -> dict[str, int]:
    """The rules the child opens itself, after it mounted its PID namespace's ``/proc``
    (a rule on the grader's ``/proc`` would name another filesystem): ``OWN``, and for the GPU
    the driver's ``/proc`` folder."""
    rules = dict(OWN)
    if gpu:
        rules.update({p: landlock.READ for p in GPU_READ if p.startswith("/proc/") and os.path.isdir(p)})
    return rules


NO_LANDLOCK = (
    "this kernel has no Landlock (Linux >= 5.13 with the landlock LSM enabled): the child's "
    "file and network walls are the unprivileged user and the audit hook only, and a submission "
    "that disarms the hook can read whatever that user can"
)
"""The notice of a grade whose child ran without Landlock (also in the provenance)."""

_CHILD_PYTHON: list[dict[str, list[str]]] = []


def child_python() -> dict[str, list[str]]:
    """What ``python -I`` with this interpreter sees (cached; one short process): its
    ``sys.path`` (``path``) and the folder of the ``harness`` package it imports
    (``harness``) -- the grader's own, or another install (an editable one) when the grader
    runs from a copy such as a Gradescope bundle's."""
    if not _CHILD_PYTHON:
        probe = (
            "import sys, json, importlib.util; spec = importlib.util.find_spec('harness'); "
            "print(json.dumps({'path': sys.path, 'harness': spec and spec.submodule_search_locations "
            "and list(spec.submodule_search_locations)}))"
        )
        out = subprocess.run(
            [sys.executable, "-I", "-c", probe],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
            cwd="/",
        ).stdout
        found = json.loads(out)
        _CHILD_PYTHON.append(
            {
                "path": [p for p in found["path"] if os.path.isabs(p)],
                "harness": [os.path.realpath(p) for p in found.get("harness") or []],
            }
        )
    return _CHILD_PYTHON[0]


def child_sys_path() -> list[str]:
    """The ``sys.path`` of ``python -I`` with this interpreter."""
    return child_python()["path"]


def _packages() -> list[Path]:
    """The harness package folders a child may import its runtime from (the grader's first)."""
    found = [paths.PACKAGE_DIR.resolve()]
    for p in child_python()["harness"]:
        if Path(p) not in found:
            found.append(Path(p))
    return found


def runtime_files() -> list[Path]:
    """The files of the child runtime's modules (sources and their cached bytecode)."""
    files = []
    for package in _packages():
        for name in RUNTIME:
            base = package / Path(*name.split(".")[1:])
            source = base / "__init__.py" if base.is_dir() else base.with_suffix(".py")
            files.append(source)
            cached = importlib.util.cache_from_source(str(source))
            if os.path.exists(cached):
                files.append(Path(cached))
    return files


def _secret_roots() -> list[str]:
    """Folders the child must not read anything under (the runtime's files are granted one by one):
    each harness package, and the repository around it (reference, fixtures, tests, ``.git``)."""
    found: list[Path] = [paths.REFERENCE_DIR, paths.FIXTURES_DIR]
    for package in _packages():
        root = package.parent
        found += [package, root / "reference", root / "fixtures", root / "tests", root / ".git"]
        if any((root / name).exists() for name in (".git", "reference", "fixtures", "pyproject.toml")):
            found.append(root)  # a checkout, not a site-packages folder
    return [os.path.realpath(p) for p in found]


def _grant_tree(path: str, secrets: list[str], rights: int, rules: dict[str, int]) -> None:
    """Grant ``path`` whole, or, when a secret folder lies under it, its other entries one by one."""
    real = os.path.realpath(path)
    if any(real == s for s in secrets):
        return
    if not any(s.startswith(real.rstrip("/") + "/") for s in secrets):
        rules[real] = rules.get(real, 0) | rights
        return
    rules[real] = rules.get(real, 0) | landlock.READ_DIR  # list it, read nothing in it
    try:
        entries = os.listdir(real)
    except OSError:
        return
    for entry in entries:
        _grant_tree(os.path.join(real, entry), secrets, rights, rules)


def rules(root: Path, gpu: bool = False, python: ChildPython | None = None) -> dict[str, int]:
    """Path -> Landlock rights for the child of the sandbox at ``root``; ``python``: the other
    interpreter it runs under (its installation and packages instead of the grader's, and the
    sandbox's copy of the child runtime)."""
    secrets = _secret_roots()
    found: dict[str, int] = {}
    prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    sys_path, executable = child_sys_path(), sys.executable
    if python is not None:
        prefixes, sys_path, executable = (
            {python.prefix, python.base_prefix},
            list(python.path),
            python.executable,
        )
    for path in [*prefixes, *sys_path]:
        if os.path.exists(path):
            _grant_tree(path, secrets, landlock.READ_EXEC, found)
    for path in child_sys_path():  # a repository on the path (a kit, a checkout): imports list it
        if os.path.isdir(path) and os.path.realpath(path) in secrets:
            found[os.path.realpath(path)] = found.get(os.path.realpath(path), 0) | landlock.READ_DIR
    for path in SYSTEM_READ:
        if os.path.exists(path):
            _grant_tree(path, secrets, landlock.READ_EXEC, found)
    for exe in {executable, os.path.realpath(executable)}:
        found[exe] = found.get(exe, 0) | landlock.READ_EXEC
    for name in SYSTEM_FILES:
        found[name] = landlock.READ_FILE
    found[os.devnull] = landlock.READ_FILE | landlock.WRITE_FILE
    for package in _packages():
        found[str(package)] = landlock.READ_DIR  # imports list folders; files are granted below
    for f in runtime_files():
        found[str(f)] = landlock.READ_FILE
    for name in ("submission", "provided", "reference_provided", "runtime"):
        found[str(root / name)] = landlock.READ
    for name in ("work", "calls"):
        found[str(root / name)] = landlock.WRITE
    if gpu:
        for path in GPU_READ + tuple(
            p for k in ("CUDA_PATH", "CUDA_HOME") if (p := os.environ.get(k)) and os.path.isabs(p)
        ):
            if os.path.exists(path):
                _grant_tree(path, secrets, landlock.READ_EXEC, found)
        for dev in glob.glob(GPU_DEVICES):
            found[dev] = landlock.READ_FILE | landlock.WRITE_FILE | landlock.IOCTL_DEV | landlock.READ_DIR
        for lib in os.environ.get("LD_LIBRARY_PATH", "").split(":"):
            if lib and os.path.isabs(lib) and os.path.exists(lib):
                _grant_tree(lib, secrets, landlock.READ_EXEC, found)
    return found


def ruleset(
    root: Path, config: Path, gpu: bool = False, python: ChildPython | None = None
) -> landlock.Ruleset:
    """The Landlock ruleset of one child (its config file included); ``fd`` None without Landlock."""
    granted = rules(root, gpu, python)
    granted[str(config)] = landlock.READ_FILE
    return landlock.Ruleset.build(granted)


def describe() -> str:
    """One line for the provenance: the Landlock walls this kernel gives, or their absence."""
    version = landlock.abi()
    if not version:
        return "no Landlock"
    parts = ["files"]
    if version >= 4:
        parts.append("TCP")
    if version >= 6:
        parts.append("signals and abstract sockets")
    return f"Landlock ABI {version} ({', '.join(parts)})"
