"""Decision-map clean-up: disk morphology, small regions, guided filter."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from brainfuse.fusion import decision


def test_distance_morphology_equals_disk_morphology():
    rng = np.random.default_rng(0)
    m = ndimage.gaussian_filter(rng.random((80, 90)), 3) > 0.5
    for r in (1, 3, 5):
        disk = decision._disk(r)
        p = np.pad(m, 2 * r)
        assert np.array_equal(decision._erode(p, r), ndimage.binary_erosion(p, disk))
        assert np.array_equal(decision._dilate(p, r), ndimage.binary_dilation(p, disk))


def test_disk_morphology_at_the_slice_border():
    """Outside the slice counts as foreground for erosion, as background for dilation."""
    rng = np.random.default_rng(1)
    m = ndimage.gaussian_filter(rng.random((50, 61)), 2) > 0.45
    for r in (2, 5):
        disk = decision._disk(r)
        assert np.array_equal(
            decision._erode(m, r), ndimage.binary_erosion(m, disk, border_value=1)
        )
        assert np.array_equal(decision._dilate(m, r), ndimage.binary_dilation(m, disk))


def test_consistency_verification_removes_specks_and_fills_holes():
    dm = np.zeros((128, 128), np.uint8)
    dm[:, :64] = 1
    dm[100:102, 100:102] = 1  # speck on the 0 side
    dm[20:22, 20:22] = 0  # hole on the 1 side
    out = decision.consistency_verification(dm, radius=3, min_area=0.01)
    expected = np.zeros_like(dm)
    expected[:, :64] = 1
    assert np.array_equal(out, expected)


def test_radius_scales_with_slice_size():
    assert decision.scaled_radius(5, (256, 256)) == 5
    assert decision.scaled_radius(5, (512, 512)) == 10
    assert decision.scaled_radius(5, (2, 64, 64)) == 1


def test_guided_filter_softens_only_near_the_border():
    dm = np.zeros((64, 64), np.float32)
    dm[:, 32:] = 1
    guide = np.full((64, 64), 0.5, np.float32) + 0.01 * np.arange(64)[None, :]
    soft = decision.guided_filter(guide, dm, r=2, eps=1e-3)
    assert np.allclose(soft[:, :25], 0, atol=1e-3) and np.allclose(soft[:, 40:], 1, atol=1e-3)
    assert 0.2 < soft[10, 32] < 0.8 or 0.2 < soft[10, 31] < 0.8
