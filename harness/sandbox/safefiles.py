"""Files the sandbox shares with untrusted code: read them bounded, watch the grader's own.

The child can create links, FIFOs and huge files where the parent reads; everything here
opens without following links or blocking, and bounds sizes before reading. It also
records the state of the grader's files, to detect a child that changed them.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from harness.core import paths

MAX_OUTPUT_CHARS = 4000
"""Characters of a child's stdout/stderr kept per request."""
FileState = tuple[int, int, int, int]
"""A file as ``grader_files`` sees it: size, modification time (ns), inode, mode."""


def open_regular(
    path: str | os.PathLike[str], limit: int, dir_fd: int | None = None
) -> tuple[int, int] | None:
    """``(fd, size)`` of a regular file opened without following a link or blocking, else None."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError:
        return None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
        os.close(fd)
        return None
    return fd, st.st_size


def read_bounded(path: str | os.PathLike[str], limit: int, dir_fd: int | None = None) -> bytes | None:
    """The bytes of a regular file no larger than ``limit``, else None (links, FIFOs, devices)."""
    opened = open_regular(path, limit, dir_fd)
    if opened is None:
        return None
    fd, _ = opened
    with os.fdopen(fd, "rb") as f:
        data = f.read(limit + 1)
    return data if len(data) <= limit else None


def write_new(dir_fd: int, name: str, data: bytes) -> None:
    fd = os.open(
        name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644, dir_fd=dir_fd
    )
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def grader_files() -> dict[str, FileState]:
    """The state of the grader's own files (package, reference, fixtures), to detect changes."""
    state: dict[str, FileState] = {}
    for root in (paths.PACKAGE_DIR, paths.REFERENCE_DIR, paths.FIXTURES_DIR):
        for dirpath, _dirnames, filenames in os.walk(root):
            for name in filenames:
                p = os.path.join(dirpath, name)
                try:
                    st = os.lstat(p)
                except OSError:
                    continue
                state[p] = (st.st_size, st.st_mtime_ns, st.st_ino, st.st_mode)
    return state


def changed_files(before: dict[str, FileState], after: dict[str, FileState]) -> list[str]:
    """Files modified, removed or added between two ``grader_files`` states.

    A new bytecode file in ``__pycache__`` is the grader compiling a module it imported
    for the first time, not a change.
    """
    changed = [p for p, s in before.items() if after.get(p) != s]
    changed += [
        p
        for p in after.keys() - before.keys()
        if not (os.path.basename(os.path.dirname(p)) == "__pycache__" and p.endswith(".pyc"))
    ]
    return sorted(changed)


def lock_answers() -> str:
    """Make the reference, the fixtures and the tests unreadable to other users (the child's).

    Only the folders themselves lose their permissions for others: the grader (root) still
    reads them, the child cannot even look inside. A note for the report, '' if nothing changed.
    """
    locked = []
    for folder in (paths.REFERENCE_DIR, paths.FIXTURES_DIR, paths.ROOT / "tests"):
        try:
            mode = folder.stat().st_mode
            if mode & 0o007:
                folder.chmod(stat.S_IMODE(mode) & ~0o007)
                locked.append(folder.name)
        except OSError:
            continue
    return f"; made {', '.join(locked)}/ unreadable to it" if locked else ""


def tree_size(root: Path, limit_entries: int = 20000) -> tuple[int, int]:
    """(bytes, entries) under ``root``, stopping after ``limit_entries`` entries."""
    total, entries, todo = 0, 0, [str(root)]
    while todo and entries < limit_entries:
        try:
            with os.scandir(todo.pop()) as it:
                for e in it:
                    entries += 1
                    try:
                        if e.is_dir(follow_symlinks=False):
                            todo.append(e.path)
                        else:
                            total += e.stat(follow_symlinks=False).st_size
                    except OSError:
                        pass
        except OSError:
            pass
    return total, entries


class OutputPipe:
    """The child's stdout and stderr: the first characters kept, the rest counted and dropped."""

    def __init__(self, fd: int):
        self.fd = fd
        self.head = bytearray()
        self.total = 0
        self.open = True

    def drain(self) -> None:
        while self.open:
            try:
                chunk = os.read(self.fd, 1 << 16)
            except BlockingIOError:
                return
            except OSError:
                chunk = b""
            if not chunk:
                self.open = False
                return
            self.total += len(chunk)
            room = MAX_OUTPUT_CHARS + 1 - len(self.head)
            if room > 0:
                self.head += chunk[:room]

    def take(self) -> str:
        """The output since the last ``take``."""
        self.drain()
        text = self.head.decode(errors="replace")
        if len(text) > MAX_OUTPUT_CHARS or self.total > len(self.head):
            text = text[:MAX_OUTPUT_CHARS] + f"\n... (output truncated: {self.total} bytes in all)"
        self.head, self.total = bytearray(), 0
        return text
