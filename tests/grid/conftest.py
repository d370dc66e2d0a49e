"""Fixtures for the grid tests: shipped demo MRI/CT, NIfTI written in tmp_path, known moves."""

from __future__ import annotations

import math
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import SimpleITK

from brainfuse.grid import resample_to
from brainfuse.io import demo_pair, load
from brainfuse.model.image import ImageVolume
from tests.dicom_factory import write_volume_series

# RAS (NIfTI) <-> LPS (ImageVolume): negate the first two world axes.
RAS_TO_LPS = np.diag([-1.0, -1.0, 1.0, 1.0])


def load_volume(path: Path) -> ImageVolume:
    """Load through the project's loader, as the application does."""
    return load(path)


def write_nifti(path: Path, volume: ImageVolume) -> Path:
    """Write ``volume`` as NIfTI-1 with its own voxel order (``(x, y, z)`` array, RAS affine)."""
    affine = RAS_TO_LPS @ volume.affine
    image = nib.Nifti1Image(np.asarray(volume.array).transpose(2, 1, 0), affine)
    image.set_sform(affine, code=1)
    image.set_qform(affine, code=1)
    nib.save(image, path)
    return path


def write_dicom_series(folder: Path, volume: ImageVolume, *, scale: float = 10.0) -> Path:
    """One MR Image Storage file per slice of ``volume`` (any right-handed orientation).

    Values are stored as uint16 ``round(value * scale)`` with RescaleSlope ``1 / scale``; file
    names and InstanceNumber do not follow the slice order, only ImagePositionPatient does.
    """
    n = volume.shape[0]
    shuffled = np.random.default_rng(3).permutation(n)  # a bijection whatever n is
    return write_volume_series(
        folder,
        volume,
        np.clip(np.rint(np.asarray(volume.array) * scale), 0, 65535).astype(np.uint16),
        name=lambda k: f"im{shuffled[k]:04d}.dcm",
        instance=lambda k: int(shuffled[(k + 1) % n]) + 1,
        modality="MR",
        slope=f"{1 / scale:g}",
        intercept="0",
        window=None,
        PatientName="Test^Phantom",
        PatientID="TEST0002",
    )


def isotropic_grid(volume: ImageVolume, spacing: float) -> ImageVolume:
    """An empty grid over the same field of view as ``volume`` with cubic voxels of ``spacing``."""
    z, y, x = volume.shape
    extent = np.array([x, y, z]) * np.asarray(volume.spacing)
    size = np.maximum(1, np.round(extent / spacing).astype(int))
    centre = volume.affine @ np.array([(x - 1) / 2, (y - 1) / 2, (z - 1) / 2, 1.0])
    origin = centre[:3] - volume.direction @ (spacing * (size - 1) / 2)
    return ImageVolume(
        np.zeros(tuple(size[::-1]), dtype=np.uint8),
        spacing=(spacing,) * 3,
        origin=tuple(origin),
        direction=volume.direction,
    )


@pytest.fixture(scope="session")
def demo_volumes() -> tuple[ImageVolume, ImageVolume]:
    """The shipped demo pair (CT template in HU, Colin27 T1 MRI; one 1.5 mm grid)."""
    return demo_pair()


@pytest.fixture(scope="session")
def demo_mri(demo_volumes) -> ImageVolume:
    return demo_volumes[1]


@pytest.fixture(scope="session")
def demo_ct(demo_volumes) -> ImageVolume:
    return demo_volumes[0]


@pytest.fixture(scope="session")
def mri_3mm(demo_mri: ImageVolume) -> ImageVolume:
    """The demo MRI on a 3 mm grid (about 60×73×61 voxels): small enough for fast tests."""
    return resample_to(demo_mri, isotropic_grid(demo_mri, 3.0))


def known_move(
    volume: ImageVolume, translation_mm: float = 8.0, rotation_deg: float = 6.0
) -> SimpleITK.Euler3DTransform:
    """A rigid move about the volume's centre: ``rotation_deg`` about an oblique axis, then
    ``translation_mm`` along an oblique direction."""
    z, y, x = volume.shape
    centre = volume.affine @ np.array([(x - 1) / 2, (y - 1) / 2, (z - 1) / 2, 1.0])
    axis = np.array([1.0, -2.0, 2.0]) / 3.0
    shift = translation_mm * np.array([2.0, 1.0, -2.0]) / 3.0
    transform = SimpleITK.VersorRigid3DTransform()
    transform.SetCenter(tuple(centre[:3]))
    transform.SetRotation(tuple(axis), math.radians(rotation_deg))
    transform.SetTranslation(tuple(shift))
    return _as_euler(transform)


def _as_euler(transform: SimpleITK.VersorRigid3DTransform) -> SimpleITK.Euler3DTransform:
    euler = SimpleITK.Euler3DTransform()
    euler.SetCenter(transform.GetCenter())
    euler.SetMatrix(transform.GetMatrix())
    euler.SetTranslation(transform.GetTranslation())
    return euler


def other_modality(array: np.ndarray) -> np.ndarray:
    """A non-monotonic intensity mapping, so the moved copy looks like another contrast."""
    x = np.asarray(array, dtype=np.float32) / max(float(np.max(array)), 1.0)
    return (1000.0 * (np.sqrt(x) * 0.6 + 0.4 * np.sin(3.0 * np.pi * x) ** 2)).astype(np.float32)


def head_mask(volume: ImageVolume, fraction: float = 0.1) -> np.ndarray:
    """Voxels above ``fraction`` of the maximum: inside the head."""
    return volume.array > fraction * float(np.max(volume.array))
