"""The starter code students receive: provided modules as in reference/, documented stubs."""

import inspect
import re

import numpy  # noqa: F401  before load_isolated, which drops modules first imported during a load
import pytest

from harness.core import paths
from harness.core.loader import load_isolated

PROVIDED = ["utils", "conv_net", "init_convnet", "load_mnist", "train_lenet", "test_network"]
STUBS = {  # function -> module, and what its docstring must state
    "inner_product_forward": ("inner_product", ["(d, batch)", "(d, num)", "(1, num)", "(num, batch)"]),
    "inner_product_backward": ("inner_product", ["(d, batch)", "(d, num)", "sum"]),
    "relu_forward": ("relu", ["(h*w*c, batch)", "new"]),
    "relu_backward": ("relu", ["(h*w*c, batch)", "x > 0"]),
    "pooling_layer_forward": (
        "pooling_layer",
        ["(h*w*c, batch)", "(h_out*w_out*c, batch)", "Fortran", "zeros", "(h + 2*pad - k) // stride + 1"],
    ),
    "pooling_layer_backward": (
        "pooling_layer",
        ["(h*w*c, batch)", "(h_out*w_out*c, batch)", "first", "Fortran", "add up"],
    ),
    "conv_layer_forward": (
        "conv_layer",
        [
            "(h*w*c, batch)",
            "(k*k*c, num)",
            "(h_out*w_out*num, batch)",
            "dh + k*dw + k*k*ic",
            "(1, num)",
            "Fortran",
        ],
    ),
    "conv_layer_backward": (
        "conv_layer",
        ["(h*w*c, batch)", "(k*k*c, num)", "(h_out*w_out*num, batch)", "sums"],
    ),
    "mlrloss": ("mlrloss", ["(K-1, N)", "(N, M)", "(1, M)", "(K-1)*(N+1)", "stable", "summed"]),
}
SHAPE = re.compile(r"\([\w*+ ]+, [\w*+ ]+\)")

TEMPLATE = load_isolated(paths.TEMPLATE_DIR, list(STUBS))
REFERENCE = load_isolated(paths.REFERENCE_DIR, list(STUBS))


@pytest.mark.parametrize("module", PROVIDED)
def test_provided_modules_are_the_references(module):
    template = (paths.TEMPLATE_DIR / f"{module}.py").read_bytes()
    assert template == (paths.REFERENCE_DIR / f"{module}.py").read_bytes(), (
        f"student_template/{module}.py differs from reference/{module}.py"
    )


def test_template_has_exactly_the_reference_modules():
    def names(folder):
        return sorted(p.name for p in folder.glob("*.py"))

    assert names(paths.TEMPLATE_DIR) == names(paths.REFERENCE_DIR)


@pytest.mark.parametrize("name", list(STUBS))
def test_stub_lives_in_its_module_and_raises_not_implemented(name):
    fn = TEMPLATE[name]
    assert fn.__module__ == STUBS[name][0]
    n_args = len(inspect.signature(fn).parameters)
    with pytest.raises(NotImplementedError, match=rf"^{name} is not implemented yet$"):
        fn(*[None] * n_args)


@pytest.mark.parametrize("name", list(STUBS))
def test_stub_signature_is_the_references(name):
    assert inspect.signature(TEMPLATE[name]) == inspect.signature(REFERENCE[name])


@pytest.mark.parametrize("name", list(STUBS))
def test_stub_docstring_states_shapes_and_conventions(name):
    doc = inspect.getdoc(TEMPLATE[name]) or ""
    assert len(SHAPE.findall(doc)) >= 2, f"{name}: the docstring names fewer than two shapes"
    missing = [phrase for phrase in STUBS[name][1] if phrase not in doc]
    assert not missing, f"{name}: the docstring does not mention {missing}"


@pytest.mark.parametrize("module", sorted({m for m, _ in STUBS.values()}))
def test_graded_modules_state_the_time_budget_and_how_to_check_it(module):
    from harness.checks import rubric

    budget = rubric.load().train  # the default rubric states the training budget
    iterations, limit = budget["iterations"], budget["time_limit_s"]
    doc = (paths.TEMPLATE_DIR / f"{module}.py").read_text().split('"""')[1]  # the module docstring
    assert f"{iterations} iterations of 64 digits within {limit:g} s" in " ".join(doc.split())
    assert "python -m harness speed ." in doc
    readme = " ".join((paths.TEMPLATE_DIR / "README.md").read_text().split())
    assert f"{iterations} iterations of batch 64" in readme
    assert f"within {limit:g} seconds" in readme and "python -m harness speed ." in readme
