r"""DICOM export: the fused image as a new derived series beside its sources.

SOP class (chosen per export, see :func:`choose_sop_class`):

* grey fusion on the grid of a DICOM **CT** or **MR** series -> the same storage class as
  that reference (CT Image / MR Image Storage). These classic IODs carry the Frame of
  Reference and Image Plane modules, so every PACS and viewer stacks the fused series by
  position in the reference's study and frame of reference, and scrolls it in step with
  the sources. ImageType is ``DERIVED\SECONDARY``.
* colour (RGB fusion or a burned-in overlay), a reference that is not CT/MR DICOM or has
  no usable geometry, or no DICOM source at all -> Secondary Capture Image Storage (grey or RGB), which makes no
  acquisition claims. Geometry (Frame of Reference, plane position) is still written when
  the grid has it, as attributes outside the SC IOD (dciodvfy reports them as warnings),
  so the series reloads on the same grid.

Pixel encoding of grey fusion (values ``x`` in ``[0, 1]``): unsigned 16-bit words holding
``round(4095 * x)`` (BitsStored 12), RescaleSlope ``1/4095``, RescaleIntercept 0, so the
stored value maps back to ``x`` within ``1/8190``, 16 times finer than the 8-bit display;
12 bits stored is what every CT/MR reader handles. The default display window
(WindowCenter 0.5, WindowWidth 1) shows the whole range. RGB is stored as 8-bit RGB.

One file per slice (``0001.dcm``, ...), new SeriesInstanceUID and SOPInstanceUIDs from
``pydicom.uid.generate_uid``; patient and study come from the reference series (or, for
non-DICOM sources, only from what the user gives, empty by default - never invented).
"""

from __future__ import annotations

import copy
import datetime as _dt
import io
import logging
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
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
from brainfuse.export.anonymize import UIDMap, anonymize_dataset
from brainfuse.export.atomic import write_bytes_atomic, write_folder_atomic
from brainfuse.export.dicom_values import attribute_name, invalid_reason
from brainfuse.export.provenance import provenance_text
from brainfuse.export.render import as_uint8_rgb
from brainfuse.export.seg import SEG_FILE_NAME, build_segmentation, header_only
from brainfuse.model.image import PATIENT_KEYWORDS, STUDY_KEYWORDS, ImageVolume, SourceIdentity

__all__ = [
    "STORED_MAX",
    "build_series",
    "choose_sop_class",
    "write_dicom",
]

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
_ORDERED_CLASSES = {"CT": CTImageStorage, "MR": MRImageStorage}
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


def _is_dicom(source: SourceIdentity | None) -> bool:
    return bool(source and source.study_instance_uid and source.sop_instance_uids)


def choose_sop_class(fused: ImageVolume, reference: ImageVolume | None, *, rgb: bool) -> str:
    """Choose the SOP class UID for this export (rules in the module notes)."""
    if rgb or reference is None or not _is_dicom(reference.source) or not fused.has_geometry:
        return SecondaryCaptureImageStorage
    return _ORDERED_CLASSES.get(reference.modality, SecondaryCaptureImageStorage)


def _read_reference_header(source: SourceIdentity) -> Dataset | None:
    """Header of the reference's first file (read-only, no pixels), if still readable."""
    for path in source.files[:1]:
        try:
            return pydicom.dcmread(path, stop_before_pixels=True)
        except (OSError, pydicom.errors.InvalidDicomError) as exc:
            log.warning("could not re-read the reference header %s: %s", path, exc)
    return None


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


def _patient_and_study(
    reference: ImageVolume | None,
    header: Dataset | None,
    patient: Mapping[str, Any] | None,
    dropped: list[str],
) -> Dataset:
    """Patient and General Study modules: from the DICOM reference, else from ``patient``.

    Values from the reference that are invalid for their attribute are left out and named
    in ``dropped``; values the user gives in ``patient`` must be valid.
    """
    out = Dataset()
    source = reference.source if reference is not None else None
    if _is_dicom(source):
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
    if not _is_dicom(source) or not source.sop_class_uid:
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


def _series_description(provenance: Mapping[str, Any], rgb: bool, overlay: bool) -> str:
    method = provenance.get("method", "fusion")
    # anatomy helper (issue 12): the fusion rule that ran, e.g. "cnn anatomy"
    if provenance.get("rule"):
        method = f"{method} {provenance['rule']}"
    extra = ", overlay" if overlay else (", colour" if rgb else "")
    return f"BrainFuse fusion ({method}{extra})"[:64]


def _derivation_description(provenance: Mapping[str, Any], dropped: Sequence[str]) -> str:
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
class _Plan:
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


def _reference_attributes(header: Dataset | None, sop_class: str, dropped: list[str]) -> Dataset:
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


