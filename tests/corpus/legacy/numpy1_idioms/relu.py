"""Legacy: correct under numpy 1.x; relu_forward converts with np.asfarray (removed in numpy 2.0)."""
import numpy as np
from utils import get_array_module


def relu_forward(input):
    """``max(x, 0)`` element-wise, in a new array (the input is left untouched)."""
    xp = get_array_module(input['data'])
    output = {key: input[key] for key in ('height', 'width', 'channel', 'batch_size')}
    output['data'] = xp.maximum(np.asfarray(input['data']), 0)
    return output


def relu_backward(output, input, layer):
    """``diff * (x > 0)``: the gradient passes where the input was positive."""
    return output['diff'] * (input['data'] > 0)
