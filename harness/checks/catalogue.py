"""The check catalogue: what is checked for each graded operation, and how one case is judged.

Checks run the submission through a ``Sandbox`` and judge in the parent. They see only
canonical arrays (``harness.core.ops``), never a calling convention. Per operation:

- ``forward.<layer>`` / ``backward.<layer>.<grad>``: each fixture case against the reference;
- ``hidden.forward.<layer>`` ...: the same on cases generated at grade time ($HARNESS_HIDDEN_SEED or ``--hidden-seed-file``);
- ``gradcheck.<layer>.<grad>``: the submission's backward against central differences of
  the *reference's* forward (trusted, computed in the grader), by random projections on
  random cases: a backward's verdict never depends on the submission's forward;
- ``properties.<layer>.<kind>``: inputs left untouched, output dict fields, finite floating
  output, two calls agree.

Invariant (the rule for points, README): value checks (``fixture``, ``hidden``) compare with
expected values; the other kinds (``gradcheck``, ``properties``) are *qualifying* checks,
each ``gated_by`` value checks of the same function: they can confirm a function that
computes the right values, never earn points for one that does not (``rubric.score``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness import profiles
from harness.cases import catalogue as cases_mod
from harness.cases import reference
from harness.cases.catalogue import Case
from harness.checks.gradcheck import U64, GradcheckResult, gradcheck
from harness.child import protocol
from harness.core.compare import compare
from harness.core.ops import OPS, Op, output_meta, volume_shape
from harness.diagnose import engine as diagnose
from harness.diagnose import legacy
from harness.sandbox.replies import Reply, Returned

NOT_IMPLEMENTED = "not implemented"
STATE_LEFTOVERS = (
    "the same call gave another result after other calls (another layer object's forward, "
    "and a forward on other inputs on this object first): keep what backward needs on the "
    "object (self), not on the class, and take it from the last forward"
)


VALUE_KINDS = ("fixture", "hidden")
"""Check kinds that compare with expected values: the only evidence of correctness."""


@dataclass(frozen=True)
class CheckSpec:
    """One check of the catalogue."""

    id: str
    """Stable dotted id, e.g. ``backward.conv.w``."""
    op: str
    """The operation it calls, a key of ``harness.core.ops.OPS``."""
    kind: str
    """``fixture`` | ``hidden`` (value checks) | ``gradcheck`` | ``properties`` (qualifying)."""
    output: str = ""
    """The canonical output judged (fixture, hidden, gradcheck); empty for properties."""
    function: str = ""
    """The submission's function under test (its points are that function's)."""
    gated_by: tuple[str, ...] = ()
    """Value checks whose passed fraction scales this check's points; empty for a value check."""


@dataclass
class CaseOutcome:
    """The verdict on one case of a check."""

    case: str
    ok: bool
    message: str = ""
    facts: tuple[Any, ...] = ()
    numbers: dict[str, Any] = field(default_factory=dict)
    hint: str = ""
    error: str = ""  # set when the submission crashed: the check is an ERROR
    traceback: str = ""
    output: str = ""
    scales: dict[str, float] = field(default_factory=dict)
    """The accepted scales other than the contract's that this case tells apart from it,
    ``{description: factor}`` (:func:`accepted_scales`); ``numbers['accepted_as']`` names the one
    it passed at. :func:`hold_scales` reads them across a check's cases."""


def grad_outputs(op: Op) -> tuple[str, ...]:
    """The gradients a backward (or loss) op returns."""
    return op.grads()


