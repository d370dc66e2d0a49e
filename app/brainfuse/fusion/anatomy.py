"""The ``anatomy`` rule: the CT's bone from the CT, the brain from the MRI, the CNN decides the rest.

A radiologist fuses CT with MRI to see the CT's bone and the MRI's soft tissue in one picture
(``../shared/reference/anatomy.md``). The deep-feature map of SESF-Fuse takes whichever image
has more texture, so it replaces the CT's flat, saturated bone with the MRI's dark cortical
band and drops CT patches into the brain. This rule overrides it where the anatomy is known:

1. **bone** (the bone prior, from the CT's own values: ``HU >= 300``, or ``>= 200`` on an
   8-bit slice; :func:`brainfuse.intensity.volume_bone_mask`): image 1 (the CT);
2. **intracranial area** (inside the skull: the bone closed by a small disk to seal gaps, its
   holes filled, the bone itself excluded): image 2 (the MRI);
3. **everywhere else** (scalp, sinuses, orbits, slices whose skull is open): the deep-feature
   hard map after consistency verification, as in ``sesf``;
4. background (both sources dark) is image 2.

The hard map is then softened by the same detail blend as ``sesf``
(:func:`~brainfuse.fusion.decision.soft_map`), but a bone pixel never moves more than
``tolerance`` grey levels from the CT and an intracranial pixel never more than that from
the MRI. Region borders lie on the CT's own bone edges, so there is no seam and no halo.

Dense tissue inside the skull: pixels at bone density (calcifications, ``>= 300 HU``) are
bone and come from the CT (the MRI barely shows calcium); a hyperdense bleed (50-100 HU)
is below bone density and comes from the MRI like the rest of the brain.

The map is computed on a fixed representation of the CT (the 8-bit values, or the default
brain window of a HU CT), never on the display window: changing the CT's window recomposes
``F = W * CT_display + (1 - W) * MRI_display`` without changing ``W``.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from brainfuse.fusion.decision import _dilate, _erode, hard_map, scaled_radius, soft_map
from brainfuse.fusion.settings import FusionSettings

__all__ = ["intracranial", "anatomy_maps", "slice_maps", "rule_that_runs"]


def rule_that_runs(settings: FusionSettings, has_bone: bool) -> str:
    """The rule a fusion actually runs: ``anatomy`` needs a bone prior, else ``sesf``."""
    return "anatomy" if settings.rule == "anatomy" and has_bone else "sesf"


def slice_maps(
    a1: np.ndarray,
    a2: np.ndarray,
    i1: np.ndarray,
    i2: np.ndarray,
    bone: np.ndarray | None,
    settings: FusionSettings,
) -> tuple[np.ndarray, np.ndarray]:
    """Hard and soft map of one slice under the rule that runs (:func:`rule_that_runs`).

    Parameters
    ----------
    a1, a2 : (H, W) float32, the box-summed deep activities
    i1, i2 : (H, W) float32 in [0, 1], the sources in their fixed (decision) representation
    bone : (H, W) bool or None, the bone prior
    settings : FusionSettings

    Returns
    -------
    hard (uint8, 1 = image 1) and soft (float32, the weight of image 1); background (both
    sources below ``settings.background``) is 0 in both.
    """
    dm = hard_map(a1, a2, settings)
    if bone is not None and rule_that_runs(settings, True) == "anatomy":
        return anatomy_maps(dm, bone, i1, i2, settings)
    soft = soft_map(dm, i1, i2, settings)
    back = np.maximum(i1, i2) < settings.background / 255.0
    dm[back] = 0
    soft[back] = 0.0
    return dm, soft


def _closing(mask: np.ndarray, r: int) -> np.ndarray:
    """Binary closing by the disk of radius ``r`` (the area outside the slice is background)."""
    if r <= 0:
        return mask
    p = np.pad(mask, 2 * r)
    return _erode(_dilate(p, r), r)[2 * r : -2 * r, 2 * r : -2 * r]


def intracranial(bone: np.ndarray, close_radius: float = 3.0) -> np.ndarray:
    """Inside the skull: ``fill_holes(closing(bone)) & ~closing(bone)``.

    Parameters
    ----------
    bone : (H, W) bool, the bone prior of one slice
    close_radius : float
        Radius of the closing for a 256 x 256 slice (scaled with the slice).

    Returns
    -------
    (H, W) bool; empty where the skull does not enclose anything (open skull base).
    """
    sealed = _closing(np.asarray(bone, bool), scaled_radius(close_radius, bone.shape))
    return ndimage.binary_fill_holes(sealed) & ~sealed


def anatomy_maps(
    dm: np.ndarray,
    bone: np.ndarray,
    i1: np.ndarray,
    i2: np.ndarray,
    settings: FusionSettings,
) -> tuple[np.ndarray, np.ndarray]:
    """Hard and soft map of one slice under the ``anatomy`` rule.

    Parameters
    ----------
    dm : (H, W) uint8, the deep-feature hard map after consistency verification
    bone : (H, W) bool, the bone prior (from the CT's own values)
    i1, i2 : (H, W) float32 in [0, 1], the CT and the MRI in their fixed (decision)
        representation
    settings : FusionSettings (``anatomy``, ``detail``, ``background``)

    Returns
    -------
    hard : (H, W) uint8, 1 where the CT is taken
    soft : (H, W) float32 in [0, 1], the CT's weight
    """
    bone = np.asarray(bone, bool)
    inside = intracranial(bone, settings.anatomy.close_radius)
    hard = dm.astype(np.uint8, copy=True)
    hard[inside] = 0
    hard[bone] = 1
    back = np.maximum(i1, i2) < settings.background / 255.0
    hard[back] = 0
    soft = soft_map(hard, i1, i2, settings)
    # the blend may not move bone away from the CT, nor the brain away from the MRI
    d = np.abs(i1 - i2) + np.float32(1e-6)
    reach = np.clip(np.float32(settings.anatomy.tolerance / 255.0) / d, 0.0, 1.0)
    soft = np.where(bone, np.maximum(soft, 1.0 - reach), soft)
    soft = np.where(inside, np.minimum(soft, reach), soft)
    soft[back] = 0.0
    return hard, soft.astype(np.float32, copy=False)
