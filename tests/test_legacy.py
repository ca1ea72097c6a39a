"""Old submissions grade honestly (issue 19): Python 2 code, numpy 1.x idioms, the dict API's editions.

Corpus: ``tests/corpus/legacy/<name>/``, each a whole submission whose module docstring
starts with ``Legacy:`` and says what it is.
"""

from __future__ import annotations

import ast
import shutil
import textwrap
from pathlib import Path

import pytest
from conftest import make_submission

from harness import profiles
from harness.core.model import Status
from harness.diagnose import legacy
from harness.grade import grade
from harness.options import Options, TrainOptions
from harness.profiles import dictapi
from harness.sandbox import syntax
from harness.sandbox.submission import locate

CORPUS = Path(__file__).parent / "corpus" / "legacy"
NO_TRAIN = TrainOptions(enabled=False)
FORWARD_ONLY = ("forward.*",)


# ---- Python 2: recognised from the compiler's message and the line -------------------------

PYTHON2_LINES = {
    "print statement": 'print "loss", loss',
    "exec statement": 'exec "y = 1"',
    "`except E, e:`": "try:\n    pass\nexcept ValueError, e:\n    pass",
    "`raise E, message`": 'raise ValueError, "bad shape"',
    "backquotes": "s = `x`",
    "`<>` operator": "ok = x <> 1",
    "octal literal 0NNN": "mode = 0755",
    "long literal NNNL": "n = 10L",
    "tuple parameters": "def f(a, (b, c)):\n    return a",
    "ur'' string": 's = ur"abc"',
    "tabs and spaces mixed in indentation": "if x:\n        y = 1\n\tz = 2",
}


def test_every_python2_construct_has_an_example():
    assert sorted(PYTHON2_LINES) == sorted(c.kind for c in syntax.CONSTRUCTS)


@pytest.mark.parametrize("kind", sorted(PYTHON2_LINES))
def test_python2_construct_is_recognised_from_what_the_compiler_says(kind):
    source = "x = 1\nloss = 2\n" + PYTHON2_LINES[kind] + "\n"
    error = syntax.compile_error(source)
    assert error is not None, "must not compile under Python 3"
    found = syntax.recognise(error.msg, error.text or "")
    assert found is not None and found.kind == kind
    assert syntax.python2_advice([found]).startswith(f"this is Python 2 code ({kind})")


@pytest.mark.parametrize("source", ["x = = 1", "def f(:\n    pass", "if x\n    pass", "a = [1, 2"])
def test_python3_typos_are_not_called_python2(source):
    error = syntax.compile_error(source + "\n")
    assert error is not None and syntax.recognise(error.msg, error.text or "") is None


def test_functions_of_a_file_that_does_not_parse_are_found_with_their_lines():
    source = textwrap.dedent(
        '''\
        """Docs that mention
        def not_a_function(x):
        """
        import numpy as np

        def relu_forward(input):
            print "relu", input
            return input

        relu_backward = relu_forward

        def mlrloss(wb, X, y, K, gpu=0, prediction=0):
            return 0
        '''
    )
    found = syntax.top_level_functions(source)
    assert found == {"relu_forward": (6, 8), "relu_backward": (10, 10), "mlrloss": (12, 13)}
    assert syntax.compile_error(source, 6, 8).lineno == 7
    assert syntax.compile_error(source, 12, 13) is None
    # Tabs mixed with spaces stop the tokenizer: the line scan finds the same functions.
    tabbed = "def a(x):\n        y = 1\n\treturn y\n\ndef b(x):\n    return x\n"
    assert syntax.top_level_functions(tabbed) == {"a": (1, 3), "b": (5, 6)}


