"""Correct variant: computes in float32 (the historical `gpu` cast), returns float64."""
import numpy as np
from utils import im2col_batch, col2im_batch


def conv_layer_forward(input, layer, param):
    h, w, c, n = input['height'], input['width'], input['channel'], input['batch_size']
    k, s, p, num = layer['k'], layer['stride'], layer['pad'], layer['num']
    col, h_out, w_out = im2col_batch(input['data'].astype(np.float32), h, w, c, k, s, p)
    out = param['w'].astype(np.float32).T @ col + np.reshape(param['b'], (num, 1)).astype(np.float32)
    return {'height': h_out, 'width': w_out, 'channel': num, 'batch_size': n,
            'data': out.reshape(-1, n).astype(np.float64)}


def conv_layer_backward(output, input, layer, param):
    h, w, c, n = input['height'], input['width'], input['channel'], input['batch_size']
    k, s, p, num = layer['k'], layer['stride'], layer['pad'], layer['num']
    col, _, _ = im2col_batch(input['data'].astype(np.float32), h, w, c, k, s, p)
    dy = np.ascontiguousarray(output['diff'].astype(np.float32)).reshape(num, -1)
    dx = col2im_batch(param['w'].astype(np.float32) @ dy, h, w, c, k, s, p, n)
    return ({'w': (col @ dy.T).astype(np.float64), 'b': dy.sum(axis=1).reshape(1, num).astype(np.float64)},
            dx.astype(np.float64))
