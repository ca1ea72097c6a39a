"""Mistake: affine backward returns dx flattened, (N, D), not in x's original shape."""


def affine_backward(dout, cache):
    x, w, b = cache
    x2 = x.reshape(x.shape[0], -1)
    return dout @ w.T, x2.T @ dout, dout.sum(axis=0)
