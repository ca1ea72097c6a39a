"""Provided: SGD with weight decay, W -= lr * (grad_W + wd * W), b -= lr * grad_b."""


class SGD():
    def __init__(self, learningRate, weightDecay):
        self.learningRate = learningRate
        self.weightDecay = weightDecay

    def step(self, model):
        """One update of every trainable layer of ``model``."""
        for layer in model.layerList:
            if layer.trainable:
                layer.diff_W = -self.learningRate * (layer.grad_W + self.weightDecay * layer.W)
                layer.diff_b = -self.learningRate * layer.grad_b
                layer.W += layer.diff_W
                layer.b += layer.diff_b
