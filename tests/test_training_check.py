"""train.lenet end to end: the submission's layers trained in the sandbox, judged in the parent."""

import pytest

from harness.core.model import GradeReport, Status
from harness.grade import grade
from harness.options import Options, TrainOptions
from harness.report import gradescope
from harness.training import verdict as training_verdict

pytestmark = pytest.mark.slow


def train_only(path, **training):
    report = grade(path, Options(only=("train.lenet",), training=TrainOptions(**training)))
    assert not report.autograder_error, report.autograder_error
    (check,) = report.checks
    return check


def test_reference_learns_and_the_report_has_every_figure():
    check = train_only("reference")
    assert check.status is Status.PASS, check.message
    assert check.numbers["accuracy"] >= 0.95
    assert check.score == check.max_score > 0
    titles = " / ".join(f["title"] for f in check.extra["figures"])
    for word in ("curves", "Confusion", "Misclassified", "confused", "filters"):
        assert word in titles
    assert check.extra["tables"] and "precision" in check.extra["tables"][0]["title"]
    assert "trained with your" in check.details
    # The same numbers in results.json: confusion matrix, per-class scores, curves.
    test = gradescope.render(GradeReport("reference", (check,), {}))["tests"][0]
    metrics = test["extra_data"]["metrics"]
    assert sum(map(sum, metrics["confusion"])) == 2000 and len(metrics["per_class"]["recall"]) == 10
    assert len(test["extra_data"]["curves"]["loss"]) == check.numbers["iterations_done"]


def test_conv_backward_returning_zeros_fails_with_the_layer_named(submission):
    path = submission(
        {
            "conv_layer": """
        import numpy as np
        from utils import im2col_batch
        def conv_layer_forward(input, layer, param):
            h, w, c, n = input['height'], input['width'], input['channel'], input['batch_size']
            col, h_out, w_out = im2col_batch(input['data'], h, w, c, layer['k'], layer['stride'], layer['pad'])
            out = param['w'].T @ col + np.reshape(param['b'], (-1, 1))
            return {'height': h_out, 'width': w_out, 'channel': layer['num'], 'batch_size': n,
                    'data': out.reshape(-1, n)}
        def conv_layer_backward(output, input, layer, param):
            return ({'w': np.zeros_like(param['w']), 'b': np.zeros_like(param['b'])},
                    np.zeros_like(input['data']))
    """
        }
    )
    check = train_only(path, iterations=60)
    assert check.status is Status.FAIL
    assert "conv layer" in check.message and "not learn" in check.message
    assert "conv_layer_backward" in check.hint
    assert check.score == 0


def test_slow_but_correct_submission_gets_the_bottleneck_named(submission):
    path = submission(
        {
            "relu": """
        import numpy as np
        def relu_forward(input):
            x = input['data']
            out = np.empty_like(x)
            for i in range(x.shape[0]):          # a Python loop over elements
                for j in range(x.shape[1]):
                    out[i, j] = x[i, j] if x[i, j] > 0 else 0.0
            return {**{k: input[k] for k in ('height', 'width', 'channel', 'batch_size')}, 'data': out}
        def relu_backward(output, input, layer):
            return output['diff'] * (input['data'] > 0)
    """
        }
    )
    check = train_only(path, time_limit_s=4.0)
    assert check.status is Status.ERROR
    assert "relu_forward" in check.message or "relu_forward" in check.details
    assert "slower than the reference" in check.details or "slower than the reference" in check.message
    assert training_verdict.SLOW_HINTS["relu.forward"] in check.hint or "np.maximum" in check.hint
    assert check.numbers["iterations_done"] < check.numbers["iterations"]


def test_wrong_data_file_is_an_autograder_error_before_any_training(tmp_path):
    bad = tmp_path / "mnist_all.mat"
    bad.write_bytes(b"not a MATLAB file")
    report = grade("reference", Options(only=("train.lenet",), training=TrainOptions(data=str(bad))))
    assert report.exit_code == 2
    assert "mnist_all.mat" in report.autograder_error
    assert not report.checks
