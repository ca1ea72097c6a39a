"""Shared test helpers: write small submissions to temporary folders."""

from __future__ import annotations

import re
import shutil
import textwrap
from pathlib import Path

import pytest

from harness.core import paths

DICT_API_WORDS = re.compile(
    r"input_od|\bod\b|output\['|input\['|param\[|param_grad|\bdiff\b|\btheta\b|\bmlrloss\b|"
    r"Fortran|order='F'|columns? of data|data\.shape\[1\]|\(1, num\)|\bb\.T\b"
)
"""The dict API's own names and layout (``input_od``, ``output['diff']``, Fortran-ordered rows):
words a student of another family never wrote."""


STUDENT_MODULES = ("inner_product", "pooling_layer", "conv_layer", "relu", "mlrloss")

# A ReLU whose forward keeps the negative part: its checks fail, every other function passes.
RELU_BROKEN = """\
    import numpy as np


    def relu_forward(input):
        output = {key: input[key] for key in ('height', 'width', 'channel', 'batch_size')}
        output['data'] = np.minimum(input['data'], 0)
        return output


    def relu_backward(output, input, layer):
        return output['diff'] * (input['data'] > 0)
"""


def make_submission(
    folder: Path,
    overrides: dict[str, str] | None = None,
    base: Path = paths.REFERENCE_DIR,
    drop: tuple[str, ...] = (),
) -> Path:
    """Copy ``base`` (the reference by default) into ``folder``, then overwrite modules.

    ``overrides`` maps a module name (``relu``) to its new source; code is dedented.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for f in base.glob("*.py"):
        if f.stem not in drop:
            shutil.copyfile(f, folder / f.name)
    for name, source in (overrides or {}).items():
        (folder / f"{name}.py").write_text(textwrap.dedent(source))
    return folder


@pytest.fixture
def submission(tmp_path):
    """Factory: ``submission({'relu': source})`` -> path of a reference copy with that module replaced."""
    counter = iter(range(1000))

    def build(overrides=None, **kw):
        return make_submission(tmp_path / f"sub{next(counter)}", overrides, **kw)

    return build


CORPUS = Path(__file__).parent / "corpus"


def make_cs231n_submission(folder: Path, broken: str | None = None) -> Path:
    """A student repository holding the cs231n reference (``cs231n/layers.py``), each function of
    ``tests/corpus/cs231n/broken/<broken>.py`` written in place of the reference's own (one
    definition per function, as a student's file has)."""
    import ast

    from harness.profiles import cs231n

    package = folder / "cs231n"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text("")
    lines = (cs231n.REFERENCE_DIR / "layers.py").read_text().splitlines(keepends=True)
    if broken:
        source = (CORPUS / "cs231n" / "broken" / f"{broken}.py").read_text()
        new = {
            n.name: "".join(source.splitlines(keepends=True)[n.lineno - 1 : n.end_lineno])
            for n in ast.parse(source).body
            if isinstance(n, ast.FunctionDef) and n.name in cs231n.FUNCTIONS.values()
        }
        assert new, f"{broken} defines no graded function"
        old = {n.name: n for n in ast.parse("".join(lines)).body if isinstance(n, ast.FunctionDef)}
        for name in sorted(new, key=lambda n: -old[n].lineno):  # bottom up: line numbers hold
            node = old[name]
            lines[node.lineno - 1 : node.end_lineno] = [new[name]]
        imports = [line for line in source.splitlines(keepends=True) if line.startswith(("import ", "from "))]
        lines = imports + lines
    (package / "layers.py").write_text("".join(lines))
    return folder


def make_classapi_submission(
    folder: Path, broken: str | None = None, overrides: dict[str, str] | None = None
) -> Path:
    """A copy of the layer-class reference (``layers/``, ``criterion/``, ...) with the files of
    ``tests/corpus/classapi/broken/<broken>/`` laid over it, then ``overrides`` (relative path ->
    source, dedented)."""
    from harness.profiles import classapi

    shutil.copytree(classapi.REFERENCE_DIR, folder, ignore=shutil.ignore_patterns("__pycache__"))
    if broken:
        entry = CORPUS / "classapi" / "broken" / broken
        for f in entry.rglob("*.py"):
            shutil.copyfile(f, folder / f.relative_to(entry))
    for rel, source in (overrides or {}).items():
        (folder / rel).write_text(textwrap.dedent(source))
    return folder
