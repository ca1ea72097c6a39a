"""The networks the training check trains, one per assignment family: the seam a family plugs into.

The training loop (``harness.child.training``), its verdict, figures, speed projection,
slow-function diagnosis and the grader's replay are shared by every family. What a family
supplies is a ``Network``: its layers as canonical operations (``harness.core.ops``, called
through the family's profile, so through its own calling convention), the shapes and
initialisation of its parameters, its loss and how the loss's input becomes class scores, and
SGD settings where the family's course trains otherwise. Which functions are the student's and
which the course provides comes from the rubric's edition, not from here.

Invariants:

* A network is data plus two small methods (``loss``, ``class_scores``) over ``Net.run``: it
  holds no layer math, so the sandboxed child may import it (nothing to steal: every value of
  a layer comes from the submission's function or from a provided copy, ``harness.sandbox.share``).
* Parameters are canonical: conv weights ``(k*kw*c, num)``, biases ``(1, num)``, inner-product
  weights ``(d, m)``; initialised uniform in +-sqrt(3 / fan_in), biases zero, drawn by numpy from
  the run's seed (the same numbers on every device).
* Gradients and the loss handed to the loop are *sums* over the batch (the loop divides by the
  batch size): a family whose loss is a mean says so (``mean_loss``) and ``loss`` rescales.
* ``NETWORKS`` maps a network's name to it; ``for_profile`` maps an assignment family to its
  network (a family without one has no training check).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.core.ops import output_hw

K = 10  # classes (digits)
"""Classes of every network: the ten digits."""

Layer = tuple[str, str, dict[str, int]]
"""(layer id, canonical layer kind, case parameters), as ``harness.core.ops`` names them."""


def output_rows(kind: str, p: dict, arrays: dict) -> int:
    """Rows of a layer's canonical output (``(rows, n)``) for its parameters and inputs."""
    if kind == "inner_product":
        return int(arrays["w"].shape[1])
    if kind == "relu":
        return p["h"] * p["w"] * p["c"]
    h_out, w_out = output_hw(p)
    return h_out * w_out * (p["num"] if kind == "conv" else p["c"])


@dataclass(frozen=True)
class Network:
    """One family's training network (subclasses give ``loss`` and ``class_scores``)."""

    name: str
    """Registry key, e.g. ``lenet``."""
    check_id: str
    """The check's id in reports and rubrics, e.g. ``train.lenet``."""
    title: str
    """What the network is, in words, for messages: ``LeNet``."""
    layers: tuple[Layer, ...]
    """The layers before the loss, in forward order."""
    params: dict[str, tuple[tuple[int, ...], tuple[int, ...], int]]
    """Parameterised layer -> (weight shape, bias shape, fan-in of its uniform init); the loss
    layer's too when it has parameters."""
    loss_op: str
    """The canonical loss op (``mlrloss``, ``softmax_loss``)."""
    words: dict[str, str]
    """Layer id -> how messages name it (``first conv layer``)."""
    filters_layer: str = "conv1"
    """The first conv layer: its filters and feature maps are drawn in the report."""
    sgd: dict[str, Any] = field(default_factory=dict)
    """``TrainConfig`` settings where this network trains otherwise than the LeNet contract's
    section 5 (e.g. ``base_lr``)."""
    mean_loss: bool = False
    """The loss op returns the batch *mean* and gradients of it (``loss`` rescales to sums)."""

    @property
    def param_layers(self) -> tuple[str, ...]:
        """The layers with parameters, in ``params`` order."""
        return tuple(self.params)

    def layer(self, layer_id: str) -> Layer:
        """The layer ``layer_id`` of ``layers``."""
        return next(entry for entry in self.layers if entry[0] == layer_id)

    def init_params(self, seed: int, xp=np) -> dict:
        """Uniform +-sqrt(3/fan_in) weights, zero biases (drawn by numpy, then on ``xp``'s device)."""
        rng = np.random.default_rng(seed)
        params = {}
        for layer, (w_shape, b_shape, fan_in) in self.params.items():
            scale = np.sqrt(3 / fan_in)
            params[layer] = {"w": xp.asarray(rng.uniform(-scale, scale, w_shape)), "b": xp.zeros(b_shape)}
        return params

    def filters_geometry(self) -> tuple[int, int, tuple[int, int]]:
        """``(k, kw, (h_out, w_out))`` of the first conv layer: its kernel and feature-map sizes."""
        p = self.layer(self.filters_layer)[2]
        return p["k"], p.get("kw", p["k"]), output_hw(p)

    def loss(self, run: Callable[..., dict], params: dict, features, labels, xp=np) -> dict:
        """``{'nll': summed loss, 'input': dL/d(features) summed, 'grads': {layer: {'w', 'b'}}}``
        of one batch: the loss layer called through ``run`` (``Net.run``)."""
        raise NotImplementedError

    def class_scores(self, params: dict, features, xp=np):
        """``(K, m)`` class scores from the last layer's output ``features``."""
        raise NotImplementedError

    def loss_case(self, params: dict, features: np.ndarray, rng: np.random.Generator) -> tuple:
        """``(layer, op, case params, arrays)``: the loss op on random labels (speed timings)."""
        raise NotImplementedError


