"""Anatomy retention: whether the fused image keeps the CT's bone and the MRI's brain.

Definitions of ``../shared/reference/anatomy.md``, exactly (every tool that reports these two
numbers must agree): on the 0–255 scale of the fused image ``F`` and of the two sources as
fused (the CT after its window, or as-is for 8-bit slices), with ``scipy.ndimage``'s default
(cross-shaped, connectivity 1) structuring element:

* bone mask ``B``: ``CT >= 200`` on 8-bit CT slices (stored already windowed, bone
  saturated); ``HU >= 300`` on CT in Hounsfield units;
* intracranial mask ``C = binary_fill_holes(B) & ~binary_dilation(B, iterations=2)``;
* ``bone_kept`` = fraction of ``B`` where ``|F − CT| <= 25``;
* ``brain_kept`` = fraction of ``C`` where ``|F − MRI| <= 25``;
* each is NaN when its mask has fewer than 50 pixels (a mean over pairs skips NaN).

The sharper pair of the same document (``CT >= 200`` is not bone on a CT stored with a narrow
window, whose parenchyma reaches 200-249 while bone is saturated):

* skull mask ``S``: ``skimage.filters.apply_hysteresis_threshold(CT, 199.5, 249.5)`` on 8-bit
  slices (pixels >= 200 connected to a pixel >= 250), ``apply_hysteresis_threshold(HU, 299.5,
  699.5)`` in Hounsfield units;
* cavity ``K = binary_fill_holes(S) & ~binary_dilation(S, iterations=2)``;
* ``skull_kept`` = fraction of ``S`` where ``|F − CT| <= 25``;
* ``brain_clean`` = fraction of ``K`` where ``|F − MRI| <= 25``; NaN as above.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage.filters import apply_hysteresis_threshold

from brainfuse.errors import UnsupportedInputError
from brainfuse.metrics._inputs import as_grey, check_same_shape
from brainfuse.model.intensity import BONE_HU, BONE_LEVEL_8BIT, BoneScale
from brainfuse.model.intensity import bone_mask as _bone_of

__all__ = [
    "BONE_HU",
    "BONE_LEVEL_8BIT",
    "KEPT_TOLERANCE",
    "MIN_MASK_PIXELS",
    "CtScale",
    "bone_kept",
    "bone_mask",
    "brain_clean",
    "brain_kept",
    "intracranial_mask",
    "skull_kept",
    "skull_mask",
]

#: A pixel is kept when the fused grey level is within this many levels of the source's.
KEPT_TOLERANCE = 25.0
#: Masks smaller than this (pixels) give NaN.
MIN_MASK_PIXELS = 50

#: How the CT's bone is found: ``"8-bit"`` (the CT slice itself, >= 200) or ``"hu"`` (the
#: CT's Hounsfield units, >= 300, passed separately as ``ct_hu``); intensity's BoneScale.
CtScale = BoneScale


def bone_mask(
    ct: np.ndarray, *, ct_scale: CtScale = "8-bit", ct_hu: np.ndarray | None = None
) -> np.ndarray:
    """Bone mask ``B`` of a CT slice.

    Parameters
    ----------
    ct : ndarray, shape (H, W)
        The CT as fused, 0–255 (used for the mask only when ``ct_scale="8-bit"``).
    ct_scale : {"8-bit", "hu"}
        ``"8-bit"``: ``B = ct >= 200``; ``"hu"``: ``B = ct_hu >= 300``.
    ct_hu : ndarray, shape (H, W), optional
        The CT in Hounsfield units (required with ``ct_scale="hu"``).

    Returns
    -------
    ndarray of bool, shape (H, W)
    """
    c = as_grey(ct, "CT")
    if ct_scale == "8-bit":
        if ct_hu is not None:
            raise UnsupportedInputError(
                "Hounsfield units were given for an 8-bit CT; use ct_scale='hu'."
            )
        return _bone_of(c, "8-bit")
    if ct_scale == "hu":
        if ct_hu is None:
            raise UnsupportedInputError("ct_scale='hu' needs the CT in Hounsfield units (ct_hu).")
        hu = np.asarray(ct_hu, dtype=np.float64)
        if hu.shape != c.shape:
            check_same_shape(ct=c, ct_hu=hu)
        return _bone_of(hu, "hu")
    raise UnsupportedInputError(f"ct_scale must be '8-bit' or 'hu', not {ct_scale!r}.")


#: Hysteresis thresholds of the skull mask (low, high): 8-bit levels and Hounsfield units.
SKULL_HYSTERESIS_8BIT = (199.5, 249.5)
SKULL_HYSTERESIS_HU = (299.5, 699.5)


def skull_mask(
    ct: np.ndarray, *, ct_scale: CtScale = "8-bit", ct_hu: np.ndarray | None = None
) -> np.ndarray:
    """Skull mask ``S`` of a CT slice: bone-level pixels connected to saturated bone.

    ``apply_hysteresis_threshold(CT, 199.5, 249.5)`` on an 8-bit slice,
    ``apply_hysteresis_threshold(HU, 299.5, 699.5)`` in Hounsfield units (arguments as in
    :func:`bone_mask`).
    """
    c = as_grey(ct, "CT")
    bone_mask(c, ct_scale=ct_scale, ct_hu=ct_hu)  # the same checks of the arguments
    if ct_scale == "hu":
        values = np.asarray(ct_hu, dtype=np.float64)
        low, high = SKULL_HYSTERESIS_HU
    else:
        values, (low, high) = c, SKULL_HYSTERESIS_8BIT
    return apply_hysteresis_threshold(values, low, high)


def intracranial_mask(bone: np.ndarray) -> np.ndarray:
    """Find the intracranial area: inside the skull, two pixels clear of bone.

    ``binary_fill_holes(B) & ~binary_dilation(B, iterations=2)`` (scipy's default
    cross-shaped element).
    """
    b = np.asarray(bone, dtype=bool)
    return ndi.binary_fill_holes(b) & ~ndi.binary_dilation(b, iterations=2)


def _fraction_within(f: np.ndarray, s: np.ndarray, m: np.ndarray) -> float:
    if int(m.sum()) < MIN_MASK_PIXELS:
        return float("nan")
    return float(np.mean(np.abs(f[m] - s[m]) <= KEPT_TOLERANCE))


def _kept(fused, ct, mri, mask_of, inside: bool, ct_scale, ct_hu) -> float:
    """Fraction of ``mask_of(CT)`` (or of its cavity, ``inside``) kept from the CT (the MRI)."""
    f, c = as_grey(fused, "fused"), as_grey(ct, "CT")
    m = None if mri is None else as_grey(mri, "MRI")
    check_same_shape(fused=f, ct=c, **({} if m is None else {"mri": m}))
    mask = mask_of(c, ct_scale=ct_scale, ct_hu=ct_hu)
    if m is not None and inside:
        return _fraction_within(f, m, intracranial_mask(mask))
    return _fraction_within(f, c, mask)


def bone_kept(
    fused: np.ndarray,
    ct: np.ndarray,
    *,
    ct_scale: CtScale = "8-bit",
    ct_hu: np.ndarray | None = None,
) -> float:
    """Fraction of the CT's bone pixels that the fused image keeps (``|F − CT| <= 25``).

    Parameters
    ----------
    fused, ct : ndarray, shape (H, W) or (H, W, 3)
        Fused image and the CT as fused, 0–255 (colour: BT.601 luminance).
    ct_scale, ct_hu
        Where the bone mask comes from (:func:`bone_mask`).

    Returns
    -------
    float
        In [0, 1]; NaN when the bone mask has fewer than 50 pixels.
    """
    return _kept(fused, ct, None, bone_mask, False, ct_scale, ct_hu)


def brain_kept(
    fused: np.ndarray,
    ct: np.ndarray,
    mri: np.ndarray,
    *,
    ct_scale: CtScale = "8-bit",
    ct_hu: np.ndarray | None = None,
) -> float:
    """Compute the fraction of the intracranial pixels where the fused image keeps the MRI.

    Kept: ``|F − MRI| <= 25``.

    Parameters
    ----------
    fused, ct, mri : ndarray, shape (H, W) or (H, W, 3)
        Fused image, CT and MRI as fused, 0–255 (colour: BT.601 luminance).
    ct_scale, ct_hu
        Where the bone mask comes from (:func:`bone_mask`); the intracranial mask is
        :func:`intracranial_mask` of it.

    Returns
    -------
    float
        In [0, 1]; NaN when the intracranial mask has fewer than 50 pixels.
    """
    return _kept(fused, ct, mri, bone_mask, True, ct_scale, ct_hu)


def skull_kept(
    fused: np.ndarray,
    ct: np.ndarray,
    *,
    ct_scale: CtScale = "8-bit",
    ct_hu: np.ndarray | None = None,
) -> float:
    """Fraction of the CT's skull (:func:`skull_mask`) where ``|F − CT| <= 25``.

    Arguments as in :func:`bone_kept`; NaN when the skull mask has fewer than 50 pixels.
    """
    return _kept(fused, ct, None, skull_mask, False, ct_scale, ct_hu)


def brain_clean(
    fused: np.ndarray,
    ct: np.ndarray,
    mri: np.ndarray,
    *,
    ct_scale: CtScale = "8-bit",
    ct_hu: np.ndarray | None = None,
) -> float:
    """Fraction of the skull's cavity where ``|F − MRI| <= 25``: no CT speckle in the brain.

    The cavity is :func:`intracranial_mask` of :func:`skull_mask`. Arguments as in
    :func:`brain_kept`; NaN when the cavity has fewer than 50 pixels.
    """
    return _kept(fused, ct, mri, skull_mask, True, ct_scale, ct_hu)
