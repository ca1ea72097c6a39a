"""Attacks on what surrounds the sandbox: the hidden seed, other students' files in a bulk run,
and the pytest session that writes the reports.

Each test runs the real commands in real subprocesses. The hostile code reads with libc through
ctypes, so the child's audit hook (a speed bump, not a wall) sees no ``open``: what stops it is
the wall under test. Each also checks from outside that the attack had something to find, so
that it fails when the wall is missing.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import make_submission

from harness import options
from harness.core import paths
from harness.report.files import REPORT_DIR_MODE
from harness.report.plugin import AUTOLOAD_OFF
from harness.sandbox.privileges import unprivileged_user

pytestmark = pytest.mark.slow

SEED = str(700_000_000 + secrets.randbelow(99_999_999))
"""The hidden seed of the bulk run: nine digits no other process holds."""
TOKEN = secrets.token_hex(8)

SLURP = """
import ctypes, os
_libc = ctypes.CDLL(None, use_errno=True)

def slurp(path):
    # read with libc: the audit hook sees no open()
    fd = _libc.open(str(path).encode(), 0)
    if fd < 0:
        return b''
    out, buf = b'', ctypes.create_string_buffer(1 << 16)
    while len(out) < 1 << 22:
        n = _libc.read(fd, buf, 1 << 16)
        if n <= 0:
            break
        out += buf.raw[:n]
    _libc.close(fd)
    return out
"""

ZEROS_RELU = """

def relu_forward(input):
    out = dict(input)
    out['data'] = np.zeros_like(input['data'])
    return out


def relu_backward(output, input, layer):
    return output['diff'] * (input['data'] > 0)
"""

SNOOP = (
    "import numpy as np\n"
    + SLURP
    + """
found = set()
pids = set()
try:
    pids.update(p for p in os.listdir('/proc') if p.isdigit())
except OSError:
    pass
pid = os.getpid()
for _ in range(12):  # the grader and its ancestors, even without a listing of /proc
    pids.add(str(pid))
    stat = slurp(f'/proc/{pid}/stat').decode(errors='replace')
    if ')' not in stat:
        break
    pid = int(stat.rsplit(')', 1)[1].split()[1])
for p in pids:
    for part in ('cmdline', 'environ'):
        data = slurp(f'/proc/{p}/{part}')
        if SEED.encode() in data:
            found.add('SEED-IN-' + part.upper())
        if b'harness' in data:
            found.add('SAW-' + part.upper())
print('SNOOP', sorted(found))
"""
    + ZEROS_RELU
)

READER = (
    "import numpy as np\n"
    + SLURP
    + """
seen = []
for name, path in TARGETS.items():
    data = slurp(path)
    try:
        with open(path, 'rb') as f:
            data += f.read()
    except OSError:
        pass
    if TOKEN.encode() in data:
        seen.append(name)
print('READ', seen)
"""
    + ZEROS_RELU
)

HONEST = f"""
print('private output of amy: {TOKEN}')  # lands in amy's report.json
"""


class Watcher(threading.Thread):
    """Reads every process's command line, from outside the sandbox, until stopped."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.with_seed: set[str] = set()
        self.workers = 0

    def run(self) -> None:
        seen: set[str] = set()
        while not self.stop.is_set():
            for pid in os.listdir("/proc"):
                if not pid.isdigit() or pid in seen:
                    continue
                try:
                    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                except OSError:
                    continue
                if not cmdline:
                    continue
                seen.add(pid)
                if SEED in cmdline:
                    self.with_seed.add(cmdline)
                if "harness.deploy.worker" in cmdline:
                    self.workers += 1
            self.stop.wait(0.005)


@pytest.fixture(scope="module")
def bulk_run(tmp_path_factory):
    """A class of three graded by ``python -m harness bulk`` with a hidden seed in the environment:
    amy (honest), zed_reader (reads amy's files), zed_snoop (looks for the seed in /proc)."""
    base = tmp_path_factory.mktemp("bulk")
    klass, out = base / "class", base / "out"
    amy = make_submission(klass / "amy")
    (amy / "relu.py").write_text(HONEST + (amy / "relu.py").read_text() + f"\n# {TOKEN}\n")
    targets = {
        "amy's report.json": out / "students" / "amy" / "report.json",
        "amy's grader.log": out / "students" / "amy" / "grader.log",
        "amy's relu.py": amy / "relu.py",
    }
    reader = make_submission(klass / "zed_reader")
    (reader / "relu.py").write_text(
        f"TARGETS = {json.dumps({k: str(v) for k, v in targets.items()})}\nTOKEN = {TOKEN!r}\n" + READER
    )
    snoop = make_submission(klass / "zed_snoop")
    (snoop / "relu.py").write_text(f"SEED = {SEED!r}\n" + SNOOP)
    env = {**os.environ, options.HIDDEN_SEED_ENV: SEED}
    watcher = Watcher()
    watcher.start()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "harness", "bulk", str(klass), "--out", str(out), "--jobs", "1"]
            + ["--no-train", "--no-html", "--timeout", "10"]
            + ["--only", "forward.relu", "--only", "hidden.forward.relu", "--only", "forward.inner_product"],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        watcher.stop.set()
        watcher.join()
    assert proc.returncode == 0, proc.stderr
    reports = {
        name: json.loads((out / "students" / name / "report.json").read_text())
        for name in ("amy", "zed_reader", "zed_snoop")
    }
    return out, reports, watcher


