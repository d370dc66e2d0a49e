"""NIfTI export: reference grid affine (LPS -> RAS), values and decision map round trip."""

from __future__ import annotations

import tracemalloc

import nibabel as nib
import numpy as np
import pytest

from brainfuse.errors import ExportError
from brainfuse.export import write_nifti
from brainfuse.export.nifti import LPS_TO_RAS
from brainfuse.model.image import ImageVolume

from .conftest import as_fused, load_volume


@pytest.fixture
def oblique() -> ImageVolume:
    """A small oblique, anisotropic grid with an off-centre origin."""
    angle = np.deg2rad(12)
    direction = np.array(
        [[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]]
    )
    rng = np.random.default_rng(7)
    return ImageVolume(
        rng.random((5, 12, 10), dtype=np.float32),
        spacing=(0.9, 1.1, 2.5),
        origin=(-40.0, 22.5, 13.0),
        direction=direction,
        modality="MR",
    )


@pytest.mark.parametrize("name", ["f.nii", "f.nii.gz"])
def test_round_trip_values_and_geometry(oblique, tmp_path, name, provenance):
    out = write_nifti(oblique, tmp_path / name, provenance=provenance)
    image = nib.load(out)
    np.testing.assert_allclose(image.affine, LPS_TO_RAS @ oblique.affine, atol=1e-5)
    assert int(image.header["sform_code"]) == 1 and int(image.header["qform_code"]) == 1
    assert image.get_data_dtype() == np.float32
    assert b"cnn" in image.header["descrip"].item()
    back = load_volume(out)
    np.testing.assert_array_equal(back.array, oblique.array)
    np.testing.assert_allclose(back.spacing, oblique.spacing, atol=1e-5)
    np.testing.assert_allclose(back.origin, oblique.origin, atol=1e-4)
    np.testing.assert_allclose(back.direction, oblique.direction, atol=1e-5)


def test_dicom_grid_round_trip(mr_series, tmp_path):
    mri = load_volume(mr_series)
    fused = as_fused(mri)
    out = write_nifti(fused, tmp_path / "fused.nii.gz")
    back = load_volume(out)
    np.testing.assert_array_equal(back.array, fused.array)
    np.testing.assert_allclose(back.affine, fused.affine, atol=1e-4)


def test_decision_map_on_the_same_grid(oblique, tmp_path):
    dm = (oblique.array > 0.5).astype(np.uint8)
    out = write_nifti(oblique, tmp_path / "dm.nii.gz", array=dm)
    image = nib.load(out)
    assert image.get_data_dtype() == np.uint8
    np.testing.assert_array_equal(np.asarray(image.dataobj).transpose(2, 1, 0), dm)
    np.testing.assert_allclose(image.affine, LPS_TO_RAS @ oblique.affine, atol=1e-5)


def test_rgb_is_written_as_rgb24(oblique, tmp_path):
    rgb = np.round(255 * np.repeat(oblique.array[..., None], 3, axis=-1)).astype(np.uint8)
    rgb[..., 1] = 7
    out = write_nifti(oblique.with_array(rgb, is_rgb=True), tmp_path / "rgb.nii")
    data = np.asarray(nib.load(out).dataobj)
    assert data.shape == (10, 12, 5)
    np.testing.assert_array_equal(data["R"].transpose(2, 1, 0), rgb[..., 0])
    np.testing.assert_array_equal(data["G"], 7)


def test_bad_requests_are_refused(oblique, tmp_path):
    with pytest.raises(ExportError, match=r"\.nii"):
        write_nifti(oblique, tmp_path / "fused.img")
    with pytest.raises(ExportError, match="grid"):
        write_nifti(oblique, tmp_path / "dm.nii", array=np.zeros((2, 2, 2), np.uint8))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["big.nii", "big.nii.gz"])
def test_a_volume_is_streamed_without_a_copy(oblique, tmp_path, name):
    rng = np.random.default_rng(0)
    array = rng.random((40, 128, 128), dtype=np.float32)  # 2.5 MiB
    volume = oblique.with_array(array)
    write_nifti(volume.with_array(array[:2]), tmp_path / f"warm-{name}")  # one-time imports
    tracemalloc.start()
    try:
        out = write_nifti(volume, tmp_path / name)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < array.nbytes / 4  # slices and gzip buffers only
    back = load_volume(out)
    assert np.array_equal(back.array, array)
    first = out.read_bytes()
    again = write_nifti(volume, tmp_path / name, overwrite=True)
    assert again.read_bytes() == first  # equal inputs, equal files


@pytest.mark.parametrize("dtype", [np.float32, np.uint8])
def test_the_streamed_file_is_nibabels_byte_for_byte(oblique, tmp_path, dtype):
    """Header by nibabel, voxels slab by slab on worker threads: the same file as nibabel's."""
    import gzip
    import io

    from brainfuse.export import nifti_stream
    from brainfuse.export.nifti import nifti_image

    rng = np.random.default_rng(3)
    arr = (rng.random((9, 17, 13)) * 200).astype(dtype)
    vol = ImageVolume(arr, spacing=(0.7, 0.8, 2.5), origin=(1.0, -2.0, 3.0))
    own = io.BytesIO()
    nifti_image(vol, provenance={"method": "cnn"}).to_file_map(
        {"image": nib.FileHolder(fileobj=own)}
    )
    stand_in = np.broadcast_to(np.zeros((), dtype), arr.shape)
    header_only = nifti_image(vol, array=stand_in, provenance={"method": "cnn"})
    for threads in (1, 3):
        plain, packed = io.BytesIO(), io.BytesIO()
        nifti_stream.stream_nifti(header_only, arr, plain, gzip_level=None, threads=threads)
        nifti_stream.stream_nifti(header_only, arr, packed, gzip_level=1, threads=threads)
        assert plain.getvalue() == own.getvalue()
        assert gzip.decompress(packed.getvalue()) == own.getvalue()  # one valid gzip member
    # slabs of one slice each: many deflate pieces joined, still the same file
    small = io.BytesIO()
    old, nifti_stream.SLAB_BYTES = nifti_stream.SLAB_BYTES, 1
    try:
        nifti_stream.stream_nifti(header_only, arr, small, gzip_level=1, threads=2)
    finally:
        nifti_stream.SLAB_BYTES = old
    assert gzip.decompress(small.getvalue()) == own.getvalue()
    path = write_nifti(vol, tmp_path / "v.nii.gz")
    np.testing.assert_array_equal(np.asarray(nib.load(path).dataobj), arr.transpose(2, 1, 0))


def test_slab_checksums_combine_to_the_whole_files():
    import os
    import zlib

    from brainfuse.export.nifti_stream import crc32_combine

    for la, lb in ((0, 5), (10, 0), (1, 1), (1000, 12345), (3, 2**21 + 7)):
        a, b = os.urandom(la), os.urandom(lb)
        assert crc32_combine(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(a + b)
