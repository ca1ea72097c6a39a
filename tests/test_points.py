"""Grades that mean what they say (issue 13): no points without correctness, one function's
points from that function alone, identical regrades.

Submissions are generated, not stored: each *null kind* is one transformation of a function's
outputs (zeros, ones, the input itself, ...) applied to all nine graded functions at once, so
one grade per kind proves every function earns nothing from it. The wrapped values come from a
copy of the reference laid next to the wrappers (``ref_<module>.py``): shapes and dict fields
are right, only the values are null -- the hardest case for checks without expected values.

Independence pairs pair a layer's broken forward (the corpus's, or one that crashes, hangs or
is missing) with the reference's backward, and the reverse; one grade per round covers every
layer, each layer's item of that round in its own module.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import make_classapi_submission, make_cs231n_submission, make_submission
from test_corpus import BROKEN, CORPUS

from harness import profiles
from harness.checks import catalogue as checks
from harness.checks import rubric as rubric_mod
from harness.core.model import CheckResult, Status
from harness.grade import grade
from harness.options import Options, TrainOptions
from harness.profiles import dictapi

pytestmark = pytest.mark.slow

NO_TRAIN = TrainOptions(enabled=False)

# The graded functions' wrappers: every returned array goes through _null(value, its input).
WRAPPERS = {
    "inner_product": """
def inner_product_forward(input, layer, param):
    out = _ref.inner_product_forward(input, layer, param)
    out["data"] = _null(out["data"], input["data"])
    return out


def inner_product_backward(output, input, layer, param):
    pg, od = _ref.inner_product_backward(output, input, layer, param)
    return {"w": _null(pg["w"], param["w"]), "b": _null(pg["b"], param["b"])}, _null(od, input["data"])
""",
    "conv_layer": """
def conv_layer_forward(input, layer, param):
    out = _ref.conv_layer_forward(input, layer, param)
    out["data"] = _null(out["data"], input["data"])
    return out


def conv_layer_backward(output, input, layer, param):
    pg, od = _ref.conv_layer_backward(output, input, layer, param)
    return {"w": _null(pg["w"], param["w"]), "b": _null(pg["b"], param["b"])}, _null(od, input["data"])
""",
    "relu": """
def relu_forward(input):
    out = _ref.relu_forward(input)
    out["data"] = _null(out["data"], input["data"])
    return out


def relu_backward(output, input, layer):
    return _null(_ref.relu_backward(output, input, layer), input["data"])
""",
    "pooling_layer": """
def pooling_layer_forward(input, layer):
    out = _ref.pooling_layer_forward(input, layer)
    out["data"] = _null(out["data"], input["data"])
    return out


def pooling_layer_backward(output, input, layer):
    return _null(_ref.pooling_layer_backward(output, input, layer), input["data"])
""",
    "mlrloss": """
def mlrloss(wb, X, y, K, gpu=0, prediction=0):
    nll, g, od, percent = _ref.mlrloss(wb, X, y, K, gpu, prediction)
    return _null(nll, X), _null(g, wb), _null(od, X), _null(percent, y)
""",
}
NULL_KINDS = {
    "zeros": "return np.zeros(np.shape(value))",
    "ones": "return np.ones(np.shape(value))",
    "input_itself": "return inp if np.shape(inp) == np.shape(value) else np.resize(inp, np.shape(value))",
    "random": "return np.random.default_rng(0).standard_normal(np.shape(value))",
    "constant": "return np.full(np.shape(value), 0.37)",
    "none": "return None",
    "zero_dim": "return np.array(0.5)",
    "nan": "return np.full(np.shape(value), np.nan)",
    # Self-consistent but wrong: the forward of 2f and its exact derivative 2f'.
    "consistent_pair": "return 2 * np.asarray(value, dtype=float)",
}
"""Null kind -> body of ``_null(value, inp)``: what every graded function returns instead."""
TRANSPARENT = "return value"
"""The control: ``_null`` returning the reference's own value (the wrappers alone get full marks)."""


