"""Compose the fused image from a soft map and the two sources: ``F = W * I1 + (1 - W) * I2``.

The one place where the weighted blend of the method (seed equation 1) is written, used by
the :class:`~brainfuse.fusion.Fuser` and by every shell that recomposes a fused slice from a
decision it already has. A colour image 1 (PET/SPECT) is blended through its luminance Y;
its chroma is kept (:mod:`brainfuse.fusion.colour`).
"""

from __future__ import annotations

import numpy as np

from brainfuse.fusion.colour import rgb_to_ycbcr, ycbcr_to_rgb
from brainfuse.model.intensity import UnitStack

__all__ = ["compose", "is_rgb_pair"]


def is_rgb_pair(image1: UnitStack, image2: UnitStack) -> bool:
    """Tell whether ``image1`` is ``image2``'s shape plus a trailing RGB axis."""
    return image1.ndim == image2.ndim + 1 and image1.shape[-1] == 3


def compose(soft: np.ndarray, image1: np.ndarray, image2: np.ndarray) -> np.ndarray:
    """Weighted blend of two sources by the soft map.

    Parameters
    ----------
    soft : float array (..., H, W) in [0, 1], the weight of image 1
    image1 : float array in [0, 1], shaped like ``soft`` or with a trailing RGB axis
    image2 : float array in [0, 1], shaped like ``soft``

    Returns
    -------
    float32 array shaped like ``image1``, in [0, 1].
    """
    soft = np.asarray(soft, np.float32)
    image2 = np.asarray(image2, np.float32)
    if is_rgb_pair(np.asarray(image1), image2):
        y, cb, cr = rgb_to_ycbcr(image1)
        return ycbcr_to_rgb(soft * y + (1.0 - soft) * image2, cb, cr)
    image1 = np.asarray(image1, np.float32)
    return (soft * image1 + (1.0 - soft) * image2).astype(np.float32, copy=False)
