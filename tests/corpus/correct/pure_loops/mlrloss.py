"""Correct variant: one example at a time."""
import numpy as np


def mlrloss(wb, X, y, K, gpu=0, prediction=0):
    N, M = X.shape
    theta = wb[:N * (K - 1)].reshape(K - 1, N)
    bias = wb[N * (K - 1):]
    nll, correct = 0.0, 0
    dtheta, dbias, od = np.zeros((K - 1, N)), np.zeros(K - 1), np.zeros((N, M))
    for i in range(M):
        z = np.append(theta.dot(X[:, i]) + bias, 0.0)
        z = z - z.max()
        p = np.exp(z) / np.exp(z).sum()
        label = int(y[0, i])
        nll -= z[label] - np.log(np.exp(z).sum())
        p[label] -= 1
        dtheta += np.outer(p[:K - 1], X[:, i])
        dbias += p[:K - 1]
        od[:, i] = theta.T.dot(p[:K - 1])
        correct += int(np.argmax(z) == label)
    percent = correct / M if prediction else 0
    return nll, np.concatenate([dtheta.ravel(), dbias]), od, percent
