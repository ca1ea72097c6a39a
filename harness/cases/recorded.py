"""The student kit's stand-in for ``harness.cases.reference``: answers recorded, nothing computed.

The kit (``harness.deploy.student_kit``) ships this module *as* ``harness/cases/reference.py``,
with ``kit/recorded.npz``: every family's reference outputs for every case the kit's grade asks
about (the inputs of the gradient checks' and integrity probes' cases of the default seed, which
the case catalogue draws with the reference's forward output for backward cases), recorded when
the kit was built. Invariant: this module computes no graded operation; an input that was not
recorded raises :class:`KitError` saying what to do. ``key`` is the one definition of what makes
two calls the same (family, op, parameters, input bytes), for the recorder and for the lookup.
The file is the grader's: the sandboxed child cannot read it (the kit's repository is as
secret to the child as the harness's, ``harness.sandbox.walls``).
"""

from __future__ import annotations

import hashlib
import json
from contextlib import contextmanager
from functools import cache

import numpy as np

from harness import profiles
from harness.core import paths

HOLDS_SOLUTION = False
"""Unlike the grader's reference, this module answers recorded cases only."""
RECORD_FILE = paths.ROOT / "kit" / "recorded.npz"
"""The recorded outputs: ``<key>/<output name>`` -> array."""


class KitError(RuntimeError):
    """The student kit cannot answer this: it only knows the cases it was built with."""


UNRECORDED: tuple[type[Exception], ...] = (KitError,)
"""What ``run`` raises for an input it was not built with (callers that can do without catch it)."""


def key(op_name: str, params: dict, arrays: dict, profile: str = profiles.DEFAULT) -> str:
    """What identifies one call: the family, the op, its parameters and the bytes of its float64 inputs."""
    h = hashlib.sha256(json.dumps([profile, op_name, sorted(params.items())], default=str).encode())
    for name in sorted(arrays):
        a = np.ascontiguousarray(np.asarray(arrays[name], dtype=np.float64))
        h.update(f"|{name}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


@cache
def _table() -> dict[str, dict[str, np.ndarray]]:
    table: dict[str, dict[str, np.ndarray]] = {}
    try:
        with np.load(RECORD_FILE, allow_pickle=False) as data:
            for name in data.files:
                digest, _, out = name.partition("/")
                table.setdefault(digest, {})[out] = data[name]
    except OSError as exc:
        raise KitError(
            f"{RECORD_FILE}: unreadable ({exc}); rebuild the kit (python -m harness student-kit)"
        ) from None
    return table


def functions(*_args, **_kwargs) -> dict:
    """The kit has no reference functions."""
    raise KitError(
        "the student kit holds no reference solution; this part of the grade (timing your "
        "layers against the reference) runs only in the course's grader"
    )


@contextmanager
def on_device(xp):
    """The recorded answers are numpy arrays on any device."""
    yield


def caller(*_args, **_kwargs):
    """The kit has no reference functions to call."""
    return functions()


def run(
    op_name: str, params: dict, arrays: dict, fns: dict | None = None, profile: str = profiles.DEFAULT
) -> dict:
    """The recorded outputs of this call, as fresh float64 arrays; KitError when not recorded."""
    if fns is not None:
        functions()  # somebody else's functions: the kit computes with none
    found = _table().get(key(op_name, params, arrays, profile))
    if found is None:
        raise KitError(
            f"the student kit knows the reference's answers for its own cases only, and {op_name} "
            "on these inputs is not one of them: grade with the default options (--seed 0); "
            "the course's grader computes any case"
        )
    return {k: v.astype(np.float64, copy=True) for k, v in found.items()}
