"""Correct variant: the backward mask taken from the forward output (y > 0 exactly where x > 0)."""
import numpy as np


def relu_forward(input):
    out = {key: input[key] for key in ('height', 'width', 'channel', 'batch_size')}
    out['data'] = np.where(input['data'] > 0, input['data'], 0.0)
    return out


def relu_backward(output, input, layer):
    return np.where(output['data'] > 0, output['diff'], 0.0)
