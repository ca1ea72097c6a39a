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
