"""Convert between :class:`~brainfuse.model.image.ImageVolume` and ``SimpleITK.Image``.

ImageVolume already follows SimpleITK's conventions (LPS millimetres, spacing and origin in
``(x, y, z)`` index order, direction matrix whose columns are the index axes), so the bridge
copies the geometry as it is. Colour volumes become vector images with three components.

References
----------
SimpleITK "Fundamental Concepts: Images" (origin, spacing, direction cosine matrix),
https://simpleitk.readthedocs.io/en/master/fundamentalConcepts.html
"""

from __future__ import annotations

import numpy as np
import SimpleITK

from brainfuse.model.image import ImageVolume

__all__ = ["from_sitk", "to_sitk", "to_sitk_2d"]


def to_sitk(volume: ImageVolume, *, dtype: type | None = None) -> SimpleITK.Image:
    """Build a 3-D ``SimpleITK.Image`` with the voxels and LPS geometry of ``volume``.

    Parameters
    ----------
    volume : ImageVolume
        Grey ``(z, y, x)`` or colour ``(z, y, x, 3)`` volume.
    dtype : numpy dtype, optional
        Cast the voxels first (e.g. ``np.float32`` for registration).

    Returns
    -------
    SimpleITK.Image
        Size ``(x, y, z)``; a vector image of 3 components for colour.
    """
    array = volume.array if dtype is None else volume.array.astype(dtype, copy=False)
    image = SimpleITK.GetImageFromArray(np.ascontiguousarray(array), isVector=volume.is_rgb)
    image.SetSpacing(tuple(float(s) for s in volume.spacing))
    image.SetOrigin(tuple(float(o) for o in volume.origin))
    image.SetDirection(tuple(float(d) for d in np.asarray(volume.direction).ravel()))
    return image


def to_sitk_2d(volume: ImageVolume, *, dtype: type | None = None) -> SimpleITK.Image:
    """Build a 2-D ``SimpleITK.Image`` of a single-slice volume, in its own plane.

    The in-plane geometry is expressed in the slice's own 2-D frame: the origin is the
    projection of the 3-D origin on the slice's row and column axes, so two slices of the same
    plane keep their relative position. Only the in-plane part of the geometry survives; use
    it to register two slices, not a slice against a volume.

    Parameters
    ----------
    volume : ImageVolume
        A volume with ``z == 1``.
    dtype : numpy dtype, optional
        Cast the voxels first.
    """
    if not volume.is_2d:
        raise ValueError(f"to_sitk_2d needs a single slice, got shape {volume.shape}")
    array = volume.array[0] if dtype is None else volume.array[0].astype(dtype, copy=False)
    image = SimpleITK.GetImageFromArray(np.ascontiguousarray(array), isVector=volume.is_rgb)
    direction = np.asarray(volume.direction, dtype=float)
    image.SetSpacing(tuple(float(s) for s in volume.spacing[:2]))
    # Coordinates of the origin along the slice's own column and row axes (mm).
    origin2 = direction[:, :2].T @ np.asarray(volume.origin, dtype=float)
    image.SetOrigin(tuple(float(o) for o in origin2))
    return image


def from_sitk(image: SimpleITK.Image, like: ImageVolume, **changes) -> ImageVolume:
    """Build an ImageVolume with the voxels and geometry of ``image``, metadata of ``like``.

    Parameters
    ----------
    image : SimpleITK.Image
        3-D image (or 2-D: taken as one slice, keeping ``like``'s out-of-plane geometry).
    like : ImageVolume
        Supplies modality, units, window, source identity, path and description.
    **changes
        Further fields to override (e.g. ``is_rgb=False``).

    Returns
    -------
    ImageVolume
        ``array`` of shape ``(z, y, x)`` or ``(z, y, x, 3)``.
    """
    array = SimpleITK.GetArrayFromImage(image)
    is_vector = image.GetNumberOfComponentsPerPixel() > 1
    if image.GetDimension() == 2:
        array = array[None]
        direction = np.asarray(like.direction, dtype=float)
        origin2 = np.asarray(image.GetOrigin(), dtype=float)
        # Back from in-plane coordinates: keep like's offset along the slice normal.
        normal_offset = direction[:, 2] @ np.asarray(like.origin, dtype=float)
        origin = direction[:, :2] @ origin2 + direction[:, 2] * normal_offset
        spacing = (*image.GetSpacing(), like.spacing[2])
        geometry = {"spacing": spacing, "origin": tuple(origin), "direction": direction}
    else:
        geometry = {
            "spacing": image.GetSpacing(),
            "origin": image.GetOrigin(),
            "direction": np.asarray(image.GetDirection(), dtype=float).reshape(3, 3),
        }
    fields = {"is_rgb": is_vector, **geometry, **changes}
    return like.with_array(array, **fields)
