"""A backward's gradient against central differences of a forward.

The grader differentiates the *reference's* forward (``checks.catalogue.gradcheck_outcome``:
a backward's verdict must not depend on the submission's forward); the function also checks
any forward it is given (``source`` names it in messages, ``roundoff`` is its precision).

Checking a gradient element by element costs two forward calls per element; checking it
along a few random directions costs a handful whatever the size. For a scalar
``L(x) = sum(dy * forward(x))`` (the forward itself when it is a scalar loss) and a
random unit vector ``u``, the backward's gradient ``g`` must satisfy

    <g, u> = dL/dt (x + t u) at t = 0,

which central differences estimate. A wrong gradient -- scaled by the batch size or by 2,
of the wrong sign, transposed, missing a term -- differs from the right one by a vector
``e`` whose projection on a random direction is, relative to the gradient's, about
``|e| / |g|``: 0.5 and more for those mistakes, so three directions all miss it only with
negligible probability.

Step and tolerance (the analysis is in ``docs/tolerances.md``):
* A correct forward may compute in float32, so L carries round-off noise sigma: at least
  the rounding of its output, ``U32 * |dy * y|`` (a floor the check always assumes), and
  whatever the fourth differences below reveal. The difference quotient errs by
  ~sigma / h, so the step should be large: ``h = STEP_REL * |x|`` along a unit ``u``
  moves every element by ~1% of the array's typical size, and the noise of the quotient
  relative to the derivative is then ~U32 / STEP_REL ~ 1e-5. Linear layers (conv, inner
  product) have no truncation error at any step.
* Piecewise-linear layers (relu, max pooling) have kinks. The caller passes
  ``kink_margin``: the smallest distance of an input to a kink (|x| for relu, the gap
  between a window's maximum and its runner-up for pooling). The largest move,
  ``2 h max|u|``, is kept to KINK_SAFETY * kink_margin / 2: no gap closes even when two
  elements move towards each other. Margins below KINK_MIN_REL * rms(x) are refused
  (ValueError: a grader error), as float32 noise would then swamp such small steps.
* L is evaluated at ``x``, ``x +- h u`` and ``x +- 2h u``. The two central differences
  give a Richardson extrapolation (truncation O(h^4)) and, by their disagreement, a bound
  on the truncation error; the fourth difference, zero for a cubic, estimates the noise
  (pooled over the directions). Smooth nonlinear forwards (mlrloss) truncate: when the
  estimated error exceeds TARGET of the scale, the step moves once to where truncation
  (~h^2) and noise (~1/h) balance.
* A direction passes when ``|<g, u> - numeric| <= GC_RTOL * scale + estimated error``, the
  scale being the larger of the two and of the typical projection |g| / sqrt(size).
  GC_RTOL = 1e-3 is two orders of magnitude above the float32 noise and well below the
  mistakes to catch. When the estimated error exceeds MAX_UNCERTAINTY * scale the check
  could no longer tell a 10% error from noise: it does not pass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.cases import reference
from harness.core.compare import (
    bias_equivalent,
    coordinates,
    fmt,
    fmt_shape,
    nonfinite_facts,
    sci,
    shape_facts,
)

U32 = 2.0**-24
"""Unit round-off of float32, the lowest precision a correct forward may compute in."""
U64 = 2.0**-53
"""Unit round-off of float64: the trusted reference forward's precision."""
STEP_REL = 1e-2
"""Step along a unit direction, relative to the array's norm (each element moves ~1% of its typical size)."""
KINK_SAFETY = 0.5
"""Fraction of the kink margin that perturbations may use (half of it, for two elements moving together)."""
GC_RTOL = 1e-3
"""Relative tolerance of a directional derivative (float32 noise ~1e-5, mistakes >= 5e-2)."""
NOISE_SIGMAS = 4.0
"""Standard deviations of the estimated round-off noise added to the tolerance."""
TARGET = GC_RTOL / 10
"""Estimated error, relative to the scale, above which the step is adapted (once)."""
NOISE_GAIN = 0.95
"""Standard deviation of the extrapolated quotient per unit of L's noise, times h:
sqrt(2 (4/3 / 2)^2 + 2 (1/3 / 4)^2)."""
MAX_UNCERTAINTY = 5e-2
"""Largest estimated error, relative to the scale, at which the check still decides: it then
still catches every gradient whose directional derivatives are 10% off or more."""
KINK_MIN_REL = 1e-3
"""Smallest kink margin accepted, relative to the rms of the input: below it, steps small enough
to stay off the kinks drown in a float32 forward's round-off (a grader error, raised)."""
CONSISTENT_RATIO = 1e-2
"""Directional ratios that agree this closely are reported as one factor."""


