"""Max pooling with zero padding; ties go to the first maximum in Fortran window order."""
from utils import get_array_module, as_cwhn, pad_cwhn, output_size


def _window_slices(k, stride, h_out, w_out):
    """Yield, for each kernel offset in Fortran order (dh fastest), the strided slice it selects."""
    for dw in range(k):
        for dh in range(k):
            yield (slice(None), slice(dw, dw + stride * w_out, stride),
                   slice(dh, dh + stride * h_out, stride), slice(None))


def pooling_layer_forward(input, layer):
    """Max over each k-by-k window of each channel; output channel = input channel."""
    h, w, c, n = input['height'], input['width'], input['channel'], input['batch_size']
    k, stride, pad = layer['k'], layer['stride'], layer['pad']
    h_out, w_out = output_size(h, k, stride, pad), output_size(w, k, stride, pad)
    x = pad_cwhn(as_cwhn(input['data'], h, w, c), pad)
    xp = get_array_module(x)
    best = None
    for s in _window_slices(k, stride, h_out, w_out):  # k*k vectorised steps
        best = x[s] if best is None else xp.maximum(best, x[s])
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
    dx = dx[:, pad:pad + w, pad:pad + h, :]
    return xp.ascontiguousarray(dx).reshape(h * w * c, n)
