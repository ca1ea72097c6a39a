"""The layer-class family (``harness.profiles.classapi``): mapping file, adapter, detection,
grading end to end, and its corpus (``tests/corpus/classapi``).

The corpus is graded through the real path (``grade.grade``: locate, sandboxed children,
checks, rubric). Entries that touch different files are laid over one reference copy and
graded together: a function's points depend on that function only, so each entry is
judged on its own checks, and the untouched layers of the bundle must keep full marks.
"""

from __future__ import annotations

import argparse
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from conftest import DICT_API_WORDS

from harness import profiles
from harness.cases import classapi as family_cases
from harness.cases import reference
from harness.checks import catalogue as checks
from harness.child import networks
from harness.core import outputs, paths
from harness.core.model import Status
from harness.diagnose import family_mistakes as fm
from harness.diagnose import mistakes as m
from harness.grade import choose_profile, grade
from harness.options import Options, TrainOptions, add_grade_command, options_from
from harness.profiles import classapi
from harness.sandbox.submission import detect

CORPUS = Path(__file__).parent / "corpus" / "classapi"
PROFILE = profiles.get("classapi")
NO_TRAIN = TrainOptions(enabled=False)
LAYER_OF_FILE = {
    "conv_layer": "conv",
    "pooling_layer": "pooling",
    "fc_layer": "inner_product",
    "relu_layer": "relu",
    "softmax_cross_entropy": "softmax_ce",
    "dropout_layer": None,
}


# ---- the mapping file -----------------------------------------------------------------------


def test_shipped_mapping_names_the_homework():
    assert PROFILE.FUNCTIONS["conv.backward"] == "ConvLayer.backward"
    assert PROFILE.FUNCTIONS["softmax_ce"] == "SoftmaxCrossEntropyLossLayer"
    assert PROFILE.MODULES["FCLayer.forward"] == "layers.fc_layer"
    assert "mlrloss" not in PROFILE.FUNCTIONS


@pytest.mark.parametrize(
    "edit, says",
    [
        ("[layers.dense]\nclass = 'Dense'\nmodule = 'nn.dense'\n", "unknown layer [layers.dense]"),
        ("[layers.conv]\nclass = 'C'\nmodule = 'c'\ninit = ['channels']\n", "init ['channels'] unknown"),
        (
            "[layers.conv]\nclass = 'C'\nmodule = 'c'\nweight_layout = 'IOHW'\n",
            "weight_layout must be one of",
        ),
        ("[layers.relu]\nclass = 'R'\nmodule = 'r'\nforwrd = 'f'\n", "unknown keys ['forwrd']"),
        ("[layers.relu]\nmodule = 'r'\n", "malformed profile"),
        ("image_layout = 'CHWN'\n[layers.relu]\nclass = 'R'\nmodule = 'r'\n", "image_layout must be one of"),
    ],
)
def test_bad_mapping_file_says_what_to_fix(tmp_path, edit, says):
    path = tmp_path / "course.toml"
    path.write_text(edit)
    with pytest.raises(classapi.ProfileError, match=str(path)) as exc:
        profiles.get(str(path))
    assert says in str(exc.value)


def test_missing_mapping_file_is_an_autograder_error(tmp_path):
    report = grade(classapi.REFERENCE_DIR, Options(profile=str(tmp_path / "nope.toml"), training=NO_TRAIN))
    assert report.autograder_error and "profile file not found" in report.autograder_error


# ---- the adapter: canonical <-> the course's layout ---------------------------------------------


@pytest.fixture(scope="module")
def ref_classes():
    return reference.functions(str(classapi.REFERENCE_DIR), "classapi")


def _family_cases():
    yield from family_cases.public_cases()
    yield from family_cases.random_cases(7)


def _softmax_ce(x: np.ndarray, t: np.ndarray) -> dict:
    """The homework's loss layer on canonical ``(K, n)`` logits and one-hot labels, written out."""
    z = x - x.max(axis=0)
    p = np.exp(z) / np.exp(z).sum(axis=0)
    n = x.shape[1]
    return {
        "loss": np.array(-(t * (z - np.log(np.exp(z).sum(axis=0)))).sum() / n),
        "input": (p - t) / n,
        "acc": np.array(float((x.argmax(axis=0) == t.argmax(axis=0)).mean())),
    }


