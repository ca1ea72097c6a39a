"""The dict-based layer API of the assignment contract (``shared/assignment-api.md``).

``call`` runs in whichever process holds the functions: the sandboxed child for a
submission, the grader itself for the trusted reference. It must not trust what the
function returns: results are handed back raw, for the caller to validate.
"""

from __future__ import annotations

import numpy as np

from harness.core import paths
from harness.core.ops import OPS, output_hw
from harness.core.outputs import Missing, unpack
from harness.core.outputs import is_missing as is_missing  # the child imports it from here

NAME = "dictapi"
REFERENCE_DIR = paths.REFERENCE_DIR
"""The family's trusted reference, laid out as a submission."""
TEMPLATE_DIR = paths.TEMPLATE_DIR
DEVICE_AWARE = True
"""The reference computes on cupy arrays as well (``fixtures generate --device cuda``)."""
DEFAULT_RUBRIC = paths.DEFAULT_RUBRIC

# Canonical op -> the submission's function name.
FUNCTIONS = {
    "inner_product.forward": "inner_product_forward",
    "inner_product.backward": "inner_product_backward",
    "relu.forward": "relu_forward",
    "relu.backward": "relu_backward",
    "pooling.forward": "pooling_layer_forward",
    "pooling.backward": "pooling_layer_backward",
    "conv.forward": "conv_layer_forward",
    "conv.backward": "conv_layer_backward",
    "mlrloss": "mlrloss",
}
# Where each function lives in the historical layout (a submission may put them anywhere).
MODULES = {
    "inner_product_forward": "inner_product",
    "inner_product_backward": "inner_product",
    "relu_forward": "relu",
    "relu_backward": "relu",
    "pooling_layer_forward": "pooling_layer",
    "pooling_layer_backward": "pooling_layer",
    "conv_layer_forward": "conv_layer",
    "conv_layer_backward": "conv_layer",
    "mlrloss": "mlrloss",
}
# Modules the course provides; a submission that lacks them gets the reference's copy.
PROVIDED_MODULES = ("utils", "conv_net", "init_convnet", "load_mnist", "train_lenet", "test_network")

LAYER_TYPES = {"inner_product": "IP", "relu": "RELU", "pooling": "POOLING", "conv": "CONV"}

CURRENT = "current"
EDITIONS = {
    CURRENT: {"relu_forward": ("input",), "mlrloss": ("wb", "X", "y", "K", "gpu", "prediction")},
    "older": {"relu_forward": ("input", "layer"), "mlrloss": ("wb", "X", "y", "K", "prediction")},
}
"""The contract's editions: the parameters each passes to the functions whose calls differ
(an older starter code passed ReLU its layer dict, and mlrloss no ``gpu`` flag). A
submission's ``def`` lines say which edition each function was written for
(``harness.profiles.edition_of``); ``adapt`` calls it that way."""
FILLED = {"layer": {"type": "RELU"}}
"""What an older edition passes for a parameter the current call has not (relu_forward's layer dict)."""


def adapt(name: str, fn, edition: str):
    """``fn``, written for ``edition``, as a function called the current edition's way."""
    wanted, current = EDITIONS.get(edition, {}).get(name), EDITIONS[CURRENT].get(name)
    if wanted is None or current is None or wanted == current:
        return fn

    def adapted(*args):
        given = dict(zip(current, args))
        return fn(*(given[p] if p in given else dict(FILLED[p]) for p in wanted))

    adapted.__name__ = getattr(fn, "__name__", name)
    return adapted


def _volume(params: dict, data: np.ndarray) -> dict:
    return {
        "height": params["h"],
        "width": params["w"],
        "channel": params["c"],
        "batch_size": data.shape[1],
        "data": data,
    }


def _layer(op, params: dict, arrays: dict) -> dict:
    layer: dict[str, object] = {"type": LAYER_TYPES[op.layer]}
    for key in ("k", "stride", "pad"):
        if key in params:
            layer[key] = params[key]
    if op.layer == "conv":
        layer.update(num=params["num"], group=1)
    if op.layer == "inner_product":
        layer["num"] = arrays["w"].shape[1]
    return layer


def _input_dict(op, params: dict, arrays: dict) -> dict:
    if op.layer == "inner_product":
        x = arrays["x"]
        return {"height": x.shape[0], "width": 1, "channel": 1, "batch_size": x.shape[1], "data": x}
    return _volume(params, arrays["x"])


def _output_dict(op, params: dict, arrays: dict) -> dict:
    n = arrays["x"].shape[1]
    if op.layer == "inner_product":
        h, w, c = arrays["w"].shape[1], 1, 1
    elif op.layer == "relu":
        h, w, c = params["h"], params["w"], params["c"]
    else:
        (h, w), c = output_hw(params), params["num"] if op.layer == "conv" else params["c"]
    out = {"height": h, "width": w, "channel": c, "batch_size": n, "diff": arrays["dy"]}
    if "y" in arrays:
        out["data"] = arrays["y"]
    return out


def call(functions: dict, op_name: str, params: dict, arrays: dict) -> tuple[dict, dict, dict]:
    """Call the submission's function for one canonical operation.

    ``functions`` maps the submission's function names to callables; ``arrays`` are the
    canonical inputs (the caller's copies: the function may modify them).
    Returns ``(outputs, meta, passed)``: the raw returned objects by canonical output name
    (unvalidated), the output dict's fields (forward ops), and the arrays and dicts that
    were passed in, as they are after the call (to detect in-place modification).
    """
    op = OPS[op_name]
    fn = functions[FUNCTIONS[op_name]]
    if op.kind == "loss":
        X, y = arrays["X"], arrays["y"]
        result = fn(arrays["wb"], X, y, params["K"], 0, params.get("prediction", 1))
        outputs = unpack(result, ("nll", "wb", "input", "percent"))
        return outputs, {}, {"wb": arrays["wb"], "X": X, "y": y}

    inp = _input_dict(op, params, arrays)
    layer = _layer(op, params, arrays)
    param = {"w": arrays["w"], "b": arrays["b"]} if "w" in op.inputs else None
    passed = {"input": inp, "layer": layer}
    if param is not None:
        passed["param"] = param
    if op.kind == "forward":
        args = (inp,) if op.layer == "relu" else (inp, layer) if param is None else (inp, layer, param)
        result = fn(*args)
        meta = {}
        if isinstance(result, dict):
            meta = {k: result[k] for k in ("height", "width", "channel", "batch_size") if k in result}
            outputs = {"y": result.get("data", _MISSING_KEY)}
        else:
            outputs = {"y": _NotADict(result)}
        return outputs, meta, passed

    out = _output_dict(op, params, arrays)
    passed["output"] = out
    if param is None:
        return {"input": fn(out, inp, layer)}, {}, passed
    result = fn(out, inp, layer, param)
    grads, input_od = unpack(result, ("param_grad", "input_od")).values()
    outputs = {"input": input_od}
    if isinstance(grads, dict):
        outputs.update(w=grads.get("w", _MISSING_KEY), b=grads.get("b", _MISSING_KEY))
    else:
        outputs.update(w=_NotADict(grads), b=_NotADict(grads))
    return outputs, {}, passed


_MISSING_KEY = Missing("the returned dict has no such key")


class _NotADict(Missing):
    def __init__(self, obj):
        super().__init__(f"expected a dict, got {type(obj).__name__}")
