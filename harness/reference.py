"""The reference solution, run in the grader's own process (it is trusted).

Computes the expected canonical outputs of any case: fixtures, hidden cases, and the
hypotheses of the diagnosis engine all come from here.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from harness import paths, profiles


@lru_cache(maxsize=None)
def functions(folder: str = str(paths.REFERENCE_DIR), profile: str = profiles.DEFAULT) -> dict:
    """The reference's graded functions, by the profile's names."""
    from harness.loader import load_isolated
    prof = profiles.get(profile)
    return load_isolated(folder, list(prof.FUNCTIONS.values()))


def run(op_name: str, params: dict, arrays: dict, fns: dict | None = None) -> dict:
    """Canonical outputs of one operation, as float64 arrays (scalars as 0-d arrays)."""
    prof = profiles.get()
    copies = {k: np.array(v, copy=True) for k, v in arrays.items()}
    outputs, _, _ = prof.call(fns or functions(), op_name, params, copies)
    return {k: np.asarray(v, dtype=np.float64) for k, v in outputs.items()}
