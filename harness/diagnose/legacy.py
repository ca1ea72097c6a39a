"""Code written for numpy 1.x or Python 2 that runs under numpy 2 and Python 3 until it fails.

Such a failure reads like a bug of the student's (``AttributeError: module 'numpy' has no
attribute 'float'``) while the code was right where it was written. ``cause`` names the
idiom from the exception the child reported, with the line of the student's traceback at
fault: "written for numpy 1.x: np.float at relu.py line 7 (`...`); under numpy 2 use float".

Invariants: recognition reads only the exception's text and the student's own traceback
(never runs or reads code); every entry of ``NUMPY1`` and ``PYTHON2_RUNTIME`` is an error that
numpy >= 2 or Python 3 raises for code that numpy 1.x or Python 2 ran (numpy 2.0 migration
guide, removals since 1.23), proven one by one by ``tests/test_legacy.py`` against the installed
numpy; the wording of "Python 2 code" has one home, ``harness.sandbox.syntax.PYTHON2``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from harness.sandbox.syntax import PYTHON2

NUMPY1 = "written for numpy 1.x: {idiom} at {where}; under numpy 2 use {instead}"
"""How a numpy 1.x idiom is named to the student."""


@dataclass(frozen=True)
class Idiom:
    """A numpy 1.x (or Python 2) idiom that fails under numpy 2 (or Python 3), and its replacement."""

    idiom: str
    """What the student wrote, e.g. ``np.float``."""
    instead: str
    """What works under numpy 2 (Python 3)."""
    error: str
    """A regex matching the exception's text."""
    example: str = ""
    """One line of numpy 1.x (Python 2) code that raises it now (the test runs it; names ``np``, ``x``, ``d``)."""


def _removed(name: str, instead: str, example: str = "") -> Idiom:
    return Idiom(
        f"np.{name}",
        instead,
        rf"module 'numpy' has no attribute '{name}'",
        example or f"np.{name}",
    )


def _method(name: str, instead: str, example: str) -> Idiom:
    return Idiom(f"ndarray.{name}()", instead, rf"'numpy\.ndarray' object has no attribute '{name}'", example)


NUMPY1_IDIOMS = (
    _removed("float", "float (or np.float64)"),
    _removed("int", "int (or np.int64)"),
    _removed("complex", "complex (or np.complex128)"),
    _removed("unicode", "str"),
    _removed("NAN", "np.nan"),
    _removed("asscalar", "a.item()", "np.asscalar(x[:1])"),
    _removed("product", "np.prod", "np.product(x)"),
    _removed("cumproduct", "np.cumprod", "np.cumproduct(x)"),
    _removed("in1d", "np.isin", "np.in1d(x, x)"),
    _removed("trapz", "np.trapezoid", "np.trapz(x)"),
    _removed("msort", "np.sort(a, axis=0)", "np.msort(x)"),
    _removed("int0", "np.intp"),
    _removed("math", "the math module (import math)", "np.math.sqrt(2)"),
    Idiom(
        "np.lib.pad",
        "np.pad",
        r"module 'numpy\.lib' has no attribute 'pad'",
        "np.lib.pad(x, 1)",
    ),
    _method("ptp", "np.ptp(a)", "x.ptp()"),
    _method("itemset", "a[index] = value", "x.itemset(0, 1.0)"),
    _method("tostring", "a.tobytes()", "x.tostring()"),
    _method("newbyteorder", "a.view(a.dtype.newbyteorder())", "x.newbyteorder()"),
    Idiom(
        "int() or float() of a one-element array that is not 0-d",
        "a.item() (or index it down to one element: a[0, 0])",
        r"only 0-dimensional arrays can be converted to Python scalars|only length-1 arrays can be converted",
        "float(x[:1])",
    ),
    Idiom(
        "reshape(newshape=...)",
        "reshape(shape) (the shape positionally)",
        r"unexpected keyword argument 'newshape'|'newshape' is an invalid keyword argument",
        "np.reshape(x, newshape=(-1,))",
    ),
    Idiom(
        "np.array(..., copy=False)",
        "np.asarray(...) (copies only when it must)",
        r"Unable to avoid copy while creating an array as requested",
        "np.array(x, dtype=np.float32, copy=False)",
    ),
)
"""numpy 1.x idioms whose errors do not say what to use instead (those that do are read by ``_NAMED``)."""

