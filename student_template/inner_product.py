"""Fully connected (inner product) layer: write both functions.

Data layout (used by every layer): a layer's ``data`` is a 2-D float64 array of shape
``(h*w*c, batch)``; column j is image j. For this layer the input is seen as plain
vectors of length ``d = h*w*c`` (the layer before it may be a conv or pooling layer).

Speed: the grader trains LeNet with your layers, 500 iterations of 64 digits within 300 s
(the reference takes about 30 s). Python loops over pixels, windows or images are far too
slow: use array operations (matrix products, reshapes, strided views). Before you submit,
``python -m harness speed .`` times each function against the reference in a few seconds
and says what to vectorise (see README.md).
"""
import numpy as np


def inner_product_forward(input, layer, param):
    """Forward pass of a fully connected layer: ``data = w.T @ x + b.T``.

    Args:
        input: dict with keys ``height``, ``width``, ``channel``, ``batch_size`` and
            ``data``, the input ``x`` of shape ``(d, batch)`` with ``d = height*width*channel``.
        layer: dict with ``type`` 'IP' and ``num``, the number of outputs.
        param: dict with ``w`` of shape ``(d, num)`` and ``b`` of shape ``(1, num)``
            (accept ``(num,)`` too: reshape ``b`` to a column before adding it).

    Returns:
        dict with ``height = num``, ``width = 1``, ``channel = 1``, ``batch_size = batch``
        and ``data`` of shape ``(num, batch)``: ``data[i, j] = sum_k w[k, i] * x[k, j] + b[i]``.
    """
    raise NotImplementedError("inner_product_forward is not implemented yet")


def inner_product_backward(output, input, layer, param):
    """Backward pass of a fully connected layer.

    Args:
        output: the dict your forward returned, plus ``diff`` of shape ``(num, batch)``:
            dL/d(output data), the gradient coming from the layer above.
        input: the forward's input dict, ``data`` ``x`` of shape ``(d, batch)``.
        layer: as in the forward.
        param: as in the forward, ``w`` ``(d, num)`` and ``b`` ``(1, num)`` or ``(num,)``.

    Returns:
        ``(param_grad, input_od)``:
        ``param_grad`` is a dict ``{'w': x @ diff.T, 'b': diff summed over the batch}``;
        ``w`` has the shape of ``param['w']``, ``(d, num)``; ``b`` has ``num`` entries,
        shape ``(1, num)`` or ``(num,)``. Gradients are **sums** over the batch, not means
        (``conv_net.py`` divides by the batch size once).
        ``input_od = w @ diff`` is dL/dx, of shape ``(d, batch)`` like ``input['data']``.
    """
    raise NotImplementedError("inner_product_backward is not implemented yet")
