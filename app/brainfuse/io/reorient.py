"""Bring a volume to the closest canonical LPS orientation by axis permutations and flips.

No interpolation: voxels are only transposed and mirrored, and the affine is updated so that
every voxel keeps its position in patient space. After :func:`to_canonical_lps` the x, y, z
index axes point (as closely as the acquisition allows) to patient Left, Posterior and
Superior, so slice ``k`` is axial, row 0 anterior and column 0 patient right.
"""

from __future__ import annotations

import numpy as np
from nibabel import orientations

from brainfuse.model.image import ImageVolume

__all__ = ["geometry_from_affine", "to_canonical_lps"]


def geometry_from_affine(affine: np.ndarray):
    """Split a 4x4 ``(i, j, k, 1) -> LPS`` affine into spacing, origin and direction.

    Parameters
    ----------
    affine : (4, 4) array-like
        Voxel-to-patient matrix, mm.

    Returns
    -------
    spacing : (3,) tuple of float, mm
    origin : (3,) tuple of float, mm
    direction : (3, 3) ndarray
        Unit columns (an axis of zero length keeps a unit vector along its own axis).
    """
    affine = np.asarray(affine, dtype=float)
    columns = affine[:3, :3]
    spacing = np.linalg.norm(columns, axis=0)
    direction = np.eye(3)
    for a in range(3):
        if spacing[a] > 0:
            direction[:, a] = columns[:, a] / spacing[a]
    return tuple(spacing), tuple(affine[:3, 3]), direction


def to_canonical_lps(volume: ImageVolume) -> ImageVolume:
    """Return ``volume`` with its axes permuted and flipped to the closest LPS orientation.

    Parameters
    ----------
    volume : ImageVolume
        Any orientation. Volumes of a single slice, and volumes whose affine is not finite
        or is singular, are returned unchanged.

    Returns
    -------
    ImageVolume
        Same voxels in patient space; ``array`` reordered, ``spacing``, ``origin`` and
        ``direction`` updated. ``volume`` itself is not modified.

    Notes
    -----
    Uses :func:`nibabel.orientations.io_orientation`, which assigns each index axis to the
    world axis it is closest to (the world here being LPS, so "canonical" means L, P, S).
    """
    if volume.is_2d:
        return volume
    affine = volume.affine
    if not np.isfinite(affine).all() or abs(np.linalg.det(affine[:3, :3])) < 1e-12:
        return volume
    ornt = orientations.io_orientation(affine)
    target = np.array([[0, 1], [1, 1], [2, 1]])
    transform = orientations.ornt_transform(ornt, target)
    if np.array_equal(transform, target):
        return volume
    # ImageVolume arrays are (z, y, x[, c]); nibabel works in (x, y, z[, c]) order.
    xyz = np.swapaxes(volume.array, 0, 2)
    shape_xyz = xyz.shape[:3]
    moved = orientations.apply_orientation(xyz, transform)
    new_affine = affine @ orientations.inv_ornt_aff(transform, shape_xyz)
    spacing, origin, direction = geometry_from_affine(new_affine)
    array = np.ascontiguousarray(np.swapaxes(moved, 0, 2))
    return volume.with_array(array, spacing=spacing, origin=origin, direction=direction)
