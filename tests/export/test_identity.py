"""One identity per export: the CT's when both are DICOM, never empty unless anonymised."""

from __future__ import annotations

import numpy as np
import pydicom

from brainfuse.export import ANONYMIZE_DEFAULT, export_identity, export_result
from brainfuse.model.image import ImageVolume, SourceIdentity
from brainfuse.pipeline import fuse_pair


def _vol(modality, patient, study, uids=("1.2.826.0.1.3680043.8.498.77",)):
    source = SourceIdentity(
        study_instance_uid=study,
        series_instance_uid="1.2.826.0.1.3680043.8.498.78",
        sop_instance_uids=uids,
        patient=dict(patient),
    )
    rng = np.random.default_rng(1)
    array = rng.integers(0, 500, (1, 16, 16)).astype(np.float32)
    units = "HU" if modality == "CT" else ""
    return ImageVolume(array, modality=modality, units=units, source=source)


P = {"PatientID": "INV-0051", "PatientName": "ANONYMOUS^CRANIUM"}
CT_STUDY, MR_STUDY = "1.2.826.0.1.3680043.8.498.1", "1.2.826.0.1.3680043.8.498.2"


def test_both_dicom_the_ct_gives_patient_and_study_on_the_mri_grid(tmp_path):
    result = fuse_pair(
        _vol("CT", P, CT_STUDY), _vol("MR", P, MR_STUDY), method="average", register="none"
    )
    assert result.reference == "mri"
    ident = export_identity(result)
    assert ident.role == "ct" and ident.study_instance_uid == CT_STUDY
    assert not ident.without_patient and "INV-0051" in ident.describe()
    path, seg = export_result(result, tmp_path / "f.dcm")  # the slice and its map's SEG
    for ds in (pydicom.dcmread(path), pydicom.dcmread(seg)):
        assert ds.StudyInstanceUID == CT_STUDY and ds.PatientID == "INV-0051"


def test_default_is_not_anonymised_and_anonymised_says_so():
    assert ANONYMIZE_DEFAULT is False
    result = fuse_pair(_vol("CT", P, CT_STUDY), _vol("MR", P, MR_STUDY), method="average")
    assert not export_identity(result).without_patient
    anon = export_identity(result, anonymize=True)
    assert anon.without_patient and "without a patient" in anon.describe()


def test_no_dicom_source_has_no_patient():
    plain = ImageVolume(np.ones((1, 8, 8), np.float32), has_geometry=False)
    result = fuse_pair(plain, plain, method="average")
    ident = export_identity(result)
    assert ident.role is None and ident.without_patient
    assert "no source carries patient data" in ident.describe()
