"""Checks on pairs of loaded images."""

from __future__ import annotations

from brainfuse.errors import GeometryMismatchError
from brainfuse.image import ImageVolume

__all__ = ["check_same_size"]


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
