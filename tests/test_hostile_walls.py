"""Hostile submissions against the walls that hold without the audit hook (issue #14).

Each attack first disarms the child's audit hook in pure Python (the hook is a witness, not
a wall), then tries one thing: read the answers (reference, fixtures, ``.git``), import or
print the harness, plant a plugin, forge a parse bomb, snoop the hidden seed, reach the
network, write outside its folder, read another student's reports, signal or read the
grader, or hold the grade with slow calls. A successful theft prints ``LEAK`` and returns
what it stole; a failed one returns zeros, as the honest (wrong) submission does.

Every attack runs twice: with the grader as root (the child gets a uid of its own) and with
the grader as an ordinary user (a fresh uid; it keeps only the capability to read files,
because this machine's Python lives under a private ``/root``), where the kernel's
Landlock walls are all that stands between the child and the grader's files. Each asserts a
score no higher than the honest submission's, no ``LEAK`` in what the child printed, no
file left outside the sandbox and no process left running. The targets are made so that
each attack would succeed without its wall (world-readable, world-writable, listening).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from harness import grade as grade_mod
from harness.core import paths
from harness.core.model import GradeReport, Status
from harness.grade import grade
from harness.options import Options, TrainOptions
from harness.sandbox import cgroup, landlock, namespaces, proctree, walls
from harness.sandbox.privileges import Drop, drop_privileges, fresh_uid
from harness.sandbox.process import Limits, Sandbox

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not landlock.abi(), reason="these walls need Landlock (Linux >= 5.13)"),
]

HONEST = "forward.inner_product"
ZEROS = "out = dict(input); out['data'] = np.zeros_like(input['data']); return out"
RIGHT = "out = dict(input); out['data'] = np.maximum(input['data'], 0); return out"
DISARM = """
import gc, sys
def disarm():
    # The hook stays registered (PEP 578: it cannot be removed) but stops refusing anything.
    serve = sys.modules.get('harness.child.serve')
    if serve is not None:
        serve._HANDLERS.clear()
    for o in gc.get_objects():
        if type(o).__name__ == 'Guard':
            o.protected, o.protected_names, o.writable = (), frozenset(), ('/',)
disarm()
"""


@dataclass
class Attack:
    name: str
    body: str
    """relu_forward's body (``np`` and the targets in scope); prints LEAK when it succeeds."""
    wall: str
    """The wall that stops it (for the reader; docs/threat-model.md lists them)."""
    expect: dict = field(default_factory=lambda: {"forward.relu": ("FAIL", "")})
    """Check id -> (status, '' for FAIL or ERROR; text its message or details contain)."""
    only: tuple = ("forward.relu",)
    options: dict = field(default_factory=dict)
    """Options fields (``training``, budgets) beyond the defaults of this corpus."""
    honest: str = ZEROS
    """relu_forward's body in the honest version the score is compared with."""
    root_only: str = ""
    """Why the wall holds only when the grader is root (the user-mode run is skipped, saying so)."""


