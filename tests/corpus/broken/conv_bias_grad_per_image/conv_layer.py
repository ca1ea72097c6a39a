"""Mistake: the bias gradient is summed over the output positions but not over the batch: (num, batch)."""
import numpy as np


def conv_layer_forward(input, layer, param):
    h, w, c, n = input['height'], input['width'], input['channel'], input['batch_size']
    k, s, p, num = layer['k'], layer['stride'], layer['pad'], layer['num']
    h_out = (h + 2 * p - k) // s + 1
    w_out = (w + 2 * p - k) // s + 1
    x = input['data'].reshape(h, w, c, n, order='F')
    x = np.pad(x, ((p, p), (p, p), (0, 0), (0, 0)))
    W = param['w'].reshape(k, k, c, num, order='F')
    b = np.reshape(param['b'], -1)
    out = np.zeros((h_out, w_out, num, n))
    for oh in range(h_out):
        for ow in range(w_out):
            patch = x[oh * s:oh * s + k, ow * s:ow * s + k]            # (k, k, c, n)
            out[oh, ow] = np.tensordot(W, patch, axes=([0, 1, 2], [0, 1, 2])) + b[:, None]
    return {'height': h_out, 'width': w_out, 'channel': num, 'batch_size': n,
            'data': out.reshape(h_out * w_out * num, n, order='F')}


def conv_layer_backward(output, input, layer, param):
    h, w, c, n = input['height'], input['width'], input['channel'], input['batch_size']
    k, s, p, num = layer['k'], layer['stride'], layer['pad'], layer['num']
    h_out = (h + 2 * p - k) // s + 1
    w_out = (w + 2 * p - k) // s + 1
    x = input['data'].reshape(h, w, c, n, order='F')
    x = np.pad(x, ((p, p), (p, p), (0, 0), (0, 0)))
    W = param['w'].reshape(k, k, c, num, order='F')
    dy = output['diff'].reshape(h_out, w_out, num, n, order='F')
    dx = np.zeros_like(x)
    dW = np.zeros_like(W)
    for oh in range(h_out):
        for ow in range(w_out):
            patch = x[oh * s:oh * s + k, ow * s:ow * s + k]            # (k, k, c, n)
            g = dy[oh, ow]                                             # (num, n)
            dW += np.tensordot(patch, g, axes=([3], [1]))
            dx[oh * s:oh * s + k, ow * s:ow * s + k] += np.tensordot(W, g, axes=([3], [0]))
    db = dy.sum(axis=(0, 1))
    dx = dx[p:p + h, p:p + w]
    param_grad = {'w': dW.reshape(k * k * c, num, order='F'), 'b': db}
    return param_grad, dx.reshape(h * w * c, n, order='F')
