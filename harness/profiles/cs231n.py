"""Functional layers with caches, cs231n style (``shared/assignment-api-cs231n.md``).

Free functions in one module ``layers.py`` (bare, or inside a ``cs231n/`` package): every
forward returns ``(out, cache)``, every backward takes ``(dout, cache)``; images NCHW,
conv weights ``(F, C, HH, WW)``, biases ``(F,)``, ``softmax_loss`` the *mean* cross-entropy.

Invariants:

- The adapter converts canonical arrays (``harness.core.ops``) to this layout and the
  returned arrays back; nothing else in the grader sees NCHW. A returned array is converted
  only when it has exactly the shape the contract asks for; any other shape comes back as a
  problem that names the expected shape (a ``dx`` left flattened must not pass because it
  holds the right numbers in another shape).
- A backward is given the cache that the submission's **own** forward returned, in the same
  process and the same call; the grader never builds a cache. When that forward fails, the
  backward cannot be graded and the error says so (:class:`ForwardForBackwardFailed`).
- ``call`` runs where the functions live (the sandboxed child, or the grader for the trusted
  reference) and trusts nothing returned: results go back raw or as problems, for the
  caller to validate.
"""

from __future__ import annotations

import numpy as np

from harness.core import paths
from harness.core.ops import OPS, output_hw
from harness.core.outputs import HINT_MARK, Missing, unpack

NAME = "cs231n"
REFERENCE_DIR = paths.REFERENCE_DIR / "cs231n" / "cs231n"
"""The family's trusted reference: ``reference/cs231n/cs231n/layers.py``."""
TEMPLATE_DIR = paths.TEMPLATE_DIR / "cs231n" / "cs231n"
DEFAULT_RUBRIC = paths.PACKAGE_DIR / "rubrics" / "cs231n.toml"
"""The 2021+ edition (every function is student work); ``cs231n-2019.toml``: softmax_loss provided."""

FUNCTIONS = {
    "inner_product.forward": "affine_forward",
    "inner_product.backward": "affine_backward",
    "relu.forward": "relu_forward",
    "relu.backward": "relu_backward",
    "conv.forward": "conv_forward_naive",
    "conv.backward": "conv_backward_naive",
    "pooling.forward": "max_pool_forward_naive",
    "pooling.backward": "max_pool_backward_naive",
    "softmax_loss": "softmax_loss",
}
"""Canonical op -> the submission's function; also the ops this family grades."""
MODULES = dict.fromkeys(FUNCTIONS.values(), "layers")
"""Where each function lives in the course's layout."""
PROVIDED_MODULES: tuple[str, ...] = ()
"""Modules the course provides that the grader copies in when missing (none: helpers such as
``cs231n.im2col`` are not part of the graded contract)."""
POOL_TIES = "any"
"""A tied pooling window's gradient may go to any one of its maxima (the contract); not to all."""
DETECT_FUNCTION = "conv_forward_naive"
"""A submission of this family defines this in a ``layers.py``."""
KEEPS_FORWARD_STATE = True
"""``call`` takes ``state=`` (see there): training keeps each forward's cache for its backward
instead of calling the forward again inside the backward."""

LABELS = {
    "forward": {"y": "out"},
    "backward": {"input": "dx", "w": "dw", "b": "db"},
    "loss": {"loss": "loss", "input": "dx"},
}


class ForwardForBackwardFailed(Exception):
    """The submission's forward failed, so its backward has no cache to be called with."""


def output_label(op, out_name: str) -> str:
    """How the contract names an output: ``out``, ``dx``, ``dw``, ``db``, ``loss``."""
    return LABELS[op.kind][out_name]


def output_meta(op, params: dict, arrays: dict) -> dict:
    """No dict fields in this convention: shapes are checked with the values."""
    return {}


