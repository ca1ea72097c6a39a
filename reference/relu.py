"""Rectified linear unit."""
from utils import get_array_module


def relu_forward(input):
    """``max(x, 0)`` element-wise, in a new array (the input is left untouched)."""
    xp = get_array_module(input['data'])
    output = {key: input[key] for key in ('height', 'width', 'channel', 'batch_size')}
    output['data'] = xp.maximum(input['data'], 0)
    return output


def relu_backward(output, input, layer):
    """``diff * (x > 0)``: the gradient passes where the input was positive."""
    return output['diff'] * (input['data'] > 0)
