"""Layers of a convolutional network: write every function below.

Each forward returns ``(out, cache)``: ``cache`` is whatever its backward needs (the
grader hands your backward exactly the cache your forward returned). Each backward takes
``(dout, cache)``, where ``dout`` is the upstream gradient, dL/d(out), of ``out``'s shape.

Arrays are float64 numpy arrays, batch first; images are NCHW: ``(N, C, H, W)``. Never
modify an argument in place (no ``x -= ...`` on the caller's ``x``): compute new arrays.
Full contract: shared/assignment-api-cs231n.md.
"""

import numpy as np


def affine_forward(x, w, b):
    """Fully connected layer, forward.

    Args:
        x: ``(N, d1, ..., dk)``; each example is flattened to ``D = d1 * ... * dk`` values
            (C order: ``x.reshape(N, -1)``).
        w: weights ``(D, M)``.
        b: biases ``(M,)``.

    Returns:
        out: ``(N, M)``, ``x_flat @ w + b``.
        cache: what affine_backward needs, e.g. ``(x, w, b)``.
    """
    raise NotImplementedError("affine_forward is not implemented yet")


def affine_backward(dout, cache):
    """Fully connected layer, backward.

    Args:
        dout: ``(N, M)``, dL/d(out).
        cache: what affine_forward returned.

    Returns:
        dx: x's **original** shape ``(N, d1, ..., dk)`` (reshape back after the product).
        dw: ``(D, M)``.
        db: ``(M,)``, the sum over the batch.
    """
    raise NotImplementedError("affine_backward is not implemented yet")


def relu_forward(x):
    """ReLU, forward: ``max(x, 0)`` element-wise, any shape, in a new array.

    Returns:
        out: same shape as ``x``.
        cache: e.g. ``x``.
    """
    raise NotImplementedError("relu_forward is not implemented yet")


def relu_backward(dout, cache):
    """ReLU, backward: ``dout`` where the input was positive, 0 elsewhere (either at exactly 0).

    Returns:
        dx: same shape as ``dout``.
    """
    raise NotImplementedError("relu_backward is not implemented yet")


def conv_forward_naive(x, w, b, conv_param):
    """Convolution (cross-correlation: the kernel is not flipped), forward.

    Args:
        x: ``(N, C, H, W)``.
        w: filters ``(F, C, HH, WW)``; HH and WW may differ.
        b: biases ``(F,)``.
        conv_param: ``{'stride': s, 'pad': p}``; ``x`` is zero-padded by ``p`` on both sides
            of H and W (do not modify ``x``: pad a copy, e.g. with ``np.pad``).

    Returns:
        out: ``(N, F, H', W')`` with ``H' = 1 + (H + 2p - HH) // s`` and
            ``W' = 1 + (W + 2p - WW) // s``;
            ``out[n, f, i, j] = sum(x_pad[n, :, i*s:i*s+HH, j*s:j*s+WW] * w[f]) + b[f]``.
        cache: e.g. ``(x, w, b, conv_param)``.
    """
    raise NotImplementedError("conv_forward_naive is not implemented yet")


def conv_backward_naive(dout, cache):
    """Convolution, backward.

    Args:
        dout: ``(N, F, H', W')``.
        cache: what conv_forward_naive returned.

    Returns:
        dx: ``(N, C, H, W)`` (the padding's gradient cropped away).
        dw: ``(F, C, HH, WW)``.
        db: ``(F,)``.
    """
    raise NotImplementedError("conv_backward_naive is not implemented yet")


def max_pool_forward_naive(x, pool_param):
    """Max pooling, forward (no padding).

    Args:
        x: ``(N, C, H, W)``.
        pool_param: ``{'pool_height': ph, 'pool_width': pw, 'stride': s}``; windows may
            overlap (``s < ph``).

    Returns:
        out: ``(N, C, H', W')`` with ``H' = 1 + (H - ph) // s``, ``W' = 1 + (W - pw) // s``.
        cache: e.g. ``(x, pool_param)``.
    """
    raise NotImplementedError("max_pool_forward_naive is not implemented yet")


def max_pool_backward_naive(dout, cache):
    """Max pooling, backward: each window's ``dout`` goes to its maximum.

    Where windows overlap, the gradients of an element add up. A window whose maximum occurs
    more than once gives its gradient to one of them (any one), not to all.

    Returns:
        dx: ``(N, C, H, W)``.
    """
    raise NotImplementedError("max_pool_backward_naive is not implemented yet")


def softmax_loss(x, y):
    """Softmax cross-entropy loss.

    Args:
        x: scores ``(N, C)``.
        y: integer labels ``(N,)``, ``0 <= y[i] < C``.

    Returns:
        loss: the **mean** over the batch of ``-log softmax(x[i])[y[i]]`` (a float).
        dx: ``(N, C)``, ``(softmax(x) - onehot(y)) / N``. Subtract each row's maximum
            before ``exp`` (into a new array: not ``x -= ...``), or large scores overflow.
    """
    raise NotImplementedError("softmax_loss is not implemented yet")
