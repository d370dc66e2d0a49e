"""A few axial slices of the real demo pair (fast to fuse), for the tests of edits and sessions."""

from __future__ import annotations

import numpy as np

from brainfuse.model.image import ImageVolume


def crop(volume: ImageVolume, k0: int, k1: int) -> ImageVolume:
    """Slices ``k0:k1`` of ``volume``, its origin moved so every voxel keeps its LPS position."""
    origin = volume.affine @ np.array([0.0, 0.0, float(k0), 1.0])
    return volume.with_array(volume.array[k0:k1], origin=tuple(origin[:3]))


def demo_slices(k0: int, k1: int) -> tuple[ImageVolume, ImageVolume]:
    """Slices ``k0:k1`` of the shipped demo CT (HU) and MRI, on one grid."""
    from brainfuse.io import demo_pair

    ct, mri = demo_pair()
    return crop(ct, k0, k1), crop(mri, k0, k1)