def _plan(
    fused: ImageVolume,
    reference: ImageVolume | None,
    provenance: Mapping[str, Any],
    patient: Mapping[str, Any] | None,
    other_sources: Sequence[SourceIdentity],
    rgb: bool,
    burned_in: bool,
    series_description: str | None,
    now: _dt.datetime | None,
) -> _Plan:
    sop_class = choose_sop_class(fused, reference, rgb=rgb)
    source = reference.source if reference is not None else SourceIdentity()
    dicom_ref = _is_dicom(source)
    header = _read_reference_header(source) if dicom_ref else None
    dropped: list[str] = []
    common = _patient_and_study(reference, header, patient, dropped)
    copied = _reference_attributes(header, sop_class, dropped)
    frame_of_reference = source.frame_of_reference_uid if dicom_ref else None
    if frame_of_reference and invalid_reason("FrameOfReferenceUID", frame_of_reference):
        dropped.append("FrameOfReferenceUID")
        frame_of_reference = None
    now = now or _dt.datetime.now()
    ordered = reference is not None and sop_class in _ORDERED_CLASSES.values()
    return _Plan(
        sop_class=sop_class,
        modality=reference.modality if ordered and reference is not None else "OT",
        rgb=rgb,
        burned_in=burned_in,
        header=header,
        common=common,
        source=source,
        other_sources=other_sources,
        date=now.strftime("%Y%m%d"),
        time=now.strftime("%H%M%S.%f"),
        series_uid=generate_uid(),
        series_number=(source.series_number or 0) + 1000 if dicom_ref else 1000,
        series_description=series_description or _series_description(provenance, rgb, burned_in),
        derivation=_derivation_description(provenance, dropped),
        frame_of_reference=frame_of_reference or generate_uid(),
        copied=copied,
    )


def _add_series_and_equipment(ds: Dataset, plan: _Plan) -> None:
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


def _add_general_image(ds: Dataset, plan: _Plan, k: int, n: int) -> None:
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


def _add_plane(ds: Dataset, plan: _Plan, fused: ImageVolume, k: int) -> None:
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


def _add_pixels(ds: Dataset, plan: _Plan, fused: ImageVolume, k: int) -> None:
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


def _add_acquisition(ds: Dataset, plan: _Plan) -> None:
    """CT Image / MR Image acquisition attributes (type 2 left empty where unknown)."""
    if plan.sop_class == CTImageStorage:
        ds.KVP = None
        ds.AcquisitionNumber = None
    elif plan.sop_class == MRImageStorage:
        for keyword in (*_MR_ACQUISITION, *_MR_DEFAULTS):
            if keyword in plan.copied and keyword not in ds:
                ds.add(copy.deepcopy(plan.copied[keyword]))


def _add_file_meta(ds: Dataset) -> None:
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds.file_meta.ImplementationVersionName = f"BRAINFUSE_{__version__}"[:16]


def _checked_fused(fused: ImageVolume, reference: ImageVolume | None) -> ImageVolume:
    """``fused`` ready to store: RGB as uint8, grey checked to lie in [0, 1] on the grid."""
    if fused.is_rgb:
        if fused.array.dtype != np.uint8:  # float colour in [0, 1]
            fused = fused.with_array(as_uint8_rgb(fused.array))
    else:
        lo, hi = fused.value_range()
        if lo < -1e-6 or hi > 1 + 1e-6 or not np.isfinite([lo, hi]).all():
            raise ExportError(
                f"The fused image must hold values in [0, 1] for DICOM export; got {lo:g}..{hi:g}."
            )
    if reference is not None and reference.shape != fused.shape:
        raise ExportError(
            f"The fused image ({fused.shape}) is not on the grid of the reference "
            f"'{reference.name}' ({reference.shape})."
        )
    return fused


def build_series(
    fused: ImageVolume,
    *,
    reference: ImageVolume | None,
    provenance: Mapping[str, Any],
    other_sources: Sequence[SourceIdentity] = (),
    patient: Mapping[str, Any] | None = None,
    anonymize: bool = False,
    burned_in_annotation: bool = False,
    series_description: str | None = None,
    uid_salt: str = "",
    now: _dt.datetime | None = None,
) -> Iterator[Dataset]:
    """Build the datasets of the derived series, one per slice (see the module notes).

    Parameters
    ----------
    fused : ImageVolume
        ``(Z, Y, X)`` float in ``[0, 1]`` or ``(Z, Y, X, 3)`` RGB (uint8, or float in
        ``[0, 1]``), on the grid of ``reference``.
    reference : ImageVolume or None
        The source defining the grid; its :class:`SourceIdentity` gives study, frame of
        reference and patient when it is DICOM. Attributes whose values in the source are
        invalid for their VR, value multiplicity or enumerated values are left out (type 2
        ones kept empty) and named in the Derivation Description
        (:mod:`brainfuse.export.dicom_values`).
    provenance : mapping
        Record from :func:`brainfuse.export.provenance.make_provenance`.
    other_sources : sequence of SourceIdentity
        Further sources (e.g. the resampled CT) to list in SourceImageSequence.
    patient : mapping, optional
        DICOM keyword -> value for the patient/study modules (used as given, overriding the
        reference's); the only patient data of a non-DICOM export. Must be valid.
    anonymize : bool
        Apply :func:`brainfuse.export.anonymize.anonymize_dataset`.
    burned_in_annotation : bool
        The pixels contain burned-in graphics (overlay legend).
    series_description : str, optional
        Overrides ``"BrainFuse fusion (<method>)"``.
    uid_salt : str
        Salt of the anonymisation UID map.
    now : datetime, optional
        Creation time written into the files (default: the current local time).

    Yields
    ------
    pydicom.dataset.Dataset
        One dataset with ``file_meta`` per slice, in slice order.

    Raises
    ------
    ExportError
        Values out of range, grid mismatch, an unknown or invalid ``patient`` attribute.
    """
    fused = _checked_fused(fused, reference)
    plan = _plan(
        fused,
        reference,
        provenance,
        patient,
        other_sources,
        bool(fused.is_rgb),
        burned_in_annotation,
        series_description,
        now,
    )
    uids = UIDMap(uid_salt)
    n = fused.n_slices
    for k in range(n):
        ds = Dataset()
        _add_series_and_equipment(ds, plan)
        _add_general_image(ds, plan, k, n)
        _add_plane(ds, plan, fused, k)
        _add_pixels(ds, plan, fused, k)
        _add_acquisition(ds, plan)
        _add_file_meta(ds)
        if anonymize:
            anonymize_dataset(ds, uids)
        yield ds


