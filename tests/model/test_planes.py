"""Axial, coronal and sagittal views: geometry checked against the affine, and banding."""

from __future__ import annotations

import numpy as np
import pytest

from brainfuse.errors import BrainFuseError
from brainfuse.model.image import ImageVolume
from brainfuse.model.planes import (
    PLANES,
    banding,
    lps_to_plane,
    plane_shape,
    plane_slice,
    plane_to_lps,
    slice_at,
)


def _rotation(deg: float) -> np.ndarray:
    t = np.deg2rad(deg)
    return np.array([[np.cos(t), -np.sin(t), 0.0], [np.sin(t), np.cos(t), 0.0], [0.0, 0.0, 1.0]])


def _volume(direction=None, shape=(9, 13, 11)) -> ImageVolume:
    """Every voxel has its own value; anisotropic spacing, non-identity origin."""
    return ImageVolume(
        np.arange(np.prod(shape), dtype=np.int32).reshape(shape),
        spacing=(0.7, 0.9, 2.5),
        origin=(-50.3, 20.1, -33.0),
        direction=np.eye(3) if direction is None else direction,
        modality="CT",
        units="HU",
    )


@pytest.mark.parametrize(
    "direction",
    [np.eye(3), _rotation(7.0), np.diag([-1.0, 1.0, 1.0]), np.diag([1.0, -1.0, -1.0])],
    ids=["LPS", "LPS-oblique-7deg", "RPS", "LAI"],
)
def test_a_voxel_at_a_known_lps_position_is_under_the_crosshair_in_all_three_planes(direction):
    vol = _volume(direction)
    k, j, i = 6, 4, 8
    lps = vol.affine @ np.array([i, j, k, 1.0])  # the voxel's centre, from the affine alone
    normal_index = {"axial": k, "coronal": j, "sagittal": i}
    for plane in PLANES:
        view = plane_slice(vol, plane, lps[:3])
        index, row, col = lps_to_plane(vol, plane, lps[:3])
        assert view.index == normal_index[plane]
        assert view.image[round(row), round(col)] == vol.array[k, j, i]
        assert row == pytest.approx(round(row), abs=1e-9)
        assert col == pytest.approx(round(col), abs=1e-9)
        np.testing.assert_allclose(plane_to_lps(vol, plane, index, row, col), lps[:3], atol=1e-9)


def test_display_is_radiological_with_true_pixel_spacing():
    vol = _volume()
    z, y, x = vol.shape
    ax = slice_at(vol, "axial", 3)
    cor = slice_at(vol, "coronal", 5)
    sag = slice_at(vol, "sagittal", 2)
    np.testing.assert_array_equal(ax.image, vol.array[3])
    np.testing.assert_array_equal(cor.image, vol.array[::-1, 5, :])
    np.testing.assert_array_equal(sag.image, vol.array[::-1, :, 2])
    assert ax.letters == {"top": "A", "bottom": "P", "left": "R", "right": "L"}
    assert cor.letters == {"top": "S", "bottom": "I", "left": "R", "right": "L"}
    assert sag.letters == {"top": "S", "bottom": "I", "left": "A", "right": "P"}
    assert ax.pixel_spacing == (0.9, 0.7)
    assert cor.pixel_spacing == (2.5, 0.7)
    assert sag.pixel_spacing == (2.5, 0.9)
    assert plane_shape(vol, "sagittal") == (x, z, y)
    # The top row of a coronal view is the most superior one (LPS +z), its left column the
    # patient's right (LPS -x).
    top = plane_to_lps(vol, "coronal", 5, 0, 0)
    bottom_right = plane_to_lps(vol, "coronal", 5, z - 1, x - 1)
    assert top[2] > bottom_right[2] and top[0] < bottom_right[0]


def test_a_right_to_left_volume_is_mirrored_to_radiological_display():
    vol = _volume(np.diag([-1.0, 1.0, 1.0]))  # +x points to the patient's right
    ax = slice_at(vol, "axial", 0)
    np.testing.assert_array_equal(ax.image, vol.array[0, :, ::-1])
    assert ax.letters["left"] == "R"


def test_crosshair_outside_the_volume_is_clamped_and_unknown_plane_refused():
    vol = _volume()
    far = vol.affine @ np.array([0, 0, 100.0, 1.0])
    assert plane_slice(vol, "axial", far[:3]).index == vol.shape[0] - 1
    with pytest.raises(BrainFuseError, match="Unknown plane"):
        slice_at(vol, "oblique", 0)


def test_colour_volume_keeps_its_channels():
    rgb = ImageVolume(np.zeros((4, 5, 6, 3), np.uint8), is_rgb=True)
    assert slice_at(rgb, "sagittal", 1).image.shape == (4, 5, 3)


def test_banding_is_high_for_slice_by_slice_decisions_and_about_one_for_a_3d_map():
    rng = np.random.default_rng(1)
    z, y, x = 40, 48, 48
    kk, jj, ii = np.mgrid[0:z, 0:y, 0:x]
    ball = ((kk - 20) ** 2 + (jj - 24) ** 2 + (ii - 24) ** 2 < 15**2).astype(np.uint8)
    smooth = banding(ball)
    assert smooth["ratio"] == pytest.approx(1.0, abs=0.05)
    banded = ball.copy()
    flip = rng.random(z) < 0.5  # each slice decided on its own: half of them inverted
    banded[flip] = 1 - banded[flip]
    bands = banding(ImageVolume(banded, spacing=(1.0, 1.0, 1.0)))
    assert bands["ratio"] > 5
    assert bands["sagittal_rows"] > smooth["sagittal_rows"]
    masked = banding(banded, mask=ball.astype(bool))
    assert masked["axial_rows"] < bands["axial_rows"]
