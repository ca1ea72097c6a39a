"""The course's original helpers (historical starter code, as documented in docs/assignment-api.md):
plain numpy, no ``get_array_module``. ``im2col_conv_batch`` handles square maps only and
``col2im_conv`` pad 0 only, as the originals did."""
import numpy as np


def im2col_conv(input_n, layer, h_out, w_out):
    h_in, w_in, c = input_n['height'], input_n['width'], input_n['channel']
    k, pad, stride = layer['k'], layer['pad'], layer['stride']
    im = np.reshape(input_n['data'], (h_in, w_in, c), order='F')
    im = np.pad(im, ((pad, pad), (pad, pad), (0, 0)), mode='constant')
    col = np.zeros((k * k * c, h_out * w_out))
    for h in range(h_out):
        for w in range(w_out):
            patch = im[h * stride:h * stride + k, w * stride:w * stride + k, :]
            col[:, h + w * h_out] = patch.flatten(order='F')
    return col


def col2im_conv(col, input, layer, h_out, w_out):
    h_in, w_in, c = input['height'], input['width'], input['channel']
    k, pad, stride = layer['k'], layer['pad'], layer['stride']
    assert pad == 0, 'pad must be 0'
    im = np.zeros((h_in, w_in, c))
    col = np.reshape(col, (k * k * c, h_out * w_out))
    for h in range(h_out):
        for w in range(w_out):
            im[h * stride:h * stride + k, w * stride:w * stride + k, :] += np.reshape(
                col[:, h + w * h_out], (k, k, c), order='F')
    return im.flatten(order='F')


def im2col_conv_batch(input, layer, h_out, w_out):
    h_in, c, batch = input['height'], input['channel'], input['batch_size']
    k, pad, stride = layer['k'], layer['pad'], layer['stride']
    im = np.reshape(input['data'], (h_in, h_in, c, batch), order='F')  # square maps only
    im = np.pad(im, ((pad, pad), (pad, pad), (0, 0), (0, 0)), mode='constant')
    col = np.zeros((k, k, c, h_out, w_out, batch))
    for dh in range(k):
        for dw in range(k):
            col[dh, dw] = np.moveaxis(
                im[dh:dh + stride * h_out:stride, dw:dw + stride * w_out:stride], 2, 0)
    return col.reshape(k * k * c, h_out * w_out, batch, order='F')


def get_lr(iter, epsilon, gamma, power):
    return epsilon * (1 + gamma * iter) ** (-power)


def sgd_momentum(w_rate, b_rate, mu, decay, params, param_winc, param_grad):
    params_ = []
    param_winc_ = []
    for i in range(len(params)):
        param_winc_.append({
            'w': mu * param_winc[i]['w'] + w_rate * (param_grad[i]['w'] + decay * params[i]['w']),
            'b': mu * param_winc[i]['b'] + b_rate * param_grad[i]['b']})
        params_.append({'w': params[i]['w'] - param_winc_[i]['w'],
                        'b': params[i]['b'] - param_winc_[i]['b']})
    return params_, param_winc_


def get_lenet():
    layers = [{}] * 10
    layers[0] = {'type': 'DATA', 'height': 28, 'width': 28, 'channel': 1, 'batch_size': 64}
    layers[1] = {'type': 'CONV', 'num': 20, 'k': 5, 'stride': 1, 'pad': 0, 'group': 1}
    layers[2] = {'type': 'RELU'}
    layers[3] = {'type': 'POOLING', 'k': 2, 'stride': 2, 'pad': 0}
    layers[4] = {'type': 'CONV', 'k': 5, 'stride': 1, 'pad': 0, 'group': 1, 'num': 50}
    layers[5] = {'type': 'RELU'}
    layers[6] = {'type': 'POOLING', 'k': 2, 'stride': 2, 'pad': 0}
    layers[7] = {'type': 'IP', 'num': 500, 'init_type': 'uniform'}
    layers[8] = {'type': 'RELU'}
    layers[9] = {'type': 'LOSS', 'num': 10}
    return layers
