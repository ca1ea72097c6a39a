"""harness.sandbox.share: each provided function reaches the child as a self-contained copy."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np
import pytest

from harness.cases import catalogue, reference
from harness.core import paths
from harness.core.loader import load_isolated
from harness.profiles import dictapi
from harness.sandbox import share

PROVIDED = ["pooling_layer_backward", "conv_layer_backward", "mlrloss"]  # harness/rubrics/historical.toml


@pytest.fixture(scope="module")
def shared(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("shared")
    share.write_provided(list(dictapi.FUNCTIONS.values()), dictapi, folder)
    return folder


def test_one_module_per_function_importing_no_reference_module(shared):
    reference_modules = {p.stem for p in paths.REFERENCE_DIR.glob("*.py")}
    for name in dictapi.FUNCTIONS.values():
        text = (shared / f"{share.PREFIX}{name}.py").read_text()
        share.check_self_contained(text, reference_modules)  # raises otherwise
        for module in reference_modules:
            assert f"from {module} import" not in text and f"import {module}\n" not in text


def test_the_copies_compute_the_reference_whatever_the_students_helpers(shared, monkeypatch):
    """A course's original utils.py (no get_array_module) in sys.modules, no conv_net or
    init_convnet: the copies neither see nor need them."""
    original_utils = types.ModuleType("utils")
    original_utils.im2col_conv = lambda *a: pytest.fail("the student's utils was used")
    monkeypatch.setitem(sys.modules, "utils", original_utils)
    for missing in ("conv_net", "init_convnet"):
        monkeypatch.setitem(sys.modules, missing, None)  # an import of them fails
    copies = load_isolated(shared, PROVIDED)
    assert sys.modules["utils"] is original_utils
    cases = [c for c in catalogue.public_cases() if dictapi.FUNCTIONS[c.op] in PROVIDED]
    assert {dictapi.FUNCTIONS[c.op] for c in cases} == set(PROVIDED)
    for case in cases:
        got = reference.run(case.op, case.params, case.arrays, fns=copies)
        expected = reference.run(case.op, case.params, case.arrays)
        for name, value in expected.items():
            np.testing.assert_array_equal(got[name], value, err_msg=f"{case.name}: {name}")


@pytest.mark.parametrize(
    ("source", "why"),
    [
        ("from utils import im2col\n\ndef f(x):\n    return im2col(x)\n", "imports 'utils'"),
        ("def f(x):\n    import utils\n    return utils.g(x)\n", "imports 'utils'"),
        ("def f(x):\n    return helper(x)\n", "reads 'helper'"),
    ],
)
def test_a_copy_that_reaches_outside_itself_is_refused(source, why):
    with pytest.raises(share.ShareError, match=why):
        share.check_self_contained(source, {"utils"})


def test_a_reference_the_cutter_cannot_handle_is_an_error_not_a_copy(tmp_path):
    (tmp_path / "utils.py").write_text("def g(x):\n    return x\n")
    (tmp_path / "relu.py").write_text("import utils\n\ndef relu_backward(o, i, l):\n    return utils.g(o)\n")
    with pytest.raises(share.ShareError, match="'import utils' of a reference module"):
        share.write_provided(["relu_backward"], dictapi, tmp_path / "out", source=tmp_path)


def test_helpers_keep_their_state_and_locals_are_not_renamed(tmp_path):
    (tmp_path / "utils.py").write_text(
        "_cache = None\n\ndef get():\n    global _cache\n    if _cache is None:\n        _cache = 3\n    return _cache\n"
    )
    (tmp_path / "relu.py").write_text(
        "from utils import get as g\n\ndef relu_backward(o, i, l):\n    out = g()\n    return o * out\n"
    )
    (path,) = share.write_provided(["relu_backward"], dictapi, tmp_path / "out", source=tmp_path)
    text = path.read_text()
    assert "_utils___cache" in text and "def _utils__get" in text and "from utils" not in text
    namespace: dict = {}
    exec(compile(text, str(path), "exec"), namespace)
    assert namespace["relu_backward"](2, None, None) == 6
