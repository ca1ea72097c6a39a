"""The training check's loop: train the submission's layers on MNIST, for every assignment family.

Two halves, one per process:

* ``train`` (and ``lenet_ops.time_ops``) run where the functions live (the sandboxed child for a
  submission, the grader itself for the reference). They call every layer through
  ``call(op_name, params, arrays) -> dict of canonical outputs`` (``harness.core.ops``), so the
  loop knows nothing of the calling convention. What they return crosses the process
  boundary as ``.npy`` arrays plus one JSON-able dict (``TrainOutcome.to_payload``).
* ``training_verdict.evaluate`` runs in the parent. It alone holds the held-out labels, turns the returned
  class scores into an accuracy and writes the verdict and its messages.

The network is the family's (``harness.child.networks``: layers as canonical ops, parameter
shapes and initialisation, loss); the loop, batch order and SGD are shared. For LeNet they follow
the dict API contract's section 5 and ``reference/train_lenet.py`` exactly, so the reference's
numbers can be reproduced here.
``train`` hands its arrays to ``call`` and uses them again afterwards: a ``call`` that runs
untrusted functions must pass copies (``profiles.dictapi.call`` expects them).
"""

from __future__ import annotations

import dataclasses
import math
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.child import networks
from harness.child.networks import K, Network, output_rows
from harness.core import device
from harness.core.ops import OPS

Call = Callable[[str, dict, dict], dict]

# LeNet's layers, parameter shapes and parameterised layers (``networks.LENET``), by their old names.
NETWORK = networks.LENET.layers
PARAM_SHAPES = networks.LENET.params
LAYERS = networks.LENET.param_layers
__all__ = ["LAYERS", "NETWORK", "PARAM_SHAPES", "K", "Network", "output_rows"]

# Stop reasons (TrainOutcome.status).
COMPLETED, TIME_LIMIT, NON_FINITE, ERROR = "completed", "time_limit", "non_finite", "error"


@dataclass
class TrainConfig:
    """Hyper-parameters and limits of the training check (defaults: contract section 5; a
    family's network may train otherwise, ``for_network``)."""

    network: str = "lenet"
    """The network trained (``networks.NETWORKS``): the family's."""
    iterations: int = 500
    """SGD iterations (the reference: about 0.97 held-out accuracy in about 30 s on 2 cores)."""
    batch_size: int = 64
    """Digits per iteration."""
    seed: int = 0
    """Seeds the initialisation and the batch order (as reference/train_lenet.py)."""
    base_lr: float = 0.01
    """Learning rate at iteration 0, 'inv' policy."""
    w_lr_mult: float = 1.0
    """Learning-rate multiplier of the weights."""
    b_lr_mult: float = 2.0
    """Learning-rate multiplier of the biases."""
    momentum: float = 0.9
    """mu: momentum buffers start at zero."""
    gamma: float = 1e-4
    """lr(it) = base_lr * (1 + gamma*it) ** -power."""
    power: float = 0.75
    """See gamma."""
    weight_decay: float = 5e-4
    """On weights only."""
    eval_every: int = 100
    """Predictions on the first eval_subset held-out digits every this many iterations."""
    eval_subset: int = 500
    """Held-out digits scored along the way (all of them are scored at the end)."""
    eval_batch: int = 500
    """Held-out digits per forward call."""
    time_limit_s: float = 300.0
    """Wall-clock limit of the training (evaluations along the way included): a run that cannot
    finish its iterations trains until then and is graded on what it learned."""
    give_up_factor: float = 0.0
    """An option (0: off): stop early once the projected time exceeds this multiple of the limit ..."""
    give_up_after: int = 3
    """... after at least this many iterations."""
    n_train: int = 8000
    """Training digits (stratified from the shipped t10k set by mnist.stratified_split)."""
    n_test: int = 2000
    """Held-out digits."""
    split_seed: int = 0
    """Seed of the train/held-out split."""
    min_accuracy: float = 0.9
    """Held-out accuracy needed to pass (the reference reaches about 0.97)."""
    feature_index: int = 0
    """Held-out digit whose conv1 feature maps are returned."""
    device: str = device.CPU
    """Where to train: cpu (numpy) or cuda (cupy, for layers that work with any array module)."""
    score_held_out: bool = True
    """Score the held-out digits at the end with the trained layers (the grader does it itself,
    from the returned parameters, with the reference's forward pass: it sets this False)."""
    replay_at: int = 1
    """Iteration whose parameters and momentum before and parameters after the update are
    returned, for the grader to replay with the submission's own functions."""

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def for_network(cls, network: str, **settings: Any) -> TrainConfig:
        """The settings of ``network`` (its ``sgd`` over the defaults), then ``settings`` over them."""
        return cls(network=network, **{**networks.get(network).sgd, **settings})

    @property
    def net(self) -> Network:
        """The network trained."""
        return networks.get(self.network)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass
