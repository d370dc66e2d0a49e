"""Fusion quality metrics on the 0–255 scale (numpy/scikit-image only: no Qt, no torch).

One implementation, used by ``brainfuse evaluate``, ``brainfuse bench`` and the GUI readouts::

    from brainfuse.metrics import fusion_metrics, ssim, qabf
    scores = fusion_metrics(fused, ct, mri, mask="head")

Each function takes the fused image and the sources (or one image) as 2-D arrays on the
0–255 scale, uint8 or float; colour ``(H, W, 3)`` images are scored on their BT.601
luminance. ``bone_kept``/``brain_kept`` and ``skull_kept``/``brain_clean`` (anatomy retention, defined in
``../shared/reference/anatomy.md``) score on their own bone and intracranial masks; every
other function accepts ``mask=`` (boolean, same shape) to score only part of the image;
:func:`head_mask` gives the head of a pair, background air excluded.
Conventions and references are in each docstring.
"""

from brainfuse.metrics._anatomy import (
    BONE_HU,
    BONE_LEVEL_8BIT,
    CtScale,
    bone_kept,
    bone_mask,
    brain_clean,
    brain_kept,
    intracranial_mask,
    skull_kept,
    skull_mask,
)
from brainfuse.metrics._information import entropy, mutual_information, mutual_information_source
from brainfuse.metrics._inputs import as_grey
from brainfuse.metrics._mask import head_mask
from brainfuse.metrics._qabf import qabf
from brainfuse.metrics._reference import psnr, psnr_source, ssim, ssim_source
from brainfuse.metrics._scd import scd
from brainfuse.metrics._statistics import average_gradient, spatial_frequency, standard_deviation
from brainfuse.metrics._summary import (
    ANATOMY_NAMES,
    HIGHER_IS_BETTER,
    METRIC_NAMES,
    fusion_metrics,
)
from brainfuse.metrics._vif import vif, vif_source

__all__ = [
    "ANATOMY_NAMES",
    "BONE_HU",
    "BONE_LEVEL_8BIT",
    "HIGHER_IS_BETTER",
    "METRIC_NAMES",
    "CtScale",
    "as_grey",
    "average_gradient",
    "bone_kept",
    "bone_mask",
    "brain_clean",
    "brain_kept",
    "entropy",
    "fusion_metrics",
    "head_mask",
    "intracranial_mask",
    "mutual_information",
    "mutual_information_source",
    "psnr",
    "psnr_source",
    "qabf",
    "scd",
    "skull_kept",
    "skull_mask",
    "spatial_frequency",
    "ssim",
    "ssim_source",
    "standard_deviation",
    "vif",
    "vif_source",
]
