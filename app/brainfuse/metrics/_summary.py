"""All fusion metrics of one fused slice in one call."""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection
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
    names: Collection[str] | None = None,
) -> dict[str, float]:
    """Every fusion metric (or those ``names``) of a fused slice against its two sources.

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
    names : collection of str, optional
        Compute only these metrics (keys of :data:`METRIC_NAMES`); the others are not
        computed at all (a viewer's readout asks for the fast ones). Default: all.

    Returns
    -------
    dict of str to float
        ``ssim`` (mean of ``ssim_a``, ``ssim_b``), ``psnr`` (dB, from the mean MSE) with
        ``psnr_a``/``psnr_b``, ``en`` (bits), ``sd``, ``sf``, ``ag``, ``mi`` (bits),
        ``qabf``, ``vif`` (VIF(A→F) + VIF(B→F), pixel-domain multi-scale), ``scd``,
        ``bone_kept``, ``brain_kept``, ``skull_kept`` and ``brain_clean`` (fractions, NaN
        when undefined), in the order of :data:`METRIC_NAMES` (only ``names``, in that order,
        when given).

    Raises
    ------
    ValueError
        A name not in :data:`METRIC_NAMES`.
    """
    f, sa, sb = as_grey(fused, "fused"), as_grey(a, "image A"), as_grey(b, "image B")
    check_same_shape(fused=f, image_a=sa, image_b=sb)
    if isinstance(mask, str):
        if mask != "head":
            raise ValueError(f"mask must be None, 'head' or a boolean array, not {mask!r}")
        mask = head_mask(sa, sb)
    if ct_scale is None and ct_hu is not None:
        raise ValueError("ct_hu was given but ct_scale is None; use ct_scale='hu'")
    wanted = METRIC_NAMES if names is None else tuple(n for n in METRIC_NAMES if n in names)
    unknown = set(names or ()) - set(METRIC_NAMES)
    if unknown:
        raise ValueError(f"unknown metrics {sorted(unknown)}; use names of {METRIC_NAMES}")

    def anatomy(metric: Callable[..., float], *images: np.ndarray) -> float:
        if ct_scale is None:
            return float("nan")
        return metric(*images, ct_scale=ct_scale, ct_hu=ct_hu)

    ssim_a = functools.cache(lambda: ssim_source(f, sa, mask=mask))
    ssim_b = functools.cache(lambda: ssim_source(f, sb, mask=mask))
    compute: dict[str, Callable[[], float]] = {
        "ssim": lambda: 0.5 * (ssim_a() + ssim_b()),
        "ssim_a": ssim_a,
        "ssim_b": ssim_b,
        "psnr": lambda: psnr(f, sa, sb, mask=mask),
        "psnr_a": lambda: psnr_source(f, sa, mask=mask),
        "psnr_b": lambda: psnr_source(f, sb, mask=mask),
        "en": lambda: entropy(f, mask=mask),
        "sd": lambda: standard_deviation(f, mask=mask),
        "sf": lambda: spatial_frequency(f, mask=mask),
        "ag": lambda: average_gradient(f, mask=mask),
        "mi": lambda: mutual_information(f, sa, sb, mask=mask),
        "qabf": lambda: qabf(f, sa, sb, mask=mask),
        "vif": lambda: vif_source(f, sa, mask=mask) + vif_source(f, sb, mask=mask),
        "scd": lambda: scd(f, sa, sb, mask=mask),
        "bone_kept": lambda: anatomy(bone_kept, f, sa),
        "brain_kept": lambda: anatomy(brain_kept, f, sa, sb),
        "skull_kept": lambda: anatomy(skull_kept, f, sa),
        "brain_clean": lambda: anatomy(brain_clean, f, sa, sb),
    }
    return {name: compute[name]() for name in wanted}
