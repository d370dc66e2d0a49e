"""resample_to: real geometry (flips, voxel size, origin), fills, interpolation, colour."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK
from scipy import ndimage

from brainfuse.grid import AIR_HU, coverage, resample_to
from brainfuse.model.image import ImageVolume

from .conftest import head_mask, load_volume, write_dicom_series, write_nifti


def _sample_with_scipy(volume: ImageVolume, affine: np.ndarray, shape: tuple) -> np.ndarray:
    """Trilinear samples of ``volume`` on another grid, by scipy (independent of SimpleITK)."""
    z, y, x = shape
    k, j, i = np.meshgrid(np.arange(z), np.arange(y), np.arange(x), indexing="ij")
    index = np.stack([i.ravel(), j.ravel(), k.ravel(), np.ones(i.size)])
    old = np.linalg.inv(volume.affine) @ affine @ index  # (i, j, k, 1) in volume
    values = ndimage.map_coordinates(volume.array, old[2::-1], order=1, cval=0.0)
    return values.reshape(shape).astype(np.float32)


def test_same_volume_two_files_different_affines_agree(demo_mri, tmp_path):
    """Acceptance 1: one head written twice with different affines lands on one grid.

    The "head" is the demo MRI smoothed by one voxel (so that trilinear sampling twice does
    not dominate the comparison). File A keeps its 1.5 mm LPS grid; file B is the same head
    sampled by scipy on a grid flipped in x and z (RPI), with 2.0 × 2.5 × 1.75 mm voxels and
    an origin shifted by a non-integer number of voxels.
    """
    a = demo_mri.with_array(ndimage.gaussian_filter(demo_mri.array.astype(np.float32), 1.0))
    z, y, x = a.shape
    spacing_b = np.array([2.0, 2.5, 1.75])
    direction_b = np.diag([-1.0, 1.0, -1.0])
    far_corner = a.affine @ np.array([x - 1, 0, z - 1, 1.0])
    origin_b = far_corner[:3] + np.array([-4.3, 3.1, -6.2])
    shape_b = (int(z * 1.5 / 1.75) - 4, int(y * 1.5 / 2.5), int(x * 1.5 / 2.0))
    affine_b = np.eye(4)
    affine_b[:3, :3] = direction_b * spacing_b
    affine_b[:3, 3] = origin_b
    b = a.with_array(
        _sample_with_scipy(a, affine_b, shape_b),
        spacing=tuple(spacing_b),
        origin=tuple(origin_b),
        direction=direction_b,
    )
    assert b.orientation == "RPI" and a.orientation == "LPS"
    file_a = write_nifti(tmp_path / "a.nii.gz", a)
    file_b = write_nifti(tmp_path / "b.nii.gz", b)

    loaded_a, loaded_b = load_volume(file_a), load_volume(file_b)
    for moving, reference in ((loaded_b, loaded_a), (loaded_a, loaded_b)):
        out = resample_to(moving, reference)
        assert out.shape == reference.shape
        np.testing.assert_allclose(out.affine, reference.affine, atol=1e-4)
        inside = head_mask(reference) & coverage_mask(moving, reference)
        assert inside.sum() > 0.2 * inside.size
        ref_values = reference.array[inside].astype(np.float32)
        r = np.corrcoef(out.array[inside], ref_values)[0, 1]
        assert r >= 0.99, r


def test_same_volume_as_nifti_and_oblique_dicom_series_agree(demo_mri, tmp_path):
    """Acceptance 1 with DICOM: the head as NIfTI (1.5 mm LPS) and as an MR DICOM series on a
    grid flipped in x and z and tilted 10° about x (2.0 × 2.5 × 1.75 mm, shifted origin)."""
    a = demo_mri.with_array(ndimage.gaussian_filter(demo_mri.array.astype(np.float32), 1.0))
    z, y, x = a.shape
    tilt = np.radians(10.0)
    tilt_x = np.array(
        [[1, 0, 0], [0, np.cos(tilt), -np.sin(tilt)], [0, np.sin(tilt), np.cos(tilt)]]
    )
    direction_b = tilt_x @ np.diag([-1.0, 1.0, -1.0])  # right-handed: z = x × y
    spacing_b = np.array([2.0, 2.5, 1.75])
    centre = a.affine @ np.array([(x - 1) / 2, (y - 1) / 2, (z - 1) / 2, 1.0])
    shape_b = (int(z * 1.5 / 1.75) - 6, int(y * 1.5 / 2.5), int(x * 1.5 / 2.0))
    half = spacing_b * (np.array(shape_b[::-1]) - 1) / 2
    origin_b = centre[:3] - direction_b @ half + np.array([2.2, -3.1, 4.4])
    affine_b = np.eye(4)
    affine_b[:3, :3] = direction_b * spacing_b
    affine_b[:3, 3] = origin_b
    b = a.with_array(
        _sample_with_scipy(a, affine_b, shape_b),
        spacing=tuple(spacing_b),
        origin=tuple(origin_b),
        direction=direction_b,
    )
    loaded_a = load_volume(write_nifti(tmp_path / "a.nii.gz", a))
    loaded_b = load_volume(write_dicom_series(tmp_path / "series_b", b))
    assert loaded_b.format == "DICOM" and loaded_b.shape[0] == shape_b[0]
    out = resample_to(loaded_b, loaded_a)
    inside = head_mask(loaded_a) & coverage_mask(loaded_b, loaded_a)
    assert inside.sum() > 0.2 * inside.size
    r = np.corrcoef(out.array[inside], loaded_a.array[inside].astype(np.float32))[0, 1]
    assert r >= 0.99, r


def coverage_mask(moving: ImageVolume, reference: ImageVolume) -> np.ndarray:
    ones = moving.with_array(np.ones(moving.shape, dtype=np.uint8))
    return resample_to(ones, reference, interpolation="nearest", fill=0).array.astype(bool)


def test_identity_onto_own_grid_is_exact(mri_3mm):
    out = resample_to(mri_3mm, mri_3mm)
    np.testing.assert_allclose(out.array, mri_3mm.array, atol=1e-4)


def test_flipped_direction_is_resolved_exactly():
    rng = np.random.default_rng(3)
    a = ImageVolume(rng.normal(size=(4, 5, 6)), spacing=(1.0, 2.0, 3.0), origin=(5.0, 6.0, 7.0))
    # The same voxels stored right-to-left: flip columns, negate x direction, move the origin.
    flipped = a.with_array(
        a.array[:, :, ::-1].copy(),
        origin=(5.0 + 5 * 1.0, 6.0, 7.0),
        direction=np.diag([-1.0, 1.0, 1.0]),
    )
    out = resample_to(flipped, a)
    np.testing.assert_allclose(out.array, a.array, atol=1e-6)


def test_ct_fill_is_air_and_mr_fill_is_zero():
    ct = ImageVolume(np.full((4, 4, 4), 40, dtype=np.int16), modality="CT", units="HU")
    mr = ImageVolume(np.full((4, 4, 4), 300.0), modality="MR")
    shifted_grid = ImageVolume(np.zeros((4, 4, 4)), origin=(2.0, 0.0, 0.0))
    ct_out = resample_to(ct, shifted_grid)
    mr_out = resample_to(mr, shifted_grid)
    assert ct_out.array.dtype == np.float32 and ct_out.units == "HU"
    np.testing.assert_array_equal(ct_out.array[..., :2], 40)
    np.testing.assert_array_equal(ct_out.array[..., 2:], AIR_HU)
    np.testing.assert_array_equal(mr_out.array[..., 2:], 0)
    assert resample_to(ct, shifted_grid, fill=-1024).array.min() == -1024


def test_nearest_keeps_labels_and_dtype():
    labels = np.zeros((6, 6, 6), dtype=np.uint8)
    labels[2:4, 2:4, 2:4] = 7
    vol = ImageVolume(labels, spacing=(2.0, 2.0, 2.0))
    fine = ImageVolume(np.zeros((12, 12, 12)), spacing=(1.0, 1.0, 1.0), origin=(-0.5,) * 3)
    out = resample_to(vol, fine, interpolation="nearest")
    assert out.array.dtype == np.uint8
    assert set(np.unique(out.array)) == {0, 7}
    linear = resample_to(vol, fine)
    assert len(np.unique(linear.array)) > 2  # linear blends: not for labels
    with pytest.raises(ValueError, match="interpolation"):
        resample_to(vol, fine, interpolation="cubic")


def test_known_translation_shifts_by_whole_voxels(mri_3mm):
    move = SimpleITK.TranslationTransform(3, (6.0, 0.0, 0.0))  # 2 voxels along +x (index axis = L)
    assert np.allclose(mri_3mm.direction, np.eye(3))
    out = resample_to(mri_3mm, mri_3mm, transform=move)
    np.testing.assert_allclose(out.array[:, :, :-2], mri_3mm.array[:, :, 2:], atol=1e-3)


def test_colour_stays_colour():
    rgb = np.random.default_rng(4).integers(0, 256, size=(3, 8, 8, 3), dtype=np.uint8)
    vol = ImageVolume(rgb, is_rgb=True, modality="PT")
    shifted = ImageVolume(np.zeros((3, 8, 8)), origin=(1.0, 0.0, 0.0))
    out = resample_to(vol, shifted)
    assert out.is_rgb and out.array.shape == (3, 8, 8, 3) and out.array.dtype == np.uint8
    np.testing.assert_array_equal(out.array[:, :, :-1], rgb[:, :, 1:])
    np.testing.assert_array_equal(out.array[:, :, -1], 0)


def test_coverage_fraction():
    vol = ImageVolume(np.zeros((10, 10, 10)))
    half = ImageVolume(np.zeros((10, 10, 10)), origin=(5.0, 0.0, 0.0))
    far = ImageVolume(np.zeros((10, 10, 10)), origin=(500.0, 0.0, 0.0))
    assert coverage(vol, vol) == 1.0
    assert coverage(vol, half) == pytest.approx(0.5)
    assert coverage(vol, far) == 0.0


def test_slab_by_slab_output_equals_one_piece_and_integer_input_is_not_cast(
    demo_ct, mri_3mm, monkeypatch
):
    from brainfuse.grid import resample as rs

    move = SimpleITK.Euler3DTransform((0.0, 0.0, 0.0), 0.05, -0.03, 0.1, (2.0, -1.0, 3.0))
    whole = resample_to(demo_ct, mri_3mm, transform=move)
    as_float = resample_to(
        demo_ct.with_array(demo_ct.array.astype(np.float32)), mri_3mm, transform=move
    )
    monkeypatch.setattr(rs, "_SLAB_VOXELS", 1000)  # about one row band per slab
    slabs = resample_to(demo_ct, mri_3mm, transform=move)
    assert demo_ct.array.dtype == np.int16 and whole.array.dtype == np.float32
    assert np.array_equal(slabs.array, whole.array)
    assert np.array_equal(as_float.array, whole.array)  # int16 in, same float32 out
    assert whole.array.min() < -900 and whole.array.max() > 500  # air and bone


def test_same_grid_returns_the_voxels_without_a_copy(demo_ct):
    same = resample_to(demo_ct, demo_ct)
    assert same.array is demo_ct.array and same.array.dtype == np.int16
    still = resample_to(demo_ct, demo_ct, transform=SimpleITK.Euler3DTransform())  # identity
    assert still.array is demo_ct.array
    moved = resample_to(demo_ct, demo_ct, transform=SimpleITK.TranslationTransform(3, (1.5, 0, 0)))
    assert moved.array.dtype == np.float32 and not np.array_equal(moved.array, demo_ct.array)
    shifted = demo_ct.with_array(
        demo_ct.array, origin=(demo_ct.origin[0] + 0.5, *demo_ct.origin[1:])
    )
    assert resample_to(demo_ct, shifted).array.dtype == np.float32  # half a voxel: resampled
