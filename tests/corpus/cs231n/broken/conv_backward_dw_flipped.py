"""Mistake: conv backward computes dw against the flipped kernel's positions (w[..., ::-1, ::-1])."""


def conv_backward_naive(dout, cache):
    dx, dw, db = _reference_conv_backward_naive(dout, cache)
    return dx, dw[:, :, ::-1, ::-1].copy(), db
