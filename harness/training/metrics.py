"""Classification metrics of the held-out digits: confusion, per-class scores, mistakes.

Pure numpy. Scores are ``(K, m)`` as the network produces them (one column per digit);
labels and predictions are ``(m,)`` integers 0..K-1.
"""

from __future__ import annotations

import numpy as np


def confusion_matrix(y_true, y_pred, n_classes: int = 10) -> np.ndarray:
    """``(K, K)`` counts: row = true class, column = predicted class."""
    y_true, y_pred = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    return cm


def normalize_rows(cm: np.ndarray) -> np.ndarray:
    """Each row divided by its sum (the fraction of each true class predicted as each class); empty rows stay 0."""
    cm = np.asarray(cm, dtype=np.float64)
    totals = cm.sum(axis=1, keepdims=True)
    return np.divide(cm, totals, out=np.zeros_like(cm), where=totals > 0)


def accuracy(y_true, y_pred) -> float:
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return float((y_true == y_pred).mean()) if y_true.size else 0.0


def per_class(cm: np.ndarray) -> dict:
    """Precision, recall, F1 (0 where undefined) and support of each class, as lists."""
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diag(cm)
    predicted, support = cm.sum(axis=0), cm.sum(axis=1)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros_like(tp), where=both > 0)
    return {
        "precision": precision.tolist(),
        "recall": recall.tolist(),
        "f1": f1.tolist(),
        "support": support.astype(np.int64).tolist(),
    }


def softmax(scores) -> np.ndarray:
    """Column-wise softmax of ``(K, m)`` scores (stable)."""
    s = np.asarray(scores, dtype=np.float64)
    e = np.exp(s - s.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def confused_pairs(y_true, y_pred, top: int = 5, examples: int = 8) -> list[dict]:
    """The ``top`` most frequent (true, predicted) mistakes, with up to ``examples`` digit indices each.

    Sorted by count (descending), then by (true, predicted).
    """
    y_true, y_pred = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    wrong = np.flatnonzero(y_true != y_pred)
    if not wrong.size:
        return []
    pairs, counts = np.unique(np.stack([y_true[wrong], y_pred[wrong]], axis=1), axis=0, return_counts=True)
    ranked = sorted(zip(pairs.tolist(), counts.tolist()), key=lambda pc: (-pc[1], pc[0]))[:top]
    return [
        {
            "true": t,
            "predicted": p,
            "count": c,
            "indices": wrong[(y_true[wrong] == t) & (y_pred[wrong] == p)][:examples].tolist(),
        }
        for (t, p), c in ranked
    ]


def misclassified(y_true, scores, limit: int | None = None) -> list[dict]:
    """Wrongly classified digits, most confident mistakes first: index, true, predicted, confidence.

    Confidence is the softmax probability of the predicted class.
    """
    y_true = np.asarray(y_true, dtype=np.int64)
    probs = softmax(scores)
    pred = probs.argmax(axis=0)
    conf = probs.max(axis=0)
    wrong = np.flatnonzero(pred != y_true)
    wrong = wrong[np.argsort(-conf[wrong], kind="stable")][:limit]
    return [
        {"index": int(i), "true": int(y_true[i]), "predicted": int(pred[i]), "confidence": float(conf[i])}
        for i in wrong
    ]


def summary(y_true, scores, top_pairs: int = 5, max_mistakes: int = 50) -> dict:
    """Everything above for one set of held-out scores, JSON-able."""
    scores = np.asarray(scores, dtype=np.float64)
    y_pred = scores.argmax(axis=0)
    cm = confusion_matrix(y_true, y_pred, scores.shape[0])
    return {
        "accuracy": accuracy(y_true, y_pred),
        "confusion": cm.tolist(),
        "confusion_normalized": normalize_rows(cm).tolist(),
        "per_class": per_class(cm),
        "confused_pairs": confused_pairs(y_true, y_pred, top_pairs),
        "misclassified": misclassified(y_true, scores, max_mistakes),
    }
