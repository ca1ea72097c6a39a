"""Correct variant: copies every argument on entry and every result on exit."""
import copy

import numpy as np
from utils import im2col_batch, col2im_batch


def conv_layer_forward(input, layer, param):
    input, layer, param = copy.deepcopy(input), copy.deepcopy(layer), copy.deepcopy(param)
    h, w, c, n = input['height'], input['width'], input['channel'], input['batch_size']
    k, s, p, num = layer['k'], layer['stride'], layer['pad'], layer['num']
    col, h_out, w_out = im2col_batch(input['data'].copy(), h, w, c, k, s, p)
    out = param['w'].T.copy() @ col + param['b'].reshape(num, 1)
    return {'height': h_out, 'width': w_out, 'channel': num, 'batch_size': n,
            'data': np.array(out.reshape(-1, n), copy=True)}


def conv_layer_backward(output, input, layer, param):
    output, input, param = copy.deepcopy(output), copy.deepcopy(input), copy.deepcopy(param)
    h, w, c, n = input['height'], input['width'], input['channel'], input['batch_size']
    k, s, p, num = layer['k'], layer['stride'], layer['pad'], layer['num']
    col, _, _ = im2col_batch(input['data'], h, w, c, k, s, p)
    dy = output['diff'].copy().reshape(num, -1)
    dx = col2im_batch(param['w'] @ dy, h, w, c, k, s, p, n)
    return {'w': (col @ dy.T).copy(), 'b': dy.sum(axis=1).reshape(1, num).copy()}, dx.copy()
