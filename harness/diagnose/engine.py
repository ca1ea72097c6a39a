"""Likely causes of a wrong answer: hypotheses tested against the submission's own result.

When a case fails, each known mistake of ``harness.diagnose.mistakes`` that could explain the
output is tested on *that case's inputs*:

1. mutants -- what the reference computes when it makes the mistake (a flipped kernel,
   pad 0, the gradient divided by the batch size, another memory order...); the first,
   in catalogue order, whose prediction equals the student's result within the grader's
   tolerance and differs from the expected result by more than it, is the diagnosis;
2. signatures -- weaker properties of the result (right only for one image, right except
   near the border or at ties, off by a constant factor, the right values in other places),
   tried only when no mutant fits.

The tolerance is the one that judges the answer (``harness.core.compare``, justified in
docs/tolerances.md): a faithful implementation of a mistaken formula, in float32 at worst,
lands that close to our float64 mutant, and a mutant closer than that to the expected
answer is no evidence at all. Every mistake in the catalogue moves values by at least 1e-2
relative, so the two tolerance bands never overlap.

A hint is a guess, worded as what the result *matches* and what to look at; ``''`` when no
hypothesis fits. Diagnosing never raises: a failure here must not turn into a grading error.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np

from harness.core.compare import bias_equivalent
from harness.core.ops import OPS, output_hw
from harness.diagnose import family_mistakes, mistakes
from harness.diagnose.mistakes import MISTAKES, Mistake, close


def likely_cause(op, case, out_name: str, got: np.ndarray, expected: np.ndarray) -> str:
    """The best-supported explanation of ``got`` != ``expected`` for one output of one case, or ''."""
    try:
        found = diagnose(op, case, out_name, got, expected)
    except Exception:  # a hint is a courtesy: never let it break grading
        return ""
    if not found:
        return ""
    mistake, detail = found
    return render(dataclasses.replace(mistake, hint=hint_for(mistake, getattr(case, "profile", ""))), detail)


def hint_for(mistake: Mistake, family: str) -> str:
    """A mistake's hint in ``family``'s words (``family_mistakes.FAMILY_HINTS``), else the catalogue's."""
    return family_mistakes.FAMILY_HINTS.get(family, {}).get(mistake.id, mistake.hint)


