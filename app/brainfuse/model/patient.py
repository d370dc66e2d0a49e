"""Whose scans these are: the patient check of a pair, and the words and records it gives.

Two sources are fused only when nothing they carry says they belong to different patients.
Each DICOM source carries Patient ID, Patient's Name, Birth Date and Sex (in its
:class:`~brainfuse.model.image.SourceIdentity`); NIfTI and plain images carry none. The check
compares the attributes both sources carry, after the normalisation a person would apply
(case, spaces, the empty trailing components of a DICOM name), and reports one of:

* ``same``: every attribute both carry agrees, the Patient ID or the name among them;
* ``different``: one of them differs. Fused only on the user's explicit request
  (``allowed``), which every export then records;
* ``unchecked``: one side (or both) carries no patient data, so nothing could be compared.

Different studies or frames of reference of the same patient are normal (a CT and an MRI
are usually two visits, two scanners): :meth:`PatientCheck.relation` says so for the
alignment line, not as an alarm.

Shared model: no Qt, no torch, no other layer; the pipeline raises on a refusal
(:func:`brainfuse.pipeline.identity.check_identity`), the shells only show the words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from brainfuse.model.image import ImageVolume

__all__ = [
    "IDENTITY_KEYWORDS",
    "PatientCheck",
    "compare_patients",
    "patient_identity",
    "patient_label",
]

#: The attributes compared, in the order they are named in messages.
IDENTITY_KEYWORDS = ("PatientID", "PatientName", "PatientBirthDate", "PatientSex")
_ROLES = {"ct": "CT", "mri": "MRI"}
_WORDS = {
    "PatientID": "Patient ID",
    "PatientName": "name",
    "PatientBirthDate": "birth date",
    "PatientSex": "sex",
}


def _normal(keyword: str, value: Any) -> str:
    """Return the value as compared: upper case, single spaces, a name without empty components."""
    if isinstance(value, list | tuple):
        value = "\\".join(str(v) for v in value)
    text = " ".join(str(value).split()).upper()
    if keyword == "PatientName":
        groups = [re.sub(r"[\^ ]+$", "", g) for g in text.split("=")]  # "DOE^JOHN^^^" = "DOE^JOHN"
        text = "=".join(groups).rstrip("=")
    return text


def patient_identity(volume: ImageVolume | None) -> dict[str, str]:
    """Return the compared attributes a source carries (non-empty), as written in the file."""
    if volume is None:
        return {}
    patient = volume.source.patient
    out = {}
    for keyword in IDENTITY_KEYWORDS:
        value = patient.get(keyword)
        if value not in (None, "") and _normal(keyword, value):
            out[keyword] = " ".join(str(value).split())
    return out


def patient_label(identity: dict[str, str]) -> str:
    """``INV-0051 (ANONYMOUS^CRANIUM)``: the ID with the name, or what there is of them."""
    pid, name = identity.get("PatientID"), identity.get("PatientName")
    if pid and name:
        return f"{pid} ({name})"
    if pid or name:
        return str(pid or name)
    rest = [f"{_WORDS[k]} {identity[k]}" for k in IDENTITY_KEYWORDS[2:] if k in identity]
    return ", ".join(rest) or "unknown"


@dataclass(frozen=True)
class PatientCheck:
    """The patient check of one pair (see the module notes).

    Attributes
    ----------
    status : {"same", "different", "unchecked"}
    ct, mri : dict of str -> str
        The compared attributes each source carries (empty for NIfTI, PNG, an anonymous
        DICOM).
    differing : tuple of str
        Keywords both carry with different values (empty unless ``different``).
    allowed : bool
        Different patients fused on the user's explicit request.
    same_study, same_frame : bool or None
        Whether both DICOM sources share the Study Instance UID / Frame of Reference UID
        (None where one does not carry it).
    """

    status: str
    ct: dict[str, str] = field(default_factory=dict)
    mri: dict[str, str] = field(default_factory=dict)
    differing: tuple[str, ...] = ()
    allowed: bool = False
    same_study: bool | None = None
    same_frame: bool | None = None

    @property
    def fusable(self) -> bool:
        """True unless the sources are of different patients and no override was given."""
        return self.status != "different" or self.allowed

    @property
    def missing(self) -> tuple[str, ...]:
        """The roles (``"ct"``, ``"mri"``) that carry no patient data."""
        return tuple(role for role in ("ct", "mri") if not getattr(self, role))

    def refusal(self) -> str:
        """One line naming both patients, e.g. ``the CT is patient INV-0051 (...), ...``."""
        return (
            f"the CT is patient {patient_label(self.ct)}, the MRI is patient "
            f"{patient_label(self.mri)}: not fused"
        )

    def notice(self) -> str | None:
        """Say what a user must be told and may not miss; None when there is nothing to say.

        ``MRI has no patient data: identity not checked`` (one side carries a patient, the
        other none), or the override naming both. None when the patients agree, and when
        neither source carries patient data (NIfTI or PNG pairs: no patient to mix up, and
        an export carries none).
        """
        if self.status == "unchecked":
            missing = self.missing
            if len(missing) == 2:  # research files (NIfTI, PNG): no patient to mix up
                return None
            if missing:
                return f"{_ROLES[missing[0]]} has no patient data: identity not checked"
            return "the CT and the MRI share no Patient ID or name: identity not checked"
        if self.status == "different":
            differ = ", ".join(_WORDS[k] for k in self.differing)
            head = "DIFFERENT PATIENTS fused on request" if self.allowed else "different patients"
            return (
                f"{head}: the CT is patient {patient_label(self.ct)}, the MRI is patient "
                f"{patient_label(self.mri)} ({differ} differ)"
            )
        return None

    def relation(self) -> str | None:
        """For the alignment line: ``same patient, different studies and frames of reference``."""
        if self.status != "same":
            return None
        parts = []
        if self.same_study is False:
            parts.append("different studies")
        if self.same_frame is False:
            parts.append("different frames of reference")
        return "same patient" + (", " + " and ".join(parts) if parts else "")

    def provenance(self) -> dict[str, Any]:
        """Keys for the export's provenance record (no patient data, only the outcome)."""
        if self.status == "same":
            text = "same patient (" + ", ".join(_WORDS[k] for k in self.ct if k in self.mri) + ")"
        elif self.status == "unchecked":
            why = self.notice() or "neither source has patient data"
            text = "not checked: " + why.split(":")[0]
        else:
            text = "DIFFERENT patients, fused on the user's explicit override"
        return {"patient_check": text, "different_patients_allowed": self.allowed}


def compare_patients(
    ct: ImageVolume | None, mri: ImageVolume | None, *, allowed: bool = False
) -> PatientCheck:
    """Compare the patients of two sources (never raises; see :class:`PatientCheck`)."""
    a, b = patient_identity(ct), patient_identity(mri)
    shared = [k for k in IDENTITY_KEYWORDS if k in a and k in b]
    differing = tuple(k for k in shared if _normal(k, a[k]) != _normal(k, b[k]))
    if differing:
        status = "different"
    elif {"PatientID", "PatientName"} & set(shared):  # sex or birth date alone prove nothing
        status = "same"
    else:
        status = "unchecked"

    def same(attr: str) -> bool | None:
        x = getattr(ct.source, attr) if ct is not None else None
        y = getattr(mri.source, attr) if mri is not None else None
        return None if not (x and y) else x == y

    return PatientCheck(
        status=status,
        ct=a,
        mri=b,
        differing=differing,
        allowed=bool(allowed and differing),
        same_study=same("study_instance_uid"),
        same_frame=same("frame_of_reference_uid"),
    )
