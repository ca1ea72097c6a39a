"""Correct variant: computes in float32, returns float64 (loops over kernel offsets)."""
import numpy as np


def _padded(input, layer):
    h, w, c, n = input['height'], input['width'], input['channel'], input['batch_size']
    p = layer['pad']
    x = input['data'].astype(np.float32).reshape(h, w, c, n, order='F')
    return np.pad(x, ((p, p), (p, p), (0, 0), (0, 0)))


def _sizes(input, layer):
    k, s, p = layer['k'], layer['stride'], layer['pad']
    return (input['height'] + 2 * p - k) // s + 1, (input['width'] + 2 * p - k) // s + 1


def pooling_layer_forward(input, layer):
    k, s = layer['k'], layer['stride']
    h_out, w_out = _sizes(input, layer)
    x = _padded(input, layer)
    best = np.full((h_out, w_out) + x.shape[2:], -np.inf, dtype=np.float32)
    for dw in range(k):
        for dh in range(k):
            best = np.maximum(best, x[dh:dh + s * h_out:s, dw:dw + s * w_out:s])
    return {'height': h_out, 'width': w_out, 'channel': input['channel'], 'batch_size': input['batch_size'],
            'data': best.reshape(-1, input['batch_size'], order='F').astype(np.float64)}


def pooling_layer_backward(output, input, layer):
    h, w, n = input['height'], input['width'], input['batch_size']
    k, s, p = layer['k'], layer['stride'], layer['pad']
    h_out, w_out = _sizes(input, layer)
    x = _padded(input, layer)
    dy = output['diff'].astype(np.float32).reshape(h_out, w_out, -1, n, order='F')
    best = np.full(dy.shape, -np.inf, dtype=np.float32)
    arg = np.zeros(dy.shape, dtype=int)
    for dw in range(k):            # Fortran order of the window: dh fastest
        for dh in range(k):
            v = x[dh:dh + s * h_out:s, dw:dw + s * w_out:s]
            better = v > best
            best = np.where(better, v, best)
            arg = np.where(better, dh + k * dw, arg)
    dx = np.zeros_like(x)
    for dw in range(k):
        for dh in range(k):
            dx[dh:dh + s * h_out:s, dw:dw + s * w_out:s] += np.where(arg == dh + k * dw, dy, 0)
    return dx[p:p + h, p:p + w].reshape(-1, n, order='F').astype(np.float64)
