"""What a calling convention's adapter hands back for an output it could not take from a call.

Every profile (``harness.profiles``) returns the submission's results raw, for the caller to
validate; where an expected output is not there at all (a dict without the key, a tuple of
the wrong length) or is there in a shape the adapter cannot read, it returns a
:class:`Missing` that says why. The child turns it into a reply's problem; the parent reads the
problem, split at ``HINT_MARK`` into the fact and the likely cause the adapter knew.
"""

from __future__ import annotations

from typing import Any

HINT_MARK = "; likely cause: "
"""Separates a returned value's problem (as an adapter words it) from the likely cause it knows."""


class Missing:
    """Marks an expected output that the function did not return in a readable form."""

    def __init__(self, what: str) -> None:
        self.what = what
        """Why, in words for the student (``expected a tuple of 2 (out, cache), got ndarray``)."""


def unpack(result: Any, names: tuple[str, ...]) -> dict[str, Any]:
    """A returned tuple by name, or a :class:`Missing` for every name when it is not such a tuple."""
    if not isinstance(result, (tuple, list)) or len(result) != len(names):
        what = f"expected a tuple of {len(names)} ({', '.join(names)}), got {type(result).__name__}" + (
            f" of length {len(result)}" if isinstance(result, (tuple, list)) else ""
        )
        return {name: Missing(what) for name in names}
    return dict(zip(names, result))


def is_missing(obj: Any) -> str:
    """The reason an output is missing, or '' when the function returned something there."""
    return obj.what if isinstance(obj, Missing) else ""