@pytest.mark.parametrize("replay", [0, 1])
def test_reference_classes_through_the_adapter_match_the_canonical_reference(ref_classes, replay):
    """The family's reference, called as the grader calls a submission, reproduces the
    LeNet family's reference on every shared op (the loss layer: the formula written out),
    public and random cases, with and without leftovers of other calls."""
    seen = set()
    for case in _family_cases():
        if case.op == "softmax_ce":
            expected = _softmax_ce(case.arrays["x"], case.arrays["t"])
        else:
            expected = reference.run(case.op, case.params, case.arrays, profile="dictapi")
        arrays = {k: v.copy() for k, v in case.arrays.items()}
        outputs, _, passed = PROFILE.call(ref_classes, case.op, {**case.params, "replay": replay}, arrays)
        for name, want in expected.items():
            got = np.asarray(outputs[name], dtype=float)
            assert got.shape == want.shape, (case.name, name)
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12, err_msg=f"{case.op} {case.name}")
        if "w" in case.arrays:  # the weights handed over, read back in canonical layout
            np.testing.assert_array_equal(passed["param"]["w"], case.arrays["w"])
        seen.add(case.op)
    assert seen == set(PROFILE.FUNCTIONS)


def test_family_cases_are_what_the_homework_classes_express():
    """Stride-1 convolutions with pad < kernel size, pooling with stride = kernel size, no tied
    windows; non-square, padded and batched cases among them."""
    tags = set()
    for case in _family_cases():
        p = case.params
        assert case.profile == "classapi" and case.op in PROFILE.FUNCTIONS, case.name
        if case.op.startswith("conv"):
            assert p["stride"] == 1 and p["pad"] < p["k"] and "kw" not in p, case.name
        if case.op.startswith("pooling"):
            assert p["stride"] == p["k"] and p["pad"] < p["k"] and "ties" not in case.tags, case.name
        tags |= set(case.tags)
        tags |= {"batched"} if case.arrays["x"].shape[1] > 1 else set()
    assert {"non_square", "padded", "batched", "large_logits", "pad_convention", "homework"} <= tags


NHWC_COURSE = """\
family = "classapi"
image_layout = "NHWC"

[layers.conv]
class = "Conv2D"
module = "nn.conv"
init = ["kernel_size", "pad", "inputs", "filters"]
forward = "fwd"
backward = "bwd"
weight = "kernel"
bias = "bias"
grad_weight = "dkernel"
grad_bias = "dbias"
weight_layout = "HWIO"
bias_shape = "flat"
"""

NHWC_CONV = """\
import numpy as np
from layers.conv_layer import ConvLayer


class Conv2D:
    # An NHWC convolution with an HWIO kernel, written on top of the reference's NCHW one.
    def __init__(self, kernel_size, pad, inputs, filters):
        self.inner = ConvLayer(inputs, filters, kernel_size, pad)

    def fwd(self, x):
        self.inner.W = np.ascontiguousarray(self.kernel.transpose(3, 2, 0, 1))
        self.inner.b = self.bias
        return self.inner.forward(x.transpose(0, 3, 1, 2)).transpose(0, 2, 3, 1)

    def bwd(self, delta):
        dx = self.inner.backward(delta.transpose(0, 3, 1, 2))
        self.dkernel = self.inner.grad_W.transpose(2, 3, 1, 0)
        self.dbias = self.inner.grad_b
        return dx.transpose(0, 2, 3, 1)
"""


@pytest.fixture(scope="module")
def nhwc_course(tmp_path_factory):
    """Another course: other class, method and attribute names, NHWC images, HWIO kernels."""
    root = tmp_path_factory.mktemp("nhwc")
    sub = root / "submission"
    shutil.copytree(classapi.REFERENCE_DIR, sub, ignore=shutil.ignore_patterns("__pycache__"))
    (sub / "nn").mkdir()
    (sub / "nn" / "__init__.py").write_text("")
    (sub / "nn" / "conv.py").write_text(NHWC_CONV)
    shutil.rmtree(sub / "criterion")
    (root / "course.toml").write_text(NHWC_COURSE)
    return sub, root / "course.toml"


def test_another_course_maps_its_names_without_code(nhwc_course):
    sub, mapping = nhwc_course
    prof = profiles.get(str(mapping))
    assert prof.FUNCTIONS == {"conv.forward": "Conv2D.fwd", "conv.backward": "Conv2D.bwd"}
    report = grade(
        sub, Options(profile=str(mapping), rubric=str(_rubric(sub.parent, prof)), training=NO_TRAIN)
    )
    assert not report.autograder_error, report.autograder_error
    assert report.score == report.max_score == 40, [c for c in report.checks if c.status is not Status.PASS]
    labels = {c.id: c for c in report.checks}
    assert labels["backward.conv.w"].status is Status.PASS


