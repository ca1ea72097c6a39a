"""The course's original network glue (historical starter code): plain numpy."""
import numpy as np

from conv_layer import conv_layer_backward, conv_layer_forward
from inner_product import inner_product_backward, inner_product_forward
from mlrloss import mlrloss
from pooling_layer import pooling_layer_backward, pooling_layer_forward
from relu import relu_backward, relu_forward


def conv_net(params, layers, data, labels):
    l = len(layers)
    batch_size = layers[0]['batch_size']
    output = [{'data': data, 'height': layers[0]['height'], 'width': layers[0]['width'],
               'channel': layers[0]['channel'], 'batch_size': batch_size, 'diff': 0}]
    for i in range(1, l - 1):
        t = layers[i]['type']
        if t == 'CONV':
            output.append(conv_layer_forward(output[i - 1], layers[i], params[i - 1]))
        elif t == 'POOLING':
            output.append(pooling_layer_forward(output[i - 1], layers[i]))
        elif t == 'IP':
            output.append(inner_product_forward(output[i - 1], layers[i], params[i - 1]))
        elif t == 'RELU':
            output.append(relu_forward(output[i - 1]))
    wb = np.hstack([params[l - 2]['w'].flatten(), params[l - 2]['b'].flatten()])
    cost, grad, input_od, percent = mlrloss(wb, output[l - 2]['data'], labels, layers[l - 1]['num'], 0, 1)
    param_grad = [None] * (l - 1)
    n = output[l - 2]['data'].shape[0]
    param_grad[l - 2] = {'w': grad[:n * (layers[l - 1]['num'] - 1)].reshape(params[l - 2]['w'].shape) / batch_size,
                         'b': grad[n * (layers[l - 1]['num'] - 1):] / batch_size}
    for i in range(l - 2, 0, -1):
        t = layers[i]['type']
        output[i]['diff'] = input_od.reshape(output[i]['data'].shape)
        if t == 'CONV':
            param_grad[i - 1], input_od = conv_layer_backward(output[i], output[i - 1], layers[i], params[i - 1])
        elif t == 'POOLING':
            input_od = pooling_layer_backward(output[i], output[i - 1], layers[i])
            param_grad[i - 1] = {'w': np.array([]), 'b': np.array([])}
        elif t == 'IP':
            param_grad[i - 1], input_od = inner_product_backward(output[i], output[i - 1], layers[i], params[i - 1])
        elif t == 'RELU':
            input_od = relu_backward(output[i], output[i - 1], layers[i])
            param_grad[i - 1] = {'w': np.array([]), 'b': np.array([])}
        if param_grad[i - 1]['w'].size:
            param_grad[i - 1] = {'w': param_grad[i - 1]['w'] / batch_size, 'b': param_grad[i - 1]['b'] / batch_size}
    return cost / batch_size, percent, param_grad
