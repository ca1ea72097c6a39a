"""Reshape between the convolutional part and the fully connected part."""


class ReshapeLayer():
    def __init__(self, input_shape, output_shape):
        self.input_shape = input_shape
        self.output_shape = output_shape
        self.trainable = False

    def forward(self, Input, **kwargs):
        return Input.reshape(Input.shape[0], *self.output_shape[1:])

    def backward(self, delta):
        return delta.reshape(delta.shape[0], *self.input_shape[1:])
