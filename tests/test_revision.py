"""The grader's commit in provenance: real git repositories, and none."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from harness.core import paths, revision

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _git(root, *args):
    subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        check=True,
        capture_output=True,
    )


def test_outside_a_checkout_the_commit_is_unknown(tmp_path):
    assert revision.git_commit(tmp_path) == revision.UNKNOWN


def test_a_folder_inside_another_repository_is_not_its_checkout(tmp_path):
    _git(tmp_path, "init", "-q")
    (tmp_path / "pkg").mkdir()
    assert revision.git_commit(tmp_path / "pkg") == revision.UNKNOWN


def test_short_sha_then_dirty_after_a_change_to_a_tracked_file(tmp_path):
    _git(tmp_path, "init", "-q")
    (tmp_path / "a.py").write_text("x = 1\n")
    _git(tmp_path, "add", "a.py")
    _git(tmp_path, "commit", "-q", "-m", "one")
    sha = subprocess.run(
        ["git", "-C", str(tmp_path), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert revision.git_commit(tmp_path) == sha
    (tmp_path / "untracked.txt").write_text("not part of the code\n")
    assert revision.git_commit(tmp_path) == sha
    (tmp_path / "a.py").write_text("x = 2\n")
    assert revision.git_commit(tmp_path) == f"{sha}-dirty"


def test_a_repository_without_commits_is_unknown(tmp_path):
    _git(tmp_path, "init", "-q")
    assert revision.git_commit(tmp_path) == revision.UNKNOWN


def test_this_checkout_has_a_commit():
    if not (paths.ROOT / ".git").exists():
        pytest.skip("the harness is not run from a git checkout")
    assert re.fullmatch(r"[0-9a-f]{4,40}(-dirty)?", revision.git_commit())
