"""Mistake: inner_product_forward ignores the bias."""


def inner_product_forward(input, layer, param):
    w = param['w']
    return {'height': w.shape[1], 'width': 1, 'channel': 1,
            'batch_size': input['batch_size'], 'data': w.T @ input['data']}


def inner_product_backward(output, input, layer, param):
    diff = output['diff']
    param_grad = {'w': input['data'] @ diff.T, 'b': diff.sum(axis=1).reshape(1, -1)}
    return param_grad, param['w'] @ diff