def null_function(kind: str) -> str:
    """Source of ``_null(value, inp)`` returning ``kind`` (or ``transparent``), after ``import numpy as np``."""
    body = TRANSPARENT if kind == "transparent" else NULL_KINDS[kind]
    return f"\n\ndef _null(value, inp):\n    {body}\n\n"


def null_modules(kind: str) -> dict[str, str]:
    """The five student modules of a submission whose nine functions all return ``kind``."""
    return {
        mod: f"import numpy as np\nimport ref_{mod} as _ref\n" + null_function(kind) + wrappers
        for mod, wrappers in WRAPPERS.items()
    }


def with_reference_copies(folder: Path, modules: dict[str, str]) -> Path:
    """A reference copy with ``modules`` laid over it and the reference's own modules as ``ref_*``."""
    path = make_submission(folder, modules)
    reference = Path(make_submission(folder.parent / f"{folder.name}_ref"))
    for mod in WRAPPERS:
        (path / f"ref_{mod}.py").write_text((reference / f"{mod}.py").read_text())
    return path


def by_function(report) -> dict[str, list[CheckResult]]:
    out: dict[str, list[CheckResult]] = {}
    for c in report.checks:
        if c.function in dictapi.MODULES:
            out.setdefault(c.function, []).append(c)
    return out


def points(checks_: list[CheckResult]) -> tuple[float, float]:
    return round(sum(c.score for c in checks_), 2), round(sum(c.max_score for c in checks_), 2)


# ---- 1. no points without demonstrated correctness -------------------------------------------


@pytest.mark.parametrize("kind", sorted(NULL_KINDS))
def test_a_null_function_earns_nothing(kind, tmp_path):
    path = with_reference_copies(tmp_path / kind, null_modules(kind))
    report = grade(path, Options(training=NO_TRAIN, timeout=10))
    assert not report.autograder_error, report.autograder_error
    functions = by_function(report)
    assert sorted(functions) == sorted(dictapi.MODULES)
    for fn, mine in functions.items():
        got, available = points(mine)
        assert available > 0, fn
        assert got == 0, (fn, [(c.id, c.status.value, c.score, c.message) for c in mine if c.score])
        assert any(c.status is not Status.PASS for c in mine), fn
    assert report.score == 0


def test_qualifying_checks_are_gated_by_their_own_functions_value_checks():
    specs = checks.catalogue(dictapi.FUNCTIONS)
    ids = {s.id: s for s in specs}
    for s in specs:
        if s.kind in checks.VALUE_KINDS:
            assert not s.gated_by, s.id
            continue
        assert s.gated_by, f"{s.id} earns points without any value check"
        for gate in s.gated_by:
            assert ids[gate].kind in checks.VALUE_KINDS and ids[gate].function == s.function, (s.id, gate)
        if s.kind == "gradcheck":  # its own output's values, no other
            assert {ids[g].output for g in s.gated_by} == {s.output}, s.id


def _result(cid, function, passed, total, status=None):
    status = status or (Status.PASS if passed == total else Status.FAIL)
    return CheckResult(cid, status, function=function, cases_passed=passed, cases_total=total)


def test_the_gate_scales_a_qualifying_check_by_the_values_shown():
    rubric = rubric_mod.load()
    fn = "relu_backward"
    results = [
        _result("backward.relu.input", fn, 3, 4),
        _result("gradcheck.relu.input", fn, 2, 2),
        _result("properties.relu.backward", fn, 5, 5),
    ]
    kinds = {
        "backward.relu.input": "fixture",
        "gradcheck.relu.input": "gradcheck",
        "properties.relu.backward": "properties",
    }
    gates = {
        "gradcheck.relu.input": ("backward.relu.input",),
        "properties.relu.backward": ("backward.relu.input",),
    }
    scored = {r.id: r for r in rubric_mod.score(rubric, results, kinds, gates)}
    # 4 points split 6:3:1; every check then earns 3/4 of its share.
    assert [scored[k].max_score for k in kinds] == [2.4, 1.2, 0.4]
    assert [scored[k].score for k in kinds] == [1.8, 0.9, 0.3]
    assert "3 of 4 cases right" in scored["gradcheck.relu.input"].message
    # The value check not run (--only): the qualifying checks earn nothing, and say why.
    alone = rubric_mod.score(rubric, results[1:], kinds, gates)
    assert all(r.score == 0 and r.max_score > 0 for r in alone)
    assert all("did not run" in r.message for r in alone)


