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
from brainfuse.model.image import ImageVolume

__all__ = ["AIR_HU", "coverage", "default_fill", "resample_to"]

AIR_HU = -1000.0
"""Fill value for CT outside its field of view: air, in Hounsfield units."""

_INTERPOLATORS = {"linear": SimpleITK.sitkLinear, "nearest": SimpleITK.sitkNearestNeighbor}
_SLAB_VOXELS = 1 << 22  # output voxels resampled per call (16 MiB of float32)


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
        for grey images; RGB stays uint8 (rounded); nearest keeps the moving dtype. When the
        two grids are the same (shape and voxel positions, no or an identity transform) the
        moving voxels are returned as they are (same array, same dtype): resampling would
        reproduce them exactly, at the cost of a float copy of the whole volume.
    """
    if interpolation not in _INTERPOLATORS:
        raise ValueError(f"interpolation must be 'linear' or 'nearest', not {interpolation!r}")
    fill = default_fill(moving) if fill is None else float(fill)
    two_d = transform is not None and transform.GetDimension() == 2
    if two_d and not (moving.is_2d and reference.is_2d):
        raise ValueError("a 2-D transform can only resample a single slice onto a single slice")
    linear = interpolation == "linear"
    if _same_grid(moving, reference, transform):
        return moving.with_array(moving.array, has_geometry=reference.has_geometry)
    if not two_d and not moving.is_rgb:
        array = _resample_slabs(moving, reference, transform, interpolation, fill)
    else:
        convert = to_sitk_2d if two_d else to_sitk
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
        array = from_sitk(out, like=reference).array
        if moving.is_rgb and linear:
            array = np.clip(np.rint(array), 0, 255).astype(np.uint8)
    return moving.with_array(
        array,
        spacing=reference.spacing,
        origin=reference.origin,
        direction=np.array(reference.direction, dtype=float),
        has_geometry=reference.has_geometry,
    )


def _same_grid(
    moving: ImageVolume, reference: ImageVolume, transform: SimpleITK.Transform | None
) -> bool:
    """Tell whether resampling would only copy: same shape and voxel positions, no transform."""
    if transform is not None and not _is_identity(transform):
        return False
    return moving.shape == reference.shape and bool(
        np.allclose(moving.affine, reference.affine, rtol=0.0, atol=1e-6)
    )


def _is_identity(transform: SimpleITK.Transform) -> bool:
    dim = transform.GetDimension()
    probes = [tuple(float(v) for v in p) for p in np.eye(dim + 1, dim) * 100.0]
    return all(np.allclose(transform.TransformPoint(p), p, atol=1e-9) for p in probes)


def _resample_slabs(
    moving: ImageVolume,
    reference: ImageVolume,
    transform: SimpleITK.Transform | None,
    interpolation: str,
    fill: float,
) -> np.ndarray:
    """Grey 3-D resampling written slab by slab into one preallocated array.

    The moving voxels go to SimpleITK in their own type (an int16 CT is not first copied to
    float32), linear interpolation writes float32 directly, and each slab of the output grid
    (:data:`_SLAB_VOXELS` voxels) is resampled on its own and copied into place, so the
    whole-volume output exists once rather than twice (SimpleITK's image and its NumPy copy).
    """
    linear = interpolation == "linear"
    image = to_sitk(moving)
    if transform is None:
        transform = SimpleITK.Transform(3, SimpleITK.sitkIdentity)
    pixel = SimpleITK.sitkFloat32 if linear else image.GetPixelID()
    nz, ny, nx = reference.shape
    out = np.empty((nz, ny, nx), dtype=np.float32 if linear else moving.array.dtype)
    direction = np.asarray(reference.direction, dtype=float)
    spacing = tuple(float(v) for v in reference.spacing)
    origin = np.asarray(reference.origin, dtype=float)
    step = max(1, _SLAB_VOXELS // max(ny * nx, 1))
    f = SimpleITK.ResampleImageFilter()
    f.SetInterpolator(_INTERPOLATORS[interpolation])
    f.SetTransform(transform)
    f.SetDefaultPixelValue(fill)
    f.SetOutputPixelType(pixel)
    f.SetOutputSpacing(spacing)
    f.SetOutputDirection(tuple(float(d) for d in direction.ravel()))
    for z0 in range(0, nz, step):
        z1 = min(z0 + step, nz)
        f.SetSize((nx, ny, z1 - z0))
        f.SetOutputOrigin(tuple(float(v) for v in origin + direction[:, 2] * spacing[2] * z0))
        slab = f.Execute(image)  # kept alive while its view is copied
        out[z0:z1] = SimpleITK.GetArrayViewFromImage(slab)
        del slab
    return out


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
