"""Single DICOM files: decoders, modality LUT, colour, MONOCHROME1, multi-frame, bad files."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

from brainfuse.errors import UnreadableInputError, UnsupportedInputError
from brainfuse.io import load
from tests.dicom_factory import write_enhanced_mr, write_slice


def bundled(name: str) -> str:
    """Path of a test file shipped inside the pydicom wheel (never downloaded)."""
    path = get_testdata_file(name, download=False)
    if path is None:
        pytest.skip(f"pydicom test file {name} is not bundled with this pydicom")
    return path


@pytest.fixture(scope="module")
def mr_small():
    return load(bundled("MR_small.dcm"))


@pytest.mark.parametrize(
    "name",
    [
        "MR_small_jp2klossless.dcm",  # JPEG 2000 lossless (pylibjpeg-openjpeg)
        "MR_small_jpeg_ls_lossless.dcm",  # JPEG-LS lossless (pyjpegls)
        "MR_small_RLE.dcm",  # RLE lossless
        "MR_small_bigendian.dcm",  # explicit VR big endian
        "MR_small_implicit.dcm",  # implicit VR little endian
    ],
)
def test_lossless_syntaxes_decode_to_the_same_pixels(name, mr_small):
    v = load(bundled(name))
    np.testing.assert_array_equal(v.array, mr_small.array)
    assert v.modality == "MR" and v.shape == (1, 64, 64)
    assert v.spacing == pytest.approx(mr_small.spacing)


def test_single_slice_geometry_and_identity(mr_small):
    ds = pydicom.dcmread(bundled("MR_small.dcm"))
    assert mr_small.spacing[:2] == pytest.approx((ds.PixelSpacing[1], ds.PixelSpacing[0]))
    assert mr_small.origin == pytest.approx([float(v) for v in ds.ImagePositionPatient])
    assert mr_small.window == (float(ds.WindowCenter), float(ds.WindowWidth))
    assert mr_small.source.sop_instance_uids == (ds.SOPInstanceUID,)
    assert mr_small.source.study_instance_uid == ds.StudyInstanceUID
    assert mr_small.source.patient["PatientName"] == str(ds.PatientName)
    assert mr_small.is_2d and mr_small.has_geometry


def test_lossy_jpeg2000_ct_is_close_to_the_original():
    ref = load(bundled("CT_small.dcm"))
    assert ref.units == "HU" and ref.array.dtype == np.int16
    v = load(bundled("693_J2KI.dcm"))  # JPEG 2000 lossy head CT
    assert v.modality == "CT" and v.units == "HU"
    lo, hi = v.value_range()
    assert lo < -1000 < 1000 < hi


def test_colour_files_become_rgb_uint8():
    rgb = load(bundled("SC_rgb_small_odd.dcm"))
    assert rgb.is_rgb and rgb.array.shape == (1, 3, 3, 3) and rgb.array.dtype == np.uint8
    ds = pydicom.dcmread(bundled("SC_rgb_small_odd.dcm"))
    np.testing.assert_array_equal(rgb.array[0], ds.pixel_array)
    palette = load(bundled("examples_palette.dcm"))
    assert palette.is_rgb and palette.array.shape[-1] == 3 and palette.array.dtype == np.uint8
    assert len(np.unique(palette.array.reshape(-1, 3), axis=0)) > 10
    ybr = load(bundled("SC_rgb_jpeg_dcmtk.dcm"))  # JPEG baseline, YBR_FULL → RGB
    assert ybr.is_rgb and ybr.array.shape == (1, 100, 100, 3)
    assert not rgb.has_geometry  # secondary capture: no patient geometry


def test_monochrome1_is_flagged_and_values_kept(tmp_path):
    pixels = np.arange(16 * 16, dtype=np.uint16).reshape(16, 16)
    path = write_slice(
        tmp_path / "m1.dcm",
        pixels,
        position=(0, 0, 0),
        photometric="MONOCHROME1",
        modality="MR",
        slope=None,
    )
    v = load(path)
    assert v.monochrome1
    np.testing.assert_array_equal(v.array[0], pixels)


def test_pixel_padding_becomes_air(tmp_path):
    pixels = np.full((8, 8), 1040, dtype=np.uint16)
    pixels[:, :2] = 0  # padding outside the field of view
    path = write_slice(tmp_path / "pad.dcm", pixels, position=(0, 0, 0))
    ds = pydicom.dcmread(path)
    ds.add_new("PixelPaddingValue", "US", 0)
    ds.save_as(path)
    v = load(path)
    assert np.all(v.array[0, :, :2] == -1024) and np.all(v.array[0, :, 2:] == 16)


def test_enhanced_multiframe_uses_per_frame_position_and_rescale(tmp_path):
    frames = np.stack([np.full((4, 6), 10 * i, dtype=np.uint16) for i in range(4)])
    path = write_enhanced_mr(
        tmp_path / "enh.dcm",
        frames,
        z_positions=[6.0, 0.0, 4.0, 2.0],
        slopes=[2.0, 1.0, 1.0, 1.0],
        intercepts=[0.0, 5.0, 0.0, 0.0],
    )
    v = load(path)
    assert v.shape == (4, 4, 6)
    # Sorted by z (0, 2, 4, 6) = frames 1, 3, 2, 0; each with its own rescale.
    np.testing.assert_array_equal(v.array[:, 0, 0], [15, 30, 20, 0])
    assert v.spacing == pytest.approx((1.0, 1.0, 2.0))
    assert v.window == (300.0, 600.0)
    assert len(v.source.sop_instance_uids) == 1


def test_legacy_multiframe_with_frame_offsets():
    v = load(bundled("rtdose.dcm"))  # 15 frames placed by GridFrameOffsetVector
    assert v.shape[0] == 15 and v.has_geometry


def test_no_pixel_data_truncated_and_non_dicom(tmp_path):
    with pytest.raises(
        UnreadableInputError, match=r"no pixel data \(it is a RT Plan Storage, not an image\)"
    ):
        load(bundled("rtplan.dcm"))
    with pytest.raises(UnreadableInputError, match="damaged or truncated"):
        load(bundled("MR_truncated.dcm"))
    junk = tmp_path / "junk.dcm"
    junk.write_bytes(np.random.default_rng(1).bytes(4000))
    with pytest.raises(UnreadableInputError, match="not a DICOM file"):
        load(junk)


def test_unsupported_transfer_syntax_is_named(tmp_path):
    pixels = np.zeros((8, 8), dtype=np.uint16)
    path = write_slice(tmp_path / "mpeg.dcm", pixels, position=(0, 0, 0))
    ds = pydicom.dcmread(path)
    ds.file_meta.TransferSyntaxUID = pydicom.uid.MPEG2MPML
    ds.PixelData = pydicom.encaps.encapsulate([b"\x00" * 64])
    ds.save_as(path, enforce_file_format=True)
    with pytest.raises(UnsupportedInputError, match="MPEG2 Main Profile"):
        load(path)


@pytest.mark.shared
def test_shared_enhanced_files(shared_data):
    ect = load(shared_data / "dicom" / "ct" / "eCT_Supplemental.dcm")
    assert ect.shape == (2, 512, 512) and ect.orientation == "LPS"
    assert ect.spacing[2] == pytest.approx(10.0)
    assert ect.units == ""  # a perfusion map (Rescale Type US), not HU
    assert any("not Hounsfield" in w for w in ect.warnings)
    emri = load(shared_data / "dicom" / "mr" / "emri_small.dcm")
    assert emri.shape == (10, 64, 64)  # all frames
    assert not emri.has_geometry and emri.spacing[2] == pytest.approx(1.2)


@pytest.mark.parametrize(
    "syntax",
    ["JPEGLosslessProcess14_1", "JPEGLosslessProcess14", "JPEG2000Lossless", "RLELossless"],
)
def test_transcoded_ct_decodes_to_the_same_hu(syntax, tmp_path):
    """A CT slice re-encoded by GDCM in each lossless syntax reads back voxel for voxel."""
    gdcm = pytest.importorskip("gdcm")
    pixels = np.random.default_rng(11).integers(0, 4000, (32, 24)).astype(np.uint16)
    src = write_slice(tmp_path / "plain.dcm", pixels, position=(0, 0, 0))
    reader = gdcm.ImageReader()
    reader.SetFileName(str(src))
    assert reader.Read()
    change = gdcm.ImageChangeTransferSyntax()
    change.SetTransferSyntax(gdcm.TransferSyntax(getattr(gdcm.TransferSyntax, syntax)))
    change.SetInput(reader.GetImage())
    assert change.Change()
    writer = gdcm.ImageWriter()
    writer.SetFileName(str(tmp_path / "coded.dcm"))
    writer.SetFile(reader.GetFile())
    writer.SetImage(change.GetOutput())
    assert writer.Write()
    assert pydicom.dcmread(tmp_path / "coded.dcm").file_meta.TransferSyntaxUID.is_compressed
    v = load(tmp_path / "coded.dcm")
    np.testing.assert_array_equal(v.array[0], pixels.astype(np.int32) - 1024)
    assert v.units == "HU"
