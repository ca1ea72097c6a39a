"""A historical-edition submission: the student's inner product."""
import numpy as np


def inner_product_forward(input, layer, param):
    data = param['w'].T @ input['data'] + np.reshape(param['b'], (-1, 1))
    return {'height': data.shape[0], 'width': 1, 'channel': 1, 'batch_size': input['batch_size'],
            'data': data}


def inner_product_backward(output, input, layer, param):
    param_grad = {'w': input['data'] @ output['diff'].T,
                  'b': np.sum(output['diff'], axis=1).reshape(param['b'].shape)}
    input_od = param['w'] @ output['diff']
    return param_grad, input_od