def _rubric(folder: Path, prof) -> Path:
    path = folder / "rubric.toml"
    points = "\n".join(f'"{fn}" = 20' for fn in prof.FUNCTIONS.values())
    path.write_text(f'name = "nhwc"\nfamily = "classapi"\n[points]\n{points}\n')
    return path


def test_wrong_shape_is_reported_in_the_students_layout(ref_classes):
    case = next(c for c in _family_cases() if c.op == "pooling.backward" and c.params["pad"])

    class PaddedGrad(ref_classes["MaxPoolingLayer.backward"]):
        def backward(self, delta):
            p = self.pad
            dx = super().backward(delta)
            return np.pad(dx, ((0, 0), (0, 0), (p, p), (p, p)))

    returned, _, _ = PROFILE.call(
        {"MaxPoolingLayer.backward": PaddedGrad}, case.op, case.params, dict(case.arrays)
    )
    problem = outputs.is_missing(returned["input"])
    assert "(N, C, H, W)" in problem and classapi.PADDED_GRADIENT in problem


# ---- detection --------------------------------------------------------------------------------


def test_detection(tmp_path):
    assert detect(classapi.REFERENCE_DIR)[0] == "classapi"
    assert detect(classapi.TEMPLATE_DIR)[0] == "classapi"
    repo = tmp_path / "repo"
    shutil.copytree(classapi.REFERENCE_DIR, repo / "hw2" / "code")
    assert detect(repo) == ("classapi", "detected: code/layers/conv_layer.py defines ConvLayer.forward")
    assert detect(paths.REFERENCE_DIR)[0] == "dictapi"  # reference/classapi lies one level deeper
    assert detect(paths.REFERENCE_DIR / "conv_layer.py")[0] == "dictapi"
    p = argparse.ArgumentParser()
    add_grade_command(p)
    auto = options_from(p.parse_args([str(repo)]))
    options, rubric, _ = choose_profile(repo, auto)
    assert (options.profile, rubric.family) == ("classapi", "classapi")
    assert options_from(p.parse_args([str(repo), "--profile", "dictapi"])).profile == "dictapi"


def test_profile_option_takes_a_mapping_file_or_says_what_to_do(tmp_path, capsys):
    p = argparse.ArgumentParser()
    add_grade_command(p)
    mapping = tmp_path / "course.toml"
    mapping.write_text(NHWC_COURSE)
    assert options_from(p.parse_args(["x", "--profile", str(mapping)])).profile == str(mapping)
    for bad, says in (
        ("classy", "unknown family 'classy'"),
        (str(tmp_path / "no.toml"), "profile file not found"),
    ):
        with pytest.raises(SystemExit):
            p.parse_args(["x", "--profile", bad])
        assert says in capsys.readouterr().err


# ---- grading end to end ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reference_report():
    return grade(classapi.REFERENCE_DIR, Options(profile="classapi", training=NO_TRAIN))


def test_reference_gets_full_marks(reference_report):
    r = reference_report
    assert not r.autograder_error, r.autograder_error
    assert r.score == r.max_score == 70  # the other 30: train.classapi, not run here
    ids = {c.id for c in r.checks}
    assert {"forward.softmax_ce", "backward.softmax_ce.input", "properties.conv.backward"} <= ids
    assert not any(c.id.startswith(("forward.mlrloss", "properties.conv.forward.field")) for c in r.checks)
    loss = next(c for c in r.checks if c.id == "backward.softmax_ce.input")
    assert classapi.MEAN_LOSS in loss.message  # the report says which scale it saw


def test_template_scores_zero_not_implemented():
    r = grade(classapi.TEMPLATE_DIR, Options(profile="classapi", training=NO_TRAIN, only=("forward.*",)))
    assert not r.autograder_error, r.autograder_error
    assert r.score == 0 and r.max_score > 0
    assert all(c.status is Status.ERROR and "not implemented" in c.message for c in r.checks), [
        (c.id, c.message) for c in r.checks
    ]


# ---- the corpus --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Broken:
    name: str
    fails: tuple[str, ...]
    """Check ids that must fail, each saying ``text`` (hint, message or details)."""
    text: str
    also: tuple[str, ...] = ()
    """Other checks of the same layer that may fail as a consequence (prefixes)."""


