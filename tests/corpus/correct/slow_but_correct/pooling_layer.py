"""Correct variant: slow but correct: every element of every window visited in Python."""
import numpy as np


def _get(data, h, w, ih, iw, ic, i):
    """Zero padding: positions outside the map read 0."""
    if 0 <= ih < h and 0 <= iw < w:
        return data[ih + h * iw + h * w * ic, i]
    return 0.0


def pooling_layer_forward(input, layer):
    h, w, c, n = input['height'], input['width'], input['channel'], input['batch_size']
    k, s, p = layer['k'], layer['stride'], layer['pad']
    h_out, w_out = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    out = np.zeros((h_out * w_out * c, n))
    for i in range(n):
        for ic in range(c):
            for ow in range(w_out):
                for oh in range(h_out):
                    best = -np.inf
                    for dw in range(k):
                        for dh in range(k):
                            best = max(best, _get(input['data'], h, w, oh * s - p + dh, ow * s - p + dw, ic, i))
                    out[oh + h_out * ow + h_out * w_out * ic, i] = best
    return {'height': h_out, 'width': w_out, 'channel': c, 'batch_size': n, 'data': out}


def pooling_layer_backward(output, input, layer):
    h, w, c, n = input['height'], input['width'], input['channel'], input['batch_size']
    k, s, p = layer['k'], layer['stride'], layer['pad']
    h_out, w_out = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    dx = np.zeros((h * w * c, n))
    for i in range(n):
        for ic in range(c):
            for ow in range(w_out):
                for oh in range(h_out):
                    best, where = -np.inf, None
                    for dw in range(k):
                        for dh in range(k):      # height offset fastest: the first maximum in Fortran order
                            ih, iw = oh * s - p + dh, ow * s - p + dw
                            v = _get(input['data'], h, w, ih, iw, ic, i)
                            if v > best:
                                best, where = v, (ih, iw)
                    ih, iw = where
                    if 0 <= ih < h and 0 <= iw < w:   # a maximum in the padding takes the gradient away
                        dx[ih + h * iw + h * w * ic, i] += output['diff'][oh + h_out * ow + h_out * w_out * ic, i]
    return dx
