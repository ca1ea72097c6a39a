"""JSON the child wrote, parsed with bounded size and bounded depth.

Invariant: nothing the child writes (replies, ``progress.json``, the info fields inside them)
reaches ``json.loads`` unless it is at most ``max_bytes`` long and nests at most
``MAX_DEPTH`` arrays and objects; anything else -- too big, too deep, not JSON, not UTF-8 --
raises ``ProtocolError``, which the caller turns into a protocol error of that check, never
an exception in the grader (a deep document would otherwise raise ``RecursionError`` in
the grader or in whatever walks the result later). ``docs/threat-model.md``.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np

MAX_DEPTH = 32
"""Deepest nesting accepted: the protocol's own documents nest at most 5 levels."""
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)


class ProtocolError(ValueError):
    """What the child wrote is not an acceptable JSON document."""


def depth(raw: bytes) -> int:
    """The deepest nesting of arrays and objects in a JSON text (strings skipped)."""
    bare = np.frombuffer(_STRING.sub(b'""', raw), dtype=np.uint8)
    steps = np.isin(bare, (ord("["), ord("{"))).astype(np.int64) - np.isin(bare, (ord("]"), ord("}")))
    return int(np.cumsum(steps).max()) if steps.size else 0


def loads(
    raw: bytes | None, max_bytes: int, what: str = "the child's reply", max_depth: int = MAX_DEPTH
) -> Any:
    """The JSON value in ``raw`` (``None``: the file was missing or not a regular file)."""
    if raw is None:
        raise ProtocolError(f"{what} was missing, not a regular file, or larger than {max_bytes} bytes")
    if len(raw) > max_bytes:
        raise ProtocolError(f"{what} is larger than {max_bytes} bytes")
    if depth(raw) > max_depth:
        raise ProtocolError(f"{what} nests deeper than {max_depth} levels")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise ProtocolError(f"{what} is not valid JSON ({str(exc)[:100]})") from None
