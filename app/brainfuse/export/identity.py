"""Whose patient an export belongs to: one source, one default, one question.

A derived series takes patient and study from exactly one DICOM source, never a mix of two
and never left empty while a source has them:

* both sources DICOM: the **CT** (image 1), whatever grid the result is on;
* one source DICOM: that one (e.g. a DICOM CT fused on a NIfTI MRI's grid);
* none: no patient (PNG, NIfTI, PET pictures carry none), unless the user gives one.

:data:`ANONYMIZE_DEFAULT` is the one default of the command line and the window: exports
keep the patient. :func:`export_identity` says, before anything is written or sent, which
source that is, the patient and study the export will carry and whether it arrives without
a patient (anonymised, or no patient data at all): the window asks before it sends such a
thing to a PACS.
"""

from __future__ import annotations

from dataclasses import dataclass

from brainfuse.export.dicom_modules import is_dicom
from brainfuse.model.image import ImageVolume
from brainfuse.model.patient import patient_identity, patient_label
from brainfuse.model.results import PairResult

__all__ = ["ANONYMIZE_DEFAULT", "ExportIdentity", "export_identity", "identity_source"]

#: Exports keep the patient unless the user asks otherwise (command line and window alike).
ANONYMIZE_DEFAULT = False
_ROLES = {"ct": "CT", "mri": "MRI"}


def identity_source(result: PairResult) -> tuple[str | None, ImageVolume | None]:
    """``(role, volume)`` of the source whose patient and study an export takes.

    The CT when both are DICOM, else the DICOM one; ``(None, None)`` when neither is.
    """
    for role, volume in (("ct", result.ct), ("mri", result.mri)):
        if is_dicom(volume.source):
            return role, volume
    return None, None


@dataclass(frozen=True)
class ExportIdentity:
    """What an export of a result will say about its patient.

    Attributes
    ----------
    role : {"ct", "mri"} or None
        The source whose patient and study the DICOM series takes; None when neither is
        DICOM.
    patient : str
        ``INV-0051 (ANONYMOUS^CRANIUM)``; empty when the export carries no patient.
    study_instance_uid : str or None
        The study the series is filed in (a new one when None).
    anonymized : bool
        The user asked to de-identify the export.
    """

    role: str | None
    patient: str
    study_instance_uid: str | None
    anonymized: bool

    @property
    def without_patient(self) -> bool:
        """True when the export arrives with no patient (anonymised, or none to carry)."""
        return self.anonymized or not self.patient

    def describe(self) -> str:
        """One line for a confirmation: whose export this is, or that it has no patient."""
        if self.anonymized:
            return "anonymised: it will arrive without a patient, in a new study"
        if not self.patient:
            return "no source carries patient data: it will arrive without a patient"
        return (
            f"patient {self.patient} and study {self.study_instance_uid} of the "
            f"{_ROLES[str(self.role)]}"
        )


def export_identity(result: PairResult, *, anonymize: bool = ANONYMIZE_DEFAULT) -> ExportIdentity:
    """Say which patient and study an export of ``result`` carries (see the module notes)."""
    role, volume = identity_source(result)
    if volume is None:
        return ExportIdentity(None, "", None, bool(anonymize))
    found = patient_identity(volume)
    return ExportIdentity(
        role,
        patient_label(found) if found else "",
        volume.source.study_instance_uid,
        bool(anonymize),
    )