def _python2_corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "python2"
    shutil.copytree(CORPUS / "python2_single_file", folder)
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("as_file", [False, True], ids=["folder", "file"])
def test_python2_single_file_is_the_students_failure_not_the_graders(tmp_path, as_file):
    """Issue 19's first case: it was 'Autograder error ... none of the assignment's functions is defined'."""
    folder = _python2_corpus(tmp_path)
    path = folder / "lenet.py" if as_file else folder
    report = grade(path, Options(training=NO_TRAIN))  # nothing runs: every function is not called
    assert not report.autograder_error, report.autograder_error
    assert report.exit_code == 1 and report.score == 0
    lines = (folder / "lenet.py").read_text().splitlines()

    def line_of(text: str) -> int:
        return next(n for n, line in enumerate(lines, 1) if text in line)

    by_function: dict = {}  # each function's first check: the one that shows the line
    for c in report.checks:
        if c.function:
            by_function.setdefault(c.function, c)
    assert sorted(by_function) == sorted(dictapi.FUNCTIONS.values())
    assert all(c.status is Status.ERROR for c in report.checks if c.function)
    relu_line = line_of('print "relu')
    relu = by_function["relu_forward"]
    assert relu.message.startswith(f"lenet.py does not compile (line {relu_line}): ")
    assert "this is Python 2 code (print statement)" in relu.message
    assert f"line {relu_line}, in relu_forward" in relu.details
    assert 'print "relu forward:"' in relu.details
    loss = by_function["mlrloss"]
    assert "this is Python 2 code (`except E, e:`)" in loss.message
    assert f"line {line_of('except ValueError, e')}, in mlrloss" in loss.details
    conv = by_function["conv_layer_forward"]  # its own lines compile: the file's first error
    assert "this is Python 2 code (print statement)" in conv.message
    first = by_function["inner_product_forward"]
    assert (
        f"line {relu_line} (outside the function" in first.details
        and 'print "relu forward:"' in first.details
    )
    assert f"(shown under {first.id})" in conv.message


def test_python2_def_lines_are_found_statically(tmp_path):
    sub = locate(_python2_corpus(tmp_path), dictapi.MODULES)
    assert set(sub.functions) == set(dictapi.FUNCTIONS.values())
    assert set(sub.function_errors) == set(sub.functions) and sub.syntax_errors


# ---- the dict API's editions: read from the def lines, called that way -----------------------

OLDER = {"relu": CORPUS / "older_edition" / "relu.py", "mlrloss": CORPUS / "older_edition" / "mlrloss.py"}


def _params(source: str, name: str):
    from harness.sandbox.submission import def_parameters

    node = next(n for n in ast.parse(textwrap.dedent(source)).body if getattr(n, "name", "") == name)
    return def_parameters(node)


@pytest.mark.parametrize(
    ("source", "edition"),
    [
        ("def relu_forward(input): pass", "current"),
        ("def relu_forward(input, layer=None): pass", "current"),  # callable both ways: the current call
        ("def relu_forward(input, layer): pass", "older"),
        ("def relu_forward(x, l): pass", "older"),
        ("def relu_forward(*args): pass", "current"),
        ("def mlrloss(wb, X, y, K, gpu=0, prediction=0): pass", "current"),
        ("def mlrloss(wb, X, y, K, gpu, prediction): pass", "current"),
        ("def mlrloss(wb, X, y, K, prediction): pass", "older"),
        ("def mlrloss(wb, X, y, K, prediction=0): pass", "older"),
    ],
)
def test_edition_is_read_from_the_def_line(source, edition):
    name = source.split("(")[0].split()[-1]
    assert profiles.edition_of(dictapi, name, _params(source, name)) == (edition, "")


@pytest.mark.parametrize(
    "source",
    [
        "def relu_forward(input, layer, extra): pass",
        "def relu_forward(): pass",
        "def mlrloss(wb, X, y, K, gpu=0): pass",  # the current names, one short: prediction would go to gpu
        "def mlrloss(wb, X, y): pass",
    ],
)
def test_a_def_line_that_fits_no_edition_names_both_signatures(source):
    name = source.split("(")[0].split()[-1]
    edition, why = profiles.edition_of(dictapi, name, _params(source, name))
    assert edition == "" and "fits no edition" in why
    for sig in (dictapi.EDITIONS["current"][name], dictapi.EDITIONS["older"][name]):
        assert f"{name}({', '.join(sig)})" in why


@pytest.mark.slow
def test_older_edition_is_called_its_way_and_recorded(tmp_path):
    path = make_submission(tmp_path / "older", {m: f.read_text() for m, f in OLDER.items()})
    only = ("*.relu*", "*.mlrloss*")
    report = grade(path, Options(training=NO_TRAIN, only=only))
    assert not report.autograder_error, report.autograder_error
    failing = [(c.id, c.message) for c in report.checks if c.status is not Status.PASS]
    assert not failing and report.score == report.max_score > 0
    assert report.provenance["edition"] == "mlrloss: older, relu_forward: older"
    assert any("edition" in n and "relu_forward: older" in n for n in report.notices)
    # (Called the current edition's way, relu_forward would lack its layer and mlrloss get 6 arguments.)
    current = make_submission(tmp_path / "current")
    assert (
        grade(current, Options(training=NO_TRAIN, only=("forward.relu",))).provenance["edition"] == "current"
    )


