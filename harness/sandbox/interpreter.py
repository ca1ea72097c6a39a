"""The Python the sandboxed child runs under: the grader's own, or another one a course names.

A course regrading old work runs the submission's child under the interpreter it was written
for, e.g. a virtual environment with numpy 1.26 (``--child-python PATH``, or ``python = PATH``
in the rubric); the grader keeps its own numpy. That interpreter has no harness installed: the
child runtime (``harness.child.RUNTIME``, which holds no reference math) is copied into the
sandbox's ``runtime/`` folder and put first on the child's path by a one-line bootstrap, so
``python -I`` imports this grader's runtime and nothing else of the harness.

Invariants: the other interpreter is probed (one short ``python -I`` process, no submission
code) before any grading, and refused with what to do when it is missing, older than the
runtime supports, or has no numpy; protocol arrays cross as ``.npy`` format 1.0/2.0 with
pickles off, which numpy 1.x and 2.x both read and write (``tests/test_legacy.py`` round-trips
them through a numpy 1.26 child); its Python and numpy versions go into the provenance.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from harness.child import RUNTIME
from harness.core import paths

MIN_VERSION = (3, 10)
"""The oldest Python the child runtime runs on."""
BOOTSTRAP = (
    "import runpy, sys; sys.path.insert(0, sys.argv.pop(1)); "
    "runpy.run_module('harness.child', run_name='__main__', alter_sys=True)"
)
"""``python -I -c BOOTSTRAP RUNTIME_DIR CONFIG``: the child's entry point under another interpreter."""
_PROBE = (
    "import json, platform, sys; import numpy; "
    "print(json.dumps({'python': platform.python_version(), 'numpy': numpy.__version__, "
    "'version': list(sys.version_info[:2]), 'prefix': sys.prefix, 'base_prefix': sys.base_prefix, "
    "'path': [p for p in sys.path if p]}))"
)


class InterpreterError(ValueError):
    """The child interpreter cannot be used; the message says what to do."""


@dataclass(frozen=True)
class ChildPython:
    """An interpreter the child runs under, other than the grader's own."""

    executable: str
    """Its path, as given (a virtual environment's ``bin/python`` keeps its venv only so)."""
    python: str
    """Its Python version, e.g. ``3.11.7``."""
    numpy: str
    """The numpy version it imports, e.g. ``1.26.4``."""
    prefix: str
    """Its ``sys.prefix`` (a virtual environment's folder)."""
    base_prefix: str
    """Its ``sys.base_prefix`` (the installation the environment was made from)."""
    path: tuple[str, ...]
    """Its ``sys.path`` under ``-I`` (the installation's library and its site-packages)."""

    def describe(self) -> str:
        """One line for the provenance and the notes."""
        return f"{self.executable} (Python {self.python}, numpy {self.numpy})"


def probe(executable: str) -> ChildPython:
    """Check that ``executable`` can run the child; its versions. Raises InterpreterError."""
    found = shutil.which(executable) if os.sep not in executable else executable
    if not found or not os.path.isfile(found) or not os.access(found, os.X_OK):
        raise InterpreterError(
            f"child Python {executable!r}: no such executable; give the path of a Python "
            f"interpreter, e.g. a virtual environment's bin/python"
        )
    try:
        done = subprocess.run(
            [found, "-I", "-c", _PROBE], capture_output=True, text=True, timeout=120, cwd="/"
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InterpreterError(f"child Python {found}: could not be run ({exc})") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise InterpreterError(
            f"child Python {found}: cannot import numpy ({last}); install the numpy the "
            f"submissions were written for into it (e.g. {found} -m pip install 'numpy<2')"
        )
    try:
        info = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise InterpreterError(f"child Python {found}: unexpected answer to the probe") from None
    if tuple(info["version"]) < MIN_VERSION:
        raise InterpreterError(
            f"child Python {found} is Python {info['python']}; the grader's child runtime needs "
            f"Python >= {'.'.join(map(str, MIN_VERSION))} (Python 2 code cannot be run: it is "
            f"graded as not compiling)"
        )
    return ChildPython(
        executable=found,
        python=info["python"],
        numpy=info["numpy"],
        prefix=info["prefix"],
        base_prefix=info["base_prefix"],
        path=tuple(info["path"]),
    )


def copy_runtime(folder: Path) -> Path:
    """Copy the child runtime's modules (``RUNTIME``) under ``folder``; the folder to put on ``sys.path``."""
    for name in RUNTIME:
        parts = name.split(".")[1:]
        source = paths.PACKAGE_DIR.joinpath(*parts)
        source = source / "__init__.py" if source.is_dir() else source.with_suffix(".py")
        target = folder / "harness" / source.relative_to(paths.PACKAGE_DIR)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    return folder


def command(child: ChildPython | None, runtime: Path | None, config: str) -> list[str]:
    """The child's command line: the grader's own interpreter, or ``child`` with the copied runtime."""
    if child is None or runtime is None:
        return [sys.executable, "-I", "-m", "harness.child", config]
    return [child.executable, "-I", "-c", BOOTSTRAP, str(runtime), config]