@dataclass(frozen=True)
class GradcheckResult:
    """The outcome of checking one gradient against finite differences of the forward."""

    ok: bool
    """True when the gradient agrees with the forward along every random direction."""
    message: str
    """One line for the student."""
    facts: tuple[str, ...]
    """Further lines: shape or NaN problems, the directional derivatives, entries, the tolerance."""
    numbers: dict[str, Any]
    """JSON-able: analytic, numeric, rel_errors, allowed, scales, error_estimates, eps (per direction),
    rtol, noise, forward_calls, ratio, entries."""


class _Unusable(Exception):
    """The forward returned something the loss cannot be built from."""


class _Objective:
    """``L(x) = sum(dy * forward(inputs with x))``, counting forward calls."""

    def __init__(
        self,
        forward: Callable[[dict[str, Any]], np.ndarray],
        inputs: dict[str, Any],
        wrt: str,
        dy: np.ndarray | None,
        source: str = "your forward",
        roundoff: float = U32,
    ):
        self.forward, self.inputs, self.wrt, self.dy = forward, inputs, wrt, dy
        self.source, self.roundoff = source, roundoff
        # Noise ~ roundoff / h, truncation of the extrapolation ~ h^4: a more precise forward
        # takes a smaller first step (float64: ~40x smaller than STEP_REL).
        self.step_rel = STEP_REL * (roundoff / U32) ** 0.2
        self.calls = 0
        self.rounding = 0.0
        """L's round-off if the forward's output were rounded to float32 (accepted): a noise floor."""

    def __call__(self, x: np.ndarray) -> float:
        self.calls += 1
        out = np.asarray(self.forward({**self.inputs, self.wrt: x.copy()}), dtype=np.float64)
        if self.dy is None:
            if out.size != 1:
                raise _Unusable(f"{self.source} returned shape {fmt_shape(out.shape)}, expected a scalar")
            value = float(out.reshape(()))
            rounding = self.roundoff * abs(value)
        else:
            if out.shape != self.dy.shape:
                raise _Unusable(
                    f"{self.source} returned shape {fmt_shape(out.shape)}, expected {fmt_shape(self.dy.shape)}"
                )
            weighted = self.dy.ravel() * out.ravel()
            value, rounding = float(weighted.sum()), self.roundoff * float(np.linalg.norm(weighted))
        if not np.isfinite(value):
            raise _Unusable(f"{self.source} returned NaN or inf at a slightly changed input")
        self.rounding = max(self.rounding, rounding)
        return value


