"""NIfTI-1/2: RAS→LPS, canonical orientation, scaling, 4-D handling, modality guess."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from brainfuse.errors import UnreadableInputError, UnsupportedInputError
from brainfuse.io import load

RNG = np.random.default_rng(7)


def _save(img, path):
    nib.save(img, str(path))
    return path


def _ras_image(data, zooms=(1.5, 2.0, 3.0), cls=nib.Nifti1Image):
    affine = np.diag([*zooms, 1.0])
    affine[:3, 3] = (-20.0, -30.0, -10.0)
    return cls(data, affine)


def test_las_and_ras_give_the_same_canonical_array(tmp_path):
    data = RNG.integers(0, 1000, size=(6, 5, 4)).astype(np.int16)  # (x, y, z)
    ras = _ras_image(data)
    # The same voxels stored with x flipped (LAS): same positions, other storage order.
    las_affine = ras.affine @ np.array(
        [[-1, 0, 0, data.shape[0] - 1], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], dtype=float
    )
    las = nib.Nifti1Image(data[::-1].copy(), las_affine)
    assert nib.aff2axcodes(las.affine) == ("L", "A", "S")
    a = load(_save(ras, tmp_path / "ras.nii.gz"))
    b = load(_save(las, tmp_path / "las.nii"))
    assert a.stored_orientation == "RAS" and b.stored_orientation == "LAS"
    assert a.orientation == b.orientation == "LPS"
    np.testing.assert_array_equal(a.array, b.array)
    np.testing.assert_allclose(a.affine, b.affine, atol=1e-5)
    # Canonical LPS: array[k, j, i]; x runs right→left, so column 0 is the RAS x maximum.
    np.testing.assert_array_equal(a.array, np.transpose(data[::-1, ::-1, :], (2, 1, 0)))
    # Voxel positions are preserved: LPS = RAS with x, y negated.
    ras_pos = nib.affines.apply_affine(ras.affine, (5, 4, 0))
    lps_pos = a.affine @ np.array([0, 0, 0, 1.0])
    assert lps_pos[:3] == pytest.approx(ras_pos * np.array([-1, -1, 1]))
    assert a.spacing == pytest.approx((1.5, 2.0, 3.0))


def test_scaling_is_applied_and_ct_is_guessed(tmp_path):
    stored = RNG.integers(0, 4000, size=(5, 5, 3)).astype(np.int16)
    stored[0, 0, 0], stored[1, 0, 0] = 0, 3500
    img = _ras_image(stored)
    img.header.set_slope_inter(1.0, -1024.0)
    v = load(_save(img, tmp_path / "ct.nii.gz"))
    assert v.modality == "CT" and v.units == "HU"
    assert v.value_range() == pytest.approx((stored.min() - 1024.0, stored.max() - 1024.0))
    mr = load(tmp_path / "ct.nii.gz", modality="MR")
    assert mr.modality == "MR" and mr.units == ""
    assert load(_save(_ras_image(stored), tmp_path / "mr.nii")).modality == "MR"


def test_trailing_singleton_is_squeezed_and_4d_needs_a_volume(tmp_path):
    data = RNG.integers(0, 100, size=(4, 3, 2, 1)).astype(np.uint16)
    v = load(_save(_ras_image(data), tmp_path / "s.nii.gz"))
    assert v.shape == (2, 3, 4) and v.array.dtype == np.uint16
    four = RNG.integers(0, 100, size=(4, 3, 2, 5)).astype(np.int16)
    path = _save(_ras_image(four), tmp_path / "f.nii.gz")
    with pytest.raises(UnsupportedInputError) as err:
        load(path)
    assert f"File {path} is a 4-D NIfTI (4×3×2×5): choose a volume with --volume" in str(err.value)
    v = load(path, volume=3)
    np.testing.assert_array_equal(v.array, np.transpose(four[::-1, ::-1, :, 3], (2, 1, 0)))
    with pytest.raises(UnsupportedInputError, match="out of range"):
        load(path, volume=5)


def test_nifti2_and_big_endian(tmp_path):
    data = RNG.integers(-100, 100, size=(5, 4, 3)).astype(np.int16)
    n2 = load(_save(_ras_image(data, cls=nib.Nifti2Image), tmp_path / "n2.nii"))
    assert n2.format == "NIfTI-2"
    big = nib.Nifti1Image(
        data.astype(">i2"), _ras_image(data).affine, header=nib.Nifti1Header(endianness=">")
    )
    big.set_data_dtype(np.dtype(">i2"))
    path = _save(big, tmp_path / "be.nii")
    assert nib.load(str(path)).header.endianness == ">"
    be = load(path)
    assert be.array.dtype == np.int16 and be.array.dtype.byteorder in ("=", "|")
    np.testing.assert_array_equal(be.array, n2.array)
    # a little-endian file ("<i2" in nibabel's hands) is native here: used as read
    assert n2.array.dtype == np.int16 and n2.array.dtype.isnative


def test_nifti_pair_and_analyze(tmp_path):
    data = RNG.integers(0, 100, size=(5, 4, 3)).astype(np.int16)
    single = load(_save(_ras_image(data), tmp_path / "one.nii"))
    pair = load(_save(nib.Nifti1Pair(data, _ras_image(data).affine), tmp_path / "pair.img"))
    np.testing.assert_array_equal(pair.array, single.array)
    analyze = tmp_path / "old.hdr"
    nib.save(nib.AnalyzeImage(data, np.eye(4)), str(analyze))
    with pytest.raises(UnsupportedInputError, match="AnalyzeImage"):
        load(analyze)


def test_zero_length_dimension_and_corrupt_file(tmp_path):
    img = _ras_image(np.zeros((4, 0, 3), dtype=np.int16))
    path = _save(img, tmp_path / "zero.nii")
    with pytest.raises(UnreadableInputError, match="zero-length dimension \\(4×0×3\\)"):
        load(path)
    bad = tmp_path / "bad.nii.gz"
    bad.write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(UnreadableInputError, match="not a readable NIfTI"):
        load(bad)


@pytest.mark.shared
def test_shared_nifti_files(shared_data):
    folder = shared_data / "nifti"
    mni = load(folder / "mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz")
    assert mni.shape == (189, 233, 197) and mni.array.dtype == np.uint8 and mni.modality == "MR"
    anat = load(folder / "anatomical.nii")  # big-endian int16
    assert anat.shape == (25, 41, 33) and anat.modality == "MR"
    assert anat.stored_orientation == "LAS" and anat.orientation == "LPS"
    s0 = load(folder / "S0_10slices.nii.gz")  # 4-D with trailing 1
    assert s0.shape == (10, 128, 128)
    ct = load(folder / "cranium_ct.nii.gz")
    assert ct.modality == "CT" and ct.units == "HU" and ct.spacing[2] == pytest.approx(1.5)
    for name, shape in (
        ("example4d.nii.gz", "128×96×24×2"),
        ("example_nifti2.nii.gz", "32×20×12×2"),
    ):
        with pytest.raises(UnsupportedInputError, match=f"4-D NIfTI \\({shape}\\)"):
            load(folder / name)
    n2 = load(folder / "example_nifti2.nii.gz", volume=1)
    assert n2.format == "NIfTI-2" and n2.shape == (12, 20, 32)
