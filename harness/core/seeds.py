"""Seeded random streams: the one place a seed is derived from a seed and labels.

Invariant: the same ``(seed, labels)`` gives the same stream in every process, on every
machine, whatever ``PYTHONHASHSEED``: labels are turned into a number by crc32 of their
``repr``, never by ``hash()``, which Python randomises per process. Different labels give
independent streams, so adding a consumer (a case, a check) leaves every other stream as it
was. A regrade with the same seeds is therefore identical (README, "The rule for points").
"""

from __future__ import annotations

import zlib

import numpy as np


def label_key(*labels: object) -> int:
    """A stable 32-bit number for ``labels`` (JSON-like scalars: str, int, float, bool, None)."""
    return zlib.crc32(repr(labels).encode())


def stream(seed: int, *labels: object) -> np.random.Generator:
    """The random stream of ``labels`` under ``seed``: independent per labels, stable across runs."""
    return np.random.default_rng([seed, label_key(*labels)])
