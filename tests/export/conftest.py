"""Fixtures for the export tests: DICOM sources (pydicom's bundled files and a small MR
series written to tmp_path with patient-like fields), a loader, source hash guards."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

from brainfuse.export import make_provenance
from brainfuse.model.image import ImageVolume, SourceIdentity

DCIODVFY = shutil.which("dciodvfy")
RAS_TO_LPS = np.diag([-1.0, -1.0, 1.0, 1.0])

# Identity of the patient of the test series: none of these may leak into anonymised output.
PATIENT = {
    "PatientName": "Testperson^Magdalena^Q",
    "PatientID": "PID-7781242",
    "PatientBirthDate": "19610203",
    "InstitutionName": "Saint Exemplar Neurological Hospital",
}


def _load_dicom_fallback(path: Path) -> ImageVolume:
    """Stand-in for ``brainfuse.io.load`` on single-frame DICOM, sorted along the normal."""
    files = sorted(path.iterdir()) if path.is_dir() else [path]
    datasets = [(f, pydicom.dcmread(f)) for f in files]
    iop = np.asarray(datasets[0][1].ImageOrientationPatient, dtype=float)
    normal = np.cross(iop[:3], iop[3:])
    datasets.sort(key=lambda fd: float(np.dot(normal, fd[1].ImagePositionPatient)))
    ds0 = datasets[0][1]
    arrays = [
        d.pixel_array * float(d.get("RescaleSlope", 1)) + float(d.get("RescaleIntercept", 0))
        for _, d in datasets
    ]
    positions = [np.asarray(d.ImagePositionPatient, dtype=float) for _, d in datasets]
    dz = (
        float(np.dot(positions[-1] - positions[0], normal) / (len(positions) - 1))
        if len(positions) > 1
        else float(ds0.get("SliceThickness", 1.0))
    )
    source = SourceIdentity(
        study_instance_uid=ds0.StudyInstanceUID,
        series_instance_uid=ds0.SeriesInstanceUID,
        sop_class_uid=ds0.SOPClassUID,
        sop_instance_uids=tuple(d.SOPInstanceUID for _, d in datasets),
        frame_of_reference_uid=ds0.get("FrameOfReferenceUID"),
        series_number=ds0.get("SeriesNumber"),
        patient={k: ds0[k].value for k in ("PatientName", "PatientID") if k in ds0},
        study={k: ds0[k].value for k in ("StudyDate", "StudyID") if k in ds0},
        files=tuple(str(f) for f, _ in datasets),
    )
    return ImageVolume(
        np.stack(arrays).astype(np.float32),
        spacing=(float(ds0.PixelSpacing[1]), float(ds0.PixelSpacing[0]), dz),
        origin=tuple(positions[0]),
        direction=np.column_stack([iop[:3], iop[3:], normal]),
        modality=ds0.Modality,
        source=source,
        path=str(path),
        format="DICOM",
    )


def _load_nifti_fallback(path: Path) -> ImageVolume:
    image = nib.load(path)
    affine = RAS_TO_LPS @ image.affine
    spacing = np.linalg.norm(affine[:3, :3], axis=0)
    return ImageVolume(
        np.asarray(image.dataobj).transpose(2, 1, 0),
        spacing=tuple(spacing),
        origin=tuple(affine[:3, 3]),
        direction=affine[:3, :3] / spacing,
        path=str(path),
        format="NIfTI",
    )


def load_volume(path: str | Path) -> ImageVolume:
    """Load through ``brainfuse.io.load``; until that lands, a minimal local stand-in."""
    try:
        from brainfuse.io import load
    except ImportError:
        load = None
    if load is not None:
        return load(path)
    path = Path(path)
    if path.name.endswith((".nii", ".nii.gz")):
        return _load_nifti_fallback(path)
    return _load_dicom_fallback(path)


def sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture
def guard_sources() -> Iterable[Callable[..., None]]:
    """``guard_sources(*paths)``: the files must be byte-identical when the test ends."""
    recorded: dict[Path, str] = {}

    def guard(*paths: str | Path) -> None:
        for p in paths:
            p = Path(p)
            for f in sorted(p.rglob("*")) if p.is_dir() else [p]:
                if f.is_file():
                    recorded[f] = sha256(f)

    yield guard
    changed = [str(f) for f, digest in recorded.items() if sha256(f) != digest]
    assert not changed, f"source files changed by an export: {changed}"


@pytest.fixture
def ct_small(guard_sources) -> Path:
    path = Path(get_testdata_file("CT_small.dcm"))
    guard_sources(path)
    return path


@pytest.fixture
def mr_small(guard_sources) -> Path:
    path = Path(get_testdata_file("MR_small.dcm"))
    guard_sources(path)
    return path


@pytest.fixture
def mr_series(tmp_path, guard_sources) -> Path:
    """Four 32x32 axial MR slices 2 mm apart (cut from MR_small), with a patient-like identity
    (also inside a sequence and a private element); file names not in slice order."""
    src = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    folder = tmp_path / "mr_series"
    folder.mkdir()
    series_uid = generate_uid()
    pixels = src.pixel_array
    for k, name in enumerate(["c.dcm", "a.dcm", "d.dcm", "b.dcm"]):
        ds = src.copy()
        for key, value in PATIENT.items():
            setattr(ds, key, value)
        ds.OtherPatientIDs = PATIENT["PatientID"]
        item = pydicom.Dataset()
        item.PatientID = PATIENT["PatientID"]
        item.IssuerOfPatientID = PATIENT["InstitutionName"]
        ds.OtherPatientIDsSequence = [item]
        ds.add_new(0x00291010, "LO", PATIENT["PatientName"])  # a private element
        ds.SeriesInstanceUID = series_uid
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.InstanceNumber = 4 - k
        pos = np.add(np.asarray(src.ImagePositionPatient, dtype=float), [0.0, 0.0, 2.0 * k])
        ds.ImagePositionPatient = [f"{v:.4f}" for v in pos]
        ds.SliceThickness = "2.0"
        ds.Rows = ds.Columns = 32
        ds.PixelData = np.ascontiguousarray(pixels[8 * k : 8 * k + 32, 16:48]).tobytes()
        ds.save_as(folder / name, enforce_file_format=True)
    guard_sources(folder)
    return folder


@pytest.fixture
def provenance() -> dict:
    return make_provenance(
        method="cnn",
        device="CPU (2 threads)",
        windows={"ct": (40.0, 80.0), "mri": "percentile 1-99"},
        model_sha256="0123456789abcdef" * 4,
        reference="mri",
    )


def as_fused(volume: ImageVolume) -> ImageVolume:
    """A stand-in fusion on ``volume``'s grid: its values scaled to [0, 1] (float32)."""
    a = volume.array.astype(np.float64)
    unit = (a - a.min()) / max(a.max() - a.min(), 1e-9)
    return volume.with_array(unit.astype(np.float32), units="")