def diagnose(op, case, out_name: str, got, expected) -> tuple[Mistake, str] | None:
    """``(mistake, detail)`` of the first hypothesis that fits, or None. Raises on harness bugs."""
    op_name = op if isinstance(op, str) else op.name
    got = np.asarray(got, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if out_name == "b" and got.shape != expected.shape and bias_equivalent(got.shape, expected.shape):
        got = got.reshape(expected.shape)
    family = getattr(case, "profile", "")
    catalogue = MISTAKES + family_mistakes.FAMILY_MISTAKES.get(family, ())
    candidates = [m for m in catalogue if m.applies(op_name, out_name)]
    if not np.isfinite(got).all():
        for m in candidates:
            if m.nonfinite and m.test is not None:
                detail = m.test(case, out_name, got, expected)
                if detail is not None:
                    return m, detail
        return None
    for m in candidates:
        if m.predict is None:
            continue
        for predicted, detail in m.predict(case, out_name, expected):
            predicted = _like(np.asarray(predicted, dtype=np.float64), got, out_name)
            if predicted.shape != got.shape or not np.isfinite(predicted).all():
                continue
            if predicted.shape == expected.shape and close(predicted, expected):
                continue  # the mistake makes no difference on this case: no evidence
            if close(got, predicted):
                return m, detail
    for m in candidates:
        if m.test is not None and not m.nonfinite:
            detail = m.test(case, out_name, got, expected)
            if detail is not None:
                return m, detail
    return None


def _like(predicted: np.ndarray, got: np.ndarray, out_name: str) -> np.ndarray:
    """A bias-like prediction in the student's (1, n) or (n,) shape."""
    if out_name == "b" and predicted.shape != got.shape and bias_equivalent(predicted.shape, got.shape):
        return predicted.reshape(got.shape)
    return predicted


def render(mistake: Mistake, detail: str) -> str:
    return f"{mistake.hint} ({detail})" if detail else mistake.hint


# ---- properties -----------------------------------------------------------------------------


def in_place_hint(op, name: str, family: str = "") -> str:
    """Why an argument came back changed (``input.data``, ``param.w``, ``output.diff``, ``X``...),
    in ``family``'s words where it has its own."""
    worded = family_mistakes.FAMILY_IN_PLACE.get(family, {}).get(name)
    if worded:
        return worded
    if name == "input.data":
        return mistakes.IN_PLACE
    if name.startswith("param."):
        return mistakes.PARAM_CHANGED
    if name == "output.diff":
        return mistakes.DIFF_CHANGED
    return f"{mistakes.ARGUMENT_CHANGED} ({name})"


def nondeterminism_hint(op, family: str = "") -> str:
    """Two calls with the same inputs returned different results."""
    return family_mistakes.FAMILY_HINTS.get(family, {}).get("nondeterministic", mistakes.NONDETERMINISTIC)


def field_hint(op, case, key: str, got, want) -> str:
    """Why an output dict field (``height``, ``width``, ``channel``, ``batch_size``) is wrong, or ''."""
    try:
        return _field_hint(OPS[op] if isinstance(op, str) else op, case, key, got, want)
    except Exception:
        return ""


def _field_hint(op, case, key, got, want) -> str:
    if isinstance(got, bool) or not isinstance(got, (int, np.integer, float)) or got == want:
        return ""
    p, x = case.params, case.arrays["x"]
    if key == "batch_size":
        return mistakes.BATCH_FROM_ROWS if got == x.shape[0] else mistakes.HARDCODED_BATCH
    if op.layer == "inner_product":
        return mistakes.FIELD_NOT_UPDATED if key == "height" and got == x.shape[0] else ""
    if op.layer == "relu":
        other = {"height": p["w"], "width": p["h"]}.get(key)
        return mistakes.FIELDS_SWAPPED if got == other else ""
    if key == "channel":
        return mistakes.FIELD_CHANNEL if op.layer == "conv" and got == p["c"] else ""
    if key not in ("height", "width"):
        return ""
    size, axis = (p["h"], 0) if key == "height" else (p["w"], 1)
    if got == size:  # checked first: a copied input field is the commoner slip of the two
        return mistakes.FIELD_NOT_UPDATED
    if got == output_hw(p)[1 - axis]:
        return mistakes.FIELDS_SWAPPED
    k, s, pad = p["k"], p["stride"], p["pad"]
    if pad and got == (size - k) // s + 1:
        return mistakes.PAD_IGNORED
    if s > 1 and got == size + 2 * pad - k + 1:
        return mistakes.STRIDE_IGNORED
    if abs(got - want) == 1:
        return mistakes.OFF_BY_ONE
    return ""


# ---- crashes --------------------------------------------------------------------------------

_MISMATCH = (
    re.compile(r"size (\d+) is different from (\d+)"),  # np.matmul / @
    re.compile(r"not aligned: (\d+) \(dim \d+\) != (\d+)"),
)  # np.dot


def crash_hint(op, case, error: str) -> str:
    """A likely cause of an exception, from its one-line message; '' when none fits.

    A matrix product whose mismatched sizes are exactly w's two sizes suggests w where w.T
    is needed (or the reverse).
    """
    op = OPS[op] if isinstance(op, str) else op
    if "w" not in op.inputs and op.layer != "mlrloss":
        return ""
    if op.layer == "mlrloss":
        sizes = {case.params["K"] - 1, case.arrays["X"].shape[0]}
    else:
        sizes = set(case.arrays["w"].shape)
    for pattern in _MISMATCH:
        found = pattern.search(error or "")
        if found and len(sizes) == 2 and {int(found.group(1)), int(found.group(2))} == sizes:
            return mistakes.MATMUL_W_SIZES
    return ""
