"""De-identification of exported DICOM: a subset of the PS3.15 Basic Profile.

Applied to the datasets BrainFuse writes (never to a source file). Rules, walking every
element, sequences included:

* ``PatientID`` is replaced by a salted-hash pseudonym (:meth:`UIDMap.pseudonym`).
* Names, other IDs, birth data, sex, age, size, weight, address, telephone, accession number,
  study ID, other patient IDs/names, comments (tag list ``_EMPTIED``): type 2 attributes
  are kept with an empty value, so the file stays valid; the rest are removed.
* Institution, department, physicians, operators, station, device serial number, request
  and protocol details (``_REMOVED``): removed.
* Every date, time and date-time (VR ``DA``, ``TM``, ``DT``) is emptied (dates removed,
  not shifted: a fused export needs no timeline).
* Every UID that is not a DICOM-defined one (``1.2.840.10008.*``: SOP classes, transfer
  syntaxes) is replaced through :class:`UIDMap`, deterministically: the same source UID
  always maps to the same new UID, so a study, its frame of reference and the references
  between instances stay consistent across files and exports.
* Private elements are removed.
* ``PatientIdentityRemoved`` = ``YES`` and ``DeidentificationMethod`` are added.

References
----------
DICOM PS3.15 Annex E, "Attribute Confidentiality Profiles", Table E.1-1 (Basic Profile).
"""

from __future__ import annotations

import hashlib

from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

__all__ = ["DEIDENTIFICATION_METHOD", "UIDMap", "anonymize_dataset"]

DEIDENTIFICATION_METHOD = "BrainFuse: PS3.15 Basic Profile subset"  # LO, <= 64 characters

# Patient/study identifiers: emptied where the IOD needs them present (type 2), else removed.
_EMPTIED = {
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "ReferringPhysicianName",
    "StudyID",
    "AccessionNumber",
}
_REMOVED = {
    "IssuerOfPatientID",
    "PatientBirthTime",
    "PatientAge",
    "PatientSize",
    "PatientWeight",
    "PatientAddress",
    "PatientTelephoneNumbers",
    "PatientMotherBirthName",
    "OtherPatientIDs",
    "OtherPatientIDsSequence",
    "OtherPatientNames",
    "PatientBirthName",
    "PatientComments",
    "MilitaryRank",
    "EthnicGroup",
    "Occupation",
    "AdditionalPatientHistory",
    "MedicalRecordLocator",
    "InstitutionName",
    "InstitutionAddress",
    "InstitutionCodeSequence",
    "InstitutionalDepartmentName",
    "StationName",
    "DeviceSerialNumber",
    "PerformingPhysicianName",
    "NameOfPhysiciansReadingStudy",
    "OperatorsName",
    "PhysiciansOfRecord",
    "RequestingPhysician",
    "ReferringPhysicianAddress",
    "ReferringPhysicianTelephoneNumbers",
    "RequestAttributesSequence",
    "RequestedProcedureDescription",
    "PerformedProcedureStepID",
    "PerformedProcedureStepDescription",
    "ScheduledProcedureStepDescription",
    "StudyComments",
    "ImageComments",
    "ProtocolName",
    "AdmittingDiagnosesDescription",
}
_DICOM_UID_ROOT = "1.2.840.10008."


class UIDMap:
    """Deterministic replacement of UIDs.

    ``UIDMap(salt)[uid]`` is a new valid UID (under pydicom's root) computed from a SHA-512
    of ``salt`` and ``uid``: the same input always gives the same output, different inputs
    give different outputs. Use a secret ``salt`` per project to make the map one-way for
    anyone without it.

    Parameters
    ----------
    salt : str
        Mixed into every mapped UID.
    """

    def __init__(self, salt: str = "") -> None:
        self.salt = salt
        self._cache: dict[str, str] = {}

    def _digest(self, text: str) -> str:
        return hashlib.sha256(f"{self.salt}\x00{text}".encode()).hexdigest()

    def pseudonym(self, patient_id: str) -> str:
        """Return a stable stand-in for a patient ID: ``ANON-`` and 12 hex digits of a salted hash.

        Exports of one patient keep one ID (so a PACS files them together) without the
        original; use a secret ``salt``, or short numeric IDs can be found by trying them.
        """
        return f"ANON-{self._digest('patient-id:' + patient_id)[:12].upper()}"

    def __getitem__(self, uid: str) -> str:
        """Map a UID to its replacement; the standard's own UIDs and ``""`` pass through."""
        uid = str(uid)
        if uid.startswith(_DICOM_UID_ROOT) or not uid:
            return uid
        if uid not in self._cache:
            key = self._digest(uid)
            self._cache[uid] = str(generate_uid(entropy_srcs=["brainfuse-anon", key]))
        return self._cache[uid]


def _scrub(ds: Dataset, uids: UIDMap) -> None:
    for elem in list(ds):
        keyword = elem.keyword
        if elem.tag.is_private or keyword in _REMOVED:
            del ds[elem.tag]
        elif keyword == "PatientID" and elem.value:
            elem.value = uids.pseudonym(str(elem.value))
        elif keyword in _EMPTIED or elem.VR in ("DA", "TM", "DT"):
            elem.value = None
        elif elem.VR == "UI" and elem.value:
            if elem.VM > 1:
                elem.value = [uids[v] for v in elem.value]
            else:
                elem.value = uids[elem.value]
        elif elem.VR == "SQ":
            for item in elem.value:
                _scrub(item, uids)


def anonymize_dataset(ds: Dataset, uids: UIDMap) -> Dataset:
    """De-identify ``ds`` in place (see the module notes) and return it.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
        A dataset BrainFuse built for export (with ``file_meta``); never a source file.
    uids : UIDMap
        Shared by all files of one export so that references stay consistent.

    Returns
    -------
    pydicom.dataset.Dataset
        ``ds``, with ``file_meta.MediaStorageSOPInstanceUID`` updated to match.
    """
    _scrub(ds, uids)
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = DEIDENTIFICATION_METHOD
    meta = getattr(ds, "file_meta", None)
    if meta is not None and "SOPInstanceUID" in ds:
        meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    return ds
