"""The sandbox's kernel walls, budgets and bounded JSON, unit by unit (the attacks are in
``test_hostile_walls.py``)."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from harness import grade as grade_mod
from harness.checks import rubric as rubric_mod
from harness.child import RUNTIME
from harness.cli import parser
from harness.core import paths
from harness.core.model import CheckResult, Status
from harness.options import Options, TrainOptions, options_from
from harness.profiles import dictapi
from harness.sandbox import budget, landlock, safejson, walls
from harness.sandbox.process import Limits, Sandbox
from harness.sandbox.submission import locate

RELU = dict(h=2, w=3, c=1)


# ---- bounded JSON -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, depth",
    [
        (b"1", 0),
        (b'{"a": [1, {"b": []}]}', 4),
        (b'["[[[[", "\\"[[", {"x": "]]]"}]', 2),  # brackets inside strings do not count
        (b"[" * 40 + b"]" * 40, 40),
    ],
)
def test_depth_counts_only_structure(raw, depth):
    assert safejson.depth(raw) == depth


@pytest.mark.parametrize(
    "raw, why",
    [
        (None, "missing"),
        (b"[" * 33 + b"]" * 33, "deeper than 32"),
        (b"[" * 100000, "deeper than 32"),  # not even valid JSON: refused before parsing
        (b'{"a": ', "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"x" * 200, "larger than 100"),
    ],
)
def test_bad_documents_are_protocol_errors(raw, why):
    with pytest.raises(safejson.ProtocolError, match=why):
        safejson.loads(raw, 100 if raw and len(raw) == 200 else 1 << 20)


def test_a_document_at_the_depth_limit_parses():
    assert safejson.loads(b"[" * 32 + b"]" * 32, 1 << 20) is not None


# ---- budgets ----------------------------------------------------------------------------------


def test_budget_refuses_a_function_past_its_budget_and_names_it():
    b = budget.Budget(grade_s=None, function_s=10.0)
    b.charge("relu_forward", 6.0)
    assert b.refusal("relu_forward") == ""
    b.charge("relu_forward", 4.5)
    assert "relu_forward used up its time budget" in b.refusal("relu_forward")
    assert b.refusal("conv_layer_forward") == ""  # one function's budget is its own


def test_budget_cuts_timeouts_to_the_grade_and_refuses_after_it():
    b = budget.Budget(grade_s=5.0, started=time.monotonic() - 3.0)
    assert 1.5 < b.clamp(30.0) <= 2.0
    b = budget.Budget(grade_s=5.0, started=time.monotonic() - 6.0)
    assert b.clamp(30.0) == 0.0
    assert "time limit of 5 s was reached" in b.refusal("relu_forward")
    assert budget.Budget().left() == float("inf")


def test_grade_options_carry_the_budgets():
    args = parser().parse_args(["grade", "x", "--grade-time-limit", "90", "--function-time-budget", "12"])
    opts = options_from(args)
    assert (opts.grade_time_limit, opts.function_time_budget) == (90.0, 12.0)
    default = options_from(parser().parse_args(["grade", "x"]))
    assert default.grade_time_limit == budget.DEFAULT_GRADE_LIMIT_S < budget.GRADESCOPE_LIMIT_S


@pytest.mark.slow
def test_sandbox_refuses_calls_once_a_function_spent_its_budget(submission):
    path = submission(
        {
            "relu": "import numpy as np, time\ndef relu_forward(input):\n    time.sleep(0.3)\n"
            "    out = dict(input); out['data'] = np.maximum(input['data'], 0); return out\n"
        }
    )
    spent = budget.Budget(function_s=0.5)
    with Sandbox(locate(path, dictapi.MODULES), Limits(timeout_s=10), budget=spent) as sb:
        replies = [sb.call("relu.forward", RELU, {"x": np.ones((6, 2))}) for _ in range(4)]
    assert replies[0].ok
    assert replies[-1].status == "timeout" and "time budget" in replies[-1].error
    assert spent.spent["relu_forward"] < 3.0  # refused calls cost nothing


def test_integrity_flags_run_when_the_training_check_raises(monkeypatch):
    ran = []

    def broken(*a, **k):
        raise RuntimeError("a bug of ours")

    def integrity_run(sb, submission, options, rubric, results):
        ran.append(len(results))
        return [CheckResult("integrity.sandbox", Status.FAIL, message="flagged")], []

    from harness.checks import integrity

    monkeypatch.setattr(grade_mod.training_check, "run", broken)
    monkeypatch.setattr(integrity, "run", integrity_run)
    monkeypatch.setattr(grade_mod, "wants_training", lambda options, rubric: True)

    class FakeSandbox:
        budget = budget.Budget()

    results: list = []
    with pytest.raises(RuntimeError):
        # device cuda: no speed estimate before training (it would grade the reference first)
        grade_mod.extra_checks(FakeSandbox(), None, Options(device="cuda"), None, results, [], {})
    assert ran == [0] and results[-1].id == "integrity.sandbox"


def test_training_gets_what_is_left_of_the_grade():
    opts = Options(training=TrainOptions(time_limit_s=300.0))
    tight = budget.Budget(grade_s=400.0, started=time.monotonic() - 100.0)
    rubric = rubric_mod.load(None)
    fitted = grade_mod._fit_training(opts, rubric, tight)
    assert fitted.training.time_limit_s < 300.0 - 100.0
    assert grade_mod._fit_training(opts, rubric, budget.Budget()) is opts


# ---- what the child may read ------------------------------------------------------------------


def test_rules_grant_no_secret_and_every_runtime_file(tmp_path):
    rules = walls.rules(tmp_path)
    secrets = [paths.REFERENCE_DIR, paths.FIXTURES_DIR, paths.ROOT / ".git", paths.ROOT / "tests"]
    for path, rights in rules.items():
        real = os.path.realpath(path)
        for secret in secrets:
            assert not (real + "/").startswith(os.path.realpath(secret) + "/"), path
        if (real + "/").startswith(os.path.realpath(paths.PACKAGE_DIR) + "/") and rights & landlock.READ_FILE:
            assert real.endswith((".py", ".pyc")), path
    granted = {os.path.realpath(p) for p, r in rules.items() if r & landlock.READ_FILE}
    for f in walls.runtime_files():
        assert os.path.realpath(f) in granted
    assert not any("mutants" in p or "compare" in p for p in granted if "harness" in p)
    assert rules[str(tmp_path / "work")] & landlock.WRITE_FILE
    assert not rules[str(tmp_path / "submission")] & landlock.WRITE_FILE


@pytest.mark.slow
def test_the_child_imports_only_its_runtime(submission):
    """The runtime list is the truth: a grading child loads no harness module beyond it."""
    with Sandbox(locate(submission(), dictapi.MODULES), Limits(timeout_s=60)) as sb:
        sb.call("relu.forward", RELU, {"x": np.ones((6, 2))})
        reply = sb.run("time_ops", {"provided": [], "device": "cpu"}, {}, timeout=60)
        loaded = set(sb.observed.modules)
    assert reply.ok, reply.error
    harness_modules = {m for m in loaded if m == "harness" or m.startswith("harness.")}
    assert harness_modules <= set(RUNTIME), harness_modules - set(RUNTIME)


def test_walls_are_named_in_the_provenance():
    assert walls.describe().startswith("Landlock ABI") == bool(landlock.abi())
