"""DICOM series written from the development CT's voxels, as one patient's CT and MR.

Part of the head (slices 50-59, every second row and column) is written twice: as a CT
Image Storage series (HU through the rescale) and as an MR Image Storage series of an
MR-like contrast, each with the patient and study the test chooses. The CT's patient
defaults to the development CT's own (``INV-0051``, ``ANONYMOUS^CRANIUM``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom.uid import generate_uid

from brainfuse.io import load
from brainfuse.model.image import ImageVolume
from tests.dicom_factory import write_slice

CT_SERIES = Path("dicom") / "ct" / "cranium_ct_series"
CT_PATIENT = {"PatientID": "INV-0051", "PatientName": "ANONYMOUS^CRANIUM"}


def head_part(shared_data: Path) -> ImageVolume:
    """Ten slices of the development CT at half resolution in-plane (HU)."""
    ct = load(shared_data / CT_SERIES)
    k0 = 50
    array = ct.array[k0 : k0 + 10, ::2, ::2]
    origin = ct.affine @ np.array([0.0, 0.0, k0, 1.0])
    spacing = (2 * ct.spacing[0], 2 * ct.spacing[1], ct.spacing[2])
    return ct.with_array(array, spacing=spacing, origin=tuple(origin[:3]))


def mr_like(hu: np.ndarray) -> np.ndarray:
    """An MR-like contrast of the same head: bright brain, dark bone and air (stored uint16)."""
    out = np.where(hu > -200, 300.0, 0.0) + np.clip(hu, 0, 80) * 8.0
    return np.where(hu > 250, 40.0, out).astype(np.uint16)


def write_series(
    folder: Path,
    volume: ImageVolume,
    *,
    modality: str,
    patient: dict[str, str],
    study_uid: str | None = None,
    shift_mm: tuple[float, float, float] = (0.0, 0.0, 0.0),
) -> Path:
    """One file per slice of ``volume`` (axial LPS) as a CT or MR series of ``patient``.

    ``shift_mm`` is added to every slice's position: the file geometry then places the head
    that far (LPS mm) from where it is.
    """
    stored = (
        np.clip(np.rint(volume.array) + 1024, 0, 4095).astype(np.uint16)
        if modality == "CT"
        else mr_like(volume.array)
    )
    study, series, frame = study_uid or generate_uid(), generate_uid(), generate_uid()
    rescale = {"slope": 1.0, "intercept": -1024.0} if modality == "CT" else {"slope": None}
    for k in range(volume.n_slices):
        write_slice(
            folder / f"{k:03d}.dcm",
            stored[k],
            position=(volume.affine @ np.array([0.0, 0.0, k, 1.0]))[:3] + np.asarray(shift_mm),
            spacing=(volume.spacing[1], volume.spacing[0]),
            instance=k + 1,
            modality=modality,
            series_uid=series,
            study_uid=study,
            FrameOfReferenceUID=frame,
            **rescale,
            **patient,
        )
    return folder
