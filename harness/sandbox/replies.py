"""Decoding and validating what a sandboxed child sent back: nothing it wrote is trusted.

``read_reply`` turns a request folder into a ``Reply``: ``reply.json`` read bounded
(``MAX_REPLY_BYTES``) and without following links, every field type-checked and truncated,
and each returned value read by ``read_value``: an ``.npy`` file opened as a regular file only,
its header checked (plain numeric dtype, size within the limit and equal to the file's) before
the data is read with ``allow_pickle=False``, then copied to float64. A reply that cannot be
read is status ``protocol``, never an exception. Field and file names are those of
``harness.child.protocol``; ``docs/threat-model.md`` says what this defends.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from harness.child import protocol
from harness.sandbox import safejson
from harness.sandbox.safefiles import open_regular, read_bounded

MAX_REPLY_BYTES = 2**20
"""Largest ``reply.json`` the parent reads."""


@dataclass(frozen=True)
class Returned:
    """One value the submission returned, after validation by the parent."""

    array: np.ndarray | None
    """float64 copy of the value, or None when it is not acceptable."""
    problem: str = ""
    """Why it is not acceptable (wrong type, dtype, missing...), for the student."""
    dtype: str = ""
    """The dtype the submission used."""
    kind: str = ""
    """``ndarray`` or ``scalar``."""


@dataclass
class Reply:
    """What one request produced."""

    status: str
    """ok | not_implemented | exception | memory | timeout | crashed | protocol (``harness.child.protocol``)"""
    error: str = ""
    """One line: the exception, or what happened to the process."""
    traceback: str = ""
    """The student's traceback, trimmed to their own files."""
    outputs: dict[str, Returned] = field(default_factory=dict)
    """Canonical output name -> Returned."""
    after: dict[str, Returned] = field(default_factory=dict)
    """Input name (``input.data``, ``param.w``...) -> Returned, as it was after the call."""
    meta: dict[str, Any] = field(default_factory=dict)
    """Output dict fields, or the task's JSON result."""
    data: dict[str, Any] = field(default_factory=dict)
    """A task's JSON result (training curves' metadata, timings), as the child sent it."""
    output: str = ""
    """The submission's stdout and stderr during the request, truncated."""
    seconds: float = 0.0
    """Time the request took inside the child."""
    integrity: dict[str, Any] = field(default_factory=dict)
    """What the child observed (validated): ``events`` [[what, detail, count]], ``calls``
    {function: calls made by the submission's own code}, ``modules`` [newly loaded names]."""

    @property
    def ok(self) -> bool:
        """The request ran to its end (the values may still be wrong)."""
        return self.status == protocol.OK


def read_reply(folder: Path, max_array_bytes: int) -> Reply:
    """The validated reply of the request in ``folder``; status ``protocol`` when unreadable."""
    raw = read_bounded(folder / protocol.REPLY, MAX_REPLY_BYTES)
    try:
        reply = safejson.loads(raw, MAX_REPLY_BYTES)
        if not isinstance(reply, dict) or not isinstance(reply.get("status"), str):
            raise TypeError("not a reply")
        status: str = reply["status"]
        seconds = float(reply.get("seconds", 0) or 0)
        seconds = seconds if math.isfinite(seconds) and seconds >= 0 else 0.0
    except Exception:  # missing, malformed, nested too deep (RecursionError): all the same
        return Reply(protocol.PROTOCOL, "the child's reply was missing or malformed")
    result = Reply(
        status[:40],
        str(reply.get("error", ""))[:500],
        str(reply.get("traceback", ""))[:4000],
        seconds=seconds,
        integrity=_integrity(reply.get("integrity")),
    )
    if status != protocol.OK:
        return result
    meta = reply.get("meta")
    if isinstance(meta, dict):
        result.meta = {
            str(k)[:100]: v
            for k, v in list(meta.items())[:100]
            if isinstance(v, (int, float, str, bool)) or v is None
        }
    if isinstance(reply.get("data"), dict):
        result.data = reply["data"]  # bounded by MAX_REPLY_BYTES; its reader validates
    for group in (protocol.OUTPUTS, protocol.AFTER):
        descr = reply.get(group) or {}
        if isinstance(descr, dict):
            getattr(result, group).update(
                {
                    str(k): read_value(folder / protocol.value_file(group, k), d, max_array_bytes)
                    for k, d in list(descr.items())[:50]
                    if _plain_name(k)
                }
            )
    return result


