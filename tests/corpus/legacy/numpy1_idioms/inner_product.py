"""Legacy: correct under numpy 1.x; the forward casts with np.float_ and the backward asserts with
np.alltrue (both removed in numpy 2.0)."""
import numpy as np
from utils import get_array_module


def inner_product_forward(input, layer, param):
    """``data = w.T @ x + b.T``.

    input: data ``(d, n)``; param: w ``(d, num)``, b ``(1, num)`` or ``(num,)``.
    Returns a dict with data ``(num, n)``, height num, width 1, channel 1.
    """
    xp = get_array_module(input['data'])
    num = param['w'].shape[1]
    data = param['w'].T @ input['data']
    data += xp.reshape(param['b'], (num, 1))
    data = data.astype(np.float_)
    return {'height': num, 'width': 1, 'channel': 1,
            'batch_size': input['batch_size'], 'data': data}


def inner_product_backward(output, input, layer, param):
    """Returns ``({'w': x @ diff.T, 'b': diff summed over the batch}, w @ diff)``."""
    xp = get_array_module(input['data'])
    diff = output['diff']
    assert np.alltrue(np.isfinite(diff))
    param_grad = {'w': input['data'] @ diff.T,
                  'b': xp.reshape(diff.sum(axis=1), xp.shape(param['b']))}
    return param_grad, param['w'] @ diff
