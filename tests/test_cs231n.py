"""The cs231n family end to end: adapter, reference, detection, rubrics, corpus.

The adapter is proven against the LeNet family: on every shared canonical op with a square
kernel, the cs231n reference called through the cs231n adapter and the LeNet reference
called through the dict API give the same canonical arrays (two independent layouts and
implementations agreeing). Non-square kernels and softmax_loss, which the LeNet family does
not have, are checked against plain loops written here.

Corpus: ``tests/corpus/cs231n/{broken,correct}/<name>.py`` hold only the functions that
differ from the reference; a submission is the reference's ``layers.py`` with them appended
(a later ``def`` wins), inside a ``cs231n/`` package folder as the course ships it. The
reference's own functions stay reachable as ``_reference_<name>``.
"""

from __future__ import annotations

import ast
import fnmatch
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from conftest import DICT_API_WORDS

from harness.cases import catalogue, families, fixtures, reference
from harness.cases import cs231n as cs231n_cases
from harness.checks import catalogue as checks
from harness.core.model import Status
from harness.diagnose import family_mistakes as fm
from harness.diagnose import mistakes as m
from harness.grade import grade
from harness.options import Options, TrainOptions
from harness.profiles import cs231n
from harness.sandbox import syntax
from harness.sandbox.submission import detect

CORPUS = Path(__file__).parent / "corpus" / "cs231n"
NO_TRAIN = TrainOptions(enabled=False)
PUBLIC = cs231n_cases.public_cases()


# ---- adapter and reference -------------------------------------------------------------------


def test_layout_conversions_are_inverse_and_match_the_contract():
    rng = np.random.default_rng(0)
    h, w, c, n = 3, 4, 2, 5
    canonical = rng.standard_normal((h * w * c, n))
    nchw = cs231n.to_nchw(canonical, h, w, c)
    assert nchw.shape == (n, c, h, w) and nchw.flags.c_contiguous
    # canonical row ih + h*iw + h*w*ic of column n is x[n, ic, ih, iw]
    assert nchw[3, 1, 2, 1] == canonical[2 + h * 1 + h * w * 1, 3]
    assert np.array_equal(cs231n.from_nchw(nchw), canonical)


@pytest.mark.parametrize(
    "case",
    # not the tied pooling windows: the families break ties differently (any one is accepted here)
    [c for c in PUBLIC if c.op != "softmax_loss" and "kw" not in c.params and "ties" not in c.tags],
    ids=lambda c: f"{c.op}:{c.name}",
)
def test_reference_agrees_with_the_lenet_family_on_shared_ops(case):
    ours = catalogue.expected(case)
    lenet = reference.run(case.op, case.params, case.arrays, profile="dictapi")
    assert ours.keys() == lenet.keys()
    for key in ours:
        assert ours[key].shape == lenet[key].shape
        assert np.allclose(ours[key], lenet[key], rtol=1e-12, atol=1e-12), key


def _loop_conv(x, w, b, stride, pad):
    """The contract's formula, one output element at a time (an oracle independent of the reference)."""
    n, c, h, wd = x.shape
    f, _, hh, ww = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    ho, wo = 1 + (h + 2 * pad - hh) // stride, 1 + (wd + 2 * pad - ww) // stride
    out = np.empty((n, f, ho, wo))
    for i in np.ndindex(n, f, ho, wo):
        window = xp[i[0], :, i[2] * stride : i[2] * stride + hh, i[3] * stride : i[3] * stride + ww]
        out[i] = (window * w[i[1]]).sum() + b[i[1]]
    return out


