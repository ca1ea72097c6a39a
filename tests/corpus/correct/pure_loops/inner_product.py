"""Correct variant: one image at a time."""
import numpy as np


def inner_product_forward(input, layer, param):
    w, b = param['w'], np.reshape(param['b'], -1)
    x = input['data']
    out = np.zeros((w.shape[1], x.shape[1]))
    for i in range(x.shape[1]):
        out[:, i] = w.T.dot(x[:, i]) + b
    return {'height': w.shape[1], 'width': 1, 'channel': 1, 'batch_size': x.shape[1], 'data': out}


def inner_product_backward(output, input, layer, param):
    w, x, diff = param['w'], input['data'], output['diff']
    dw = np.zeros(w.shape)
    db = np.zeros((1, w.shape[1]))
    dx = np.zeros(x.shape)
    for i in range(x.shape[1]):
        dw += np.outer(x[:, i], diff[:, i])
        db[0] += diff[:, i]
        dx[:, i] = w.dot(diff[:, i])
    return {'w': dw, 'b': db}, dx
