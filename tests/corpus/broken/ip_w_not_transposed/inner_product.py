"""Mistake: w used where w.T is needed (w @ x in the forward pass; w is (d, num))."""
import numpy as np


def inner_product_forward(input, layer, param):
    w, b = param['w'], param['b']
    data = np.dot(w, input['data']) + b.reshape(-1, 1)
    return {'height': w.shape[1], 'width': 1, 'channel': 1,
            'batch_size': input['batch_size'], 'data': data}


def inner_product_backward(output, input, layer, param):
    diff = output['diff']
    param_grad = {'w': input['data'] @ diff.T, 'b': diff.sum(axis=1).reshape(1, -1)}
    return param_grad, param['w'] @ diff

