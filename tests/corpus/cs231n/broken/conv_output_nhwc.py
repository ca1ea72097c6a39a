"""Mistake: the output returned channels last, (N, H', W', F), as an im2col product gives it."""


def conv_forward_naive(x, w, b, conv_param):
    out, cache = _reference_conv_forward_naive(x, w, b, conv_param)
    return out.transpose(0, 2, 3, 1), cache
