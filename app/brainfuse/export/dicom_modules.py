"""DICOM IOD modules of a derived series: patient/study, series, image, plane, pixels.

The pieces :func:`brainfuse.export.dicom.build_series` puts together for each slice, from
one :class:`Plan` worked out per export (the rules are in :mod:`brainfuse.export.dicom`).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydicom.datadict import keyword_dict
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    CTImageStorage,
    ExplicitVRLittleEndian,
    MRImageStorage,
    SecondaryCaptureImageStorage,
    generate_uid,
)
from pydicom.valuerep import format_number_as_ds

from brainfuse import __version__
from brainfuse.errors import ExportError
from brainfuse.export.dicom_values import attribute_name, invalid_reason
from brainfuse.export.provenance import provenance_text
from brainfuse.model.image import PATIENT_KEYWORDS, STUDY_KEYWORDS, ImageVolume, SourceIdentity

log = logging.getLogger(__name__)

STORED_MAX = 4095  # grey fusion [0, 1] -> 0..4095 with RescaleSlope 1/4095
_MAX_REFERENCES = 64  # a non-matching source series larger than this is not listed per image

_COPIED_KEYWORDS = (*PATIENT_KEYWORDS, *STUDY_KEYWORDS)  # current Patient/Study attributes
_TYPE2_PATIENT = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex")
_TYPE2_STUDY = ("StudyDate", "StudyTime", "ReferringPhysicianName", "StudyID", "AccessionNumber")
# MR Image module acquisition attributes copied from the reference MR (type 1/2 there).
_MR_ACQUISITION = (
    "ScanningSequence",
    "SequenceVariant",
    "ScanOptions",
    "MRAcquisitionType",
    "RepetitionTime",
    "EchoTime",
    "EchoTrainLength",
    "InversionTime",
    "MagneticFieldStrength",
    "ImagedNucleus",
)
# MR Image module type 1/2 attributes and what is written when the reference lacks them.
_MR_DEFAULTS = {
    "ScanningSequence": "RM",
    "SequenceVariant": "NONE",
    "ScanOptions": None,
    "MRAcquisitionType": None,
    "RepetitionTime": None,
    "EchoTime": None,
    "EchoTrainLength": None,
}
_IMAGE_TYPE_3: dict[str, tuple[str, ...]] = {CTImageStorage: ("AXIAL",), MRImageStorage: ("OTHER",)}
ORDERED_CLASSES = {"CT": CTImageStorage, "MR": MRImageStorage}
_UNPAIRED_BODY_PARTS = {"HEAD", "BRAIN", "SKULL", "HEADNECK", "NECK", "CSPINE", "WHOLEBODY"}
# Multi-frame storage classes whose frames a reference may name (ReferencedFrameNumber).
_MULTI_FRAME_CLASSES = {
    "1.2.840.10008.5.1.4.1.1.2.1",  # Enhanced CT
    "1.2.840.10008.5.1.4.1.1.2.2",  # Legacy Converted Enhanced CT
    "1.2.840.10008.5.1.4.1.1.4.1",  # Enhanced MR
    "1.2.840.10008.5.1.4.1.1.4.3",  # Enhanced MR Color
    "1.2.840.10008.5.1.4.1.1.4.4",  # Legacy Converted Enhanced MR
    "1.2.840.10008.5.1.4.1.1.128.1",  # Legacy Converted Enhanced PET
    "1.2.840.10008.5.1.4.1.1.130",  # Enhanced PET
    "1.2.840.10008.5.1.4.1.1.20",  # NM
    "1.2.840.10008.5.1.4.1.1.7.2",  # Multi-frame Grayscale Byte SC
    "1.2.840.10008.5.1.4.1.1.7.3",  # Multi-frame Grayscale Word SC
    "1.2.840.10008.5.1.4.1.1.7.4",  # Multi-frame True Color SC
}


def _ds(value: float) -> str:
    return format_number_as_ds(float(value))


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = scheme
    item.CodeMeaning = meaning
    return item


def is_dicom(source: SourceIdentity | None) -> bool:
    """Whether ``source`` is a DICOM series (a study and at least one instance UID)."""
    return bool(source and source.study_instance_uid and source.sop_instance_uids)


def _copy(ds: Dataset, keyword: str, value: Any, dropped: list[str]) -> None:
    """Set ``keyword`` to a value taken from a source, or leave it out when it is invalid.

    An invalid value (:func:`brainfuse.export.dicom_values.invalid_reason`) is not written;
    the keyword is added to ``dropped`` (once) for the Derivation Description.
    """
    reason = invalid_reason(keyword, value)
    if reason is None:
        setattr(ds, keyword, value)
        return
    log.debug("not copied from the source: %s (%s)", keyword, reason)
    if keyword not in dropped:
        dropped.append(keyword)


def patient_and_study(
    owner: ImageVolume | None,
    header: Dataset | None,
    patient: Mapping[str, Any] | None,
    dropped: list[str],
) -> Dataset:
    """Patient and General Study modules: from the DICOM ``owner``, else from ``patient``.

    ``owner`` is the one source whose patient and study the series takes (never a mix of
    two); ``header`` its first file's header. Values from it that are invalid for their
    attribute are left out and named in ``dropped``; values the user gives in ``patient``
    must be valid.
    """
    out = Dataset()
    source = owner.source if owner is not None else None
    if is_dicom(source):
        assert source is not None
        copied = {}
        if header is not None:
            copied = {kw: header[kw].value for kw in _COPIED_KEYWORDS if kw in header}
        copied.update(
            {k: v for k, v in {**source.patient, **source.study}.items() if k in _COPIED_KEYWORDS}
        )
        for keyword, value in copied.items():
            _copy(out, keyword, value, dropped)
        _copy(out, "StudyInstanceUID", source.study_instance_uid, dropped)
    if "StudyInstanceUID" not in out:
        out.StudyInstanceUID = generate_uid()
    for keyword, value in (patient or {}).items():
        if keyword not in keyword_dict:
            raise ExportError(
                f"Unknown DICOM patient/study attribute '{keyword}'; use DICOM keywords such "
                "as PatientName, PatientID, PatientBirthDate."
            )
        reason = invalid_reason(keyword, value)
        if reason is not None:
            raise ExportError(f"The {attribute_name(keyword)} given is not valid DICOM: {reason}")
        setattr(out, keyword, value)
    for keyword in _TYPE2_PATIENT + _TYPE2_STUDY:
        if keyword not in out:
            setattr(out, keyword, None)
    if str(out.get("PatientIdentityRemoved", "")).upper() == "YES" and not out.get(
        "DeidentificationMethod"
    ):
        out.DeidentificationMethod = "Source de-identified; method not recorded"  # 1C
    return out


def _valid_reference(ref: tuple[str, str, int | None]) -> bool:
    return all(invalid_reason("ReferencedSOPInstanceUID", uid) is None for uid in ref[:2])


def _references(source: SourceIdentity, k: int, n_slices: int) -> list[tuple[str, str, int | None]]:
    """``(class UID, instance UID, frame number)`` of the source images behind slice ``k``.

    References whose UIDs are not valid DICOM UIDs are left out.
    """
    if not is_dicom(source) or not source.sop_class_uid:
        return []
    uids = source.sop_instance_uids
    refs: list[tuple[str, str, int | None]]
    if len(uids) == n_slices:
        refs = [(source.sop_class_uid, uids[k], None)]
    elif len(uids) == 1:  # a single image, or one multi-frame file for the whole volume
        frame = k + 1 if n_slices > 1 and source.sop_class_uid in _MULTI_FRAME_CLASSES else None
        refs = [(source.sop_class_uid, uids[0], frame)]
    elif len(uids) <= _MAX_REFERENCES:
        refs = [(source.sop_class_uid, uid, None) for uid in uids]
    else:
        refs = []
    return [ref for ref in refs if _valid_reference(ref)]


def _source_image_sequence(refs: Iterable[tuple[str, str, int | None]]) -> DicomSequence:
    items = []
    for class_uid, instance_uid, frame in refs:
        item = Dataset()
        item.ReferencedSOPClassUID = class_uid
        item.ReferencedSOPInstanceUID = instance_uid
        if frame is not None:
            item.ReferencedFrameNumber = frame
        item.PurposeOfReferenceCodeSequence = DicomSequence(
            [_code("121322", "DCM", "Source image for image processing operation")]
        )
        items.append(item)
    return DicomSequence(items)


def _patient_orientation(direction: np.ndarray) -> list[str]:
    letters = (("L", "R"), ("P", "A"), ("H", "F"))
    out = []
    for col in range(2):
        v = direction[:, col]
        text = ""
        for axis in np.argsort(-np.abs(v)):
            if abs(v[axis]) > 1e-3 and len(text) < 3:
                text += letters[axis][0 if v[axis] > 0 else 1]
        out.append(text)
    return out


def default_series_description(provenance: Mapping[str, Any], rgb: bool, overlay: bool) -> str:
    """``BrainFuse fusion (cnn anatomy, overlay)``: method, rule and what was burned in."""
    method = provenance.get("method", "fusion")
    if provenance.get("rule"):
        method = f"{method} {provenance['rule']}"
    extra = ", overlay" if overlay else (", colour" if rgb else "")
    return f"BrainFuse fusion ({method}{extra})"[:64]


def derivation_description(provenance: Mapping[str, Any], dropped: Sequence[str]) -> str:
    """Write the Derivation Description (ST, at most 1024 characters).

    The provenance line, then the source attributes left out because their values were
    invalid (names only).
    """
    text = provenance_text(provenance)
    if dropped:
        names = ", ".join(attribute_name(k) for k in dropped)
        text += f"; not copied from the source (invalid values): {names}"
    return text[:1024]


@dataclass
class Plan:
    """What every slice of one derived series shares (worked out once per export)."""

    sop_class: str
    modality: str
    rgb: bool
    burned_in: bool
    header: Dataset | None
    common: Dataset
    source: SourceIdentity
    other_sources: Sequence[SourceIdentity]
    date: str
    time: str
    series_uid: str
    series_number: int
    series_description: str
    derivation: str
    frame_of_reference: str
    copied: Dataset  # General Series / MR attributes taken (valid) from the reference


def reference_attributes(header: Dataset | None, sop_class: str, dropped: list[str]) -> Dataset:
    """Attributes of the General Series and MR Image modules copied from the reference.

    BodyPartExamined (3); Laterality (2C: absent for an unpaired body part, else empty
    when unknown); PatientPosition (2C for CT/MR); the MR acquisition attributes (type 1/2
    in the MR Image module, defaults where the reference lacks them).
    """
    out = Dataset()
    get = header.get if header is not None else (lambda _k, _d=None: None)
    body_part = get("BodyPartExamined")
    if body_part:
        _copy(out, "BodyPartExamined", body_part, dropped)
    laterality = get("Laterality")
    if laterality or str(body_part or "").upper() not in _UNPAIRED_BODY_PARTS:
        _copy(out, "Laterality", laterality or None, dropped)
        if "Laterality" not in out:
            out.Laterality = None
    if sop_class != SecondaryCaptureImageStorage:
        _copy(out, "PatientPosition", get("PatientPosition") or None, dropped)
        if "PatientPosition" not in out:
            out.PatientPosition = None
    if sop_class == MRImageStorage:
        for keyword in _MR_ACQUISITION:
            if header is not None and keyword in header:
                _copy(out, keyword, header[keyword].value, dropped)
        for keyword, default in _MR_DEFAULTS.items():
            if keyword not in out:
                setattr(out, keyword, default)
    return out


def add_series_and_equipment(ds: Dataset, plan: Plan) -> None:
    """SOP Common, Patient, General Study, General Series, General Equipment (+ SC)."""
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = plan.sop_class
    ds.SOPInstanceUID = generate_uid()
    ds.InstanceCreationDate, ds.InstanceCreationTime = plan.date, plan.time
    for elem in plan.common:
        ds.add(copy.deepcopy(elem))  # anonymisation edits values in place
    ds.Modality = plan.modality
    ds.SeriesInstanceUID = plan.series_uid
    ds.SeriesNumber = plan.series_number
    ds.SeriesDate, ds.SeriesTime = plan.date, plan.time
    ds.SeriesDescription = plan.series_description
    for keyword in ("BodyPartExamined", "Laterality", "PatientPosition"):
        if keyword in plan.copied:
            ds.add(copy.deepcopy(plan.copied[keyword]))
    # BrainFuse made this series.
    ds.Manufacturer = "BrainFuse"
    ds.ManufacturerModelName = "BrainFuse"
    ds.SoftwareVersions = str(__version__)
    if plan.sop_class == SecondaryCaptureImageStorage:
        ds.ConversionType = "WSD"
        ds.SecondaryCaptureDeviceManufacturer = "BrainFuse"
        ds.SecondaryCaptureDeviceSoftwareVersions = str(__version__)


def add_general_image(ds: Dataset, plan: Plan, k: int, n: int) -> None:
    """General Image: numbering, derivation and the source images behind slice ``k``."""
    ds.InstanceNumber = k + 1
    ds.ContentDate, ds.ContentTime = plan.date, plan.time
    ds.ImageType = ["DERIVED", "SECONDARY", *_IMAGE_TYPE_3.get(plan.sop_class, ())]
    ds.DerivationDescription = plan.derivation
    ds.DerivationCodeSequence = DicomSequence([_code("113042", "DCM", "Pixel by pixel addition")])
    refs = _references(plan.source, k, n)
    for other in plan.other_sources:
        refs += _references(other, k, n)
    if refs:
        ds.SourceImageSequence = _source_image_sequence(refs)
    ds.BurnedInAnnotation = "YES" if plan.burned_in else "NO"
    ds.LossyImageCompression = "00"


def add_plane(ds: Dataset, plan: Plan, fused: ImageVolume, k: int) -> None:
    """Frame of Reference and Image Plane (when the grid has geometry)."""
    direction = fused.direction
    if fused.has_geometry:
        spacing = np.asarray(fused.spacing)
        ds.FrameOfReferenceUID = plan.frame_of_reference
        ds.PositionReferenceIndicator = None
        position = np.asarray(fused.origin) + direction @ (spacing * np.array([0, 0, k]))
        ds.ImagePositionPatient = [_ds(v) for v in position]
        ds.ImageOrientationPatient = [_ds(v) for v in direction[:, :2].T.ravel()]
        ds.PixelSpacing = [_ds(spacing[1]), _ds(spacing[0])]
        header = plan.header
        thickness = (
            header.get("SliceThickness") if header is not None and fused.n_slices == 1 else None
        )
        if (
            thickness
            and invalid_reason("SliceThickness", thickness) is None
            and float(thickness) > 0
        ):
            ds.SliceThickness = _ds(float(thickness))
        else:
            ds.SliceThickness = _ds(spacing[2])
        ds.SliceLocation = _ds(float(position @ direction[:, 2]))
    if plan.sop_class == SecondaryCaptureImageStorage:
        ds.PatientOrientation = _patient_orientation(direction) if fused.has_geometry else None


def add_pixels(ds: Dataset, plan: Plan, fused: ImageVolume, k: int) -> None:
    """Image Pixel (and the rescale and window of grey fusion, see the module notes)."""
    ds.Rows, ds.Columns = fused.shape[1], fused.shape[2]
    ds.PixelRepresentation = 0
    if plan.rgb:
        ds.SamplesPerPixel = 3
        ds.PhotometricInterpretation = "RGB"
        ds.PlanarConfiguration = 0
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
        ds.PixelData = np.ascontiguousarray(fused.array[k], dtype=np.uint8).tobytes()
        return
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
    stored = np.round(STORED_MAX * np.clip(fused.array[k].astype(np.float64), 0, 1))
    ds.PixelData = stored.astype("<u2").tobytes()
    ds.RescaleIntercept = "0"
    ds.RescaleSlope = _ds(1.0 / STORED_MAX)
    if plan.sop_class != MRImageStorage:
        ds.RescaleType = "US"  # unspecified: fused values are not Hounsfield units
    ds.WindowCenter = "0.5"
    ds.WindowWidth = "1"


def add_acquisition(ds: Dataset, plan: Plan) -> None:
    """CT Image / MR Image acquisition attributes (type 2 left empty where unknown)."""
    if plan.sop_class == CTImageStorage:
        ds.KVP = None
        ds.AcquisitionNumber = None
    elif plan.sop_class == MRImageStorage:
        for keyword in (*_MR_ACQUISITION, *_MR_DEFAULTS):
            if keyword in plan.copied and keyword not in ds:
                ds.add(copy.deepcopy(plan.copied[keyword]))


def add_file_meta(ds: Dataset) -> None:
    """File meta information: Explicit VR Little Endian, BrainFuse as the implementation."""
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds.file_meta.ImplementationVersionName = f"BRAINFUSE_{__version__}"[:16]