def _encode(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    pydicom.dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()


def write_dicom(
    fused: ImageVolume,
    out: str | os.PathLike[str],
    *,
    reference: ImageVolume | None,
    provenance: Mapping[str, Any],
    other_sources: Sequence[SourceIdentity] = (),
    patient: Mapping[str, Any] | None = None,
    anonymize: bool = False,
    burned_in_annotation: bool = False,
    series_description: str | None = None,
    uid_salt: str = "",
    overwrite: bool = False,
    sources: Iterable[str | os.PathLike[str]] = (),
    decision_map: np.ndarray | None = None,
) -> list[Path]:
    """Write the derived series (see :func:`build_series`) atomically.

    Parameters
    ----------
    out : path
        A ``.dcm`` file for a single slice, else a folder created with one file per slice
        (``0001.dcm``, ...).
    overwrite : bool
        Replace an existing output.
    sources : iterable of paths
        Source files and folders the output may not replace (the reference's and other
        sources' files are added automatically).
    decision_map : (Z, Y, X) array, optional
        The hard decision map; also write it as a DICOM Segmentation of the series
        (:mod:`brainfuse.export.seg`): ``decision_map_seg.dcm`` inside the folder, or
        ``<name>_seg.dcm`` beside a single ``.dcm`` file. Written last, in the same
        all-or-nothing step.

    Other Parameters
    ----------------
        See :func:`build_series`.

    Returns
    -------
    list of Path
        The files written, in slice order.

    Raises
    ------
    ExportError
        Values out of range, grid mismatch, the output exists or is a source, or the write
        failed (nothing is left behind).
    """
    protected = [*sources]
    if reference is not None:
        protected += [*reference.source.files, reference.path]
    for other in other_sources:
        protected += list(other.files)
    datasets = build_series(
        fused,
        reference=reference,
        provenance=provenance,
        other_sources=other_sources,
        patient=patient,
        anonymize=anonymize,
        burned_in_annotation=burned_in_annotation,
        series_description=series_description,
        uid_salt=uid_salt,
    )
    if str(out).lower().endswith(".dcm"):
        if fused.n_slices != 1:
            raise ExportError(
                f"'{out}' names one file but the fused volume has {fused.n_slices} slices; "
                "give a folder, or choose one slice."
            )
        return _write_one_file(
            Path(out), next(datasets), decision_map, provenance, overwrite, protected
        )
    digits = max(4, len(str(fused.n_slices)))
    headers: list[Dataset] = []

    def files() -> Iterator[tuple[str, bytes]]:
        for k, ds in enumerate(datasets):
            if decision_map is not None:
                headers.append(header_only(ds))
            yield f"{k + 1:0{digits}d}.dcm", _encode(ds)
        if decision_map is not None:
            yield SEG_FILE_NAME, _encode(build_segmentation(headers, decision_map, provenance))

    return write_folder_atomic(
        out, files(), overwrite=overwrite, sources=protected, replaceable=(".dcm",)
    )


def _write_one_file(
    out: Path,
    ds: Dataset,
    decision_map: np.ndarray | None,
    provenance: Mapping[str, Any],
    overwrite: bool,
    protected: list,
) -> list[Path]:
    """One slice in ``out`` and, with a map, its SEG beside it (both or neither)."""
    if decision_map is None:
        return [write_bytes_atomic(out, _encode(ds), overwrite=overwrite, sources=protected)]
    seg = _encode(build_segmentation([header_only(ds)], decision_map, provenance))
    seg_path = out.with_name(f"{out.stem}_seg.dcm")
    if seg_path.exists() and not overwrite:  # refused before anything is written
        raise ExportError(f"'{seg_path}' exists; choose another name or allow overwriting.")
    written = [write_bytes_atomic(out, _encode(ds), overwrite=overwrite, sources=protected)]
    try:
        written.append(write_bytes_atomic(seg_path, seg, overwrite=overwrite, sources=protected))
    except BaseException:
        written[0].unlink(missing_ok=True)
        raise
    return written
