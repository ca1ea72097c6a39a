"""Correct variant: windows from sliding_window_view; argmax of each window flattened in Fortran order."""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def _windows(input, layer):
    h, w, c, n = input['height'], input['width'], input['channel'], input['batch_size']
    k, s, p = layer['k'], layer['stride'], layer['pad']
    x = np.pad(input['data'].reshape(h, w, c, n, order='F'), ((p, p), (p, p), (0, 0), (0, 0)))
    return x, sliding_window_view(x, (k, k), axis=(0, 1))[::s, ::s]   # (h_out, w_out, c, n, kh, kw)


def pooling_layer_forward(input, layer):
    _, v = _windows(input, layer)
    h_out, w_out, c, n = v.shape[:4]
    out = v.max(axis=(4, 5))
    return {'height': h_out, 'width': w_out, 'channel': c, 'batch_size': n,
            'data': out.reshape(-1, n, order='F')}


def pooling_layer_backward(output, input, layer):
    h, w = input['height'], input['width']
    k, s, p = layer['k'], layer['stride'], layer['pad']
    x, v = _windows(input, layer)
    h_out, w_out, c, n = v.shape[:4]
    flat = v.transpose(0, 1, 2, 3, 5, 4).reshape(h_out, w_out, c, n, k * k)   # (kw, kh) in C = (kh, kw) in F
    j = flat.argmax(axis=-1)
    dh, dw = j % k, j // k
    oh = np.arange(h_out)[:, None, None, None] * s
    ow = np.arange(w_out)[None, :, None, None] * s
    ci = np.arange(c)[None, None, :, None]
    ni = np.arange(n)[None, None, None, :]
    dy = output['diff'].reshape(h_out, w_out, c, n, order='F')
    dx = np.zeros_like(x)
    np.add.at(dx, (oh + dh, ow + dw, np.broadcast_to(ci, j.shape), np.broadcast_to(ni, j.shape)), dy)
    return dx[p:p + h, p:p + w].reshape(-1, n, order='F')
