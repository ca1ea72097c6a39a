"""Legacy: correct under numpy 1.x; both functions reshape with the newshape= keyword (removed in numpy 2.4)."""
import numpy as np
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
    slices = list(_window_slices(k, stride, h_out, w_out))  # k*k vectorised steps
    best = x[slices[0]] if k == 1 else xp.maximum(x[slices[0]], x[slices[1]])
    for s in slices[2:]:
        xp.maximum(best, x[s], out=best)  # in place: no new array per offset
    return {'height': h_out, 'width': w_out, 'channel': c, 'batch_size': n,
            'data': np.reshape(xp.ascontiguousarray(best), newshape=(h_out * w_out * c, n))}


def pooling_layer_backward(output, input, layer):
    """Route each window's gradient to its (first) maximum; overlapping windows add up."""
    h, w, c, n = input['height'], input['width'], input['channel'], input['batch_size']
    k, stride, pad = layer['k'], layer['stride'], layer['pad']
    h_out, w_out = output_size(h, k, stride, pad), output_size(w, k, stride, pad)
    x = pad_cwhn(as_cwhn(input['data'], h, w, c), pad)
    xp = get_array_module(x)
    dy = np.reshape(xp.ascontiguousarray(output['diff']), newshape=(c, w_out, h_out, n))
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
