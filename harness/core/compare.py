"""Tolerant comparison of a submission's array with the reference's, and its message.

``compare(got, expected)`` walks a fixed ladder -- shape, dtype, NaN/inf, values -- and
stops the verdict at the first rung that fails, while still collecting the facts of the
later rungs where they make sense. The result is a one-line ``message`` for the student,
``facts`` in the fixed order of the house style, and JSON-able ``numbers`` for reports.

Elements are named by their place in the assignment's volumes (``coordinates``): a
feature-map row ``r`` of ``(h*w*c, n)`` data is ``(h=r % h, w=(r // h) % w, c=r // (h*w))``
(Fortran flattening, height fastest); a conv-weight row is a kernel offset and input
channel, its column a filter. ``harness.checks.gradcheck`` names elements with the same helper.

Tolerance (the full analysis is in ``docs/tolerances.md``): an element passes when

    |got - expected| <= ATOL_SCALE * max|expected| + RTOL * |expected|

* Correct code may compute in float32 (unit round-off u = 2**-24 = 6e-8). Every graded
  value is a sum of K products (K = 25 for conv1 outputs, 500 for conv2, 800 for the inner
  product, 1250 for conv2's input gradient, up to 24*24*100 = 57600 for conv1's weight
  gradient at batch 100). The round-off of a sum grows with the size of its *terms*, not of
  its result: with random-signed terms the result is ~sqrt(K) terms big, and recursive
  float32 summation errs by ~u*sqrt(K)/10 of the array's largest value (std), about
  7e-6 of it at 5 standard deviations for K = 57600 (blocked BLAS sums: 10x less). An
  element that comes out small by cancellation carries that same absolute error, so the
  absolute part is scaled to the array's magnitude: ATOL_SCALE = 1e-5.
* Errors proportional to an element's own size (float32 exp/log with arguments up to
  ~100 err by ~u*|z| ~ 6e-6 relative; a sum of positive log-terms is no better) are
  covered by RTOL = 1e-4 on top.
* Every plausible mistake is at least 1e-2 relative -- a gradient divided by the batch
  size (2..100) is off by 50%..99%, a factor 2 by 100%, a sign by 200%; a transpose, a
  flipped kernel, a missing bias or an off-by-one window move values by their own size,
  and a single misrouted element by the size of one upstream gradient -- two to five
  orders of magnitude above these tolerances.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, SupportsFloat

import numpy as np

RTOL = 1e-4
"""Relative part: errors proportional to the element itself (float32 transcendental functions)."""
ATOL_SCALE = 1e-5
"""Absolute part, as a fraction of the largest |expected|: float32 round-off of long sums."""
ABS_FLOOR = 1e-12
"""Absolute tolerance when every expected value is zero (no scale to relate to)."""
MAX_POSITIONS = 3
"""How many NaN/inf positions a fact lists."""


@dataclass(frozen=True)
class Comparison:
    """The outcome of comparing one returned array with the expected one."""

    ok: bool
    """True when shape, dtype and every value are acceptable."""
    message: str
    """One line for the student, e.g. ``y: 54 of 150 elements differ (rtol 1e-4, ...)``."""
    facts: tuple[str, ...]
    """Further lines in the fixed order: shape, dtype, NaN/inf positions, worst element, errors, tolerance."""
    numbers: dict[str, Any]
    """JSON-able details: mismatched, total, max_abs, max_rel, worst_index, worst_coords, got,
    expected, rtol, atol (absolute, effective), atol_scale, scale, shape, expected_shape, dtype,
    nan, inf. Values that would reveal expected numbers (got, expected, max_abs, max_rel, atol,
    scale) are None for hidden cases."""


# ---- naming elements --------------------------------------------------------------------


def coordinates(
    index: tuple[int, ...],
    shape: tuple[int, ...],
    volume: tuple[Any, ...] | None = None,
    volume_kind: str = "map",
) -> tuple[str, dict[str, Any] | None]:
    """Name one element of an array by its place in the assignment's layouts.

    ``volume_kind``:
    * ``"map"``: ``shape == (h*w*c, n)``, ``volume == (h, w, c)`` -> ``(h=2, w=0, c=1, n=3)``;
    * ``"kernel"``: conv weights ``(k*k*c, num)``, ``volume == (k, k, c)``
      -> ``kernel (dh=2, dw=0, c=1) -> filter 3``;
    * ``"wb"``: mlrloss parameters, 1-D, ``volume == (K-1, N)`` -> ``theta[2, 17]`` or ``bias[3]``.
    Anything else, or a volume that does not fit the shape, is named by its plain index
    ``[i, j]``. Returns the text and a dict of the coordinates (None for a plain index).
    """
    index = tuple(int(i) for i in index)
    if volume is not None and volume_kind == "wb" and len(shape) == 1 and len(volume) == 2:
        classes, features = (int(v) for v in volume)
        if shape[0] == classes * (features + 1):
            (i,) = index
            if i < classes * features:
                k, j = divmod(i, features)
                return (
                    f"theta[{k}, {j}] (class {k}, feature {j})",
                    {"part": "theta", "class": k, "feature": j},
                )
            k = i - classes * features
            return f"bias[{k}] (class {k})", {"part": "bias", "class": k}
    if volume is not None and len(shape) == 2 and len(volume) == 3:
        h, w, c = (int(v) for v in volume)
        if shape[0] == h * w * c:
            r, col = index
            ih, iw, ic = r % h, (r // h) % w, r // (h * w)
            if volume_kind == "kernel":
                return (
                    f"kernel (dh={ih}, dw={iw}, c={ic}) -> filter {col}",
                    {"dh": ih, "dw": iw, "c": ic, "filter": col},
                )
            if volume_kind == "map":
                return f"(h={ih}, w={iw}, c={ic}, n={col})", {"h": ih, "w": iw, "c": ic, "n": col}
    return "[" + ", ".join(str(i) for i in index) + "]", None


def shape_facts(
    got_shape: tuple[Any, ...],
    expected_shape: tuple[Any, ...],
    volume: tuple[Any, ...] | None = None,
    volume_kind: str = "map",
    bias_like: bool = False,
) -> list[str]:
    """Facts about a wrong shape: the transpose, the same number of elements, what the rows mean."""
    got_shape, expected_shape = tuple(got_shape), tuple(expected_shape)
    facts = [f"shape {fmt_shape(got_shape)}, expected {fmt_shape(expected_shape)}"]
    got_size, expected_size = int(np.prod(got_shape)), int(np.prod(expected_shape))
    if len(got_shape) == 2 and got_shape == expected_shape[::-1]:
        facts.append("that is the expected shape transposed: look for a missing or an extra transpose (.T)")
    elif got_size == expected_size:
        facts.append(
            f"same number of elements ({expected_size}): check the order in which you reshape or flatten"
        )
    else:
        facts.append(f"{got_size} elements, expected {expected_size}")
    column = len(expected_shape) == 2 and expected_shape[0] == 1 and got_shape == expected_shape[::-1]
    if bias_like and column:
        facts.append(
            f"a bias gradient is a row {fmt_shape(expected_shape)} (or 1-D "
            f"{fmt_shape(expected_shape[1:])}), not a column"
        )
    if volume is not None and len(volume) == 3 and len(expected_shape) == 2:
        h, w, c = volume
        if volume_kind == "map":
            facts.append(
                f"expected rows: h*w*c = {h}*{w}*{c} = {h * w * c}, the Fortran "
                f"flattening of an (h, w, c) volume; one column per image ({expected_shape[1]})"
            )
        elif volume_kind == "kernel":
            facts.append(
                f"expected rows: k*k*c = {h}*{w}*{c} = {h * w * c} (one per kernel "
                f"offset and input channel); one column per filter ({expected_shape[1]})"
            )
    return facts


def fmt_shape(shape: tuple[Any, ...]) -> str:
    return "(" + ", ".join(str(int(s)) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def fmt(v: SupportsFloat) -> str:
    """A number as a student reads it: 6 significant digits."""
    return f"{float(v):.6g}"


def sci(v: SupportsFloat) -> str:
    """A tolerance as people write it: ``1e-4``, ``2.5e-5``, ``0.5``."""
    v = float(v)
    if v == 0 or 1e-2 <= abs(v) < 1e4:
        return f"{v:g}"
    mantissa, exponent = f"{v:.2e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"


def tolerance_text(rtol: float, atol_scale: float) -> str:
    return f"rtol {sci(rtol)}, atol {sci(atol_scale)} x max|expected|"


# ---- the ladder ---------------------------------------------------------------------------


def compare(
    got: np.ndarray,
    expected: np.ndarray,
    *,
    what: str = "output",
    volume: tuple[Any, ...] | None = None,
    volume_kind: str = "map",
    dtype: str | None = None,
    hide_expected: bool = False,
    bias_like: bool = False,
    rtol: float = RTOL,
    atol_scale: float = ATOL_SCALE,
) -> Comparison:
    """Compare a submission's array (already float64) with the expected one.

    ``what`` names the array in messages (``y``, ``dL/dw``); ``volume``/``volume_kind`` name
    elements (see ``coordinates``); ``dtype`` is what the submission returned before the
    conversion to float64 (non-floating fails, float32 is fine when values are within
    tolerance); ``hide_expected`` keeps expected values and error sizes out of the
    message, the facts and the numbers (hidden cases); ``bias_like`` accepts ``(1, n)`` and
    ``(n,)`` for each other (biases and their gradients, as the contract allows).
    """
    got = np.asarray(got, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if not np.all(np.isfinite(expected)):
        raise ValueError(f"expected {what} has NaN or inf values: the reference or the case is broken")
    numbers = {
        "mismatched": None,
        "total": int(expected.size),
        "max_abs": None,
        "max_rel": None,
        "worst_index": None,
        "worst_coords": None,
        "got": None,
        "expected": None,
        "rtol": rtol,
        "atol": None,
        "atol_scale": atol_scale,
        "scale": None,
        "shape": list(got.shape),
        "expected_shape": list(expected.shape),
        "dtype": dtype or "float64",
        "nan": None,
        "inf": None,
    }
    if bias_like and got.shape != expected.shape and bias_equivalent(got.shape, expected.shape):
        got = got.reshape(expected.shape)

    facts: list[str] = []
    if got.shape != expected.shape:
        facts += shape_facts(got.shape, expected.shape, volume, volume_kind, bias_like)
        facts += _dtype_facts(dtype)
        message = f"{what} has shape {fmt_shape(got.shape)}, expected {fmt_shape(expected.shape)}"
        return Comparison(False, message, tuple(facts), numbers)

    facts += _dtype_facts(dtype)
    bad_dtype = dtype if dtype is not None and not _is_floating(dtype) else None  # its name, when refused

    nan, inf = np.isnan(got), np.isinf(got)
    numbers.update(nan=int(nan.sum()), inf=int(inf.sum()))
    if nan.any() or inf.any():
        facts += nonfinite_facts(nan, inf, volume, volume_kind)
        message = (
            f"{what} has {_count_nonfinite(nan, inf)} among {got.size} elements"
            if got.ndim
            else f"{what} is {'NaN' if nan.any() else fmt(got)}"
        )
        if bad_dtype:
            message = _dtype_message(what, bad_dtype)
        return Comparison(False, message, tuple(facts), numbers)

    values = _values(got, expected, rtol, atol_scale, volume, volume_kind, hide_expected, numbers)
    ok, value_message, value_facts = values
    if bad_dtype:
        facts.append(f"values: {value_message}")
        return Comparison(False, _dtype_message(what, bad_dtype), tuple(facts), numbers)
    return Comparison(
        ok,
        f"{what}: {value_message}" if got.ndim else f"{what} {value_message}",
        tuple(facts + value_facts),
        numbers,
    )


def largest(expected: np.ndarray) -> float:
    """``max |expected|``, the scale of the absolute tolerance (0 for an empty array)."""
    return float(np.max(np.abs(expected))) if expected.size else 0.0


def absolute_tolerance(scale: float, atol_scale: float = ATOL_SCALE) -> float:
    """The absolute part of the tolerance for an array of largest magnitude ``scale``."""
    return atol_scale * scale if scale > 0 else ABS_FLOOR


def allowed_error(
    expected: np.ndarray, scale: float | None = None, rtol: float = RTOL, atol_scale: float = ATOL_SCALE
) -> np.ndarray:
    """The largest ``|got - expected|`` accepted at each element (the module docstring's formula);
    ``scale`` is ``max |expected|`` unless the caller relates the array to another one."""
    scale = largest(expected) if scale is None else scale
    allowed: np.ndarray = absolute_tolerance(scale, atol_scale) + rtol * np.abs(expected)
    return allowed


def within_tolerance(
    got: np.ndarray,
    expected: np.ndarray,
    scale: float | None = None,
    rtol: float = RTOL,
    atol_scale: float = ATOL_SCALE,
) -> np.ndarray:
    """Elements of ``got`` that pass against ``expected`` (NaN never does): the grader's predicate,
    used by the comparison and by the diagnosis alike."""
    with np.errstate(invalid="ignore"):
        inside: np.ndarray = np.abs(got - expected) <= allowed_error(expected, scale, rtol, atol_scale)
    return inside


def _values(
    got: np.ndarray,
    expected: np.ndarray,
    rtol: float,
    atol_scale: float,
    volume: tuple[int, ...] | None,
    volume_kind: str,
    hide: bool,
    numbers: dict[str, Any],
) -> tuple[bool, str, list[str]]:
    """The value rung: (ok, message without the array's name, facts)."""
    diff = np.abs(got - expected)
    scale = largest(expected)
    atol = absolute_tolerance(scale, atol_scale)
    allowed = allowed_error(expected, scale, rtol, atol_scale)
    bad = diff > allowed
    n_bad, total = int(bad.sum()), int(got.size)
    tol = tolerance_text(rtol, atol_scale)
    numbers.update(mismatched=n_bad)
    if not hide:  # atol = ATOL_SCALE * max|expected| would give the scale away
        numbers.update(
            atol=atol,
            scale=scale,
            max_abs=float(diff.max()) if diff.size else 0.0,
            max_rel=_max_rel(diff, expected),
        )
    if total == 0:
        return True, f"empty, as expected ({tol})", []
    if n_bad == 0:
        return (
            True,
            (f"all {total} elements within tolerance ({tol})" if got.ndim else f"within tolerance ({tol})"),
            [],
        )

    worst = tuple(int(i) for i in np.unravel_index(int(np.argmax(diff / allowed)), got.shape))
    where, coords = coordinates(worst, got.shape, volume, volume_kind)
    numbers.update(worst_index=[int(i) for i in worst], worst_coords=coords)
    if got.ndim == 0:
        message = f"differs ({tol})" if hide else f"differs: got {fmt(got)}, expected {fmt(expected)} ({tol})"
    else:
        message = f"{n_bad} of {total} elements differ ({tol})"
    facts = []
    if hide:
        if got.ndim:
            facts.append(f"worst at {where}")
        facts.append(
            f"tolerance: |got - expected| <= {sci(atol_scale)} x largest |expected| "
            f"+ {sci(rtol)} x |expected|"
        )
        return False, message, facts
    g, e = float(got[worst]), float(expected[worst])
    numbers.update(got=g, expected=e)
    if got.ndim:
        facts.append(f"worst at {where}: got {fmt(g)}, expected {fmt(e)}")
    rel = numbers["max_rel"]
    facts.append(
        f"largest error {numbers['max_abs']:.3g} absolute"
        + (f", {rel:.3g} relative" if rel is not None else "")
    )
    facts.append(
        f"tolerance: |got - expected| <= {sci(atol_scale)} x {scale:.3g} (largest |expected|) "
        f"+ {sci(rtol)} x |expected|"
    )
    return False, message, facts


def _max_rel(diff: np.ndarray, expected: np.ndarray) -> float | None:
    nonzero = expected != 0
    if not nonzero.any():
        return None
    with np.errstate(over="ignore"):  # a subnormal expected value: an infinite relative error
        return float(np.max(diff[nonzero] / np.abs(expected[nonzero])))


def bias_equivalent(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    """(1, n) and (n,) are the same bias (assignment contract); (n, 1) is not."""
    return (len(a) == 1 and b == (1, a[0])) or (len(b) == 1 and a == (1, b[0]))


def _is_floating(dtype: str) -> bool:
    try:
        return np.issubdtype(np.dtype(dtype), np.floating)
    except TypeError:
        return False


def _dtype_facts(dtype: str | None) -> list[str]:
    if dtype is None or dtype == "float64":
        return []
    if _is_floating(dtype):
        return [f"dtype {dtype}: accepted, its values are held to the same tolerance as float64"]
    return [f"dtype {dtype}: the values must be floating point (float64)"]


def _dtype_message(what: str, dtype: str) -> str:
    return f"{what} has dtype {dtype}, expected floating point (float64)"


def _count_nonfinite(nan: np.ndarray, inf: np.ndarray) -> str:
    parts = [f"{int(m.sum())} {name}" for m, name in ((nan, "NaN"), (inf, "inf")) if m.any()]
    return " and ".join(parts)


def nonfinite_facts(
    nan: np.ndarray, inf: np.ndarray, volume: tuple[int, ...] | None, volume_kind: str
) -> list[str]:
    facts = []
    for mask, name in ((nan, "NaN"), (inf, "inf")):
        if not mask.any():
            continue
        if mask.ndim == 0:
            facts.append(f"the value is {name}")
            continue
        # Memory order of the data: down a column (the Fortran flattening), then the next column.
        positions = (np.argwhere(mask.T)[:, ::-1] if mask.ndim == 2 else np.argwhere(mask))[:MAX_POSITIONS]
        names = "; ".join(coordinates(tuple(p), mask.shape, volume, volume_kind)[0] for p in positions)
        count = int(mask.sum())
        more = f" (first {MAX_POSITIONS})" if count > MAX_POSITIONS else ""
        facts.append(f"{name} at {count} element{'s' if count > 1 else ''}{more}: {names}")
    return facts
