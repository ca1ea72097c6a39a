"""Grade a whole class: ``python -m harness bulk DIR --jobs N``.

Every subfolder of DIR is one submission, and so is every ``.zip`` (what learning-management
systems export; unpacked by ``archives``). Each is graded by its own process
(``harness.deploy.worker``, i.e. ``python -m harness grade``, which runs the student's code in
its own sandbox), ``--jobs`` at a time, under a wall-clock limit: one broken or hostile
submission costs its own row, never the batch. The output folder gets::

    students/<name>/     that student's reports (report.json, results.json, summary.md,
                         junit.xml, report.html), grader.log and bulk.json (what was graded)
    extracted/<name>/    the unpacked zip
    gradebook.csv        one row per student (``gradebook``)
    class_report.html    the class at a glance (``class_report``)

A re-run skips a submission whose bulk.json says it was graded from the same files with the
same options (``--force`` regrades everything); submissions that could not be graded are tried
again.

Invariants: the output folder, ``students/``, ``extracted/`` and every student's folder are
created ``0700`` (the grader's alone: no sandboxed child, this student's or another's, may read
a report or an unpacked submission); the hidden seed reaches each grading process in its
environment only, never on a command line, and the processes holding it are undumpable.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from harness.checks import similarity
from harness.core.model import GradeReport
from harness.deploy import archives, class_report, gradebook
from harness.deploy.gradebook import Row
from harness.options import HIDDEN_SEED_ENV
from harness.report.common import first_line, points
from harness.report.files import REPORT_DIR_MODE
from harness.sandbox.submission import SubmissionError, locate

STATE = "bulk.json"
"""Per student: the fingerprint of what was graded, and how it went."""
LOG = "grader.log"
"""Per student: the grading process's own output (the grade's whole terminal report)."""
KILL_GRACE_S = 15.0
"""After the time limit: seconds between asking the grading process to stop and killing it."""
BLAS_THREADS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
"""Set for each grading process (unless already set): the CPUs shared between the jobs."""
LOG_TAIL = 1500
"""Characters of grader.log quoted when a process died without a report."""


@dataclass(frozen=True)
class Entry:
    """One submission found in the class folder."""

    name: str
    """The student's name in the gradebook: the folder's name, the zip's without ``.zip``."""
    source: Path
    """The folder or the zip."""

    @property
    def is_zip(self) -> bool:
        return self.source.is_file()


@dataclass(frozen=True)
class Settings:
    """How to grade every submission."""

    grade_args: tuple = ()
    """Grade options passed on to every grading process (``--no-train``, ``--rubric F``...)."""
    hidden_seed: int | None = None
    """Passed in the environment of each grading process (undumpable at once), never on a
    command line."""
    timeout_s: float = 900.0
    """Wall-clock limit of one submission's whole grade."""
    html: bool = True
    """Write each student's report.html (and junit.xml)."""
    force: bool = False
    """Regrade what an earlier run graded already."""


def discover(folder: Path, exclude: Path | None = None) -> tuple[list[Entry], list[str]]:
    """The submissions in ``folder`` (sorted by name), and the names of entries that are not one."""
    entries: list[Entry] = []
    ignored: list[str] = []
    taken: set[str] = set()
    for p in sorted(folder.iterdir(), key=lambda p: p.name.lower()):
        if p.name.startswith(".") or p.name == "__MACOSX":
            continue
        if exclude is not None and p.resolve() in (exclude.resolve(), *exclude.resolve().parents):
            continue
        if p.is_dir():
            name = p.name
        elif p.is_file() and p.suffix.lower() == ".zip":
            name = p.stem if p.stem.lower() not in taken else p.name
        else:
            ignored.append(p.name)
            continue
        taken.add(name.lower())
        entries.append(Entry(name, p))
    return entries, ignored


