"""Correct variant: prints while working and returns extra keys in its output dicts."""


def inner_product_forward(input, layer, param):
    print('ip forward: w', param['w'].shape, 'x', input['data'].shape)
    w = param['w']
    return {'height': w.shape[1], 'width': 1, 'channel': 1, 'batch_size': input['batch_size'],
            'data': w.T @ input['data'] + param['b'].T, 'type': 'IP', 'diff': None}


def inner_product_backward(output, input, layer, param):
    diff = output['diff']
    print('ip backward: diff', diff.shape)
    grads = {'w': input['data'] @ diff.T, 'b': diff.sum(axis=1, keepdims=True).T, 'note': 'summed'}
    return grads, param['w'] @ diff
