"""Canonical LPS reorientation: permutations/flips only, positions preserved."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from brainfuse.io import to_canonical_lps
from brainfuse.model.image import ImageVolume


@pytest.mark.parametrize(
    ("perm", "signs"),
    list(
        itertools.product(itertools.permutations(range(3)), [(1, 1, 1), (-1, 1, -1), (1, -1, -1)])
    ),
)
def test_any_axis_order_becomes_lps_with_positions_kept(perm, signs):
    direction = np.zeros((3, 3))
    for col, (axis, sign) in enumerate(zip(perm, signs, strict=True)):
        direction[axis, col] = sign
    rng = np.random.default_rng(0)
    array = rng.normal(size=(3, 4, 5)).astype(np.float32)  # (z, y, x)
    vol = ImageVolume(array, spacing=(0.5, 0.7, 2.0), origin=(10, -5, 3), direction=direction)
    out = to_canonical_lps(vol)
    assert out.orientation == "LPS"
    np.testing.assert_allclose(out.direction, np.eye(3), atol=1e-12)
    assert sorted(out.spacing) == sorted(vol.spacing)
    # Each voxel value sits at the same patient position before and after.
    for k, j, i in [(0, 0, 0), (2, 3, 4), (1, 2, 3)]:
        pos = vol.affine @ np.array([i, j, k, 1.0])
        ijk = np.linalg.solve(out.affine, pos)
        ii, jj, kk = np.round(ijk[:3]).astype(int)
        assert out.array[kk, jj, ii] == array[k, j, i]
    assert vol.array is array  # input untouched


def test_single_slice_and_rgb():
    flat = ImageVolume(np.zeros((1, 3, 3)), direction=np.diag([-1.0, 1.0, -1.0]))
    assert to_canonical_lps(flat) is flat
    rgb = ImageVolume(
        np.arange(2 * 3 * 4 * 3, dtype=np.uint8).reshape(2, 3, 4, 3),
        is_rgb=True,
        direction=np.diag([-1.0, 1.0, 1.0]),
    )
    out = to_canonical_lps(rgb)
    np.testing.assert_array_equal(out.array, rgb.array[:, :, ::-1, :])
