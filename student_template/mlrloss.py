"""Multinomial logistic regression (softmax) loss: write it.

Only K-1 classes have parameters: the last class's score is fixed at 0.

Speed: the grader trains LeNet with your layers, 500 iterations of 64 digits within 300 s
(the reference takes about 30 s). Python loops over pixels, windows or images are far too
slow: use array operations (matrix products, reshapes, strided views). Before you submit,
``python -m harness speed .`` times each function against the reference in a few seconds
and says what to vectorise (see README.md).
"""
import numpy as np


def mlrloss(wb, X, y, K, gpu=0, prediction=0):
    """Softmax cross-entropy loss and its gradients, summed over the batch.

    Args:
        wb: 1-D array of length ``(K-1)*(N+1)``: the C-order ravel of ``theta`` of shape
            ``(K-1, N)``, followed by ``bias`` of shape ``(K-1,)``, i.e.
            ``theta = wb[:(K-1)*N].reshape(K-1, N)`` and ``bias = wb[(K-1)*N:]``.
        X: features of shape ``(N, M)``, one column per example (M = batch size).
        y: labels of shape ``(1, M)``, floats with values 0..K-1.
        K: the number of classes.
        gpu: ignored (the historical code used it to cast to float32).
        prediction: when true, also compute the accuracy.

    Returns:
        ``(nll, g, od, percent)``:
        - the scores are ``[theta @ X + bias[:, None]; zeros(1, M)]``, shape ``(K, M)``,
          and ``P`` is their softmax over each column. Make it **stable**: subtract each
          column's maximum before ``exp`` (scores of 1e3 must not overflow);
        - ``nll``: the negative log-likelihood of the true labels, **summed** over the batch
          (a scalar);
        - ``g``: 1-D, length ``(K-1)*(N+1)``, the gradient with respect to ``wb`` in the
          same layout: with ``D = P - I`` (``I`` the one-hot labels, shape ``(K, M)``), the
          C-ravel of ``(D @ X.T)[:K-1]`` followed by ``D[:K-1].sum(axis=1)``;
        - ``od``: the gradient with respect to ``X``, ``theta.T @ D[:K-1]``, shape ``(N, M)``;
        - ``percent``: the fraction of columns whose highest score is the true label when
          ``prediction`` is true, else 0.
    """
    raise NotImplementedError("mlrloss is not implemented yet")
