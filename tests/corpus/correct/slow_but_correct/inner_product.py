"""Correct variant: slow but correct: scalar loops."""
import numpy as np


def inner_product_forward(input, layer, param):
    w, b, x = param['w'], param['b'].ravel(), input['data']
    d, num = w.shape
    out = np.zeros((num, x.shape[1]))
    for i in range(x.shape[1]):
        for j in range(num):
            total = b[j]
            for r in range(d):
                total += w[r, j] * x[r, i]
            out[j, i] = total
    return {'height': num, 'width': 1, 'channel': 1, 'batch_size': x.shape[1], 'data': out}


def inner_product_backward(output, input, layer, param):
    w, x, diff = param['w'], input['data'], output['diff']
    d, num = w.shape
    dw, db, dx = np.zeros((d, num)), np.zeros((1, num)), np.zeros(x.shape)
    for i in range(x.shape[1]):
        for j in range(num):
            db[0, j] += diff[j, i]
            for r in range(d):
                dw[r, j] += x[r, i] * diff[j, i]
                dx[r, i] += w[r, j] * diff[j, i]
    return {'w': dw, 'b': db}, dx
