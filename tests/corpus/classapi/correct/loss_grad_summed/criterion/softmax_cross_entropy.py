"""The loss gradient of the summed loss, p - gt (the homework leaves the scale open)."""
import numpy as np

EPS = 1e-11


class SoftmaxCrossEntropyLossLayer():
    def __init__(self):
        self.acc = 0.
        self.loss = np.zeros(1, dtype='f')

    def forward(self, logit, gt):
        shifted = logit - logit.max(axis=1, keepdims=True)  # stable for logits around 1000
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        self.prob = np.exp(log_p)
        self.gt = gt
        self.loss = float(-(gt * log_p).sum(axis=1).mean())
        self.acc = float(np.mean(np.argmax(logit, axis=1) == np.argmax(gt, axis=1)))
        return self.loss

    def backward(self):
        return self.prob - self.gt
