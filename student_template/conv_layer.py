"""Convolution layer: write both functions.

Data layout: ``data`` has shape ``(h*w*c, batch)``; column j is the **Fortran-order**
(column-major) flattening of image j's ``(h, w, c)`` volume, so element ``(ih, iw, ic)``
is at row ``ih + h*iw + h*w*ic``.

Weights: ``param['w']`` has shape ``(k*k*c, num)``; column f is filter f, and its row
``dh + k*dw + k*k*ic`` holds the weight at kernel offset ``(dh, dw)`` of input channel
``ic`` (the Fortran flattening of a ``(k, k, c)`` patch). ``utils.im2col_conv`` produces
patches in exactly this row order, one column per output pixel (column ``oh + h_out*ow``),
so one image's output is ``w.T @ col + b``. ``utils.col2im_conv`` is its adjoint (it adds
every column back into its patch), which is what the backward pass needs.

Speed: the grader trains LeNet with your layers, 500 iterations of 64 digits within 300 s
(the reference takes about 30 s). Python loops over pixels, windows or images are far too
slow: use array operations (matrix products, reshapes, strided views). Before you submit,
``python -m harness speed .`` times each function against the reference in a few seconds
and says what to vectorise (see README.md).
"""
import numpy as np

from utils import im2col_conv, col2im_conv, im2col_conv_batch


def conv_layer_forward(input, layer, param):
    """Forward pass of a convolution layer (cross-correlation: the kernel is not flipped).

    Args:
        input: dict with ``height`` h, ``width`` w, ``channel`` c, ``batch_size`` and
            ``data`` of shape ``(h*w*c, batch)`` (Fortran column layout, see above).
        layer: dict with ``k`` (kernel size, k-by-k), ``stride``, ``pad`` (zero padding),
            ``num`` (number of filters) and ``group`` (always 1).
        param: dict with ``w`` of shape ``(k*k*c, num)`` (row ``dh + k*dw + k*k*ic``) and
            ``b`` of shape ``(1, num)`` (accept ``(num,)`` too).

    Returns:
        dict with ``height = h_out``, ``width = w_out``, ``channel = num``, ``batch_size``
        and ``data`` of shape ``(h_out*w_out*num, batch)`` in the Fortran layout, where
        ``h_out = (h + 2*pad - k) // stride + 1`` (the same for ``w_out``) and
        ``out(oh, ow, f) = b[f] + sum over dh, dw, ic of
        x_padded(oh*stride + dh, ow*stride + dw, ic) * w[dh + k*dw + k*k*ic, f]``.
    """
    raise NotImplementedError("conv_layer_forward is not implemented yet")


def conv_layer_backward(output, input, layer, param):
    """Backward pass of a convolution layer.

    Args:
        output: the forward's output dict plus ``diff`` of shape ``(h_out*w_out*num, batch)``,
            dL/d(output data), in the Fortran layout.
        input: the forward's input dict, ``data`` of shape ``(h*w*c, batch)``.
        layer: as in the forward (``k``, ``stride``, ``pad``, ``num``, ``group``).
        param: as in the forward, ``w`` ``(k*k*c, num)`` and ``b`` ``(1, num)`` or ``(num,)``.

    Returns:
        ``(param_grad, input_od)``: ``param_grad`` is a dict with ``w``, dL/dw of shape
        ``(k*k*c, num)`` in the same row order as ``param['w']``, and ``b``, dL/db with
        ``num`` entries (shape ``(1, num)`` or ``(num,)``). Both are **sums** over the batch,
        not means (``conv_net.py`` divides by the batch size once). ``input_od`` is dL/dx of
        shape ``(h*w*c, batch)``, Fortran layout; gradient that falls on padding is dropped.
    """
    raise NotImplementedError("conv_layer_backward is not implemented yet")