ATTACKS = [
    Attack(
        "disarms_the_hook_then_imports_the_reference",
        """
        import importlib.util
        try:
            spec = importlib.util.spec_from_file_location('ref_relu', T['reference'] + '/relu.py')
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            print('LEAK reference imported')
            return module.relu_forward(input)
        except OSError as exc:
            print('refused:', exc)
        """,
        "Landlock: reference/ is not among the child's readable paths",
    ),
    Attack(
        "disarms_the_hook_then_reads_the_fixtures",
        """
        import glob
        try:
            for path in glob.glob(T['fixtures'] + '/relu_forward/*.npz') + [T['fixtures'] + '/manifest.json']:
                with open(path, 'rb') as f:
                    f.read(1)
                print('LEAK fixture', path)
        except OSError as exc:
            print('refused:', exc)
        """,
        "Landlock: fixtures/ unreadable",
    ),
    Attack(
        "reads_the_git_objects",
        """
        import os, zlib
        git = T['git']
        try:
            if os.path.isfile(git):   # a worktree: .git names the real folder
                git = open(git).read().split('gitdir:')[1].strip().split('/worktrees/')[0]
            for root, _, files in os.walk(git + '/objects'):
                for name in files[:50]:
                    data = open(os.path.join(root, name), 'rb').read()
                    if b'relu_forward' in (zlib.decompress(data) if 'pack' not in root else data):
                        print('LEAK git object', name)
                        break
            open(git + '/HEAD').read()
            print('LEAK git HEAD')
        except (OSError, IndexError, zlib.error) as exc:
            print('refused:', exc)
        """,
        "Landlock: .git unreadable",
    ),
    Attack(
        "imports_harness_modules",
        """
        for name in ('harness.diagnose.mutants', 'harness.cases.reference', 'harness.checks.catalogue'):
            try:
                __import__(name)
                print('LEAK imported', name)
            except (ImportError, OSError) as exc:
                print('refused:', name, exc)
        """,
        "Landlock: only harness.child.RUNTIME's files are readable",
    ),
    Attack(
        "prints_the_harness_source",
        """
        for rel in ('diagnose/mutants.py', 'cases/reference.py', 'core/compare.py', 'grade.py'):
            try:
                print('LEAK', open(T['package'] + '/' + rel).read()[:200])
            except OSError as exc:
                print('refused:', rel, exc)
        """,
        "Landlock: the harness package is unreadable beyond the child runtime",
    ),
    Attack(
        "drops_a_pytest_plugin",
        """
        import site
        plugin = 'import pytest\\n@pytest.hookimpl\\ndef pytest_report_teststatus(report): return "passed", ".", "PASSED"\\n'
        for folder in [T['writable'], *site.getsitepackages()]:
            for name, text in (('zz_hostile_plugin.py', plugin), ('zz_hostile.pth', 'import zz_hostile_plugin\\n')):
                try:
                    with open(folder + '/' + name, 'w') as f:
                        f.write(text)
                    print('LEAK planted', folder, name)
                except OSError as exc:
                    print('refused:', folder, exc)
        """,
        "Landlock: writes only in the sandbox's work and call folders",
    ),
    Attack(
        "writes_outside_its_folder",
        """
        import os
        for path in (T['writable'] + '/outlives-the-grade', '/tmp/' + T['mark'] + '-x', '/dev/shm/' + T['mark']):
            try:
                with open(path, 'w') as f:
                    f.write('still here')
                print('LEAK wrote', path)
            except OSError as exc:
                print('refused:', path, exc)
        """,
        "Landlock: writes only in the sandbox's work and call folders",
    ),
    Attack(
        "reads_another_students_reports",
        """
        import os
        try:
            for name in os.listdir(T['other']):
                print('LEAK', name, open(os.path.join(T['other'], name)).read())
        except OSError as exc:
            print('refused:', exc)
        """,
        "Landlock: no folder outside its own sandbox is readable",
    ),
    Attack(
        "snoops_the_hidden_seed_in_proc",
        """
        import os
        try:
            pids = [p for p in os.listdir('/proc') if p.isdigit()]
        except OSError as exc:
            print('refused:', exc)
            pids = [T['decoy'], os.getppid(), 1]   # pids can be guessed without a listing
        for pid in pids:
            try:
                text = open(f'/proc/{pid}/cmdline', 'rb').read()
            except OSError:
                continue
            if b'4242427' in text:
                print('LEAK', text.replace(b'\\0', b' ').decode())
                break
        """,
        "Landlock: /proc of other processes unreadable (the child's own is granted)",
    ),
    Attack(
        "sends_the_reference_over_tcp",
        """
        import socket
        try:
            s = socket.create_connection(('127.0.0.1', T['tcp']), timeout=2)
            s.sendall(b'LEAK the reference would travel here')
            print('LEAK connected')
        except OSError as exc:
            print('refused:', exc)
        """,
        "Landlock: no TCP connect or bind (ABI >= 4)",
    ),
    Attack(
        "talks_to_an_abstract_socket",
        """
        import socket
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect('\\0' + T['abstract'])
            s.sendall(b'LEAK')
            print('LEAK connected to the abstract socket')
        except OSError as exc:
            print('refused:', exc)
        """,
        "Landlock: abstract unix sockets scoped to the sandbox (ABI >= 6)",
    ),
    Attack(
        "signals_the_grader",
        """
        import os
        for pid in {os.getppid(), T['grader']} - {0}:   # in a PID namespace, its parent is 0
            try:
                os.kill(pid, 0)   # 0: only asks whether it may; a real attack sends SIGKILL
                print('LEAK may signal the grader', pid)
            except OSError as exc:
                print('refused:', exc)
        """,
        "Landlock: signals scoped to the sandbox (ABI >= 6); as root also the uid",
    ),
    Attack(
        "sees_the_graders_processes",
        """
        import os
        seen = []
        for pid in (T['decoy'], T['grader']):
            try:
                os.kill(pid, 0)   # PermissionError too says that the process is there
                seen.append(pid)
            except PermissionError:
                seen.append(pid)
            except ProcessLookupError:
                if os.path.exists(f'/proc/{pid}'):
                    seen.append(pid)
        if seen:
            print('LEAK sees processes outside the sandbox:', seen)
        else:
            print('refused: no process outside the sandbox exists for it')
        """,
        "PID namespace: no process outside the sandbox, by signal or by /proc",
        root_only="without root there is no PID namespace: Landlock refuses the signals and the /proc "
        "entries, but a process's existence still shows",
    ),
    Attack(
        "reads_the_graders_memory_with_libc",
        """
        import ctypes, os
        libc = ctypes.CDLL(None, use_errno=True)
        for pid in {os.getppid(), T['grader']} - {0}:   # in a PID namespace, its parent is 0
            for what in ('mem', 'environ'):
                fd = libc.open(f'/proc/{pid}/{what}'.encode(), 0)
                if fd >= 0:
                    print('LEAK opened the grader\\'s', what)
                    libc.close(fd)
        """,
        "Landlock: no ptrace access outside the sandbox; /proc of the grader not granted",
    ),
    Attack(
        "holds_memory_in_many_processes",
        """
        import os
        ready_r, ready_w = os.pipe()
        kids = []
        for _ in range(3):                  # 4 x 80 MiB together, each under the 256 MiB RLIMIT_AS
            pid = os.fork()
            if pid == 0:
                hog = np.ones(10 * 2**20)
                os.write(ready_w, b'x')
                import time
                time.sleep(0.5)
                os._exit(0)
            kids.append(pid)
        hog = np.ones(10 * 2**20)
        os.close(ready_w)
        got = b''
        while len(got) < 3:
            chunk = os.read(ready_r, 3)
            if not chunk:
                break
            got += chunk
        dead = [os.waitpid(pid, 0)[1] for pid in kids]
        if len(got) == 3 and not any(dead):
            print('LEAK 4 processes held', 4 * hog.nbytes >> 20, 'MiB together')
        """,
        "the sandbox's cgroup: memory of all its processes together (root only)",
        expect={"forward.relu": ("", "")},  # zeros (FAIL), or the OOM killer ended the server (ERROR)
        options={"timeout": 8.0, "memory": 256 * 2**20},
        root_only="without root there is no cgroup: RLIMIT_AS bounds each process, not their sum",
    ),
    Attack(
        "forges_a_deep_reply",
        """
        serve = sys.modules['harness.child.serve']
        def write_reply(folder, reply):
            (folder / 'reply.json').write_text('{"status": "ok", "data": ' + '[' * 200000 + ']' * 200000 + '}')
        serve._write_reply = write_reply
        """
        + RIGHT,
        "bounded JSON (harness.sandbox.safejson): depth > 32 is a protocol error",
        expect={"forward.relu": ("ERROR", "malformed")},
    ),
    Attack(
        "forges_a_deep_progress_file",
        """
        import gc, os
        frame = sys._getframe()
        while frame is not None and 'folder' not in frame.f_locals:
            frame = frame.f_back
        if frame is not None:
            target = frame.f_locals['folder'] / 'progress.json'
            def bomb(info):
                (target.parent / 'bomb').write_text('[' * 20000 + ']' * 20000)
                os.replace(target.parent / 'bomb', target)
            for o in gc.get_objects():
                if type(o).__name__ == '_Run':
                    o.progress = bomb
            bomb(None)
        """
        + RIGHT,
        "bounded JSON: train.lenet fails with a protocol error; the integrity flags still run",
        only=("train.lenet",),
        expect={"train.lenet": ("ERROR", "protocol error")},
        options={"training": TrainOptions(iterations=5)},
    ),
    Attack(
        "holds_the_grade_with_slow_calls",
        "import time\ntime.sleep(1.0)\n" + RIGHT,
        "the cumulative time budget of a function (harness.sandbox.budget)",
        expect={"forward.relu": ("ERROR", "time budget")},
        options={"timeout": 3.0, "function_time_budget": 3.5},
        honest=RIGHT,
    ),
    Attack(
        "holds_the_grade_past_its_limit",
        "import time\ntime.sleep(1.0)\n" + RIGHT,
        "the grade's wall-clock limit (--grade-time-limit)",
        expect={"forward.relu": ("ERROR", "time limit")},
        options={"timeout": 3.0, "grade_time_limit": 8.0},
        honest=RIGHT,
    ),
]


