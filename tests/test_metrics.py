"""harness.training.metrics against small examples computed by hand."""

import json

import numpy as np
import pytest

from harness.training import metrics

# 3 classes, 8 digits.  true:  0 0 0 1 1 2 2 2
#                       pred:  0 0 1 1 1 2 0 1
Y_TRUE = np.array([0, 0, 0, 1, 1, 2, 2, 2])
Y_PRED = np.array([0, 0, 1, 1, 1, 2, 0, 1])
CM = [[2, 1, 0], [0, 2, 0], [1, 1, 1]]


def test_confusion_matrix_counts_rows_true_columns_predicted():
    cm = metrics.confusion_matrix(Y_TRUE, Y_PRED, 3)
    assert cm.dtype == np.int64
    assert cm.tolist() == CM


def test_normalize_rows_divides_by_class_size_and_keeps_empty_rows_zero():
    norm = metrics.normalize_rows([[2, 1, 0], [0, 0, 0], [1, 1, 2]])
    np.testing.assert_allclose(norm, [[2 / 3, 1 / 3, 0], [0, 0, 0], [0.25, 0.25, 0.5]])


def test_per_class_precision_recall_f1_support():
    stats = metrics.per_class(np.array(CM))
    # precision = tp / column sum: 2/3, 2/4, 1/1; recall = tp / row sum: 2/3, 2/2, 1/3
    np.testing.assert_allclose(stats["precision"], [2 / 3, 0.5, 1.0])
    np.testing.assert_allclose(stats["recall"], [2 / 3, 1.0, 1 / 3])
    np.testing.assert_allclose(stats["f1"], [2 / 3, 2 * 0.5 / 1.5, 2 * (1 / 3) / (4 / 3)])
    assert stats["support"] == [3, 2, 3]


def test_per_class_is_zero_where_undefined():
    stats = metrics.per_class(np.array([[1, 0], [1, 0]]))  # class 1 never predicted
    assert stats["precision"] == [0.5, 0.0]
    assert stats["recall"] == [1.0, 0.0]
    assert stats["f1"][1] == 0.0


def test_accuracy():
    assert metrics.accuracy(Y_TRUE, Y_PRED) == 5 / 8
    assert metrics.accuracy([], []) == 0.0


def test_confused_pairs_ranked_by_count_with_example_indices():
    pairs = metrics.confused_pairs(Y_TRUE, Y_PRED)
    # mistakes: (0->1) at 2, (2->0) at 6, (2->1) at 7: all once; ties sorted by (true, predicted)
    assert [(p["true"], p["predicted"], p["count"]) for p in pairs] == [(0, 1, 1), (2, 0, 1), (2, 1, 1)]
    assert [p["indices"] for p in pairs] == [[2], [6], [7]]
    pairs = metrics.confused_pairs([3, 3, 3, 5, 1], [5, 5, 1, 3, 1], top=1, examples=1)
    assert pairs == [{"true": 3, "predicted": 5, "count": 2, "indices": [0]}]
    assert metrics.confused_pairs([1, 2], [1, 2]) == []


def test_softmax_is_columnwise_and_stable():
    p = metrics.softmax(np.array([[0.0, 1000.0], [np.log(3), 1000.0]]))
    np.testing.assert_allclose(p, [[0.25, 0.5], [0.75, 0.5]])


def test_misclassified_sorted_by_confidence_of_the_predicted_class():
    # 3 classes, 4 digits (columns); digits 1 and 3 are wrong, digit 3 with more confidence.
    scores = np.array([[5.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 9.0], [0.0, 0.0, 5.0, 0.0]])
    wrong = metrics.misclassified([0, 2, 2, 0], scores)
    assert [(m["index"], m["true"], m["predicted"]) for m in wrong] == [(3, 0, 1), (1, 2, 1)]
    e = np.e
    assert wrong[1]["confidence"] == pytest.approx(e / (e + 2))
    assert wrong[0]["confidence"] > wrong[1]["confidence"]
    assert metrics.misclassified([0, 2, 2, 0], scores, limit=1) == wrong[:1]


def test_summary_is_json_able_and_consistent():
    scores = np.eye(3)[:, Y_PRED] * 4.0
    s = metrics.summary(Y_TRUE, scores)
    json.dumps(s, allow_nan=False)
    assert s["confusion"] == CM
    assert s["accuracy"] == 5 / 8
    assert len(s["misclassified"]) == 3
