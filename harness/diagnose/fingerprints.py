"""Fingerprints of known mistakes on the public cases: the student kit's diagnoses, without math.

The course's grader names a mistake by computing what it would have returned on the failing
case (``harness.diagnose.mistakes``, from the reference's building blocks). The student kit
ships no reference, so the kit's builder records, for every public fixture case and output,
each mistake's predictions as fingerprints: ``PROJECTIONS`` random projections of the
predicted array, and for each the bound within which the student's projection must fall when
the student's array is within the grader's tolerance of the prediction
(``sum_i |u_i| * tolerance_i``, ``harness.core.compare.allowed_error``). Invariants: a
fingerprint cannot be inverted into the prediction (``PROJECTIONS`` numbers for arrays of
hundreds of elements) and holds no code; a result the grader's engine matches to a mistake
matches its fingerprint (the bound is a necessary condition of ``mutants.close``), and a
result far from it matches with vanishing probability. Only predictions the grader would
consider count (finite, and not within tolerance of the expected answer); the signatures the
engine tries after the predictions (right for one image, at the border, at ties...) need the
result itself and are left to the course's grader.
"""

from __future__ import annotations

import json
import zlib
from functools import cache

import numpy as np

from harness.core import paths

PROJECTIONS = 8
"""Random directions per fingerprint."""
FINGERPRINT_FILE = paths.ROOT / "kit" / "fingerprints.json"
"""Written by the kit's builder: the mistakes in catalogue order, and the fingerprints per case."""


def where(op_name: str, case_name: str, out: str) -> str:
    """The key of one output of one case."""
    return f"{op_name}|{case_name}|{out}"


def directions(label: str, size: int) -> np.ndarray:
    """``PROJECTIONS`` unit vectors in R^size, the same for the builder and the kit (crc32 seed)."""
    u = np.random.default_rng(zlib.crc32(label.encode())).standard_normal((PROJECTIONS, size))
    return u / np.linalg.norm(u, axis=1, keepdims=True)


def fingerprint(label: str, predicted: np.ndarray, tolerance: np.ndarray) -> dict:
    """The projections of ``predicted`` and their bounds (``tolerance``: per-element allowed error)."""
    u = directions(label, predicted.size)
    flat = np.asarray(predicted, dtype=np.float64).ravel()
    return {
        "label": label,
        "shape": list(predicted.shape),
        "projections": (u @ flat).tolist(),
        # a hair of slack: the two sums round differently in the builder and in the kit
        "bounds": (
            np.abs(u) @ np.asarray(tolerance, dtype=np.float64).ravel() * (1 + 1e-9) + 1e-300
        ).tolist(),
    }


def matches(got: np.ndarray, print_: dict) -> bool:
    """Whether ``got`` may be the fingerprinted prediction (within the grader's tolerance of it)."""
    got = np.asarray(got, dtype=np.float64)
    if list(got.shape) != print_["shape"]:
        return False
    u = directions(print_["label"], got.size)
    gap = np.abs(u @ got.ravel() - np.asarray(print_["projections"]))
    return bool(np.all(gap <= np.asarray(print_["bounds"])))


@cache
def load() -> dict:
    """The kit's fingerprint file (mistakes, records)."""
    return json.loads(FINGERPRINT_FILE.read_text())


def detail_of(mistake_id: str, op_name: str, case_name: str, out: str, got: np.ndarray) -> str | None:
    """The hint's detail of the first fingerprint of ``mistake_id`` that ``got`` matches, or None."""
    for record in load()["records"].get(where(op_name, case_name, out), []):
        if record["mistake"] == mistake_id and matches(got, record):
            return record["detail"]
    return None


def catalogue(mistake_type) -> tuple:
    """The kit's mistakes, in the grader's catalogue order, each tested by its fingerprints."""

    def tester(mistake_id: str):
        def test(case, out, got, expected):
            return detail_of(mistake_id, case.op, case.name, out, got)

        return test

    return tuple(
        mistake_type(m["id"], m["hint"], tuple(m["where"]), test=tester(m["id"])) for m in load()["mistakes"]
    )
