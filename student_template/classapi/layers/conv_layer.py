"""Convolution (cross-correlation), stride 1, zero padding, NCHW.

W (filters, inputs, k, k), b (filters,). Forward keeps the padded input's windows for backward.
"""
import numpy as np
from numpy.lib.stride_tricks import as_strided


def _windows(xpad, k, h_out, w_out):
    """Strided view (N, C, h_out, w_out, k, k) of every k-by-k window (no copy)."""
    n, c = xpad.shape[:2]
    sn, sc, sh, sw = xpad.strides
    return as_strided(xpad, shape=(n, c, h_out, w_out, k, k), strides=(sn, sc, sh, sw, sh, sw),
                      writeable=False)


class ConvLayer():
    def __init__(self, inputs, filters, kernel_size, pad, trainable=True):
        self.inputs = inputs
        self.filters = filters
        self.kernel_size = kernel_size
        self.pad = pad
        assert pad < kernel_size, "pad should be less than kernel_size"
        self.trainable = trainable
        self.XavierInit()
        self.grad_W = np.zeros_like(self.W)
        self.grad_b = np.zeros_like(self.b)

    def forward(self, Input, **kwargs):
        """Input: (N, C, H, W). Zero-pad by self.pad, then cross-correlate with self.W
        (filters, inputs, k, k), stride 1, and add self.b (filters,):
        output (N, filters, H + 2*pad - k + 1, W + 2*pad - k + 1). Keep what backward needs."""
        ############ TODO ############
        raise NotImplementedError


    def backward(self, delta):
        """delta: dL/d(output), the output's shape. Set self.grad_W (the shape of W) and
        self.grad_b (the shape of b), summed over the batch; return dL/dInput, Input's shape
        (the padding removed)."""
        ############ TODO ############
        raise NotImplementedError


    def XavierInit(self):
        raw_std = (2 / (self.inputs + self.filters))**0.5
        init_std = raw_std * (2**0.5)
        self.W = np.random.normal(0, init_std, (self.filters, self.inputs, self.kernel_size, self.kernel_size))
        self.b = np.random.normal(0, init_std, (self.filters,))