# ---- targets that the attacks would reach without their walls ------------------------------------


@pytest.fixture(scope="module")
def targets(tmp_path_factory):
    """World-readable secrets, a world-writable folder, a listening TCP and abstract socket,
    and a process whose command line holds a hidden seed."""
    mark = f"i14-{secrets.token_hex(4)}"
    base = Path(f"/tmp/{mark}")
    writable, other = base / "writable", base / "other-student"
    for d in (base, writable, other):
        d.mkdir()
    base.chmod(0o755)
    writable.chmod(0o777)
    other.chmod(0o755)
    (other / "results.json").write_text('{"score": 70, "secret": "another student"}')
    (other / "results.json").chmod(0o644)
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(8)
    tcp.setblocking(False)
    abstract = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    abstract.bind("\0" + mark)
    abstract.listen(8)
    abstract.setblocking(False)
    decoy = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(7200)", "--hidden-seed", "4242427"],
        stdin=subprocess.DEVNULL,
    )
    found = {
        "decoy": decoy.pid,
        "grader": os.getpid(),
        "reference": str(paths.REFERENCE_DIR),
        "fixtures": str(paths.FIXTURES_DIR),
        "git": str(paths.ROOT / ".git"),
        "package": str(paths.PACKAGE_DIR),
        "writable": str(writable),
        "other": str(other),
        "mark": mark,
        "tcp": tcp.getsockname()[1],
        "abstract": mark,
    }
    yield found, (tcp, abstract)
    decoy.kill()
    decoy.wait()
    tcp.close()
    abstract.close()
    shutil.rmtree(base, ignore_errors=True)