# ---- 5. points a course can read ----------------------------------------------------------------


def test_points_have_two_decimals_and_add_up_exactly(tmp_path):
    rubric = rubric_mod.load()
    fn = "conv_layer_backward"
    ids = [
        "backward.conv.input",
        "backward.conv.w",
        "backward.conv.b",
        "gradcheck.conv.input",
        "properties.conv.backward",
    ]
    kinds = dict(zip(ids, ["fixture"] * 3 + ["gradcheck", "properties"]))
    gates = {"gradcheck.conv.input": ("backward.conv.input",), "properties.conv.backward": tuple(ids[:3])}
    results = [_result(i, fn, p, 3) for i, p in zip(ids, (1, 2, 3, 1, 2))]
    scored = rubric_mod.score(rubric, results, kinds, gates)
    for r in scored:
        assert round(r.score, 2) == r.score and round(r.max_score, 2) == r.max_score, r
        assert r.score <= r.max_score
    assert round(sum(r.max_score for r in scored), 2) == 14
    whole = rubric_mod.Rubric(**{**rubric.__dict__, "step": 1.0})
    again = rubric_mod.score(whole, results, kinds, gates)
    total = round(sum(r.score for r in again), 2)
    assert total == int(total) and total <= round(sum(r.score for r in scored), 2) < total + 1


def test_a_rubric_step_must_be_hundredths(tmp_path):
    text = rubric_mod.paths.DEFAULT_RUBRIC.read_text()
    assert "\nstep = 0.01 " in text
    text = text.replace("\nstep = 0.01 ", "\nstep = 0.001 ")
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    with pytest.raises(rubric_mod.RubricError, match=r"multiple of 0\.01"):
        rubric_mod.load(bad)


# ---- 2. one function's points from that function alone ------------------------------------------

LAYERS = {  # layer -> (module, forward, backward)
    "inner_product": ("inner_product", "inner_product_forward", "inner_product_backward"),
    "relu": ("relu", "relu_forward", "relu_backward"),
    "pooling": ("pooling_layer", "pooling_layer_forward", "pooling_layer_backward"),
    "conv": ("conv_layer", "conv_layer_forward", "conv_layer_backward"),
}
SIGNATURES = {
    "inner_product_forward": "input, layer, param",
    "inner_product_backward": "output, input, layer, param",
    "relu_forward": "input",
    "relu_backward": "output, input, layer",
    "pooling_layer_forward": "input, layer",
    "pooling_layer_backward": "output, input, layer",
    "conv_layer_forward": "input, layer, param",
    "conv_layer_backward": "output, input, layer, param",
}
FAILURES = {  # how a function can fail without the corpus: body of the function
    "crashes": "raise RuntimeError('broken on purpose')",
    "hangs": "import time\n    time.sleep(60)",
    "missing": None,
}


