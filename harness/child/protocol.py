"""The wire between the grader (``harness.sandbox``) and its sandboxed child (``harness.child.serve``).

Every name both sides spell the same way lives here, so that a rename on one side cannot
silently desynchronise the other. One request is a folder: the parent writes ``REQUEST`` and
``INPUTS`` and sends the folder's path as a line; the child writes ``REPLY`` and one ``.npy``
file per returned value (``value_file``), then answers a line. A long task may keep
``PROGRESS`` up to date meanwhile. Nothing the child writes is trusted: the parent validates
every field (``harness.sandbox.replies``).
"""

from __future__ import annotations

REQUEST = "request.json"
"""The request: ``{"task": ..., ...}`` (a ``call`` names ``op``, ``params``, ``after``)."""
INPUTS = "inputs.npz"
"""The request's arrays (plain numeric, read with ``allow_pickle=False``)."""
REPLY = "reply.json"
"""The child's reply: ``status``, ``error``, ``traceback``, ``seconds``, value descriptions, ``integrity``."""
PROGRESS = "progress.json"
"""A long task's progress, rewritten as it goes (training curves so far)."""

OUTPUTS, AFTER = "outputs", "after"
"""Reply fields describing values: what the function returned, and its inputs as they were after the call."""
PREFIXES = {OUTPUTS: "out_", AFTER: "after_"}
"""File-name prefix of each group's ``.npy`` files."""


def value_file(group: str, name: str) -> str:
    """File name of one returned value of ``group`` (``OUTPUTS`` or ``AFTER``)."""
    return f"{PREFIXES[group]}{name}.npy"


# Reply statuses. The child writes the first five; the parent adds the last two itself.
OK = "ok"
NOT_IMPLEMENTED = "not_implemented"
EXCEPTION = "exception"
MEMORY = "memory"
PROTOCOL = "protocol"
"""The request or the reply could not be read: the two sides are out of step."""
TIMEOUT = "timeout"
CRASHED = "crashed"

# A value's description (``describe`` in the child): its kind, or the problem that kept it out.
NDARRAY, SCALAR = "ndarray", "scalar"
WRONG_TYPE = "wrong type"
"""Not a numpy.ndarray (nor a plain number); the description names the ``type``."""
WRONG_DTYPE = "wrong dtype"
"""An ndarray whose dtype is not a real number type; the description names the ``dtype``."""
