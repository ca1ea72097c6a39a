"""Correct variant: einsum for the products."""
import numpy as np


def mlrloss(wb, X, y, K, gpu=0, prediction=0):
    N, M = X.shape
    theta = wb[:N * (K - 1)].reshape(K - 1, N)
    bias = wb[N * (K - 1):]
    labels = y.ravel().astype(int)
    z = np.concatenate([np.einsum('kd,dm->km', theta, X) + bias[:, None], np.zeros((1, M))])
    z -= z.max(axis=0)
    logp = z - np.log(np.einsum('km->m', np.exp(z)))
    onehot = np.eye(K)[:, labels]
    nll = -np.einsum('km,km->', onehot, logp)
    E = (np.exp(logp) - onehot)[:K - 1]
    g = np.concatenate([np.einsum('km,dm->kd', E, X).ravel(), E.sum(axis=1)])
    od = np.einsum('kd,km->dm', theta, E)
    percent = float(np.mean(z.argmax(axis=0) == labels)) if prediction else 0
    return nll, g, od, percent
