"""Head mask: the pixels worth scoring, background air excluded."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from brainfuse.metrics._inputs import as_grey, check_same_shape

__all__ = ["head_mask"]


def head_mask(
    a: np.ndarray, b: np.ndarray, *, threshold: float = 10.0, radius: int = 2
) -> np.ndarray:
    """Boolean mask of the head in a pair of co-registered slices on the 0–255 scale.

    ``max(A, B) > threshold``, then a morphological closing (disk of ``radius`` pixels) to
    join the skull outline, holes filled (ventricles and sinuses are head too), and
    connected components smaller than 1 % of the largest dropped (noise specks in the air).

    Parameters
    ----------
    a, b : ndarray, shape (H, W) or (H, W, 3)
        The two sources, on the 0–255 scale (colour: BT.601 luminance).
    threshold : float
        Grey level above which a pixel is tissue rather than air (default 10 of 255).
    radius : int
        Radius of the closing element, pixels.

    Returns
    -------
    ndarray of bool, shape (H, W)
        True inside the head. All False if both images are dark everywhere.
    """
    sa, sb = as_grey(a, "image A"), as_grey(b, "image B")
    check_same_shape(image_a=sa, image_b=sb)
    mask = np.maximum(sa, sb) > threshold
    if radius > 0:
        yy, xx = np.mgrid[-radius : radius + 1, -radius : radius + 1]
        disk = yy**2 + xx**2 <= radius**2
        padded = np.pad(mask, radius)
        mask = ndi.binary_closing(padded, structure=disk)[radius:-radius, radius:-radius]
    mask = ndi.binary_fill_holes(mask)
    labels, count = ndi.label(mask)
    if count > 1:
        sizes = np.bincount(labels.ravel())[1:]
        keep = np.flatnonzero(sizes >= 0.01 * sizes.max()) + 1
        mask = np.isin(labels, keep)
    return mask
