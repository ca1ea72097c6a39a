"""No points without correctness in the cs231n and layer-class families (issue 13, as
``test_points.py`` proves it for the dict API).

Each submission wraps a copy of its family's reference laid next to the wrappers and passes
every value a graded unit returns through one *null kind* (``test_points.NULL_KINDS``):
cs231n's ``out``, ``dx``, ``dw``, ``db`` and ``loss`` (each forward keeps the cache the
reference returned, so its backward can still be called with it); the layer classes'
``forward`` and ``backward`` results, ``grad_W`` and ``grad_b``, and the loss layer's
``loss``, ``acc`` and gradient. Shapes and calling conventions are right, only the values
are null. One grade per family and kind proves that every graded unit earns nothing from it;
the training check, once per family, earns nothing from zeros.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import make_classapi_submission
from test_points import NO_TRAIN, NULL_KINDS, null_function, null_modules, points, with_reference_copies

from harness import profiles
from harness.checks import catalogue as checks
from harness.checks.catalogue import CaseOutcome
from harness.core.model import Status
from harness.grade import grade
from harness.options import Options, TrainOptions

pytestmark = pytest.mark.slow

CS231N_WRAPPERS = """
try:
    from . import ref_layers as _ref
except ImportError:  # imported as a top-level module
    import ref_layers as _ref


def affine_forward(x, w, b):
    out, cache = _ref.affine_forward(x, w, b)
    return _null(out, x), cache


def affine_backward(dout, cache):
    dx, dw, db = _ref.affine_backward(dout, cache)
    x, w, b = cache
    return _null(dx, x), _null(dw, w), _null(db, b)


def relu_forward(x):
    out, cache = _ref.relu_forward(x)
    return _null(out, x), cache


def relu_backward(dout, cache):
    return _null(_ref.relu_backward(dout, cache), cache)


def conv_forward_naive(x, w, b, conv_param):
    out, cache = _ref.conv_forward_naive(x, w, b, conv_param)
    return _null(out, x), cache


def conv_backward_naive(dout, cache):
    dx, dw, db = _ref.conv_backward_naive(dout, cache)
    x, w, b, _ = cache
    return _null(dx, x), _null(dw, w), _null(db, b)


def max_pool_forward_naive(x, pool_param):
    out, cache = _ref.max_pool_forward_naive(x, pool_param)
    return _null(out, x), cache


def max_pool_backward_naive(dout, cache):
    return _null(_ref.max_pool_backward_naive(dout, cache), cache[0])


def softmax_loss(x, y):
    loss, dx = _ref.softmax_loss(x, y)
    return _null(loss, x), _null(dx, x)
"""

LOSS_FILE = "criterion/softmax_cross_entropy.py"
# The layer classes: subclasses of the reference's, every value read by the grader nulled.
# ``like`` names the attribute a value's "input" is read from (the input_itself kind).
CLASSAPI_COMMON = """

def _nulled(name, like):
    def get(self):
        value = self.__dict__["_" + name]
        return _null(value, getattr(self, like, value))

    def set_(self, value):
        self.__dict__["_" + name] = value

    return property(get, set_)
"""
CLASSAPI_WRAPPERS = {
    "layers/fc_layer.py": ("FCLayer", True),
    "layers/conv_layer.py": ("ConvLayer", True),
    "layers/relu_layer.py": ("ReLULayer", False),
    "layers/pooling_layer.py": ("MaxPoolingLayer", False),
    LOSS_FILE: ("SoftmaxCrossEntropyLossLayer", False),
}
"""File -> (its graded class, whether it has weights)."""
LAYER_CLASS = """

class {cls}(_Ref):
    def forward(self, Input, **kwargs):
        return _null(super().forward(Input, **kwargs), Input)

    def backward(self, delta):
        return _null(super().backward(delta), self.Input)
"""
PARAMS = """
    grad_W = _nulled("grad_W", "W")
    grad_b = _nulled("grad_b", "b")
"""
LOSS_CLASS = """

class SoftmaxCrossEntropyLossLayer(_Ref):
    def forward(self, logit, gt):
        self.logit = logit
        return _null(super().forward(logit, gt), logit)

    def backward(self):
        return _null(super().backward(), self.logit)

    loss = _nulled("loss", "logit")
    acc = _nulled("acc", "gt")
"""


def cs231n_submission(folder: Path, kind: str) -> Path:
    """A repository with ``cs231n/layers.py`` of nulled wrappers and the reference as ``ref_layers.py``."""
    package = folder / "cs231n"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    shutil.copyfile(profiles.get("cs231n").REFERENCE_DIR / "layers.py", package / "ref_layers.py")
    (package / "layers.py").write_text("import numpy as np\n" + null_function(kind) + CS231N_WRAPPERS)
    return folder


def classapi_submission(folder: Path, kind: str) -> Path:
    """A copy of the layer-class reference whose graded classes subclass the reference's, nulled."""
    overrides = {}
    for rel, (cls, params) in CLASSAPI_WRAPPERS.items():
        package, module = rel[: -len(".py")].split("/")
        head = f"import numpy as np\nfrom {package}.ref_{module} import {cls} as _Ref\n"
        body = LOSS_CLASS if rel == LOSS_FILE else LAYER_CLASS.format(cls=cls) + (PARAMS if params else "")
        overrides[rel] = head + null_function(kind) + CLASSAPI_COMMON + body
    path = make_classapi_submission(folder)
    for rel in overrides:
        package, module = rel.split("/")
        shutil.copyfile(path / rel, path / package / f"ref_{module}")
        (path / rel).write_text(overrides[rel])
    return path


