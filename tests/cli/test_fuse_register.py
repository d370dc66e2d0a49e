"""``brainfuse fuse CT_SERIES MRI.nii.gz -o out.nii.gz --register rigid`` end to end.

The CT is a DICOM series written here with pydicom from the shipped demo CT, on its own grid
(3.5 mm pixels, 4 mm slices) and moved by a known rigid transform; the MRI is the demo MRI
written as NIfTI on a 4 mm grid. The output must lie on the MRI's grid (shape and affine).
"""

from __future__ import annotations

import math

import nibabel as nib
import numpy as np
import pytest
import SimpleITK

from brainfuse.cli import main
from brainfuse.grid import align_pair, load_transform, resample_to, rigid_difference
from brainfuse.io import demo_pair, load
from brainfuse.model.alignment import rigid_parameters, rotation_words, shift_words
from brainfuse.model.image import ImageVolume
from tests.dicom_factory import write_volume_series

RAS_TO_LPS = np.diag([-1.0, -1.0, 1.0, 1.0])


def _grid(like: ImageVolume, spacing: tuple[float, float, float], shift_mm) -> ImageVolume:
    z, y, x = like.shape
    extent = np.array([x, y, z]) * np.asarray(like.spacing)
    size = np.maximum(1, np.round(extent / np.asarray(spacing)).astype(int))
    centre = like.affine @ np.array([(x - 1) / 2, (y - 1) / 2, (z - 1) / 2, 1.0])
    origin = centre[:3] - np.asarray(spacing) * (size - 1) / 2 + np.asarray(shift_mm)
    return ImageVolume(np.zeros(tuple(size[::-1]), np.uint8), spacing=spacing, origin=origin)


def write_ct_series(folder, ct: ImageVolume) -> None:
    """One CT Image Storage file per axial slice (LPS, identity orientation), HU via rescale."""
    assert np.allclose(ct.direction, np.eye(3))
    n = ct.shape[0]
    write_volume_series(
        folder,
        ct,
        np.clip(np.rint(ct.array) + 1024, 0, 4095).astype(np.uint16),
        name=lambda k: f"slice_{(7 * k) % n:03d}.dcm",
        instance=lambda k: n - k,  # reversed on purpose: order by position
        position_digits=4,
        modality="CT",
        slope="1",
        intercept="-1024",
        window=None,
        BitsStored=12,
        HighBit=11,
        PatientName="Test^Phantom",
        PatientID="TEST0001",
    )


def write_nifti(path, volume: ImageVolume) -> np.ndarray:
    affine = RAS_TO_LPS @ volume.affine
    image = nib.Nifti1Image(np.asarray(volume.array).transpose(2, 1, 0), affine)
    image.set_sform(affine, code=1)
    image.set_qform(affine, code=1)
    nib.save(image, path)
    return affine


