"""Legacy: a whole submission in one file, written for Python 2 (print statements,
`except E, e:`, xrange): it does not compile under Python 3, and every function is still found."""
import numpy as np




def inner_product_forward(input, layer, param):
    """``data = w.T @ x + b.T``.

    input: data ``(d, n)``; param: w ``(d, num)``, b ``(1, num)`` or ``(num,)``.
    Returns a dict with data ``(num, n)``, height num, width 1, channel 1.
    """
    xp = get_array_module(input['data'])
    num = param['w'].shape[1]
    data = param['w'].T @ input['data']
    data += xp.reshape(param['b'], (num, 1))
    return {'height': num, 'width': 1, 'channel': 1,
            'batch_size': input['batch_size'], 'data': data}


def inner_product_backward(output, input, layer, param):
    """Returns ``({'w': x @ diff.T, 'b': diff summed over the batch}, w @ diff)``."""
    xp = get_array_module(input['data'])
    diff = output['diff']
    param_grad = {'w': input['data'] @ diff.T,
                  'b': xp.reshape(diff.sum(axis=1), xp.shape(param['b']))}
    return param_grad, param['w'] @ diff



def relu_forward(input):
    """``max(x, 0)`` element-wise, in a new array (the input is left untouched)."""
    print "relu forward:", input['data'].shape
    xp = get_array_module(input['data'])
    output = {key: input[key] for key in ('height', 'width', 'channel', 'batch_size')}
    output['data'] = xp.maximum(input['data'], 0)
    return output


def relu_backward(output, input, layer):
    """``diff * (x > 0)``: the gradient passes where the input was positive."""
    return output['diff'] * (input['data'] > 0)



def _window_slices(k, stride, h_out, w_out):
    """Yield, for each kernel offset in Fortran order (dh fastest), the strided slice it selects."""
    for dw in xrange(k):
        for dh in xrange(k):
            yield (slice(None), slice(dw, dw + stride * w_out, stride),
                   slice(dh, dh + stride * h_out, stride), slice(None))


def pooling_layer_forward(input, layer):
    """Max over each k-by-k window of each channel; output channel = input channel."""
    h, w, c, n = input['height'], input['width'], input['channel'], input['batch_size']
    k, stride, pad = layer['k'], layer['stride'], layer['pad']
    h_out, w_out = output_size(h, k, stride, pad), output_size(w, k, stride, pad)
    x = pad_cwhn(as_cwhn(input['data'], h, w, c), pad)
    xp = get_array_module(x)
    slices = list(_window_slices(k, stride, h_out, w_out))  # k*k vectorised steps
    best = x[slices[0]] if k == 1 else xp.maximum(x[slices[0]], x[slices[1]])
    for s in slices[2:]:
        xp.maximum(best, x[s], out=best)  # in place: no new array per offset
    return {'height': h_out, 'width': w_out, 'channel': c, 'batch_size': n,
            'data': xp.ascontiguousarray(best).reshape(h_out * w_out * c, n)}


def pooling_layer_backward(output, input, layer):
    """Route each window's gradient to its (first) maximum; overlapping windows add up."""
    h, w, c, n = input['height'], input['width'], input['channel'], input['batch_size']
    k, stride, pad = layer['k'], layer['stride'], layer['pad']
    h_out, w_out = output_size(h, k, stride, pad), output_size(w, k, stride, pad)
    x = pad_cwhn(as_cwhn(input['data'], h, w, c), pad)
    xp = get_array_module(x)
    dy = xp.ascontiguousarray(output['diff']).reshape(c, w_out, h_out, n)
    dx = _route_tiles(x, dy, k, h_out, w_out) if stride == k else None
    if dx is None:
        dx = _route_windows(x, dy, k, stride, h_out, w_out)
    dx = dx[:, pad:pad + w, pad:pad + h, :]
    return xp.ascontiguousarray(dx).reshape(h * w * c, n)


def _route_tiles(x, dy, k, h_out, w_out):
    """Non-overlapping windows (stride == k): every window's gradient in one masked product.

    The windows tile the (padded) map, so a free reshape exposes them as axes
    ``(c, w_out, k, h_out, k, n)``. A tie keeps only its first maximum (Fortran window
    order). Returns None when a window holds NaN or dy is not finite (0 * inf): the
    general loop handles those.
    """
    xp = get_array_module(x)
    c, _, _, n = x.shape
    tiles = x[:, :w_out * k, :h_out * k].reshape(c, w_out, k, h_out, k, n)
    offsets = [(dw, dh) for dw in range(k) for dh in range(k)]  # Fortran order: dh fastest
    best = tiles[:, :, 0, :, 0] if k == 1 else xp.maximum(tiles[:, :, 0, :, 0], tiles[:, :, 0, :, 1])
    for dw, dh in offsets[2:]:
        xp.maximum(best, tiles[:, :, dw, :, dh], out=best)
    if bool(xp.isnan(best).any()) or not bool(xp.isfinite(dy).all()):
        return None
    hit = tiles == best[:, :, None, :, None]  # every window has at least one hit
    if int(xp.count_nonzero(hit)) > dy.size:  # ties (after ReLU, windows of zeros): keep the first
        seen = hit[:, :, 0, :, 0].copy()
        for dw, dh in offsets[1:]:
            later = hit[:, :, dw, :, dh]  # a view: the in-place operations below edit hit
            later &= ~seen
            seen |= later
    routed = xp.multiply(hit, dy[:, :, None, :, None])
    routed += 0.0  # 0 * (negative dy) is -0.0: make it +0.0, as the general loop gives
    if k * w_out == x.shape[1] and k * h_out == x.shape[2]:
        return routed.reshape(x.shape)
    dx = xp.zeros(x.shape, dtype=routed.dtype)
    dx[:, :w_out * k, :h_out * k] = routed.reshape(c, w_out * k, h_out * k, n)
    return dx


