"""Softmax cross-entropy on logits (N, K) with one-hot labels (N, K).

``loss`` is the mean over the batch and ``backward`` returns the gradient of that mean,
``(p - gt) / N``: the layers below sum their parameter gradients over the batch.
"""
import numpy as np

EPS = 1e-11


class SoftmaxCrossEntropyLossLayer():
    def __init__(self):
        self.acc = 0.
        self.loss = np.zeros(1, dtype='f')

    def forward(self, logit, gt):
        """logit: (N, K); gt: one-hot (N, K). Set self.loss to the mean cross-entropy over the
        batch and self.acc to the fraction of rows whose largest logit is the label; return
        self.loss. Stay finite for logits around 1000."""
        ############ TODO ############
        raise NotImplementedError


    def backward(self):
        """Return dL/dlogit, (N, K): the gradient of the mean loss, (p - gt) / N, or of the
        summed loss, p - gt (say which in your report; the learning rate differs)."""
        ############ TODO ############
        raise NotImplementedError
