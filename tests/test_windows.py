"""The one window extractor against windows read element by element from the (h, w, c) volume."""

from __future__ import annotations

import numpy as np
import pytest

from harness.core.ops import output_hw
from harness.core.windows import volume, window_slices, windows


@pytest.mark.parametrize(
    ("h", "w", "c", "k", "stride", "pad", "step"),
    [(4, 4, 1, 2, 2, 0, None), (7, 5, 3, 3, 2, 1, None), (6, 6, 2, 3, 1, 2, None), (7, 7, 2, 2, 2, 0, 1)],
)
def test_windows_read_the_volume_element_by_element(h, w, c, k, stride, pad, step):
    params = dict(h=h, w=w, c=c, k=k, stride=stride, pad=pad)
    n = 2
    x = np.random.default_rng(0).standard_normal((h * w * c, n))
    cube = x.reshape(h, w, c, n, order="F")  # the contract's Fortran (h, w, c) columns
    got = windows(x, params, step, pad_value=-7.0)
    h_out, w_out = output_hw(params)
    assert got.shape == (c, k, k, w_out, h_out, n)
    s = stride if step is None else step
    for oh in range(h_out):
        for ow in range(w_out):
            for dh in range(k):
                for dw in range(k):
                    r, q = oh * s + dh - pad, ow * s + dw - pad
                    inside = 0 <= r < h and 0 <= q < w
                    want = cube[r, q] if inside else np.full((c, n), -7.0)
                    np.testing.assert_array_equal(got[:, dw, dh, ow, oh], want)
    assert np.shares_memory(volume(x, h, w, c), x)
    assert len(list(window_slices(params, step))) == k * k