_NAMED = re.compile(r"`np\.(\w+)` was removed in the NumPy 2\.0 release\. Use (.+?) instead")
"""numpy's own message for an alias it removed in 2.0 (``np.float_``, ``np.NaN``, ``np.alltrue`` ...)."""

PYTHON2_RUNTIME = (
    Idiom("xrange", "range", r"name 'xrange' is not defined", "xrange(3)"),
    Idiom("unicode", "str", r"name 'unicode' is not defined", "unicode('a')"),
    Idiom("long", "int", r"name 'long' is not defined", "long(3)"),
    Idiom("basestring", "str", r"name 'basestring' is not defined", "basestring"),
    Idiom("reduce", "functools.reduce", r"name 'reduce' is not defined", "reduce(max, [1])"),
    Idiom("dict.has_key", "`key in d`", r"'dict' object has no attribute 'has_key'", "d.has_key('a')"),
    Idiom(
        "dict.iteritems/itervalues/iterkeys",
        "d.items() / d.values() / d.keys()",
        r"'dict' object has no attribute 'iter(items|values|keys)'",
        "d.iteritems()",
    ),
    Idiom(
        "print >>f, ...",
        "print(..., file=f)",
        r"unsupported operand type\(s\) for >>: 'builtin_function_or_method'",
        "print >> x, 'a'",
    ),
    Idiom(
        "integer division: `/` of two integers",
        "`//` for sizes and indices (Python 3's `/` always gives a float)",
        r"'float' object cannot be interpreted as an integer|slice indices must be integers"
        r"|only integers, slices \(`:`\), ellipsis",
        "x[: 3 / 2]",
    ),
)
"""Python 2 idioms that compile under Python 3 but fail when run."""

_FRAME = re.compile(r'^\s*File "([^"]+)", line (\d+), in (\S+)\n(?:\s{4}(.*))?', re.MULTILINE)


def where(traceback: str) -> str:
    """``relu.py line 7 (`x = x.astype(np.float)`)``: the student's deepest frame, or 'your code'."""
    frames = _FRAME.findall(traceback or "")
    if not frames:
        return "your code"
    file, line, _, source = frames[-1]
    source = source.strip()
    return f"{file} line {line}" + (f" (`{source[:120]}`)" if source else "")


def cause(error: str, traceback: str = "") -> str:
    """The numpy 1.x or Python 2 idiom behind an exception, worded for the student; '' when none fits."""
    text = f"{error}\n{_last_line(traceback)}"
    at = where(traceback)
    named = _NAMED.search(text)
    if named:
        return NUMPY1.format(idiom=f"np.{named.group(1)}", where=at, instead=named.group(2))
    for idiom in NUMPY1_IDIOMS:
        if re.search(idiom.error, text):
            return NUMPY1.format(idiom=idiom.idiom, where=at, instead=idiom.instead)
    for idiom in PYTHON2_RUNTIME:
        if re.search(idiom.error, text):
            return PYTHON2.format(kinds=idiom.idiom, advice=f"use {idiom.instead}") + f"; at {at}"
    return ""


def _last_line(traceback: str) -> str:
    lines = [line for line in (traceback or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""


def summary(text: str) -> str:
    """A hint or message of this module (or ``syntax.PYTHON2``'s) without where it was found, so
    that a class's students who wrote the same idiom count together; '' for any other text."""
    numpy1 = re.match(r"written for numpy 1\.x: (.+?) at ", text)
    if numpy1:
        return f"written for numpy 1.x: {numpy1.group(1)}"
    python2 = re.search(r"this is Python 2 code \(([^;]+?)\);", text)
    return f"this is Python 2 code ({python2.group(1)})" if python2 else ""
