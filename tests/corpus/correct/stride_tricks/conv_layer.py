"""Correct variant: windows from numpy's sliding_window_view; the backward scatters with np.add.at."""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def _windows(input, layer):
    h, w, c, n = input['height'], input['width'], input['channel'], input['batch_size']
    k, s, p = layer['k'], layer['stride'], layer['pad']
    x = np.pad(input['data'].reshape(h, w, c, n, order='F'), ((p, p), (p, p), (0, 0), (0, 0)))
    v = sliding_window_view(x, (k, k), axis=(0, 1))[::s, ::s]        # (h_out, w_out, c, n, k, k)
    return x, v


def conv_layer_forward(input, layer, param):
    k, num, c, n = layer['k'], layer['num'], input['channel'], input['batch_size']
    _, v = _windows(input, layer)
    h_out, w_out = v.shape[:2]
    cols = v.transpose(0, 1, 3, 2, 5, 4).reshape(h_out * w_out * n, c * k * k)           # C order of (c, dw, dh)
    out = cols @ param['w'] + np.reshape(param['b'], (1, num))                             # (h_out*w_out*n, num)
    out = out.reshape(h_out, w_out, n, num).transpose(0, 1, 3, 2)                          # (h_out, w_out, num, n)
    return {'height': h_out, 'width': w_out, 'channel': num, 'batch_size': n,
            'data': out.reshape(-1, n, order='F')}


def conv_layer_backward(output, input, layer, param):
    h, w, c, n = input['height'], input['width'], input['channel'], input['batch_size']
    k, s, p, num = layer['k'], layer['stride'], layer['pad'], layer['num']
    x, v = _windows(input, layer)
    h_out, w_out = v.shape[:2]
    cols = v.transpose(0, 1, 3, 2, 5, 4).reshape(h_out * w_out * n, c * k * k)
    dy = output['diff'].reshape(h_out, w_out, num, n, order='F').transpose(0, 1, 3, 2).reshape(-1, num)
    dw = cols.T @ dy
    db = dy.sum(axis=0).reshape(1, num)
    dcols = (dy @ param['w'].T).reshape(h_out, w_out, n, c, k, k)                          # (.., c, dw, dh)
    dx = np.zeros_like(x)
    oh = (np.arange(h_out) * s)[:, None, None, None, None, None]
    ow = (np.arange(w_out) * s)[None, :, None, None, None, None]
    dh = np.arange(k)[None, None, None, None, None, :]
    dwi = np.arange(k)[None, None, None, None, :, None]
    ci = np.arange(c)[None, None, None, :, None, None]
    ni = np.arange(n)[None, None, :, None, None, None]
    np.add.at(dx, (oh + dh, ow + dwi, ci, ni), dcols)
    dx = dx[p:p + h, p:p + w]
    return {'w': dw, 'b': db}, dx.reshape(-1, n, order='F')
