"""Integrity: forbidden imports, numerical gradients, stateful forwards, tampering, secrets.

End-to-end secrets checks live here too: hidden cases never reach the child's filesystem,
their messages leak no expected value, a modified fixture is an autograder error.
"""

from __future__ import annotations

import os
import shutil
import textwrap
from pathlib import Path

import numpy as np
import pytest

from harness.cases import catalogue as cases
from harness.cases import fixtures
from harness.checks import integrity
from harness.core import paths
from harness.core.model import Status
from harness.grade import grade
from harness.options import Options, TrainOptions
from harness.report import gradescope
from harness.sandbox import process as sandbox_mod
from harness.sandbox.process import Limits
from harness.sandbox.safefiles import changed_files, grader_files

QUICK = dict(
    timeout=10.0, training=TrainOptions(enabled=False), limits=Limits(timeout_s=10.0, memory_bytes=1 << 30)
)


def by_id(report) -> dict:
    return {c.id: c for c in report.checks}


# ---- forbidden imports: the static scan --------------------------------------------------------


def test_imported_names_finds_every_form():
    source = textwrap.dedent("""
        import os, torch.nn as nn
        from scipy import signal, linalg
        from . import sibling
        import importlib
        conv = importlib.import_module('scipy.ndimage')
        jax = __import__('jax')
        def f():
            import tensorflow
    """)
    names = {name for _, name in integrity.imported_names(source)}
    assert {
        "os",
        "torch.nn",
        "scipy",
        "scipy.signal",
        "scipy.linalg",
        "scipy.ndimage",
        "jax",
        "tensorflow",
    } <= names
    assert not any("sibling" in n for n in names)


def test_imported_names_survives_bad_source():
    assert integrity.imported_names("def (:\n") == []
    assert integrity.imported_names("x = '\0'") == []


def test_scan_imports_reports_file_and_line_and_skips_special_files(tmp_path):
    (tmp_path / "conv_layer.py").write_text("import numpy as np\nfrom scipy.signal import correlate2d\n")
    (tmp_path / "relu.py").write_text("import torch\n")
    os.mkfifo(tmp_path / "fifo.py")  # must not block the scan
    (tmp_path / "link.py").symlink_to(tmp_path / "relu.py")
    hits = integrity.scan_imports(tmp_path, ("torch", "scipy.signal"))
    assert hits == [
        "conv_layer.py:2: scipy.signal",
        "conv_layer.py:2: scipy.signal.correlate2d",
        "relu.py:1: torch",
    ]


# ---- tampering with the grader -----------------------------------------------------------------


def test_changed_files_sees_edits_removals_and_additions_but_not_new_bytecode(tmp_path, monkeypatch):
    pkg, ref, fix = (tmp_path / n for n in ("pkg", "ref", "fix"))
    for d in (pkg, ref, fix, pkg / "__pycache__"):
        d.mkdir()
    (pkg / "a.py").write_text("a = 1\n")
    (ref / "b.py").write_text("b = 1\n")
    (fix / "c.npz").write_bytes(b"c")
    monkeypatch.setattr(paths, "PACKAGE_DIR", pkg)
    monkeypatch.setattr(paths, "REFERENCE_DIR", ref)
    monkeypatch.setattr(paths, "FIXTURES_DIR", fix)
    before = grader_files()
    assert changed_files(before, grader_files()) == []
    (pkg / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"compiled on first import")
    assert changed_files(before, grader_files()) == []
    (pkg / "a.py").write_text("a = 2  # tampered\n")
    (ref / "b.py").unlink()
    (fix / "new.npz").write_bytes(b"n")
    assert changed_files(before, grader_files()) == sorted(
        [str(pkg / "a.py"), str(ref / "b.py"), str(fix / "new.npz")]
    )


