"""Mistake: ReLU backward passes dout through everywhere."""


def relu_backward(dout, cache):
    return dout.copy()
