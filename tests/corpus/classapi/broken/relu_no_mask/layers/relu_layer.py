"""Backward passes delta through everywhere."""
import numpy as np


class ReLULayer():
    def __init__(self):
        self.trainable = False

    def forward(self, Input, **kwargs):
        self.Input = Input
        return np.maximum(Input, 0)

    def backward(self, delta):
        return delta
