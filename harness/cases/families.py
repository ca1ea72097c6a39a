"""Every assignment family's cases, by profile name: one entry point for fixtures and grading.

A family's cases module has ``public_cases()`` and ``random_cases(seed, per_op,
exclude_tags)``; its cases carry ``Case.profile``, the family whose reference computes their
expected outputs. Fixture files of all families share one manifest (``harness.cases.fixtures``).
"""

from __future__ import annotations

from harness.cases import catalogue, classapi, cs231n
from harness.cases.catalogue import Case

MODULES = {"dictapi": catalogue, "cs231n": cs231n, "classapi": classapi}
"""Profile name -> its cases module."""


def public_cases() -> list[Case]:
    """The fixture cases of every family, the LeNet family's first (their order is unchanged)."""
    return [case for module in MODULES.values() for case in module.public_cases()]


def random_cases(seed: int, profile: str = "dictapi", per_op: int = 2, exclude_tags=()) -> list[Case]:
    """Fresh random cases of one family's ops (hidden cases, gradient checks, probes)."""
    return MODULES[profile].random_cases(seed, per_op=per_op, exclude_tags=exclude_tags)
