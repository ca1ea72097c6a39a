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
        self.Input = Input
        return self._tiles(Input).max(axis=(3, 5))

    def backward(self, delta):
        k, p = self.kernel_size, self.pad
        n, c, h, w = self.Input.shape
        tiles = self._tiles(self.Input)
        h_out, w_out = tiles.shape[2], tiles.shape[4]
        flat = tiles.transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h_out, w_out, k * k)
        first = flat.argmax(axis=-1)  # one maximum per window gets the gradient
        mask = np.arange(k * k) == first[..., None]
        grad = (mask * delta[..., None]).reshape(n, c, h_out, w_out, k, k)
        dxpad = np.zeros((n, c, h + 2 * p, w + 2 * p), dtype=grad.dtype)
        dxpad[:, :, :h_out * k, :w_out * k] = grad.transpose(0, 1, 2, 4, 3, 5).reshape(
            n, c, h_out * k, w_out * k)
        return dxpad[:, :, p:p + h, p:p + w]
