"""Reference solution of the functional layers (contract: shared/assignment-api-cs231n.md).

Every forward returns ``(out, cache)`` and its backward, right below it, takes
``(dout, cache)``. Images are NCHW ``(N, C, H, W)``, conv weights ``(F, C, HH, WW)``,
biases ``(F,)``. Nothing here modifies its arguments. Convolution and pooling loop over
the kernel's offsets (a few iterations) and vectorise over everything else.
"""

import numpy as np


def affine_forward(x, w, b):
    """``x`` (N, d1, ..., dk) flattened to (N, D) times ``w`` (D, M) plus ``b`` (M,)."""
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w, b)


def affine_backward(dout, cache):
    """``dx`` in x's original shape, ``dw`` (D, M), ``db`` (M,): sums over the batch."""
    x, w, b = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


def relu_forward(x):
    """``max(x, 0)`` in a new array."""
    return np.maximum(x, 0), x


def relu_backward(dout, cache):
    """``dout`` where the input was positive, 0 elsewhere."""
    return dout * (cache > 0)


def _windows(h, w, hh, ww, stride):
    """Output size and, per kernel offset (dh, dw), the slices of the input it reads."""
    h_out, w_out = 1 + (h - hh) // stride, 1 + (w - ww) // stride
    offsets = [
        (
            dh,
            dw,
            (
                slice(dh, dh + stride * (h_out - 1) + 1, stride),
                slice(dw, dw + stride * (w_out - 1) + 1, stride),
            ),
        )
        for dh in range(hh)
        for dw in range(ww)
    ]
    return h_out, w_out, offsets


def conv_forward_naive(x, w, b, conv_param):
    """Cross-correlation of zero-padded ``x`` with ``w``, stride and pad from ``conv_param``."""
    stride, pad = conv_param["stride"], conv_param["pad"]
    n, _, h, wd = x.shape
    f, _, hh, ww = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    h_out, w_out, offsets = _windows(h + 2 * pad, wd + 2 * pad, hh, ww, stride)
    out = np.zeros((n, f, h_out, w_out))
    for dh, dw, (rows, cols) in offsets:
        out += np.einsum("nchw,fc->nfhw", xp[:, :, rows, cols], w[:, :, dh, dw])
    out += b[None, :, None, None]
    return out, (x, w, b, conv_param)


def conv_backward_naive(dout, cache):
    """Gradients of the convolution: ``dx`` (padding cropped), ``dw`` (F, C, HH, WW), ``db`` (F,)."""
    x, w, b, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    _, _, h, wd = x.shape
    _, _, hh, ww = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp = np.zeros_like(xp)
    dw_ = np.zeros_like(w)
    _, _, offsets = _windows(h + 2 * pad, wd + 2 * pad, hh, ww, stride)
    for dh, dw, (rows, cols) in offsets:
        dw_[:, :, dh, dw] = np.einsum("nfhw,nchw->fc", dout, xp[:, :, rows, cols])
        dxp[:, :, rows, cols] += np.einsum("nfhw,fc->nchw", dout, w[:, :, dh, dw])
    dx = dxp[:, :, pad : pad + h, pad : pad + wd]
    db = dout.sum(axis=(0, 2, 3))
    return dx, dw_, db


def max_pool_forward_naive(x, pool_param):
    """Maximum of every ``pool_height`` x ``pool_width`` window, windows ``stride`` apart, no padding."""
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    _, _, h, w = x.shape
    _, _, offsets = _windows(h, w, ph, pw, stride)
    out = np.max(np.stack([x[:, :, rows, cols] for _, _, (rows, cols) in offsets]), axis=0)
    return out, (x, pool_param)


def max_pool_backward_naive(dout, cache):
    """Each window's ``dout`` to its (first, in row-major order) maximum; overlapping windows add up."""
    x, pool_param = cache
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    _, _, h, w = x.shape
    _, _, offsets = _windows(h, w, ph, pw, stride)
    stacked = np.stack([x[:, :, rows, cols] for _, _, (rows, cols) in offsets])
    first = np.argmax(stacked, axis=0)
    dx = np.zeros_like(x)
    for i, (_, _, (rows, cols)) in enumerate(offsets):
        dx[:, :, rows, cols] += np.where(first == i, dout, 0.0)
    return dx


def softmax_loss(x, y):
    """Mean cross-entropy of scores ``x`` (N, C) for labels ``y`` (N,), and its gradient."""
    n = x.shape[0]
    shifted = x - x.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(n), y].mean()
    dx = np.exp(log_probs)
    dx[np.arange(n), y] -= 1
    return loss, dx / n
