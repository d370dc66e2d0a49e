"""The image model shared by every BrainFuse module.

Conventions (chosen once, converted only at the edges):

* ``array`` is ``(z, y, x)`` for grey images, ``(z, y, x, 3)`` uint8 for RGB colour
  (PET/SPECT pseudo-colour). A single 2-D slice has ``z == 1``.
* Geometry follows DICOM and SimpleITK: patient coordinates are **LPS** in millimetres
  (+x towards the patient's left, +y posterior, +z superior). ``spacing`` and ``origin`` are
  given in index order ``(x, y, z)`` = (column, row, slice), ``direction`` is a 3x3 matrix
  whose *columns* are the unit vectors of the x, y, z index axes in LPS. So the position of
  voxel ``array[k, j, i]`` is ``origin + direction @ (spacing * (i, j, k))``, which is what
  :attr:`ImageVolume.affine` returns as a 4x4 matrix acting on ``(i, j, k, 1)``.
* NIfTI (RAS) is converted to LPS by the NIfTI loader and back by the NIfTI writer only.
* Pixel values are physical where the file says so: CT in Hounsfield units after the
  modality LUT (rescale slope/intercept), MR in the scanner's arbitrary units.

The identity of the source (UIDs, patient/study module) lives in :class:`SourceIdentity`,
apart from the pixels, so that a derived export can reference the source and an anonymous
export can leave it out.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "EQUIPMENT_KEYWORDS",
    "MODALITIES",
    "PATIENT_KEYWORDS",
    "STUDY_KEYWORDS",
    "ImageVolume",
    "SourceIdentity",
    "orientation_code",
]

MODALITIES = ("CT", "MR", "PT", "NM", "OT")

# The one list of Patient / General Study attributes a series carries along: kept in a
# SourceIdentity by brainfuse.io.dicom_identity, copied into derived series by brainfuse.export.dicom (current
# attributes only; StudyInstanceUID is SourceIdentity.study_instance_uid).
PATIENT_KEYWORDS = (
    "PatientName",
    "PatientID",
    "IssuerOfPatientID",
    "PatientBirthDate",
    "PatientSex",
    "PatientAge",
    "PatientSize",
    "PatientWeight",
    "PatientIdentityRemoved",
    "DeidentificationMethod",
)
STUDY_KEYWORDS = (
    "StudyDate",
    "StudyTime",
    "ReferringPhysicianName",
    "StudyID",
    "AccessionNumber",
    "StudyDescription",
)
EQUIPMENT_KEYWORDS = (
    "Manufacturer",
    "ManufacturerModelName",
    "InstitutionName",
    "InstitutionAddress",
    "InstitutionalDepartmentName",
    "StationName",
    "DeviceSerialNumber",
    "SoftwareVersions",
)


@dataclass(frozen=True)
class SourceIdentity:
    """What a derived DICOM export needs to know about the series it came from.

    Kept apart from pixel data; empty for non-DICOM sources. ``patient`` and ``study`` hold
    DICOM keyword -> value pairs of the Patient and General Study modules (e.g.
    ``{"PatientName": "...", "PatientID": "..."}``). ``sop_instance_uids`` are in the same
    order as the volume's slices (one per slice, or one shared by all frames of a
    multi-frame file).
    """

    study_instance_uid: str | None = None
    series_instance_uid: str | None = None
    sop_class_uid: str | None = None
    sop_instance_uids: tuple[str, ...] = ()
    frame_of_reference_uid: str | None = None
    series_description: str | None = None
    series_number: int | None = None
    patient: dict[str, Any] = field(default_factory=dict)
    study: dict[str, Any] = field(default_factory=dict)
    equipment: dict[str, Any] = field(default_factory=dict)
    files: tuple[str, ...] = ()


@dataclass
class ImageVolume:
    """A 3-D (or single-slice) image with its geometry in LPS millimetres.

    Parameters
    ----------
    array : (Z, Y, X) ndarray, or (Z, Y, X, 3) uint8 when ``is_rgb``
        Voxel values (Hounsfield units for CT after rescale).
    spacing : (3,) tuple of float, mm
        Voxel size along x (columns), y (rows), z (slices).
    origin : (3,) tuple of float, mm
        LPS position of the centre of voxel ``array[0, 0, 0]``.
    direction : (3, 3) ndarray
        Columns are the LPS unit vectors of the x, y, z index axes.
    modality : str
        One of ``CT``, ``MR``, ``PT``, ``NM``, ``OT``.
    units : str
        ``"HU"`` for CT after rescale, ``""`` where the values have no physical unit.
    window : (center, width) or None
        Suggested display window from the header, in ``units``.
    is_rgb : bool
        True for colour (PET/SPECT pseudo-colour) images.
    has_geometry : bool
        False for plain images (PNG/TIFF) whose spacing/origin are placeholders.
    monochrome1 : bool
        True when the source was MONOCHROME1: values are kept, display must invert them.
    source : SourceIdentity
        DICOM identity of the source, empty for non-DICOM files.
    path : str
        The file or folder it was loaded from.
    format : str
        ``DICOM``, ``NIfTI``, ``PNG``, ``TIFF``, ``JPEG``, ...
    description : str
        Series description or file name, for display.
    warnings : list of str
        Things a user should know (gaps, non-uniform spacing, mixed sizes).
    stored_orientation : str
        Orientation code of the axes as stored in the file, before ``io.load`` reoriented
        them to canonical LPS (e.g. ``"PIR"`` for a sagittal series); ``""`` if unknown.
    """

    array: np.ndarray
    spacing: tuple[float, float, float] = (1.0, 1.0, 1.0)
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)
    direction: np.ndarray = field(default_factory=lambda: np.eye(3))
    modality: str = "OT"
    units: str = ""
    window: tuple[float, float] | None = None
    is_rgb: bool = False
    has_geometry: bool = True
    monochrome1: bool = False
    source: SourceIdentity = field(default_factory=SourceIdentity)
    path: str = ""
    format: str = ""
    description: str = ""
    warnings: list[str] = field(default_factory=list)
    stored_orientation: str = ""

    def __post_init__(self) -> None:
        """Normalise the fields' types and check the array's rank.

        An array computed slice by slice when read (one whose ``computed_on_read`` is true,
        such as the pipeline's composed fused volume) is kept as it is, not made whole.
        """
        if not getattr(self.array, "computed_on_read", False):
            self.array = np.asarray(self.array)
        expected = 4 if self.is_rgb else 3
        if self.array.ndim != expected:
            raise ValueError(
                f"ImageVolume array must be {'(z, y, x, 3)' if self.is_rgb else '(z, y, x)'}; "
                f"got shape {self.array.shape}"
            )
        sx, sy, sz = self.spacing
        self.spacing = (float(sx), float(sy), float(sz))
        ox, oy, oz = self.origin
        self.origin = (float(ox), float(oy), float(oz))
        self.direction = np.asarray(self.direction, dtype=float).reshape(3, 3)

    # ------------------------------------------------------------------ geometry
    @property
    def shape(self) -> tuple[int, int, int]:
        """``(z, y, x)`` voxel counts (colour channel excluded)."""
        z, y, x = self.array.shape[:3]
        return (z, y, x)

    @property
    def n_slices(self) -> int:
        """Number of slices along z."""
        return self.array.shape[0]

    @property
    def is_2d(self) -> bool:
        """Whether the volume has a single slice (z = 1)."""
        return self.array.shape[0] == 1

    @property
    def affine(self) -> np.ndarray:
        """4x4 matrix from voxel index ``(i=x, j=y, k=z, 1)`` to LPS mm."""
        aff = np.eye(4)
        aff[:3, :3] = self.direction * np.asarray(self.spacing)[None, :]
        aff[:3, 3] = self.origin
        return aff

    @property
    def orientation(self) -> str:
        """Three-letter code of the directions the x, y, z index axes point to (e.g. ``LPS``)."""
        return orientation_code(self.direction)

    def slice2d(self, k: int) -> np.ndarray:
        """Slice ``k`` along z: ``(y, x)`` or ``(y, x, 3)``."""
        return self.array[k]

    def value_range(self) -> tuple[float, float]:
        """Minimum and maximum voxel value (over all channels for colour)."""
        return float(np.min(self.array)), float(np.max(self.array))

    def with_array(self, array: np.ndarray, **changes: Any) -> ImageVolume:
        """Return a copy with new voxels (same geometry unless ``changes`` say otherwise)."""
        return replace(self, array=array, warnings=list(self.warnings), **changes)

    @property
    def name(self) -> str:
        """Short label for display: description or file name."""
        return self.description or Path(self.path).name


_AXIS_LETTERS = (("L", "R"), ("P", "A"), ("S", "I"))


def orientation_code(direction: np.ndarray) -> str:
    """Closest LPS axis letters for each column of a 3x3 direction matrix.

    Examples
    --------
    >>> orientation_code(np.eye(3))
    'LPS'
    >>> orientation_code(np.diag([-1.0, -1.0, 1.0]))
    'RAS'
    """
    direction = np.asarray(direction, dtype=float).reshape(3, 3)
    letters = []
    for col in range(3):
        v = direction[:, col]
        axis = int(np.argmax(np.abs(v)))
        letters.append(_AXIS_LETTERS[axis][0 if v[axis] > 0 else 1])
    return "".join(letters)
