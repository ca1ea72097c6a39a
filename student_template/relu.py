"""Rectified linear unit: write both functions.

Data layout: a layer's ``data`` is a 2-D float64 array of shape ``(h*w*c, batch)``;
ReLU works element by element, so the layout does not matter here.

Speed: the grader trains LeNet with your layers, 500 iterations of 64 digits within 300 s
(the reference takes about 30 s). Python loops over pixels, windows or images are far too
slow: use array operations (matrix products, reshapes, strided views). Before you submit,
``python -m harness speed .`` times each function against the reference in a few seconds
and says what to vectorise (see README.md).
"""
import numpy as np


def relu_forward(input):
    """Forward pass of ReLU: ``max(x, 0)`` element-wise.

    Args:
        input: dict with ``height``, ``width``, ``channel``, ``batch_size`` and ``data``
            ``x`` of shape ``(h*w*c, batch)``.

    Returns:
        dict with the same ``height``, ``width``, ``channel``, ``batch_size`` and ``data``
        of shape ``(h*w*c, batch)``, a **new** array (do not modify ``input['data']``
        in place: the backward pass needs it).
    """
    raise NotImplementedError("relu_forward is not implemented yet")


def relu_backward(output, input, layer):
    """Backward pass of ReLU.

    Args:
        output: the forward's output dict plus ``diff`` of shape ``(h*w*c, batch)``,
            dL/d(output data).
        input: the forward's input dict, ``data`` ``x`` of shape ``(h*w*c, batch)``.
        layer: dict with ``type`` 'RELU' (nothing else is needed).

    Returns:
        ``input_od`` of shape ``(h*w*c, batch)``: ``diff * (x > 0)``, the gradient passes
        where the input was positive. (At exactly ``x == 0`` either 0 or 1 is accepted.)
    """
    raise NotImplementedError("relu_backward is not implemented yet")
