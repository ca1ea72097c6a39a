"""The corpus: broken submissions fail the right check with the right likely cause; correct
variants get full marks. Each is graded through the real path (``grade.grade``: locate,
sandboxed child processes, checks, rubric).

A corpus entry is a folder of only the modules that differ from the reference
(``tests/corpus/broken/<name>/``, ``tests/corpus/correct/<name>/``); its module docstring
says what it does. The reference is copied and the folder laid over it.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import make_submission

from harness.checks import catalogue as checks
from harness.core.model import Status
from harness.diagnose import mistakes as m
from harness.grade import grade
from harness.options import Options, TrainOptions
from harness.profiles import dictapi

pytestmark = pytest.mark.slow

CORPUS = Path(__file__).parent / "corpus"
BY_FUNCTION: dict[str, list[str]] = {}
for _spec in checks.catalogue(dictapi.FUNCTIONS):
    BY_FUNCTION.setdefault(_spec.function, []).append(_spec.id)
MODULE_FUNCTIONS = {
    mod: [f for f, mm in dictapi.MODULES.items() if mm == mod] for mod in set(dictapi.MODULES.values())
}

# Hints that need checks.py to pass what the property and crash outcomes know (see diagnose.field_hint,
# nondeterminism_hint, crash_hint).
WIRING = "harness/checks/catalogue.py must call diagnose.field_hint / nondeterminism_hint / crash_hint (see harness/diagnose/engine.py)"


@dataclass(frozen=True)
class Broken:
    name: str
    fails: tuple[str, ...]
    """Check ids that must fail, each naming ``hint``."""
    hint: str
    status: Status = Status.FAIL
    also: tuple[str, ...] = ("gradcheck.*",)
    """Other checks of the same module's functions that may fail as a consequence (fnmatch)."""


BROKEN = [
    Broken("relu_in_place", ("properties.relu.forward",), m.IN_PLACE),
    Broken("relu_backward_in_place", ("properties.relu.backward",), m.DIFF_CHANGED),
    Broken("relu_backward_uses_output", ("backward.relu.input",), m.RELU_BACKWARD_OUTPUT),
    Broken("relu_backward_no_mask", ("backward.relu.input",), m.RELU_NO_MASK),
    Broken(
        "relu_random_dropout",
        ("properties.relu.forward",),
        m.NONDETERMINISTIC,
        also=("forward.relu", "gradcheck.*"),
    ),
    Broken("conv_flipped_kernel", ("forward.conv",), m.FLIPPED_KERNEL),
    Broken("conv_weight_rows_c_order", ("forward.conv",), m.WEIGHT_ROW_ORDER),
    Broken("conv_w_reshaped", ("forward.conv",), m.RESHAPE_FOR_TRANSPOSE),
    Broken("conv_output_c_order", ("forward.conv",), m.MEMORY_ORDER),
    Broken("conv_bias_ignored", ("forward.conv",), m.BIAS_IGNORED),
    Broken("conv_padding_ignored", ("forward.conv",), m.PAD_IGNORED),
    Broken("conv_off_by_one", ("forward.conv", "properties.conv.forward"), m.OFF_BY_ONE),
    Broken("conv_channel_field", ("properties.conv.forward",), m.FIELD_CHANNEL),
    Broken("hardcoded_batch_size", ("forward.conv",), m.HARDCODED_BATCH),
    Broken("conv_stride_ignored_backward", ("backward.conv.input", "backward.conv.w"), m.STRIDE_IGNORED),
    Broken("conv_input_grad_not_cropped", ("backward.conv.input",), m.PAD_NOT_CROPPED),
    Broken("conv_backward_last_image", ("backward.conv.w", "backward.conv.b"), m.BATCH_ONE),
    Broken("conv_bias_grad_per_image", ("backward.conv.b",), m.BIAS_NOT_SUMMED),
    Broken("ip_bias_ignored", ("forward.inner_product",), m.BIAS_IGNORED),
    Broken(
        "ip_w_not_transposed",
        ("forward.inner_product",),
        m.MATMUL_W_SIZES,  # FAIL, not ERROR: with a square weight (d == num) w @ x runs, wrongly
        also=("properties.inner_product.forward", "gradcheck.*"),
    ),
    Broken("ip_mutates_param", ("properties.inner_product.forward",), m.PARAM_CHANGED),
    Broken("ip_bias_grad_not_summed", ("backward.inner_product.b",), m.BIAS_NOT_SUMMED),
    Broken("ip_weight_grad_transposed", ("backward.inner_product.w",), m.WEIGHT_GRAD_TRANSPOSED),
    Broken(
        "ip_grads_divided_by_batch",
        ("backward.inner_product.input", "backward.inner_product.w", "backward.inner_product.b"),
        m.GRAD_DIVIDED_BY_BATCH,
    ),
    Broken("ip_input_grad_missing", ("backward.inner_product.input",), m.INPUT_GRAD_MISSING),
    Broken("pool_average", ("forward.pooling",), m.AVERAGE_POOLING),
    Broken("pool_stride_ignored", ("forward.pooling",), m.STRIDE_IGNORED),
    Broken("pool_pad_neg_inf", ("forward.pooling",), m.POOL_PAD_NEG_INF),
    Broken("pool_fields_not_updated", ("properties.pooling.forward",), m.FIELD_NOT_UPDATED),
    Broken("pool_grad_spread", ("backward.pooling.input",), m.POOL_GRAD_SPREAD),
    Broken("pool_ties_all", ("backward.pooling.input",), m.POOL_TIES),
    Broken("pool_ties_last", ("backward.pooling.input",), m.POOL_TIES),
    Broken("pool_argmax_unravel", ("backward.pooling.input",), m.POOL_ARGMAX_UNRAVEL),
    Broken("pool_overlap_overwrite", ("backward.pooling.input",), m.POOL_OVERWRITE),
    Broken(
        "softmax_unstable",
        ("forward.mlrloss",),
        m.SOFTMAX_UNSTABLE,  # log(0) in nll; g stays finite
        also=("backward.mlrloss.*", "gradcheck.*"),
    ),
    Broken(
        "loss_averaged", ("forward.mlrloss", "backward.mlrloss.wb", "backward.mlrloss.input"), m.LOSS_AVERAGED
    ),
    Broken("mlrloss_sign_flipped", ("backward.mlrloss.wb", "backward.mlrloss.input"), m.SIGN_FLIPPED),
    Broken("k_minus_1_ignored", ("backward.mlrloss.wb",), m.K_MINUS_1),
    Broken(
        "mlrloss_zero_class_first",
        ("forward.mlrloss", "backward.mlrloss.wb", "backward.mlrloss.input"),
        m.ZERO_CLASS_FIRST,
    ),
    Broken("percent_as_percentage", ("forward.mlrloss",), m.PERCENT_SCALE),
]
FULL_RUNS = ("conv_flipped_kernel", "pool_ties_all", "softmax_unstable")
"""Graded on every check: the functions they do not touch keep full marks."""
CORRECT = sorted(p.name for p in (CORPUS / "correct").iterdir() if p.is_dir())


