"""Pixel data one byte short of what the header describes is refused, never shown as whole.

Native data (one slice, a multi-frame file, one file of a series, 8- and 16-bit), an RLE
fragment of the development CT one byte short, and the file cut one byte short: each ends in
the one-line refusal of a damaged file. The header's length is the only witness a reader
has: data cut by one byte and then padded back to an even length by a writer (a zero byte
in place of the last one) is indistinguishable from a whole file, and is not claimed here.
"""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import numpy as np
import pydicom
import pytest

from brainfuse.errors import UnreadableInputError
from brainfuse.io import load
from tests.dicom_factory import write_enhanced_mr, write_series, write_slice

PIXEL_TAG = b"\xe0\x7f\x10\x00"


def _cut_file(path: Path) -> Path:
    path.write_bytes(path.read_bytes()[:-1])
    return path


def _short_element(path: Path) -> Path:
    """The Pixel Data element declares (and holds) one byte less than the header describes."""
    data = bytearray(path.read_bytes())
    at = data.rindex(PIXEL_TAG)
    (length,) = struct.unpack("<I", data[at + 8 : at + 12])
    data[at + 8 : at + 12] = struct.pack("<I", length - 1)
    del data[at + 12 + length - 1]
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("damage", [_cut_file, _short_element])
@pytest.mark.parametrize("dtype", [np.uint16, np.uint8])
def test_native_slice_one_byte_short(tmp_path, damage, dtype):
    pixels = (np.arange(64).reshape(8, 8) * 3 + 7).astype(dtype)
    path = write_slice(tmp_path / "a.dcm", pixels, position=(0, 0, 0))
    if dtype == np.uint8:
        ds = pydicom.dcmread(path)
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
        ds.PixelData = pixels.tobytes()
        ds.save_as(path, enforce_file_format=True)
    assert load(path).shape == (1, 8, 8)  # whole: loads
    with pytest.raises(UnreadableInputError, match="damaged or truncated"):
        load(damage(path))


def test_multi_frame_one_byte_short(tmp_path):
    frames = (np.arange(3 * 8 * 8).reshape(3, 8, 8) % 200).astype(np.uint16)
    path = write_enhanced_mr(
        tmp_path / "e.dcm", frames, z_positions=[0, 2, 4], slopes=[1] * 3, intercepts=[0] * 3
    )
    assert load(path).shape == (3, 8, 8)
    with pytest.raises(UnreadableInputError, match="damaged or truncated"):
        load(_cut_file(path))


def test_one_file_of_a_series_one_byte_short(tmp_path):
    volume = ((np.arange(4 * 8 * 8).reshape(4, 8, 8) + 50) % 900).astype(np.uint16)
    paths = write_series(tmp_path / "s", volume)
    assert load(tmp_path / "s").shape == (4, 8, 8)
    _cut_file(sorted(paths)[2])
    with pytest.raises(UnreadableInputError, match="damaged or truncated"):
        load(tmp_path / "s")


@pytest.mark.shared
def test_rle_fragment_of_the_development_ct_one_byte_short(shared_data, tmp_path):
    source = sorted((shared_data / "dicom" / "ct" / "cranium_ct_series").iterdir())[0]
    path = tmp_path / "ct.dcm"
    shutil.copy(source, path)
    whole = load(path)
    assert pydicom.dcmread(path).file_meta.TransferSyntaxUID == pydicom.uid.RLELossless
    data = bytearray(path.read_bytes())
    at = data.rindex(b"\xfe\xff\x00\xe0")  # the last (here the only) fragment's item
    (length,) = struct.unpack("<I", data[at + 4 : at + 8])
    data[at + 4 : at + 8] = struct.pack("<I", length - 1)
    del data[at + 8 + length - 1]
    path.write_bytes(bytes(data))
    with pytest.raises(UnreadableInputError, match="damaged or truncated"):
        load(path)
    assert whole.shape == (1, 256, 256)


@pytest.mark.shared
def test_cutting_the_development_ct_never_invents_a_voxel(shared_data, tmp_path):
    """Cut 1..12 bytes from the end of an RLE slice: the sequence delimiter goes first (the
    voxels are all there and load unchanged), then the fragment (refused)."""
    source = sorted((shared_data / "dicom" / "ct" / "cranium_ct_series").iterdir())[0]
    whole = load(source).array
    data = source.read_bytes()
    for cut in range(1, 13):
        path = tmp_path / f"cut{cut}.dcm"
        path.write_bytes(data[:-cut])
        try:
            array = load(path).array
        except UnreadableInputError:
            continue
        assert np.array_equal(array, whole), cut
