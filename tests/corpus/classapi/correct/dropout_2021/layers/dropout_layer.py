"""2021 edition with a dropout layer (not graded; forward(self, Input, is_training=True) everywhere)."""
import numpy as np


class DropoutLayer():
    def __init__(self, prob):
        self.prob = prob
        self.trainable = False

    def forward(self, Input, is_training=True, **kwargs):
        if not is_training or self.prob == 0:
            self.mask = np.ones_like(Input)
            return Input
        self.mask = np.random.binomial(1, 1 - self.prob, Input.shape) / (1 - self.prob)
        return Input * self.mask

    def backward(self, delta):
        return delta * self.mask
