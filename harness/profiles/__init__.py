"""Assignment profiles: how a canonical operation becomes a call of the submission's function.

A profile knows the names of the submission's functions and how to build their
arguments from canonical arrays (``harness.core.ops``) and read their results back. Checks,
diagnoses and reports never see a profile's data structures, so another calling
convention (layer objects with NCHW arrays, plain ``fc_forward(x, W, b)`` functions) is one
more module here.
"""

from harness.profiles import dictapi

PROFILES = {"dictapi": dictapi}
DEFAULT = "dictapi"


def get(name: str = DEFAULT):
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown assignment profile {name!r}; known: {', '.join(PROFILES)}") from None
