"""Which commit of the grader produced a report: the short sha, ``-dirty`` with local changes.

Recorded in every report's provenance (``identity``, next to the version), so a
grade can be traced to the exact code that gave it. Outside a git checkout (an installed
package, a Gradescope bundle) or without ``git`` the answer is ``unknown``: finding the
revision never fails a grade. ``git`` runs read-only (``GIT_OPTIONAL_LOCKS=0``: no index
refresh written), with a short timeout.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from harness import __version__
from harness.core import paths

UNKNOWN = "unknown"
TIMEOUT_S = 5.0
"""Longest wait for one git command."""


def _git(root: Path, *args: str) -> str:
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}
    done = subprocess.run(
        ["git", "-C", str(root), *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        env=env,
        stdin=subprocess.DEVNULL,
        check=True,
    )
    return done.stdout.strip()


def git_commit(root: Path = paths.ROOT) -> str:
    """``<short sha>``, ``<short sha>-dirty`` when tracked files differ from it, else ``unknown``.

    Only a checkout whose top is ``root`` counts: a package installed inside some other
    repository (a virtual environment in a project folder) is not that repository's commit.
    """
    try:
        if not (root / ".git").exists():
            return UNKNOWN
        sha = _git(root, "rev-parse", "--short", "HEAD")
        dirty = _git(root, "status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError, UnicodeDecodeError):
        return UNKNOWN
    if not sha:
        return UNKNOWN
    return f"{sha}-dirty" if dirty else sha


def identity() -> dict[str, str]:
    """The grader that wrote a report: its version and commit, the start of every provenance."""
    return {"harness_version": __version__, "harness_commit": git_commit()}
