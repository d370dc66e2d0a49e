"""DICOM derived series: validity (dciodvfy), round trip through the loader, references."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.uid import CTImageStorage, MRImageStorage, SecondaryCaptureImageStorage

from brainfuse.errors import ExportError
from brainfuse.export import write_dicom
from brainfuse.export.dicom import STORED_MAX
from brainfuse.model.image import ImageVolume

from .conftest import DCIODVFY, as_fused, load_volume


def dciodvfy(path: Path) -> tuple[list[str], list[str]]:
    """(errors, warnings) reported by dciodvfy for one file."""
    result = subprocess.run([DCIODVFY, str(path)], capture_output=True, text=True, timeout=60)
    lines = (result.stdout + result.stderr).splitlines()
    return (
        [line for line in lines if line.startswith("Error")],
        [line for line in lines if line.startswith("Warning")],
    )


needs_dciodvfy = pytest.mark.skipif(
    DCIODVFY is None, reason="dciodvfy (apt package dicom3tools) is not on PATH"
)


@needs_dciodvfy
@pytest.mark.parametrize("name", ["ct_small", "mr_small"])
def test_fused_slice_passes_dciodvfy(name, request, tmp_path, provenance):
    source = load_volume(request.getfixturevalue(name))
    out = tmp_path / "fused.dcm"
    write_dicom(as_fused(source), out, reference=source, provenance=provenance)
    errors, _ = dciodvfy(out)
    assert errors == []


@needs_dciodvfy
def test_fused_volume_and_colour_pass_dciodvfy(mr_series, ct_small, tmp_path, provenance):
    mri = load_volume(mr_series)
    ct = load_volume(ct_small)
    files = write_dicom(
        as_fused(mri),
        tmp_path / "series",
        reference=mri,
        provenance=provenance,
        other_sources=[ct.source],
    )
    rgb = np.repeat(np.round(255 * as_fused(mri).array)[..., None], 3, axis=-1).astype(np.uint8)
    files += write_dicom(
        mri.with_array(rgb, is_rgb=True),
        tmp_path / "rgb",
        reference=mri,
        provenance=provenance,
        burned_in_annotation=True,
    )
    assert len(files) == 2 * mri.n_slices
    for f in files:
        errors, _ = dciodvfy(f)
        assert errors == [], f


def test_volume_round_trip_keeps_values_geometry_study_and_references(
    mr_series, ct_small, tmp_path, provenance
):
    mri = load_volume(mr_series)
    ct = load_volume(ct_small)
    fused = as_fused(mri)
    files = write_dicom(
        fused, tmp_path / "out", reference=mri, provenance=provenance, other_sources=[ct.source]
    )
    back = load_volume(tmp_path / "out")
    assert back.shape == fused.shape
    np.testing.assert_allclose(back.array, fused.array, atol=0.5 / STORED_MAX + 1e-7)
    np.testing.assert_allclose(back.spacing, fused.spacing, atol=1e-4)
    np.testing.assert_allclose(back.origin, fused.origin, atol=1e-4)
    np.testing.assert_allclose(back.direction, fused.direction, atol=1e-6)

    for k, f in enumerate(files):
        ds = pydicom.dcmread(f)
        assert ds.SOPClassUID == MRImageStorage
        assert ds.StudyInstanceUID == mri.source.study_instance_uid
        assert ds.FrameOfReferenceUID == mri.source.frame_of_reference_uid
        assert ds.SeriesInstanceUID not in (mri.source.series_instance_uid, None)
        assert ds.PatientID == mri.source.patient["PatientID"]
        assert list(ds.ImageType)[:2] == ["DERIVED", "SECONDARY"]
        assert ds.BurnedInAnnotation == "NO"
        assert "cnn" in ds.DerivationDescription
        assert "0123456789abcdef" * 4 in ds.DerivationDescription
        assert ds.SeriesDescription.startswith("BrainFuse fusion")
        referenced = {item.ReferencedSOPInstanceUID for item in ds.SourceImageSequence}
        # the reference slice at this position, and the (single-image) CT source
        assert referenced == {mri.source.sop_instance_uids[k], ct.source.sop_instance_uids[0]}
    uids = {pydicom.dcmread(f).SOPInstanceUID for f in files}
    assert len(uids) == len(files) and not uids & set(mri.source.sop_instance_uids)


def test_ct_reference_gives_ct_storage_with_non_hu_rescale(ct_small, tmp_path, provenance):
    ct = load_volume(ct_small)
    out = write_dicom(as_fused(ct), tmp_path / "f.dcm", reference=ct, provenance=provenance)[0]
    ds = pydicom.dcmread(out)
    assert ds.SOPClassUID == CTImageStorage
    assert ds.RescaleType == "US"
    stored = ds.pixel_array
    assert stored.max() <= STORED_MAX
    np.testing.assert_allclose(
        stored * float(ds.RescaleSlope) + float(ds.RescaleIntercept),
        as_fused(ct).array[0],
        atol=0.5 / STORED_MAX + 1e-7,
    )


def test_non_dicom_source_gives_secondary_capture_with_given_patient_only(tmp_path, provenance):
    plain = ImageVolume(
        np.linspace(0, 1, 24 * 20, dtype=np.float32).reshape(1, 24, 20), has_geometry=False
    )
    out = tmp_path / "sc.dcm"
    write_dicom(plain, out, reference=plain, provenance=provenance)
    ds = pydicom.dcmread(out)
    assert ds.SOPClassUID == SecondaryCaptureImageStorage
    assert ds.PatientName == "" and ds.PatientID == ""  # anonymous, nothing invented
    assert "FrameOfReferenceUID" not in ds and "ImagePositionPatient" not in ds
    if DCIODVFY:
        assert dciodvfy(out)[0] == []
    out2 = tmp_path / "sc2.dcm"
    write_dicom(
        plain,
        out2,
        reference=None,
        provenance=provenance,
        patient={"PatientName": "Given^Name", "PatientID": "U-1"},
    )
    ds2 = pydicom.dcmread(out2)
    assert (str(ds2.PatientName), ds2.PatientID) == ("Given^Name", "U-1")
    assert ds2.StudyInstanceUID != ds.StudyInstanceUID


def test_bad_inputs_are_refused_with_clear_messages(mr_series, tmp_path, provenance):
    mri = load_volume(mr_series)
    with pytest.raises(ExportError, match="4 slices"):
        write_dicom(as_fused(mri), tmp_path / "one.dcm", reference=mri, provenance=provenance)
    with pytest.raises(ExportError, match=r"\[0, 1\]"):
        write_dicom(mri, tmp_path / "raw", reference=mri, provenance=provenance)
    with pytest.raises(ExportError, match="PatientNmae"):
        write_dicom(
            as_fused(mri),
            tmp_path / "p",
            reference=mri,
            provenance=provenance,
            patient={"PatientNmae": "x"},
        )
    with pytest.raises(ExportError, match="source"):
        write_dicom(as_fused(mri), mr_series, reference=mri, provenance=provenance, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mr_series"]


@pytest.mark.shared
@pytest.mark.slow
def test_real_head_ct_series_round_trip(shared_data, tmp_path, provenance, guard_sources):
    series = shared_data / "dicom" / "ct" / "cranium_ct_series"
    guard_sources(series)
    ct = load_volume(series)
    fused = as_fused(ct)
    files = write_dicom(fused, tmp_path / "fused", reference=ct, provenance=provenance)
    assert len(files) == ct.n_slices == 108
    back = load_volume(tmp_path / "fused")
    np.testing.assert_allclose(back.array, fused.array, atol=0.5 / STORED_MAX + 1e-7)
    np.testing.assert_allclose(back.affine, fused.affine, atol=1e-4)
    first = pydicom.dcmread(files[0])
    assert first.BodyPartExamined == "HEAD" and "Laterality" not in first
    if DCIODVFY:
        for f in (files[0], files[-1]):
            assert dciodvfy(f)[0] == []


@pytest.mark.shared
@needs_dciodvfy
@pytest.mark.parametrize(
    "relative",
    [
        "mr/emri_small.dcm",  # enhanced multi-frame, no plane geometry -> Secondary Capture
        "ct/693_UNCI.dcm",  # de-identified source (PatientIdentityRemoved YES)
        "ct/eCT_Supplemental.dcm",  # enhanced CT, 2 frames
        # sagittal series, exported on its canonical LPS grid (256 axial files)
        pytest.param("mr/bbmri_t1_sag_series", marks=pytest.mark.slow),
    ],
)
def test_every_shared_dicom_source_gives_a_valid_export(
    relative, shared_data, tmp_path, provenance, guard_sources
):
    path = shared_data / "dicom" / relative
    guard_sources(path)
    source = load_volume(path)
    files = write_dicom(as_fused(source), tmp_path / "out", reference=source, provenance=provenance)
    for f in (files[0], files[-1]):
        assert dciodvfy(f)[0] == [], f
    back = load_volume(tmp_path / "out")
    np.testing.assert_allclose(back.array, as_fused(source).array, atol=0.5 / STORED_MAX + 1e-7)
    if source.has_geometry:
        np.testing.assert_allclose(back.affine, source.affine, atol=1e-4)


def test_float_colour_fusion_is_stored_as_8_bit_rgb(mr_small, tmp_path, provenance):
    mri = load_volume(mr_small)
    unit = as_fused(mri).array
    rgb = np.stack([unit, 1 - unit, unit / 2], axis=-1)
    out = write_dicom(
        mri.with_array(rgb, is_rgb=True), tmp_path / "c.dcm", reference=mri, provenance=provenance
    )[0]
    ds = pydicom.dcmread(out)
    assert ds.SOPClassUID == SecondaryCaptureImageStorage and ds.PhotometricInterpretation == "RGB"
    assert ds.StudyInstanceUID == mri.source.study_instance_uid
    np.testing.assert_array_equal(ds.pixel_array, np.round(255 * rgb[0]))
