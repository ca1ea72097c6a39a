"""Mistake: every gradient is divided by the batch size (a mean instead of a sum)."""


def inner_product_forward(input, layer, param):
    w, b = param['w'], param['b']
    data = w.T @ input['data'] + b.reshape(-1, 1)
    return {'height': w.shape[1], 'width': 1, 'channel': 1,
            'batch_size': input['batch_size'], 'data': data}


def inner_product_backward(output, input, layer, param):
    diff, x = output['diff'], input['data']
    n = x.shape[1]
    param_grad = {'w': x @ diff.T / n, 'b': diff.mean(axis=1, keepdims=True).T}
    return param_grad, param['w'] @ diff / n