FAMILIES = {
    "dictapi": (
        profiles.get("dictapi"),
        lambda folder, kind: with_reference_copies(folder, null_modules(kind)),
        "train.lenet",
    ),
    "cs231n": (profiles.get("cs231n"), cs231n_submission, "train.cs231n"),
    "classapi": (profiles.get("classapi"), classapi_submission, "train.classapi"),
}
"""Family -> (its profile, the builder of a null submission, its training check)."""


def _graded_units(report, profile) -> dict[str, list]:
    out: dict[str, list] = {}
    for c in report.checks:
        if c.function in profile.MODULES:
            out.setdefault(c.function, []).append(c)
    return out


@pytest.mark.parametrize("kind", sorted(NULL_KINDS))
@pytest.mark.parametrize("family", ["cs231n", "classapi"])
def test_a_null_unit_earns_nothing_in_every_family(family, kind, tmp_path):
    profile, build, _ = FAMILIES[family]
    path = build(tmp_path / kind, kind)
    report = grade(path, Options(training=NO_TRAIN, timeout=10))
    assert not report.autograder_error, report.autograder_error
    assert report.provenance["profile"] == family
    units = _graded_units(report, profile)
    assert sorted(units) == sorted(set(profile.MODULES)), sorted(units)
    for unit, mine in units.items():
        got, available = points(mine)
        assert available > 0, unit
        assert got == 0, (unit, [(c.id, c.status.value, c.score, c.message) for c in mine if c.score])
        assert any(c.status is not Status.PASS for c in mine), unit
    assert report.score == 0


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_the_wrappers_alone_get_full_marks(family, tmp_path):
    """The control: the same submissions returning the reference's values pass every check, so
    the zeros above come from the null values, not from wrappers the grader cannot call."""
    profile, build, _ = FAMILIES[family]
    report = grade(build(tmp_path / "transparent", "transparent"), Options(training=NO_TRAIN, timeout=10))
    assert not report.autograder_error, report.autograder_error
    assert report.provenance["profile"] == family
    assert report.score == report.max_score > 0, [
        (c.id, c.message) for c in report.checks if c.status is not Status.PASS
    ]


def _outcome(case, ok, scale, factor):
    numbers = {"accepted_as": scale} if ok and scale else {}
    return CaseOutcome(case, ok, numbers=numbers, scales={SUMMED: factor} if factor != 1 else {})


SUMMED = "gradient of the summed loss"


def test_a_scale_that_changes_with_the_case_is_shown_by_two_of_its_factors():
    # Twice the mean's gradient equals the summed loss's at a batch of two, and nowhere else.
    twice = [_outcome("b1", False, "", 1), _outcome("b2", True, SUMMED, 2), _outcome("b3", False, "", 3)]
    held = checks.hold_scales(twice)
    assert [o.ok for o in held] == [False, False, False]
    assert "in this case only" in held[1].message and SUMMED in held[1].message
    # The summed loss's gradient, wrong at one batch size (an overflow, say): the others count.
    summed = [_outcome("b2", True, SUMMED, 2), _outcome("b3", True, SUMMED, 3), _outcome("b6", False, "", 6)]
    assert [o.ok for o in checks.hold_scales(summed)] == [True, True, False]
    # Cases of one batch size (one case selected, or one factor in the check): that one shows it.
    assert checks.hold_scales(twice[1:2])[0].ok
    one_size = [_outcome("b2", True, SUMMED, 2), _outcome("b2x", False, "", 2), _outcome("b1", True, "", 1)]
    assert [o.ok for o in checks.hold_scales(one_size)] == [True, False, True]
    # A constant factor (a percentage) is shown by one case.
    pct = [_outcome("a", True, "as a percentage", 100), _outcome("b", False, "", 100)]
    pct = [CaseOutcome(o.case, o.ok, numbers=o.numbers, scales={"as a percentage": 100.0}) for o in pct]
    assert [o.ok for o in checks.hold_scales(pct)] == [True, False]


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_training_earns_nothing_from_zeros(family, tmp_path):
    _, build, check_id = FAMILIES[family]
    path = build(tmp_path / "zeros", "zeros")
    report = grade(path, Options(only=(check_id,), training=TrainOptions(iterations=20)))
    assert not report.autograder_error, report.autograder_error
    [check] = [c for c in report.checks if c.id == check_id]
    assert check.max_score > 0 and check.score == 0, (check.status.value, check.score, check.message)
    assert check.status is not Status.PASS, check.message
    assert report.score == 0
