"""A historical-edition submission: the student's forward on the course's im2col_conv_batch;
the backward as the course provided it (im2col_conv / col2im_conv, one image at a time)."""
import numpy as np

from utils import col2im_conv, im2col_conv, im2col_conv_batch


def conv_layer_forward(input, layer, param):
    h_in, w_in, c, batch = input['height'], input['width'], input['channel'], input['batch_size']
    k, pad, stride, num = layer['k'], layer['pad'], layer['stride'], layer['num']
    h_out = (h_in + 2 * pad - k) // stride + 1
    w_out = (w_in + 2 * pad - k) // stride + 1
    col = im2col_conv_batch(input, layer, h_out, w_out)  # (k*k*c, h_out*w_out, batch)
    out = np.einsum('rn,rpb->npb', param['w'], col) + np.reshape(param['b'], (num, 1, 1))
    # (num, h_out*w_out, batch) in C order: row oh + h_out*ow + h_out*w_out*f, the Fortran (h, w, c) order
    return {'height': h_out, 'width': w_out, 'channel': num, 'batch_size': batch,
            'data': out.reshape(h_out * w_out * num, batch)}


def conv_layer_backward(output, input, layer, param):
    h_in, w_in, c, batch = input['height'], input['width'], input['channel'], input['batch_size']
    k, pad, stride, num = layer['k'], layer['pad'], layer['stride'], layer['num']
    h_out = (h_in + 2 * pad - k) // stride + 1
    w_out = (w_in + 2 * pad - k) // stride + 1
    param_grad = {'w': np.zeros(param['w'].shape), 'b': np.zeros(param['b'].shape)}
    input_od = np.zeros(input['data'].shape)
    for n in range(batch):
        input_n = {'height': h_in, 'width': w_in, 'channel': c, 'data': input['data'][:, n]}
        col = im2col_conv(input_n, layer, h_out, w_out)
        temp = output['diff'][:, n].reshape(h_out * w_out, num, order='F')
        param_grad['b'] += np.sum(temp, axis=0).reshape(param['b'].shape)
        param_grad['w'] += col @ temp
        input_od[:, n] = col2im_conv(param['w'] @ temp.T, input, layer, h_out, w_out)
    return param_grad, input_od