def fingerprint(entry: Entry, settings: Settings) -> str:
    """Changes when the submission's files or the grade options change."""
    h = hashlib.sha256()
    if entry.is_zip:
        with open(entry.source, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    else:
        for i, path in enumerate(sorted(entry.source.rglob("*"))):
            if i > 20_000:
                break
            try:
                st = path.lstat()
            except OSError:
                continue
            h.update(
                f"{path.relative_to(entry.source).as_posix()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode()
            )
    seed = hashlib.sha256(str(settings.hidden_seed).encode()).hexdigest()
    h.update(json.dumps([list(settings.grade_args), seed, settings.html]).encode())
    return h.hexdigest()


class Batch:
    """One bulk run: the grading processes in flight, so that an interrupt can stop them all."""

    def __init__(self, out: Path, settings: Settings, jobs: int = 1):
        self.out = out
        self.settings = settings
        # BLAS threads per grading process, so that `jobs` of them share the CPUs.
        self.threads = max(1, (os.cpu_count() or 1) // max(1, jobs))
        self._running: set[subprocess.Popen] = set()
        self._lock = threading.Lock()

    # -- one submission ------------------------------------------------------------------
    def grade(self, entry: Entry) -> Row:
        """Grade one submission into ``students/<name>/``; never raises."""
        folder = self.out / "students" / entry.name
        rel = folder.relative_to(self.out).as_posix()
        try:
            return self._grade(entry, folder, rel)
        except Exception as exc:  # a bug of ours, or the disk: this student's row says so
            return Row(
                entry.name, str(entry.source), None, f"the bulk runner failed: {exc!r}", report_dir=rel
            )

    def _grade(self, entry: Entry, folder: Path, rel: str) -> Row:
        folder.mkdir(mode=REPORT_DIR_MODE, parents=True, exist_ok=True)
        if entry.is_zip and entry.source.stat().st_size > archives.MAX_ARCHIVE_BYTES:
            return self._record(
                entry,
                folder,
                rel,
                "",
                None,
                f"archive larger than {archives.MAX_ARCHIVE_BYTES >> 20} MiB",
                0.0,
            )
        stamp = fingerprint(entry, self.settings)
        previous = self._previous(folder, stamp)
        if previous is not None and not self.settings.force:
            return Row(
                entry.name,
                str(entry.source),
                previous,
                seconds=self._state(folder).get("seconds", 0.0),
                report_dir=rel,
                reused=True,
            )
        shutil.rmtree(folder)  # no report of an earlier grade may pass for this one's
        folder.mkdir(mode=REPORT_DIR_MODE)
        path = entry.source
        if entry.is_zip:
            try:
                path = archives.extract(entry.source, self.out / "extracted" / entry.name)
            except archives.ArchiveError as exc:
                return self._record(entry, folder, rel, stamp, None, f"{entry.source.name}: {exc}", 0.0)
        start = time.monotonic()
        rc, timed_out = self._run(self._command(path, folder), folder / LOG)
        seconds = time.monotonic() - start
        report = self._load(folder)
        reason = ""
        if timed_out:
            reason = f"grading took longer than {self.settings.timeout_s:g} s and was stopped"
        elif report is None:
            reason = f"the grading process {_exit_text(rc)} without a report: {_tail(folder / LOG)}"
        elif report.autograder_error:
            reason = first_line(report.autograder_error)
        return self._record(entry, folder, rel, stamp, report, reason, seconds)

    def _command(self, path: Path, folder: Path) -> list[str]:
        argv = [
            sys.executable,
            "-m",
            "harness.deploy.worker",
            "grade",
            str(path.resolve()),
            "--out",
            str(folder.resolve()),
            "--reproduce-as",  # the reports go back to the student, who runs them in their folder
            ".",
            *self.settings.grade_args,
        ]
        return argv if self.settings.html else argv + ["--no-html"]

    def _run(self, argv: list[str], log: Path) -> tuple[int, bool]:
        """Run one grading process under the time limit; (exit status, timed out)."""
        env = dict(os.environ)
        env.pop(HIDDEN_SEED_ENV, None)
        for key in BLAS_THREADS:
            env.setdefault(key, str(self.threads))
        if self.settings.hidden_seed is not None:
            env[HIDDEN_SEED_ENV] = str(self.settings.hidden_seed)
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
            with self._lock:
                self._running.add(proc)
            try:
                return proc.wait(timeout=self.settings.timeout_s), False
            except subprocess.TimeoutExpired:
                stop(proc)
                return proc.returncode if proc.returncode is not None else -9, True
            finally:
                with self._lock:
                    self._running.discard(proc)

    def stop_all(self) -> None:
        with self._lock:
            running = list(self._running)
        for proc in running:
            stop(proc, grace=2.0)

    # -- state ---------------------------------------------------------------------------
    @staticmethod
    def _state(folder: Path) -> dict:
        try:
            state = json.loads((folder / STATE).read_text())
            return state if isinstance(state, dict) else {}
        except (OSError, ValueError):
            return {}

    def _previous(self, folder: Path, stamp: str) -> GradeReport | None:
        state = self._state(folder)
        if state.get("fingerprint") != stamp or state.get("status") != "graded":
            return None
        report = self._load(folder)
        return report if report is not None and not report.autograder_error else None

    @staticmethod
    def _load(folder: Path) -> GradeReport | None:
        try:
            return GradeReport.from_dict(json.loads((folder / "report.json").read_text()))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _record(self, entry, folder, rel, stamp, report, reason, seconds) -> Row:
        row = Row(entry.name, str(entry.source), report, reason, seconds, rel)
        state = {
            "student": entry.name,
            "source": str(entry.source),
            "fingerprint": stamp,
            "status": "graded" if row.graded else "not graded",
            "reason": reason,
            "seconds": round(seconds, 2),
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        (folder / STATE).write_text(json.dumps(state, indent=2) + "\n")
        return row


def stop(proc: subprocess.Popen, grace: float = KILL_GRACE_S) -> None:
    """Ask a grading process (its whole process group) to stop, then kill it."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _exit_text(rc: int) -> str:
    if rc < 0:
        try:
            return f"was killed by {signal.Signals(-rc).name}"
        except ValueError:
            return f"was killed by signal {-rc}"
    return f"exited with status {rc}"


def _tail(log: Path) -> str:
    try:
        text = log.read_bytes()[-LOG_TAIL:].decode(errors="replace").strip()
    except OSError:
        return "(no log)"
    return " | ".join(text.splitlines()[-5:]) or "(empty log)"


def _outcome(row: Row) -> str:
    report = row.result
    if report is None:
        return f"NOT GRADED: {row.reason}"
    score = f"{points(report.score)} / {points(report.max_score)}"
    return f"{score} (graded earlier; --force regrades)" if row.reused else f"{score} ({row.seconds:.1f} s)"


def _class_family(rows: list[Row]) -> str:
    """The assignment family most of the graded submissions were graded as (column order), or ''."""
    from collections import Counter

    from harness import profiles

    seen = Counter(r.result.provenance.get("profile") for r in rows if r.result is not None)
    known = [(n, name) for name, n in seen.items() if name in profiles.PROFILES]
    return max(known)[1] if known else ""


REFERENCE_NAME = "(the reference solution)"
"""How the reference is named when it takes part in the pairwise comparison."""


def similar_pairs(rows: list[Row], profile: str) -> list[similarity.Pair]:
    """Pairs of graded students (and the reference) whose graded functions are near-identical.

    Each student is compared with the students graded as the same family and with that family's
    reference (``profile``: the family of a report that does not name one)."""
    from harness import profiles

    families: dict[str, list[Row]] = {}
    for row in rows:
        if row.result is not None:
            families.setdefault(row.result.provenance.get("profile") or profile, []).append(row)
    found = []
    for family, members in sorted(families.items()):
        try:
            prof = profiles.get(family)
        except (ValueError, OSError):  # a mapping file gone since: nothing to compare by
            continue
        tokens = {}
        for row in members:
            try:
                sub = locate(row.result.submission, prof.MODULES)  # type: ignore[union-attr]
            except SubmissionError:
                continue
            tokens[row.student] = similarity.functions(sub.folder, sub.functions)
        try:
            ref = locate(prof.REFERENCE_DIR, prof.MODULES)
            tokens[REFERENCE_NAME] = similarity.functions(ref.folder, ref.functions)
        except SubmissionError:
            pass
        found += similarity.pairs(tokens)
    return sorted(found, key=lambda p: (-p.share, p.a, p.b))


def run(
    folder: str | Path,
    out: str | Path,
    settings: Settings,
    jobs: int = 1,
    progress: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
    profile: str | None = None,
) -> list[Row]:
    """Grade every submission in ``folder``; write the gradebook and the class report into ``out``."""
    from harness import profiles

    folder, out = Path(folder), Path(out)
    if not folder.is_dir():
        raise NotADirectoryError(
            f"{folder}: not a folder; give the folder holding one subfolder or zip file per student"
        )
    out.mkdir(mode=REPORT_DIR_MODE, parents=True, exist_ok=True)
    for private in (out / "students", out / "extracted"):  # one student's files, no other's
        private.mkdir(mode=REPORT_DIR_MODE, exist_ok=True)
        private.chmod(REPORT_DIR_MODE)
    entries, ignored = discover(folder, exclude=out)
    for name in ignored:
        progress(f"ignored {name}: not a folder or a .zip")
    progress(f"grading {len(entries)} submissions from {folder}, {jobs} at a time -> {out}/")
    batch = Batch(out, settings, jobs)
    rows: list[Row] = []
    width = len(str(len(entries)))
    started = time.monotonic()
    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    try:
        futures = {pool.submit(batch.grade, e): e for e in entries}
        for i, future in enumerate(as_completed(futures), 1):
            row = future.result()
            rows.append(row)
            progress(f"[{i:>{width}}/{len(entries)}] {row.student}: {_outcome(row)}")
    except KeyboardInterrupt:
        progress("interrupted: stopping the grading processes")
        pool.shutdown(wait=False, cancel_futures=True)
        batch.stop_all()
        raise
    pool.shutdown()
    profile = profile or _class_family(rows) or profiles.DEFAULT
    similar = similar_pairs(rows, profile)
    for pair in similar:
        progress(f"similar: {pair.text()}")
    book = gradebook.write(rows, out / "gradebook.csv", profile, similar)
    page = class_report.write(
        rows,
        out / "class_report.html",
        {
            "folder": str(folder),
            "options": " ".join(settings.grade_args) or "(defaults)",
            "hidden cases": "yes" if settings.hidden_seed is not None else "no",
            "wall time": f"{time.monotonic() - started:.0f} s with {jobs} jobs",
        },
        profile,
        similar,
    )
    failed = [r for r in rows if not r.graded]
    progress(
        f"graded {len(rows) - len(failed)} of {len(rows)}"
        + (f"; NOT GRADED: {', '.join(r.student for r in failed)}" if failed else "")
    )
    progress(f"gradebook: {book}\nclass report: {page}")
    return rows