def _items(layer: str, direction: str) -> list[tuple[str, str]]:
    """(label, module source) of every broken ``direction`` function of ``layer``, the other correct."""
    module, fwd, bwd = LAYERS[layer]
    broken_fn, kept_fn = (fwd, bwd) if direction == "forward" else (bwd, fwd)
    prefix = "forward" if direction == "forward" else "backward"
    items = []
    for entry in BROKEN:
        source = CORPUS / "broken" / entry.name / f"{module}.py"
        touches = [
            c
            for c in entry.fails
            if c.startswith(f"{prefix}.{layer}") or c == f"properties.{layer}.{direction}"
        ]
        if source.is_file() and touches:
            items.append((entry.name, source.read_text()))
    for name, body in FAILURES.items():
        stub = "" if body is None else f"def {broken_fn}({SIGNATURES[broken_fn]}):\n    {body}\n"
        items.append((name, "import numpy as np\n\n\n" + stub))
    # The kept function is the reference's, called through a definition the locator sees.
    keep = (
        f"\n\nimport ref_{module} as _ref_kept\n\n\n"
        f"def {kept_fn}(*args, **kwargs):\n    return _ref_kept.{kept_fn}(*args, **kwargs)\n"
    )
    return [(label, src.rstrip() + "\n" + keep) for label, src in items]


def _rounds(direction: str) -> list[dict[str, tuple[str, str]]]:
    per_layer = {layer: _items(layer, direction) for layer in LAYERS}
    n = max(len(v) for v in per_layer.values())
    return [{layer: items[i] for layer, items in per_layer.items() if i < len(items)} for i in range(n)]


ROUNDS = [(d, i, r) for d in ("forward", "backward") for i, r in enumerate(_rounds(d))]


@pytest.mark.parametrize(
    "direction,round_,items",
    ROUNDS,
    ids=[f"{d}-broken-{'-'.join(label for label, _ in r.values())}" for d, _, r in ROUNDS],
)
def test_a_correct_function_keeps_every_point_beside_a_broken_partner(direction, round_, items, tmp_path):
    modules = {LAYERS[layer][0]: src for layer, (_, src) in items.items()}
    path = with_reference_copies(tmp_path / f"{direction}{round_}", modules)
    kept = {LAYERS[layer][2 if direction == "forward" else 1]: layer for layer in items}
    report = grade(path, Options(training=NO_TRAIN, timeout=2, only=_only(kept)))
    assert not report.autograder_error, report.autograder_error
    functions = by_function(report)
    for fn, layer in kept.items():
        got, available = points(functions[fn])
        label = items[layer][0]
        assert available > 0 and got == available, (
            f"{fn} beside the {label} {direction}: {got} / {available}",
            [(c.id, c.status.value, c.message) for c in functions[fn] if c.score < c.max_score],
        )
    for layer, (label, _) in items.items():  # the broken partner does fail
        broken = LAYERS[layer][1 if direction == "forward" else 2]
        assert any(c.status is not Status.PASS for c in functions[broken]), (layer, label)


def _only(functions) -> tuple[str, ...]:
    """Every check of the layers in this round (both functions: the broken one runs first)."""
    layers = set(functions.values())
    return tuple(
        s.id
        for s in checks.catalogue(dictapi.FUNCTIONS)
        if s.op.split(".")[0] in layers and s.kind != "hidden"
    )


def test_mlrloss_gradients_keep_their_points_beside_a_wrong_nll(tmp_path):
    """One function, three outputs: a wrong nll costs the gradients' checks nothing."""
    source = (Path(__file__).parent.parent / "reference" / "mlrloss.py").read_text()
    wrong_nll = source.replace("    return nll, g, od, percent", "    return 3 * nll + 1, g, od, percent")
    assert wrong_nll != source
    path = make_submission(tmp_path / "nll", {"mlrloss": wrong_nll})
    report = grade(
        path, Options(training=NO_TRAIN, only=("forward.mlrloss", "backward.mlrloss", "gradcheck.mlrloss"))
    )
    by_id = {c.id: c for c in report.checks}
    assert by_id["forward.mlrloss"].status is Status.FAIL
    for out in ("wb", "input"):
        for cid in (f"backward.mlrloss.{out}", f"gradcheck.mlrloss.{out}"):
            assert by_id[cid].status is Status.PASS and by_id[cid].score == by_id[cid].max_score > 0, by_id[
                cid
            ]


