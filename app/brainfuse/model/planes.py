"""Axial, coronal and sagittal views of a volume, and the crosshair in mm (no Qt).

A view shows one plane of voxels of an :class:`~brainfuse.model.image.ImageVolume` (no
interpolation): the plane holds one array axis fixed (its *normal*) and shows the other two as
rows and columns, mirrored where needed so that every view is in radiological display:

========  ==========  =============  ================
plane     normal      rows (top→bot)  columns (left→right)
========  ==========  =============  ================
axial     S–I         A → P          R → L
coronal   A–P         S → I          R → L
sagittal  L–R         S → I          A → P
========  ==========  =============  ================

The axes are found from the volume's orientation code, so this holds for any axis order; for
a canonical LPS volume (what :func:`brainfuse.io.load` returns, array ``(z, y, x)``) the axial
view at slice ``k`` is ``array[k]``, the coronal view at row ``j`` is ``array[::-1, j, :]`` and
the sagittal view at column ``i`` is ``array[::-1, :, i]``.

Plane coordinates are ``(index, row, col)``: the voxel index along the normal and the
(fractional) pixel position in the displayed 2-D image; :func:`plane_to_lps` and
:func:`lps_to_plane` convert them to and from patient coordinates (LPS, mm) through the
volume's affine, so one LPS point (the crosshair) is found in all three views.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from brainfuse.errors import BrainFuseError
from brainfuse.model.image import ImageVolume

__all__ = [
    "PLANES",
    "PlaneLayout",
    "PlaneSlice",
    "banding",
    "lps_to_plane",
    "plane_layout",
    "plane_shape",
    "plane_slice",
    "plane_to_lps",
    "slice_at",
]

#: The three views, in menu order.
PLANES = ("axial", "coronal", "sagittal")

_OPPOSITE = {"L": "R", "R": "L", "A": "P", "P": "A", "S": "I", "I": "S"}
_WORLD = {"L": 0, "R": 0, "P": 1, "A": 1, "S": 2, "I": 2}  # LPS world axis of a letter
# plane -> (normal world axis, (row world axis, letter at the bottom), (col axis, letter at right))
_DISPLAY = {
    "axial": (2, (1, "P"), (0, "L")),
    "coronal": (1, (2, "I"), (0, "L")),
    "sagittal": (0, (2, "I"), (1, "P")),
}


@dataclass(frozen=True)
class PlaneLayout:
    """Which array axes a plane shows, and whether each is mirrored for display.

    Attributes
    ----------
    normal : int
        Array axis held fixed (0, 1 or 2 of ``array[z, y, x]``).
    row_axis, col_axis : int
        Array axes shown as rows (top to bottom) and columns (left to right).
    row_flip, col_flip : bool
        True when that axis runs bottom-to-top (right-to-left) on screen.
    letters : dict
        Orientation letters at the screen's ``top``, ``bottom``, ``left`` and ``right``.
    """

    normal: int
    row_axis: int
    row_flip: bool
    col_axis: int
    col_flip: bool
    letters: dict[str, str]


@dataclass(frozen=True)
class PlaneSlice:
    """One displayed plane of a volume.

    Attributes
    ----------
    plane : str
        ``"axial"``, ``"coronal"`` or ``"sagittal"``.
    index : int
        Voxel index along the plane's normal axis.
    image : (rows, cols) or (rows, cols, 3) ndarray
        The voxels as displayed (a view of the volume's array where possible).
    pixel_spacing : (float, float)
        Size of a displayed pixel, mm: (row height, column width).
    letters : dict
        Orientation letters at ``top``, ``bottom``, ``left`` and ``right``.
    """

    plane: str
    index: int
    image: np.ndarray
    pixel_spacing: tuple[float, float]
    letters: dict[str, str]


def _check_plane(plane: str) -> str:
    if plane not in _DISPLAY:
        raise BrainFuseError(f"Unknown plane '{plane}'; choose axial, coronal or sagittal.")
    return plane


def plane_layout(volume: ImageVolume, plane: str) -> PlaneLayout:
    """How ``plane`` of ``volume`` is displayed (axes, mirroring, orientation letters).

    Raises
    ------
    BrainFuseError
        Unknown plane name, or a direction matrix that does not point one index axis along
        each patient axis.
    """
    normal_w, (row_w, bottom), (col_w, right) = _DISPLAY[_check_plane(plane)]
    code = volume.orientation  # letters of the +x, +y, +z index axes
    world_to_axis = {}
    for c, letter in enumerate(code):
        world_to_axis[_WORLD[letter]] = 2 - c  # index axis x, y, z is array axis 2, 1, 0
    if len(world_to_axis) != 3:
        raise BrainFuseError(
            f"'{volume.name}' has an oblique orientation ({code}) with two axes along one "
            "patient direction; it cannot be shown in axial, coronal and sagittal planes."
        )

    def axis_letter(axis: int) -> str:
        return code[2 - axis]

    row_axis, col_axis = world_to_axis[row_w], world_to_axis[col_w]
    row_flip = axis_letter(row_axis) != bottom
    col_flip = axis_letter(col_axis) != right
    return PlaneLayout(
        normal=world_to_axis[normal_w],
        row_axis=row_axis,
        row_flip=row_flip,
        col_axis=col_axis,
        col_flip=col_flip,
        letters={
            "top": _OPPOSITE[bottom],
            "bottom": bottom,
            "left": _OPPOSITE[right],
            "right": right,
        },
    )


def plane_shape(volume: ImageVolume, plane: str) -> tuple[int, int, int]:
    """``(n_slices, rows, cols)`` of ``plane``: how many views and the size of each."""
    lay = plane_layout(volume, plane)
    shape = volume.shape
    return (shape[lay.normal], shape[lay.row_axis], shape[lay.col_axis])


def slice_at(volume: ImageVolume, plane: str, index: int) -> PlaneSlice:
    """Cut the view of ``plane`` at voxel ``index`` along its normal.

    Parameters
    ----------
    volume : ImageVolume
        Grey ``(z, y, x)`` or colour ``(z, y, x, 3)``.
    plane : {"axial", "coronal", "sagittal"}
    index : int
        Voxel index along the normal axis; clamped to the volume.

    Returns
    -------
    PlaneSlice
    """
    lay = plane_layout(volume, plane)
    n = volume.shape[lay.normal]
    index = int(np.clip(index, 0, n - 1))
    image = np.take(volume.array, index, axis=lay.normal)
    # Remaining spatial axes keep their order; put rows first.
    kept = [a for a in range(3) if a != lay.normal]
    if kept.index(lay.row_axis) == 1:
        image = np.swapaxes(image, 0, 1)
    if lay.row_flip:
        image = image[::-1]
    if lay.col_flip:
        image = image[:, ::-1]
    spacing_zyx = volume.spacing[::-1]
    return PlaneSlice(
        plane=plane,
        index=index,
        image=image,
        pixel_spacing=(float(spacing_zyx[lay.row_axis]), float(spacing_zyx[lay.col_axis])),
        letters=dict(lay.letters),
    )


def _index_to_lps(volume: ImageVolume, kji: np.ndarray) -> np.ndarray:
    return (volume.affine @ np.array([kji[2], kji[1], kji[0], 1.0]))[:3]


def _lps_to_index(volume: ImageVolume, lps) -> np.ndarray:
    ijk = np.linalg.solve(volume.affine, np.array([*np.asarray(lps, float)[:3], 1.0]))[:3]
    return ijk[::-1].copy()  # (k, j, i)


def plane_to_lps(
    volume: ImageVolume, plane: str, index: float, row: float, col: float
) -> np.ndarray:
    """LPS position (mm) of pixel ``(row, col)`` of the view at ``index`` along the normal.

    ``row`` and ``col`` may be fractional (pixel centres are at integers).
    """
    lay = plane_layout(volume, plane)
    shape = volume.shape
    kji = np.zeros(3)
    kji[lay.normal] = index
    kji[lay.row_axis] = (shape[lay.row_axis] - 1 - row) if lay.row_flip else row
    kji[lay.col_axis] = (shape[lay.col_axis] - 1 - col) if lay.col_flip else col
    return _index_to_lps(volume, kji)


def lps_to_plane(volume: ImageVolume, plane: str, lps) -> tuple[float, float, float]:
    """``(index, row, col)`` (fractional) where an LPS point (mm) lies in ``plane``'s views.

    ``round(index)`` is the view that contains the point (see :func:`plane_slice`).
    """
    lay = plane_layout(volume, plane)
    shape = volume.shape
    kji = _lps_to_index(volume, lps)
    row = kji[lay.row_axis]
    col = kji[lay.col_axis]
    if lay.row_flip:
        row = shape[lay.row_axis] - 1 - row
    if lay.col_flip:
        col = shape[lay.col_axis] - 1 - col
    return (float(kji[lay.normal]), float(row), float(col))


def plane_slice(volume: ImageVolume, plane: str, lps) -> PlaneSlice:
    """Cut the view of ``plane`` through an LPS point (mm), e.g. the crosshair.

    The nearest view to the point is taken (clamped to the volume).
    """
    index, _, _ = lps_to_plane(volume, plane, lps)
    return slice_at(volume, plane, int(np.floor(index + 0.5)))


def banding(
    map_volume: ImageVolume | np.ndarray, mask: np.ndarray | None = None
) -> dict[str, float]:
    """How much a map changes from slice to slice, against how much it changes within a slice.

    A decision map made slice by slice can jump between neighbouring axial slices where the
    anatomy does not: seen in a sagittal (or coronal) reformat, this is banding. This
    measures the mean absolute difference between neighbouring rows of the sagittal views
    (neighbouring axial slices, the S–I axis) and between neighbouring rows of the axial
    views (the A–P axis).

    Parameters
    ----------
    map_volume : ImageVolume or (Z, Y, X) ndarray
        The map (hard 0/1 or soft in [0, 1]); an array is taken as canonical LPS.
    mask : (Z, Y, X) bool ndarray, optional
        Only pairs of neighbours both inside the mask count (e.g. the head).

    Returns
    -------
    dict
        ``sagittal_rows`` and ``axial_rows`` (mean |difference| of neighbouring rows, map
        units per row), ``ratio`` (``sagittal_rows / axial_rows``; about 1 means no banding,
        larger means banding), and the row spacings ``si_mm`` and ``ap_mm``.
    """
    if isinstance(map_volume, ImageVolume):
        si = plane_layout(map_volume, "sagittal").row_axis
        ap = plane_layout(map_volume, "axial").row_axis
        data = np.asarray(map_volume.array, dtype=np.float64)
        spacing_zyx = map_volume.spacing[::-1]
    else:
        si, ap = 0, 1
        data = np.asarray(map_volume, dtype=np.float64)
        spacing_zyx = (1.0, 1.0, 1.0)
    if data.ndim != 3 or data.shape[si] < 2 or data.shape[ap] < 2:
        raise BrainFuseError(f"Banding needs a volume of at least 2 slices; got {data.shape}.")

    def mean_step(axis: int) -> float:
        step = np.abs(np.diff(data, axis=axis))
        if mask is None:
            return float(step.mean())
        m = np.asarray(mask, bool)
        both = np.logical_and(
            m[tuple(slice(1, None) if a == axis else slice(None) for a in range(3))],
            m[tuple(slice(None, -1) if a == axis else slice(None) for a in range(3))],
        )
        return float(step[both].mean()) if both.any() else 0.0

    sag, ax = mean_step(si), mean_step(ap)
    return {
        "sagittal_rows": sag,
        "axial_rows": ax,
        "ratio": sag / ax if ax > 0 else float("inf") if sag > 0 else 1.0,
        "si_mm": float(spacing_zyx[si]),
        "ap_mm": float(spacing_zyx[ap]),
    }
