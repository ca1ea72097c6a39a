"""Mistake: relu_backward zeroes output['diff'] in place and returns it."""
import numpy as np


def relu_forward(input):
    output = {k: input[k] for k in ('height', 'width', 'channel', 'batch_size')}
    output['data'] = np.maximum(input['data'], 0)
    return output


def relu_backward(output, input, layer):
    diff = output['diff']
    diff[input['data'] <= 0] = 0
    return diff
