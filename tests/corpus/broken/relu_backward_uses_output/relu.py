"""Mistake: relu_backward uses the forward output output['data'] where the upstream gradient output['diff'] is needed."""
import numpy as np


def relu_forward(input):
    output = {k: input[k] for k in ('height', 'width', 'channel', 'batch_size')}
    output['data'] = np.maximum(input['data'], 0)
    return output


def relu_backward(output, input, layer):
    return output['data'] * (input['data'] > 0)
