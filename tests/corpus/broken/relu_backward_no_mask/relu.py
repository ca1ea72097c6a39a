"""Mistake: relu_backward passes the gradient everywhere, also where x < 0."""
import numpy as np


def relu_forward(input):
    output = {k: input[k] for k in ('height', 'width', 'channel', 'batch_size')}
    output['data'] = np.maximum(input['data'], 0)
    return output


def relu_backward(output, input, layer):
    return output['diff'].copy()