class TrainOutcome:
    """What a training run produced: curves, held-out scores, conv1's weights and maps."""

    status: str
    """completed, time_limit, non_finite or error."""
    iterations: int
    """Iterations planned."""
    iterations_done: int
    """Iterations whose update was applied."""
    elapsed_s: float
    """Wall-clock seconds of the run."""
    projected_s: float
    """Seconds the whole run would take at the speed seen (= elapsed_s when completed)."""
    loss: np.ndarray
    """(iterations_done,) mean loss of each batch."""
    batch_accuracy: np.ndarray
    """(iterations_done,) accuracy on each training batch, before its update."""
    grad_norm: np.ndarray
    """(iterations_done, layers) norm of each parameterised layer's weight gradient (the network's
    ``param_layers`` order)."""
    eval_iterations: np.ndarray
    """(e,) iterations done at each evaluation along the way (the end excluded)."""
    eval_predictions: np.ndarray
    """(e, s) predicted class of the first s = min(eval_subset, m) held-out digits at each."""
    scores: np.ndarray | None = None
    """(10, m) final class scores of the held-out digits; None when the run stopped early."""
    conv1_w_initial: np.ndarray | None = None
    """(k*k, num) the first conv layer's weights before training (LeNet: (25, 20))."""
    conv1_w: np.ndarray | None = None
    """(k*k, num) ... after training (row dh + k*dw)."""
    feature_maps: np.ndarray | None = None
    """(h*w*num,) the first conv layer's output for held-out digit ``feature_index`` (Fortran
    (h, w, num); LeNet: (24, 24, 20))."""
    weight_change: dict = field(default_factory=dict)
    """layer -> ||w_end - w_start|| / ||w_start||."""
    zero_grad_iterations: dict = field(default_factory=dict)
    """layer -> iterations in which its weight gradient was exactly zero."""
    dead_backward: dict = field(default_factory=dict)
    """'layer.output' -> iterations in which that backward output was all zero from a non-zero dy."""
    failure: dict | None = None
    """Why it stopped early: phase, iteration, op, layer, output, message, traceback, sizes."""
    notes: list = field(default_factory=list)
    """Things that went wrong without stopping the run (feature maps unavailable, ...)."""
    config: dict = field(default_factory=dict)
    """The TrainConfig, as a dict."""
    device: str = device.CPU
    """Where the run trained (cpu when cuda was asked for but the layers need numpy)."""
    device_note: str = ""
    """Why it trained on the CPU although cuda was asked for ('' otherwise)."""
    params: dict = field(default_factory=dict)
    """layer -> {'w', 'b'}: the parameters at the end (after the last complete iteration)."""
    replay: dict = field(default_factory=dict)
    """State around iteration ``replay_at``: ``before``, ``momentum`` (layer -> {'w', 'b'}, at its
    start) and ``after`` (the parameters after its update); empty when it was not reached."""

    ARRAYS = (
        "loss",
        "batch_accuracy",
        "grad_norm",
        "eval_iterations",
        "eval_predictions",
        "scores",
        "conv1_w_initial",
        "conv1_w",
        "feature_maps",
    )
    INT_ARRAYS = ("eval_iterations", "eval_predictions")
    PARAM_SETS = ("params", "replay.before", "replay.momentum", "replay.after")
    """Sets of the network's parameters, carried as arrays named ``<set>.<layer>.<w|b>``."""

    def to_payload(self) -> tuple[dict, dict]:
        """``(arrays, info)``: .npy-able arrays by name (None ones left out) and a JSON-able dict."""
        arrays = {k: getattr(self, k) for k in self.ARRAYS if getattr(self, k) is not None}
        sets = {
            "params": self.params,
            **{f"replay.{k}": v for k, v in self.replay.items() if k != "iteration"},
        }
        for prefix, params in sets.items():
            arrays.update({f"{prefix}.{layer}.{k}": p[k] for layer, p in params.items() for k in ("w", "b")})
        skip = (*self.ARRAYS, "params", "replay")
        info = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in skip}
        info["replay_iteration"] = self.replay.get("iteration")
        return arrays, info

    @classmethod
    def from_payload(cls, arrays: dict, info: dict, network: Network | None = None) -> TrainOutcome:
        """The outcome the child sent; raises ValueError when a parameter set is incomplete or of
        the wrong shapes (``network.params``; the grader passes the network it asked for, never
        the child's word for it)."""
        net = network or networks.LENET
        names = {f.name for f in dataclasses.fields(cls)} - {"params", "replay"}
        kwargs = {k: v for k, v in info.items() if k in names and k not in cls.ARRAYS}
        for k in cls.ARRAYS:
            if k in arrays:
                arr = np.asarray(arrays[k])
                if k in cls.INT_ARRAYS and arr.dtype.kind == "f" and np.isfinite(arr).all():
                    arr = arr.astype(np.int64)  # the sandbox may carry every array as float64
                kwargs[k] = arr
        sets = {prefix: _param_set(arrays, prefix, net) for prefix in cls.PARAM_SETS}
        kwargs["params"] = sets["params"] or {}
        replay = {k.partition(".")[2]: v for k, v in sets.items() if k.startswith("replay.") and v}
        if len(replay) == 3 and isinstance(info.get("replay_iteration"), int):
            kwargs["replay"] = {"iteration": info["replay_iteration"], **replay}
        return cls(**kwargs)


