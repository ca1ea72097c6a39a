"""Likely causes of a wrong answer: hypotheses tested against the submission's own result.

Each hint is a guess, worded as one; an empty string means no hypothesis fits.
"""
from __future__ import annotations

import numpy as np

IN_PLACE = ("the function changes its input in place (e.g. `x[x < 0] = 0` or `x *= ...` on "
            "input['data']); later layers and the backward pass then see the modified values")


def likely_cause(op, case, out_name: str, got: np.ndarray, expected: np.ndarray) -> str:
    """The best-supported explanation of ``got`` != ``expected``, or ''."""
    if got.shape != expected.shape or not np.isfinite(got).all():
        return ""
    scale = np.abs(expected).max()
    if scale == 0:
        return ""
    close = lambda a: np.allclose(a, expected, rtol=1e-6, atol=1e-9 * scale)  # noqa: E731
    if close(-got):
        return "the result has the right size but the opposite sign"
    n = case.arrays["x"].shape[1] if "x" in case.arrays else None
    if n and n > 1 and close(got * n):
        return f"the result is {n}x too small, {n} being the batch size: backward returns sums over the batch"
    return ""


def in_place_hint(op, name: str) -> str:
    return IN_PLACE if name.endswith("data") else f"the function changes {name} in place"
