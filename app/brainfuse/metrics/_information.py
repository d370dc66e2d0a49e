"""Information measures in bits: entropy EN and mutual information MI.

Values are rounded to the 256 integer grey levels 0..255 (exact for 8-bit images) and counted
in 256 bins (256×256 for joint histograms); logarithms are base 2.
"""

from __future__ import annotations

import numpy as np

from brainfuse.metrics._inputs import as_grey, check_mask, check_same_shape, to_levels

__all__ = ["entropy", "mutual_information", "mutual_information_source"]

LEVELS = 256


def _entropy_bits(p: np.ndarray) -> float:
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def entropy(image: np.ndarray, *, mask: np.ndarray | None = None) -> float:
    """Shannon entropy EN of the grey-level histogram, in bits.

    ``EN = −Σ p(l)·log2 p(l)`` over the 256 grey levels.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, 3)
        Image on the 0–255 scale (colour: BT.601 luminance).
    mask : ndarray of bool, shape (H, W), optional
        Histogram of these pixels only.

    Returns
    -------
    float
        Entropy in bits, 0..8.

    References
    ----------
    J. W. Roberts, J. A. van Aardt, F. B. Ahmed, "Assessment of image fusion procedures using
    entropy, image quality, and multispectral classification", J. Appl. Remote Sens. 2(1):023522,
    2008, doi:10.1117/1.2945910.
    """
    x = as_grey(image)
    m = check_mask(mask, x.shape)
    levels = to_levels(x if m is None else x[m])
    counts = np.bincount(levels.ravel(), minlength=LEVELS)
    return _entropy_bits(counts / counts.sum())


def mutual_information_source(
    fused: np.ndarray, source: np.ndarray, *, mask: np.ndarray | None = None
) -> float:
    """Mutual information MI(F, S) in bits, from the 256×256 joint grey-level histogram.

    ``MI = Σ p(f, s)·log2(p(f, s) / (p(f)·p(s)))``; MI(S, S) equals the entropy of S.
    Inputs as for :func:`entropy`.
    """
    f, s = as_grey(fused, "fused"), as_grey(source, "source")
    check_same_shape(fused=f, source=s)
    m = check_mask(mask, f.shape)
    lf, ls = to_levels(f), to_levels(s)
    if m is not None:
        lf, ls = lf[m], ls[m]
    joint = np.bincount((lf * LEVELS + ls).ravel(), minlength=LEVELS * LEVELS)
    p = joint.reshape(LEVELS, LEVELS) / lf.size
    pf, ps = p.sum(axis=1), p.sum(axis=0)
    return _entropy_bits(pf) + _entropy_bits(ps) - _entropy_bits(p.ravel())


def mutual_information(
    fused: np.ndarray, a: np.ndarray, b: np.ndarray, *, mask: np.ndarray | None = None
) -> float:
    """Fusion mutual information ``MI(F, A) + MI(F, B)`` in bits.

    Parameters
    ----------
    fused, a, b : ndarray, shape (H, W) or (H, W, 3)
        Fused image and the two sources, on the 0–255 scale.
    mask : ndarray of bool, shape (H, W), optional
        Joint histograms of these pixels only.

    Returns
    -------
    float
        Sum of the two mutual informations, in bits (≥ 0).

    References
    ----------
    G. Qu, D. Zhang, P. Yan, "Information measure for performance of image fusion",
    Electronics Letters 38(7):313–315, 2002, doi:10.1049/el:20020212.
    """
    return mutual_information_source(fused, a, mask=mask) + mutual_information_source(
        fused, b, mask=mask
    )
