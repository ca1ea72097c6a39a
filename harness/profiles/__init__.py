"""Assignment profiles: how a canonical operation becomes a call of the submission's function.

A profile knows the names of the submission's functions and how to build their
arguments from canonical arrays (``harness.core.ops``) and read their results back. Checks,
diagnoses and reports never see a profile's data structures, so another calling
convention is one more entry here, registered in ``PROFILES``.

Every profile has ``NAME``, ``FUNCTIONS`` (canonical op -> graded unit; the ops it grades),
``MODULES`` (graded unit -> the module the course puts it in, dotted inside a package:
``layers.conv_layer``), ``PROVIDED_MODULES``, ``REFERENCE_DIR`` (its trusted reference, laid
out as a submission), ``TEMPLATE_DIR``, ``DEFAULT_RUBRIC`` and ``call``. Optional hooks, each
absent from the families that do not need it (the checks' defaults are the dict API's):

- ``output_label``, ``output_meta``, ``passed_inputs``, ``argument_label``: how its outputs
  are named, which dict fields a forward returns, which arguments the child reports back after
  a call and how the student knows them;
- ``DETECT_FUNCTION``: a graded unit whose definition in its ``MODULES`` file marks a
  submission of the family (``harness.sandbox.submission.detect``);
- ``STATEFUL``: calls are made on objects that keep state, so the properties check repeats
  a call after leftovers of other calls (the case parameter ``replay``, ``harness.core.ops``);
- ``accepted_scales(op, out_name, arrays)``: where the family's contract leaves an output's
  scale open, every accepted scale (``{description: factor}``); a check passes on any and says
  which one it saw;
- ``spec``: a profile built from data (a mapping file) rather than a module; the sandbox
  hands the child this JSON-able dict to rebuild it (:func:`spec`, :func:`get`).
- ``COUNTED``: the graded units whose calls ``child.serve.CallCounter`` counts (default
  ``FUNCTIONS``; the layer-class family: none, methods are not wrapped);
- ``DEVICE_AWARE``: its reference computes on cupy arrays too; ``POOL_TIES``: ``"any"`` when a
  tied pooling window may route its gradient to any one maximum.
- ``EDITIONS`` with ``CURRENT`` and ``adapt``: editions whose calls of some functions differ
  (the dict API's older ``relu_forward(input, layer)``): :func:`edition_of` reads which one a
  ``def`` line was written for, and the child calls it through ``adapt``.

A module is one profile (``dictapi``, ``cs231n``); the layer-class family is one
``ClassProfile`` object per mapping file (``classapi.toml`` ships the homework's names;
``--profile my_course.toml`` grades another course's without code).
"""

from __future__ import annotations

from typing import Any

from harness.core import outputs
from harness.profiles import classapi, cs231n, dictapi

PROFILES: dict[str, Any] = {"dictapi": dictapi, "cs231n": cs231n, "classapi": classapi.Shipped()}
HINT_MARK = outputs.HINT_MARK
"""How an adapter appends the likely cause to a returned value's problem (``checks.split_problem``)."""
DEFAULT = "dictapi"
AUTO = "auto"
"""``--profile auto``: detected from the submission (``harness.sandbox.submission.detect``)."""
MAPPING_SUFFIX = ".toml"
"""``--profile FILE.toml``: a mapping file of the layer-class family (``harness.profiles.classapi``)."""


def edition_of(profile, name: str, parameters) -> tuple[str, str]:
    """``(edition, '')`` that function ``name``'s ``def`` line was written for, or ``('', why)``
    naming every edition's signature when it fits none. ``parameters`` is
    ``harness.sandbox.submission.Parameters`` (None: not read from a ``def``: the current edition).

    A ``def`` fits an edition when it accepts that edition's number of positional arguments
    and none of its parameters bears a name the editions give another position (``gpu`` where
    the older edition passes ``prediction``). The current edition wins a tie."""
    editions = getattr(profile, "EDITIONS", {})
    current = getattr(profile, "CURRENT", "")
    calls = {e: sigs[name] for e, sigs in editions.items() if name in sigs}
    if not calls or parameters is None:
        return current, ""
    names, required, varargs = parameters
    known = {p for sig in calls.values() for p in sig}
    for edition, sig in sorted(calls.items(), key=lambda item: item[0] != current):
        n = len(sig)
        if not required <= n or not (n <= len(names) or varargs):
            continue
        if any(p in known and p != sig[i] for i, p in enumerate(names[:n])):
            continue
        return edition, ""
    shown = "; ".join(f"the {e} edition calls {name}({', '.join(sig)})" for e, sig in calls.items())
    return (
        "",
        f"{name}({', '.join(names)}{', *args' if varargs else ''}) fits no edition of the assignment: {shown}",
    )


def editions(profile, parameters: dict) -> tuple[dict[str, str], dict[str, str]]:
    """For a submission's ``parameters`` (function -> ``Parameters``): function -> edition, for the
    functions whose editions differ, and function -> why it fits none (``edition_of``)."""
    chosen, mismatched = {}, {}
    for name in {n for sigs in getattr(profile, "EDITIONS", {}).values() for n in sigs}:
        edition, why = edition_of(profile, name, parameters.get(name))
        if why:
            mismatched[name] = why
        else:
            chosen[name] = edition
    return chosen, mismatched


def get(name: Any = DEFAULT) -> Any:
    """A profile by name, by the path of a mapping file (``my_course.toml``), or by its ``spec`` dict."""
    if isinstance(name, dict):
        return classapi.from_spec(name)
    try:
        return PROFILES[name]
    except KeyError:
        if str(name).endswith(MAPPING_SUFFIX):
            return classapi.load(name)
        raise ValueError(
            f"unknown assignment profile {name!r}; known: {', '.join(PROFILES)}, "
            f"or a mapping {MAPPING_SUFFIX} file of the layer-class family"
        ) from None


def spec(profile: Any, name: str) -> Any:
    """What the child needs to rebuild ``profile`` (chosen as ``name``): its ``spec`` dict, else the name."""
    return getattr(profile, "spec", None) or name
