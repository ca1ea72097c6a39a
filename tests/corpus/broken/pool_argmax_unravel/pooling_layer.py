"""Mistake: the backward pass finds each window's maximum with argmax over the window flattened in
Fortran order (dh + k*dw) but unravels the index as if in C order (dh, dw = divmod(i, k))."""
import numpy as np


def pooling_layer_forward(input, layer):
    h, w, c, n = input['height'], input['width'], input['channel'], input['batch_size']
    k, s, p = layer['k'], layer['stride'], layer['pad']
    h_out = (h + 2 * p - k) // s + 1
    w_out = (w + 2 * p - k) // s + 1
    x = np.pad(input['data'].reshape(h, w, c, n, order='F'), ((p, p), (p, p), (0, 0), (0, 0)))
    out = np.zeros((h_out, w_out, c, n))
    for oh in range(h_out):
        for ow in range(w_out):
            out[oh, ow] = x[oh * s:oh * s + k, ow * s:ow * s + k].max(axis=(0, 1))
    return {'height': h_out, 'width': w_out, 'channel': c, 'batch_size': n,
            'data': out.reshape(-1, n, order='F')}


def pooling_layer_backward(output, input, layer):
    h, w, c, n = input['height'], input['width'], input['channel'], input['batch_size']
    k, s, p = layer['k'], layer['stride'], layer['pad']
    h_out = (h + 2 * p - k) // s + 1
    w_out = (w + 2 * p - k) // s + 1
    x = np.pad(input['data'].reshape(h, w, c, n, order='F'), ((p, p), (p, p), (0, 0), (0, 0)))
    dy = output['diff'].reshape(h_out, w_out, c, n, order='F')
    dx = np.zeros_like(x)
    for oh in range(h_out):
        for ow in range(w_out):
            window = x[oh * s:oh * s + k, ow * s:ow * s + k].reshape(k * k, c, n, order='F')
            best = window.argmax(axis=0)
            dh, dw = np.divmod(best, k)  # wrong order: flattened as dh + k*dw
            for ic in range(c):
                for i in range(n):
                    dx[oh * s + dh[ic, i], ow * s + dw[ic, i], ic, i] += dy[oh, ow, ic, i]
    return dx[p:p + h, p:p + w].reshape(h * w * c, n, order='F')
