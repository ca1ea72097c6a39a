"""Correct variant: copies its arguments before working in place."""
import numpy as np


def mlrloss(wb, X, y, K, gpu=0, prediction=0):
    wb, X, y = wb.copy(), X.copy(), y.copy()
    N, M = X.shape
    theta = wb[:N * (K - 1)].reshape(K - 1, N)
    bias = wb[N * (K - 1):].reshape(K - 1, 1)
    labels = y.reshape(-1).astype(int)
    z = np.vstack([theta @ X + bias, np.zeros((1, M))])
    z -= z.max(axis=0)
    logsum = np.log(np.exp(z).sum(axis=0))
    nll = float(np.sum(logsum - z[labels, np.arange(M)]))
    P = np.exp(z - logsum)
    P[labels, np.arange(M)] -= 1
    g = np.concatenate([(P @ X.T)[:K - 1].ravel(), P[:K - 1].sum(axis=1)])
    percent = float(np.mean(z.argmax(axis=0) == labels)) if prediction else 0
    return nll, g, theta.T @ P[:K - 1], percent
