"""align_pair: one grid for CT and MRI, CT in HU with air fill, and honest refusals."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import SimpleITK

from brainfuse.errors import CancelledError, GeometryMismatchError
from brainfuse.grid import AIR_HU, align_pair, resample_to, rigid_difference
from brainfuse.model.alignment import alignment_report, report_text
from brainfuse.model.image import ImageVolume, SourceIdentity

from .conftest import isotropic_grid, known_move


@pytest.fixture(scope="module")
def ct_4mm(demo_ct) -> ImageVolume:
    """The demo CT on a coarser 4 mm grid shifted by half a field: a different scanner grid."""
    grid = isotropic_grid(demo_ct, 4.0)
    grid = grid.with_array(grid.array, origin=tuple(np.add(grid.origin, [0.0, 0.0, 30.0])))
    return resample_to(demo_ct, grid)


def test_geometry_puts_ct_on_the_mri_grid(ct_4mm, mri_3mm):
    pair = align_pair(ct_4mm, mri_3mm, reference="mri")
    assert pair.mode == "geometry" and pair.reference == "mri"
    assert pair.mri is mri_3mm or np.array_equal(pair.mri.array, mri_3mm.array)
    assert pair.ct.shape == mri_3mm.shape
    np.testing.assert_allclose(pair.ct.affine, mri_3mm.affine)
    assert pair.ct.units == "HU" and pair.ct.modality == "CT"
    # The CT grid was shifted 30 mm up: the bottom MRI slices lie outside it and read air.
    assert 0.5 < pair.coverage < 0.95
    assert np.all(pair.ct.array[0] == AIR_HU)
    # Inside, the CT has skull (bone) and brain values, not fill.
    middle = pair.ct.array[pair.ct.shape[0] // 2]
    assert middle.max() > 300 and np.any(np.abs(middle - 30) < 20)


def test_different_frames_of_reference_are_said_not_warned(ct_4mm, mri_3mm):
    """Two sessions of one patient have two frames of reference: normal, said in the
    alignment line; whether the positions agree is the agreement check's to say."""
    ct = ct_4mm.with_array(ct_4mm.array, source=SourceIdentity(frame_of_reference_uid="1.2.3"))
    mri = mri_3mm.with_array(mri_3mm.array, source=SourceIdentity(frame_of_reference_uid="1.2.4"))
    pair = align_pair(ct, mri)
    assert pair.frames == "different" and pair.warnings == []
    assert "different frames of reference" in report_text(alignment_report(pair))
    same = mri.with_array(mri.array, source=SourceIdentity(frame_of_reference_uid="1.2.3"))
    pair = align_pair(ct, same)
    assert pair.frames == "same" and "frames" not in report_text(alignment_report(pair))


def test_reference_ct_keeps_the_ct_grid(ct_4mm, mri_3mm):
    pair = align_pair(ct_4mm, mri_3mm, reference="ct")
    assert pair.reference == "ct"
    np.testing.assert_array_equal(pair.ct.array, ct_4mm.array)
    assert pair.mri.shape == ct_4mm.shape
    np.testing.assert_allclose(pair.mri.affine, ct_4mm.affine)
    assert pair.mri.array.min() >= 0  # MR fill is 0, never −1000


def test_rigid_recovers_a_moved_ct(demo_ct, mri_3mm):
    """CT moved by 8 mm / 6°, registered to the MRI (another modality, template pair)."""
    ct3 = resample_to(demo_ct, mri_3mm)
    move = known_move(mri_3mm)
    moved_ct = resample_to(ct3, mri_3mm, transform=move)
    seen: list[float] = []
    pair = align_pair(moved_ct, mri_3mm, register="rigid", reference="mri", progress=seen.append)
    assert pair.mode == "rigid" and pair.metric_value < 0 and seen[-1] == 1.0
    z, y, x = mri_3mm.shape
    centre = (mri_3mm.affine @ np.array([(x - 1) / 2, (y - 1) / 2, (z - 1) / 2, 1.0]))[:3]
    angle, shift = rigid_difference(pair.transform, move.GetInverse(), centre)
    # The demo CT and MRI are templates of different people, aligned to a few mm only.
    assert angle < 2.0 and shift < 2.0, (angle, shift)
    # Against the registration of the unmoved CT, the move is recovered to within 1 mm
    # everywhere in a 60 mm radius around the centre (the template offset cancels out).
    still = align_pair(ct3, mri_3mm, register="rigid", reference="mri").transform
    inverse = move.GetInverse()
    for d in [(0, 0, 0), (1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1)]:
        p = tuple(centre + 60.0 * np.array(d))
        expected = inverse.TransformPoint(still.TransformPoint(p))
        gap = np.linalg.norm(np.subtract(pair.transform.TransformPoint(p), expected))
        assert gap <= 1.0, (d, gap)


