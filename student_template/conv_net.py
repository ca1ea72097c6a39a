"""Forward and backward through the whole network (provided glue)."""
from conv_layer import conv_layer_forward, conv_layer_backward
from inner_product import inner_product_forward, inner_product_backward
from mlrloss import mlrloss
from pooling_layer import pooling_layer_forward, pooling_layer_backward
from relu import relu_forward, relu_backward
from utils import get_array_module


def forward(params, layers, data):
    """Run every layer up to (not including) the loss; returns the list of output dicts."""
    first = layers[0]
    output = [{'height': first['height'], 'width': first['width'], 'channel': first['channel'],
               'batch_size': data.shape[1], 'data': data}]
    for i in range(1, len(layers) - 1):
        kind, layer, param = layers[i]['type'], layers[i], params[i - 1]
        if kind == 'CONV':
            output.append(conv_layer_forward(output[i - 1], layer, param))
        elif kind == 'POOLING':
            output.append(pooling_layer_forward(output[i - 1], layer))
        elif kind == 'IP':
            output.append(inner_product_forward(output[i - 1], layer, param))
        elif kind == 'RELU':
            output.append(relu_forward(output[i - 1]))
        else:
            raise ValueError(f"unknown layer type {kind!r} at layer {i}")
    return output


def conv_net(params, layers, data, labels):
    """Cost, accuracy and parameter gradients (divided by the batch size) for one batch.

    Returns ``(cp, param_grad)`` with ``cp = {'cost': mean loss, 'percent': accuracy}``.
    """
    xp = get_array_module(data)
    batch_size = data.shape[1]
    output = forward(params, layers, data)
    last = len(layers) - 1
    K = layers[last]['num']
    w, b = params[last - 1]['w'], params[last - 1]['b']
    wb = xp.concatenate([w.ravel(), b.ravel()])
    cost, grad, input_od, percent = mlrloss(wb, output[last - 1]['data'], labels, K, 0, 1)

    param_grad = [None] * last
    n_w = w.size
    param_grad[last - 1] = {'w': grad[:n_w].reshape(w.shape) / batch_size,
                            'b': grad[n_w:].reshape(b.shape) / batch_size}
    for i in range(last - 1, 0, -1):
        kind, layer, param = layers[i]['type'], layers[i], params[i - 1]
        output[i]['diff'] = input_od
        if kind == 'CONV':
            grad_i, input_od = conv_layer_backward(output[i], output[i - 1], layer, param)
        elif kind == 'IP':
            grad_i, input_od = inner_product_backward(output[i], output[i - 1], layer, param)
        else:
            grad_i = {'w': param['w'], 'b': param['b']}  # empty for layers without parameters
            if kind == 'POOLING':
                input_od = pooling_layer_backward(output[i], output[i - 1], layer)
            else:
                input_od = relu_backward(output[i], output[i - 1], layer)
        if len(param['w']):
            grad_i = {'w': grad_i['w'] / batch_size,
                      'b': xp.reshape(grad_i['b'], param['b'].shape) / batch_size}
        param_grad[i - 1] = grad_i
    return {'cost': float(cost) / batch_size, 'percent': percent}, param_grad
