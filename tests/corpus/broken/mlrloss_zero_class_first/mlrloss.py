"""Mistake: the fixed zero score is given to class 0 instead of the last class."""
import numpy as np


def mlrloss(wb, X, y, K, gpu=0, prediction=0):
    N, M = X.shape
    theta = wb[:N * (K - 1)].reshape(K - 1, N)
    bias = wb[N * (K - 1):].reshape(K - 1, 1)
    labels = y.reshape(-1).astype(int)
    scores = np.vstack([np.zeros((1, M)), theta @ X + bias])      # (K, M)
    scores = scores - scores.max(axis=0, keepdims=True)
    logp = scores - np.log(np.exp(scores).sum(axis=0, keepdims=True))
    nll = -logp[labels, np.arange(M)].sum()
    I = np.zeros((K, M))
    I[labels, np.arange(M)] = 1
    E = np.exp(logp) - I                                          # P - I
    g = np.concatenate([(E @ X.T)[1:].ravel(), E[1:].sum(axis=1)])
    od = theta.T @ E[1:]
    percent = np.mean(np.argmax(scores, axis=0) == labels) if prediction else 0
    return nll, g, od, percent
