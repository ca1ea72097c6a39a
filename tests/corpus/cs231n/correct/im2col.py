"""Correct variant: convolution as one matrix product over im2col columns, col2im with np.add.at."""


def _im2col_indices(C, H, W, HH, WW, stride):
    H_out, W_out = 1 + (H - HH) // stride, 1 + (W - WW) // stride
    i0 = np.tile(np.repeat(np.arange(HH), WW), C)
    i1 = stride * np.repeat(np.arange(H_out), W_out)
    j0 = np.tile(np.arange(WW), HH * C)
    j1 = stride * np.tile(np.arange(W_out), H_out)
    i = i0.reshape(-1, 1) + i1.reshape(1, -1)
    j = j0.reshape(-1, 1) + j1.reshape(1, -1)
    k = np.repeat(np.arange(C), HH * WW).reshape(-1, 1)
    return k, i, j, H_out, W_out


def conv_forward_naive(x, w, b, conv_param):
    stride, pad = conv_param['stride'], conv_param['pad']
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    k, i, j, H_out, W_out = _im2col_indices(C, H + 2 * pad, W + 2 * pad, HH, WW, stride)
    cols = x_pad[:, k, i, j]  # (N, C*HH*WW, H_out*W_out)
    out = np.einsum('fk,nkp->nfp', w.reshape(F, -1), cols) + b[None, :, None]
    return out.reshape(N, F, H_out, W_out), (x, w, b, conv_param, cols)


def conv_backward_naive(dout, cache):
    x, w, b, conv_param, cols = cache
    stride, pad = conv_param['stride'], conv_param['pad']
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    d = dout.reshape(N, F, -1)
    db = d.sum(axis=(0, 2))
    dw = np.einsum('nfp,nkp->fk', d, cols).reshape(w.shape)
    dcols = np.einsum('fk,nfp->nkp', w.reshape(F, -1), d)
    k, i, j, _, _ = _im2col_indices(C, H + 2 * pad, W + 2 * pad, HH, WW, stride)
    dx_pad = np.zeros((N, C, H + 2 * pad, W + 2 * pad))
    np.add.at(dx_pad, (slice(None), k, i, j), dcols)
    return dx_pad[:, :, pad:pad + H, pad:pad + W], dw, db
