"""Write small DICOM files for the tests (classic single-frame slices and enhanced multi-frame).

Real header structure, tiny images: every file is made by pydicom in ``tmp_path`` so each
loader path is covered without shipping data.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import (
    CTImageStorage,
    EnhancedMRImageStorage,
    ExplicitVRLittleEndian,
    MRImageStorage,
    generate_uid,
)

AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
SAGITTAL = (0.0, 1.0, 0.0, 0.0, 0.0, -1.0)


def _base(sop_class: str, modality: str, rows: int, cols: int, series_uid: str, study_uid: str):
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
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.FrameOfReferenceUID = generate_uid()
    ds.SeriesNumber = 3
    ds.SeriesDescription = f"test {modality}"
    ds.Manufacturer = "BrainFuse tests"
    ds.Rows, ds.Columns = rows, cols
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    return ds


def write_slice(
    path: Path,
    pixels: np.ndarray,
    *,
    position: Sequence[float],
    orientation: Sequence[float] = AXIAL,
    spacing: tuple[float, float] = (0.8, 0.8),
    instance: int = 1,
    modality: str = "CT",
    slope: float | None = 1.0,
    intercept: float | None = -1024.0,
    series_uid: str | None = None,
    study_uid: str = "1.2.826.0.1.3680043.8.498.1",
    window: tuple[float, float] | None = (40.0, 80.0),
    photometric: str = "MONOCHROME2",
    patient: dict[str, str] | None = None,
    frame_uid: str | None = None,
) -> Path:
    """Write one classic CT/MR slice; ``pixels`` are stored values (uint16 or int16).

    ``patient`` (DICOM keyword -> value) replaces the test patient; ``frame_uid`` the new
    Frame of Reference UID of each slice.
    """
    pixels = np.asarray(pixels)
    sop = CTImageStorage if modality == "CT" else MRImageStorage
    ds = _base(sop, modality, *pixels.shape, series_uid or "1.2.826.0.1.3680043.8.498.2", study_uid)
    ds.PhotometricInterpretation = photometric
    ds.PixelRepresentation = 1 if pixels.dtype.kind == "i" else 0
    ds.ImagePositionPatient = [float(v) for v in position]
    ds.ImageOrientationPatient = [float(v) for v in orientation]
    ds.PixelSpacing = [spacing[0], spacing[1]]
    ds.SliceThickness = 1.0
    ds.InstanceNumber = instance
    if patient is not None:
        del ds.PatientName, ds.PatientID
        for keyword, value in patient.items():
            setattr(ds, keyword, value)
    if frame_uid is not None:
        ds.FrameOfReferenceUID = frame_uid
    if slope is not None:
        ds.RescaleSlope = slope
        ds.RescaleIntercept = intercept
        ds.RescaleType = "HU" if modality == "CT" else "US"
    if window is not None:
        ds.WindowCenter, ds.WindowWidth = window
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
    ds = _base(EnhancedMRImageStorage, "MR", rows, cols, generate_uid(), generate_uid())
    ds.PixelRepresentation = 0
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
