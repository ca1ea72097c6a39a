"""Correct variant: windows as strided views (as_strided), pooling backward with a mask per window."""
from numpy.lib.stride_tricks import as_strided


def _windows(x, hh, ww, stride):
    N, C, H, W = x.shape
    H_out, W_out = 1 + (H - hh) // stride, 1 + (W - ww) // stride
    sn, sc, sh, sw = x.strides
    return as_strided(x, (N, C, H_out, W_out, hh, ww), (sn, sc, sh * stride, sw * stride, sh, sw), writeable=False)


def conv_forward_naive(x, w, b, conv_param):
    p = conv_param['pad']
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    win = _windows(xp, w.shape[2], w.shape[3], conv_param['stride'])
    out = np.tensordot(win, w, axes=([1, 4, 5], [1, 2, 3])).transpose(0, 3, 1, 2) + b[None, :, None, None]
    return out, (x, w, b, conv_param)


def max_pool_forward_naive(x, pool_param):
    win = _windows(np.ascontiguousarray(x), pool_param['pool_height'], pool_param['pool_width'], pool_param['stride'])
    return win.max(axis=(4, 5)), (x, pool_param)


def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    ph, pw, s = pool_param['pool_height'], pool_param['pool_width'], pool_param['stride']
    win = _windows(np.ascontiguousarray(x), ph, pw, s)
    flat = win.reshape(win.shape[:4] + (-1,))
    first = flat.argmax(axis=-1)
    dx = np.zeros_like(x)
    N, C, Ho, Wo = dout.shape
    for i in range(Ho):
        for j in range(Wo):
            r, c = np.unravel_index(first[:, :, i, j], (ph, pw))
            nn, cc = np.meshgrid(np.arange(N), np.arange(C), indexing='ij')
            np.add.at(dx, (nn, cc, i * s + r, j * s + c), dout[:, :, i, j])
    return dx