def _route_windows(x, dy, k, stride, h_out, w_out):
    """Any windows: find each window's first maximum, then add its gradient there (overlaps add up)."""
    xp = get_array_module(x)
    best, arg = None, None
    for i, s in enumerate(_window_slices(k, stride, h_out, w_out)):
        if best is None:
            best, arg = x[s], xp.zeros(x[s].shape, dtype=xp.int32)
        else:
            better = x[s] > best  # strict: an equal value later in the window does not win
            best = xp.where(better, x[s], best)
            arg = xp.where(better, i, arg)
    dx = xp.zeros(x.shape, dtype=dy.dtype)
    for i, s in enumerate(_window_slices(k, stride, h_out, w_out)):
        dx[s] += xp.where(arg == i, dy, 0)
    return dx



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
    out = param['w'].T @ col  # (num, w_out*h_out*n)
    out += xp.reshape(param['b'], (num, 1))  # in place: no second array of this size
    # (num, w_out, h_out, n) in C order is exactly the Fortran (h_out, w_out, num) columns.
    return {'height': h_out, 'width': w_out, 'channel': num, 'batch_size': n,
            'data': out.reshape(num * w_out * h_out, n)}


def conv_layer_backward(output, input, layer, param):
    """Backward pass: returns ``({'w': dL/dw, 'b': dL/db}, dL/d input data)``, summed over the batch."""
    xp = get_array_module(input['data'])
    h, w, c, n = input['height'], input['width'], input['channel'], input['batch_size']
    k, stride, pad, num = layer['k'], layer['stride'], layer['pad'], layer['num']
    col, _, _ = im2col_batch(input['data'], h, w, c, k, stride, pad)
    dy = xp.ascontiguousarray(output['diff']).reshape(num, -1)  # (num, w_out*h_out*n)
    param_grad = {'w': col @ dy.T,
                  'b': xp.reshape(dy.sum(axis=1), xp.shape(param['b']))}
    del col  # free it before w @ dy, as large: the allocator reuses its memory (no page faults)
    input_od = col2im_batch(param['w'] @ dy, h, w, c, k, stride, pad, n)
    return param_grad, input_od



def mlrloss(wb, X, y, K, gpu=0, prediction=0):
    """Softmax cross-entropy, summed over the batch.

    wb: 1-D, C-ravel of theta ``(K-1, N)`` then bias ``(K-1,)``; the last class scores 0.
    X: ``(N, M)`` features; y: ``(1, M)`` labels 0..K-1 (floats).
    Returns ``(nll, g, od, percent)``: the summed negative log-likelihood, the gradient
    with respect to wb (same layout), the gradient with respect to X ``(N, M)`` and the
    accuracy when ``prediction`` is true (else 0).  ``gpu`` is ignored.
    """
    xp = get_array_module(X)
    try:
        N, M = X.shape
    except ValueError, e:
        print "mlrloss: X must be 2-D", e
        raise
    theta = wb[:N * (K - 1)].reshape(K - 1, N)
    bias = wb[N * (K - 1):].reshape(K - 1, 1)
    labels = xp.asarray(y).reshape(-1).astype(xp.int64)
    cols = xp.arange(M)
    logits = xp.concatenate([theta @ X + bias, xp.zeros((1, M), dtype=X.dtype)])
    logits = logits - logits.max(axis=0)  # stable: every exponent is <= 0
    log_norm = xp.log(xp.exp(logits).sum(axis=0))
    nll = -(logits[labels, cols] - log_norm).sum()
    P = xp.exp(logits - log_norm)
    P[labels, cols] -= 1  # P - I
    g = xp.concatenate([(P @ X.T)[:K - 1].ravel(), P[:K - 1].sum(axis=1)])
    od = theta.T @ P[:K - 1]
    percent = float((logits.argmax(axis=0) == labels).mean()) if prediction else 0
    return nll, g, od, percent

"""Provided helpers: array module, im2col/col2im, SGD with momentum, learning rate, LeNet.

Every function works on numpy arrays and, unchanged, on cupy arrays: the array
module is taken from the data (``get_array_module``), numpy when cupy is absent.

Layout reminder (assignment contract, section 2): a layer's ``data`` is
``(h*w*c, batch)`` and each column is the Fortran-order flattening of an
``(h, w, c)`` volume, so row ``ih + h*iw + h*w*ic``.  Read in C order, the same
memory is an array of shape ``(c, w, h, batch)``; the vectorised code below works
in that view, which costs no copy.
"""

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