def test_none_with_different_sizes_names_both_and_suggests_register(ct_4mm, mri_3mm):
    with pytest.raises(GeometryMismatchError) as info:
        align_pair(ct_4mm, mri_3mm, register="none")
    message = str(info.value)
    z, y, x = ct_4mm.shape
    assert f"{x}×{y}×{z}" in message and "--register" in message


def test_plain_png_with_a_scan_is_refused(mri_3mm):
    k = mri_3mm.shape[0] // 2
    png = ImageVolume(
        mri_3mm.array[k : k + 1].astype(np.uint8), has_geometry=False, path="slice.png"
    )
    for mode in ("auto", "geometry", "rigid", "none"):
        with pytest.raises(GeometryMismatchError, match=r"slice\.png.*plain image"):
            align_pair(png, mri_3mm, register=mode)


def test_plain_image_with_a_same_size_slice_and_none_is_paired(mri_3mm):
    k = mri_3mm.shape[0] // 2
    slice_ = mri_3mm.with_array(mri_3mm.array[k : k + 1])
    png = ImageVolume(np.full(slice_.shape, 9, dtype=np.uint8), has_geometry=False)
    pair = align_pair(png, slice_, register="none")
    np.testing.assert_array_equal(pair.ct.array, png.array)
    np.testing.assert_allclose(pair.ct.affine, slice_.affine)


def test_non_overlapping_fields_of_view_are_refused(ct_4mm, mri_3mm):
    far = ct_4mm.with_array(ct_4mm.array, origin=tuple(np.add(ct_4mm.origin, [0, 0, 900.0])))
    with pytest.raises(GeometryMismatchError, match=r"do not overlap.*--register rigid"):
        align_pair(far, mri_3mm)
    # Rigid registration starts from the centred images as well, so it can still align them.
    pair = align_pair(far, mri_3mm, register="rigid")
    assert pair.coverage > 0.5 and pair.transform.GetTranslation()[2] > 800


@pytest.mark.parametrize("spacing", [(0.0, 1.0, 1.0), (1.0, -2.0, 1.0), (1.0, 1.0, np.nan)])
def test_broken_spacing_is_refused(mri_3mm, spacing):
    bad = mri_3mm.with_array(mri_3mm.array, spacing=spacing, path="broken.nii")
    with pytest.raises(GeometryMismatchError, match=r"broken\.nii.*spacing"):
        align_pair(bad, mri_3mm)


def test_rgb_same_size_plain_images_pass_through_unchanged():
    rng = np.random.default_rng(5)
    spect = ImageVolume(
        rng.integers(0, 256, (1, 32, 32, 3), dtype=np.uint8), is_rgb=True, has_geometry=False
    )
    mri = ImageVolume(rng.integers(0, 256, (1, 32, 32), dtype=np.uint8), has_geometry=False)
    pair = align_pair(spect, mri)
    assert pair.mode == "none" and pair.ct.is_rgb
    np.testing.assert_array_equal(pair.ct.array, spect.array)
    np.testing.assert_array_equal(pair.mri.array, mri.array)


def test_different_size_plain_images_need_registration(mri_3mm):
    k = mri_3mm.shape[0] // 2
    big = ImageVolume(mri_3mm.array[k : k + 1].astype(np.float32), has_geometry=False)
    small = ImageVolume(big.array[:, 5:-5, 4:-4], has_geometry=False)
    with pytest.raises(GeometryMismatchError, match="different sizes"):
        align_pair(small, big)
    pair = align_pair(small, big, register="rigid")
    assert pair.ct.shape == big.shape
    # The crop is found back where it came from: its pixels match the original's.
    inner = pair.ct.array[0, 6:-6, 5:-5]
    np.testing.assert_allclose(inner, big.array[0, 6:-6, 5:-5], atol=0.05 * big.array.max())


def test_cancel_is_passed_to_registration(ct_4mm, mri_3mm):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(CancelledError):
        align_pair(ct_4mm, mri_3mm, register="rigid", cancel=cancel)


def test_bad_arguments():
    vol = ImageVolume(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="register"):
        align_pair(vol, vol, register="affine")
    with pytest.raises(ValueError, match="reference"):
        align_pair(vol, vol, reference="pet")


def test_identity_transform_for_geometry(ct_4mm, mri_3mm):
    pair = align_pair(ct_4mm, mri_3mm, register="geometry")
    point = (1.0, 2.0, 3.0)
    assert pair.transform.TransformPoint(point) == pytest.approx(point)
    assert isinstance(pair.transform, SimpleITK.Transform)