def passed_inputs(op, case) -> dict:
    """Canonical inputs by the name the child reports them under after the call (see ``call``)."""
    a = case.arrays
    if op.kind == "loss":
        return {"x": a["x"], "y": a["labels"]}
    fwd = OPS[op.forward] if op.kind == "backward" else op
    named = {name: a[name] for name in fwd.inputs}
    if op.kind == "backward":
        named["dout"] = a["dy"]
    return named


# ---- layout conversions --------------------------------------------------------------------


def to_nchw(a: np.ndarray, h: int, w: int, c: int) -> np.ndarray:
    """Canonical ``(h*w*c, n)`` (Fortran ``(h, w, c)`` columns) -> ``(n, c, h, w)``, C-contiguous.

    The same map turns canonical conv weights ``(k*kw*c, num)`` into ``(num, c, k, kw)``.
    """
    return np.ascontiguousarray(a.reshape(c, w, h, a.shape[1]).transpose(3, 0, 2, 1))


def from_nchw(a: np.ndarray) -> np.ndarray:
    """``(n, c, h, w)`` -> canonical ``(h*w*c, n)``; the inverse of :func:`to_nchw`."""
    n, c, h, w = a.shape
    return a.transpose(1, 3, 2, 0).reshape(c * w * h, n)


def _rows(a: np.ndarray, shape: tuple) -> np.ndarray:
    """Canonical ``(d, n)`` -> ``(n, *shape)`` (one example per row, C order)."""
    return np.ascontiguousarray(a.T).reshape((a.shape[1], *shape))


def _cols(a: np.ndarray) -> np.ndarray:
    """``(n, ...)`` -> canonical ``(d, n)``."""
    return a.reshape(a.shape[0], -1).T


def _image_shape(op, params: dict, arrays: dict) -> tuple:
    """The NCHW shape of a layer's input ``x``."""
    n = arrays["x"].shape[1]
    if op.layer == "inner_product":
        dims = tuple(params[k] for k in ("d1", "d2", "d3") if k in params) or (arrays["x"].shape[0],)
        return (n, *dims)
    return (n, params["c"], params["h"], params["w"])


def _out_shape(op, params: dict, arrays: dict) -> tuple:
    n = arrays["x"].shape[1]
    if op.layer == "inner_product":
        return (n, arrays["w"].shape[1])
    if op.layer == "relu":
        return (n, params["c"], params["h"], params["w"])
    h_out, w_out = output_hw(params)
    return (n, params["num"] if op.layer == "conv" else params["c"], h_out, w_out)


def _to_student(op, params: dict, arrays: dict) -> dict:
    """The forward's arguments in this convention, from canonical arrays."""
    shape = _image_shape(op, params, arrays)
    if op.layer == "inner_product":
        x = _rows(arrays["x"], shape[1:])
    else:
        x = to_nchw(arrays["x"], params["h"], params["w"], params["c"])
    args = {"x": x}
    if "w" in OPS[op.name if op.kind == "forward" else op.forward].inputs:
        if op.layer == "conv":
            args["w"] = to_nchw(arrays["w"], params["k"], params.get("kw", params["k"]), params["c"])
        else:
            args["w"] = np.ascontiguousarray(arrays["w"])
        args["b"] = np.ascontiguousarray(arrays["b"]).reshape(-1)
    return args


def _from_student(op, name: str, value: np.ndarray) -> np.ndarray:
    """One argument as it is after the call, in canonical layout (same shape as given)."""
    if name == "b":
        return value.reshape(1, -1)
    if name == "w" and op.layer == "inner_product":
        return value
    if (op.layer == "inner_product" and name in ("x", "dout")) or value.ndim != 4:
        return _cols(value)
    return from_nchw(value)


class _WrongShape(Missing):
    """A returned array whose shape is not the contract's."""

    def __init__(self, label: str, got: tuple, want: tuple, of: str):
        hint = WRONG_SHAPE_HINTS.get(_shape_kind(got, want))
        super().__init__(f"has shape {got}, expected {want} ({of})" + (HINT_MARK + hint if hint else ""))