@pytest.mark.slow
def test_fuse_dicom_ct_series_with_nifti_mri_rigid(tmp_path, capsys):
    demo_ct, demo_mri = demo_pair()
    mri = resample_to(demo_mri, _grid(demo_mri, (4.0, 4.0, 4.0), (0, 0, 0)))
    mri = mri.with_array(np.rint(mri.array).astype(np.int16))
    # CT: its own scanner grid, and the head moved by 5 mm / 4° within it.
    ct_grid = _grid(demo_ct, (3.5, 3.5, 4.0), (1.7, -2.3, 6.0))
    move = SimpleITK.Euler3DTransform()
    z, y, x = ct_grid.shape
    move.SetCenter(tuple((ct_grid.affine @ np.array([x / 2, y / 2, z / 2, 1.0]))[:3]))
    move.SetRotation(math.radians(4.0), 0.0, math.radians(-2.0))
    move.SetTranslation((3.0, -4.0, 0.0))
    ct = resample_to(resample_to(demo_ct, ct_grid), ct_grid, transform=move)

    ct_dir = tmp_path / "ct_series"
    write_ct_series(ct_dir, ct)
    mri_path = tmp_path / "mri.nii.gz"
    mri_affine = write_nifti(mri_path, mri)
    out = tmp_path / "out.nii.gz"

    # The series as the loader sees it registers back to the known move. The demo CT and MRI
    # are templates of two people, matched only to a few mm, so the bound is looser than the
    # 1 mm / 1° of the same-image test (tests/grid/test_register.py).
    loaded_ct, loaded_mri = load(ct_dir), load(mri_path)
    assert loaded_ct.modality == "CT" and loaded_ct.units == "HU"
    pair = align_pair(loaded_ct, loaded_mri, register="rigid", reference="mri")
    z, y, x = mri.shape
    centre = (mri.affine @ np.array([(x - 1) / 2, (y - 1) / 2, (z - 1) / 2, 1.0]))[:3]
    angle, shift = rigid_difference(pair.transform, move.GetInverse(), centre)
    assert angle < 2.5 and shift < 3.0, (angle, shift)

    tfm = tmp_path / "ct_to_mri.tfm"
    status = main(
        [
            *("fuse", str(ct_dir), str(mri_path), "-o", str(out), "--register", "rigid"),
            *("--reference", "mri", "--save-transform", str(tfm)),
        ]
    )
    captured = capsys.readouterr()
    assert status == 0, captured.err
    # The rigid result on the command line: its six parameters, as the transform has them.
    (line,) = [x for x in captured.out.splitlines() if x.startswith("aligned: ")]
    shift_mm, angles = rigid_parameters(pair.transform, centre)
    assert line.startswith(
        f"aligned: rigid, shift {shift_words(shift_mm)}; rotation {rotation_words(angles)}; "
        "similarity "
    )
    assert "(mutual information, higher is better)" in line
    assert "field of view shared" in line
    # The saved transform reproduces the session's alignment (registration is seeded).
    angle, shift = rigid_difference(load_transform(tfm), pair.transform, centre)
    assert angle < 0.05 and shift < 0.05, (angle, shift)
    fused = nib.load(out)
    assert fused.shape[:3] == (mri.shape[2], mri.shape[1], mri.shape[0])
    np.testing.assert_allclose(fused.affine, mri_affine, atol=1e-3)
    data = np.asarray(fused.dataobj, dtype=np.float32)
    assert np.isfinite(data).all() and data.max() > data.min()

    # --transform aligns by the saved transform instead of registering again: the same grid
    # and the same fused volume as the registration that wrote it.
    again = tmp_path / "again.nii.gz"
    status = main(["fuse", str(ct_dir), str(mri_path), "-o", str(again), "--transform", str(tfm)])
    assert status == 0, capsys.readouterr().err
    assert "Aligned by a transform loaded from a file." in capsys.readouterr().err
    fused_again = nib.load(again)
    np.testing.assert_allclose(fused_again.affine, mri_affine, atol=1e-3)
    diff = np.abs(np.asarray(fused_again.dataobj, dtype=np.float32) - data)
    print("transform vs registration: max", diff.max(), "mean", diff.mean())
    assert diff.mean() < 1e-3 * max(1.0, float(data.max())), diff.mean()
    # a saved transform puts the CT on the MRI's grid: asking for the CT's grid is refused
    status = main(
        [
            *("fuse", str(ct_dir), str(mri_path), "-o", str(tmp_path / "ct_grid.nii.gz")),
            *("--transform", str(tfm), "--reference", "ct"),
        ]
    )
    assert status == 2
    assert "reference mri" in capsys.readouterr().err
    assert not (tmp_path / "ct_grid.nii.gz").exists()


def test_fuse_refuses_plain_png_with_scan_without_none(tmp_path, capsys):
    from PIL import Image

    _, demo_mri = demo_pair()
    png = tmp_path / "ct_slice.png"
    Image.fromarray(np.zeros((64, 64), np.uint8)).save(png)
    mri_path = tmp_path / "mri.nii.gz"
    write_nifti(mri_path, demo_mri.with_array(demo_mri.array[::4, ::4, ::4], spacing=(6.0,) * 3))
    status = main(["fuse", str(png), str(mri_path), "-o", str(tmp_path / "o.nii.gz")])
    assert status == 2
    err = capsys.readouterr().err
    assert "ct_slice.png" in err and "plain image" in err
    assert not (tmp_path / "o.nii.gz").exists()
