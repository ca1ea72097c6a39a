"""Max pooling over non-overlapping k-by-k windows (stride = k), zero padding, NCHW."""
import numpy as np


class MaxPoolingLayer():
    def __init__(self, kernel_size, pad):
        self.kernel_size = kernel_size
        self.pad = pad
        self.trainable = False

    def _tiles(self, Input):
        """(N, C, h_out, k, w_out, k) view of the windows; the remainder rows/columns are dropped."""
        k, p = self.kernel_size, self.pad
        n, c, h, w = Input.shape
        xpad = np.pad(Input, ((0, 0), (0, 0), (p, p), (p, p)))
        h_out, w_out = (h + 2 * p) // k, (w + 2 * p) // k
        return xpad[:, :, :h_out * k, :w_out * k].reshape(n, c, h_out, k, w_out, k)

    def forward(self, Input, **kwargs):
        """Input: (N, C, H, W). Zero-pad by self.pad, then take the maximum of each
        non-overlapping kernel_size x kernel_size window (stride = kernel_size):
        output (N, C, (H + 2*pad) // k, (W + 2*pad) // k). Keep what backward needs."""
        ############ TODO ############
        raise NotImplementedError


    def backward(self, delta):
        """delta: dL/d(output). Route each window's gradient to its maximum; return dL/dInput,
        Input's shape (the padding removed)."""
        ############ TODO ############
        raise NotImplementedError
