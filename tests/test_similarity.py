"""harness.checks.similarity: copies of the reference and near-identical pairs, by their syntax."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

from harness import profiles
from harness.checks import similarity
from harness.core import paths
from harness.core.model import Status
from harness.grade import grade
from harness.options import Options, TrainOptions
from harness.profiles import dictapi
from harness.sandbox.submission import locate

CORRECT = Path(__file__).parent / "corpus" / "correct"


class Rename(ast.NodeTransformer):
    """Every function's arguments and local variables renamed, docstrings dropped: what a
    copier does to hide a copy."""

    def visit_FunctionDef(self, node):
        local = {a.arg for a in node.args.args} | {
            n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
        }
        local -= {name for n in ast.walk(node) if isinstance(n, ast.Global) for name in n.names}
        for n in ast.walk(node):
            if isinstance(n, ast.Name) and n.id in local:
                n.id = f"my_{n.id}"
            elif isinstance(n, ast.arg) and n.arg in local:
                n.arg = f"my_{n.arg}"
        first = node.body[0]
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and len(node.body) > 1:
            node.body = node.body[1:]
        return node


def disguised_copy(folder: Path, base: Path = paths.REFERENCE_DIR, pattern: str = "*.py") -> Path:
    """``base`` with every module renamed through, reformatted (ast.unparse) and recommented."""
    folder.mkdir(parents=True)
    for f in base.glob(pattern):
        tree = Rename().visit(ast.parse(f.read_text()))
        target = folder / f.relative_to(base)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("# my own work\n" + ast.unparse(ast.fix_missing_locations(tree)) + "\n")
    return folder


def functions_of(path) -> dict:
    sub = locate(path, dictapi.MODULES)
    return similarity.functions(sub.folder, sub.functions)


@pytest.fixture(scope="module")
def reference() -> dict:
    return functions_of(paths.REFERENCE_DIR)


@pytest.fixture(scope="module")
def copy_folder(tmp_path_factory) -> Path:
    return disguised_copy(tmp_path_factory.mktemp("copy") / "mallory")


def test_a_renamed_reformatted_copy_is_identical_to_the_reference(copy_folder, reference):
    copy = functions_of(copy_folder)
    assert (copy_folder / "relu.py").read_text() != (paths.REFERENCE_DIR / "relu.py").read_text()
    assert len(copy) == 9 and similarity.identical(copy, reference)
    (pair,) = similarity.pairs({"mallory": copy, "reference": reference})
    assert pair.share == 1.0 and "conv_layer_forward" in pair.functions


def test_independent_correct_submissions_are_not_alike(reference):
    loops, copies = functions_of(CORRECT / "pure_loops"), functions_of(CORRECT / "defensive_copies")
    assert not similarity.identical(loops, reference)
    assert similarity.pairs({"loops": loops, "copies": copies, "reference": reference}) == []


def test_one_changed_function_is_not_a_copy_but_still_a_near_pair(reference, tmp_path):
    folder = disguised_copy(tmp_path / "partial")
    shutil.copyfile(CORRECT / "pure_loops" / "pooling_layer.py", folder / "pooling_layer.py")
    partial = functions_of(folder)
    assert not similarity.identical(partial, reference)
    (pair,) = similarity.pairs({"partial": partial, "reference": reference})
    assert "pooling_layer_forward" not in pair.functions and pair.share >= similarity.SHARE


def test_grading_a_disguised_copy_flags_it_and_the_reference_is_not_flagged(copy_folder):
    options = Options(only=("forward.relu",), training=TrainOptions(enabled=False))
    flagged = {c.id: c for c in grade(copy_folder, options).checks}
    assert flagged["integrity.copy"].status is Status.FAIL and flagged["integrity.copy"].max_score == 0
    assert "reference solution" in flagged["integrity.copy"].message
    assert flagged["forward.relu"].status is Status.PASS  # the score stands: a person decides
    assert not [c for c in grade("reference", options).checks if c.id.startswith("integrity.")]


@pytest.mark.parametrize("family", ["cs231n", "classapi"])
def test_a_disguised_copy_of_each_familys_reference_is_flagged(family, tmp_path):
    """The graded units of every family are compared: functions in a package (cs231n/layers.py),
    methods of layer classes (``ConvLayer.forward``) and a class graded whole (the loss layer)."""
    prof = profiles.get(family)
    folder = disguised_copy(tmp_path / "mallory", prof.REFERENCE_DIR, "**/*.py")
    copy = similarity.functions(*_located(folder, prof))
    reference = similarity.functions(*_located(prof.REFERENCE_DIR, prof))
    assert len(copy) == len(prof.FUNCTIONS.values()) == 9 and similarity.identical(copy, reference)
    options = Options(only=("forward.relu",), training=TrainOptions(enabled=False))
    flagged = {c.id: c for c in grade(folder, options).checks}
    assert flagged["integrity.copy"].status is Status.FAIL, flagged["integrity.copy"].message
    assert flagged["forward.relu"].status is Status.PASS
    assert not [c for c in grade(prof.REFERENCE_DIR, options).checks if c.id.startswith("integrity.")]


def test_a_layer_class_with_one_method_rewritten_is_not_identical(tmp_path):
    prof = profiles.get("classapi")
    folder = disguised_copy(tmp_path / "partial", prof.REFERENCE_DIR, "**/*.py")
    conv = folder / "layers" / "conv_layer.py"
    conv.write_text(
        conv.read_text() + "\n\nConvLayer.forward = lambda self, x: x * 0  # rebinding is not a def\n"
    )
    relu = folder / "layers" / "relu_layer.py"
    relu.write_text(
        relu.read_text().replace("class ReLULayer", "class _Old")
        + (
            "\n\nclass ReLULayer:\n    def forward(self, x):\n        self.x = x\n        return x.clip(0)\n"
            "\n    def backward(self, d):\n        return d * (self.x > 0)\n"
        )
    )
    partial = similarity.functions(*_located(folder, prof))
    reference = similarity.functions(*_located(prof.REFERENCE_DIR, prof))
    assert partial["ReLULayer.forward"] != reference["ReLULayer.forward"]  # the last class counts
    assert partial["ConvLayer.forward"] == reference["ConvLayer.forward"]
    assert not similarity.identical(partial, reference)


def _located(folder: Path, prof) -> tuple[Path, dict]:
    sub = locate(folder, prof.MODULES)
    return sub.folder, sub.functions
