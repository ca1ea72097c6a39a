"""ReLU, elementwise on any shape."""
import numpy as np


class ReLULayer():
    def __init__(self):
        self.trainable = False

    def forward(self, Input, **kwargs):
        """Elementwise max(Input, 0), any shape. Keep what backward needs."""
        ############ TODO ############
        raise NotImplementedError


    def backward(self, delta):
        """delta: dL/d(output). Return dL/dInput = delta where Input > 0, else 0."""
        ############ TODO ############
        raise NotImplementedError
