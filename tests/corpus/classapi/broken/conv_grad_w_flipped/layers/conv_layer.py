"""The weight gradient computed with the kernel flipped (forward is right)."""
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
        k, p = self.kernel_size, self.pad
        n, c, h, w = Input.shape
        self.Input = Input
        self.xpad = np.pad(Input, ((0, 0), (0, 0), (p, p), (p, p)))
        h_out, w_out = h + 2 * p - k + 1, w + 2 * p - k + 1
        cols = _windows(self.xpad, k, h_out, w_out)
        out = np.tensordot(cols, self.W, axes=([1, 4, 5], [1, 2, 3]))  # (N, h_out, w_out, F)
        return out.transpose(0, 3, 1, 2) + self.b.reshape(1, -1, 1, 1)

    def backward(self, delta):
        k, p = self.kernel_size, self.pad
        n, c, h, w = self.Input.shape
        h_out, w_out = delta.shape[2:]
        cols = _windows(self.xpad, k, h_out, w_out)
        self.grad_W = np.tensordot(delta, cols, axes=([0, 2, 3], [0, 2, 3]))[:, :, ::-1, ::-1]
        self.grad_b = delta.sum(axis=(0, 2, 3)).reshape(self.b.shape)
        dcols = np.tensordot(delta, self.W, axes=([1], [0]))  # (N, h_out, w_out, C, k, k)
        dxpad = np.zeros(self.xpad.shape, dtype=np.result_type(delta, self.W))
        for dh in range(k):
            for dw in range(k):
                dxpad[:, :, dh:dh + h_out, dw:dw + w_out] += dcols[..., dh, dw].transpose(0, 3, 1, 2)
        return dxpad[:, :, p:p + h, p:p + w]

    def XavierInit(self):
        raw_std = (2 / (self.inputs + self.filters))**0.5
        init_std = raw_std * (2**0.5)
        self.W = np.random.normal(0, init_std, (self.filters, self.inputs, self.kernel_size, self.kernel_size))
        self.b = np.random.normal(0, init_std, (self.filters,))