def catalogue(function_names: dict[str, Any]) -> list[CheckSpec]:
    """Every check, in report order. ``function_names`` maps op name -> submission function:
    the profile's ``FUNCTIONS``, which also says which ops its family grades."""
    specs = []
    for op in (o for o in OPS.values() if o.name in function_names):
        fn = function_names[op.name]
        layer = op.layer
        if op.kind == "forward":
            value = (f"forward.{layer}", f"hidden.forward.{layer}")
            specs.append(CheckSpec(value[0], op.name, "fixture", "y", fn))
            specs.append(CheckSpec(value[1], op.name, "hidden", "y", fn))
            specs.append(CheckSpec(f"properties.{layer}.forward", op.name, "properties", "", fn, value))
            continue
        values: list[str] = []
        if op.kind == "loss":
            values += [f"forward.{layer}", f"hidden.forward.{layer}"]
            specs.append(CheckSpec(values[0], op.name, "fixture", op.value, fn))
            specs.append(CheckSpec(values[1], op.name, "hidden", op.value, fn))
        for out in grad_outputs(op):
            specs.append(CheckSpec(f"backward.{layer}.{out}", op.name, "fixture", out, fn))
        for out in grad_outputs(op):
            specs.append(CheckSpec(f"hidden.backward.{layer}.{out}", op.name, "hidden", out, fn))
        for out in grad_outputs(op):
            own = (f"backward.{layer}.{out}", f"hidden.backward.{layer}.{out}")
            values += own
            specs.append(CheckSpec(f"gradcheck.{layer}.{out}", op.name, "gradcheck", out, fn, own))
        specs.append(
            CheckSpec(
                f"properties.{layer}" + ("" if op.kind == "loss" else ".backward"),
                op.name,
                "properties",
                "",
                fn,
                tuple(values),
            )
        )
    return specs


# ---- judging one returned value --------------------------------------------------------


def failed_call(reply: Reply, case: str) -> CaseOutcome:
    """A case whose call did not return: the submission crashed, timed out or is unfinished."""
    if reply.status == protocol.NOT_IMPLEMENTED:
        return CaseOutcome(
            case,
            False,
            NOT_IMPLEMENTED,
            error=NOT_IMPLEMENTED,
            traceback=reply.traceback,
            output=reply.output,
        )
    what = {protocol.MEMORY: "ran out of memory (MemoryError)"}.get(reply.status, reply.error)
    raised = reply.status == protocol.EXCEPTION
    return CaseOutcome(
        case,
        False,
        f"raised {what}" if raised else what,
        hint=legacy.cause(reply.error, reply.traceback) if raised else "",  # numpy 1.x, Python 2
        error=what,
        traceback=reply.traceback,
        output=reply.output,
    )


def judge_value(
    op: Op,
    case: Case,
    out_name: str,
    reply: Reply,
    expected: np.ndarray,
    hidden: bool = False,
    profile: Any = None,
) -> CaseOutcome:
    """Compare one output of one call with the expected value; explain a mismatch.

    ``profile``: the calling convention, for the names the student knows outputs by. Where its
    contract leaves the output's scale open (:func:`accepted_scales`) any accepted scale passes,
    and ``numbers['accepted_as']`` says which one matched.
    """
    if not reply.ok:
        outcome = failed_call(reply, case.name)
        if reply.status == protocol.EXCEPTION and not hidden:
            outcome.hint = outcome.hint or diagnose.crash_hint(op, case, reply.error)
        return outcome
    returned = reply.outputs.get(out_name)
    label = output_label(op, out_name, profile)
    if returned is None or returned.array is None:
        problem, hint = split_problem(returned.problem if returned is not None else "nothing returned")
        return CaseOutcome(case.name, False, f"{label}: {problem}", hint=hint, output=reply.output)
    got = returned.array
    if op.kind == "loss" and out_name in (op.value, op.accuracy) and got.size == 1:
        got, expected = got.reshape(()), np.reshape(expected, ())
    if _any_max_accepted(op, case, out_name, profile) and got.shape == expected.shape:
        expected = cases_mod.any_max_routing(case, got)  # the maximum this submission chose
    volume = volume_shape(op, case.params, "x" if out_name == "input" else out_name, case.arrays)
    kind = "kernel" if (op.layer == "conv" and out_name == "w") else "map"
    mask = ignore_mask(op, case, out_name)
    if mask is not None and got.shape == expected.shape:
        got = np.where(mask, expected, got)  # elements where any answer is right
    cmp = compare(
        got,
        expected,
        what=label,
        volume=volume,
        volume_kind=kind,
        dtype=None if returned.kind == "scalar" else returned.dtype,
        hide_expected=hidden,
        bias_like=(out_name == "b"),
    )
    # Scales that give this case the contract's own value cannot be told apart: none is named.
    scales = accepted_scales(op, out_name, case.arrays, profile)
    seen = {s: f for s, f in scales.items() if f == 1.0 or not np.array_equal(expected * f, expected)}
    named = len(seen) > 1
    others = {s: f for s, f in seen.items() if f != 1.0}
    if cmp.ok:
        scale = next((s for s, f in seen.items() if f == 1.0), "") if named else ""
        numbers = {**cmp.numbers, "accepted_as": scale} if scale else cmp.numbers
        return CaseOutcome(case.name, True, numbers=numbers, output=reply.output, scales=others)
    for scale, factor in seen.items():
        if factor == 1.0:
            continue
        alt = compare(
            got, expected * factor, what=label, volume=volume, volume_kind=kind, hide_expected=hidden
        )
        if alt.ok:
            return CaseOutcome(
                case.name,
                True,
                numbers={**alt.numbers, "accepted_as": scale},
                output=reply.output,
                scales=others,
            )
    hint = "" if hidden else diagnose.likely_cause(op, case, out_name, got, expected)
    return CaseOutcome(
        case.name, False, cmp.message, cmp.facts, cmp.numbers, hint, output=reply.output, scales=others
    )


