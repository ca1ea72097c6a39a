"""Max pooling layer: write both functions.

Data layout: ``data`` has shape ``(h*w*c, batch)``; column j is the **Fortran-order**
(column-major) flattening of image j's ``(h, w, c)`` volume, so element ``(ih, iw, ic)``
is at row ``ih + h*iw + h*w*ic``: ``x = data[:, j].reshape(h, w, c, order='F')`` and back
with ``.ravel(order='F')`` (or ``data.reshape(h, w, c, batch, order='F')`` for all images).

Speed: the grader trains LeNet with your layers, 500 iterations of 64 digits within 300 s
(the reference takes about 30 s). Python loops over pixels, windows or images are far too
slow: use array operations (matrix products, reshapes, strided views). Before you submit,
``python -m harness speed .`` times each function against the reference in a few seconds
and says what to vectorise (see README.md).
"""
import numpy as np


def pooling_layer_forward(input, layer):
    """Forward pass of max pooling, each channel separately.

    Args:
        input: dict with ``height`` h, ``width`` w, ``channel`` c, ``batch_size`` and
            ``data`` of shape ``(h*w*c, batch)`` (Fortran column layout, see above).
        layer: dict with ``k`` (window size, k-by-k), ``stride`` and ``pad``.

    Returns:
        dict with ``height = h_out``, ``width = w_out``, ``channel = c``, ``batch_size``
        and ``data`` of shape ``(h_out*w_out*c, batch)`` in the same Fortran layout, where
        ``h_out = (h + 2*pad - k) // stride + 1`` and ``w_out = (w + 2*pad - k) // stride + 1``.
        Output ``(oh, ow, ic)`` is the maximum of the padded input over rows
        ``oh*stride .. oh*stride + k - 1`` and columns ``ow*stride .. ow*stride + k - 1``
        of channel ``ic``. Padding is with **zeros** (as ``np.pad`` does), not -inf.
    """
    raise NotImplementedError("pooling_layer_forward is not implemented yet")


def pooling_layer_backward(output, input, layer):
    """Backward pass of max pooling.

    Args:
        output: the forward's output dict plus ``diff`` of shape ``(h_out*w_out*c, batch)``,
            dL/d(output data), in the Fortran layout.
        input: the forward's input dict, ``data`` of shape ``(h*w*c, batch)``.
        layer: as in the forward (``k``, ``stride``, ``pad``).

    Returns:
        ``input_od`` of shape ``(h*w*c, batch)``: each window's ``diff`` goes entirely to the
        position of that window's maximum; where windows overlap the contributions **add up**;
        positions that are no window's maximum get 0, and gradient routed to a padding
        position is dropped. Ties: the **first** maximum in Fortran order of the ``(k, k)``
        window (the row offset dh varies fastest: (0,0), (1,0), ..., (0,1), ...), which is
        what ``np.argmax(window.ravel(order='F'))`` picks.
    """
    raise NotImplementedError("pooling_layer_backward is not implemented yet")
