"""Which grid a fused pair is on: the finer in-plane of the two, both fields of view kept.

``--reference auto`` (the default) puts the result on the grid of the image with the finer
in-plane pixel (the mean of its row and column spacing; the CT's when they are within 1 %), so
a 0.5 mm CT's bone is not cut into the 1 mm (or 4 mm) blocks of the MRI, nor the MRI's brain
into the CT's. That grid is then extended, in whole voxels along its own axes, to the bounding
box of the other image's field of view (through the registration's transform), so neither
image is cut to the other's field of view; where one of them has no data the fusion takes the
other (a CT's outside is -1000 HU, :func:`brainfuse.model.bone.no_data`).
``--reference ct`` / ``mri`` keep that image's grid exactly as it is.
"""

from __future__ import annotations

import numpy as np
import SimpleITK

from brainfuse.model.image import ImageVolume

__all__ = ["REFERENCES", "choose_reference", "covering_grid", "in_plane_pixel"]

#: The choices of the result's grid: ``auto`` the finer in-plane, or one image's own.
REFERENCES = ("auto", "mri", "ct")
#: In-plane pixels within this fraction of each other tie (the CT's grid then).
TIE = 0.01
#: A field of view reaching past the grid by less than this many voxels does not extend it.
MARGIN_VOXELS = 0.5


def in_plane_pixel(volume: ImageVolume) -> float:
    """Mean of a volume's row and column spacing (mm): the in-plane pixel size."""
    sx, sy = (float(v) for v in volume.spacing[:2])
    return 0.5 * (sx + sy)


def choose_reference(ct: ImageVolume, mri: ImageVolume, reference: str) -> str:
    """Resolve ``reference`` (one of :data:`REFERENCES`) to ``"ct"`` or ``"mri"``.

    ``auto``: the image with the finer in-plane pixel (:func:`in_plane_pixel`); the CT when
    the two are within :data:`TIE` of each other. Where a plain image's spacing is only a
    placeholder: the one with geometry, and the MRI when neither has any (as registered
    plain slices always were).
    """
    if reference != "auto":
        return reference
    if not (ct.has_geometry and mri.has_geometry):
        return "ct" if ct.has_geometry and not mri.has_geometry else "mri"
    p_ct, p_mri = in_plane_pixel(ct), in_plane_pixel(mri)
    return "mri" if p_mri < p_ct * (1.0 - TIE) else "ct"


def _corners(volume: ImageVolume) -> np.ndarray:
    """Return the 8 corners of a volume's field of view (voxel edges), LPS mm, (8, 3)."""
    z, y, x = volume.shape[:3]
    ijk = np.array(
        [[i, j, k, 1.0] for i in (-0.5, x - 0.5) for j in (-0.5, y - 0.5) for k in (-0.5, z - 0.5)]
    )
    return (volume.affine @ ijk.T)[:3].T


def covering_grid(
    ref: ImageVolume, other: ImageVolume, transform: SimpleITK.Transform | None = None
) -> ImageVolume | None:
    """Return ``ref``'s grid extended to cover ``other``'s field of view, or None.

    Parameters
    ----------
    ref : the image whose spacing and axes the grid keeps
    other : the image whose field of view must fit in it
    transform : maps ``ref``-space points to ``other``-space points (registration), or None

    Returns
    -------
    ImageVolume or None
        ``ref`` with its origin moved and its shape grown by whole voxels (the array is a
        placeholder of zeros, uint8: only the grid is meant), or None when ``ref`` already
        covers ``other`` to within :data:`MARGIN_VOXELS`.
    """
    if ref.is_2d or other.is_2d:
        return None
    points = _corners(other)
    if transform is not None:
        inverse = transform.GetInverse()
        points = np.array([inverse.TransformPoint(tuple(float(v) for v in p)) for p in points])
    # other's corners in ref's continuous voxel index (i, j, k)
    index = (np.linalg.inv(ref.affine) @ np.c_[points, np.ones(len(points))].T)[:3].T
    z, y, x = ref.shape[:3]
    size = np.array([x, y, z], float)
    lo = np.floor(np.minimum(index.min(axis=0) + 0.5 + MARGIN_VOXELS, 0.0)).astype(int)
    hi = np.ceil(np.maximum(index.max(axis=0) + 0.5 - MARGIN_VOXELS, size)).astype(int)
    if (lo >= 0).all() and (hi <= size).all():
        return None
    shape_xyz = hi - lo
    origin = (ref.affine @ np.array([*lo.astype(float), 1.0]))[:3]
    return ref.with_array(
        np.zeros(tuple(int(v) for v in shape_xyz[::-1]), np.uint8),
        origin=tuple(float(v) for v in origin),
        is_rgb=False,
    )
