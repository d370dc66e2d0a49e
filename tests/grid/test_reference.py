"""The result's grid: the finer in-plane (the CT's on a tie), both fields of view kept."""

from __future__ import annotations

import numpy as np

from brainfuse.grid import AIR_HU, align_pair, resample_to
from brainfuse.grid.reference import choose_reference, covering_grid, in_plane_pixel
from brainfuse.model.bone import no_data
from brainfuse.model.image import ImageVolume

from .conftest import isotropic_grid


def _grid(volume: ImageVolume, xy: float, z: float) -> ImageVolume:
    n = np.ceil(np.array(volume.shape) * np.array(volume.spacing[::-1]) / [z, xy, xy])
    return volume.with_array(
        np.zeros(tuple(int(v) for v in n), np.uint8), spacing=(xy, xy, z), is_rgb=False
    )


def test_the_finer_in_plane_grid_is_chosen_the_ct_on_a_tie(demo_ct, mri_3mm):
    fine_ct = _grid(demo_ct, 0.5, 5.0)
    coarse_ct = _grid(demo_ct, 4.0, 1.0)  # thin slices do not make it finer in-plane
    mri = _grid(mri_3mm, 1.0, 1.0)
    assert in_plane_pixel(fine_ct) == 0.5
    assert choose_reference(fine_ct, mri, "auto") == "ct"
    assert choose_reference(coarse_ct, mri, "auto") == "mri"
    assert choose_reference(_grid(demo_ct, 1.005, 3.0), mri, "auto") == "ct"  # a tie
    assert choose_reference(fine_ct, mri, "mri") == "mri"  # asked for: kept


def test_auto_keeps_both_fields_of_view(demo_ct, mri_3mm):
    """A 2 mm CT cut 30 mm above the 3 mm MRI's lowest slice: the CT's finer grid, grown
    down to the MRI's field of view; the CT is air there, marked as no data."""
    ct = resample_to(demo_ct, isotropic_grid(demo_ct, 2.0))
    cut = round(30.0 / 2.0)
    ct = ct.with_array(
        np.ascontiguousarray(ct.array[cut:]),
        origin=tuple(np.add(ct.origin, [0.0, 0.0, 2.0 * cut])),
    )
    pair = align_pair(ct, mri_3mm)  # auto
    assert pair.reference == "ct"
    assert pair.ct.spacing == ct.spacing and pair.mri.spacing == ct.spacing
    assert pair.ct.shape[0] > ct.shape[0]  # grown along z to the MRI's lowest slices
    grid = covering_grid(ct, mri_3mm)
    assert grid is not None and grid.shape == pair.ct.shape
    low = pair.ct.shape[0] - ct.shape[0]  # slices added below the CT's own
    assert np.all(pair.ct.array[: low - 1] == AIR_HU)
    assert no_data(pair.ct.array[: low - 1], "hu").all()
    np.testing.assert_allclose(pair.ct.array[low:], ct.array, atol=1e-3)  # the CT as it was
    assert pair.mri.array[: low - 1].max() > 0  # the MRI's head kept where the CT has none
    on_ct = align_pair(ct, mri_3mm, reference="ct")  # asked for: the CT's grid as it is
    assert on_ct.ct.shape == ct.shape
