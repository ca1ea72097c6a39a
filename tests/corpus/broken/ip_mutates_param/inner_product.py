"""Mistake: inner_product_forward reshapes its param dict's bias in place (param['b'] = ...)."""


def inner_product_forward(input, layer, param):
    param['b'] = param['b'].reshape(-1, 1)
    data = param['w'].T @ input['data'] + param['b']
    return {'height': param['w'].shape[1], 'width': 1, 'channel': 1,
            'batch_size': input['batch_size'], 'data': data}


def inner_product_backward(output, input, layer, param):
    diff = output['diff']
    param_grad = {'w': input['data'] @ diff.T, 'b': diff.sum(axis=1).reshape(1, -1)}
    return param_grad, param['w'] @ diff