def nothing_reached(found: dict, sockets) -> list[str]:
    """What an attack left: files outside the sandbox, connections to our listeners."""
    left = [str(p) for p in Path(found["writable"]).iterdir()]
    left += [p for p in (f"/tmp/{found['mark']}-x", f"/dev/shm/{found['mark']}") if os.path.exists(p)]
    for s in sockets:
        while (
            True
        ):  # every pending connection (one per call of the attack), so none is left for the next test
            try:
                conn, _ = s.accept()
            except BlockingIOError:
                break
            conn.close()
            left.append(f"a connection to {s.getsockname()!r}")
    return left


def source(attack: Attack | None, found: dict, honest: str = ZEROS) -> str:
    body = textwrap.dedent(attack.body).strip() if attack else honest
    if attack and not body.rstrip().endswith("return out"):
        body += "\n" + ZEROS
    return (
        "import numpy as np\nimport sys\n"
        + f"T = {json.dumps(found)}\n"
        + (textwrap.dedent(DISARM) if attack else "")
        + "\n\ndef relu_forward(input):\n"
        + textwrap.indent(body, "    ")
        + "\n\n\ndef relu_backward(output, input, layer):\n    return output['diff'] * (input['data'] > 0)\n"
    )


def build(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True)
    for f in paths.REFERENCE_DIR.glob("*.py"):
        shutil.copyfile(f, folder / f.name)
    (folder / "relu.py").write_text(text)
    return folder


def options_spec(attack: Attack | None) -> dict:
    only = attack.only if attack else ("forward.relu",)
    extra = dict(attack.options) if attack else {}
    training = extra.pop("training", TrainOptions(enabled=False))
    return {
        "only": [*only, HONEST],
        "timeout": extra.pop("timeout", 5.0),  # none of these hangs; a loaded CI machine starts slowly
        "training": {"enabled": training.enabled, "iterations": training.iterations},
        **extra,
    }