@dataclass(frozen=True)
class LeNet(Network):
    """LeNet of the dict API's contract (section 5): ``mlrloss`` holds the last layer's parameters
    (``K - 1`` rows, the last class scores zero)."""

    def loss(self, run, params, features, labels, xp=np) -> dict:
        w, b = params["loss"]["w"], params["loss"]["b"]
        arrays = {
            "wb": xp.concatenate([w.ravel(), b.ravel()]),
            "X": features,
            "y": labels.astype(np.float64)[None, :],
        }
        out = run(
            "loss",
            "mlrloss",
            {"K": K, "prediction": 1},
            arrays,
            {"nll": (), "wb": (w.size + b.size,), "input": features.shape},
        )
        grads = {
            "loss": {"w": out["wb"][: w.size].reshape(w.shape), "b": out["wb"][w.size :].reshape(b.shape)}
        }
        return {"nll": out["nll"], "input": out["input"], "grads": grads}

    def class_scores(self, params, features, xp=np):
        """``[theta @ X + bias; 0]``: the loss layer's scores (the last class scores zero)."""
        w, b = params["loss"]["w"], params["loss"]["b"]
        return xp.concatenate([w @ features + b, xp.zeros((1, features.shape[1]))])

    def loss_case(self, params, features, rng):
        w, n = params["loss"]["w"], features.shape[1]
        arrays = {
            "wb": np.concatenate([w.ravel(), np.zeros(K - 1)]),
            "X": features,
            "y": rng.integers(0, K, (1, n)).astype(np.float64),
        }
        return "loss", "mlrloss", {"K": K, "prediction": 1}, arrays


@dataclass(frozen=True)
class ScoresNet(Network):
    """A network whose last layer outputs the class scores and whose loss has no parameters
    (``softmax_loss(scores, labels) -> loss, dscores``)."""

    def loss(self, run, params, features, labels, xp=np) -> dict:
        n = features.shape[1]
        out = run(
            "loss",
            self.loss_op,
            {},
            {"x": features, "labels": labels.astype(np.float64)[None, :]},
            {"loss": (), "input": features.shape},
        )
        scale = n if self.mean_loss else 1
        return {"nll": out["loss"] * scale, "input": out["input"] * scale, "grads": {}}

    def class_scores(self, params, features, xp=np):
        return features

    def loss_case(self, params, features, rng):
        labels = rng.integers(0, K, (1, features.shape[1])).astype(np.float64)
        return "loss", self.loss_op, {}, {"x": features, "labels": labels}


@dataclass(frozen=True)
class OneHotNet(ScoresNet):
    """A scores network whose loss layer takes one-hot labels and returns its accuracy
    (``softmax_ce(x, t) -> loss, input, acc``: the layer-class family). The contract leaves the
    loss gradient's scale open (of the mean or of the summed loss); the one the submission's
    layer returns is read off its own outputs: the label entry of a column's gradient is
    ``s * (p_label - 1)`` and the mean loss ``-mean(log p_label)``, so the scale ``s`` in
    ``{1/n, 1}`` that makes the two agree is the one it uses (a batch of one: both are the same)."""

    def loss(self, run, params, features, labels, xp=np) -> dict:
        n = features.shape[1]
        t = xp.zeros((K, n))
        t[xp.asarray(labels).astype(int), xp.arange(n)] = 1.0
        out = run("loss", self.loss_op, {}, {"x": features, "t": t}, {"loss": (), "input": features.shape})
        g_label = (out["input"] * t).sum(axis=0)
        scale = n
        with np.errstate(all="ignore"):
            misfit = {
                s: float(abs(-xp.log(xp.clip(1 + g_label / s, 1e-300, None)).mean() - out["loss"]))
                for s in (1.0 / n, 1.0)
            }
        if misfit[1.0] < misfit[1.0 / n]:
            scale = 1  # the gradient of the summed loss: already a sum
        return {"nll": out["loss"] * n, "input": out["input"] * scale, "grads": {}}

    def loss_case(self, params, features, rng):
        n = features.shape[1]
        t = np.zeros((K, n))
        t[rng.integers(0, K, n), np.arange(n)] = 1.0
        return "loss", self.loss_op, {}, {"x": features, "t": t}