def hold_scales(outcomes: list[CaseOutcome]) -> list[CaseOutcome]:
    """A check's cases with those that pass only at an accepted scale the check does not show
    the submission following turned into failures.

    An accepted scale (:func:`accepted_scales`) is a convention of the function, not of one
    case: the gradient of the summed loss is that of the mean times the batch size, in every
    case. A scale whose factor is the same in every case of the check (a percentage) is shown
    by one case; one whose factor changes from case to case (the batch size) is shown only by
    cases of two different factors, for a single factor is also what a wrong constant factor
    gives (twice the mean's gradient *is* the summed loss's at a batch of two). A check whose
    cases all have one factor shows it by that one. Without this, a function following no
    accepted scale would earn the cases where its mistake happens to equal one.
    """
    factors: dict[str, set[float]] = {}
    for o in outcomes:
        for scale, factor in o.scales.items():
            factors.setdefault(scale, set()).add(factor)
    shown: dict[str, set[float]] = {}
    for o in outcomes:
        scale = o.numbers.get("accepted_as", "")
        if o.ok and scale in o.scales:
            shown.setdefault(scale, set()).add(o.scales[scale])
    unshown = {s for s, seen in shown.items() if len(seen) < min(2, len(factors[s]))}
    if not unshown:
        return outcomes
    out = []
    for o in outcomes:
        scale = o.numbers.get("accepted_as", "")
        if o.ok and scale in unshown:
            o = CaseOutcome(
                o.case,
                False,
                f"the values match the {scale} in this case only, a factor of {o.scales[scale]:g} "
                f"from the expected: the check's cases of other sizes do not follow that scale, and one "
                f"case cannot tell it from a wrong constant factor",
                numbers=o.numbers,
                output=o.output,
                scales=o.scales,
            )
        out.append(o)
    return out


def accepted_scales(op: Op, out_name: str, arrays: dict[str, Any], profile: Any) -> dict[str, float]:
    """Every accepted scale of an output relative to the expected one, ``{description: factor}``:
    the profile's ``accepted_scales`` hook where it has one, else only the contract's (factor 1)."""
    hook = getattr(profile, "accepted_scales", None)
    return dict(hook(op, out_name, arrays)) if hook is not None else {"": 1.0}


def _any_max_accepted(op: Op, case: Case, out_name: str, profile: Any) -> bool:
    """Whether a tied pooling window may route its gradient to any one of its maxima here."""
    return (
        op.name == "pooling.backward"
        and out_name == "input"
        and "ties" in case.tags
        and getattr(profile, "POOL_TIES", "") == "any"
    )


def split_problem(problem: str) -> tuple[str, str]:
    """A returned value's problem and the likely cause the profile's adapter gave with it, if any."""
    message, _, hint = str(problem).partition(profiles.HINT_MARK)
    return message, hint


def ignore_mask(op: Op, case: Case, out_name: str) -> np.ndarray | None:
    """Elements no answer can be wrong at: ReLU's gradient at exactly x == 0 is a free choice."""
    if op.layer == "relu" and op.kind == "backward" and out_name == "input":
        zero = case.arrays["x"] == 0
        return zero if zero.any() else None
    return None


def output_label(op: Op, out_name: str, profile: Any = None) -> str:
    """How the student's code names an output, e.g. ``param_grad['w']`` or ``input_od``.

    A profile with an ``output_label`` of its own names them in its convention."""
    if profile is not None and hasattr(profile, "output_label"):
        return str(profile.output_label(op, out_name))
    if op.kind == "loss":
        return {"nll": "nll", "wb": "g", "input": "od", "percent": "percent"}[out_name]
    if op.kind == "forward":
        return "output['data']"
    return {"input": "input_od", "w": "param_grad['w']", "b": "param_grad['b']"}[out_name]


