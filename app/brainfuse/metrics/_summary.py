"""All fusion metrics of one fused slice in one call."""

from __future__ import annotations

from typing import Literal

import numpy as np

from brainfuse.metrics._anatomy import (
    CtScale,
    bone_kept,
    brain_clean,
    brain_kept,
    skull_kept,
)
from brainfuse.metrics._information import entropy, mutual_information
from brainfuse.metrics._inputs import as_grey, check_same_shape
from brainfuse.metrics._mask import head_mask
from brainfuse.metrics._qabf import qabf
from brainfuse.metrics._reference import psnr, psnr_source, ssim_source
from brainfuse.metrics._scd import scd
from brainfuse.metrics._statistics import average_gradient, spatial_frequency, standard_deviation
from brainfuse.metrics._vif import vif_source

__all__ = ["ANATOMY_NAMES", "HIGHER_IS_BETTER", "METRIC_NAMES", "fusion_metrics"]

#: Anatomy retention (``../shared/reference/anatomy.md``): scored on their own masks.
ANATOMY_NAMES = ("bone_kept", "brain_kept", "skull_kept", "brain_clean")

#: Keys of :func:`fusion_metrics`, in display order.
METRIC_NAMES = (
    "ssim",
    "ssim_a",
    "ssim_b",
    "psnr",
    "psnr_a",
    "psnr_b",
    "en",
    "sd",
    "sf",
    "ag",
    "mi",
    "qabf",
    "vif",
    "scd",
    *ANATOMY_NAMES,
)
#: Every metric of :func:`fusion_metrics` is better when higher.
HIGHER_IS_BETTER = dict.fromkeys(METRIC_NAMES, True)


def fusion_metrics(
    fused: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    *,
    mask: np.ndarray | Literal["head"] | None = None,
    ct_scale: CtScale | None = None,
    ct_hu: np.ndarray | None = None,
) -> dict[str, float]:
    """Every fusion metric of a fused slice against its two sources.

    Parameters
    ----------
    fused, a, b : ndarray, shape (H, W) or (H, W, 3)
        Fused image, image 1 (CT/PET/SPECT) and image 2 (MRI), on the 0–255 scale. Colour
        images are scored on their BT.601 luminance.
    mask : ndarray of bool (H, W), ``"head"`` or None
        ``None`` scores every pixel (the literature's convention); ``"head"`` scores only
        :func:`~brainfuse.metrics.head_mask` of the sources (background air excluded); an
        array scores only its True pixels. The anatomy metrics ignore it (they have their
        own masks).
    ct_scale : {"8-bit", "hu"} or None
        What image 1 is, for ``bone_kept`` and ``brain_kept``: ``"8-bit"``, a CT slice
        stored 0–255 (bone = ``a >= 200``); ``"hu"``, a CT whose Hounsfield units are
        ``ct_hu`` (bone = ``ct_hu >= 300``; ``a`` is the CT after its window); ``None``,
        not a CT (PET, SPECT, MR): both anatomy metrics are NaN.
    ct_hu : ndarray (H, W), optional
        The CT in Hounsfield units, with ``ct_scale="hu"``.

    Returns
    -------
    dict of str to float
        ``ssim`` (mean of ``ssim_a``, ``ssim_b``), ``psnr`` (dB, from the mean MSE) with
        ``psnr_a``/``psnr_b``, ``en`` (bits), ``sd``, ``sf``, ``ag``, ``mi`` (bits),
        ``qabf``, ``vif`` (VIF(A→F) + VIF(B→F), pixel-domain multi-scale), ``scd``,
        ``bone_kept``, ``brain_kept``, ``skull_kept`` and ``brain_clean`` (fractions, NaN
        when undefined), in the order of
        :data:`METRIC_NAMES`.
    """
    f, sa, sb = as_grey(fused, "fused"), as_grey(a, "image A"), as_grey(b, "image B")
    check_same_shape(fused=f, image_a=sa, image_b=sb)
    if isinstance(mask, str):
        if mask != "head":
            raise ValueError(f"mask must be None, 'head' or a boolean array, not {mask!r}")
        mask = head_mask(sa, sb)
    if ct_scale is None:
        if ct_hu is not None:
            raise ValueError("ct_hu was given but ct_scale is None; use ct_scale='hu'")
        anatomy = dict.fromkeys(ANATOMY_NAMES, float("nan"))
    else:
        anatomy = {
            "bone_kept": bone_kept(f, sa, ct_scale=ct_scale, ct_hu=ct_hu),
            "brain_kept": brain_kept(f, sa, sb, ct_scale=ct_scale, ct_hu=ct_hu),
            "skull_kept": skull_kept(f, sa, ct_scale=ct_scale, ct_hu=ct_hu),
            "brain_clean": brain_clean(f, sa, sb, ct_scale=ct_scale, ct_hu=ct_hu),
        }
    ssim_a, ssim_b = ssim_source(f, sa, mask=mask), ssim_source(f, sb, mask=mask)
    return {
        "ssim": 0.5 * (ssim_a + ssim_b),
        "ssim_a": ssim_a,
        "ssim_b": ssim_b,
        "psnr": psnr(f, sa, sb, mask=mask),
        "psnr_a": psnr_source(f, sa, mask=mask),
        "psnr_b": psnr_source(f, sb, mask=mask),
        "en": entropy(f, mask=mask),
        "sd": standard_deviation(f, mask=mask),
        "sf": spatial_frequency(f, mask=mask),
        "ag": average_gradient(f, mask=mask),
        "mi": mutual_information(f, sa, sb, mask=mask),
        "qabf": qabf(f, sa, sb, mask=mask),
        "vif": vif_source(f, sa, mask=mask) + vif_source(f, sb, mask=mask),
        "scd": scd(f, sa, sb, mask=mask),
        **anatomy,
    }
