"""Correct variant: the bias gradient is 1-D, shape (num,)."""
import numpy as np
from utils import im2col_batch, col2im_batch


def conv_layer_forward(input, layer, param):
    h, w, c, n = input['height'], input['width'], input['channel'], input['batch_size']
    k, s, p, num = layer['k'], layer['stride'], layer['pad'], layer['num']
    col, h_out, w_out = im2col_batch(input['data'], h, w, c, k, s, p)
    out = param['w'].T @ col + param['b'].ravel()[:, None]
    return {'height': h_out, 'width': w_out, 'channel': num, 'batch_size': n, 'data': out.reshape(-1, n)}


def conv_layer_backward(output, input, layer, param):
    h, w, c, n = input['height'], input['width'], input['channel'], input['batch_size']
    k, s, p, num = layer['k'], layer['stride'], layer['pad'], layer['num']
    col, _, _ = im2col_batch(input['data'], h, w, c, k, s, p)
    dy = np.ascontiguousarray(output['diff']).reshape(num, -1)
    return {'w': col @ dy.T, 'b': dy.sum(axis=1)}, col2im_batch(param['w'] @ dy, h, w, c, k, s, p, n)
