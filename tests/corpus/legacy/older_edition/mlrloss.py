"""Legacy: the older edition of the dict API, whose mlrloss has no gpu flag and takes
prediction fifth (mlrloss(wb, X, y, K, prediction)); correct under that edition's calls."""
import numpy as np


def mlrloss(wb, X, y, K, prediction):
    N, M = X.shape
    theta = wb[:N * (K - 1)].reshape(K - 1, N)
    bias = wb[N * (K - 1):].reshape(K - 1, 1)
    labels = np.asarray(y).reshape(-1).astype(int)
    logits = np.vstack([theta.dot(X) + bias, np.zeros((1, M))])
    logits = logits - logits.max(axis=0)
    P = np.exp(logits)
    P = P / P.sum(axis=0)
    nll = -np.log(P[labels, np.arange(M)]).sum()
    P[labels, np.arange(M)] -= 1
    g = np.concatenate([P.dot(X.T)[:K - 1].ravel(), P[:K - 1].sum(axis=1)])
    od = theta.T.dot(P[:K - 1])
    if prediction:
        percent = np.mean(np.argmax(logits, axis=0) == labels)
    else:
        percent = 0
    return nll, g, od, percent