def gradcheck(
    forward: Callable[[dict[str, Any]], np.ndarray],
    inputs: dict[str, np.ndarray],
    wrt: str,
    grad: np.ndarray,
    *,
    dy: np.ndarray | None,
    rng: np.random.Generator,
    n_probes: int = 3,
    kink_margin: float | None = None,
    entries: int = 4,
    volume: tuple[Any, ...] | None = None,
    volume_kind: str = "map",
    what: str = "gradient",
    source: str = "your forward",
    roundoff: float = U32,
) -> GradcheckResult:
    """Check ``grad`` (the backward's dL/d inputs[wrt]) against the forward's finite differences.

    ``forward(arrays)`` returns the submission's forward output for the canonical inputs
    (float64; a 0-d array for a scalar loss); its exceptions propagate. ``dy`` weights the
    output into a scalar (None: the output is the scalar). ``kink_margin``: every input
    is at least this far from a kink of a piecewise-linear forward (see the module
    docstring). Costs ``1 + 4 * n_probes`` forward calls, at most ``1 + 8 * n_probes`` when
    steps adapt, plus ``2 * entries`` on failure (entries along unit vectors, for the facts).
    """
    x0 = np.asarray(inputs[wrt], dtype=np.float64)
    grad = np.asarray(grad, dtype=np.float64)
    rms = float(np.sqrt(np.mean(np.square(x0)))) if x0.size else 0.0
    if kink_margin is not None and not (kink_margin > 0 and kink_margin >= KINK_MIN_REL * rms):
        raise ValueError(
            f"kink_margin {kink_margin:.3g} is below {KINK_MIN_REL:g} x rms(inputs[{wrt!r}]) "
            f"= {KINK_MIN_REL * rms:.3g}: generate inputs further from the kinks"
        )
    numbers = {
        "analytic": [],
        "numeric": [],
        "rel_errors": [],
        "allowed": [],
        "scales": [],
        "error_estimates": [],
        "eps": [],
        "rtol": GC_RTOL,
        "noise": None,
        "forward_calls": 0,
        "ratio": None,
        "entries": [],
        "kink_margin": kink_margin,
    }
    if grad.shape != x0.shape and bias_equivalent(grad.shape, x0.shape):
        grad = grad.reshape(x0.shape)
    if grad.shape != x0.shape:
        message = f"{what} has shape {fmt_shape(grad.shape)}, expected {fmt_shape(x0.shape)}"
        return GradcheckResult(
            False,
            message,
            tuple(shape_facts(grad.shape, x0.shape, volume, volume_kind, bias_like=True)),
            numbers,
        )
    nan, inf = np.isnan(grad), np.isinf(grad)
    if nan.any() or inf.any():
        return GradcheckResult(
            False,
            f"{what} has NaN or inf values",
            tuple(nonfinite_facts(nan, inf, volume, volume_kind)),
            numbers,
        )
    if x0.size == 0:
        return GradcheckResult(True, f"{what} is empty, as expected", (), numbers)

    objective = _Objective(
        forward, inputs, wrt, None if dy is None else np.asarray(dy, np.float64), source, roundoff
    )
    try:
        return _check(
            objective, x0, grad, rng, n_probes, kink_margin, entries, volume, volume_kind, what, numbers
        )
    except _Unusable as exc:
        numbers["forward_calls"] = objective.calls
        return GradcheckResult(
            False,
            f"{what} cannot be checked: {exc}",
            ("fix the forward first: the gradient is checked against it",),
            numbers,
        )


def _check(
    L: _Objective,
    x0: np.ndarray,
    grad: np.ndarray,
    rng: np.random.Generator,
    n_probes: int,
    kink_margin: float | None,
    entries: int,
    volume: tuple[int, ...] | None,
    volume_kind: str,
    what: str,
    numbers: dict[str, Any],
) -> GradcheckResult:
    size = x0.size
    norm = float(np.linalg.norm(x0))
    base = norm if norm > 0 else float(np.sqrt(size))
    typical = float(np.linalg.norm(grad)) / np.sqrt(size)  # |<grad, u>| for a random unit u
    L0 = L(x0)
    probes = [_probe(L, L0, x0, grad, rng, base, typical, kink_margin) for _ in range(n_probes)]

    # Round-off noise of L, pooled over the directions' fourth differences.
    noise = max(
        float(np.sqrt(np.mean([p["fourth"] ** 2 for p in probes]) / 70)),
        L.rounding,
        4 * np.finfo(float).eps * max(p["magnitude"] for p in probes),
    )
    numbers["noise"] = noise

    passed = conclusive = 0
    for p in probes:
        h, analytic, numeric = p["h"], p["analytic"], p["numeric"]
        error = p["truncation"] + NOISE_SIGMAS * NOISE_GAIN * noise / h
        scale = max(abs(analytic), abs(numeric), typical)
        allowed = GC_RTOL * scale + error
        passed += abs(analytic - numeric) <= allowed
        conclusive += error <= MAX_UNCERTAINTY * scale
        for key, value in (
            ("analytic", analytic),
            ("numeric", numeric),
            ("allowed", allowed),
            ("scales", scale),
            ("error_estimates", error),
            ("eps", h),
            ("rel_errors", abs(analytic - numeric) / scale if scale > 0 else 0.0),
        ):
            numbers[key].append(float(value))
    numbers["forward_calls"] = L.calls

    n = n_probes
    worst = max(numbers["rel_errors"])
    if passed == n and conclusive == n:
        return GradcheckResult(
            True,
            f"{what} agrees with finite differences of {L.source} in {n} "
            f"random directions (largest relative difference {worst:.2g})",
            (),
            numbers,
        )

    facts = _probe_facts(numbers, L.source)
    ratio = _common_ratio(numbers["analytic"], numbers["numeric"], numbers["scales"])
    if ratio is not None:
        numbers["ratio"] = ratio
        facts.append(f"in every direction your gradient is {ratio:.4g} times the finite difference")
    if passed == n:
        message = (
            f"{what} could not be checked: finite differences of {L.source} disagree with "
            "each other (does it return the same output twice for the same input?)"
        )
    else:
        message = (
            f"{what} disagrees with finite differences of {L.source} in {n - passed} of "
            f"{n} random directions (rtol {sci(GC_RTOL)})"
        )
    facts += _entries(L, x0, grad, rng, entries, kink_margin, base, volume, volume_kind, numbers)
    numbers["forward_calls"] = L.calls
    facts.append(
        f"tolerance: |yours - finite difference| <= {sci(GC_RTOL)} x the larger of the two "
        "(or of your gradient's typical projection) + the estimated finite-difference error; "
        f"steps {sci(min(numbers['eps']))}..{sci(max(numbers['eps']))} along unit-norm directions"
    )
    return GradcheckResult(False, message, tuple(facts), numbers)


