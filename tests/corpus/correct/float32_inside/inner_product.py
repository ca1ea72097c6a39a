"""Correct variant: computes in float32, returns float64."""
import numpy as np


def inner_product_forward(input, layer, param):
    w = param['w'].astype(np.float32)
    data = w.T @ input['data'].astype(np.float32) + np.reshape(param['b'], (-1, 1)).astype(np.float32)
    return {'height': w.shape[1], 'width': 1, 'channel': 1, 'batch_size': input['batch_size'],
            'data': data.astype(np.float64)}


def inner_product_backward(output, input, layer, param):
    x, diff, w = (a.astype(np.float32) for a in (input['data'], output['diff'], param['w']))
    return ({'w': (x @ diff.T).astype(np.float64), 'b': diff.sum(axis=1, keepdims=True).T.astype(np.float64)},
            (w @ diff).astype(np.float64))
