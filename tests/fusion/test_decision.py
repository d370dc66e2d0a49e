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


def test_disk_morphology_of_a_disk_wider_than_the_slice():
    """A radius past the slice's height or width: rows and columns outside are foreground."""
    rng = np.random.default_rng(2)
    for shape, r in (((5, 3), 4), ((3, 40), 10), ((40, 3), 10), ((12, 9), 10)):
        m = rng.random(shape) > 0.15
        disk = decision._disk(r)
        assert np.array_equal(
            decision._erode(m, r), ndimage.binary_erosion(m, disk, border_value=1)
        ), (shape, r)
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


def test_detail_blend_keeps_edges_and_mixes_flat_areas():
    """Left: image 1 chosen and textured -> weight stays ~1. Right: image 2 chosen but flat
    and at a different level from image 1 -> up to beta/2 of image 1 is mixed in."""
    rng = np.random.default_rng(3)
    i1 = rng.random((64, 96)).astype(np.float32)  # strong pixel-scale texture
    i1[:, 48:] = 0.9
    i2 = np.full((64, 96), 0.1, np.float32)
    dm = np.zeros((64, 96), np.uint8)
    dm[:, :48] = 1
    w = decision.detail_blend(dm, i1, i2, beta=0.6)
    assert w.dtype == np.float32 and w.shape == dm.shape
    assert w.min() >= 0.0 and w.max() <= 1.0
    assert w[:, 4:40].mean() > 0.97  # chosen image textured: the hard map is kept
    right = w[:, 60:]
    assert 0.2 < right.mean() <= 0.3 + 1e-6  # flat chosen image, levels differ: ~beta/2
    assert np.array_equal(decision.detail_blend(dm, i1, i2, beta=0.0), dm.astype(np.float32))


def test_detail_blend_handles_odd_sizes():
    rng = np.random.default_rng(4)
    i1, i2 = rng.random((2, 37, 51)).astype(np.float32)
    dm = (i1 > i2).astype(np.uint8)
    w = decision.detail_blend(dm, i1, i2)
    assert w.shape == (37, 51) and np.all((w >= 0) & (w <= 1))


def test_edge_energy_matches_the_torch_version():
    import torch

    from brainfuse.fusion.activity import gradient_energy

    x = np.random.default_rng(5).random((20, 30)).astype(np.float32)
    ref = gradient_energy(torch.from_numpy(x)[None, None])[0].numpy()
    assert np.allclose(decision.edge_energy(x), ref, atol=1e-6)
