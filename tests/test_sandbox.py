"""The sandbox runs submission code in a child process and survives what it does."""

import os
import time
from pathlib import Path

import numpy as np
import pytest

from harness.core import paths
from harness.profiles import dictapi
from harness.sandbox import proctree, replies, safefiles
from harness.sandbox.process import Limits, Sandbox, unprivileged_user
from harness.sandbox.submission import locate

RELU = dict(h=2, w=3, c=1)


def relu_x(seed=0):
    return np.random.default_rng(seed).standard_normal((6, 2)) + 0.1


def sandbox_for(path, **limits):
    return Sandbox(locate(path, dictapi.MODULES), Limits(**limits))


def test_reference_call_round_trip(submission):
    with sandbox_for(submission()) as sb:
        reply = sb.call("relu.forward", RELU, {"x": relu_x()}, after=True)
    assert reply.ok, reply.error
    assert np.array_equal(reply.outputs["y"].array, np.maximum(relu_x(), 0))
    assert reply.meta == {"height": 2, "width": 3, "channel": 1, "batch_size": 2}
    assert np.array_equal(reply.after["input.data"].array, relu_x())


def test_exception_gives_trimmed_traceback_and_next_call_works(submission):
    path = submission(
        {
            "relu": """
        def relu_forward(input):
            raise ValueError("boom")
        def relu_backward(output, input, layer):
            return output['diff'] * (input['data'] > 0)
    """
        }
    )
    with sandbox_for(path) as sb:
        bad = sb.call("relu.forward", RELU, {"x": relu_x()})
        good = sb.call("relu.backward", RELU, {"x": relu_x(), "dy": relu_x(1), "y": relu_x()})
    assert bad.status == "exception" and "ValueError: boom" in bad.error
    assert "relu.py" in bad.traceback and "harness" not in bad.traceback
    assert good.ok


def test_not_implemented(tmp_path):
    (tmp_path / "relu.py").write_text(
        "def relu_forward(input):\n    raise NotImplementedError('relu_forward')\n"
    )
    with sandbox_for(tmp_path) as sb:
        reply = sb.call("relu.forward", RELU, {"x": relu_x()})
    assert reply.status == "not_implemented"


def test_timeout_kills_and_a_fresh_child_serves_the_next_call(submission):
    path = submission(
        {
            "relu": """
        import time
        def relu_forward(input):
            while True:
                time.sleep(0.01)
        def relu_backward(output, input, layer):
            return output['diff'] * (input['data'] > 0)
    """
        }
    )
    with sandbox_for(path, timeout_s=1.0) as sb:
        slow = sb.call("relu.forward", RELU, {"x": relu_x()})
        assert slow.status == "timeout" and "timed out after 1 s" in slow.error
        good = sb.call("relu.backward", RELU, {"x": relu_x(), "dy": relu_x(1), "y": relu_x()})
        assert good.ok


def test_segfault_is_reported_by_signal(submission):
    path = submission(
        {
            "relu": """
        import ctypes
        def relu_forward(input):
            ctypes.string_at(0)
        def relu_backward(output, input, layer):
            return output['diff'] * (input['data'] > 0)
    """
        }
    )
    with sandbox_for(path) as sb:
        reply = sb.call("relu.forward", RELU, {"x": relu_x()})
    assert reply.status == "crashed" and "SIGSEGV" in reply.error


@pytest.mark.parametrize(
    "ret, problem",
    [
        ("None", "returned None"),
        ("[[1.0]]", "builtins.list"),
        ("np.zeros((6, 2), dtype=object)", "dtype object"),
        ("np.zeros((6, 2), dtype=complex)", "dtype complex128"),
        ("np.ma.masked_array(np.zeros((6, 2)))", "MaskedArray"),
    ],
)
def test_unacceptable_returns_are_described(submission, ret, problem):
    path = submission(
        {
            "relu": f"""
        import numpy as np
        def relu_forward(input):
            out = dict(input)
            out['data'] = {ret}
            return out
        def relu_backward(output, input, layer):
            return output['diff']
    """
        }
    )
    with sandbox_for(path) as sb:
        reply = sb.call("relu.forward", RELU, {"x": relu_x()})
    assert reply.ok
    assert reply.outputs["y"].array is None
    assert problem in reply.outputs["y"].problem