@pytest.mark.slow
def test_mismatched_signature_fails_its_own_function_only(tmp_path):
    relu = "import numpy as np\n\ndef relu_forward(input, layer, scale):\n    return input\n\n" + (
        "def relu_backward(output, input, layer):\n    return output['diff'] * (input['data'] > 0)\n"
    )
    path = make_submission(tmp_path / "odd", {"relu": relu})
    report = grade(path, Options(training=NO_TRAIN, only=("*.relu*",)))
    assert not report.autograder_error and report.exit_code == 1
    forward = [c for c in report.checks if c.function == "relu_forward"]
    assert forward and all(c.status is Status.ERROR and c.score == 0 for c in forward)
    assert "relu_forward(input, layer, scale) fits no edition" in forward[0].message
    assert "relu_forward(input)" in forward[0].message and "relu_forward(input, layer)" in forward[0].message
    backward = [c for c in report.checks if c.function == "relu_backward"]
    assert backward and all(c.status is Status.PASS for c in backward)
    assert report.provenance["edition"] == "relu_forward: none fits; the others current"


# ---- numpy 1.x idioms: named from the exception, under numpy 2 -------------------------------

NAMED_BY_NUMPY = ["np.float_", "np.NaN", "np.alltrue([True])", "np.asfarray([1])", "np.round_(1.5)"]
"""Aliases whose removal numpy's own message explains (``legacy._NAMED`` reads the replacement)."""


def _raised(example: str) -> tuple[str, str]:
    """The error text and a student-like traceback of running one line of old code here."""
    import numpy as np

    namespace = {"np": np, "x": np.arange(4.0), "d": {"a": 1}}
    try:
        eval(example, namespace)
    except Exception as exc:  # what the child reports: "Type: message"
        tb = f'  File "layer.py", line 7, in layer_forward\n    y = {example}\n{type(exc).__name__}: {exc}'
        return f"{type(exc).__name__}: {exc}"[:500], tb
    pytest.fail(f"{example!r} no longer raises under numpy {np.__version__}: drop its entry or fix it")


@pytest.mark.parametrize("idiom", legacy.NUMPY1_IDIOMS, ids=lambda i: i.idiom)
def test_numpy1_idiom_is_named_from_the_error_it_raises_under_numpy2(idiom):
    error, tb = _raised(idiom.example)
    hint = legacy.cause(error, tb)
    assert hint.startswith(f"written for numpy 1.x: {idiom.idiom} at layer.py line 7 (`y = {idiom.example}`)")
    assert hint.endswith(f"; under numpy 2 use {idiom.instead}")


@pytest.mark.parametrize("example", NAMED_BY_NUMPY)
def test_aliases_numpy_says_it_removed_are_named_with_numpys_replacement(example):
    error, tb = _raised(example)
    hint = legacy.cause(error, tb)
    name = example.split("(")[0]
    assert hint.startswith(f"written for numpy 1.x: {name} at layer.py line 7")
    assert "; under numpy 2 use `np." in hint


@pytest.mark.parametrize("idiom", legacy.PYTHON2_RUNTIME, ids=lambda i: i.idiom)
def test_python2_idioms_that_compile_are_named_when_they_fail(idiom):
    error, tb = _raised(idiom.example)
    hint = legacy.cause(error, tb)
    assert hint.startswith(f"this is Python 2 code ({idiom.idiom}); the assignment needs Python 3: ")
    assert idiom.instead in hint and "layer.py line 7" in hint


@pytest.mark.parametrize(
    "error",
    [
        "ValueError: operands could not be broadcast together with shapes (2,3) (3,2)",
        "AttributeError: 'dict' object has no attribute 'data'",
        "NameError: name 'im2col' is not defined",
        "IndexError: index 5 is out of bounds for axis 0 with size 4",
    ],
)
def test_ordinary_bugs_are_not_called_old_code(error):
    assert legacy.cause(error, "") == ""


def _corpus_submission(tmp_path: Path, name: str) -> Path:
    return make_submission(tmp_path / name, {f.stem: f.read_text() for f in (CORPUS / name).glob("*.py")})


