"""Correct variant: copies every argument on entry and every result on exit."""
import copy


def inner_product_forward(input, layer, param):
    input, param = copy.deepcopy(input), copy.deepcopy(param)
    w, b = param['w'].copy(), param['b'].copy().reshape(-1, 1)
    return {'height': w.shape[1], 'width': 1, 'channel': 1, 'batch_size': input['batch_size'],
            'data': (w.T @ input['data']).copy() + b}


def inner_product_backward(output, input, layer, param):
    diff, x, w = output['diff'].copy(), input['data'].copy(), param['w'].copy()
    return {'w': (x @ diff.T).copy(), 'b': diff.sum(axis=1, keepdims=True).T.copy()}, (w @ diff).copy()