def options_of(spec: dict) -> Options:
    spec = dict(spec)
    memory = spec.pop("memory", 1 << 30)
    return Options(
        only=tuple(spec.pop("only")),
        training=TrainOptions(**spec.pop("training")),
        limits=Limits(timeout_s=spec["timeout"], memory_bytes=memory, processes=200),
        **spec,
    )


# ---- the two modes -----------------------------------------------------------------------------

DRIVER = """
import json, sys
sys.path.insert(0, sys.argv[1])
from test_hostile_walls import options_of
from harness.grade import grade
jobs = json.loads(sys.argv[2])
print(json.dumps({name: grade(folder, options_of(spec)).to_dict() for name, (folder, spec) in jobs.items()}, default=str))
"""


def grade_as_root(folder: Path, spec: dict, monkeypatch) -> GradeReport:
    made: list[Sandbox] = []

    class Recording(Sandbox):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            made.append(self)

    monkeypatch.setattr(grade_mod, "Sandbox", Recording)
    before = {p.pid for p in proctree.snapshot().values() if p.ppid == os.getpid()}
    report = grade(folder, options_of(spec))
    from test_hostile import assert_nothing_left

    assert_nothing_left(made, before)
    return report


def grade_as_user(jobs: dict) -> dict[str, GradeReport]:
    """Grade ``{name: (folder, spec)}`` in one process of an ordinary user: a fresh uid that keeps
    only CAP_DAC_READ_SEARCH (this Python is under a private /root), so no uid drop applies."""
    uid = fresh_uid()
    user = Drop(uid, uid, keep_read=True, dedicated=True)
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, str(Path(__file__).parent), json.dumps(jobs, default=str)],
        preexec_fn=lambda: drop_privileges(user),
        capture_output=True,
        text=True,
        timeout=600,
        cwd="/",
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/tmp", "TMPDIR": "/tmp"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    deadline = time.monotonic() + 3
    while (
        left := [pid for pid in proctree.snapshot() if proctree._owner(pid) == uid]
    ) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left, f"processes of the grader's user left behind: {left}"
    reports = json.loads(done.stdout.strip().splitlines()[-1])
    return {name: GradeReport.from_dict(d) for name, d in reports.items()}


@pytest.fixture(scope="module")
def as_user(targets, tmp_path_factory):
    """Every attack and every honest version, graded by one process of an ordinary user (one
    interpreter start for the lot), with what the attacks reached outside the sandbox."""
    found, sockets = targets
    base = tmp_path_factory.mktemp("as-user")
    jobs = {
        a.name: (build(base / a.name, source(a, found)), options_spec(a)) for a in ATTACKS if not a.root_only
    }
    for i, honest in enumerate(sorted({a.honest for a in ATTACKS})):
        jobs[f"honest:{honest}"] = (
            build(base / f"honest{i}", source(None, found, honest)),
            options_spec(None),
        )
    if os.geteuid() != 0:  # the grader is an ordinary user already
        reports = {name: grade(folder, options_of(spec)) for name, (folder, spec) in jobs.items()}
    else:
        reports = grade_as_user(jobs)
    return reports, nothing_reached(found, sockets)


def graded(mode, attack, targets, tmp_path, tmp_path_factory, monkeypatch, as_user) -> tuple:
    """``(report, honest score, what it reached outside)`` of ``attack`` in ``mode``."""
    if mode == "user":
        reports, reached = as_user
        return reports[attack.name], reports[f"honest:{attack.honest}"].score, reached
    found, sockets = targets
    if os.geteuid() != 0:
        pytest.skip("the grader is not root here")
    report = grade_as_root(
        build(tmp_path / "submission", source(attack, found)), options_spec(attack), monkeypatch
    )
    reached = nothing_reached(found, sockets)
    if attack.honest not in _HONEST:
        folder = build(tmp_path_factory.mktemp("honest") / "submission", source(None, found, attack.honest))
        _HONEST[attack.honest] = grade_as_root(folder, options_spec(None), monkeypatch).score
    return report, _HONEST[attack.honest], reached


