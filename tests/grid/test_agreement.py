"""The geometry alignment is checked against a coarse registration: 37 mm apart warns."""

from __future__ import annotations

import numpy as np
import pytest

from brainfuse.grid import align_pair, resample_to
from brainfuse.grid.agreement import MAX_SHIFT_MM, check_agreement
from brainfuse.model.alignment import alignment_report, report_text
from brainfuse.model.image import ImageVolume

from .conftest import isotropic_grid


@pytest.fixture(scope="module")
def pair_3mm(demo_volumes):
    ct, mri = demo_volumes
    grid = isotropic_grid(mri, 3.0)
    return resample_to(ct, grid), resample_to(mri, grid)


def test_a_pair_in_place_agrees(pair_3mm):
    ct, mri = pair_3mm
    pair = align_pair(ct, mri)
    assert pair.agreement is not None and not pair.agreement.disagrees
    assert pair.agreement.offset_mm < MAX_SHIFT_MM and pair.warnings == []
    text = report_text(alignment_report(pair))
    assert "heads agree within" in text and "field of view shared" in text


def test_a_pair_37_mm_apart_by_file_geometry_warns(pair_3mm):
    ct, mri = pair_3mm
    # The CT's file says it lies 37 mm further left than it does: same field of view
    # mostly shared, the heads 37 mm apart once placed by geometry.
    moved = ct.with_array(ct.array, origin=(ct.origin[0] + 37.0, ct.origin[1], ct.origin[2]))
    pair = align_pair(moved, mri)
    assert pair.mode == "geometry" and pair.coverage > 0.5
    a = pair.agreement
    assert a is not None and a.disagrees
    assert a.offset_mm == pytest.approx(37.0, abs=4.0)
    assert abs(a.shift_mm[0]) == pytest.approx(37.0, abs=4.0)  # along L, as moved
    (warning,) = pair.warnings
    assert "do not agree by file geometry" in warning and "--register rigid" in warning
    assert f"{a.offset_mm:.1f} mm" in warning
    assert "apart" in report_text(alignment_report(pair))


def test_no_claim_for_single_slices(pair_3mm):
    ct, mri = pair_3mm
    one = ct.with_array(ct.array[10:11])
    assert check_agreement(one, mri) is None


def test_block_average_keeps_the_geometry_and_no_whole_float_copy():
    """The working copy of a large volume is averaged slab by slab: a cube's centre stays put in
    mm, and the copy is the small one (float32 of the coarse grid), not a float copy of all."""
    from brainfuse.grid.agreement import block_average

    array = np.zeros((60, 128, 128), np.int16)
    array[20:40, 30:70, 50:90] = 1000
    volume = ImageVolume(
        array, spacing=(0.5, 0.5, 1.0), origin=(-30.0, -40.0, 10.0), modality="CT", units="HU"
    )
    coarse = block_average(volume, 20**3)
    assert coarse.array.dtype == np.float32 and coarse.array.size <= 2 * 20**3
    assert coarse.array.size < array.size / 20

    def centre_mm(v):
        k, j, i = np.argwhere(v.array > 500).mean(axis=0)
        return (v.affine @ np.array([i, j, k, 1.0]))[:3]

    step = max(coarse.spacing)
    np.testing.assert_allclose(centre_mm(coarse), centre_mm(volume), atol=step / 2)
    assert block_average(coarse, 20**3) is coarse  # small enough already: unchanged


def test_block_average_is_the_mean_of_each_block():
    """Each coarse voxel is the mean of its block (float32 rounding), whatever the factors."""
    from brainfuse.grid.agreement import block_average

    rng = np.random.default_rng(5)
    arr = rng.integers(-1000, 2000, (30, 52, 45)).astype(np.int16)
    vol = ImageVolume(arr, spacing=(0.5, 0.7, 1.5))
    coarse = block_average(vol, 6**3)
    fx, fy, fz = (round(c / s) for c, s in zip(coarse.spacing, vol.spacing, strict=True))
    assert (fx, fy, fz) != (1, 1, 1)
    nz, ny, nx = coarse.shape
    blocks = arr[: nz * fz, : ny * fy, : nx * fx].astype(np.float64)
    expected = blocks.reshape(nz, fz, ny, fy, nx, fx).mean(axis=(1, 3, 5))
    np.testing.assert_allclose(coarse.array, expected, rtol=1e-6, atol=1e-3)