# ---- 3. identical regrades ---------------------------------------------------------------------

REGRADE = """
import json, sys
from harness import report as report_mod
from harness.grade import grade
from harness.options import Options, TrainOptions
from harness.report import gradescope
r = grade(sys.argv[1], Options(training=TrainOptions(enabled=False), only=tuple(sys.argv[2].split(','))))
print(json.dumps(gradescope.render(r), default=str, sort_keys=True))
"""
TIME_FIELDS = ("duration", "execution_time", "time", "seconds")


def _strip_times(value):
    """The results without its time fields (keys, and the provenance lines of the text)."""
    if isinstance(value, dict):
        return {k: _strip_times(v) for k, v in value.items() if k not in TIME_FIELDS}
    if isinstance(value, list):
        return [_strip_times(v) for v in value]
    if isinstance(value, str):
        lines = value.splitlines()
        return "\n".join(x for x in lines if x.strip().split(":")[0] not in TIME_FIELDS)
    return value


REGRADED = {
    "dictapi": lambda folder: make_submission(
        folder, {"relu": (CORPUS / "broken" / "relu_backward_no_mask" / "relu.py").read_text()}
    ),
    "cs231n": lambda folder: make_cs231n_submission(folder, "relu_backward_no_mask"),
    "classapi": lambda folder: make_classapi_submission(folder, "relu_no_mask"),
}
"""Family -> a submission of it whose ReLU backward is broken (the rest: its reference)."""


@pytest.mark.parametrize("family", sorted(REGRADED))
def test_regrades_are_identical_whatever_the_hash_seed(family, tmp_path):
    prof = profiles.get(family)
    broken = REGRADED[family](tmp_path / "broken")
    # gradient checks of a kink (relu), windows (pooling), smooth (the loss); classapi's replays
    layers = ("relu", "pooling", "mlrloss", "softmax_loss", "softmax_ce")
    only = ",".join(
        s.id for s in checks.catalogue(prof.FUNCTIONS) if s.op.split(".")[0] in layers and s.kind != "hidden"
    )
    assert only
    scores = []
    for path in (prof.REFERENCE_DIR, broken):
        outputs = []
        for hash_seed in ("1", "4242"):
            env = {**os.environ, "PYTHONHASHSEED": hash_seed}
            done = subprocess.run(
                [sys.executable, "-c", REGRADE, str(path), only],
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert done.returncode == 0, done.stderr[-3000:]
            outputs.append(_strip_times(json.loads(done.stdout)))
        assert outputs[0] == outputs[1], path
        tests = [t for t in outputs[0]["tests"] if "max_score" in t]
        cents = [round(t["score"] * 100) for t in tests]
        assert all(abs(t["score"] * 100 - c) < 1e-6 for t, c in zip(tests, cents))  # 2 decimals
        assert sum(cents) == round(outputs[0]["score"] * 100)  # they add up exactly to the total
        assert json.dumps(outputs[0], sort_keys=True) == json.dumps(outputs[1], sort_keys=True)
        scores.append(outputs[0]["score"])
    assert scores[1] < scores[0]  # the broken ReLU backward loses points, the same each time


# ---- 6. no false alarms ---------------------------------------------------------------------------


def test_numpy_integer_fields_are_integers(submission):
    path = submission(
        {
            "relu": """
        import numpy as np
        def relu_forward(input):
            out = {k: np.int64(input[k]) for k in ('height', 'width', 'channel', 'batch_size')}
            out['data'] = np.maximum(input['data'], 0)
            return out
        def relu_backward(output, input, layer):
            return output['diff'] * (input['data'] > 0)
    """
        }
    )
    report = grade(path, Options(training=NO_TRAIN, only=("forward.relu", "properties.relu.forward")))
    check = {c.id: c for c in report.checks}["properties.relu.forward"]
    assert check.status is Status.PASS and check.score == check.max_score > 0, check.details
