"""Forward clips the caller's array in place."""
import numpy as np


class ReLULayer():
    def __init__(self):
        self.trainable = False

    def forward(self, Input, **kwargs):
        self.Input = Input.copy()
        Input[Input < 0] = 0
        return Input

    def backward(self, delta):
        return delta * (self.Input > 0)