MODES = ["root", "user"]
_HONEST: dict = {}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
def test_attack_is_stopped(attack, mode, targets, tmp_path, tmp_path_factory, monkeypatch, request):
    if mode == "user" and attack.root_only:
        pytest.skip(f"not defended for an ordinary user's grader: {attack.root_only}")
    as_user = request.getfixturevalue("as_user") if mode == "user" else None
    report, honest, reached = graded(mode, attack, targets, tmp_path, tmp_path_factory, monkeypatch, as_user)
    assert not report.autograder_error, report.autograder_error
    checks = {c.id: c for c in report.checks}
    assert checks[HONEST].status is Status.PASS, checks[HONEST]
    for check_id, (status, text) in attack.expect.items():
        check = checks[check_id]
        assert check.status.value == status if status else check.status is not Status.PASS, (
            check_id,
            check.status,
            check.message,
        )
        assert text in check.message + check.details, (check.message, check.details)
    printed = "".join(c.output for c in report.checks)
    assert "LEAK" not in printed, printed[:2000]
    assert not reached, reached
    assert report.score <= honest, (report.score, honest)
    assert walls.NO_LANDLOCK not in report.notices


WITHOUT_LANDLOCK = (
    "prints_the_harness_source",
    "sees_the_graders_processes",
    "writes_outside_its_folder",
    "reads_another_students_reports",
    "sends_the_reference_over_tcp",
    "holds_memory_in_many_processes",
    "snoops_the_hidden_seed_in_proc",
)


@pytest.mark.parametrize("name", WITHOUT_LANDLOCK)
def test_the_attack_succeeds_without_landlock(name, targets, tmp_path, monkeypatch):
    """The corpus can fail: with Landlock off (as on an old kernel), these attacks get through
    even as root with a uid of the child's own -- and the grade says loudly that it had no Landlock."""
    found, sockets = targets
    attack = next(a for a in ATTACKS if a.name == name)
    monkeypatch.setattr(landlock, "_ABI", [0])
    monkeypatch.setattr(namespaces, "available", lambda: False)
    monkeypatch.setattr(cgroup, "create", lambda *a: (None, "no cgroup (switched off by the test)"))
    report = grade(build(tmp_path / "submission", source(attack, found)), options_of(options_spec(attack)))
    reached = nothing_reached(found, sockets)  # also clears what it left for the other tests
    for p in Path(found["writable"]).iterdir():
        p.unlink()
    for p in (f"/tmp/{found['mark']}-x", f"/dev/shm/{found['mark']}"):
        Path(p).unlink(missing_ok=True)
    printed = "".join(c.output for c in report.checks)
    assert "LEAK" in printed or reached, (printed[:2000], [(c.id, c.message) for c in report.checks])
    assert walls.NO_LANDLOCK in report.notices
    assert report.provenance["walls"].startswith("no Landlock")


def test_corpus_size():
    """Issue #14 asks for at least 15 new hostile submissions, one per attack."""
    assert len(ATTACKS) >= 15


NAMESPACE_WALLS = (
    "sends_the_reference_over_tcp",
    "talks_to_an_abstract_socket",
    "writes_outside_its_folder",
    "sees_the_graders_processes",
)


@pytest.mark.skipif(not namespaces.available(), reason="namespaces are a root grader's wall")
@pytest.mark.parametrize("name", NAMESPACE_WALLS)
def test_namespaces_hold_without_landlock(name, targets, tmp_path, monkeypatch):
    """Each wall on its own: with Landlock off, the network namespace and the private /tmp
    still stop what gets through with both off (``test_the_attack_succeeds_without_landlock``)."""
    found, sockets = targets
    attack = next(a for a in ATTACKS if a.name == name)
    monkeypatch.setattr(landlock, "_ABI", [0])
    report = grade(build(tmp_path / "submission", source(attack, found)), options_of(options_spec(attack)))
    printed = "".join(c.output for c in report.checks)
    assert not nothing_reached(found, sockets)
    if name == "writes_outside_its_folder":  # it writes -- into a /tmp that vanishes with the sandbox
        assert "No such file or directory" in printed, printed[:2000]
    else:
        assert "refused" in printed and "LEAK" not in printed, printed[:2000]
    assert "network, mount and PID namespaces" in report.provenance["walls"]