@pytest.mark.slow
def test_numpy1_corpus_under_numpy2_names_each_idiom_in_its_own_function(tmp_path):
    path = _corpus_submission(tmp_path, "numpy1_idioms")
    report = grade(path, Options(training=NO_TRAIN, only=FORWARD_ONLY + ("backward.*",)))
    assert not report.autograder_error, report.autograder_error
    expected = {  # function -> the idiom its module's docstring names
        "relu_forward": "np.asfarray",
        "inner_product_forward": "np.float_",
        "inner_product_backward": "np.alltrue",
        "pooling_layer_forward": "reshape(newshape=...)",
        "pooling_layer_backward": "reshape(newshape=...)",
        "conv_layer_forward": "np.product",
        "conv_layer_backward": "int() or float() of a one-element array that is not 0-d",
        "mlrloss": "np.in1d",
    }
    for check in report.checks:
        if check.function == "relu_backward":  # no numpy 1.x idiom: unaffected
            assert check.status is Status.PASS, check.message
            continue
        idiom = expected[check.function]
        assert check.status is Status.ERROR and check.score == 0, (check.id, check.message)
        assert check.hint.startswith(f"written for numpy 1.x: {idiom} at "), (check.id, check.hint)
        module = dictapi.MODULES[check.function]
        assert f" at {module}.py line " in check.hint and "under numpy 2 use" in check.hint


# ---- a numpy 1.26 child: --child-python and the rubric's python ------------------------------

NUMPY1_PIN = "numpy==1.26.4"


@pytest.fixture(scope="session")
def numpy1_python(tmp_path_factory) -> str:
    """A virtual environment with numpy 1.26.4 from the package index, built once per session."""
    import subprocess
    import sys

    if sys.version_info >= (3, 13):
        pytest.skip(f"numpy 1.26 has no wheels for Python {sys.version_info[0]}.{sys.version_info[1]}")
    venv = tmp_path_factory.mktemp("numpy1") / "venv"
    python = venv / "bin" / "python"
    steps = (
        [sys.executable, "-m", "venv", str(venv)],
        [str(python), "-m", "pip", "install", "-q", "--only-binary=:all:", NUMPY1_PIN],
    )
    env = {k: v for k, v in __import__("os").environ.items() if k != "PIP_CONSTRAINT"}
    for step in steps:
        try:
            done = subprocess.run(step, capture_output=True, text=True, timeout=600, env=env)
        except (OSError, subprocess.TimeoutExpired) as exc:
            pytest.skip(f"cannot build a numpy 1.26 environment here: {' '.join(step[:4])}: {exc}")
        if done.returncode:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            pytest.skip(f"cannot build a numpy 1.26 environment here ({' '.join(step[1:4])}): {last}")
    return str(python)


@pytest.mark.slow
def test_numpy1_corpus_under_a_numpy1_child_gets_full_marks(numpy1_python, tmp_path):
    path = _corpus_submission(tmp_path, "numpy1_idioms")
    report = grade(path, Options(training=NO_TRAIN, child_python=numpy1_python))
    assert not report.autograder_error, report.autograder_error
    failing = [(c.id, c.message, c.hint) for c in report.checks if c.status is not Status.PASS]
    assert not failing and report.score == report.max_score == 70
    assert report.provenance["child_numpy"] == "1.26.4"
    assert report.provenance["numpy"].split(".")[0] == "2"  # the grader keeps its own
    assert any("numpy 1.26.4" in n for n in report.notices)


@pytest.mark.slow
def test_rubric_python_runs_the_child_under_it(numpy1_python, tmp_path):
    from harness.core import paths

    venv = Path(numpy1_python).parent.parent
    rubric = venv.parent / "numpy1.toml"  # python = relative to the rubric's folder
    top = f'python = "venv/bin/{Path(numpy1_python).name}"\n'  # a top-level key: before any [table]
    rubric.write_text(top + paths.DEFAULT_RUBRIC.read_text())
    path = _corpus_submission(tmp_path, "numpy1_idioms")
    report = grade(path, Options(training=NO_TRAIN, rubric=str(rubric), only=("forward.relu",)))
    assert not report.autograder_error, report.autograder_error
    assert report.provenance["child_numpy"] == "1.26.4" and report.score == report.max_score > 0


