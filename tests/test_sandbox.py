"""The sandbox runs submission code in a child process and survives what it does."""
import os

import numpy as np
import pytest

from harness.profiles import dictapi
from harness.sandbox import Limits, Sandbox
from harness.submission import locate

RELU = dict(h=2, w=3, c=1)


def relu_x(seed=0):
    return np.random.default_rng(seed).standard_normal((6, 2)) + 0.1


def sandbox_for(path, **limits):
    return Sandbox(locate(path, dictapi.MODULES), Limits(**limits))


def test_reference_call_round_trip(submission):
    with sandbox_for(submission()) as sb:
        reply = sb.call("relu.forward", RELU, {"x": relu_x()}, after=True)
    assert reply.ok, reply.error
    assert np.array_equal(reply.outputs["y"].array, np.maximum(relu_x(), 0))
    assert reply.meta == {"height": 2, "width": 3, "channel": 1, "batch_size": 2}
    assert np.array_equal(reply.after["input.data"].array, relu_x())


def test_exception_gives_trimmed_traceback_and_next_call_works(submission):
    path = submission({"relu": """
        def relu_forward(input):
            raise ValueError("boom")
        def relu_backward(output, input, layer):
            return output['diff'] * (input['data'] > 0)
    """})
    with sandbox_for(path) as sb:
        bad = sb.call("relu.forward", RELU, {"x": relu_x()})
        good = sb.call("relu.backward", RELU, {"x": relu_x(), "dy": relu_x(1), "y": relu_x()})
    assert bad.status == "exception" and "ValueError: boom" in bad.error
    assert "relu.py" in bad.traceback and "harness" not in bad.traceback
    assert good.ok


def test_not_implemented(tmp_path):
    (tmp_path / "relu.py").write_text("def relu_forward(input):\n    raise NotImplementedError('relu_forward')\n")
    with sandbox_for(tmp_path) as sb:
        reply = sb.call("relu.forward", RELU, {"x": relu_x()})
    assert reply.status == "not_implemented"


def test_timeout_kills_and_a_fresh_child_serves_the_next_call(submission):
    path = submission({"relu": """
        import time
        def relu_forward(input):
            while True:
                time.sleep(0.01)
        def relu_backward(output, input, layer):
            return output['diff'] * (input['data'] > 0)
    """})
    with sandbox_for(path, timeout_s=1.0) as sb:
        first_pid = None
        slow = sb.call("relu.forward", RELU, {"x": relu_x()})
        assert slow.status == "timeout" and "timed out after 1 s" in slow.error
        good = sb.call("relu.backward", RELU, {"x": relu_x(), "dy": relu_x(1), "y": relu_x()})
        assert good.ok


def test_segfault_is_reported_by_signal(submission):
    path = submission({"relu": """
        import ctypes
        def relu_forward(input):
            ctypes.string_at(0)
        def relu_backward(output, input, layer):
            return output['diff'] * (input['data'] > 0)
    """})
    with sandbox_for(path) as sb:
        reply = sb.call("relu.forward", RELU, {"x": relu_x()})
    assert reply.status == "crashed" and "SIGSEGV" in reply.error


@pytest.mark.parametrize("ret, problem", [
    ("None", "returned None"),
    ("[[1.0]]", "builtins.list"),
    ("np.zeros((6, 2), dtype=object)", "dtype object"),
    ("np.zeros((6, 2), dtype=complex)", "dtype complex128"),
    ("np.ma.masked_array(np.zeros((6, 2)))", "MaskedArray"),
])
def test_unacceptable_returns_are_described(submission, ret, problem):
    path = submission({"relu": f"""
        import numpy as np
        def relu_forward(input):
            out = dict(input)
            out['data'] = {ret}
            return out
        def relu_backward(output, input, layer):
            return output['diff']
    """})
    with sandbox_for(path) as sb:
        reply = sb.call("relu.forward", RELU, {"x": relu_x()})
    assert reply.ok
    assert reply.outputs["y"].array is None
    assert problem in reply.outputs["y"].problem


def test_student_output_is_captured_per_call(submission):
    path = submission({"relu": """
        import numpy as np
        def relu_forward(input):
            print("hello from relu")
            out = dict(input); out['data'] = np.maximum(input['data'], 0)
            return out
        def relu_backward(output, input, layer):
            return output['diff'] * (input['data'] > 0)
    """})
    with sandbox_for(path) as sb:
        a = sb.call("relu.forward", RELU, {"x": relu_x()})
        b = sb.call("relu.backward", RELU, {"x": relu_x(), "dy": relu_x(1), "y": relu_x()})
    assert "hello from relu" in a.output and b.output == ""


def test_child_cannot_see_the_graders_environment(submission, monkeypatch):
    monkeypatch.setenv("HARNESS_SECRET_FOR_TEST", "s3cret")
    path = submission({"relu": """
        import os, numpy as np
        def relu_forward(input):
            out = dict(input)
            out['data'] = np.full((6, 2), float('HARNESS_SECRET_FOR_TEST' in os.environ))
            return out
        def relu_backward(output, input, layer):
            return output['diff']
    """})
    with sandbox_for(path) as sb:
        reply = sb.call("relu.forward", RELU, {"x": relu_x()})
    assert reply.ok and not reply.outputs["y"].array.any()


def test_memory_limit(submission):
    path = submission({"relu": """
        import numpy as np
        def relu_forward(input):
            big = np.ones(2**31)  # 16 GiB
            return input
        def relu_backward(output, input, layer):
            return output['diff']
    """})
    with sandbox_for(path, memory_bytes=1 << 30) as sb:
        reply = sb.call("relu.forward", RELU, {"x": relu_x()})
    assert reply.status == "memory"
