"""Legacy: Python 2 code that compiles under Python 3: the output size is computed with `/`,
integer division in Python 2 and a float in Python 3, so range() fails in both functions."""
import numpy as np


def _padded(input, layer):
    h, w, c, n = input['height'], input['width'], input['channel'], input['batch_size']
    pad = layer['pad']
    x = input['data'].reshape(h, w, c, n, order='F')
    return np.pad(x, ((pad, pad), (pad, pad), (0, 0), (0, 0)), mode='constant')


def pooling_layer_forward(input, layer):
    h, w, c, n = input['height'], input['width'], input['channel'], input['batch_size']
    k, stride, pad = layer['k'], layer['stride'], layer['pad']
    h_out = (h + 2 * pad - k) / stride + 1
    w_out = (w + 2 * pad - k) / stride + 1
    x = _padded(input, layer)
    out = np.zeros((h_out, w_out, c, n))
    for i in range(h_out):
        for j in range(w_out):
            window = x[i * stride:i * stride + k, j * stride:j * stride + k]
            out[i, j] = window.reshape(k * k, c, n, order='F').max(axis=0)
    return {'height': h_out, 'width': w_out, 'channel': c, 'batch_size': n,
            'data': out.reshape(h_out * w_out * c, n, order='F')}


def pooling_layer_backward(output, input, layer):
    h, w, c, n = input['height'], input['width'], input['channel'], input['batch_size']
    k, stride, pad = layer['k'], layer['stride'], layer['pad']
    h_out = (h + 2 * pad - k) / stride + 1
    w_out = (w + 2 * pad - k) / stride + 1
    x = _padded(input, layer)
    dy = output['diff'].reshape(h_out, w_out, c, n, order='F')
    dx = np.zeros(x.shape)
    for i in range(h_out):
        for j in range(w_out):
            window = x[i * stride:i * stride + k, j * stride:j * stride + k].reshape(k * k, c, n, order='F')
            first = window.argmax(axis=0)  # the first maximum in Fortran window order
            for ch in range(c):
                for b in range(n):
                    dh, dw = first[ch, b] % k, first[ch, b] // k
                    dx[i * stride + dh, j * stride + dw, ch, b] += dy[i, j, ch, b]
    dx = dx[pad:pad + h, pad:pad + w]
    return dx.reshape(h * w * c, n, order='F')