BROKEN = [
    Broken(
        "conv_flipped_kernel",
        ("forward.conv", "backward.conv.input", "backward.conv.w"),
        m.FLIPPED_KERNEL,
    ),
    Broken("conv_grad_w_flipped", ("backward.conv.w",), m.FLIPPED_KERNEL),
    Broken("conv_bias_grad_missing", ("backward.conv.b",), m.NOT_COMPUTED),
    Broken("conv_bias_forgotten", ("forward.conv",), fm.FAMILY_HINTS["classapi"]["bias_ignored"]),
    Broken(
        "conv_weight_grad_batch_mean",
        ("backward.conv.w",),
        fm.FAMILY_HINTS["classapi"]["grad_divided_by_batch"],
    ),
    Broken("conv_stale_input", ("properties.conv.backward",), checks.STATE_LEFTOVERS),
    Broken(
        "conv_pad_wrong_axes",
        ("forward.conv", "backward.conv.input"),
        "ValueError",
        also=("backward.conv", "properties.conv"),
    ),
    Broken("pool_grad_padded", ("backward.pooling.input",), classapi.PADDED_GRADIENT),
    Broken(
        "pool_square_maps",
        ("forward.pooling",),
        "cannot reshape",
        also=("backward.pooling", "properties.pooling"),
    ),
    Broken(
        "loss_unstable",
        ("forward.softmax_ce",),
        fm.FAMILY_HINTS["classapi"]["softmax_unstable"],
        also=("backward.softmax_ce",),
    ),
    Broken("loss_grad_sign", ("backward.softmax_ce.input",), m.SIGN_FLIPPED),
    Broken(
        "fc_grads_divided_by_batch",
        ("backward.inner_product.w", "backward.inner_product.b"),
        fm.FAMILY_HINTS["classapi"]["grad_divided_by_batch"],
    ),
    Broken("fc_bias_forgotten", ("forward.inner_product",), fm.FAMILY_HINTS["classapi"]["bias_ignored"]),
    Broken(
        "fc_grad_w_transposed",
        ("backward.inner_product.w",),
        "expected (12, 10) (num_input, num_output)",
        also=("properties.inner_product.backward",),
    ),
    Broken("fc_class_level_cache", ("properties.inner_product.backward",), checks.STATE_LEFTOVERS),
    Broken(
        "relu_in_place",
        ("properties.relu.forward",),
        fm.FAMILY_IN_PLACE["classapi"]["input.data"],
        also=("properties.relu.backward",),
    ),
    Broken("relu_no_mask", ("backward.relu.input",), fm.FAMILY_HINTS["classapi"]["relu_no_mask"]),
]
CORRECT_SAYS = {"loss_grad_summed": classapi.SUMMED_LOSS, "acc_percentage": "accuracy as a percentage"}
"""Correct variants whose report must say which accepted convention they use."""


def _files(kind: str, name: str) -> list[Path]:
    return sorted(p.relative_to(CORPUS / kind / name) for p in (CORPUS / kind / name).rglob("*.py"))


def _bundles(kind: str, names: list[str]) -> list[list[str]]:
    """Entries grouped so that no two in a group touch the same file (first fit)."""
    groups: list[tuple[set, list[str]]] = []
    for name in names:
        files = set(_files(kind, name))
        for used, members in groups:
            if not used & files:
                used |= files
                members.append(name)
                break
        else:
            groups.append((files, [name]))
    return [members for _, members in groups]


def _layers(kind: str, name: str) -> set[str]:
    return {LAYER_OF_FILE[f.stem] for f in _files(kind, name)} - {None}


def _graded(tmp_path: Path, kind: str, members: list[str], only: tuple[str, ...]):
    sub = tmp_path / "submission"
    shutil.copytree(classapi.REFERENCE_DIR, sub, ignore=shutil.ignore_patterns("__pycache__"))
    for name in members:
        for rel in _files(kind, name):
            shutil.copyfile(CORPUS / kind / name / rel, sub / rel)
    return grade(sub, Options(profile="classapi", only=only, training=NO_TRAIN))


def test_corpus_is_complete():
    on_disk = {p.name for p in (CORPUS / "broken").iterdir() if p.is_dir()}
    assert on_disk == {b.name for b in BROKEN}
    assert len(on_disk) >= 15 and len(list((CORPUS / "correct").iterdir())) >= 5
    for kind in ("broken", "correct"):
        for p in (CORPUS / kind).iterdir():
            texts = [f.read_text() for f in p.rglob("*.py")]
            assert any(t.startswith('"""') for t in texts), f"{p.name}: say what it does in a docstring"


