"""Inverted dropout (2021 edition): ``prob`` is the probability of dropping a unit."""
import numpy as np


class DropoutLayer():
    def __init__(self, prob):
        self.prob = prob
        self.trainable = False

    def forward(self, Input, is_training=True, **kwargs):
        """Inverted dropout: while training, zero each unit with probability self.prob and scale
        the others by 1 / (1 - prob); identity otherwise. Keep the mask for backward."""
        ############ TODO ############
        raise NotImplementedError


    def backward(self, delta):
        """Return delta times the mask of the last forward."""
        ############ TODO ############
        raise NotImplementedError
