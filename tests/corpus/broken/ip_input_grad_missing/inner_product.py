"""Mistake: the input gradient is never computed (left as zeros)."""
import numpy as np


def inner_product_forward(input, layer, param):
    w, b = param['w'], param['b']
    data = w.T @ input['data'] + b.reshape(-1, 1)
    return {'height': w.shape[1], 'width': 1, 'channel': 1,
            'batch_size': input['batch_size'], 'data': data}


def inner_product_backward(output, input, layer, param):
    diff, x = output['diff'], input['data']
    input_od = np.zeros(x.shape)
    # TODO: input gradient
    return {'w': x @ diff.T, 'b': diff.sum(axis=1, keepdims=True).T}, input_od
