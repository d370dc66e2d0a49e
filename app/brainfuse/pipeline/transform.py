"""Aligning a pair by a saved rigid transform instead of registering it again.

A registration a person accepted (and saved as ITK ``.tfm``, by the window or by
``brainfuse fuse --save-transform``) reproduces the same grid when applied again, where a new
registration could land a little elsewhere. Both shells apply it here: ``brainfuse fuse
--transform T.tfm`` and the window (File › Open session, Check alignment › Load).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from brainfuse.grid import AlignedPair, coverage, load_transform, resample_to, save_transform
from brainfuse.model.image import ImageVolume

if TYPE_CHECKING:  # SimpleITK is only a type here
    import SimpleITK

__all__ = ["LOADED_NOTE", "AlignedPair", "align_by_transform", "load_transform", "save_transform"]

#: The warning an alignment by a loaded transform carries (shown to the reader).
LOADED_NOTE = "Aligned by a transform loaded from a file."


def align_by_transform(
    ct: ImageVolume, mri: ImageVolume, transform: SimpleITK.Transform
) -> AlignedPair:
    """Put the CT on the MRI's grid through ``transform`` (MRI grid points -> CT points).

    Returns
    -------
    AlignedPair
        Mode ``rigid``, reference ``mri``, no metric value, the CT's coverage of the MRI grid
        (0-1) through the transform.
    """
    return AlignedPair(
        ct=resample_to(ct, mri, transform=transform),
        mri=mri,
        reference="mri",
        transform=transform,
        metric_value=None,
        warnings=[LOADED_NOTE],
        mode="rigid",
        coverage=coverage(ct, mri, transform=transform),
    )
