"""Correct variant: scipy.special's logsumexp and softmax (stable), gpu ignored."""
import numpy as np
from scipy.special import logsumexp, softmax


def mlrloss(wb, X, y, K, gpu=0, prediction=0):
    N, M = X.shape
    theta = np.reshape(wb[:N * (K - 1)], (K - 1, N))
    bias = wb[N * (K - 1):]
    labels = y.astype(int).ravel()
    z = np.r_[theta @ X + bias[:, None], np.zeros((1, M))]
    nll = np.sum(logsumexp(z, axis=0) - z[labels, range(M)])
    E = softmax(z, axis=0)
    E[labels, range(M)] -= 1
    g = np.r_[(E[:-1] @ X.T).ravel(), E[:-1].sum(axis=1)]
    percent = np.mean(np.argmax(z, axis=0) == labels) if prediction else 0
    return nll, g, theta.T @ E[:-1], percent
