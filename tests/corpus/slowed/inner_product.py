"""Slowed correct variant: the reference's inner product, whose backward sleeps.

``inner_product_backward`` runs once per training iteration (the held-out digits go through
forward passes only), so the sleep sets the iteration's time: SLEEP_S plus the compute (about
40 ms on the 2-core machine). The budget tests and the README's measurements use this module
with SLEEP_S set for 1.5 s and 3 s per iteration.
"""
import time

import numpy as np

SLEEP_S = 1.46


def inner_product_forward(input, layer, param):
    data = param['w'].T @ input['data'] + np.reshape(param['b'], (-1, 1))
    return {'height': data.shape[0], 'width': 1, 'channel': 1, 'batch_size': input['batch_size'],
            'data': data}


def inner_product_backward(output, input, layer, param):
    time.sleep(SLEEP_S)
    param_grad = {'w': input['data'] @ output['diff'].T,
                  'b': np.sum(output['diff'], axis=1).reshape(np.shape(param['b']))}
    return param_grad, param['w'] @ output['diff']
