"""Provided: the homework's ConvNet and its training loop.

Conv(1->8, 3x3, pad 1) - ReLU - MaxPool(2) - Conv(8->16, 3x3, pad 1) - ReLU - MaxPool(2) -
Reshape((N,16,7,7) -> (N,784)) - FC(784->128) - ReLU - FC(128->10), softmax cross-entropy,
SGD(learningRate, weightDecay), batch 100. ``train(x, y)``: x (N, 1, 28, 28) in [0, 1] minus
each image's mean, y (N,) integer labels.
"""
import numpy as np

from criterion import SoftmaxCrossEntropyLossLayer
from layers import ConvLayer, FCLayer, MaxPoolingLayer, ReLULayer, ReshapeLayer
from network import Network
from optimizer import SGD


def build_convnet(batch_size=100):
    net = Network()
    net.add(ConvLayer(1, 8, 3, 1))
    net.add(ReLULayer())
    net.add(MaxPoolingLayer(2, 0))
    net.add(ConvLayer(8, 16, 3, 1))
    net.add(ReLULayer())
    net.add(MaxPoolingLayer(2, 0))
    net.add(ReshapeLayer((batch_size, 16, 7, 7), (batch_size, 784)))
    net.add(FCLayer(784, 128))
    net.add(ReLULayer())
    net.add(FCLayer(128, 10))
    return net


def train(x, y, epochs=1, batch_size=100, learning_rate=0.03, weight_decay=0.005, seed=0):
    """Train the ConvNet; returns (network, losses, accuracies) per iteration."""
    np.random.seed(seed)
    net, criterion, sgd = build_convnet(batch_size), SoftmaxCrossEntropyLossLayer(), SGD(learning_rate, weight_decay)
    losses, accs = [], []
    for _ in range(epochs):
        order = np.random.permutation(len(x))
        for i in range(0, len(x) - batch_size + 1, batch_size):
            idx = order[i:i + batch_size]
            logit = net.forward(x[idx])
            losses.append(criterion.forward(logit, np.eye(10)[y[idx]]))
            accs.append(criterion.acc)
            net.backward(criterion.backward())
            sgd.step(net)
    return net, losses, accs


def predict(net, x, batch_size=100):
    return np.concatenate([net.forward(x[i:i + batch_size], is_training=False).argmax(axis=1)
                           for i in range(0, len(x), batch_size)])
