"""Volumes as DICOM sources of a chosen patient would carry them (for the window's safety tests)."""

from __future__ import annotations

import dataclasses

from pydicom.uid import generate_uid

from brainfuse.model.image import SourceIdentity

CT_PATIENT = {"PatientID": "INV-0051", "PatientName": "ANONYMOUS^CRANIUM"}
OTHER = {"PatientID": "INV-0077", "PatientName": "OTHER^PERSON"}


def of_patient(volume, patient, study: str | None = None):
    """``volume`` as one DICOM series of ``patient`` (in ``study``, a new one by default)."""
    source = SourceIdentity(
        study_instance_uid=study or generate_uid(),
        series_instance_uid=generate_uid(),
        sop_instance_uids=tuple(generate_uid() for _ in range(volume.n_slices)),
        frame_of_reference_uid=generate_uid(),
        patient=dict(patient),
    )
    return dataclasses.replace(volume, source=source)