def test_unusable_child_python_is_a_usage_error_that_says_what_to_do(tmp_path):
    import subprocess
    import sys

    sub = _python2_corpus(tmp_path)
    missing = grade(sub, Options(training=NO_TRAIN, child_python=str(tmp_path / "nope")))
    assert missing.exit_code == 2 and "no such executable" in missing.autograder_error
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True, timeout=120)
    report = grade(sub, Options(training=NO_TRAIN, child_python=str(bare / "bin" / "python")))
    assert report.exit_code == 2 and "cannot import numpy" in report.autograder_error
    assert "pip install" in report.autograder_error


def test_class_report_counts_one_old_idiom_once_whatever_its_line():
    from harness.core.model import CheckResult
    from harness.deploy import class_report

    hints = [
        legacy.NUMPY1.format(idiom="np.float", where=f"relu.py line {n} (`x`)", instead="float")
        for n in (3, 9)
    ]
    checks = [CheckResult("forward.relu", Status.ERROR, 0, 4, "raised AttributeError", hint=h) for h in hints]
    assert {class_report.cause(c) for c in checks} == {"written for numpy 1.x: np.float"}
    py2 = CheckResult(
        "forward.relu",
        Status.ERROR,
        0,
        4,
        "lenet.py does not compile (line 3): " + syntax.python2_advice([syntax.CONSTRUCTS[0]]),
    )
    assert class_report.cause(py2) == "error: this is Python 2 code (print statement)"


