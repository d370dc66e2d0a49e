"""export_result: the adapter over a PairResult used by ``brainfuse fuse`` and the GUI."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.uid import SecondaryCaptureImageStorage

from brainfuse.errors import ExportError
from brainfuse.export import export_result, infer_format, slice_volume
from brainfuse.model.intensity import Window
from brainfuse.model.results import FusionResult, PairResult

from .conftest import as_fused, load_volume


def fake_pair(mri, ct=None):
    """A PairResult on ``mri``'s grid with a stand-in fusion (no engine run)."""
    fused = as_fused(mri)
    dm = (fused.array > 0.5).astype(np.uint8)
    return PairResult(
        ct=ct if ct is not None else mri.with_array(1 - fused.array, modality="CT"),
        mri=mri,
        ct01=1 - fused.array,
        mri01=fused.array,
        fused=fused,
        decision_map=fused.with_array(dm),
        soft_map=dm.astype(np.float32),
        fusion=FusionResult(
            fused.array, dm, dm.astype(np.float32), method="average", device="CPU (2 threads)"
        ),
        windows={"ct": Window(40, 80), "mri": Window(100, 200)},
    )


def test_dicom_volume_slice_and_overlay(mr_series, ct_small, tmp_path):
    mri = load_volume(mr_series)
    pair = fake_pair(mri, ct=load_volume(ct_small))
    files = export_result(pair, tmp_path / "series", format="dicom")
    assert len(files) == mri.n_slices + 1 and files[-1].name == "decision_map_seg.dcm"
    ct = pair.ct
    # both sources DICOM: patient and study are the CT's, on the MRI's grid and frame
    first = pydicom.dcmread(files[0])
    assert first.StudyInstanceUID == ct.source.study_instance_uid
    assert first.FrameOfReferenceUID == mri.source.frame_of_reference_uid

    one = export_result(pair, tmp_path / "s2.dcm", slice_index=2)
    ds = pydicom.dcmread(one[0])
    np.testing.assert_allclose(
        [float(v) for v in ds.ImagePositionPatient], slice_volume(mri, 2).origin, atol=1e-4
    )
    refs = {item.ReferencedSOPInstanceUID for item in ds.SourceImageSequence}
    assert mri.source.sop_instance_uids[2] in refs
    assert not refs & set(mri.source.sop_instance_uids[:2] + mri.source.sop_instance_uids[3:])

    burned = export_result(pair, tmp_path / "ov.dcm", slice_index=0, overlay=True)
    ds = pydicom.dcmread(burned[0])
    assert ds.SOPClassUID == SecondaryCaptureImageStorage
    assert ds.PhotometricInterpretation == "RGB" and ds.BurnedInAnnotation == "YES"


def test_png_nifti_and_decision_map(mr_series, tmp_path):
    mri = load_volume(mr_series)
    pair = fake_pair(mri)
    png = export_result(
        pair, tmp_path / "f.png", slice_index=1, decision_map_path=tmp_path / "dm.png"
    )
    with Image.open(png[0]) as im:
        np.testing.assert_array_equal(np.asarray(im), np.round(255 * pair.fused.array[1]))
        assert "average" in im.text["Description"]
    with Image.open(png[1]) as im:
        np.testing.assert_array_equal(np.asarray(im), 255 * pair.decision_map.array[1])
    slices = export_result(
        pair, tmp_path / "pngs", format="png", overlay=True, decision_map_path=tmp_path / "dms"
    )
    assert len(slices) == 2 * mri.n_slices
    assert slices[-1].name == "decision_map_0004.png"
    with Image.open(slices[-1]) as im:
        np.testing.assert_array_equal(np.asarray(im), 255 * pair.decision_map.array[3])
    nii = export_result(pair, tmp_path / "f.nii.gz", decision_map_path=tmp_path / "dm.nii.gz")
    np.testing.assert_array_equal(
        np.asarray(nib.load(nii[1]).dataobj).transpose(2, 1, 0), pair.decision_map.array
    )


def test_refusals(mr_series, tmp_path):
    pair = fake_pair(load_volume(mr_series))
    with pytest.raises(ExportError, match="format"):
        export_result(pair, tmp_path / "out")
    with pytest.raises(ExportError, match="4 slices"):
        export_result(pair, tmp_path / "f.png")
    with pytest.raises(ExportError, match="Slice 9"):
        export_result(pair, tmp_path / "f.png", slice_index=9)
    with pytest.raises(ExportError, match="NIfTI"):
        export_result(pair, tmp_path / "f.nii", overlay=True)
    with pytest.raises(ExportError, match="source"):
        export_result(pair, mr_series / "a.dcm", format="dicom", slice_index=0, overwrite=True)
    export_result(pair, tmp_path / "f.nii")
    with pytest.raises(ExportError, match="already exists"):
        export_result(pair, tmp_path / "f.nii")


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("a.PNG", "png"), ("a.dcm", "dicom"), ("a.nii", "nifti"), ("a.nii.gz", "nifti")],
)
def test_infer_format(name, fmt):
    assert infer_format(name) == fmt


def test_provenance_uses_the_windows_and_model_hash(mr_series, tmp_path):
    pair = fake_pair(load_volume(mr_series))
    pair.windows = {"ct": Window(40.0, 80.0, "preset:brain", "HU")}
    pair.fusion.model_sha256 = "f" * 64
    ds = pydicom.dcmread(export_result(pair, tmp_path / "a.dcm", slice_index=0)[0])
    assert "ct preset:brain C40/W80 HU" in ds.DerivationDescription
    assert "f" * 64 in ds.DerivationDescription


def test_real_pair_result_exports_into_the_ct_study(ct_small, tmp_path):
    from brainfuse.pipeline import fuse_pair

    ct = load_volume(ct_small)
    mri = ct.with_array(ct.array[:, ::-1, :].copy(), modality="MR", source=type(ct.source)())
    pair = fuse_pair(ct, mri, method="average", register="none", reference="ct")
    files = export_result(pair, tmp_path / "f.dcm", anonymize=False)
    ds = pydicom.dcmread(files[0])
    assert ds.StudyInstanceUID == ct.source.study_instance_uid
    assert ds.FrameOfReferenceUID == ct.source.frame_of_reference_uid
    assert [i.ReferencedSOPInstanceUID for i in ds.SourceImageSequence] == list(
        ct.source.sop_instance_uids
    )
    assert "average" in ds.DerivationDescription and "C40/W80" in ds.DerivationDescription
    back = load_volume(files[0])
    np.testing.assert_allclose(back.array, pair.fused.array, atol=0.5 / 4095 + 1e-7)
    np.testing.assert_allclose(back.affine, ct.affine, atol=1e-4)
