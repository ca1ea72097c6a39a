"""harness.diagnose.fingerprints: a result within the grader's tolerance of a prediction matches
its fingerprint; one clearly outside does not."""

from __future__ import annotations

import numpy as np
import pytest

from harness.core.compare import allowed_error as tolerance
from harness.diagnose import fingerprints as fp
from harness.diagnose.mutants import close


@pytest.fixture
def predicted() -> np.ndarray:
    return np.random.default_rng(3).standard_normal((150, 4))


def test_a_result_the_grader_calls_close_matches(predicted):
    print_ = fp.fingerprint("conv.forward|c|y|flipped_kernel|0", predicted, tolerance(predicted))
    rng = np.random.default_rng(4)
    for _ in range(20):
        got = predicted + tolerance(predicted) * rng.uniform(-1, 1, predicted.shape) * 0.999
        assert close(got, predicted) and fp.matches(got, print_)


def test_a_result_outside_the_tolerance_does_not_match(predicted):
    print_ = fp.fingerprint("conv.forward|c|y|flipped_kernel|0", predicted, tolerance(predicted))
    rng = np.random.default_rng(5)
    assert not fp.matches(predicted * -1, print_)
    assert not fp.matches(predicted.T.copy().reshape(predicted.shape), print_)
    for _ in range(20):  # wrong everywhere by 3x the tolerance, in random directions
        got = predicted + 3 * tolerance(predicted) * rng.choice([-1.0, 1.0], predicted.shape)
        assert not close(got, predicted) and not fp.matches(got, print_)
    got = predicted.copy()  # right except in one block, which is off by a lot
    got[:40] += 0.05 * np.sign(predicted[:40])
    assert not fp.matches(got, print_)
    assert not fp.matches(predicted.T, print_)  # another shape


def test_directions_are_the_same_stream_everywhere():
    a, b = fp.directions("x|y|z", 7), fp.directions("x|y|z", 7)
    assert a.shape == (fp.PROJECTIONS, 7) and np.array_equal(a, b)
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0)
    assert not np.array_equal(a, fp.directions("x|y|w", 7))