_LENET_LAYERS: tuple[Layer, ...] = (
    ("conv1", "conv", {"h": 28, "w": 28, "c": 1, "k": 5, "stride": 1, "pad": 0, "num": 20}),
    ("relu1", "relu", {"h": 24, "w": 24, "c": 20}),
    ("pool1", "pooling", {"h": 24, "w": 24, "c": 20, "k": 2, "stride": 2, "pad": 0}),
    ("conv2", "conv", {"h": 12, "w": 12, "c": 20, "k": 5, "stride": 1, "pad": 0, "num": 50}),
    ("relu2", "relu", {"h": 8, "w": 8, "c": 50}),
    ("pool2", "pooling", {"h": 8, "w": 8, "c": 50, "k": 2, "stride": 2, "pad": 0}),
    ("ip", "inner_product", {}),
    ("relu3", "relu", {"h": 500, "w": 1, "c": 1}),
)

LENET = LeNet(
    name="lenet",
    check_id="train.lenet",
    title="LeNet",
    layers=_LENET_LAYERS,
    params={
        "conv1": ((25, 20), (1, 20), 28 * 28 * 1),
        "conv2": ((500, 50), (1, 50), 12 * 12 * 20),
        "ip": ((800, 500), (1, 500), 4 * 4 * 50),
        "loss": ((K - 1, 500), (K - 1, 1), 500),
    },
    loss_op="mlrloss",
    words={
        "conv1": "first conv layer",
        "conv2": "second conv layer",
        "relu1": "first ReLU",
        "relu2": "second ReLU",
        "relu3": "ReLU after the inner product",
        "pool1": "first pooling layer",
        "pool2": "second pooling layer",
        "ip": "inner-product layer",
        "loss": "loss layer",
    },
)
"""LeNet (the dict API's contract, section 5; ``reference/train_lenet.py``)."""

CS231N_FILTERS, CS231N_KERNEL, CS231N_HIDDEN = 8, 7, 100
_POOLED = 28 // 2  # 7x7 kernels padded by 3 keep 28x28; the 2x2 pool halves it

CS231N = ScoresNet(
    name="cs231n",
    check_id="train.cs231n",
    title="the three-layer conv net",
    layers=(
        (
            "conv",
            "conv",
            {"h": 28, "w": 28, "c": 1, "k": CS231N_KERNEL, "stride": 1, "pad": 3, "num": CS231N_FILTERS},
        ),
        ("relu1", "relu", {"h": 28, "w": 28, "c": CS231N_FILTERS}),
        ("pool", "pooling", {"h": 28, "w": 28, "c": CS231N_FILTERS, "k": 2, "stride": 2, "pad": 0}),
        # d1-d3: affine_forward gets the pooled maps as (N, C, H, W) and flattens them itself, as
        # in the course's ThreeLayerConvNet (the order of the flattened values is the profile's).
        ("affine1", "inner_product", {"d1": CS231N_FILTERS, "d2": _POOLED, "d3": _POOLED}),
        ("relu2", "relu", {"h": CS231N_HIDDEN, "w": 1, "c": 1}),
        ("affine2", "inner_product", {}),
    ),
    params={
        "conv": ((CS231N_KERNEL * CS231N_KERNEL, CS231N_FILTERS), (1, CS231N_FILTERS), CS231N_KERNEL**2),
        "affine1": (
            (CS231N_FILTERS * _POOLED * _POOLED, CS231N_HIDDEN),
            (1, CS231N_HIDDEN),
            CS231N_FILTERS * _POOLED * _POOLED,
        ),
        "affine2": ((CS231N_HIDDEN, K), (1, K), CS231N_HIDDEN),
    },
    loss_op="softmax_loss",
    words={
        "conv": "conv layer",
        "relu1": "ReLU after the conv layer",
        "pool": "max-pooling layer",
        "affine1": "hidden affine layer",
        "relu2": "ReLU after the hidden affine layer",
        "affine2": "output affine layer",
        "loss": "loss (softmax_loss)",
    },
    filters_layer="conv",
    sgd={"base_lr": 0.02},
    mean_loss=True,
)
"""The course's ThreeLayerConvNet for 28x28 digits: conv 8 filters 7x7 pad 3 - relu - 2x2 max
pool - affine 1568 -> 100 - relu - affine 100 -> 10 - softmax_loss (README, cs231n section)."""