WRONG_SHAPE_HINTS = {
    "flattened": "it holds the right number of values but is not reshaped back: "
    "return it with the shape of what it differentiates (e.g. dx.reshape(x.shape))",
    "nhwc": "channels last: this assignment's arrays are NCHW (batch, channel, height, width)",
    "transposed": "the axes are in another order: the contract's shapes are NCHW, conv "
    "weights (F, C, HH, WW), affine weights (D, M)",
    "padded": "dx has the size of the padded input: crop the padding off "
    "(dx_pad[:, :, pad:pad+H, pad:pad+W]) before returning",
}
"""Why a returned array's shape differs, when the two shapes say it; keyed by :func:`_shape_kind`."""


def _shape_kind(got: tuple, want: tuple) -> str:
    if len(got) == len(want) == 4 and got[:2] == want[:2]:
        grown = (got[2] - want[2], got[3] - want[3])
        if grown[0] == grown[1] > 0 and grown[0] % 2 == 0:
            return "padded"
    if int(np.prod(got)) != int(np.prod(want)):
        return ""
    if len(want) == 4 and tuple(got) == (want[0], want[2], want[3], want[1]):
        return "nhwc"
    if sorted(got) == sorted(want):
        return "transposed"
    return "flattened"


def _canonical(obj, want: tuple, label: str, of: str, convert):
    """A returned value in canonical layout when it is an ndarray of the contract's shape.

    Anything else goes back untouched (the child describes its type) or as a shape problem.
    Only exact ndarrays are converted: a subclass may lie about its values.
    """
    if type(obj) is not np.ndarray:
        return obj
    if obj.shape != tuple(want):
        if label == "db" and obj.size == int(np.prod(want)) and obj.ndim <= 2:
            return obj.reshape(1, -1)  # (1, F) or (F, 1): the same numbers, accepted
        return _WrongShape(label, obj.shape, tuple(want), of)
    return convert(obj)


# ---- the call ------------------------------------------------------------------------------


def call(
    functions: dict, op_name: str, params: dict, arrays: dict, state: dict | None = None
) -> tuple[dict, dict, dict]:
    """Call the submission's function for one canonical operation.

    Same contract as ``dictapi.call``: ``(outputs, meta, passed)`` with raw or canonical
    outputs by canonical name, no meta, and the arguments as they are after the call (in
    canonical layout) to detect in-place modification.

    ``state`` (the training loop's, ``KEEPS_FORWARD_STATE``): a forward stores the cache its
    function returned under ``state['cache']``; a backward given ``state['cache']`` is called with
    that cache, the one the submission's own forward returned for these very inputs, instead
    of calling the forward again. ``passed`` is then empty (training does not read it).
    """
    op = OPS[op_name]
    fn = functions[FUNCTIONS[op_name]]
    if op.kind == "loss":
        x = np.ascontiguousarray(arrays["x"].T)
        y = arrays["labels"].reshape(-1).astype(np.int64)
        result = fn(x, y)
        loss, dx = unpack(result, ("loss", "dx")).values()
        outputs = {
            "loss": loss,
            "input": _canonical(dx, x.shape, "dx", "the shape of the scores x", lambda a: a.T),
        }
        return outputs, {}, {"x": x.T, "y": y.astype(np.float64)[None, :]}

    fwd_op = op if op.kind == "forward" else OPS[op.forward]
    out_shape = _out_shape(fwd_op, params, arrays)
    if op.kind == "backward" and state is not None and "cache" in state:
        # the forward's own cache: its arguments need not be built again, only their shapes
        shapes = {"x": _image_shape(fwd_op, params, arrays), "w": None, "b": None}
        if "w" in fwd_op.inputs:
            shapes["w"] = (
                (params["num"], params["c"], params["k"], params.get("kw", params["k"]))
                if op.layer == "conv"
                else arrays["w"].shape
            )
            shapes["b"] = (arrays["b"].size,)
        outputs = _backward(fn, op, _dout(op, arrays, out_shape), state["cache"], shapes)
        return outputs, {}, {}
    args = _to_student(fwd_op, params, arrays)
    call_args = [args["x"], *(args[k] for k in ("w", "b") if k in args)]
    if op.layer == "conv":
        call_args.append({"stride": params["stride"], "pad": params["pad"]})
    elif op.layer == "pooling":
        if params.get("pad"):
            raise ValueError("cs231n max pooling has no padding: a case with pad > 0 is a grader bug")
        k = params["k"]
        call_args.append({"pool_height": k, "pool_width": params.get("kw", k), "stride": params["stride"]})
    if op.kind == "forward":
        out, cache = unpack(fn(*call_args), ("out", "cache")).values()
        convert = _cols if op.layer == "inner_product" else from_nchw
        outputs = {"y": _canonical(out, out_shape, "out", "the output's shape", convert)}
        if state is not None:
            state["cache"] = cache
            return outputs, {}, {}
        return outputs, {}, _after(op, args)

    dout = _dout(op, arrays, out_shape)
    forward = functions[FUNCTIONS[fwd_op.name]]
    try:
        result = forward(*call_args)
    except Exception as exc:
        _no_cache(fn, dout, f"{FUNCTIONS[fwd_op.name]} failed ({type(exc).__name__}: {exc})", exc)
    unpacked = unpack(result, ("out", "cache"))
    if isinstance(unpacked["cache"], Missing):
        _no_cache(fn, dout, f"{FUNCTIONS[fwd_op.name]} must return (out, cache): {unpacked['cache'].what}")
    args["dout"] = dout
    shapes = {k: args[k].shape if k in args else None for k in ("x", "w", "b")}
    outputs = _backward(fn, op, dout, unpacked["cache"], shapes)
    return outputs, {}, _after(op, args)