def read_value(path: Path, descr: object, max_array_bytes: int) -> Returned:
    """Validate one returned value: a real ndarray of a real numeric dtype, bounded in size."""
    if not isinstance(descr, dict):
        return Returned(None, "the grader could not read this value")
    if descr.get("problem"):
        return Returned(None, _problem(descr), dtype=str(descr.get("dtype", ""))[:40])
    opened = open_regular(path, max_array_bytes + 4096)
    if opened is None:
        return Returned(
            None,
            "the grader could not read the returned value (missing, not a "
            f"regular file, or larger than {max_array_bytes >> 20} MiB)",
        )
    fd, size = opened
    with os.fdopen(fd, "rb") as f:
        try:
            value = _load_npy(f, size, max_array_bytes)
        except (OSError, ValueError, EOFError) as exc:
            return Returned(None, f"the grader could not read the returned value ({str(exc)[:200]})")
    kind = str(descr.get("kind", ""))
    if kind not in (protocol.NDARRAY, protocol.SCALAR):
        kind = protocol.NDARRAY
    return Returned(value.astype(np.float64), dtype=str(value.dtype), kind=kind)


def _problem(descr: dict[str, Any]) -> str:
    """What the student reads about a value the child did not send (``describe`` in the child)."""
    problem = str(descr["problem"])[:300]
    if problem == protocol.WRONG_TYPE:
        problem = f"returned {str(descr.get('type', '?'))[:100]}, expected a numpy.ndarray"
        if descr.get("type") == "builtins.list":
            problem += " (convert it with np.array)"
        if descr.get("type") == "builtins.NoneType":
            problem = "returned None: is a return statement missing?"
    elif problem == protocol.WRONG_DTYPE:
        problem = f"returned an array of dtype {str(descr.get('dtype'))[:40]}, expected float64"
    return problem


def _plain_name(key: object) -> bool:
    return (
        isinstance(key, str)
        and 0 < len(key) <= 40
        and all(c.isalnum() or c in "._" for c in key)
        and ".." not in key
    )


def _load_npy(f: BinaryIO, size: int, limit: int) -> np.ndarray:
    """A plain numeric array from an ``.npy`` stream, its header checked before the data is read."""
    fmt = np.lib.format
    version = fmt.read_magic(f)
    if version == (1, 0):
        shape, fortran, dtype = fmt.read_array_header_1_0(f)
    elif version in ((2, 0), (3, 0)):
        shape, fortran, dtype = fmt.read_array_header_2_0(f)
    else:
        raise ValueError(f"unsupported .npy version {version}")
    if dtype.kind not in "biuf" or dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
        raise ValueError(f"dtype {dtype} is not a plain numeric type")
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > limit:
        raise ValueError(f"the array would take {nbytes} bytes, more than {limit}")
    if f.tell() + nbytes != size:
        raise ValueError("the file's size does not match its header")
    f.seek(0)
    value = np.load(f, allow_pickle=False)
    if type(value) is not np.ndarray or value.dtype.kind not in "biuf":
        raise ValueError("not a plain numeric array")
    return value


def _integrity(raw: object) -> dict[str, Any]:
    """The child's integrity report, keeping only well-formed, bounded parts."""
    if not isinstance(raw, dict):
        return {}
    events = []
    for e in raw.get("events", [])[:100] if isinstance(raw.get("events"), list) else ():
        if isinstance(e, list) and len(e) == 3 and isinstance(e[2], int) and e[2] > 0:
            events.append((str(e[0])[:60], str(e[1])[:200], e[2]))
    calls = raw.get("calls")
    calls = (
        {str(k)[:80]: v for k, v in list(calls.items())[:50] if isinstance(v, int) and v >= 0}
        if isinstance(calls, dict)
        else {}
    )
    modules = raw.get("modules")
    modules = [str(m)[:120] for m in modules[:2000]] if isinstance(modules, list) else []
    return {"events": events, "calls": calls, "modules": modules}
