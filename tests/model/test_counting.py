"""Percentiles by counting: equal to NumPy's, bit for bit, on 8- and 16-bit volumes."""

from __future__ import annotations

import numpy as np
import pytest

from brainfuse.model.counting import above_minimum_percentiles, countable
from brainfuse.model.intensity import MR_PERCENTILES, mr_auto_window


def _numpy(a: np.ndarray, percents) -> np.ndarray:
    fg = a[a > a.min()]
    return np.percentile(fg if fg.size else a, percents)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.int8])
def test_counted_percentiles_equal_numpy_bit_for_bit(dtype):
    rng = np.random.default_rng(7)
    info = np.iinfo(dtype)
    for trial in range(300):
        shape = (int(rng.integers(1, 5)), int(rng.integers(1, 30)), int(rng.integers(1, 30)))
        lo = max(int(info.min), -1200)
        hi = min(int(info.max), 4095)
        a = rng.integers(lo, hi, size=shape, endpoint=True).astype(dtype)
        if trial % 4 == 0:  # a large background at the minimum, as in a scan
            a[a < np.percentile(a, 60)] = a.min()
        if trial % 50 == 1:  # a constant volume
            a[:] = a.flat[0]
        for percents in (MR_PERCENTILES, (0.0, 100.0), (1.0, 50.0, 99.0), (37.3,)):
            want = _numpy(a, percents)
            got = above_minimum_percentiles(a, percents)
            assert got.dtype == want.dtype and np.array_equal(got, want), (a, percents)


def test_a_real_mri_gets_the_same_window():
    from brainfuse.io import demo_pair

    mri = demo_pair()[1].array
    assert countable(mri) and mri.dtype == np.uint8
    window = mr_auto_window(mri)
    lo, hi = _numpy(mri, MR_PERCENTILES)
    assert (window.center, window.width) == ((lo + hi) / 2.0, float(hi - lo))
    as16 = mri.astype(np.int16) * 16  # a 12-bit scanner's values
    assert np.array_equal(
        above_minimum_percentiles(as16, MR_PERCENTILES), _numpy(as16, MR_PERCENTILES)
    )


def test_floats_and_wide_integers_are_not_counted():
    assert not countable(np.zeros(3, np.float32))
    assert not countable(np.zeros(3, np.int32))
    assert not countable(np.zeros(0, np.uint8))