def _probe(
    L: _Objective,
    L0: float,
    x0: np.ndarray,
    grad: np.ndarray,
    rng: np.random.Generator,
    base: float,
    typical: float,
    kink_margin: float | None,
) -> dict[str, Any]:
    """One random direction: difference quotients at steps h and 2h, the step adapted once.

    The step starts at ``STEP_REL * |x|`` (capped by the kink margin). When the estimated
    error exceeds TARGET of the scale, the step moves once to where truncation (~h^2) and
    noise (~1/h) balance, ``h * (noise / (2 truncation))^(1/3)``, and the better try is kept.
    """
    u = rng.standard_normal(x0.shape)
    u /= np.linalg.norm(u)
    cap = np.inf if kink_margin is None else KINK_SAFETY * kink_margin / (4 * float(np.abs(u).max()))
    analytic = float(np.dot(grad.ravel(), u.ravel()))
    best = _quotients(L, L0, x0, u, min(L.step_rel * base, cap))
    scale = max(abs(analytic), abs(best["numeric"]), typical)
    if best["truncation"] + best["noise"] > TARGET * scale:
        h = best["h"] * (best["noise"] / max(2 * best["truncation"], 1e-300)) ** (1 / 3)
        h = float(np.clip(h, best["h"] / 100, min(10 * best["h"], cap)))
        if not best["h"] / 1.5 <= h <= 1.5 * best["h"]:
            try:
                other = _quotients(L, L0, x0, u, h)
            except reference.UNRECORDED:
                # the student kit answers the points a correct gradient's check takes; this step
                # depends on the submission's gradient: the first step's quotient stands
                return {**best, "analytic": analytic}
            if other["truncation"] + other["noise"] < best["truncation"] + best["noise"]:
                best = other
    return {**best, "analytic": analytic}


def _quotients(L: _Objective, L0: float, x0: np.ndarray, u: np.ndarray, h: float) -> dict[str, Any]:
    """Central differences at h and 2h: their Richardson extrapolation and error estimates."""
    p1, m1, p2, m2 = (L(x0 + t * h * u) for t in (1, -1, 2, -2))
    d1, d2 = (p1 - m1) / (2 * h), (p2 - m2) / (4 * h)
    fourth = p2 - 4 * p1 + 6 * L0 - 4 * m1 + m2  # zero for a cubic: round-off, std sqrt(70) sigma
    return {
        "h": h,
        "numeric": (4 * d1 - d2) / 3,  # Richardson extrapolation: O(h^4)
        "truncation": abs(d2 - d1) / 3,  # d1's O(h^2) error: a bound for the extrapolation's
        "noise": NOISE_SIGMAS * NOISE_GAIN * max(abs(fourth) / np.sqrt(70), L.rounding) / h,
        "fourth": fourth,
        "magnitude": max(abs(L0), abs(p1), abs(m1), abs(p2), abs(m2)),
    }