@pytest.mark.parametrize("case", [c for c in PUBLIC if "kw" in c.params], ids=lambda c: f"{c.op}:{c.name}")
def test_non_square_kernels_follow_the_contract(case):
    p = case.params
    x = cs231n.to_nchw(case.arrays["x"], p["h"], p["w"], p["c"])
    w = cs231n.to_nchw(case.arrays["w"], p["k"], p["kw"], p["c"])
    assert w.shape[2:] == (p["k"], p["kw"]) and p["k"] != p["kw"]
    y = _loop_conv(x, w, case.arrays["b"].ravel(), p["stride"], p["pad"])
    if case.op == "conv.forward":
        assert np.allclose(cs231n.from_nchw(y), catalogue.expected(case)["y"], rtol=1e-12, atol=1e-12)
    else:  # the input gradient by linearity: <dy, conv(e_i)> for a few input elements
        dy = cs231n.to_nchw(case.arrays["dy"], y.shape[2], y.shape[3], y.shape[1])
        dx = cs231n.to_nchw(catalogue.expected(case)["input"], p["h"], p["w"], p["c"])
        for index in list(np.ndindex(x.shape))[:: max(1, x.size // 7)]:
            e = np.zeros_like(x)
            e[index] = 1.0
            numeric = (dy * _loop_conv(e, w, np.zeros(len(w)), p["stride"], p["pad"])).sum()
            assert np.isclose(dx[index], numeric, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", [c for c in PUBLIC if c.op == "softmax_loss"], ids=lambda c: c.name)
def test_softmax_loss_is_the_mean_cross_entropy(case):
    x, y = case.arrays["x"].T, case.arrays["labels"].ravel().astype(int)
    z = x - x.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    n = len(y)
    got = catalogue.expected(case)
    assert np.isclose(got["loss"], -logp[np.arange(n), y].mean(), rtol=1e-12)
    onehot = np.eye(x.shape[1])[y]
    assert np.allclose(got["input"], ((np.exp(logp) - onehot) / n).T, rtol=1e-10, atol=1e-15)
    if "large_scores" in case.tags:
        assert np.abs(x).max() > 500


def test_cases_cover_what_the_contract_puts_in_scope():
    tags = {t for c in PUBLIC for t in c.tags}
    assert {
        "non_square",
        "non_square_kernel",
        "padded",
        "overlapping",
        "unflattened",
        "large_scores",
        "ties",
    } <= tags
    for case in (c for c in PUBLIC if "ties" in c.tags):  # tied windows that do not overlap
        assert catalogue.kink_margin(case) == 0 and case.params["stride"] == case.params["k"]
    convs = [c.params for c in PUBLIC if c.op == "conv.forward"]
    assert {1, 2} <= {p["stride"] for p in convs} and {0, 1, 2} <= {p["pad"] for p in convs}
    assert all(c.params["pad"] == 0 for c in PUBLIC if c.op.startswith("pooling"))
    for op in cs231n.FUNCTIONS:
        mine = [c for c in PUBLIC if c.op == op]
        assert len(mine) >= 6 and len({c.name for c in mine}) == len(mine)
        assert all(c.profile == "cs231n" for c in mine)
    # fixtures: the shipped ones are these cases, loaded for this family only
    shipped = fixtures.load("conv.forward", profile="cs231n")
    assert [c.name for c, _ in shipped] == [c.name for c in PUBLIC if c.op == "conv.forward"]
    assert all(c.profile == "cs231n" for c, _ in shipped)
    assert all(c.profile == "dictapi" for c, _ in fixtures.load("conv.forward"))


def test_random_cases_are_the_familys_and_deterministic():
    a, b = families.random_cases(4, "cs231n"), families.random_cases(4, "cs231n")
    assert sorted({c.op for c in a}) == sorted(cs231n.FUNCTIONS)
    assert [c.name for c in a] == [c.name for c in b]
    assert all(np.array_equal(x.arrays[k], y.arrays[k]) for x, y in zip(a, b) for k in x.arrays)
    assert not [c for c in families.random_cases(4, "cs231n", exclude_tags=("padded",)) if "padded" in c.tags]


# ---- detection, rubrics, provenance -----------------------------------------------------------


def test_detection_picks_the_family_of_the_submission(tmp_path):
    root = Path(__file__).parent.parent
    assert detect(root / "reference")[0] == "dictapi"
    name, why = detect(root / "reference" / "cs231n")
    assert name == "cs231n" and "layers.py defines conv_forward_naive" in why
    assert detect(root / "student_template" / "cs231n")[0] == "cs231n"
    bare = tmp_path / "layers.py"
    bare.write_text((cs231n.REFERENCE_DIR / "layers.py").read_text())
    assert detect(bare)[0] == "cs231n"
    # conv_forward_naive outside layers.py is not this family's layout
    other = tmp_path / "other"
    other.mkdir()
    (other / "convs.py").write_text("def conv_forward_naive(x, w, b, p):\n    pass\n")
    assert detect(other)[0] == "dictapi"


def test_python2_syntax_errors_are_named():
    found = syntax.recognise("Missing parentheses in call to 'print'. Did you mean print(...)?", 'print "a"')
    assert found is not None and "Python 2" in syntax.python2_advice([found])
    assert syntax.recognise("invalid syntax", "x = = 1") is None


@pytest.fixture(scope="session")
def reference_report():
    return grade(Path(__file__).parent.parent / "reference" / "cs231n", Options(training=NO_TRAIN))


def test_reference_gets_full_marks_and_the_choice_is_recorded(reference_report):
    r = reference_report
    assert not r.autograder_error and r.max_score == 70  # the functions; train.cs231n (30) not run
    assert r.score == pytest.approx(70)
    assert all(c.status is Status.PASS for c in r.checks), [
        c.id for c in r.checks if c.status is not Status.PASS
    ]
    assert r.provenance["profile"] == "cs231n" and r.provenance["rubric"] == "cs231n"
    assert "conv_forward_naive" in r.provenance["profile_choice"]
    assert any(n.startswith("assignment family: cs231n") for n in r.notices)
    assert {c.function for c in r.checks if c.function} == set(cs231n.FUNCTIONS.values())


def test_template_scores_zero_with_not_implemented():
    r = grade(Path(__file__).parent.parent / "student_template" / "cs231n", Options(training=NO_TRAIN))
    assert not r.autograder_error and r.score == 0 and r.max_score == 70
    assert all(c.status is Status.ERROR and "not implemented" in c.message for c in r.checks if c.function)


def _submission(tmp_path: Path, source: str) -> Path:
    """The reference's layers.py with ``source`` appended, in a cs231n/ package folder."""
    folder = tmp_path / "repo" / "cs231n"
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text("")
    aliases = "\n".join(f"_reference_{name} = {name}" for name in cs231n.FUNCTIONS.values())
    ref = (cs231n.REFERENCE_DIR / "layers.py").read_text()
    (folder / "layers.py").write_text(f"{ref}\n\n{aliases}\n\n{source}")
    return tmp_path / "repo"


def test_2019_edition_leaves_softmax_loss_ungraded_and_rubrics_name_their_family(tmp_path):
    path = _submission(tmp_path, "def softmax_loss(x, y):\n    raise NotImplementedError\n")
    only = ("forward.softmax_loss", "backward.softmax_loss.*", "forward.relu")
    r = grade(path, Options(training=NO_TRAIN, rubric="harness/rubrics/cs231n-2019.toml", only=only))
    assert not r.autograder_error
    loss = [c for c in r.checks if c.function == "softmax_loss"]
    assert loss and all(c.status is Status.SKIP and c.max_score == 0 for c in loss)
    assert r.score == r.max_score > 0 and r.provenance["profile_choice"] == "the family of rubric cs231n-2019"
    wrong = grade(path, Options(training=NO_TRAIN, rubric="harness/rubrics/default.toml"))
    assert "grades the dictapi family" in wrong.autograder_error and "--profile" in wrong.autograder_error
    forced = grade(path, Options(training=NO_TRAIN, profile="dictapi", only=("forward.relu",)))
    assert "look like the cs231n family" in forced.provenance["profile_choice"]
    assert any("look like the cs231n family" in n for n in forced.notices)


def test_backward_says_when_its_forward_gives_no_cache(tmp_path):
    source = "def relu_forward(x):\n    raise ValueError('boom')\n"
    r = grade(_submission(tmp_path, source), Options(training=NO_TRAIN, only=("backward.relu.*",)))
    check = next(c for c in r.checks if c.id == "backward.relu.input")
    assert check.status is Status.ERROR
    assert "relu_forward failed (ValueError: boom)" in check.message and "no cache" in check.message
    assert "boom" in check.details  # the forward's own traceback


# ---- corpus ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Broken:
    name: str
    fails: tuple[str, ...]
    """Check ids that must fail, each naming ``hint``."""
    hint: str
    status: Status = Status.FAIL
    also: tuple[str, ...] = ("gradcheck.*",)
    """Other checks of the same functions that may fail as a consequence (fnmatch)."""


SHAPE = cs231n.WRONG_SHAPE_HINTS
BROKEN = [
    Broken("conv_flipped_kernel", ("forward.conv",), m.FLIPPED_KERNEL),
    Broken("conv_bias_ignored", ("forward.conv",), fm.FAMILY_HINTS["cs231n"]["bias_ignored"]),
    Broken("conv_w_axes_swapped", ("forward.conv",), fm.W_AXES_SWAPPED),
    Broken("conv_output_nhwc", ("forward.conv", "properties.conv.forward"), SHAPE["nhwc"]),
    Broken("conv_dx_not_cropped", ("backward.conv.input",), SHAPE["padded"]),
    Broken(
        "conv_backward_last_image",
        ("backward.conv.w", "backward.conv.b"),
        fm.FAMILY_HINTS["cs231n"]["per_image"],
    ),
    Broken("conv_backward_dw_flipped", ("backward.conv.w",), m.FLIPPED_KERNEL),
    Broken("affine_bias_ignored", ("forward.inner_product",), fm.FAMILY_HINTS["cs231n"]["bias_ignored"]),
    Broken(
        "affine_dx_not_reshaped",
        ("backward.inner_product.input", "properties.inner_product.backward"),
        SHAPE["flattened"],
    ),
    Broken(
        "affine_dw_transposed",
        ("backward.inner_product.w", "properties.inner_product.backward"),
        SHAPE["transposed"],
    ),
    Broken(
        "affine_db_mean", ("backward.inner_product.b",), fm.FAMILY_HINTS["cs231n"]["grad_divided_by_batch"]
    ),
    Broken("relu_in_place", ("properties.relu.forward",), fm.IN_PLACE_X),
    Broken("relu_backward_no_mask", ("backward.relu.input",), fm.FAMILY_HINTS["cs231n"]["relu_no_mask"]),
    Broken("pool_average", ("forward.pooling",), m.AVERAGE_POOLING),
    Broken("pool_grad_spread", ("backward.pooling.input",), m.POOL_GRAD_SPREAD),
    Broken("pool_overlap_overwrite", ("backward.pooling.input",), m.POOL_OVERWRITE),
    Broken("pool_ties_all", ("backward.pooling.input",), fm.FAMILY_HINTS["cs231n"]["pool_ties"]),
    Broken("softmax_in_place", ("properties.softmax_loss",), fm.IN_PLACE_X),
    Broken("softmax_sum_not_mean", ("forward.softmax_loss", "backward.softmax_loss.input"), fm.LOSS_SUMMED),
    Broken(
        "softmax_unstable", ("forward.softmax_loss", "backward.softmax_loss.input"), fm.SOFTMAX_UNSTABLE_NCHW
    ),
    Broken("softmax_dx_sign", ("backward.softmax_loss.input",), m.SIGN_FLIPPED),
]
PYTHON2 = "python2_print"
CORRECT = sorted(p.stem for p in (CORPUS / "correct").glob("*.py"))


def _defined(source: str) -> list[str]:
    return [
        n.name
        for n in ast.parse(source).body
        if isinstance(n, ast.FunctionDef) and not n.name.startswith("_")
    ]


def _build(tmp_path: Path, kind: str, name: str) -> tuple[Path, tuple[str, ...]]:
    """The submission and the checks of the functions it replaces (hidden cases not run here)."""
    source = (CORPUS / kind / f"{name}.py").read_text()
    functions = set(_defined(source))
    assert functions <= set(cs231n.FUNCTIONS.values()), functions
    selected = tuple(
        s.id for s in checks.catalogue(cs231n.FUNCTIONS) if s.function in functions and s.kind != "hidden"
    )
    return _submission(tmp_path, source), selected


def test_every_corpus_file_is_tested_and_documented():
    broken = sorted(p.stem for p in (CORPUS / "broken").glob("*.py"))
    assert broken == sorted([b.name for b in BROKEN] + [PYTHON2])
    assert len(broken) >= 20 and len(CORRECT) >= 6
    for kind, names in (("broken", broken), ("correct", CORRECT)):
        for name in names:
            doc = (CORPUS / kind / f"{name}.py").read_text().lstrip()
            assert doc.startswith('"""Mistake: ' if kind == "broken" else '"""Correct variant: '), name


@pytest.mark.slow
@pytest.mark.parametrize("entry", BROKEN, ids=lambda b: b.name)
def test_broken_submission_fails_its_own_function_with_the_right_cause(entry, tmp_path):
    path, selected = _build(tmp_path, "broken", entry.name)
    report = grade(path, Options(training=NO_TRAIN, only=selected))
    assert not report.autograder_error, report.autograder_error
    by_id = {c.id: c for c in report.checks if c.id in selected}
    assert sorted(by_id) == sorted(selected)
    for cid in entry.fails:
        check = by_id[cid]
        assert check.status is entry.status, f"{cid}: {check.status.value} {check.message}"
        assert entry.hint in check.hint, f"{cid}: hint {check.hint!r}"
        assert not DICT_API_WORDS.search(check.hint), f"{cid}: the dict API's words: {check.hint}"
        assert check.score < check.max_score
    for cid, check in by_id.items():
        if cid not in entry.fails and not any(fnmatch.fnmatchcase(cid, p) for p in entry.also):
            assert check.status is Status.PASS, f"{cid} should pass: {check.message}"


@pytest.mark.slow
def test_python2_submission_gets_one_clear_error(tmp_path):
    path = _submission(tmp_path, (CORPUS / "broken" / f"{PYTHON2}.py").read_text())
    report = grade(path, Options(training=NO_TRAIN, only=("forward.*",)))
    assert not report.autograder_error and report.score == 0
    assert report.checks and all(c.status is Status.ERROR for c in report.checks if c.function)
    assert report.exit_code == 1
    # relu_forward shows its own Python 2 line; the others' lines compile, but not their file.
    lines = (path / "cs231n" / "layers.py").read_text().splitlines()
    bad = next(n for n, line in enumerate(lines, 1) if line.strip().startswith('print "relu"'))
    relu = next(c for c in report.checks if c.id == "forward.relu")
    assert "this is Python 2 code (print statement)" in relu.message and f"line {bad})" in relu.message
    assert f"line {bad}, in relu_forward" in relu.details and 'print "relu", x.shape' in relu.details
    others = [c for c in report.checks if c.function and c.function != "relu_forward"]
    assert others and all("this is Python 2 code" in c.message for c in others)
    assert [c for c in others if c.details] and all("outside" in c.details for c in others if c.details)


@pytest.mark.slow
@pytest.mark.parametrize("name", CORRECT)
def test_correct_variant_gets_full_marks(name, tmp_path):
    path, selected = _build(tmp_path, "correct", name)
    report = grade(path, Options(training=NO_TRAIN, only=selected))
    assert not report.autograder_error, report.autograder_error
    failing = [(c.id, c.message, c.details) for c in report.checks if c.status is not Status.PASS]
    assert not failing, failing
    assert sum(c.score for c in report.checks) == pytest.approx(sum(c.max_score for c in report.checks))


@pytest.mark.parametrize(
    "case", [c for c in PUBLIC if c.op == "pooling.backward" and "ties" in c.tags], ids=lambda c: c.name
)
def test_a_tied_window_may_route_to_any_one_maximum(case):
    """The judge of the ``ties`` cases: the routing a submission chose, when it is a valid one."""
    first = catalogue.expected(case)["input"]
    assert np.array_equal(catalogue.any_max_routing(case, first), first)
    p = case.params
    x = cs231n.to_nchw(case.arrays["x"], p["h"], p["w"], p["c"])
    k = p["k"]
    dy = cs231n.to_nchw(case.arrays["dy"], p["h"] // k, p["w"] // k, p["c"])
    last, every = np.zeros_like(x), np.zeros_like(x)
    for n, c, i, j in np.ndindex(dy.shape):
        window = x[n, c, i * k : i * k + k, j * k : j * k + k]
        tied = np.argwhere(window == window.max())
        a, b = tied[-1]
        last[n, c, i * k + a, j * k + b] = dy[n, c, i, j]
        for a, b in tied:
            every[n, c, i * k + a, j * k + b] = dy[n, c, i, j]
    last, every = cs231n.from_nchw(last), cs231n.from_nchw(every)
    assert not np.array_equal(last, first)  # the case has ties that matter
    assert np.array_equal(catalogue.any_max_routing(case, last), last)
    assert not np.array_equal(catalogue.any_max_routing(case, every), every)


def test_bulk_orders_the_gradebook_by_the_class_family():
    from harness.core.model import GradeReport
    from harness.deploy import bulk
    from harness.deploy.gradebook import Row

    def row(name, profile):
        return Row(name, name, GradeReport(name, (), {"profile": profile}))

    assert bulk._class_family([row("a", "cs231n"), row("b", "cs231n"), row("c", "dictapi")]) == "cs231n"
    assert bulk._class_family([Row("d", "d", None, reason="unreadable zip")]) == ""
