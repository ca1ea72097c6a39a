"""Legacy: correct under numpy 1.x; the labels are checked with np.in1d (removed in numpy 2.4)."""
import numpy as np
from utils import get_array_module


def mlrloss(wb, X, y, K, gpu=0, prediction=0):
    """Softmax cross-entropy, summed over the batch.

    wb: 1-D, C-ravel of theta ``(K-1, N)`` then bias ``(K-1,)``; the last class scores 0.
    X: ``(N, M)`` features; y: ``(1, M)`` labels 0..K-1 (floats).
    Returns ``(nll, g, od, percent)``: the summed negative log-likelihood, the gradient
    with respect to wb (same layout), the gradient with respect to X ``(N, M)`` and the
    accuracy when ``prediction`` is true (else 0).  ``gpu`` is ignored.
    """
    xp = get_array_module(X)
    N, M = X.shape
    theta = wb[:N * (K - 1)].reshape(K - 1, N)
    bias = wb[N * (K - 1):].reshape(K - 1, 1)
    labels = xp.asarray(y).reshape(-1).astype(xp.int64)
    assert np.in1d(labels, np.arange(K)).all()
    cols = xp.arange(M)
    logits = xp.concatenate([theta @ X + bias, xp.zeros((1, M), dtype=X.dtype)])
    logits = logits - logits.max(axis=0)  # stable: every exponent is <= 0
    log_norm = xp.log(xp.exp(logits).sum(axis=0))
    nll = -(logits[labels, cols] - log_norm).sum()
    P = xp.exp(logits - log_norm)
    P[labels, cols] -= 1  # P - I
    g = xp.concatenate([(P @ X.T)[:K - 1].ravel(), P[:K - 1].sum(axis=1)])
    od = theta.T @ P[:K - 1]
    percent = float((logits.argmax(axis=0) == labels).mean()) if prediction else 0
    return nll, g, od, percent
