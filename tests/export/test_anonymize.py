"""Anonymised DICOM export: no patient identity anywhere, UIDs remapped consistently."""

from __future__ import annotations

import pydicom
import pytest

from brainfuse.export import UIDMap, write_dicom

from .conftest import DCIODVFY, PATIENT, as_fused, load_volume


def all_text(ds: pydicom.Dataset) -> list[str]:
    """Every element value of ``ds`` (file meta, sequences and private elements included)."""
    values = []
    datasets = [ds, ds.file_meta] if hasattr(ds, "file_meta") else [ds]
    while datasets:
        current = datasets.pop()
        for elem in current:
            if elem.VR == "SQ":
                datasets.extend(elem.value)
            elif elem.tag != 0x7FE00010:  # pixel data
                values.append(str(elem.value))
    return values


FORBIDDEN = [
    PATIENT["PatientName"],
    "Testperson",
    "Magdalena",
    PATIENT["PatientID"],
    "7781242",
    PATIENT["PatientBirthDate"],
    PATIENT["InstitutionName"],
    "Exemplar",
]


def leaks(files) -> list[str]:
    found = []
    for f in files:
        text = "\n".join(all_text(pydicom.dcmread(f)))
        found += [word for word in FORBIDDEN if word.lower() in text.lower()]
    return found


def test_anonymised_export_contains_no_identity(mr_series, tmp_path, provenance):
    mri = load_volume(mr_series)
    plain = write_dicom(as_fused(mri), tmp_path / "plain", reference=mri, provenance=provenance)
    # the scan can find identity: the plain export keeps the patient (same patient, same study)
    assert {PATIENT["PatientID"], PATIENT["PatientBirthDate"]} <= set(leaks(plain))
    anon = write_dicom(
        as_fused(mri), tmp_path / "anon", reference=mri, provenance=provenance, anonymize=True
    )
    assert leaks(anon) == []
    ds = pydicom.dcmread(anon[0])
    assert ds.PatientIdentityRemoved == "YES"
    assert str(ds.PatientName) == "" and ds.PatientID.startswith("ANON-")
    assert ds.StudyInstanceUID != mri.source.study_instance_uid
    assert ds.FrameOfReferenceUID != mri.source.frame_of_reference_uid
    assert not any(elem.tag.is_private for elem in ds)
    assert all(not ds[k].value for k in ("StudyDate", "ContentDate") if k in ds)
    if DCIODVFY:
        from .test_dicom import dciodvfy

        assert dciodvfy(anon[0])[0] == []


def test_uid_map_is_deterministic_and_consistent(mr_series, tmp_path, provenance):
    mri = load_volume(mr_series)
    runs = [
        write_dicom(
            as_fused(mri),
            tmp_path / f"a{i}",
            reference=mri,
            provenance=provenance,
            anonymize=True,
            uid_salt="project-salt",
        )
        for i in range(2)
    ]
    first, second = ([pydicom.dcmread(f) for f in files] for files in runs)
    uids = UIDMap("project-salt")
    for a, b, source_uid in zip(first, second, mri.source.sop_instance_uids, strict=True):
        assert a.StudyInstanceUID == b.StudyInstanceUID == uids[mri.source.study_instance_uid]
        assert a.FrameOfReferenceUID == uids[mri.source.frame_of_reference_uid]
        assert a.PatientID == b.PatientID
        # references point at the remapped source instance, the same in every export
        assert a.SourceImageSequence[0].ReferencedSOPInstanceUID == uids[source_uid]
        assert a.SourceImageSequence[0].ReferencedSOPClassUID == mri.source.sop_class_uid
        assert a.file_meta.MediaStorageSOPInstanceUID == a.SOPInstanceUID
    assert len({a.SeriesInstanceUID for a in first}) == 1
    assert (
        UIDMap("other-salt")[mri.source.study_instance_uid] != uids[mri.source.study_instance_uid]
    )


@pytest.mark.parametrize("uid", ["1.2.840.10008.5.1.4.1.1.4", "1.2.840.10008.1.2.1"])
def test_dicom_defined_uids_are_kept(uid):
    assert UIDMap("s")[uid] == uid
