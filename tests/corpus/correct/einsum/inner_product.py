"""Correct variant: einsum everywhere."""
import numpy as np


def inner_product_forward(input, layer, param):
    w = param['w']
    data = np.einsum('dk,dn->kn', w, input['data']) + np.reshape(param['b'], (-1, 1))
    return {'height': w.shape[1], 'width': 1, 'channel': 1, 'batch_size': input['batch_size'], 'data': data}


def inner_product_backward(output, input, layer, param):
    diff, x, w = output['diff'], input['data'], param['w']
    return ({'w': np.einsum('dn,kn->dk', x, diff), 'b': np.einsum('kn->k', diff)[None, :]},
            np.einsum('dk,kn->dn', w, diff))
