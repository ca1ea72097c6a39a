"""Assignment profiles: how a canonical operation becomes a call of the submission's function.

A profile knows the names of the submission's functions and how to build their
arguments from canonical arrays (``harness.core.ops``) and read their results back. Checks,
diagnoses and reports never see a profile's data structures, so another calling
convention is one more module here, registered in ``PROFILES``.

Every profile module has ``NAME``, ``FUNCTIONS`` (canonical op -> function name; the ops
it grades), ``MODULES`` (function -> the module the course puts it in), ``PROVIDED_MODULES``,
``REFERENCE_DIR`` (its trusted reference, laid out as a submission), ``TEMPLATE_DIR`` and
``call``. Optional: ``output_label``, ``output_meta``, ``passed_inputs`` (how its outputs and
arguments are named; the dict API's are the checks' defaults) and ``DETECT_FUNCTION`` (a
function whose definition in one of ``MODULES``' files marks a submission of the family;
``harness.sandbox.submission.detect`` uses it).
"""

from harness.core import outputs
from harness.profiles import cs231n, dictapi

PROFILES = {"dictapi": dictapi, "cs231n": cs231n}
HINT_MARK = outputs.HINT_MARK
"""How an adapter appends the likely cause to a returned value's problem (``checks.split_problem``)."""
DEFAULT = "dictapi"
AUTO = "auto"
"""``--profile auto``: detected from the submission (``harness.sandbox.submission.detect``)."""


def get(name: str = DEFAULT):
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown assignment profile {name!r}; known: {', '.join(PROFILES)}") from None
