"""Correct variant: the bias gradient is 1-D, shape (num,) (the contract accepts it)."""


def inner_product_forward(input, layer, param):
    w, b = param['w'], param['b']
    data = w.T @ input['data'] + b.reshape(-1, 1)
    return {'height': w.shape[1], 'width': 1, 'channel': 1, 'batch_size': input['batch_size'], 'data': data}


def inner_product_backward(output, input, layer, param):
    diff = output['diff']
    return {'w': input['data'] @ diff.T, 'b': diff.sum(axis=1)}, param['w'] @ diff
