"""A historical-edition submission: the student's max pooling forward; the backward as the
course provided it (a loop over windows)."""
import numpy as np


def pooling_layer_forward(input, layer):
    h_in, w_in, c, batch = input['height'], input['width'], input['channel'], input['batch_size']
    k, pad, stride = layer['k'], layer['pad'], layer['stride']
    h_out = (h_in + 2 * pad - k) // stride + 1
    w_out = (w_in + 2 * pad - k) // stride + 1
    x = np.reshape(input['data'], (h_in, w_in, c, batch), order='F')
    x = np.pad(x, ((pad, pad), (pad, pad), (0, 0), (0, 0)), mode='constant')
    out = None
    for dh in range(k):
        for dw in range(k):
            part = x[dh:dh + stride * h_out:stride, dw:dw + stride * w_out:stride]
            out = part.copy() if out is None else np.maximum(out, part)
    return {'height': h_out, 'width': w_out, 'channel': c, 'batch_size': batch,
            'data': out.reshape(h_out * w_out * c, batch, order='F')}


def pooling_layer_backward(output, input, layer):
    h_in, w_in, c, batch = input['height'], input['width'], input['channel'], input['batch_size']
    k, pad, stride = layer['k'], layer['pad'], layer['stride']
    h_out = (h_in + 2 * pad - k) // stride + 1
    w_out = (w_in + 2 * pad - k) // stride + 1
    assert pad == 0, 'pad must be 0'
    x = np.reshape(input['data'], (h_in, w_in, c, batch), order='F')
    dy = np.reshape(output['diff'], (h_out, w_out, c, batch), order='F')
    dx = np.zeros(x.shape)
    for h in range(h_out):
        for w in range(w_out):
            win = x[h * stride:h * stride + k, w * stride:w * stride + k].reshape(k * k, c, batch, order='F')
            first = np.argmax(win, axis=0)
            dh, dw = first % k, first // k
            for ic in range(c):
                for n in range(batch):
                    dx[h * stride + dh[ic, n], w * stride + dw[ic, n], ic, n] += dy[h, w, ic, n]
    return dx.reshape(h_in * w_in * c, batch, order='F')