def _probe_facts(numbers: dict[str, Any], source: str) -> list[str]:
    """The directions where your gradient and the finite differences disagree (those that
    agree are only counted: listing them hides the evidence among agreements)."""
    facts = []
    triples = list(zip(numbers["analytic"], numbers["numeric"], numbers["allowed"]))
    for i, (a, num, allowed) in enumerate(triples, 1):
        if abs(a - num) > allowed:
            facts.append(
                f"direction {i}: your gradient gives {fmt(a)}, finite differences of {source} "
                f"{fmt(num)} (differ by {abs(a - num):.3g}, allowed {allowed:.3g})"
            )
    agree = len(triples) - len(facts)
    if facts and agree:
        facts.append(f"in the other {agree} direction{'s' if agree != 1 else ''} they agree")
    return facts


def _common_ratio(analytic: list[float], numeric: list[float], scales: list[float]) -> float | None:
    """analytic / numeric when it is the same factor (other than 1) in every direction.

    The factor is the least-squares one; it is common when every direction fits it to
    CONSISTENT_RATIO of that direction's scale.
    """
    a, n, s = np.array(analytic), np.array(numeric), np.array(scales)
    if not n.any():
        return None
    r = float(np.dot(a, n) / np.dot(n, n))
    if r == 0 or abs(r - 1) <= CONSISTENT_RATIO:
        return None
    if np.all(np.abs(a - r * n) <= CONSISTENT_RATIO * s):
        return r
    return None


ENTRY_RTOL = 1e-2
"""An entry's one central difference (no error estimate, unlike the directions) disagrees
with the gradient beyond this share of the larger of the two, or of a typical entry."""


def _entries(
    L: _Objective,
    x0: np.ndarray,
    grad: np.ndarray,
    rng: np.random.Generator,
    count: int,
    kink_margin: float | None,
    base: float,
    volume: tuple[int, ...] | None,
    volume_kind: str,
    numbers: dict[str, Any],
) -> list[str]:
    """Finite differences along unit vectors: at the largest |grad| entries, then random ones.
    Every entry goes into ``numbers``; the facts list those that disagree (by ENTRY_RTOL) and
    count the others."""
    if count <= 0:
        return []
    flat = np.abs(grad).ravel()
    chosen = list(np.argsort(-flat, kind="stable")[: (count + 1) // 2])
    rest = np.setdiff1d(np.arange(flat.size), chosen)
    if rest.size:
        chosen += list(rng.choice(rest, size=min(count - len(chosen), rest.size), replace=False))
    rms = base / np.sqrt(x0.size)
    typical = float(np.linalg.norm(grad)) / np.sqrt(grad.size)
    facts = []
    agree = 0
    for flat_index in chosen:
        index = tuple(int(i) for i in np.unravel_index(int(flat_index), x0.shape))
        h = L.step_rel * max(abs(float(x0[index])), rms)
        if kink_margin is not None:
            h = min(h, KINK_SAFETY * kink_margin / 2)
        x = x0.copy()
        x[index] += h
        plus = L(x)
        x[index] = x0[index] - h
        numeric = (plus - L(x)) / (2 * h)
        where, coords = coordinates(index, x0.shape, volume, volume_kind)
        numbers["entries"].append(
            {
                "index": [int(i) for i in index],
                "coords": coords,
                "analytic": float(grad[index]),
                "numeric": float(numeric),
                "eps": h,
            }
        )
        scale = max(abs(float(grad[index])), abs(float(numeric)), typical)
        if abs(float(grad[index]) - float(numeric)) <= ENTRY_RTOL * scale:
            agree += 1
            continue
        facts.append(f"at {where}: your gradient {fmt(grad[index])}, finite difference {fmt(numeric)}")
    if agree:
        facts.append(
            f"{agree} of {len(chosen)} entries checked one by one agree with the finite difference"
            + (" (not listed)" if facts else "")
        )
    return facts
