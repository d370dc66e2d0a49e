"""The patient check compares what both sources carry, as a person would read it."""

from __future__ import annotations

import numpy as np
import pytest

from brainfuse.errors import DifferentPatientsError
from brainfuse.model.image import ImageVolume, SourceIdentity
from brainfuse.model.patient import compare_patients, patient_label
from brainfuse.pipeline import check_identity, fuse_pair


def _vol(patient=None, study="1.2.3", frame="1.2.9"):
    source = SourceIdentity(
        study_instance_uid=study, frame_of_reference_uid=frame, patient=dict(patient or {})
    )
    return ImageVolume(np.zeros((1, 8, 8), np.float32), source=source, has_geometry=False)


A = {"PatientID": "INV-0051", "PatientName": "ANONYMOUS^CRANIUM", "PatientSex": "M"}


def test_same_patient_written_differently_is_the_same():
    b = {"PatientID": " inv-0051 ", "PatientName": "Anonymous^Cranium^^^", "PatientSex": "m"}
    check = compare_patients(_vol(A), _vol(b, study="1.2.4"))
    assert check.status == "same" and check.fusable and check.notice() is None
    assert check.relation() == "same patient, different studies"
    assert check.provenance()["different_patients_allowed"] is False


@pytest.mark.parametrize(
    ("keyword", "value"),
    [
        ("PatientID", "INV-0052"),
        ("PatientName", "OTHER^PERSON"),
        ("PatientSex", "F"),
        ("PatientBirthDate", None),
    ],
)
def test_any_differing_attribute_refuses(keyword, value):
    other = {**A, keyword: value}
    if value is None:  # birth date: both carry one, different
        other, first = {**A, "PatientBirthDate": "19700101"}, {**A, "PatientBirthDate": "19700102"}
    else:
        first = A
    check = compare_patients(_vol(first), _vol(other))
    assert check.status == "different" and not check.fusable
    with pytest.raises(DifferentPatientsError, match="not fused") as info:
        check_identity(_vol(first), _vol(other))
    assert info.value.check == check
    allowed = check_identity(_vol(first), _vol(other), allow_different_patients=True)
    assert allowed.allowed and allowed.fusable and "DIFFERENT PATIENTS" in str(allowed.notice())


def test_refusal_names_both_patients():
    check = compare_patients(_vol(A), _vol({"PatientID": "X-1", "PatientName": "DOE^JANE"}))
    assert check.refusal() == (
        "the CT is patient INV-0051 (ANONYMOUS^CRANIUM), the MRI is patient X-1 (DOE^JANE): "
        "not fused"
    )


def test_one_side_without_patient_data_is_not_checked():
    check = compare_patients(_vol(A), _vol({}))
    assert check.status == "unchecked" and check.fusable and check.missing == ("mri",)
    assert check.notice() == "MRI has no patient data: identity not checked"
    both = compare_patients(_vol({}), _vol({"PatientName": ""}))
    assert both.status == "unchecked" and both.notice() is None  # no patient to mix up
    assert both.provenance()["patient_check"] == "not checked: neither source has patient data"
    sex_only = compare_patients(_vol({"PatientSex": "M"}), _vol({"PatientSex": "M"}))
    assert sex_only.status == "unchecked"  # sex alone proves nothing
    assert "share no Patient ID or name" in str(sex_only.notice())


def test_label():
    assert patient_label({"PatientID": "P"}) == "P"
    assert patient_label({}) == "unknown"


def test_fuse_pair_refuses_before_any_work():
    ct, mri = _vol(A), _vol({**A, "PatientID": "OTHER"})
    with pytest.raises(DifferentPatientsError):
        fuse_pair(ct, mri, method="average", register="none")
    result = fuse_pair(ct, mri, method="average", register="none", allow_different_patients=True)
    assert result.identity is not None and result.identity.allowed