def test_a_changed_grader_is_an_autograder_error_not_a_grade(monkeypatch):
    monkeypatch.setattr(
        sandbox_mod.Sandbox, "changed_grader_files", lambda self: [str(paths.PACKAGE_DIR / "compare.py")]
    )
    report = grade(paths.REFERENCE_DIR, Options(only=("forward.relu",), **QUICK))
    assert report.exit_code == 2
    assert "changed while the submission ran" in report.autograder_error
    assert "compare.py" in report.autograder_error


# ---- numerical gradients and stateful forwards ---------------------------------------------------


@pytest.mark.slow
def test_the_reference_raises_no_flag():
    report = grade(paths.REFERENCE_DIR, Options(**QUICK))
    assert not report.autograder_error, report.autograder_error
    assert not [c.id for c in report.checks if c.id.startswith("integrity.")], report.notices
    assert report.score == report.max_score


@pytest.mark.slow
def test_float32_arithmetic_is_not_mistaken_for_finite_differences(submission):
    path = submission(
        {
            "relu": """
        import numpy as np
        def relu_forward(input):
            out = dict(input)
            out['data'] = np.maximum(input['data'].astype(np.float32), 0).astype(np.float64)
            return out
        def relu_backward(output, input, layer):
            x, dy = input['data'].astype(np.float32), output['diff'].astype(np.float32)
            return (dy * (x > 0)).astype(np.float64)
    """
        }
    )
    report = grade(
        path, Options(only=("forward.relu", "backward.relu.input", "gradcheck.relu.input"), **QUICK)
    )
    checks = by_id(report)
    assert checks["backward.relu.input"].status is Status.PASS
    assert "integrity.numerical_gradient" not in checks and "integrity.state" not in checks


def test_probe_flags_a_forward_that_remembers(submission):
    path = submission(
        {
            "relu": """
        import numpy as np
        CALLS = []
        def relu_forward(input):
            out = dict(input)
            out['data'] = np.maximum(input['data'], 0) + 1e-3 * len(CALLS)
            return out
        def relu_backward(output, input, layer):
            CALLS.append(1)
            return output['diff'] * (input['data'] > 0)
    """
        }
    )
    case = cases.random_cases(1, per_op=1)
    case = next(c for c in case if c.op == "relu.backward")
    from harness.profiles import dictapi
    from harness.sandbox.submission import locate

    with sandbox_mod.Sandbox(locate(path, dictapi.MODULES), Limits(timeout_s=10)) as sb:
        found = integrity.probe_layer(sb, "relu.backward", case, 10.0)
    assert "fresh process" in found.state and not found.numerical


# ---- hidden cases and fixtures -------------------------------------------------------------------


def hidden_expected(seed: int) -> list[np.ndarray]:
    """Expected outputs of the hidden cases, except those equal to an input of their own case
    (a 1x1 pooling window returns its input)."""
    found = []
    for c in cases.random_cases(seed):
        for v in cases.expected(c).values():
            if np.size(v) > 1 and not any(
                a.shape == v.shape and np.allclose(a, v) for a in c.arrays.values()
            ):
                found.append(v)
    return found


@pytest.mark.slow
def test_hidden_expected_values_never_reach_the_child(monkeypatch):
    sent: list[np.ndarray] = []
    real_savez = np.savez

    def recording(file, **arrays):
        sent.extend(np.asarray(a) for a in arrays.values())
        return real_savez(file, **arrays)

    monkeypatch.setattr(sandbox_mod.np, "savez", recording)
    report = grade(paths.REFERENCE_DIR, Options(only=("hidden.*",), hidden_seed=11, **QUICK))
    hidden = [c for c in report.checks if c.hidden]
    assert hidden and all(c.status is Status.PASS for c in hidden)
    assert sent
    for want in hidden_expected(11):
        assert not any(a.shape == want.shape and np.allclose(a, want) for a in sent), (
            "an expected value was sent"
        )