def test_student_output_is_captured_per_call(submission):
    path = submission(
        {
            "relu": """
        import numpy as np
        def relu_forward(input):
            print("hello from relu")
            out = dict(input); out['data'] = np.maximum(input['data'], 0)
            return out
        def relu_backward(output, input, layer):
            return output['diff'] * (input['data'] > 0)
    """
        }
    )
    with sandbox_for(path) as sb:
        a = sb.call("relu.forward", RELU, {"x": relu_x()})
        b = sb.call("relu.backward", RELU, {"x": relu_x(), "dy": relu_x(1), "y": relu_x()})
    assert "hello from relu" in a.output and b.output == ""


def test_child_cannot_see_the_graders_environment(submission, monkeypatch):
    monkeypatch.setenv("HARNESS_SECRET_FOR_TEST", "s3cret")
    path = submission(
        {
            "relu": """
        import os, numpy as np
        def relu_forward(input):
            out = dict(input)
            out['data'] = np.full((6, 2), float('HARNESS_SECRET_FOR_TEST' in os.environ))
            return out
        def relu_backward(output, input, layer):
            return output['diff']
    """
        }
    )
    with sandbox_for(path) as sb:
        reply = sb.call("relu.forward", RELU, {"x": relu_x()})
    assert reply.ok and not reply.outputs["y"].array.any()


def test_memory_limit(submission):
    path = submission(
        {
            "relu": """
        import numpy as np
        def relu_forward(input):
            big = np.ones(2**31)  # 16 GiB
            return input
        def relu_backward(output, input, layer):
            return output['diff']
    """
        }
    )
    with sandbox_for(path, memory_bytes=1 << 30) as sb:
        reply = sb.call("relu.forward", RELU, {"x": relu_x()})
    assert reply.status == "memory"


# ---- containment ---------------------------------------------------------------------------------


def servers(sb) -> list[int]:
    """The process that serves the sandbox: the child, or where it has a PID namespace the
    namespace's process 1 (its keeper, harness.sandbox.namespaces, runs no sandbox code)."""
    return [sb.tracker.process_one.get(sb.proc.pid, sb.proc.pid)]


def sandbox_processes(sb) -> list[int]:
    """Live processes carrying this sandbox's token or folder."""
    found = []
    for p in proctree.snapshot().values():
        try:
            cmdline = Path(f"/proc/{p.pid}/cmdline").read_bytes()
            environ = Path(f"/proc/{p.pid}/environ").read_bytes()
        except OSError:
            continue
        if p.state != "Z" and (sb.token.encode() in environ or str(sb.root).encode() in cmdline):
            found.append(p.pid)
    return found


DAEMON = """
    import ctypes, os, time
    import numpy as np
    libc = ctypes.CDLL(None)
    def relu_forward(input):
        if libc.fork() == 0:
            libc.setsid()                 # leaves the child's session and process group
            if libc.fork() == 0:
                libc.execv(b"/bin/sleep", (ctypes.c_char_p * 3)(b"sleep", b"60", None))
            os._exit(0)
        time.sleep(0.2)
        out = dict(input); out['data'] = np.maximum(input['data'], 0); return out
    def relu_backward(output, input, layer):
        return output['diff'] * (input['data'] > 0)
"""


def test_a_daemon_is_killed_after_the_call_and_nothing_outlives_the_sandbox(submission):
    with sandbox_for(submission({"relu": DAEMON})) as sb:
        reply = sb.call("relu.forward", RELU, {"x": relu_x()})
        assert reply.ok
        assert sandbox_processes(sb) == servers(sb)  # only the child itself is left
        assert sb.observed.killed >= 1
        assert sb.call("relu.backward", RELU, {"x": relu_x(), "dy": relu_x(1), "y": relu_x()}).ok
    assert sandbox_processes(sb) == [] and not sb.root.exists()


def test_a_100_megabyte_print_is_capped_and_never_touches_the_disk(submission):
    path = submission(
        {
            "relu": """
        import sys, numpy as np
        def relu_forward(input):
            sys.stdout.write('y' * 100_000_000)
            out = dict(input); out['data'] = np.maximum(input['data'], 0); return out
        def relu_backward(output, input, layer):
            return output['diff'] * (input['data'] > 0)
    """
        }
    )
    with sandbox_for(path) as sb:
        reply = sb.call("relu.forward", RELU, {"x": relu_x()})
        size, _ = safefiles.tree_size(sb.root)
    assert reply.ok and size < 2**20
    assert len(reply.output) < 4200 and "output truncated: 100000000 bytes in all" in reply.output


