"""Correct variant: the convolution as one einsum over a (k, k, c) window tensor."""
import numpy as np


def _patches(x, k, s, h_out, w_out):
    """(k, k, c, h_out, w_out, n) windows of a padded (h, w, c, n) map."""
    return np.stack([np.stack([x[dh:dh + s * h_out:s, dw:dw + s * w_out:s].transpose(2, 0, 1, 3)
                               for dw in range(k)]) for dh in range(k)])


def conv_layer_forward(input, layer, param):
    h, w, c, n = input['height'], input['width'], input['channel'], input['batch_size']
    k, s, p, num = layer['k'], layer['stride'], layer['pad'], layer['num']
    h_out, w_out = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    x = np.pad(input['data'].reshape(h, w, c, n, order='F'), ((p, p), (p, p), (0, 0), (0, 0)))
    W = param['w'].reshape(k, k, c, num, order='F')
    out = np.einsum('abcijn,abcf->ijfn', _patches(x, k, s, h_out, w_out), W)
    out += np.reshape(param['b'], -1)[None, None, :, None]
    return {'height': h_out, 'width': w_out, 'channel': num, 'batch_size': n,
            'data': out.reshape(-1, n, order='F')}


def conv_layer_backward(output, input, layer, param):
    h, w, c, n = input['height'], input['width'], input['channel'], input['batch_size']
    k, s, p, num = layer['k'], layer['stride'], layer['pad'], layer['num']
    h_out, w_out = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    x = np.pad(input['data'].reshape(h, w, c, n, order='F'), ((p, p), (p, p), (0, 0), (0, 0)))
    W = param['w'].reshape(k, k, c, num, order='F')
    dy = output['diff'].reshape(h_out, w_out, num, n, order='F')
    dW = np.einsum('abcijn,ijfn->abcf', _patches(x, k, s, h_out, w_out), dy)
    dP = np.einsum('abcf,ijfn->abcijn', W, dy)
    dx = np.zeros_like(x)
    for dh in range(k):
        for dw in range(k):
            dx[dh:dh + s * h_out:s, dw:dw + s * w_out:s] += dP[dh, dw].transpose(1, 2, 0, 3)
    return ({'w': dW.reshape(-1, num, order='F'), 'b': np.einsum('ijfn->f', dy)[None, :]},
            dx[p:p + h, p:p + w].reshape(-1, n, order='F'))
