"""Fully connected layer: Input (N, num_input) @ W (num_input, num_output) + b (1, num_output)."""
import numpy as np


class FCLayer():
    def __init__(self, num_input, num_output, actFunction='relu', trainable=True):
        self.num_input = num_input
        self.num_output = num_output
        self.trainable = trainable
        self.actFunction = actFunction
        assert actFunction in ['relu', 'sigmoid']
        self.XavierInit()
        self.grad_W = np.zeros((num_input, num_output))
        self.grad_b = np.zeros((1, num_output))

    def forward(self, Input, **kwargs):
        """Input: (N, num_input). Keep what backward needs; return Input @ W + b, (N, num_output)."""
        ############ TODO ############
        raise NotImplementedError


    def backward(self, delta):
        """delta: dL/d(output), (N, num_output). Set self.grad_W (num_input, num_output) and
        self.grad_b (1, num_output), both summed over the batch; return dL/dInput, (N, num_input)."""
        ############ TODO ############
        raise NotImplementedError


    def XavierInit(self):
        raw_std = (2 / (self.num_input + self.num_output))**0.5
        if 'relu' == self.actFunction:
            init_std = raw_std * (2**0.5)
        elif 'sigmoid' == self.actFunction:
            init_std = raw_std
        else:
            init_std = raw_std
        self.W = np.random.normal(0, init_std, (self.num_input, self.num_output))
        self.b = np.random.normal(0, init_std, (1, self.num_output))
