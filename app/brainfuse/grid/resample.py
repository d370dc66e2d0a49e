"""Resample a volume onto another volume's grid, using both files' real geometry.

Both grids are placed in patient space (LPS mm) by their spacing, origin and direction, so a
CT and an MRI with different matrix sizes, voxel sizes, positions and orientations land voxel
for voxel on one grid. An optional rigid transform (from :func:`register_rigid`) maps points of
the reference grid into the moving image, as in ITK.

References
----------
ITK Software Guide, Book 2, section "Resample Image Filter" (transform maps output points to
input points); SimpleITK ``ResampleImageFilter``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import SimpleITK

from brainfuse.grid.sitk_bridge import from_sitk, to_sitk, to_sitk_2d
from brainfuse.image import ImageVolume

__all__ = ["AIR_HU", "coverage", "default_fill", "resample_to"]

AIR_HU = -1000.0
"""Fill value for CT outside its field of view: air, in Hounsfield units."""

_INTERPOLATORS = {"linear": SimpleITK.sitkLinear, "nearest": SimpleITK.sitkNearestNeighbor}


def default_fill(volume: ImageVolume) -> float:
    """Value for reference voxels outside ``volume``: −1000 HU (air) for CT in HU, else 0."""
    if volume.units == "HU" or (volume.modality == "CT" and not volume.is_rgb):
        return AIR_HU
    return 0.0


def _reference_image(reference: ImageVolume, two_d: bool) -> SimpleITK.Image:
    # Only the grid matters; a uint8 image keeps this cheap.
    grid = reference.with_array(np.zeros(reference.shape, dtype=np.uint8), is_rgb=False)
    return to_sitk_2d(grid) if two_d else to_sitk(grid)


def resample_to(
    moving: ImageVolume,
    reference: ImageVolume,
    *,
    transform: SimpleITK.Transform | None = None,
    interpolation: Literal["linear", "nearest"] = "linear",
    fill: float | None = None,
) -> ImageVolume:
    """Resample ``moving`` onto the grid of ``reference``.

    Parameters
    ----------
    moving : ImageVolume
        Image to resample (grey or RGB).
    reference : ImageVolume
        Supplies the output grid: shape, spacing, origin, direction.
    transform : SimpleITK.Transform, optional
        Maps reference-space points (LPS mm) to moving-space points; identity when omitted
        (geometry alone). A 2-D transform needs two single slices (in-plane registration).
    interpolation : {"linear", "nearest"}
        Linear for images, nearest neighbour for labels and masks.
    fill : float, optional
        Value outside the moving field of view; default :func:`default_fill` (−1000 HU for CT,
        0 otherwise).

    Returns
    -------
    ImageVolume
        Shape ``reference.shape`` (plus the colour axis for RGB), geometry of ``reference``,
        metadata (modality, units, source) of ``moving``. Linear interpolation returns float32
        for grey images; RGB stays uint8 (rounded); nearest keeps the moving dtype.
    """
    if interpolation not in _INTERPOLATORS:
        raise ValueError(f"interpolation must be 'linear' or 'nearest', not {interpolation!r}")
    fill = default_fill(moving) if fill is None else float(fill)
    two_d = transform is not None and transform.GetDimension() == 2
    if two_d and not (moving.is_2d and reference.is_2d):
        raise ValueError("a 2-D transform can only resample a single slice onto a single slice")
    convert = to_sitk_2d if two_d else to_sitk
    linear = interpolation == "linear"
    image = convert(moving, dtype=np.float32 if linear else None)
    if transform is None:
        transform = SimpleITK.Transform(image.GetDimension(), SimpleITK.sitkIdentity)
    out = SimpleITK.Resample(
        image,
        _reference_image(reference, two_d),
        transform,
        _INTERPOLATORS[interpolation],
        fill,
        image.GetPixelID(),
    )
    result = from_sitk(out, like=reference)
    array = result.array
    if moving.is_rgb and linear:
        array = np.clip(np.rint(array), 0, 255).astype(np.uint8)
    return moving.with_array(
        array,
        spacing=reference.spacing,
        origin=reference.origin,
        direction=np.array(reference.direction, dtype=float),
        has_geometry=reference.has_geometry,
    )


def coverage(
    moving: ImageVolume, reference: ImageVolume, *, transform: SimpleITK.Transform | None = None
) -> float:
    """Fraction (0–1) of the reference grid's voxels that fall inside ``moving``'s field of view.

    Computed by resampling a mask of ones (nearest neighbour, fill 0), so it follows the same
    geometry and transform as :func:`resample_to`.
    """
    ones = moving.with_array(np.ones(moving.shape, dtype=np.uint8), is_rgb=False)
    mask = resample_to(ones, reference, transform=transform, interpolation="nearest", fill=0)
    return float(np.count_nonzero(mask.array)) / float(mask.array.size)
