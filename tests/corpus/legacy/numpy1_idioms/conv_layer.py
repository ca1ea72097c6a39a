"""Legacy: correct under numpy 1.x; the forward sizes its output with np.product (removed in numpy 2.0),
the backward reads k with int() of a one-element array (deprecated since numpy 1.25, an error in numpy 2.4)."""
import numpy as np
from utils import get_array_module, im2col_batch, col2im_batch


def conv_layer_forward(input, layer, param):
    """Forward pass of a convolution layer.

    input: dict with height h, width w, channel c, batch_size n and data ``(h*w*c, n)``.
    layer: dict with k, stride, pad, num (group is 1).
    param: w ``(k*k*c, num)``, row ``dh + k*dw + k*k*ic``; b ``(1, num)`` or ``(num,)``.
    Returns a dict with data ``(h_out*w_out*num, n)``, channel num.
    """
    xp = get_array_module(input['data'])
    h, w, c, n = input['height'], input['width'], input['channel'], input['batch_size']
    k, stride, pad, num = layer['k'], layer['stride'], layer['pad'], layer['num']
    col, h_out, w_out = im2col_batch(input['data'], h, w, c, k, stride, pad)
    assert col.shape[1] == np.product([h_out, w_out, n])
    out = param['w'].T @ col  # (num, w_out*h_out*n)
    out += xp.reshape(param['b'], (num, 1))  # in place: no second array of this size
    # (num, w_out, h_out, n) in C order is exactly the Fortran (h_out, w_out, num) columns.
    return {'height': h_out, 'width': w_out, 'channel': num, 'batch_size': n,
            'data': out.reshape(num * w_out * h_out, n)}


def conv_layer_backward(output, input, layer, param):
    """Backward pass: returns ``({'w': dL/dw, 'b': dL/db}, dL/d input data)``, summed over the batch."""
    xp = get_array_module(input['data'])
    h, w, c, n = input['height'], input['width'], input['channel'], input['batch_size']
    k, stride, pad, num = int(np.array([layer['k']])), layer['stride'], layer['pad'], layer['num']
    col, _, _ = im2col_batch(input['data'], h, w, c, k, stride, pad)
    dy = xp.ascontiguousarray(output['diff']).reshape(num, -1)  # (num, w_out*h_out*n)
    param_grad = {'w': col @ dy.T,
                  'b': xp.reshape(dy.sum(axis=1), xp.shape(param['b']))}
    del col  # free it before w @ dy, as large: the allocator reuses its memory (no page faults)
    input_od = col2im_batch(param['w'] @ dy, h, w, c, k, stride, pad, n)
    return param_grad, input_od
