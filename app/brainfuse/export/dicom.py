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
``pydicom.uid.generate_uid``; patient and study come from one DICOM source, never a mix:
``identity`` where given and DICOM (the caller's choice, :mod:`brainfuse.export.identity`),
else the reference series; for non-DICOM sources only from what the user gives, empty by
default - never invented. The DICOM modules themselves are built in
:mod:`brainfuse.export.dicom_modules`.
"""

from __future__ import annotations

import datetime as _dt
import io
import logging
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.uid import (
    SecondaryCaptureImageStorage,
    generate_uid,
)

from brainfuse.errors import ExportError
from brainfuse.export.anonymize import UIDMap, anonymize_dataset
from brainfuse.export.atomic import write_bytes_atomic, write_folder_atomic
from brainfuse.export.dicom_modules import (
    ORDERED_CLASSES,
    STORED_MAX,
    Plan,
    add_acquisition,
    add_file_meta,
    add_general_image,
    add_pixels,
    add_plane,
    add_series_and_equipment,
    default_series_description,
    derivation_description,
    is_dicom,
    patient_and_study,
    reference_attributes,
)
from brainfuse.export.dicom_values import invalid_reason
from brainfuse.export.render import as_uint8_rgb
from brainfuse.export.seg import SEG_FILE_NAME, build_segmentation, header_only
from brainfuse.model.image import ImageVolume, SourceIdentity

__all__ = [
    "STORED_MAX",
    "build_series",
    "choose_sop_class",
    "write_dicom",
]

log = logging.getLogger(__name__)


def choose_sop_class(fused: ImageVolume, reference: ImageVolume | None, *, rgb: bool) -> str:
    """Choose the SOP class UID for this export (rules in the module notes)."""
    if rgb or reference is None or not is_dicom(reference.source) or not fused.has_geometry:
        return SecondaryCaptureImageStorage
    return ORDERED_CLASSES.get(reference.modality, SecondaryCaptureImageStorage)


def _read_reference_header(source: SourceIdentity) -> Dataset | None:
    """Header of the reference's first file (read-only, no pixels), if still readable."""
    for path in source.files[:1]:
        try:
            return pydicom.dcmread(path, stop_before_pixels=True)
        except (OSError, pydicom.errors.InvalidDicomError) as exc:
            log.warning("could not re-read the reference header %s: %s", path, exc)
    return None


def _plan(
    fused: ImageVolume,
    reference: ImageVolume | None,
    identity: ImageVolume | None,
    provenance: Mapping[str, Any],
    patient: Mapping[str, Any] | None,
    other_sources: Sequence[SourceIdentity],
    rgb: bool,
    burned_in: bool,
    series_description: str | None,
    now: _dt.datetime | None,
) -> Plan:
    sop_class = choose_sop_class(fused, reference, rgb=rgb)
    source = reference.source if reference is not None else SourceIdentity()
    dicom_ref = is_dicom(source)
    header = _read_reference_header(source) if dicom_ref else None
    owner = _owner(reference, identity)
    own = owner.source if owner is not None else SourceIdentity()
    own_header = header if owner is reference else _read_reference_header(own)
    dropped: list[str] = []
    common = patient_and_study(owner, own_header, patient, dropped)
    copied = reference_attributes(header, sop_class, dropped)
    frame_of_reference = source.frame_of_reference_uid if dicom_ref else None
    if frame_of_reference and invalid_reason("FrameOfReferenceUID", frame_of_reference):
        dropped.append("FrameOfReferenceUID")
        frame_of_reference = None
    now = now or _dt.datetime.now()
    ordered = reference is not None and sop_class in ORDERED_CLASSES.values()
    return Plan(
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
        series_number=(own.series_number or 0) + 1000 if is_dicom(own) else 1000,
        series_description=series_description
        or default_series_description(provenance, rgb, burned_in),
        derivation=derivation_description(provenance, dropped),
        frame_of_reference=frame_of_reference or generate_uid(),
        copied=copied,
    )


def _owner(reference: ImageVolume | None, identity: ImageVolume | None) -> ImageVolume | None:
    """Pick the source whose patient and study the series takes.

    ``identity`` where it is DICOM, else the reference (with its patient data, if any).
    """
    if identity is not None and is_dicom(identity.source):
        return identity
    return reference


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
    identity: ImageVolume | None = None,
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
    identity : ImageVolume, optional
        The source whose patient and study the series takes when it is DICOM (e.g. the
        DICOM CT of a fusion on a NIfTI MRI's grid, or the CT when both are DICOM); default
        the reference. The frame of reference stays the reference's (the grid's).

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
        identity,
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
        add_series_and_equipment(ds, plan)
        add_general_image(ds, plan, k, n)
        add_plane(ds, plan, fused, k)
        add_pixels(ds, plan, fused, k)
        add_acquisition(ds, plan)
        add_file_meta(ds)
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
    identity: ImageVolume | None = None,
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
        identity=identity,
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
