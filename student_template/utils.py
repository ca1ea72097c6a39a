"""Provided helpers: array module, im2col/col2im, SGD with momentum, learning rate, LeNet.

Every function works on numpy arrays and, unchanged, on cupy arrays: the array
module is taken from the data (``get_array_module``), numpy when cupy is absent.

Layout reminder (assignment contract, section 2): a layer's ``data`` is
``(h*w*c, batch)`` and each column is the Fortran-order flattening of an
``(h, w, c)`` volume, so row ``ih + h*iw + h*w*ic``.  Read in C order, the same
memory is an array of shape ``(c, w, h, batch)``; the vectorised code below works
in that view, which costs no copy.
"""
import numpy as np

_cupy = None


def get_array_module(*arrays):
    """Return cupy for cupy arrays, numpy otherwise (and always when cupy is absent)."""
    global _cupy
    if _cupy is None:
        try:
            import cupy
            _cupy = cupy
        except Exception:  # not installed, or no usable GPU driver
            _cupy = False
    return _cupy.get_array_module(*arrays) if _cupy else np


def output_size(size, k, stride, pad):
    """Output height (or width) of a k-by-k window sliding with stride over a padded map."""
    return (size + 2 * pad - k) // stride + 1


def as_cwhn(data, h, w, c):
    """View ``(h*w*c, batch)`` data as a C-ordered ``(c, w, h, batch)`` array (no copy if contiguous)."""
    xp = get_array_module(data)
    data = xp.ascontiguousarray(data)
    return data.reshape(c, w, h, data.shape[1])


def pad_cwhn(x, pad):
    """Zero-pad the two spatial axes of a ``(c, w, h, batch)`` array."""
    if pad == 0:
        return x
    xp = get_array_module(x)
    return xp.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))


def windows(xpad, k, stride, h_out, w_out):
    """Strided view ``(c, k_w, k_h, w_out, h_out, batch)`` of every k-by-k window (no copy)."""
    xp = get_array_module(xpad)
    c, _, _, n = xpad.shape
    sc, sw, sh, sn = xpad.strides
    return xp.lib.stride_tricks.as_strided(
        xpad, shape=(c, k, k, w_out, h_out, n),
        strides=(sc, sw, sh, sw * stride, sh * stride, sn))


def im2col_batch(data, h, w, c, k, stride, pad):
    """Columns of every window of every image: ``(k*k*c, w_out*h_out*batch)``.

    Row ``dh + k*dw + k*k*ic`` (the Fortran flattening of a ``(k, k, c)`` patch,
    matching conv weight rows); column ``(ow*h_out + oh)*batch + n``.
    """
    h_out, w_out = output_size(h, k, stride, pad), output_size(w, k, stride, pad)
    x = pad_cwhn(as_cwhn(data, h, w, c), pad)
    view = windows(x, k, stride, h_out, w_out)
    return view.reshape(c * k * k, w_out * h_out * data.shape[1]), h_out, w_out


def col2im_batch(col, h, w, c, k, stride, pad, batch):
    """Adjoint of ``im2col_batch``: add every column back to its window; ``(h*w*c, batch)``."""
    xp = get_array_module(col)
    h_out, w_out = output_size(h, k, stride, pad), output_size(w, k, stride, pad)
    col6 = col.reshape(c, k, k, w_out, h_out, batch)
    xpad = xp.zeros((c, w + 2 * pad, h + 2 * pad, batch), dtype=col.dtype)
    for dw in range(k):  # a loop over kernel offsets, not over pixels or images
        for dh in range(k):
            xpad[:, dw:dw + stride * w_out:stride, dh:dh + stride * h_out:stride, :] += col6[:, dw, dh]
    x = xpad[:, pad:pad + w, pad:pad + h, :]
    return xp.ascontiguousarray(x).reshape(h * w * c, batch)


# ---- The historical helpers, same names and signatures, vectorised -------------------

def im2col_conv(input_n, layer, h_out, w_out):
    """One image's columns: ``(k*k*c, h_out*w_out)``, column ``oh + h_out*ow``."""
    h, w, c = input_n['height'], input_n['width'], input_n['channel']
    data = input_n['data'].reshape(h * w * c, 1)
    col, _, _ = im2col_batch(data, h, w, c, layer['k'], layer['stride'], layer['pad'])
    return col


def col2im_conv(col, input, layer, h_out, w_out):
    """Adjoint of ``im2col_conv`` for one image: a vector of length ``h*w*c``."""
    h, w, c = input['height'], input['width'], input['channel']
    im = col2im_batch(col.reshape(-1, h_out * w_out), h, w, c, layer['k'], layer['stride'], layer['pad'], 1)
    return im.ravel()


def im2col_conv_batch(input, layer, h_out, w_out):
    """Every image's columns: ``(k*k*c, h_out*w_out, batch)`` (any h, w; the historical one needed h == w)."""
    xp = get_array_module(input['data'])
    h, w, c, n = input['height'], input['width'], input['channel'], input['batch_size']
    col, _, _ = im2col_batch(input['data'], h, w, c, layer['k'], layer['stride'], layer['pad'])
    return xp.ascontiguousarray(col.reshape(-1, h_out * w_out, n))


# ---- Training --------------------------------------------------------------------------

def get_lr(iter, epsilon, gamma, power):
    """The 'inv' learning-rate policy: ``epsilon * (1 + gamma*iter) ** (-power)``."""
    return epsilon * (1 + gamma * iter) ** (-power)


def sgd_momentum(w_rate, b_rate, mu, decay, params, param_winc, param_grad):
    """One SGD step with momentum and weight decay (none on biases); returns new params and increments."""
    params_, param_winc_ = [], []
    for p, winc, g in zip(params, param_winc, param_grad):
        if len(p['w']) == 0:  # ReLU and pooling layers have no parameters
            params_.append(p)
            param_winc_.append(winc)
            continue
        w_inc = mu * winc['w'] + w_rate * (g['w'] + decay * p['w'])
        b_inc = mu * winc['b'] + b_rate * g['b']
        params_.append({'w': p['w'] - w_inc, 'b': p['b'] - b_inc})
        param_winc_.append({'w': w_inc, 'b': b_inc})
    return params_, param_winc_


def get_lenet(batch_size=64):
    """LeNet as a list of layer dicts (assignment contract, section 5)."""
    return [
        {'type': 'DATA', 'height': 28, 'width': 28, 'channel': 1, 'batch_size': batch_size},
        {'type': 'CONV', 'num': 20, 'k': 5, 'stride': 1, 'pad': 0, 'group': 1},
        {'type': 'RELU'},
        {'type': 'POOLING', 'k': 2, 'stride': 2, 'pad': 0},
        {'type': 'CONV', 'num': 50, 'k': 5, 'stride': 1, 'pad': 0, 'group': 1},
        {'type': 'RELU'},
        {'type': 'POOLING', 'k': 2, 'stride': 2, 'pad': 0},
        {'type': 'IP', 'num': 500, 'init_type': 'uniform'},
        {'type': 'RELU'},
        {'type': 'LOSS', 'num': 10},
    ]