@pytest.mark.slow
@pytest.mark.parametrize("members", _bundles("broken", [b.name for b in BROKEN]), ids=lambda ms: "+".join(ms))
def test_broken_fail_the_right_check_with_the_right_cause(tmp_path, members):
    # The checks each entry names, and those it may spoil; forward.relu, untouched by any
    # broken entry, must keep full marks next to them.
    entries = [b for b in BROKEN if b.name in members]
    only = tuple({cid for b in entries for cid in (*b.fails, *(a + "*" for a in b.also))}) + ("forward.relu",)
    report = _graded(tmp_path, "broken", members, only)
    assert not report.autograder_error, report.autograder_error
    by_id = {c.id: c for c in report.checks}
    for b in (x for x in BROKEN if x.name in members):
        for cid in b.fails:
            c = by_id[cid]
            assert c.status is not Status.PASS, f"{b.name}: {cid} passed"
            said = "\n".join((c.hint, c.message, c.details))
            assert b.text in said, f"{b.name}: {cid} does not say {b.text!r}:\n{said}"
            assert not DICT_API_WORDS.search(c.hint), f"{cid}: the dict API's words: {c.hint}"
        mine = {
            f"{w}.{layer}"
            for layer in _layers("broken", b.name)
            for w in ("forward", "backward", "properties")
        }
        allowed = set(b.fails) | set(b.also)
        for c in report.checks:
            if c.status is not Status.PASS and any(c.id.startswith(p) for p in mine):
                assert c.id in allowed or any(c.id.startswith(a) for a in b.also), f"{b.name}: also {c.id}"
    assert all(
        c.status is Status.PASS for c in report.checks if ".relu" in c.id and "relu" not in str(members)
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    "members",
    _bundles("correct", sorted(p.name for p in (CORPUS / "correct").iterdir())),
    ids=lambda ms: "+".join(ms),
)
def test_correct_variants_get_full_marks(tmp_path, members):
    layers = set().union(*(_layers("correct", n) for n in members)) or {"relu"}
    only = tuple(f"{what}.{layer}*" for layer in layers for what in ("forward", "backward", "properties"))
    report = _graded(tmp_path, "correct", members, only)
    assert not report.autograder_error, report.autograder_error
    assert report.score == report.max_score > 0, [
        (c.id, c.message) for c in report.checks if c.status is not Status.PASS
    ]
    for name, says in CORRECT_SAYS.items():
        if name in members:
            assert any(says in c.message for c in report.checks), f"{name}: the report does not say {says!r}"


def test_corpus_entry_files_are_layer_files():
    for kind in ("broken", "correct"):
        for p in (CORPUS / kind).iterdir():
            for rel in _files(kind, p.name):
                assert (classapi.REFERENCE_DIR / rel).is_file(), (
                    f"{p.name}: {rel} is not a file of the homework"
                )


# ---- the training network ------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 7, 100])
def test_training_reads_either_loss_gradient_scale_as_sums(n):
    """The homework leaves the loss gradient's scale open: a layer returning the gradient of the
    mean loss and one returning that of the summed loss train alike (the network hands the loop
    sums either way); a gradient of neither scale is passed on as the mean's, not mended."""
    rng = np.random.default_rng(n)
    x, labels = rng.normal(0, 3, (10, n)), rng.integers(0, 10, n)
    p = np.exp(x - x.max(axis=0))
    p /= p.sum(axis=0)
    t = np.zeros((10, n))
    t[labels, np.arange(n)] = 1.0
    loss = -np.log(p[labels, np.arange(n)]).mean()

    def run_with(scale):
        return lambda layer, op, params, arrays, shapes: {"loss": np.array(loss), "input": (p - t) * scale}

    net = networks.NETWORKS["classapi"]
    mean = net.loss(run_with(1 / n), {}, x, labels)
    summed = net.loss(run_with(1.0), {}, x, labels)
    np.testing.assert_allclose(mean["input"], p - t, rtol=1e-12)
    np.testing.assert_allclose(summed["input"], p - t, rtol=1e-12)
    assert mean["nll"] == summed["nll"] == pytest.approx(loss * n)
    if n > 1:
        tripled = net.loss(run_with(3.0), {}, x, labels)["input"]
        assert not np.allclose(tripled, p - t)
