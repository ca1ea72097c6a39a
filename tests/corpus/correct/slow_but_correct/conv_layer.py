"""Correct variant: slow but correct: loops over images, positions and filters, np.sum per window."""
import numpy as np


def conv_layer_forward(input, layer, param):
    h, w, c, n = input['height'], input['width'], input['channel'], input['batch_size']
    k, s, p, num = layer['k'], layer['stride'], layer['pad'], layer['num']
    h_out, w_out = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    W = param['w'].reshape(k, k, c, num, order='F')
    b = param['b'].ravel()
    out = np.zeros((h_out, w_out, num, n))
    for i in range(n):
        x = np.pad(input['data'][:, i].reshape(h, w, c, order='F'), ((p, p), (p, p), (0, 0)))
        for oh in range(h_out):
            for ow in range(w_out):
                window = x[oh * s:oh * s + k, ow * s:ow * s + k, :]
                for f in range(num):
                    out[oh, ow, f, i] = np.sum(window * W[:, :, :, f]) + b[f]
    return {'height': h_out, 'width': w_out, 'channel': num, 'batch_size': n,
            'data': out.reshape(-1, n, order='F')}


def conv_layer_backward(output, input, layer, param):
    h, w, c, n = input['height'], input['width'], input['channel'], input['batch_size']
    k, s, p, num = layer['k'], layer['stride'], layer['pad'], layer['num']
    h_out, w_out = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    W = param['w'].reshape(k, k, c, num, order='F')
    dy = output['diff'].reshape(h_out, w_out, num, n, order='F')
    dW, db = np.zeros_like(W), np.zeros(num)
    dx = np.zeros((h * w * c, n))
    for i in range(n):
        x = np.pad(input['data'][:, i].reshape(h, w, c, order='F'), ((p, p), (p, p), (0, 0)))
        dxi = np.zeros_like(x)
        for oh in range(h_out):
            for ow in range(w_out):
                window = x[oh * s:oh * s + k, ow * s:ow * s + k, :]
                for f in range(num):
                    g = dy[oh, ow, f, i]
                    dW[:, :, :, f] += g * window
                    dxi[oh * s:oh * s + k, ow * s:ow * s + k, :] += g * W[:, :, :, f]
                    db[f] += g
        dx[:, i] = dxi[p:p + h, p:p + w, :].reshape(-1, order='F')
    return {'w': dW.reshape(-1, num, order='F'), 'b': db.reshape(1, num)}, dx
