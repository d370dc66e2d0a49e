"""Checks on loaded images: pairs of the same size, voxels without a value."""

from __future__ import annotations

import numpy as np

from brainfuse.errors import GeometryMismatchError, UnreadableInputError
from brainfuse.model.image import ImageVolume

__all__ = ["check_same_size", "replace_non_finite"]


def replace_non_finite(volume: ImageVolume) -> ImageVolume:
    """One rule for voxels without a finite value (NaN, +inf, -inf), whatever the format.

    Such voxels mean "no measurement" (masked-out background in many NIfTI pipelines,
    overflow in a conversion). They are set to the lowest finite value of the image (its
    background) and one warning says how many there were, so windows, registration and
    fusion all see ordinary numbers.

    Parameters
    ----------
    volume : ImageVolume
        As loaded; integer images are returned as they are.

    Returns
    -------
    ImageVolume
        ``volume`` itself when every voxel is finite, else a copy with one more warning.

    Raises
    ------
    UnreadableInputError
        No voxel at all is finite.
    """
    array = volume.array
    if array.dtype.kind not in "fc":
        return volume
    finite = np.isfinite(array)
    if finite.all():
        return volume
    if not finite.any():
        raise UnreadableInputError(
            f"{volume.path or volume.name}: every voxel is NaN or infinite; there is no image."
        )
    n_nan = int(np.isnan(array).sum())
    n_inf = int(array.size - finite.sum()) - n_nan
    low = array[finite].min()
    fixed = np.where(finite, array, low).astype(array.dtype, copy=False)
    parts = [f"{n} {kind}" for n, kind in ((n_nan, "NaN"), (n_inf, "infinite")) if n]
    out = volume.with_array(fixed)
    out.warnings.append(
        f"{' and '.join(parts)} voxel value(s) (no measurement) set to the image's lowest "
        f"value {float(low):g}"
    )
    return out


def check_same_size(a: ImageVolume, b: ImageVolume) -> None:
    """Raise unless ``a`` and ``b`` have the same voxel grid size ``(z, y, x)``.

    Plain images (PNG/TIFF, no geometry) cannot be resampled onto each other, so a pair of
    them must match exactly.

    Raises
    ------
    GeometryMismatchError
        Naming both images and both shapes.
    """
    if a.shape != b.shape:

        def text(v: ImageVolume) -> str:
            z, y, x = v.shape
            size = f"{x}×{y}" + (f"×{z}" if z > 1 else "")
            return f"{v.name or 'image'} is {size}"

        raise GeometryMismatchError(
            f"The two images differ in size ({text(a)}, {text(b)}): they must be the same "
            "size, or carry geometry (DICOM/NIfTI) so one can be resampled onto the other."
        )