def test_hidden_failures_reveal_no_expected_value(submission):
    path = submission(
        {
            "relu": """
        import numpy as np
        def relu_forward(input):
            out = dict(input); out['data'] = np.abs(input['data']); return out
        def relu_backward(output, input, layer):
            return output['diff']
    """
        }
    )
    report = grade(path, Options(only=("hidden.forward.relu",), hidden_seed=5, **QUICK))
    check = by_id(report)["hidden.forward.relu"]
    assert check.status is Status.FAIL and check.hidden
    assert check.numbers.get("expected") is None
    text = check.message + check.details
    for c in cases.random_cases(5):
        if c.op == "relu.forward":
            y = cases.expected(c)["y"]
            shown = {f"{v:.6g}" for v in y.ravel() if v > 0.01}
            assert not any(s in text for s in shown), "an expected value appears in the message"
    test = next(t for t in gradescope.render(report)["tests"] if t["name"].startswith("hidden."))
    assert test["visibility"] == "after_due_date"


def test_a_modified_fixture_is_an_autograder_error(tmp_path, monkeypatch):
    copy = tmp_path / "fixtures"
    shutil.copytree(paths.FIXTURES_DIR, copy)
    victim = next(copy.glob("relu_forward/*.npz"))
    data = bytearray(victim.read_bytes())
    data[-9] ^= 0x01
    victim.write_bytes(bytes(data))
    real_load = fixtures.load
    monkeypatch.setattr(fixtures, "load", lambda op, dir=copy: real_load(op, dir))
    report = grade(paths.REFERENCE_DIR, Options(only=("forward.relu",), **QUICK))
    assert report.exit_code == 2
    assert "modified or corrupt" in report.autograder_error and victim.name in report.autograder_error


# ---- what the training child may read of the reference --------------------------------------------


def test_share_reference_gives_only_the_provided_functions(submission):
    from harness.profiles import dictapi
    from harness.sandbox.submission import locate

    with sandbox_mod.Sandbox(locate(submission(), dictapi.MODULES), Limits()) as sb:
        folder = Path(sb.share_reference(["pooling_layer_backward", "conv_layer_backward"]))
        pooling = (folder / "provided_pooling_layer_backward.py").read_text()
        conv = (folder / "provided_conv_layer_backward.py").read_text()
        shared = sorted(p.name for p in folder.iterdir())
    assert shared == ["provided_conv_layer_backward.py", "provided_pooling_layer_backward.py"]
    assert "def pooling_layer_backward" in pooling and "def pooling_layer_forward" not in pooling
    assert "def conv_layer_backward" in conv and "def conv_layer_forward" not in conv
    assert "def _pooling_layer___route_tiles" in pooling  # a helper the backward calls stays, private
    assert "def _utils__im2col_batch" in conv and "from utils" not in conv  # utils' helpers travel along


def test_tampering_past_the_guard_is_refused_or_detected(submission):
    """ctypes gets past the audit hook: the kernel refuses another user; the grader's own is caught."""
    probe = paths.PACKAGE_DIR / f"x_tamper_probe_{os.getpid()}.py"
    path = submission(
        {
            "relu": f"""
        import ctypes, numpy as np
        libc = ctypes.CDLL(None)
        def relu_forward(input):
            fd = libc.open({str(probe)!r}.encode(), 0o101, 0o644)   # O_WRONLY | O_CREAT
            out = dict(input); out['data'] = np.maximum(input['data'], 0); return out
        def relu_backward(output, input, layer):
            return output['diff'] * (input['data'] > 0)
    """
        }
    )
    try:
        report = grade(path, Options(only=("forward.relu",), **QUICK))
        created = probe.exists()
    finally:
        probe.unlink(missing_ok=True)
    if created:  # the child ran as the grader's own user
        assert report.exit_code == 2 and "changed while the submission ran" in report.autograder_error
        assert probe.name in report.autograder_error
    else:
        assert not report.autograder_error
        assert "integrity.sandbox" in by_id(report)  # ctypes use is on record