def _dout(op, arrays: dict, out_shape: tuple) -> np.ndarray:
    """The upstream gradient in this convention."""
    if op.layer == "inner_product":
        return np.ascontiguousarray(arrays["dy"].T)
    return to_nchw(arrays["dy"], out_shape[2], out_shape[3], out_shape[1])


def _backward(fn, op, dout: np.ndarray, cache, shapes: dict) -> dict:
    """Call a backward with ``cache``; its gradients in canonical layout (or problems), by
    canonical name. ``shapes``: the contract's shapes of ``x``, ``w``, ``b``."""
    grads = fn(dout, cache)
    convert_x = _cols if op.layer == "inner_product" else from_nchw
    if len(op.outputs) == 1:
        return {"input": _canonical(grads, shapes["x"], "dx", "the shape of x", convert_x)}
    dx, dw, db = unpack(grads, ("dx", "dw", "db")).values()
    convert_w = from_nchw if op.layer == "conv" else (lambda a: a)
    return {
        "input": _canonical(dx, shapes["x"], "dx", "the shape of x", convert_x),
        "w": _canonical(dw, shapes["w"], "dw", "the shape of w", convert_w),
        "b": _canonical(db, shapes["b"], "db", "the shape of b", lambda a: a.reshape(1, -1)),
    }


def _no_cache(backward, dout, why: str, exc: BaseException | None = None):
    """The forward gave no cache: say so, unless the backward is itself a stub.

    The backward is called once with ``cache=None`` (no cache is built for it): a stub raises
    NotImplementedError before touching its cache, and is then reported as not implemented.
    """
    try:
        backward(dout, None)
    except NotImplementedError:
        raise
    except Exception:
        pass
    error = ForwardForBackwardFailed(
        f"{why}, so {backward.__name__} has no cache to be called with: fix the forward first"
    )
    if exc is not None:
        raise error.with_traceback(exc.__traceback__) from exc  # the student sees where the forward failed
    raise error


def _after(op, args: dict) -> dict:
    """The arguments as they are now, canonical; an argument the call reshaped in place is left as is."""
    after = {}
    for name, value in args.items():
        try:
            after[name] = _from_student(op, name, value)
        except ValueError:
            after[name] = value
    return after
