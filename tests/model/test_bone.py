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