def test_protocol_arrays_round_trip_between_numpy1_child_and_numpy2_grader(numpy1_python, tmp_path):
    """The child's np.save (numpy 1.26) read by the grader's bounded reader, and the grader's
    np.savez (numpy 2) read by numpy 1.26 with pickles off, value for value."""
    import subprocess

    import numpy as np

    from harness.child import protocol
    from harness.sandbox import replies

    arrays = {
        "f64": np.arange(12.0).reshape(3, 4) / 7,
        "fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
        "f32": np.linspace(-1, 1, 5, dtype=np.float32),
        "i64": np.arange(-3, 3, dtype=np.int64),
        "scalar": np.array(2.5),
    }
    np.savez(tmp_path / "inputs.npz", **arrays)
    script = (
        "import sys, numpy as np; from pathlib import Path; d = Path(sys.argv[1]); "
        "z = np.load(d / 'inputs.npz', allow_pickle=False); "
        "[np.save(d / (k + '.npy'), z[k], allow_pickle=False) for k in z.files]; print(np.__version__)"
    )
    done = subprocess.run(
        [numpy1_python, "-I", "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0 and done.stdout.strip() == "1.26.4", done.stderr
    for name, sent in arrays.items():
        descr = {"kind": protocol.NDARRAY}
        back = replies.read_value(tmp_path / f"{name}.npy", descr, 2**20)
        assert back.array is not None, back.problem
        assert back.dtype == str(sent.dtype) and back.array.shape == sent.shape
        np.testing.assert_array_equal(back.array, sent.astype(np.float64))


@pytest.mark.slow
def test_python2_layers_py_alone_is_detected_as_cs231n_and_fails_with_its_lines(tmp_path):
    from harness.profiles import cs231n

    source = (cs231n.REFERENCE_DIR / "layers.py").read_text()
    marker = "def relu_forward(x):\n"
    assert marker in source
    source = source.replace(marker, marker + '    print "relu", x.shape\n', 1)
    path = tmp_path / "layers.py"
    path.write_text(source)
    report = grade(path, Options(training=NO_TRAIN))
    assert not report.autograder_error, report.autograder_error
    assert report.provenance["profile"] == "cs231n" and report.exit_code == 1
    assert all(c.status is Status.ERROR for c in report.checks if c.function)
    relu = next(c for c in report.checks if c.id == "forward.relu")
    assert "this is Python 2 code (print statement)" in relu.message and "in relu_forward" in relu.details


@pytest.mark.slow
def test_python2_integer_division_is_named_and_is_the_only_fault(tmp_path):
    path = _corpus_submission(tmp_path, "python2_integer_division")
    only = ("forward.pooling", "backward.pooling.input")
    report = grade(path, Options(training=NO_TRAIN, only=only))
    assert not report.autograder_error, report.autograder_error
    for check in report.checks:
        assert check.status is Status.ERROR, (check.id, check.message)
        assert check.hint.startswith("this is Python 2 code (integer division: `/` of two integers)"), (
            check.hint
        )
        assert "pooling_layer.py line " in check.hint and "use `//`" in check.hint
    # With `//`, as Python 2 computed it, the same code is right: the hint named the only fault.
    source = (path / "pooling_layer.py").read_text().replace(") / stride", ") // stride")
    (path / "pooling_layer.py").write_text(source)
    fixed = grade(path, Options(training=NO_TRAIN, only=only))
    assert all(c.status is Status.PASS for c in fixed.checks), [(c.id, c.message) for c in fixed.checks]


@pytest.mark.slow
def test_a_child_under_another_python_is_walled_in_like_the_graders_own(numpy1_python, tmp_path):
    """The other interpreter's installation and the runtime's copy are granted, nothing more:
    with the audit hook disarmed, the reference and the grader's own modules stay unreadable."""
    from test_hostile_walls import DISARM

    from harness.core import paths
    from harness.sandbox import landlock

    if not landlock.abi():
        pytest.skip("the child's file walls need Landlock (Linux >= 5.13)")
    targets = [paths.REFERENCE_DIR / "relu.py", paths.PACKAGE_DIR / "diagnose" / "mutants.py"]
    relu = (
        "import os\nimport numpy as np\n"
        + DISARM
        + textwrap.dedent(
            f"""
            def relu_forward(input):
                disarm()
                for target in {[str(t) for t in targets]!r}:
                    try:
                        fd = os.open(target, os.O_RDONLY)
                        print("LEAK", target, os.read(fd, 20))
                    except OSError as exc:
                        print("refused", target, type(exc).__name__)
                out = dict(input)
                out['data'] = np.maximum(input['data'], 0)
                return out


            def relu_backward(output, input, layer):
                return output['diff'] * (input['data'] > 0)
            """
        )
    )
    path = make_submission(tmp_path / "walled", {"relu": relu})
    report = grade(path, Options(training=NO_TRAIN, child_python=numpy1_python, only=("forward.relu",)))
    assert not report.autograder_error, report.autograder_error
    (check,) = report.checks
    assert check.status is Status.PASS and "LEAK" not in check.output
    assert check.output.count("refused") == len(targets), check.output
    assert report.provenance["child_numpy"] == "1.26.4"


def test_methods_of_a_class_in_a_file_that_does_not_parse_are_found():
    source = textwrap.dedent(
        """\
        class ConvLayer(object):
            def __init__(self, k):
                self.k = k

            def forward(self, x):
                print "conv", x.shape
                return x

        def helper():
            pass
        """
    )
    found = syntax.top_level_functions(source)
    assert found == {
        "ConvLayer": (1, 7),
        "ConvLayer.__init__": (2, 3),
        "ConvLayer.forward": (5, 7),
        "helper": (9, 10),
    }
    assert syntax.compile_error(source, *found["ConvLayer.__init__"]) is None
    assert syntax.compile_error(source, *found["ConvLayer.forward"]).lineno == 6
    tabbed = source.replace("        return x", "\treturn x")  # the tokenizer gives up: lines are read
    assert syntax.top_level_functions(tabbed)["ConvLayer.forward"] == (5, 7)


@pytest.mark.slow
def test_python2_layer_class_is_detected_as_classapi_and_fails_with_its_line(tmp_path):
    from harness.core import paths

    folder = tmp_path / "classes"
    shutil.copytree(paths.REFERENCE_DIR / "classapi", folder)
    conv = folder / "layers" / "conv_layer.py"
    source = conv.read_text()
    head = next(line for line in source.splitlines() if line.strip().startswith("def forward("))
    source = source.replace(head, head + "\n" + head[: head.index("def")] + '    print "conv forward"', 1)
    conv.write_text(source)
    report = grade(folder, Options(training=NO_TRAIN))
    assert not report.autograder_error, report.autograder_error
    assert report.provenance["profile"] == "classapi" and report.exit_code == 1
    forward = [c for c in report.checks if c.function == "ConvLayer.forward"]
    assert forward and all(c.status is Status.ERROR for c in forward)
    assert "this is Python 2 code (print statement)" in forward[0].message
    assert "in ConvLayer.forward" in forward[0].details
    others = [c for c in report.checks if c.function and not c.function.startswith("ConvLayer")]
    assert others and all(c.status is Status.PASS for c in others), [
        c.id for c in others if c.status is not Status.PASS
    ]