def _param_set(arrays: dict, prefix: str, network: Network) -> dict | None:
    """``layer -> {'w', 'b'}`` from arrays named ``<prefix>.<layer>.<w|b>``; None when absent."""
    found = {layer: {k: arrays.get(f"{prefix}.{layer}.{k}") for k in ("w", "b")} for layer in network.params}
    present = [a for p in found.values() for a in p.values() if a is not None]
    if not present:
        return None
    for layer, (w_shape, b_shape, _) in network.params.items():
        for k, shape in (("w", w_shape), ("b", b_shape)):
            a = found[layer][k]
            if a is None or np.shape(a) != shape:
                got = "missing" if a is None else f"of shape {np.shape(a)}"
                raise ValueError(f"{prefix}.{layer}.{k} {got}, expected {shape}")
            found[layer][k] = np.asarray(a, dtype=np.float64)
    return found


class OpError(Exception):
    """A function returned something training cannot use (wrong shape, not an array)."""


class Stop(Exception):
    """Leave the loop (time limit, non-finite value); the grader's replay (training.replay) catches it too."""


def dataset(
    config: TrainConfig | None = None, path=None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(x_train (784, n), y_train, x_eval (784, m), y_eval)``: a stratified, seeded split.

    Parent side: ``x_train, y_train, x_eval`` go to ``train``; ``y_eval`` stays for ``evaluate``.
    """
    from harness.core import mnist

    cfg = config or TrainConfig()
    data = mnist.load(path)
    tr, te = mnist.stratified_split(data.labels, cfg.n_train, cfg.n_test, cfg.split_seed)
    return (
        mnist.to_columns(data.images[tr]),
        data.labels[tr],
        mnist.to_columns(data.images[te]),
        data.labels[te],
    )


# ---- Calling the layers -------------------------------------------------------------------


class ForwardStates:
    """What each forward kept for its backward, for a profile whose backward needs it
    (``KEEPS_FORWARD_STATE``: cs231n's caches), so that training calls each forward once.

    A forward's state is found again by the identity of the arrays it was given: the loop
    hands a layer's backward the very ``x`` (and ``w``) objects its forward got in the same
    iteration. Entries hold those objects, so their ids cannot be reused while they are kept;
    a backward takes its entry out. At most ``CAP`` are kept (the held-out forwards have no
    backward): a backward whose entry is gone calls its forward again, as a unit check does.
    """

    CAP = 16

    def __init__(self) -> None:
        self.entries: dict[tuple, tuple[tuple, dict]] = {}

    @staticmethod
    def _key(op_name: str, arrays: dict) -> tuple[tuple, tuple]:
        held = tuple(arrays[k] for k in ("x", "w") if k in arrays)
        return (OPS[op_name].layer, *map(id, held)), held

    def forward(self, op_name: str, arrays: dict) -> dict:
        """An empty state for this forward's call to fill, kept for its backward."""
        key, held = self._key(op_name, arrays)
        state: dict = {}
        self.entries.pop(key, None)
        self.entries[key] = (held, state)
        while len(self.entries) > self.CAP:
            self.entries.pop(next(iter(self.entries)))
        return state

    def backward(self, op_name: str, arrays: dict) -> dict | None:
        """The state the forward of these arrays kept, or None."""
        key, held = self._key(OPS[op_name].forward, arrays)
        entry = self.entries.pop(key, None)
        if entry is None or len(entry[0]) != len(held) or any(a is not b for a, b in zip(entry[0], held)):
            return None
        return entry[1] if "cache" in entry[1] else None


class Net:
    """Runs a network's canonical ops through ``call``, validating outputs and keeping a trace of the batch."""

    def __init__(
        self, call: Call, check_time: Callable[[], None] = lambda: None, xp=np, network: Network | None = None
    ):
        self.call, self.check_time, self.xp = call, check_time, xp
        self.network = network or networks.LENET
        self.trace: list[tuple[str, str, dict, dict]] = []  # (layer, op, inputs, outputs)
        self.current = ("", "")

    def run(self, layer: str, op_name: str, params: dict, arrays: dict, shapes: dict) -> dict:
        self.current = (layer, op_name)
        with np.errstate(all="ignore"):  # non-finite values are found and reported by train itself
            raw = self.call(op_name, params, arrays)
        self.check_time()
        if not isinstance(raw, dict):
            raise OpError(f"returned {type(raw).__name__}, not a dict of outputs")
        out = {}
        for name, shape in shapes.items():
            out[name] = _as_array(raw.get(name), name, shape, self.xp)
        self.trace.append((layer, op_name, arrays, out))
        return out

    def forward(self, params: dict, x: np.ndarray, upto: int | None = None) -> list[np.ndarray]:
        """The volumes before each layer and after the last (LeNet: [x, conv1 out, ..., relu3 out])."""
        volumes = [x]
        n = x.shape[1]
        for layer, kind, p in self.network.layers[:upto]:
            arrays = {"x": volumes[-1]}
            if layer in self.network.params:
                arrays.update(w=params[layer]["w"], b=params[layer]["b"])
            y_rows = output_rows(kind, p, arrays)
            volumes.append(self.run(layer, f"{kind}.forward", p, arrays, {"y": (y_rows, n)})["y"])
        return volumes

    def loss(self, params: dict, features: np.ndarray, labels: np.ndarray) -> dict:
        """``{'nll', 'input', 'grads'}``: the network's loss of one batch, as sums over it."""
        return self.network.loss(self.run, params, features, labels, self.xp)

    def backward(self, params: dict, volumes: list, dy: np.ndarray) -> dict:
        """Parameter gradients (sums over the batch) of the layers before the loss; dy is dL/d(last output)."""
        grads = {}
        layers = self.network.layers
        for i in range(len(layers) - 1, -1, -1):
            layer, kind, p = layers[i]
            arrays = {"x": volumes[i], "y": volumes[i + 1], "dy": dy}
            shapes = {"input": volumes[i].shape}
            if layer in self.network.params:
                arrays.update(w=params[layer]["w"], b=params[layer]["b"])
                shapes.update(w=arrays["w"].shape, b=arrays["b"].shape)
            out = self.run(layer, f"{kind}.backward", p, arrays, shapes)
            if "w" in out:
                grads[layer] = {"w": out["w"], "b": out["b"]}
            dy = out["input"]
        return grads


def _as_array(value, name: str, shape: tuple, xp=np) -> np.ndarray:
    """A float64 array of ``shape`` on ``xp``'s device; biases, wb and nll may come in any shape
    of the right size."""
    reason = getattr(value, "what", None)  # dictapi's marker of a missing output
    if value is None or isinstance(reason, str):
        raise OpError(f"returned no {name!r}" + (f": {reason}" if reason else ""))
    try:
        arr = xp.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise OpError(
            f"returned {name!r} of type {type(value).__name__}, not a float array ({exc})"
        ) from None
    if arr.shape != shape:
        lenient = name in ("b", "wb", "nll", "loss")
        if not (lenient and arr.size == math.prod(shape)):
            raise OpError(f"returned {name!r} of shape {arr.shape}; training needs {shape}")
        arr = arr.reshape(shape)
    return arr


# ---- Training -----------------------------------------------------------------------------


def init_params(seed: int, xp=np, network: Network | None = None) -> dict:
    """A network's initial parameters (LeNet's by default, as init_convnet draws them; ``Network.init_params``)."""
    return (network or networks.LENET).init_params(seed, xp)


def batch_order(config: TrainConfig, n: int):
    """The digits of each iteration's batch (indices into the n training digits), as
    reference/train_lenet.py draws them: a seeded permutation, redrawn when it runs out."""
    bs = config.batch_size
    rng = np.random.default_rng(config.seed)
    order, pos = rng.permutation(n), 0
    for _ in range(config.iterations):
        if pos + bs > len(order):
            order, pos = rng.permutation(n), 0
        yield order[pos : pos + bs]
        pos += bs


def held_out_scores(net: Net, params: dict, x: np.ndarray, batch: int, xp=np) -> np.ndarray:
    """(10, m) class scores of the digits ``x`` (784, m) through ``net``'s forward passes, ``batch``
    digits per call: the child's scoring along the way, and the grader's with the reference."""
    chunks = []
    for lo in range(0, x.shape[1], batch):
        net.trace = []
        features = net.forward(params, x[:, lo : lo + batch])[-1]
        chunks.append(net.network.class_scores(params, features, xp))
    return xp.concatenate(chunks, axis=1) if chunks else xp.zeros((K, 0))


def learning_rate(config: TrainConfig, it: int) -> float:
    """The 'inv' policy: base_lr * (1 + gamma*it) ** -power."""
    return config.base_lr * (1 + config.gamma * it) ** (-config.power)


def train(
    call: Call,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_eval: np.ndarray,
    config: TrainConfig | None = None,
    progress: Callable[[dict], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    xp=np,
) -> TrainOutcome:
    """Train the config's network through ``call``; never raises for what the functions do.

    x_train ``(784, n)``, y_train ``(n,)`` ints 0..9, x_eval ``(784, m)`` (no labels: the
    parent scores the returned predictions). ``progress`` gets a small dict per iteration.
    Stops at the time limit (checked after every op), at the first non-finite loss or
    gradient, and at the first exception or unusable output of a function. ``xp``: the
    array module the layers get their arrays from (cupy: the whole run on the GPU); the
    outcome's arrays are numpy either way.
    """
    run = Run(call, xp.asarray(x_eval), config or TrainConfig(), progress, clock, xp)
    try:
        run.loop(xp.asarray(x_train), np.asarray(y_train))
    except Stop as stop:
        run.status = str(stop)
        if run.status == NON_FINITE:
            run.failure = _non_finite_report(run.net.trace, run.params, run.phase, len(run.loss))
    except (Exception, SystemExit) as exc:  # anything the functions do: record it, never crash the child
        run.status = ERROR
        layer, op_name = run.net.current
        run.failure = {
            "phase": run.phase,
            "iteration": len(run.loss),
            "op": op_name,
            "layer": layer,
            "kind": "invalid output" if isinstance(exc, OpError) else "exception",
            "message": str(exc)
            if isinstance(exc, OpError)
            else ": ".join(filter(None, (type(exc).__name__, str(exc)))),
            "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))[-4000:],
        }
    return run.outcome()


class Run:
    """The state of one training run."""

    def __init__(self, call: Call, x_eval: np.ndarray, cfg: TrainConfig, progress, clock, xp=np):
        self.cfg, self.x_eval, self.progress, self.clock, self.xp = cfg, x_eval, progress, clock, xp
        self.start = clock()
        self.network = cfg.net
        self.layers = self.network.param_layers
        self.net = Net(call, self.check_time, xp, self.network)
        self.params = self.network.init_params(cfg.seed, xp)
        self.initial_w = {layer: self.params[layer]["w"].copy() for layer in self.layers}
        self.inc = {
            layer: {"w": xp.zeros_like(p["w"]), "b": xp.zeros_like(p["b"])}
            for layer, p in self.params.items()
        }
        self.scratch = {
            layer: xp.empty((2, p["w"].size)) for layer, p in self.params.items()
        }  # SGD's temporaries
        self.loss: list[float] = []
        self.batch_acc: list[float] = []
        self.grad_norms: list[list[float]] = []
        self.eval_its: list[int] = []
        self.eval_preds: list[np.ndarray] = []
        self.zero_grad = dict.fromkeys(self.layers, 0)
        self.dead: dict[str, int] = {}
        self.status, self.phase = COMPLETED, "train"
        self.failure: dict[str, Any] | None = None
        self.scores: np.ndarray | None = None
        self.replay: dict[str, Any] = {}
        self.subset = min(cfg.eval_subset, x_eval.shape[1])
        self.done_at = 0.0  # seconds from the start to the end of the last complete iteration

    def check_time(self) -> None:
        cfg, done = self.cfg, len(self.loss)
        elapsed = self.clock() - self.start
        hopeless = (
            cfg.give_up_factor > 0
            and done >= cfg.give_up_after
            and self.projection(elapsed) > cfg.give_up_factor * cfg.time_limit_s
        )
        if elapsed > cfg.time_limit_s or hopeless:
            raise Stop(TIME_LIMIT)

    def loop(self, x_train: np.ndarray, y_train: np.ndarray) -> None:
        cfg = self.cfg
        digits = self.xp.ascontiguousarray(x_train.T)  # a batch's digits: rows, not scattered columns
        for it, batch in enumerate(batch_order(cfg, len(y_train))):
            x = self.xp.ascontiguousarray(digits[self.xp.asarray(batch)].T)
            if it == cfg.replay_at:
                self.replay = {
                    "iteration": it,
                    "before": self.host_params(),
                    "momentum": self.host_params(self.inc),
                }
            self.step(it, x, self.xp.asarray(y_train[batch]))
            if it == cfg.replay_at:
                self.replay["after"] = self.host_params()
            if self.progress is not None:
                elapsed = self.clock() - self.start
                self.progress(
                    {
                        "iteration": it + 1,
                        "iterations": cfg.iterations,
                        "loss": self.loss[-1],
                        "batch_accuracy": self.batch_acc[-1],
                        "elapsed_s": elapsed,
                        "rate": (it + 1) / elapsed if elapsed > 0 else None,
                    }
                )
            if (it + 1) % cfg.eval_every == 0 and it + 1 < cfg.iterations:
                self.phase = "eval"
                self.eval_preds.append(device.to_host(self.score_held_out(self.subset).argmax(axis=0)))
                self.eval_its.append(it + 1)
                self.phase = "train"
            self.done_at = self.clock() - self.start
        if cfg.score_held_out:
            self.phase = "eval"
            self.scores = self.score_held_out(self.x_eval.shape[1])

    def host_params(self, params: dict | None = None) -> dict:
        """A host copy of ``params`` (the parameters by default): layer -> {'w', 'b'}."""
        return {
            layer: {k: np.array(device.to_host(p[k]), dtype=np.float64) for k in ("w", "b")}
            for layer, p in (params or self.params).items()
        }

    def step(self, it: int, x: np.ndarray, y: np.ndarray) -> None:
        """Forward, loss, backward and one SGD update; gradients and cost divided by the batch size here."""
        cfg, params, bs = self.cfg, self.params, x.shape[1]
        self.net.trace = []
        volumes = self.net.forward(params, x)
        out = self.net.loss(params, volumes[-1], y)
        grads = {**self.net.backward(params, volumes, out["input"]), **out["grads"]}
        nll = float(out["nll"])
        xp = self.xp
        norms = [float(xp.linalg.norm(grads[layer]["w"])) for layer in self.layers]
        if not (
            math.isfinite(nll)
            and all(map(math.isfinite, norms))
            and all(bool(xp.isfinite(g["b"]).all()) for g in grads.values())
        ):
            raise Stop(NON_FINITE)
        _count_dead(self.net.trace, self.dead)
        for layer, norm in zip(self.layers, norms):
            self.zero_grad[layer] += norm == 0
        self.loss.append(nll / bs)
        scores = self.network.class_scores(params, volumes[-1], xp)
        self.batch_acc.append(float((scores.argmax(axis=0) == y).mean()))
        self.grad_norms.append([v / bs for v in norms])
        lr = learning_rate(cfg, it)
        for layer, p in params.items():
            g, v = grads[layer], self.inc[layer]
            _sgd_step(
                xp,
                p["w"],
                v["w"],
                g["w"],
                bs,
                cfg.weight_decay,
                cfg.w_lr_mult * lr,
                cfg.momentum,
                self.scratch[layer],
            )
            v["b"] *= cfg.momentum
            v["b"] += cfg.b_lr_mult * lr * (g["b"] / bs)
            p["b"] -= v["b"]

    def score_held_out(self, m: int) -> np.ndarray:
        """(10, m) class scores of the first m held-out digits, eval_batch digits per forward call."""
        scores = held_out_scores(self.net, self.params, self.x_eval[:, :m], self.cfg.eval_batch, self.xp)
        if not bool(self.xp.isfinite(scores).all()):
            raise Stop(NON_FINITE)
        return scores

    def feature_maps(self) -> tuple[np.ndarray | None, list]:
        """The first conv layer's maps of one held-out digit, for the figures; a failure here is only noted."""
        try:
            self.net.trace = []
            self.net.check_time = lambda: None
            digit = self.x_eval[:, [self.cfg.feature_index]]
            upto = 1 + [entry[0] for entry in self.network.layers].index(self.network.filters_layer)
            return device.to_host(self.net.forward(self.params, digit, upto=upto)[upto][:, 0]), []
        except Exception as exc:
            return None, [
                f"{self.network.filters_layer}'s feature maps of one digit (a batch of 1) could not be computed: "
                f"{type(exc).__name__}: {exc}"
            ]

    def projection(self, elapsed: float) -> float:
        """Seconds the whole run would take at the speed of the complete iterations (a lower
        bound from the time spent so far while none is complete)."""
        done = len(self.loss)
        return (
            self.done_at / done * self.cfg.iterations
            if done and self.done_at
            else elapsed * self.cfg.iterations
        )

    def outcome(self) -> TrainOutcome:
        elapsed = self.clock() - self.start
        done, completed = len(self.loss), self.status == COMPLETED
        learned = self.status in (COMPLETED, TIME_LIMIT)
        maps, notes = self.feature_maps() if learned else (None, [])
        host = {layer: device.to_host(self.params[layer]["w"]) for layer in self.layers}
        initial = {layer: device.to_host(w) for layer, w in self.initial_w.items()}
        conv1 = host[self.network.filters_layer]
        return TrainOutcome(
            status=self.status,
            iterations=self.cfg.iterations,
            iterations_done=done,
            elapsed_s=elapsed,
            projected_s=elapsed if completed else self.projection(elapsed),
            loss=np.array(self.loss),
            batch_accuracy=np.array(self.batch_acc),
            grad_norm=np.array(self.grad_norms).reshape(done, len(self.layers)),
            eval_iterations=np.array(self.eval_its, dtype=np.int64),
            eval_predictions=np.array(self.eval_preds, dtype=np.int64).reshape(
                len(self.eval_its), self.subset
            ),
            scores=device.to_host(self.scores) if completed and self.scores is not None else None,
            conv1_w_initial=initial[self.network.filters_layer],
            conv1_w=conv1 if np.isfinite(conv1).all() else None,
            feature_maps=maps,
            weight_change={
                layer: _finite_or_none(
                    np.linalg.norm(host[layer] - initial[layer]) / np.linalg.norm(initial[layer])
                )
                for layer in self.layers
            },
            zero_grad_iterations={k: int(v) for k, v in self.zero_grad.items()},
            dead_backward=self.dead,
            failure=self.failure,
            notes=notes,
            config=self.cfg.to_dict(),
            device=device.name_of(self.xp),
            params=self.host_params() if self.status in (COMPLETED, TIME_LIMIT) else {},
            replay=self.replay if "after" in self.replay else {},
        )


def _sgd_step(
    xp, w, v, g, bs: int, decay: float, rate: float, mu: float, scratch, block: int = 16384
) -> None:
    """``v = mu*v + rate*(g/bs + decay*w); w -= v``, in place.

    The operations of reference/utils.sgd_momentum's expression in its order, so the weights
    are the same to the bit; block by block on the CPU, so that the six passes over each
    block find it in the cache (LeNet's 800x500 weights: 0.8 ms instead of 1.3 per iteration).
    """
    w, v, g = w.reshape(-1), v.reshape(-1), g.reshape(-1)
    if xp is not np:
        block = w.size  # the GPU: one kernel each
    for lo in range(0, w.size, block):
        part = slice(lo, lo + block)
        n = min(block, w.size - lo)
        step = xp.divide(g[part], bs, out=scratch[0, :n])
        step += xp.multiply(w[part], decay, out=scratch[1, :n])
        step *= rate
        v_part = v[part]
        v_part *= mu
        v_part += step
        w[part] -= v_part


def _finite_or_none(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def _count_dead(trace: list, dead: dict) -> None:
    """Count backward outputs that are all zero although their upstream gradient is not."""
    for layer, op_name, arrays, out in trace:
        if OPS[op_name].kind != "backward" or _all_zero(arrays["dy"]):
            continue
        for name, arr in out.items():
            if _all_zero(arr):
                key = f"{layer}.{name}"
                dead[key] = dead.get(key, 0) + 1


def _all_zero(a) -> bool:
    """``not a.any()``, answered from about 1,000 of its elements when one of them is non-zero
    (the common case: a full scan of every gradient costs about 5% of an iteration)."""
    flat = a.reshape(-1)
    return not flat[:: max(1, flat.size // 1024)].any() and not a.any()


def _max_abs(arrays) -> float:
    finite = [np.abs(a[np.isfinite(a)]).max() for a in arrays if np.isfinite(a).any()]
    return float(max(finite, default=0.0))


def _non_finite_report(trace: list, params: dict, phase: str, it: int) -> dict:
    """The first op of the batch whose output holds NaN or inf, and whether its inputs were finite."""
    host = lambda arrays: {k: device.to_host(v) for k, v in arrays.items()}
    trace = [(layer, op_name, host(arrays), host(out)) for layer, op_name, arrays, out in trace]
    params = {layer: host(p) for layer, p in params.items()}
    report = {
        "phase": phase,
        "iteration": it,
        "op": "",
        "layer": "",
        "output": "",
        "inputs_finite": True,
        "max_abs_input": 0.0,
        "max_abs_param": _max_abs([p[k] for p in params.values() for k in ("w", "b")]),
    }
    for layer, op_name, arrays, out in trace:
        bad = [name for name, arr in out.items() if not np.isfinite(arr).all()]
        if bad:
            report.update(
                op=op_name,
                layer=layer,
                output=bad[0],
                inputs_finite=all(np.isfinite(a).all() for a in arrays.values()),
                max_abs_input=_max_abs(arrays.values()),
                message=f"{op_name} ({layer}) returned non-finite values in {bad[0]!r}",
            )
            return report
    report["message"] = "the class scores became non-finite"
    return report