def build(tmp_path: Path, kind: str, name: str) -> tuple[Path, list[str]]:
    """A reference copy with the corpus folder's modules laid over it, and those modules' names."""
    folder = CORPUS / kind / name
    modules = {p.stem: p.read_text() for p in sorted(folder.glob("*.py"))}
    return make_submission(tmp_path / name, modules), list(modules)


def touched_checks(modules: list[str]) -> list[str]:
    """The checks of the functions in these modules (hidden cases are not run here)."""
    return [
        cid
        for mod in modules
        for fn in MODULE_FUNCTIONS[mod]
        for cid in BY_FUNCTION[fn]
        if not cid.startswith("hidden.")
    ]


def test_every_corpus_folder_is_tested_and_documented():
    folders = sorted(p.name for p in (CORPUS / "broken").iterdir() if p.is_dir())
    assert folders == sorted(b.name for b in BROKEN)
    assert len(BROKEN) >= 20 and len(CORRECT) >= 8
    for kind, names in (("broken", folders), ("correct", CORRECT)):
        for name in names:
            for module in (CORPUS / kind / name).glob("*.py"):
                doc = module.read_text().lstrip()
                assert doc.startswith('"""Mistake: ' if kind == "broken" else '"""Correct variant: '), module


@pytest.mark.parametrize("entry", BROKEN, ids=lambda b: b.name)
def test_broken_submission_fails_the_right_check_with_the_right_cause(entry, tmp_path):
    path, modules = build(tmp_path, "broken", entry.name)
    selected = touched_checks(modules)
    report = grade(path, Options(training=TrainOptions(enabled=False), only=tuple(selected)))
    assert not report.autograder_error, report.autograder_error
    by_id = {c.id: c for c in report.checks if c.id in selected}
    assert sorted(by_id) == sorted(selected)
    for cid in entry.fails:
        check = by_id[cid]
        assert check.status is entry.status, f"{cid}: {check.status.value} {check.message}"
        assert entry.hint in check.hint, f"{cid}: hint {check.hint!r}" + (
            f"\n({WIRING})" if cid.startswith("properties") or entry.status is Status.ERROR else ""
        )
        assert check.score < check.max_score
    for cid, check in by_id.items():
        if cid not in entry.fails and not any(fnmatch.fnmatchcase(cid, p) for p in entry.also):
            assert check.status is Status.PASS, f"{cid} should pass: {check.message}"


@pytest.mark.parametrize("name", FULL_RUNS)
def test_other_functions_keep_full_marks(name, tmp_path):
    path, modules = build(tmp_path, "broken", name)
    report = grade(path, Options(training=TrainOptions(enabled=False)))
    mine = set(touched_checks(modules))
    others = [c for c in report.checks if c.id not in mine and c.function]
    assert others and not report.autograder_error
    assert all(c.status is Status.PASS and c.score == c.max_score for c in others), [
        (c.id, c.message) for c in others if c.status is not Status.PASS
    ]
    assert any(c.status is not Status.PASS for c in report.checks if c.id in mine)


@pytest.mark.parametrize("name", CORRECT)
def test_correct_variant_gets_full_marks(name, tmp_path):
    """Graded on every check of the functions it replaces (all of them for several variants)."""
    path, modules = build(tmp_path, "correct", name)
    report = grade(path, Options(training=TrainOptions(enabled=False), only=tuple(touched_checks(modules))))
    assert not report.autograder_error, report.autograder_error
    failing = [(c.id, c.message, c.details) for c in report.checks if c.status is not Status.PASS]
    assert not failing, failing
    assert sum(c.score for c in report.checks) == pytest.approx(sum(c.max_score for c in report.checks))
