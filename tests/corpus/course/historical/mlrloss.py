"""A historical-edition submission: mlrloss as the course provided it (plain numpy)."""
import numpy as np


def mlrloss(wb, X, y, K, gpu=0, prediction=0):
    N, M = X.shape
    theta = wb[:N * (K - 1)].reshape(K - 1, N)
    bias = wb[N * (K - 1):].reshape(K - 1, 1)
    I = np.zeros((K, M))
    I[y.astype(int).ravel(), np.arange(M)] = 1
    activation = np.vstack([theta @ X + bias, np.zeros((1, M))])
    activation = activation - np.max(activation, axis=0)
    P = np.exp(activation)
    P = P / np.sum(P, axis=0)
    nll = -np.sum(np.log(P[y.astype(int).ravel(), np.arange(M)]))
    percent = np.mean(np.argmax(P, axis=0) == y.ravel()) if prediction else 0
    od = P - I
    gw = od @ X.T
    gw = gw[:K - 1, :]
    gb = np.sum(od, axis=1)[:K - 1]
    g = np.concatenate([gw.ravel(), gb])
    od = theta.T @ od[:K - 1, :]
    return nll, g, od, percent
