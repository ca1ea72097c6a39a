"""Evaluate a trained LeNet (provided)."""
import numpy as np

from conv_net import forward
from utils import get_array_module


def predict(params, layers, x, batch_size=500):
    """Class scores ``(K, n)`` for data ``x`` of shape ``(784, n)``, in batches."""
    xp = get_array_module(x)
    K = layers[-1]['num']
    w, b = params[-1]['w'], params[-1]['b']
    scores = []
    for start in range(0, x.shape[1], batch_size):
        feats = forward(params, layers, x[:, start:start + batch_size])[-1]['data']
        logits = xp.concatenate([w @ feats + b.reshape(-1, 1), xp.zeros((1, feats.shape[1]))])
        scores.append(logits)
    assert scores[0].shape[0] == K
    return xp.concatenate(scores, axis=1)


def evaluate(params, layers, x, y):
    """Fraction of digits whose highest score is the true label."""
    xp = get_array_module(x)
    pred = predict(params, layers, xp.asarray(x)).argmax(axis=0)
    return float((pred == xp.asarray(y)).mean())


if __name__ == '__main__':
    from load_mnist import load_mnist
    from train_lenet import train
    xtrain, ytrain, _, _, xtest, ytest = load_mnist()
    params, layers = train(xtrain, ytrain, iters=300)
    print(f"test accuracy after 300 iterations: {evaluate(params, layers, xtest, ytest):.4f}")
