"""ImageVolume <-> SimpleITK: voxels and LPS geometry survive, index→mm maps agree."""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from brainfuse.grid import from_sitk, to_sitk, to_sitk_2d
from brainfuse.model.image import ImageVolume


def _oblique_volume(rng: np.random.Generator) -> ImageVolume:
    direction = Rotation.from_euler("xyz", [12, -7, 25], degrees=True).as_matrix()
    return ImageVolume(
        rng.normal(size=(5, 6, 7)).astype(np.float32),
        spacing=(0.7, 0.9, 2.5),
        origin=(-90.0, 112.5, -40.0),
        direction=direction,
        modality="MR",
        description="oblique",
    )


def test_geometry_and_voxels_round_trip():
    volume = _oblique_volume(np.random.default_rng(0))
    image = to_sitk(volume)
    assert image.GetSize() == (7, 6, 5)
    back = from_sitk(image, like=volume)
    np.testing.assert_array_equal(back.array, volume.array)
    np.testing.assert_allclose(back.affine, volume.affine, atol=1e-12)
    assert back.modality == "MR" and back.description == "oblique"


def test_index_to_mm_matches_affine():
    volume = _oblique_volume(np.random.default_rng(1))
    image = to_sitk(volume)
    for index in [(0, 0, 0), (6, 0, 0), (3, 5, 4), (6, 5, 4)]:
        expected = volume.affine @ np.array([*index, 1.0])
        got = image.TransformIndexToPhysicalPoint(index)
        np.testing.assert_allclose(got, expected[:3], atol=1e-9)
        # and the voxel at that index is the array's (k, j, i)
        i, j, k = index
        assert image[index] == volume.array[k, j, i]


def test_colour_volume_becomes_vector_image():
    rgb = np.random.default_rng(2).integers(0, 256, size=(1, 4, 5, 3), dtype=np.uint8)
    volume = ImageVolume(rgb, is_rgb=True, has_geometry=False)
    image = to_sitk(volume)
    assert image.GetNumberOfComponentsPerPixel() == 3
    back = from_sitk(image, like=volume)
    assert back.is_rgb
    np.testing.assert_array_equal(back.array, rgb)


def test_single_slice_in_plane_round_trip():
    direction = Rotation.from_euler("x", 20, degrees=True).as_matrix()
    volume = ImageVolume(
        np.arange(12, dtype=np.float32).reshape(1, 3, 4),
        spacing=(0.5, 0.8, 3.0),
        origin=(10.0, -20.0, 35.0),
        direction=direction,
    )
    image = to_sitk_2d(volume)
    assert image.GetDimension() == 2 and image.GetSize() == (4, 3)
    back = from_sitk(image, like=volume)
    np.testing.assert_array_equal(back.array, volume.array)
    np.testing.assert_allclose(back.affine, volume.affine, atol=1e-9)