def test_a_process_flood_is_bounded(submission):
    """Unprivileged, RLIMIT_NPROC refuses the forks; otherwise the watchdog kills the flood."""
    path = submission(
        {
            "relu": """
        import ctypes, time
        import numpy as np
        libc = ctypes.CDLL(None)
        def relu_forward(input):
            started = 0
            for _ in range(30):           # bounded
                pid = libc.fork()
                if pid == 0:
                    time.sleep(60)
                started += pid > 0
            time.sleep(1.5)               # time for the watchdog to look
            out = dict(input); out['data'] = np.full((6, 2), float(started)); return out
        def relu_backward(output, input, layer):
            return output['diff'] * (input['data'] > 0)
    """
        }
    )
    with sandbox_for(path, timeout_s=20, processes=10) as sb:
        reply = sb.call("relu.forward", RELU, {"x": relu_x()})
        assert sandbox_processes(sb) == (servers(sb) if sb.proc else [])
    assert sandbox_processes(sb) == []
    if reply.ok:
        assert sb.user is not None and reply.outputs["y"].array[0, 0] < 10
    else:
        assert reply.status == "crashed" and "more than 10 processes" in reply.error


def test_each_layer_has_its_own_child(submission):
    path = submission(
        {
            "relu": """
        import numpy as np
        np.mark_of_relu = True            # monkeypatching numpy at import
        def relu_forward(input):
            out = dict(input); out['data'] = np.maximum(input['data'], 0); return out
        def relu_backward(output, input, layer):
            return output['diff'] * (input['data'] > 0)
    """,
            "inner_product": """
        import numpy as np
        def inner_product_forward(input, layer, param):
            out = {'height': 1, 'width': 1, 'channel': 1, 'batch_size': 1,
                   'data': np.full((1, 1), float(hasattr(np, 'mark_of_relu')))}
            return out
        def inner_product_backward(output, input, layer, param):
            raise NotImplementedError
    """,
        }
    )
    x, w, b = np.ones((2, 1)), np.ones((2, 1)), np.zeros((1, 1))
    with sandbox_for(path) as sb:
        assert sb.call("relu.forward", RELU, {"x": relu_x()}).ok
        reply = sb.call("inner_product.forward", {}, {"x": x, "w": w, "b": b})
    assert reply.ok and reply.outputs["y"].array[0, 0] == 0.0


def test_the_guard_refuses_the_answers_and_says_so(submission):
    path = submission(
        {
            "relu": f"""
        import numpy as np
        def relu_forward(input):
            open({str(paths.FIXTURES_DIR / "manifest.json")!r}).read()
        def relu_backward(output, input, layer):
            return output['diff'] * (input['data'] > 0)
    """
        }
    )
    with sandbox_for(path) as sb:
        reply = sb.call("relu.forward", RELU, {"x": relu_x()})
    assert reply.status == "exception" and "PermissionError" in reply.error
    assert ("grader file", str(paths.FIXTURES_DIR / "manifest.json")) in sb.observed.events


def test_a_linked_module_is_not_copied(submission):
    path = submission()
    (path / "relu.py").unlink()
    (path / "relu.py").symlink_to(paths.REFERENCE_DIR / "relu.py")
    with sandbox_for(path) as sb:
        reply = sb.call("relu.forward", RELU, {"x": relu_x()})
    assert reply.status == "exception" and "symbolic link" in reply.error


def test_returned_files_are_read_with_care(tmp_path, submission):
    with sandbox_for(submission()) as sb:
        descr = {"kind": "ndarray"}
        os.mkfifo(tmp_path / "fifo.npy")
        (tmp_path / "link.npy").symlink_to("/dev/zero")
        liar = tmp_path / "liar.npy"  # a header promising 8 TB in a file of a few bytes
        header = np.lib.format.header_data_from_array_1_0(np.zeros(1))
        header["shape"] = (2**40,)
        with open(liar, "wb") as f:
            np.lib.format.write_array_header_1_0(f, header)
        obj = tmp_path / "obj.npy"
        np.save(obj, np.array([{"a": 1}], dtype=object), allow_pickle=True)
        for name, why in (
            ("fifo.npy", "regular file"),
            ("link.npy", "regular file"),
            ("liar.npy", "would take"),
            ("obj.npy", "not a plain numeric type"),
        ):
            got = replies.read_value(tmp_path / name, descr, sb.limits.max_array_bytes)
            assert got.array is None and why in got.problem, (name, got.problem)