def _output(report: dict, check: str) -> str:
    return next(c for c in report["checks"] if c["id"] == check)["output"]


def _score(report: dict) -> float:
    return report["score"]


def test_hidden_seed_is_on_no_command_line_and_out_of_the_childs_reach(bulk_run):
    out, reports, watcher = bulk_run
    assert watcher.workers >= 3, "the watcher saw no grading process: it proves nothing"
    assert not watcher.with_seed, f"the hidden seed is on a command line: {watcher.with_seed}"
    snoop = reports["zed_snoop"]
    assert any(c["id"] == "hidden.forward.relu" for c in snoop["checks"]), "no hidden cases were graded"
    output = _output(snoop, "forward.relu")
    assert "SNOOP" in output, output
    assert "SEED-IN" not in output, output
    for path in out.rglob("*"):
        if path.is_file():
            assert SEED not in path.read_text(errors="replace"), f"{path} holds the hidden seed"
    assert _score(snoop) < _score(reports["amy"])


def _no_wall_between_students() -> str:
    """Why a child could read another student's files on this machine, or '' when a wall stands:
    Landlock (its folders only), or a uid of its own without the capability to read any file."""
    try:
        from harness.sandbox import landlock  # the kernel walls of issue #14
    except ImportError:
        landlock = None
    if landlock is not None and getattr(landlock, "abi", lambda: 0)() > 0:
        return ""
    user, note = unprivileged_user()
    if user is not None and not user.keep_read:
        return ""
    return f"no wall between students on this machine: no Landlock, and {note}"


def test_a_student_cannot_read_another_students_reports_or_submission(bulk_run):
    out, reports, _ = bulk_run
    for folder in (out, out / "students", out / "extracted", out / "students" / "amy"):
        assert folder.stat().st_mode & 0o777 == REPORT_DIR_MODE, folder
    missing = _no_wall_between_students()
    if missing:
        pytest.skip(missing)
    assert TOKEN in _output(reports["amy"], "forward.relu"), "amy's report has nothing to steal"
    output = _output(reports["zed_reader"], "forward.relu")
    assert "READ" in output, output
    assert "READ []" in output, f"zed_reader read another student's files: {output}"
    assert _score(reports["zed_reader"]) < _score(reports["amy"])


PLUGIN = f"""
from pathlib import Path

def pytest_configure(config):
    Path({{marker!r}}).write_text('loaded {TOKEN}')

def pytest_runtest_logreport(report):
    report.outcome = 'passed'  # every check passes: the template would score full marks
"""


def test_a_pytest_plugin_dropped_where_python_finds_packages_is_not_loaded(tmp_path):
    """What a submission running as the grader's user can write into its site-packages."""
    site = tmp_path / "site"
    site.mkdir()
    marker = tmp_path / "plugin-was-loaded"
    (site / "evil_plugin.py").write_text(PLUGIN.format(marker=str(marker)))
    dist = site / "evil_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: evil-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[pytest11]\nevil = evil_plugin\n")
    env = {k: v for k, v in os.environ.items() if k not in (AUTOLOAD_OFF, "PYTEST_ADDOPTS")}
    env.update(PYTHONPATH=str(site), PYTEST_PLUGINS="evil_plugin", PYTEST_ADDOPTS="-p evil_plugin")

    # Any ordinary pytest session of this Python loads it: the wall below is what stops it.
    probe = tmp_path / "probe"
    probe.mkdir()
    (probe / "test_x.py").write_text("def test_x():\n    assert False\n")
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(probe)],
        env={**env, "PYTEST_PLUGINS": "", "PYTEST_ADDOPTS": ""},
        cwd=probe,
        capture_output=True,
        timeout=120,
    )
    assert marker.exists(), (
        "the planted plugin does not load even in a plain session: this test proves nothing"
    )
    marker.unlink()

    template = tmp_path / "template"
    shutil.copytree(paths.ROOT / "student_template", template, ignore=shutil.ignore_patterns(".github"))
    out = tmp_path / "reports"
    proc = subprocess.run(
        [sys.executable, "-m", "harness", "grade", str(template), "--out", str(out)]
        + ["--no-train", "--only", "forward.relu", "--only", "forward.inner_product", "--quiet"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert not marker.exists(), "the report session loaded a plugin it did not name"
    junit = (out / "junit.xml").read_text()
    assert 'failures="0"' not in junit or 'errors="0"' not in junit, junit[:500]
    assert "pytest-html" in (out / "report.html").read_text()  # the plugin it names still works
    assert out.stat().st_mode & 0o777 == REPORT_DIR_MODE
