"""The graded operations, independent of any calling convention.

An *operation* is one student function seen through canonical arrays: its inputs,
the scalar parameters of the case, and its outputs. An assignment profile
(``harness.profiles``) turns a canonical call into a call of the submission's own
function; checks, diagnoses and reports only ever see canonical arrays.

Canonical layout (that of the assignment contract): a feature map is 2-D,
``(h*w*c, n)``, each column the Fortran flattening of ``(h, w, c)``; conv weights are
``(k*k*c, num)`` with row ``dh + k*dw + k*k*ic``; biases ``(1, num)``. A new calling
convention converts to and from this layout in its adapter.

Optional parameters some families need (absent: the LeNet meaning holds): conv ``kw``, the
kernel's width when it differs from its height ``k`` (weights ``(k*kw*c, num)``, row
``dh + k*dw + k*kw*ic``); inner product ``d1, d2, d3``, the shape of one example before
it was flattened to a column (C order), for a convention that hands the layer the unflattened
input. Ops graded by one family only (``softmax_loss``, ``softmax_ce``) are listed here too: a
profile's ``FUNCTIONS`` names the ops it grades.

A case parameter ``replay`` (set by the properties check for a profile with ``STATEFUL``)
asks that profile to make the call after leftovers of earlier ones: another layer object's
forward and, on the graded object, a forward on other inputs first. Stateless profiles
never see it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Op:
    """One graded function."""

    name: str
    """Canonical id: ``conv.forward``, ``conv.backward``, ``mlrloss``, ..."""
    layer: str
    """Layer id used in check ids: ``inner_product``, ``pooling``, ``conv``, ``relu``, ``mlrloss``."""
    kind: str
    """``forward``, ``backward`` or ``loss`` (mlrloss: value and gradients at once)."""
    inputs: tuple[str, ...]
    """Canonical input arrays."""
    params: tuple[str, ...]
    """Scalar case parameters."""
    outputs: tuple[str, ...]
    """Canonical output arrays."""
    forward: str = ""
    """For a backward op: the forward op it differentiates."""
    value: str = ""
    """For a loss op: the scalar output (the loss) its gradients differentiate."""
    wrt: tuple[tuple[str, str], ...] = ()
    """For a loss op: (gradient output, the input it differentiates) pairs."""
    accuracy: str = ""
    """For a loss op: the output reporting its accuracy, judged with the value (never alone)."""

    def differentiates(self, out_name: str) -> str:
        """The input a gradient output differentiates (``input`` -> ``x`` for a layer)."""
        if self.kind == "loss":
            return dict(self.wrt)[out_name]
        return {"input": "x"}.get(out_name, out_name)

    def grads(self) -> tuple[str, ...]:
        """The gradients this op returns (none for a forward)."""
        if self.kind == "loss":
            return tuple(out for out, _ in self.wrt)
        return self.outputs if self.kind == "backward" else ()


# Inputs:  x (h*w*c, n) | w | b | dy: upstream gradient of the forward output y.
# Outputs: forward -> y; backward -> gradients named after what they differentiate:
#          input (dL/dx), w, b.  mlrloss -> nll (scalar), wb (= g), input (= od), percent.
OPS: dict[str, Op] = {
    op.name: op
    for op in [
        Op("inner_product.forward", "inner_product", "forward", ("x", "w", "b"), (), ("y",)),
        Op(
            "inner_product.backward",
            "inner_product",
            "backward",
            ("x", "w", "b", "dy"),
            (),
            ("input", "w", "b"),
            forward="inner_product.forward",
        ),
        Op("relu.forward", "relu", "forward", ("x",), ("h", "w", "c"), ("y",)),
        Op(
            "relu.backward",
            "relu",
            "backward",
            ("x", "dy"),
            ("h", "w", "c"),
            ("input",),
            forward="relu.forward",
        ),
        Op("pooling.forward", "pooling", "forward", ("x",), ("h", "w", "c", "k", "stride", "pad"), ("y",)),
        Op(
            "pooling.backward",
            "pooling",
            "backward",
            ("x", "dy"),
            ("h", "w", "c", "k", "stride", "pad"),
            ("input",),
            forward="pooling.forward",
        ),
        Op(
            "conv.forward",
            "conv",
            "forward",
            ("x", "w", "b"),
            ("h", "w", "c", "k", "stride", "pad", "num"),
            ("y",),
        ),
        Op(
            "conv.backward",
            "conv",
            "backward",
            ("x", "w", "b", "dy"),
            ("h", "w", "c", "k", "stride", "pad", "num"),
            ("input", "w", "b"),
            forward="conv.forward",
        ),
        Op(
            "mlrloss",
            "mlrloss",
            "loss",
            ("wb", "X", "y"),
            ("K", "prediction"),
            ("nll", "wb", "input", "percent"),
            value="nll",
            wrt=(("wb", "wb"), ("input", "X")),
            accuracy="percent",
        ),
        # Scores x (classes, n), integer labels (1, n); the mean cross-entropy and dL/dx.
        Op(
            "softmax_loss",
            "softmax_loss",
            "loss",
            ("x", "labels"),
            (),
            ("loss", "input"),
            value="loss",
            wrt=(("input", "x"),),
        ),
        # Softmax cross-entropy on logits (layer-class family): x (K, n) logits, t (K, n)
        # one-hot labels -> loss (mean over the batch), input (dL/dx of the mean loss), acc
        # (fraction of columns whose largest logit is the label).
        Op(
            "softmax_ce",
            "softmax_ce",
            "loss",
            ("x", "t"),
            (),
            ("loss", "input", "acc"),
            value="loss",
            wrt=(("input", "x"),),
            accuracy="acc",
        ),
    ]
}


def output_hw(params: dict[str, Any]) -> tuple[int, int]:
    """Output height and width of a windowed layer (conv, pooling) for a case's parameters."""
    k, s, p = params["k"], params["stride"], params["pad"]
    return (params["h"] + 2 * p - k) // s + 1, (params["w"] + 2 * p - params.get("kw", k)) // s + 1


def output_meta(op: Op, params: dict[str, Any], arrays: dict[str, Any]) -> dict[str, Any]:
    """The dict fields a correct forward output carries: height, width, channel, batch_size."""
    n = arrays["x"].shape[1]
    if op.layer == "inner_product":
        return {"height": arrays["w"].shape[1], "width": 1, "channel": 1, "batch_size": n}
    if op.layer == "relu":
        return {"height": params["h"], "width": params["w"], "channel": params["c"], "batch_size": n}
    h_out, w_out = output_hw(params)
    channel = params["num"] if op.layer == "conv" else params["c"]
    return {"height": h_out, "width": w_out, "channel": channel, "batch_size": n}


def volume_shape(
    op: Op, params: dict[str, Any], array_name: str, arrays: dict[str, Any]
) -> tuple[int, ...] | None:
    """The (h, w, c) volume behind a 2-D canonical array, to name elements by coordinates.

    ``None`` when the array is not a feature map (mlrloss arrays, inner-product weights).
    """
    if op.kind == "loss":
        return None
    if array_name in ("x", "input"):
        if op.layer == "inner_product":
            return None
        return (params["h"], params["w"], params["c"])
    if array_name in ("y", "dy"):
        meta = output_meta(op, params, arrays)
        return (meta["height"], meta["width"], meta["channel"])
    if op.layer == "conv" and array_name == "w":
        return (params["k"], params.get("kw", params["k"]), params["c"])
    return None
