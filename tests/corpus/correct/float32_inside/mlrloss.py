"""Correct variant: computes in float32 (what the historical gpu=1 flag did), returns float64."""
import numpy as np


def mlrloss(wb, X, y, K, gpu=0, prediction=0):
    wb, X = wb.astype(np.float32), X.astype(np.float32)
    N, M = X.shape
    theta = wb[:N * (K - 1)].reshape(K - 1, N)
    bias = wb[N * (K - 1):].reshape(K - 1, 1)
    labels = y.reshape(-1).astype(int)
    z = np.vstack([theta @ X + bias, np.zeros((1, M), np.float32)])
    z = z - z.max(axis=0)
    logp = z - np.log(np.exp(z).sum(axis=0))
    nll = -logp[labels, np.arange(M)].sum()
    E = np.exp(logp)
    E[labels, np.arange(M)] -= 1
    g = np.concatenate([(E @ X.T)[:K - 1].ravel(), E[:K - 1].sum(axis=1)])
    od = theta.T @ E[:K - 1]
    percent = float(np.mean(z.argmax(axis=0) == labels)) if prediction else 0
    return float(nll), g.astype(np.float64), od.astype(np.float64), percent
