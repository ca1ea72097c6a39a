"""Fingerprints of known mistakes on the public cases: the student kit's diagnoses, without math.

The course's grader names a mistake by computing what it would have returned on the failing
case (``harness.diagnose.mistakes``, from the reference's building blocks). The student kit
ships no reference, so the kit's builder records, for every public fixture case and output,
each mistake's predictions as fingerprints: ``PROJECTIONS`` random projections of the
predicted array, each with the bound within which the student's projection falls when the
student's array is within the grader's tolerance of the prediction (``sum_i |u_i| *
tolerance_i``, ``harness.core.compare.allowed_error``), and the predicted values at
``SAMPLES`` positions with their tolerance. Invariants: a fingerprint holds no code and a
few numbers of a *mistaken* result, never an array; a result the grader's engine matches to
a mistake matches its fingerprint (every test is a necessary condition of
``mutants.close``); a result off by more than the tolerance at a sampled position, or by
more than about sqrt(size) tolerances along a random direction, does not match. Only predictions the grader would
consider count (finite, and not within tolerance of the expected answer); the signatures the
engine tries after the predictions (right for one image, at the border, at ties...) need the
result itself and are left to the course's grader.
"""

from __future__ import annotations

import json
import zlib
from functools import cache

import numpy as np

from harness import profiles
from harness.core import paths

PROJECTIONS = 8
"""Random directions per fingerprint."""
SAMPLES = 8
"""Elements per fingerprint kept as values (of the mistaken prediction, never of a solution)."""
FINGERPRINT_FILE = paths.ROOT / "kit" / "fingerprints.json"
"""Written by the kit's builder: the mistakes in catalogue order, and the fingerprints per case."""


class PredictionError(RuntimeError):
    """The grader's prediction of this mistake raised on this case (recorded by the builder): its
    engine gives no hint there, nor does the kit's."""


def where(family: str, op_name: str, case_name: str, out: str) -> str:
    """The key of one output of one case of one assignment family."""
    return f"{family}|{op_name}|{case_name}|{out}"


def directions(label: str, size: int) -> np.ndarray:
    """``PROJECTIONS`` unit vectors in R^size, the same for the builder and the kit (crc32 seed)."""
    u = np.random.default_rng(zlib.crc32(label.encode())).standard_normal((PROJECTIONS, size))
    return u / np.linalg.norm(u, axis=1, keepdims=True)


def positions(label: str, size: int) -> np.ndarray:
    """``SAMPLES`` element positions (fewer for small arrays), from the label's own stream."""
    rng = np.random.default_rng(zlib.crc32(f"{label}|positions".encode()))
    return np.sort(rng.choice(size, size=min(SAMPLES, size), replace=False))


def fingerprint(label: str, predicted: np.ndarray, tolerance: np.ndarray) -> dict:
    """The projections of ``predicted`` and their bounds, and its values at a few positions with
    theirs (``tolerance``: the per-element error the grader allows)."""
    flat = np.asarray(predicted, dtype=np.float64).ravel()
    tol = np.broadcast_to(np.asarray(tolerance, dtype=np.float64), np.shape(predicted)).ravel()
    u = directions(label, flat.size)
    at = positions(label, flat.size)
    slack = 1 + 1e-9  # the sums round differently in the builder and in the kit
    return {
        "label": label,
        "shape": list(np.shape(predicted)),
        "projections": (u @ flat).tolist(),
        "bounds": (np.abs(u) @ tol * slack + 1e-300).tolist(),
        "samples": flat[at].tolist(),
        "sample_bounds": (tol[at] * slack).tolist(),
    }


def matches(got: np.ndarray, print_: dict) -> bool:
    """Whether ``got`` may be the fingerprinted prediction (within the grader's tolerance of it)."""
    got = np.asarray(got, dtype=np.float64)
    scalars = got.size == 1 == int(np.prod(print_["shape"]))  # a loss: () at grading, (1,) in fixtures
    if list(got.shape) != print_["shape"] and not scalars:
        return False
    flat = got.ravel()
    at = positions(print_["label"], flat.size)
    if not np.all(np.abs(flat[at] - np.asarray(print_["samples"])) <= np.asarray(print_["sample_bounds"])):
        return False
    u = directions(print_["label"], flat.size)
    gap = np.abs(u @ flat - np.asarray(print_["projections"]))
    return bool(np.all(gap <= np.asarray(print_["bounds"])))


@cache
def load() -> dict:
    """The kit's fingerprint file (mistakes, records)."""
    return json.loads(FINGERPRINT_FILE.read_text())


def detail_of(mistake_id: str, case, out: str, got: np.ndarray) -> str | None:
    """The hint's detail of the first fingerprint of ``mistake_id`` on ``case`` (a public case of
    its family) that ``got`` matches, or None."""
    key = where(getattr(case, "profile", profiles.DEFAULT), case.op, case.name, out)
    for record in load()["records"].get(key, []):
        if record["mistake"] != mistake_id:
            continue
        if "raises" in record:  # the grader's engine stops here on this case: no hint
            raise PredictionError(f"{mistake_id} on {key}: {record['raises']}")
        if matches(got, record):
            return record["detail"]
    return None


def _mistakes(mistake_type, listed: list) -> tuple:
    def tester(mistake_id: str):
        def test(case, out, got, expected):
            return detail_of(mistake_id, case, out, got)

        return test

    return tuple(mistake_type(m["id"], m["hint"], tuple(m["where"]), test=tester(m["id"])) for m in listed)


def catalogue(mistake_type) -> tuple:
    """The kit's shared mistakes, in the grader's catalogue order, each tested by its fingerprints."""
    return _mistakes(mistake_type, load()["mistakes"])


def family_catalogues(mistake_type) -> dict[str, tuple]:
    """Family -> the kit's mistakes of that family only (``family_mistakes.FAMILY_MISTAKES``)."""
    return {family: _mistakes(mistake_type, listed) for family, listed in load()["family_mistakes"].items()}