CLASSAPI = OneHotNet(
    name="classapi",
    check_id="train.classapi",
    title="the homework's ConvNet",
    layers=(
        ("conv1", "conv", {"h": 28, "w": 28, "c": 1, "k": 3, "stride": 1, "pad": 1, "num": 8}),
        ("relu1", "relu", {"h": 28, "w": 28, "c": 8}),
        ("pool1", "pooling", {"h": 28, "w": 28, "c": 8, "k": 2, "stride": 2, "pad": 0}),
        ("conv2", "conv", {"h": 14, "w": 14, "c": 8, "k": 3, "stride": 1, "pad": 1, "num": 16}),
        ("relu2", "relu", {"h": 14, "w": 14, "c": 16}),
        ("pool2", "pooling", {"h": 14, "w": 14, "c": 16, "k": 2, "stride": 2, "pad": 0}),
        ("fc1", "inner_product", {}),
        ("relu3", "relu", {"h": 128, "w": 1, "c": 1}),
        ("fc2", "inner_product", {}),
    ),
    params={
        "conv1": ((9, 8), (1, 8), 9),
        "conv2": ((72, 16), (1, 16), 72),
        "fc1": ((784, 128), (1, 128), 784),
        "fc2": ((128, K), (1, K), 128),
    },
    loss_op="softmax_ce",
    words={
        "conv1": "first ConvLayer",
        "conv2": "second ConvLayer",
        "relu1": "ReLULayer after the first ConvLayer",
        "relu2": "ReLULayer after the second ConvLayer",
        "relu3": "ReLULayer after the first FCLayer",
        "pool1": "first MaxPoolingLayer",
        "pool2": "second MaxPoolingLayer",
        "fc1": "first FCLayer (784 -> 128)",
        "fc2": "second FCLayer (128 -> 10)",
        "loss": "loss layer",
    },
    sgd={
        "batch_size": 100,
        "base_lr": 0.1,
        "momentum": 0.0,
        "gamma": 0.0,
        "b_lr_mult": 1.0,
        "weight_decay": 0.005,
    },
)
"""The homework's network (shared/assignment-api-class.md): conv 1->8 3x3 pad 1 - relu - pool 2 -
conv 8->16 3x3 pad 1 - relu - pool 2 - reshape - fc 784->128 - relu - fc 128->10 - softmax
cross-entropy; its SGD (no momentum, constant rate, weight decay 0.005, batch 100)."""

NETWORKS: dict[str, Network] = {net.name: net for net in (LENET, CS231N, CLASSAPI)}
"""Every training network by name."""

FAMILY_NETWORKS = {"dictapi": "lenet", "cs231n": "cs231n", "classapi": "classapi"}
"""Assignment family (profile name) -> its training network's name."""


def get(name: str) -> Network:
    """The network called ``name``; ValueError naming the known ones otherwise."""
    try:
        return NETWORKS[name]
    except KeyError:
        raise ValueError(f"unknown training network {name!r}; known: {', '.join(NETWORKS)}") from None


def for_profile(profile_name: str) -> Network | None:
    """The training network of an assignment family, None when it has none."""
    name = FAMILY_NETWORKS.get(profile_name)
    return NETWORKS[name] if name else None


def family_of(net: Network) -> str:
    """The assignment family (profile name) whose network ``net`` is, '' for none."""
    return next((family for family, name in FAMILY_NETWORKS.items() if name == net.name), "")