@pytest.mark.skipif(os.geteuid() != 0, reason="the child drops privileges only when the grader is root")
def test_the_child_runs_as_another_user_and_cannot_write_the_grader(submission):
    if unprivileged_user()[0] is None:
        pytest.skip(unprivileged_user()[1])
    path = submission(
        {
            "relu": f"""
        import ctypes, os, numpy as np
        libc = ctypes.CDLL(None, use_errno=True)
        def relu_forward(input):
            fd = libc.open({str(paths.PACKAGE_DIR / "x-written-by-the-child")!r}.encode(), 0o101, 0o644)
            out = dict(input); out['data'] = np.full((6, 2), float(os.getuid() * 1000 + (fd >= 0)))
            return out
        def relu_backward(output, input, layer):
            return output['diff'] * (input['data'] > 0)
    """
        }
    )
    with sandbox_for(path) as sb:
        reply = sb.call("relu.forward", RELU, {"x": relu_x()})
    assert reply.ok
    uid_and_opened = reply.outputs["y"].array[0, 0]
    assert uid_and_opened == sb.user.uid * 1000 and sb.user.uid != 0  # another user; the open failed
    assert not (paths.PACKAGE_DIR / "x-written-by-the-child").exists()


def test_tracker_finds_a_double_forked_daemon(tmp_path):
    tracker = proctree.Tracker("no-token-here")
    script = (
        "import os, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        "        time.sleep(60)\n"
        "    os._exit(0)\n"
        "time.sleep(60)\n"
    )
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    try:
        deadline = time.monotonic() + 5
        while len(tracker.members(proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        proctree._SERVERS.add(proc.pid)
        assert tracker.kill_all(proc.pid) >= 1
    finally:
        proctree._SERVERS.discard(proc.pid)
        proc.kill()
        proc.wait()
    assert [p for p in tracker.members(proc.pid).values() if p.state != "Z"] == []


def test_an_adopted_orphan_is_a_member_and_the_graders_own_older_child_is_not(tmp_path):
    """The grader is a subreaper: an orphan of the sandbox (a double fork that left its session)
    is re-parented to it and ended. A child the grader's program started before the sandbox (a
    test's decoy, a library's helper) is also a child of the grader, but no orphan of the
    sandbox: grading must neither kill nor reap it."""
    import subprocess
    import sys

    tracker = proctree.Tracker("no-token-here")
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    time.sleep(0.05)  # a clock tick (10 ms) apart: start times are in ticks
    script = (
        "import os, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        "        time.sleep(60)\n"
        "    os._exit(0)\n"
        "time.sleep(60)\n"
    )
    server = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    proctree._SERVERS.add(server.pid)
    tracker.started(server.pid)
    try:
        deadline = time.monotonic() + 5
        adopted: list[int] = []
        while not adopted and time.monotonic() < deadline:
            time.sleep(0.05)
            adopted = [
                p.pid
                for p in proctree.snapshot().values()
                if p.ppid == os.getpid() and p.pid not in (server.pid, bystander.pid) and p.state != "Z"
                and p.sid != server.pid
            ]  # fmt: skip
        assert adopted, "the grandchild was not re-parented to this process (no subreaper?)"
        members = tracker.members(server.pid)
        assert set(adopted) <= set(members) and bystander.pid not in members
        tracker.kill_all(server.pid)
        assert bystander.poll() is None  # alive, and not reaped behind its Popen's back
    finally:
        proctree._SERVERS.discard(server.pid)
        for proc in (server, bystander):
            proc.kill()
            proc.wait()


def test_sandboxes_side_by_side_cannot_signal_each_other(submission):
    user = unprivileged_user()[0]
    if user is None or not user.dedicated:
        pytest.skip("no uid of its own per sandbox here")
    path = submission(
        {
            "relu": """
        import os, signal, numpy as np
        def relu_forward(input):
            try:
                os.kill(int(input['data'][0, 0]), signal.SIGKILL)
                hit = 1.0
            except (PermissionError, ProcessLookupError):   # another uid; another PID namespace
                hit = 0.0
            out = dict(input); out['data'] = np.full((6, 2), hit); return out
        def relu_backward(output, input, layer):
            return output['diff'] * (input['data'] > 0)
    """
        }
    )
    with sandbox_for(submission()) as victim, sandbox_for(path) as attacker:
        assert victim.call("relu.forward", RELU, {"x": relu_x()}).ok
        assert victim.user.uid != attacker.user.uid
        reply = attacker.call("relu.forward", RELU, {"x": np.full((6, 2), float(victim.proc.pid))})
        assert reply.ok and reply.outputs["y"].array[0, 0] == 0.0
        assert victim.call("relu.forward", RELU, {"x": relu_x()}).ok
