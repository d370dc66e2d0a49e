"""The bone prior grown from cortical density (brainfuse.model.bone)."""

from __future__ import annotations

import numpy as np

from brainfuse.model.bone import bone_prior


def _slice() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y, x = np.mgrid[0:64, 0:64]
    r = np.hypot(y - 31.5, x - 31.5)
    ring = (r >= 24) & (r < 28)
    spot = r < 5
    ct = np.zeros((64, 64))
    ct[ring] = 255.0
    ct[(r >= 22) & (r < 24)] = 210.0  # the inner table's partial volume, touching the ring
    ct[spot] = 230.0  # bright parenchyma, apart from the ring
    return ct, ring | ((r >= 22) & (r < 24)), spot


def test_bone_grows_from_saturated_pixels_and_leaves_bright_islands_out():
    ct, bone, spot = _slice()
    got = bone_prior(ct, "8-bit")
    assert np.array_equal(got, bone) and not got[spot].any()


def test_each_slice_of_a_stack_on_its_own():
    ct, bone, spot = _slice()
    island = np.where(spot, 255.0, 0.0)  # saturated in slice 1 only, under slice 0's spot
    stack = np.stack([ct, island])
    got = bone_prior(stack, "8-bit")
    assert np.array_equal(got[0], bone)  # not grown through slice 1's saturated spot
    assert np.array_equal(got[1], spot)
    assert np.array_equal(got[0], bone_prior(ct, "8-bit"))


def test_hounsfield_cortical_seed_and_a_smoothed_skull():
    _, bone, spot = _slice()
    hu = np.where(bone, 1200.0, 30.0)
    hu[spot] = 450.0  # a calcification below cortical density, alone
    assert np.array_equal(bone_prior(hu, "hu"), bone)
    # a smoothed template whose skull peaks at 550 HU: nothing to grow from, the threshold
    smooth = np.where(bone, 550.0, 30.0)
    smooth[spot] = 320.0
    assert np.array_equal(bone_prior(smooth, "hu"), bone | spot)
    assert np.array_equal(bone_prior(np.stack([hu, smooth]), "hu"), np.stack([bone, bone | spot]))


def test_which_source_has_no_data():
    from brainfuse.model.bone import CT_NO_DATA, MRI_NO_DATA, source_no_data

    ct = np.full((2, 32, 32), -1000.0)  # air, as the CT's fill writes it
    ct[:, 4:28, 4:28] = 40.0  # tissue
    mri = np.zeros((2, 32, 32))
    mri[:, 8:24, 8:24] = 300.0  # the MRI shows only the middle (a slab, a stripped brain)
    mri[:, 14:16, 14:16] = 0.0  # a pixel as dark as its floor, enclosed by what it shows
    codes = source_no_data(ct, "hu", mri, 0.0)
    assert codes.dtype == np.uint8
    assert (codes[:, :4] == CT_NO_DATA).all()  # air around: the CT has none there
    ring = np.zeros((32, 32), bool)
    ring[4:28, 4:28] = True
    ring[8:24, 8:24] = False
    assert (codes[:, ring] == MRI_NO_DATA).all()  # tissue the MRI does not show
    assert not codes[:, 8:24, 8:24].any()  # the enclosed dark pixel is the MRI's own
    assert not source_no_data(np.full((32, 32), 120.0), "8-bit", mri[0], 0.0).any()
