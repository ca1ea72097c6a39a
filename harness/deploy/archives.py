"""Unpack a student's zip safely: archives are hostile input.

Refused outright: entries that would land outside the target (absolute paths, ``..``, drive
letters), encrypted entries, more than ``MAX_MEMBERS`` entries, more than ``MAX_BYTES`` once
inflated -- counted while inflating, since a zip bomb lies about its sizes. Skipped quietly:
symbolic links, macOS resource forks (``__MACOSX/``, ``._*``), ``.DS_Store``.
"""

from __future__ import annotations

import shutil
import stat
import zipfile
from pathlib import Path, PurePosixPath

MAX_MEMBERS = 2000
"""Entries in one archive."""
MAX_BYTES = 100 * 2**20
"""Bytes once inflated, all entries together."""
MAX_ARCHIVE_BYTES = 200 * 2**20
"""Size of the archive file itself."""

_CHUNK = 1 << 16


class ArchiveError(ValueError):
    """The archive is unreadable or unsafe; the message says why, for the instructor."""


def _parts(name: str) -> tuple[str, ...] | None:
    """The entry's path parts, or None when it would escape the target folder."""
    name = name.replace("\\", "/")
    path = PurePosixPath(name)
    if path.is_absolute() or (path.parts and ":" in path.parts[0]):
        return None
    parts = tuple(p for p in path.parts if p not in ("", "."))
    if any(p == ".." for p in parts):
        return None
    return parts


def _skipped(info: zipfile.ZipInfo, parts: tuple[str, ...]) -> bool:
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        return True
    return not parts or parts[0] == "__MACOSX" or parts[-1] == ".DS_Store" or parts[-1].startswith("._")


def extract(archive: str | Path, target: str | Path) -> Path:
    """Unpack ``archive`` into ``target`` (emptied first); the folder to grade.

    That is ``target`` itself, or its single top folder when everything sits in one.
    Raises ArchiveError, leaving ``target`` removed, when the archive is unreadable or unsafe.
    """
    archive, target = Path(archive), Path(target)
    shutil.rmtree(target, ignore_errors=True)
    try:
        if archive.stat().st_size > MAX_ARCHIVE_BYTES:
            raise ArchiveError(f"archive larger than {MAX_ARCHIVE_BYTES >> 20} MiB")
        with zipfile.ZipFile(archive) as zf:
            _extract_all(zf, target)
    except ArchiveError:
        shutil.rmtree(target, ignore_errors=True)
        raise
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        OSError,
        EOFError,
        RuntimeError,
        NotImplementedError,
        ValueError,
    ) as exc:
        shutil.rmtree(target, ignore_errors=True)
        raise ArchiveError(f"not a readable zip archive ({type(exc).__name__}: {exc})") from None
    entries = [p for p in target.iterdir()] if target.is_dir() else []
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    target.mkdir(parents=True, exist_ok=True)
    return target


def _extract_all(zf: zipfile.ZipFile, target: Path) -> None:
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise ArchiveError(f"{len(infos)} entries; at most {MAX_MEMBERS} are unpacked")
    plan = []
    for info in infos:
        parts = _parts(info.filename)
        if parts is None:
            raise ArchiveError(f"unsafe entry {info.filename!r}: it would be written outside the folder")
        if info.flag_bits & 0x1:
            raise ArchiveError(f"encrypted entry {info.filename!r}")
        if not _skipped(info, parts):
            plan.append((info, parts))
    target.mkdir(parents=True)
    budget = MAX_BYTES
    for info, parts in plan:
        dest = target.joinpath(*parts)
        if info.is_dir():
            dest.mkdir(parents=True, exist_ok=True)
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        with zf.open(info) as src, open(dest, "wb") as out:
            while chunk := src.read(_CHUNK):
                budget -= len(chunk)
                if budget < 0:
                    raise ArchiveError(f"more than {MAX_BYTES >> 20} MiB once unpacked (a zip bomb?)")
                out.write(chunk)
