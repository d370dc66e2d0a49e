"""``brainfuse fuse`` checks the patients and files the result under the CT's patient.

On DICOM series written here from the development CT's voxels (``identity_series``): the
same patient is fused and the derived series carries the CT's Patient ID and Study Instance
UID (on the MRI's grid, in the MRI's frame of reference); another patient is refused with
one line naming both, nothing written; ``--allow-different-patients`` fuses and says so in
the provenance; a DICOM CT with a NIfTI MRI gives a series of the CT's patient and study.
"""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pydicom
import pytest
from pydicom.uid import generate_uid

from brainfuse.cli import main

from .identity_series import CT_PATIENT, head_part, mr_like, write_series

pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def head(shared_data):
    return head_part(shared_data)


@pytest.fixture
def ct_dir(head, tmp_path):
    return write_series(tmp_path / "ct", head, modality="CT", patient=CT_PATIENT)


def _mr(head, tmp_path, patient):
    return write_series(tmp_path / "mr", head, modality="MR", patient=patient)


def _fuse(*args):
    return main(["fuse", *map(str, args), "--method", "average", "--format", "dicom"])


def _first(folder):
    files = sorted(folder.iterdir())
    seg = folder / "decision_map_seg.dcm"  # a derived series' decision map goes with it
    if seg in files:
        files.remove(seg)
        s, first = pydicom.dcmread(seg, stop_before_pixels=True), pydicom.dcmread(files[0])
        assert (s.PatientID, s.StudyInstanceUID) == (first.PatientID, first.StudyInstanceUID)
    assert len(files) == 10
    return pydicom.dcmread(files[0])


def test_same_patient_fused_under_the_cts_patient_and_study(head, ct_dir, tmp_path, capsys):
    mr_dir = _mr(head, tmp_path, {**CT_PATIENT, "PatientSex": "O"})  # sex: only one carries it
    out = tmp_path / "fused"
    assert _fuse(ct_dir, mr_dir, "-o", out) == 0
    captured = capsys.readouterr()
    ct, mr, ds = _first(ct_dir), _first(mr_dir), _first(out)
    assert ds.PatientID == "INV-0051" and ds.PatientName == "ANONYMOUS^CRANIUM"
    assert ds.StudyInstanceUID == ct.StudyInstanceUID != mr.StudyInstanceUID
    assert ds.FrameOfReferenceUID == mr.FrameOfReferenceUID  # the grid is the MRI's
    assert ds.SOPClassUID == pydicom.uid.MRImageStorage
    assert "patient and study of the CT" in ds.DerivationDescription
    assert "patient check: same patient" in ds.DerivationDescription
    assert "aligned: geometry, field of view shared 100 %" in captured.out
    assert "same patient, different studies and different frames of reference" in captured.out
    assert "identity not checked" not in captured.err


def test_another_patient_is_refused_with_one_line_naming_both(head, ct_dir, tmp_path, capsys):
    mr_dir = _mr(head, tmp_path, {"PatientID": "PAT-0099", "PatientName": "OTHER^PERSON"})
    out = tmp_path / "fused"
    assert _fuse(ct_dir, mr_dir, "-o", out, "--decision-map", tmp_path / "dm.nii.gz") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "brainfuse: error: the CT is patient INV-0051 (ANONYMOUS^CRANIUM), the MRI is patient "
        "PAT-0099 (OTHER^PERSON): not fused"
    ]
    assert not out.exists() and not (tmp_path / "dm.nii.gz").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ct", "mr"]


def test_a_different_name_or_birth_date_under_one_id_is_refused(head, ct_dir, tmp_path, capsys):
    mr_dir = _mr(head, tmp_path, {"PatientID": "INV-0051", "PatientName": "SOMEONE^ELSE"})
    assert _fuse(ct_dir, mr_dir, "-o", tmp_path / "fused") == 2
    assert "not fused" in capsys.readouterr().err


def test_override_fuses_and_is_in_the_provenance(head, ct_dir, tmp_path, capsys):
    mr_dir = _mr(head, tmp_path, {"PatientID": "PAT-0099", "PatientName": "OTHER^PERSON"})
    out, nii = tmp_path / "fused", tmp_path / "fused.nii.gz"
    assert _fuse(ct_dir, mr_dir, "-o", out, "--allow-different-patients") == 0
    err = capsys.readouterr().err
    assert "DIFFERENT PATIENTS fused on request" in err and "PAT-0099" in err
    ds = _first(out)
    assert "DIFFERENT PATIENTS fused on explicit override" in ds.DerivationDescription
    assert ds.PatientID == "INV-0051"  # one identity, the CT's, never a mix
    assert (
        main(
            [
                "fuse",
                str(ct_dir),
                str(mr_dir),
                "-o",
                str(nii),
                "--method",
                "average",
                "--allow-different-patients",
            ]
        )
        == 0
    )
    descrip = nib.load(nii).header["descrip"].tobytes().decode("latin-1")
    assert "DIFFERENT PATIENTS" in descrip


def test_dicom_ct_with_nifti_mri_carries_the_cts_patient_and_study(head, ct_dir, tmp_path, capsys):
    ras = np.diag([-1.0, -1.0, 1.0, 1.0]) @ head.affine
    nii = tmp_path / "mri.nii.gz"
    nib.save(nib.Nifti1Image(mr_like(head.array).transpose(2, 1, 0), ras), nii)
    out = tmp_path / "fused"
    assert _fuse(ct_dir, nii, "-o", out) == 0
    captured = capsys.readouterr()
    assert "warning: MRI has no patient data: identity not checked" in captured.err
    ct, ds = _first(ct_dir), _first(out)
    assert ds.PatientID == "INV-0051" and ds.PatientName == "ANONYMOUS^CRANIUM"
    assert ds.StudyInstanceUID == ct.StudyInstanceUID
    assert "patient and study of the CT" in ds.DerivationDescription
    assert "not checked: MRI has no patient data" in ds.DerivationDescription


def test_anonymised_on_request_only(head, ct_dir, tmp_path):
    mr_dir = write_series(
        tmp_path / "mr", head, modality="MR", patient=CT_PATIENT, study_uid=generate_uid()
    )
    assert _fuse(ct_dir, mr_dir, "-o", tmp_path / "anon", "--anonymize") == 0
    ds = _first(tmp_path / "anon")
    assert ds.PatientName == "" and ds.PatientIdentityRemoved == "YES"


def test_a_pair_37_mm_apart_by_file_geometry_warns(head, ct_dir, tmp_path, capsys):
    mr_dir = write_series(
        tmp_path / "mr", head, modality="MR", patient=CT_PATIENT, shift_mm=(37.0, 0.0, 0.0)
    )
    assert _fuse(ct_dir, mr_dir, "-o", tmp_path / "fused") == 0
    captured = capsys.readouterr()
    (warning,) = [x for x in captured.err.splitlines() if "do not agree" in x]
    offset = float(warning.split(" mm (L ")[0].rsplit(" ", 1)[1])
    assert offset == pytest.approx(37.0, abs=4.0), warning
    (line,) = [x for x in captured.out.splitlines() if x.startswith("aligned: ")]
    assert "heads " in line and " apart" in line