# ---- properties ----------------------------------------------------------------------


def property_outcomes(
    op: Op, case: Case, first: Reply, second: Reply, profile: Any = None
) -> list[CaseOutcome]:
    """Each property is one 'case': untouched inputs, dict fields, floating finite output, determinism.

    ``second`` is the same call again; for a stateful profile, after leftovers of other calls
    (the ``replay`` parameter). Output dict fields are judged where the profile's ``output_meta``
    names some; arguments are named as the student knows them where it has an ``argument_label``.
    """
    if not first.ok:
        return [failed_call(first, case.name)]
    results = []
    passed_arrays = (
        profile.passed_inputs(op, case) if hasattr(profile, "passed_inputs") else _passed_inputs(op, case)
    )
    for name, original in passed_arrays.items():
        after = first.after.get(name)
        changed = (
            after is None
            or after.array is None
            or (after.array.shape != original.shape or not np.array_equal(after.array, original))
        )
        shown = profile.argument_label(op, name) if hasattr(profile, "argument_label") else name
        msg = (
            f"{shown} was modified, removed or replaced by the call: compute new arrays "
            f"and leave the arguments as they were"
            if changed
            else ""
        )
        results.append(
            CaseOutcome(
                f"unchanged {shown}",
                not changed,
                msg,
                hint=diagnose.in_place_hint(op, name, profile.NAME) if changed else "",
            )
        )
    if op.kind == "forward":
        meta = getattr(profile, "output_meta", output_meta)  # a convention without dict fields: {}
        want = meta(op, case.params, case.arrays)
        for key, value in want.items():
            got = first.meta.get(key, "missing")
            ok = not isinstance(got, bool) and got == value  # np.int64 arrives as an int
            results.append(
                CaseOutcome(
                    f"field {key}",
                    ok,
                    "" if ok else f"output['{key}'] is {got!r}, expected {value!r}",
                    hint="" if ok else diagnose.field_hint(op, case, key, got, value),
                )
            )
    for out_name, returned in first.outputs.items():
        if op.kind == "loss" and out_name == op.accuracy:
            continue
        label = output_label(op, out_name, profile)
        if returned.array is None:
            problem, hint = split_problem(returned.problem)
            results.append(CaseOutcome(f"type of {label}", False, f"{label}: {problem}", hint=hint))
            continue
        floating = np.dtype(returned.dtype).kind == "f"
        results.append(
            CaseOutcome(
                f"dtype of {label}",
                floating,
                "" if floating else f"{label} has dtype {returned.dtype}; return floating-point values",
            )
        )
        finite = bool(np.isfinite(returned.array).all())
        results.append(
            CaseOutcome(f"finite {label}", finite, "" if finite else f"{label} contains NaN or inf")
        )
    if second.ok:
        same = all(_same(first.outputs.get(k), second.outputs.get(k)) for k in first.outputs)
        results.append(
            CaseOutcome(
                "two calls agree",
                same,
                ""
                if same
                else STATE_LEFTOVERS
                if getattr(profile, "STATEFUL", False)
                else "two calls with the same inputs gave different results: does the "
                "function use random numbers or state kept between calls?",
                hint="" if same else diagnose.nondeterminism_hint(op, profile.NAME),
            )
        )
    else:
        results.append(failed_call(second, "second call"))
    return results


