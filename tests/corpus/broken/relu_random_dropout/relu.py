"""Mistake: relu_forward depends on the global random state (a dropout mask drawn with np.random)."""
import numpy as np


def relu_forward(input):
    keep = np.random.rand(*input['data'].shape) > 0.1
    output = {k: input[k] for k in ('height', 'width', 'channel', 'batch_size')}
    output['data'] = np.maximum(input['data'], 0) * keep / 0.9
    return output


def relu_backward(output, input, layer):
    return output['diff'] * (input['data'] > 0)
