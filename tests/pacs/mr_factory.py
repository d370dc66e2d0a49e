"""Write MR series for the PACS tests: synthetic, or derived from the CT series (same patient,
study and frame of reference, coarser grid, MR-like contrast)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid


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
    paths = []
    for k, plane in enumerate(np.asarray(volume, dtype=np.uint16)):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = MRImageStorage
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID = MRImageStorage
        ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
        ds.Modality = "MR"
        ds.PatientName, ds.PatientID = patient_name, patient_id
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
        ds.StudyDate, ds.StudyID = study_date, "1"
        ds.FrameOfReferenceUID = frame_uid
        ds.SeriesNumber, ds.InstanceNumber = series_number, k + 1
        ds.SeriesDescription = "T1-like MR written by the PACS tests"
        ds.Manufacturer = "BrainFuse tests"
        ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
        ds.ImagePositionPatient = [origin[0], origin[1], origin[2] + k * spacing[2]]
        ds.PixelSpacing = [spacing[1], spacing[0]]
        ds.SliceThickness = spacing[2]
        ds.Rows, ds.Columns = plane.shape
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
        ds.PixelData = plane.astype("<u2").tobytes()
        path = folder / f"mr_{k:03d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


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