def _same(a: Returned | None, b: Returned | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if a.array is None or b.array is None:
        return a.array is None and b.array is None
    return a.array.shape == b.array.shape and np.allclose(
        a.array, b.array, rtol=1e-12, atol=0, equal_nan=True
    )


def _passed_inputs(op: Op, case: Case) -> dict[str, Any]:
    """Canonical inputs by the name the child reports them under after the call (see dictapi)."""
    a = case.arrays
    if op.kind == "loss":
        return {"wb": a["wb"], "X": a["X"], "y": a["y"]}
    named = {"input.data": a["x"]}
    if "w" in op.inputs:
        named.update({"param.w": a["w"], "param.b": a["b"]})
    if op.kind == "backward":
        named["output.diff"] = a["dy"]
    return named


# ---- gradient check ------------------------------------------------------------------


TRUSTED_FORWARD = (
    "differentiated: the reference's forward pass (computed by the grader), so this check "
    "depends on your backward alone"
)
"""The first fact of every gradient-check failure: which forward the differences come from."""
KIT_CANNOT_CHECK = (
    "the student kit cannot check this gradient: the finite differences it needs here were not "
    "recorded (they follow your gradient's values, which disagree with the reference's); the "
    "course's grader checks it"
)
"""A gradient check that needs a reference answer the student kit does not hold: a FAIL, never
an autograder error (the kit's answers follow a correct gradient's check)."""


def gradcheck_outcome(
    op: Op, case: Case, out_name: str, reply: Reply, rng: np.random.Generator, profile: Any = None
) -> CaseOutcome:
    """The submission's gradient for ``out_name`` against differences of the reference's forward,
    at any scale ``accepted_scales`` allows.

    Always the trusted forward, never the submission's: a backward's points then depend on
    the backward alone (a wrong, crashing, hanging or missing forward costs it nothing), a
    forward cannot bend towards its own backward, and no sandbox call is spent on
    differences. Whether the submission's forward is right is the forward checks' business
    (docs/tolerances.md, "Gradient checks").
    """
    if not reply.ok:
        return failed_call(reply, case.name)
    label = output_label(op, out_name, profile)
    returned = reply.outputs.get(out_name)
    if returned is None or returned.array is None:
        problem, hint = split_problem(returned.problem if returned else "nothing returned")
        return CaseOutcome(case.name, False, f"{label}: {problem}", hint=hint)
    wrt = op.differentiates(out_name)
    if op.kind == "loss":
        fwd_op, dy, value = op.name, None, op.value
        inputs = {k: case.arrays[k] for k in op.inputs}
    else:
        fwd_op, dy, value = op.forward, case.arrays["dy"], "y"
        inputs = {k: case.arrays[k] for k in OPS[op.forward].inputs}
    grad = returned.array
    if out_name == "b" and grad.size == inputs["b"].size:
        grad = grad.reshape(inputs["b"].shape)
    if grad.shape != inputs[wrt].shape:
        return CaseOutcome(
            case.name,
            False,
            f"{label} has shape {grad.shape}, "
            f"expected {inputs[wrt].shape} (the shape of what it differentiates)",
        )

    def forward(arrays: dict[str, np.ndarray]) -> np.ndarray:
        out: np.ndarray = reference.run(fwd_op, case.params, arrays, profile=case.profile)[value]
        return out

    volume = volume_shape(op, case.params, wrt, case.arrays)
    kind = "kernel" if (op.layer == "conv" and wrt == "w") else "map"
    if op.kind == "loss" and wrt == "wb":
        volume, kind = (case.params["K"] - 1, case.arrays["X"].shape[0]), "wb"
    first = None
    scales = accepted_scales(op, out_name, case.arrays, profile)
    if len(set(scales.values())) == 1:  # e.g. a batch of one: the scales agree, none is seen
        scales = {"": 1.0}
    others = {s: f for s, f in scales.items() if f != 1.0}
    for scale, factor in scales.items():
        try:
            result = gradcheck(
                forward,
                inputs,
                wrt,
                grad / factor,
                dy=dy,
                rng=copy.deepcopy(rng),  # every accepted scale along the same directions
                what=label,
                kink_margin=cases_mod.kink_margin(case),
                volume=volume,
                volume_kind=kind,
                source="the reference forward",
                roundoff=U64,  # float64, the same bits every time
                # the student kit's reference answers recorded points only: no differences along
                # the entries a failing gradient picks (they depend on the student's values)
                entries=4 if reference.HOLDS_SOLUTION else 0,
            )
        except reference.UNRECORDED as exc:  # the student kit only: a point it was not built with
            result = GradcheckResult(False, f"{label}: {KIT_CANNOT_CHECK} ({exc})", (), {})
        if result.ok:
            numbers = {**result.numbers, "accepted_as": scale} if scale else result.numbers
            return CaseOutcome(case.name, True, result.message, tuple(result.facts), numbers, scales=others)
        first = first or result
    assert first is not None  # accepted_scales lists at least one scale
    return CaseOutcome(
        case.name, False, first.message, (TRUSTED_FORWARD, *first.facts), first.numbers, scales=others
    )
