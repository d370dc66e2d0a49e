"""Write small DICOM files for the tests: the one place that makes a DICOM dataset.

Real header structure, tiny images: every file is made by pydicom in ``tmp_path`` so each
loader, exporter and PACS path is covered without shipping data. Classic single-frame
slices (:func:`write_slice`), axial series (:func:`write_series`), a series of any
:class:`~brainfuse.model.image.ImageVolume` (:func:`write_volume_series`), an enhanced
multi-frame MR (:func:`write_enhanced_mr`), MR series for the PACS tests
(:func:`synthetic_mr`, :func:`mr_from_ct`) and a non-image report (:func:`write_text_report`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import (
    BasicTextSRStorage,
    CTImageStorage,
    EnhancedMRImageStorage,
    ExplicitVRLittleEndian,
    MRImageStorage,
    generate_uid,
)

from brainfuse.model.image import ImageVolume

AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
SAGITTAL = (0.0, 1.0, 0.0, 0.0, 0.0, -1.0)
STUDY_UID = "1.2.826.0.1.3680043.8.498.1"
SERIES_UID = "1.2.826.0.1.3680043.8.498.2"

#: A decimal string value: a number, or a string written as it is (to control its digits).
DS = float | str


def _ds(value: DS) -> DS:
    return value if isinstance(value, str) else float(value)


def new_dataset(
    sop_class: str,
    modality: str,
    *,
    study_uid: str | None = None,
    series_uid: str | None = None,
    **attributes: object,
) -> Dataset:
    """A dataset with its file meta (explicit VR little endian), identity and ``attributes``.

    Defaults: a made-up patient (``Test^Patient``, ``TEST-001``), new study, series, frame of
    reference and instance UIDs, series number 3; any of them is overridden by
    ``attributes`` (DICOM keywords).
    """
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = modality
    ds.PatientName = "Test^Patient"
    ds.PatientID = "TEST-001"
    ds.StudyInstanceUID = study_uid or generate_uid()
    ds.SeriesInstanceUID = series_uid or generate_uid()
    ds.FrameOfReferenceUID = generate_uid()
    ds.SeriesNumber = 3
    ds.SeriesDescription = f"test {modality}"
    ds.Manufacturer = "BrainFuse tests"
    for key, value in attributes.items():
        setattr(ds, key, value)
    return ds


def write_slice(
    path: Path,
    pixels: np.ndarray,
    *,
    position: Sequence[DS],
    orientation: Sequence[DS] = AXIAL,
    spacing: tuple[DS, DS] = (0.8, 0.8),
    instance: int = 1,
    modality: str = "CT",
    slope: DS | None = 1.0,
    intercept: DS | None = -1024.0,
    series_uid: str | None = None,
    study_uid: str = STUDY_UID,
    window: tuple[float, float] | None = (40.0, 80.0),
    photometric: str = "MONOCHROME2",
    **attributes: object,
) -> Path:
    """Write one classic CT/MR slice; ``pixels`` are stored values (uint16 or int16).

    ``spacing`` is PixelSpacing (row, column), mm. ``attributes`` (DICOM keywords) are set
    last, so they override any default (``PatientName``, ``BitsStored``, ``SliceThickness``).
    """
    pixels = np.asarray(pixels)
    rows, cols = pixels.shape
    ds = new_dataset(
        CTImageStorage if modality == "CT" else MRImageStorage,
        modality,
        study_uid=study_uid,
        series_uid=series_uid or SERIES_UID,
    )
    ds.Rows, ds.Columns = rows, cols
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
    ds.PixelRepresentation = 1 if pixels.dtype.kind == "i" else 0
    ds.ImagePositionPatient = [_ds(v) for v in position]
    ds.ImageOrientationPatient = [_ds(v) for v in orientation]
    ds.PixelSpacing = [_ds(spacing[0]), _ds(spacing[1])]
    ds.SliceThickness = 1.0
    ds.InstanceNumber = instance
    if slope is not None:
        ds.RescaleSlope = slope
        ds.RescaleIntercept = intercept
        ds.RescaleType = "HU" if modality == "CT" else "US"
    if window is not None:
        ds.WindowCenter, ds.WindowWidth = window
    for key, value in attributes.items():
        setattr(ds, key, value)
    ds.PixelData = pixels.astype(pixels.dtype.newbyteorder("<")).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def write_series(
    folder: Path,
    volume: np.ndarray,
    *,
    z0: float = -40.0,
    dz: float = 2.5,
    order: Sequence[int] | None = None,
    instances: Sequence[int] | None = None,
    series_uid: str | None = None,
    **kwargs,
) -> list[Path]:
    """Write ``volume`` (stored values, (z, y, x), slice k at z0 + k·dz) as one axial series.

    ``order`` gives the sequence in which slices are written (and named ``img_000.dcm``…),
    ``instances`` the InstanceNumber of each slice: both may be shuffled on purpose.
    """
    n = volume.shape[0]
    order = list(order if order is not None else range(n))
    instances = list(instances if instances is not None else range(1, n + 1))
    uid = series_uid or generate_uid()
    paths = []
    for i, k in enumerate(order):
        paths.append(
            write_slice(
                folder / f"img_{i:03d}.dcm",
                volume[k],
                position=(-10.0, -12.0, z0 + k * dz),
                instance=instances[k],
                series_uid=uid,
                **kwargs,
            )
        )
    return paths


def write_volume_series(
    folder: Path,
    volume: ImageVolume,
    stored: np.ndarray,
    *,
    name: Callable[[int], str],
    instance: Callable[[int], int],
    position_digits: int = 5,
    **kwargs,
) -> Path:
    """One file per slice of ``volume`` (any right-handed orientation), ``stored`` values.

    Positions follow the volume's geometry (``position_digits`` decimals); file names
    (``name(k)``) and InstanceNumbers (``instance(k)``) need not follow the slice order, so
    a loader must order by ImagePositionPatient. ``kwargs`` go to :func:`write_slice`
    (modality, rescale, attributes); study, series and frame of reference are shared.
    """
    d = np.asarray(volume.direction, dtype=float)
    assert np.allclose(np.cross(d[:, 0], d[:, 1]), d[:, 2]), "slices must stack along row×col"
    folder.mkdir()
    kwargs.setdefault("study_uid", generate_uid())
    kwargs.setdefault("series_uid", generate_uid())
    kwargs.setdefault("FrameOfReferenceUID", generate_uid())
    for k in range(volume.shape[0]):
        position = np.asarray(volume.origin) + k * volume.spacing[2] * d[:, 2]
        write_slice(
            folder / name(k),
            stored[k],
            position=[f"{v:.{position_digits}f}" for v in position],
            orientation=[f"{v:.6f}" for v in (*d[:, 0], *d[:, 1])],
            spacing=(f"{volume.spacing[1]:g}", f"{volume.spacing[0]:g}"),  # row, column
            instance=instance(k),
            SliceThickness=f"{volume.spacing[2]:g}",
            **kwargs,
        )
    return folder


def write_enhanced_mr(
    path: Path,
    frames: np.ndarray,
    *,
    z_positions: Sequence[float],
    slopes: Sequence[float],
    intercepts: Sequence[float],
    spacing: tuple[float, float] = (1.0, 1.0),
) -> Path:
    """Write an Enhanced MR multi-frame file with per-frame positions and rescale."""
    n, rows, cols = frames.shape
    ds = new_dataset(EnhancedMRImageStorage, "MR")
    ds.Rows, ds.Columns = rows, cols
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.NumberOfFrames = n
    shared = Dataset()
    orient = Dataset()
    orient.ImageOrientationPatient = list(AXIAL)
    measures = Dataset()
    measures.PixelSpacing = list(spacing)
    measures.SliceThickness = 2.0
    voi = Dataset()
    voi.WindowCenter, voi.WindowWidth = 300.0, 600.0
    shared.PlaneOrientationSequence = DicomSequence([orient])
    shared.PixelMeasuresSequence = DicomSequence([measures])
    shared.FrameVOILUTSequence = DicomSequence([voi])
    ds.SharedFunctionalGroupsSequence = DicomSequence([shared])
    per_frame = []
    for z, slope, inter in zip(z_positions, slopes, intercepts, strict=True):
        item = Dataset()
        pos = Dataset()
        pos.ImagePositionPatient = [0.0, 0.0, float(z)]
        pvt = Dataset()
        pvt.RescaleSlope, pvt.RescaleIntercept, pvt.RescaleType = slope, inter, "US"
        item.PlanePositionSequence = DicomSequence([pos])
        item.PixelValueTransformationSequence = DicomSequence([pvt])
        per_frame.append(item)
    ds.PerFrameFunctionalGroupsSequence = DicomSequence(per_frame)
    ds.PixelData = frames.astype("<u2").tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def write_text_report(path: Path, study: Dataset) -> Dataset:
    """A minimal Basic Text SR (a report, not an image) in the study of ``study``."""
    ds = new_dataset(
        BasicTextSRStorage,
        "SR",
        **{k: study[k].value for k in ("PatientName", "PatientID", "StudyInstanceUID")},
        StudyDate=study["StudyDate"].value,
        StudyID=study["StudyID"].value,
        SeriesNumber=99,
        SeriesDescription="report",
    )
    del ds.FrameOfReferenceUID, ds.Manufacturer
    ds.ValueType, ds.CompletionFlag, ds.VerificationFlag = "CONTAINER", "COMPLETE", "UNVERIFIED"
    ds.save_as(path, enforce_file_format=True)
    return ds


# ---------------------------------------------------------------------- MR series for PACS
def write_mr_series(
    folder: Path,
    volume: np.ndarray,
    *,
    study_uid: str,
    patient_id: str,
    patient_name: str,
    frame_uid: str,
    origin: tuple[float, float, float],
    spacing: tuple[float, float, float],
    study_date: str = "20240101",
    series_number: int = 5,
) -> list[Path]:
    """Write ``volume`` (uint16, (z, y, x)) as an axial MR series; slice k at origin + k·dz."""
    folder.mkdir(parents=True, exist_ok=True)
    series_uid = generate_uid()
    return [
        write_slice(
            folder / f"mr_{k:03d}.dcm",
            plane,
            position=(origin[0], origin[1], origin[2] + k * spacing[2]),
            spacing=(spacing[1], spacing[0]),
            instance=k + 1,
            modality="MR",
            slope=None,
            window=None,
            series_uid=series_uid,
            study_uid=study_uid,
            PatientName=patient_name,
            PatientID=patient_id,
            StudyDate=study_date,
            StudyID="1",
            FrameOfReferenceUID=frame_uid,
            SeriesNumber=series_number,
            SeriesDescription="T1-like MR written by the PACS tests",
            SliceThickness=spacing[2],
        )
        for k, plane in enumerate(np.asarray(volume, dtype=np.uint16))
    ]


def synthetic_mr(folder: Path, *, n_slices: int = 12, size: int = 64, **ids) -> list[Path]:
    """A small MR series (a bright ellipsoid with a dark rim) of a made-up patient."""
    z, y, x = np.mgrid[-1 : 1 : n_slices * 1j, -1 : 1 : size * 1j, -1 : 1 : size * 1j]
    r = np.sqrt(x**2 + y**2 + (z * 0.8) ** 2)
    volume = np.where(r < 0.7, 800 + 200 * np.cos(6 * x), np.where(r < 0.8, 100, 0))
    defaults = dict(
        study_uid=generate_uid(),
        patient_id="PACSTEST-42",
        patient_name="Pacs^Test",
        frame_uid=generate_uid(),
        origin=(-64.0, -64.0, -30.0),
        spacing=(2.0, 2.0, 5.0),
    )
    defaults.update(ids)
    return write_mr_series(folder, volume, **defaults)


def mr_from_ct(ct_dir: Path, folder: Path, *, shrink: int = 2, every: int = 2) -> list[Path]:
    """An MR-like series of the CT's patient and study: every ``every``-th slice, ``shrink``
    times coarser in-plane; soft tissue bright, bone dark, air black."""
    datasets = [pydicom.dcmread(f) for f in sorted(ct_dir.glob("*.dcm"))]
    datasets.sort(key=lambda d: float(d.ImagePositionPatient[2]))
    picked = datasets[::every]
    hu = np.stack(
        [
            d.pixel_array[::shrink, ::shrink] * float(d.get("RescaleSlope", 1))
            + float(d.get("RescaleIntercept", 0))
            for d in picked
        ]
    )
    mr = np.where(hu < -300, 0.0, np.where(hu > 300, 150.0, 700.0 + 3.0 * np.clip(hu, -100, 100)))
    first = picked[0]
    dx, dy = (float(v) * shrink for v in first.PixelSpacing[::-1])
    dz = float(picked[1].ImagePositionPatient[2]) - float(first.ImagePositionPatient[2])
    x0, y0, z0 = (float(v) for v in first.ImagePositionPatient)
    return write_mr_series(
        folder,
        mr,
        study_uid=first.StudyInstanceUID,
        patient_id=first.PatientID,
        patient_name=str(first.PatientName),
        frame_uid=first.FrameOfReferenceUID,
        origin=(x0, y0, z0),
        spacing=(dx, dy, dz),
        study_date=first.get("StudyDate", ""),
    )
