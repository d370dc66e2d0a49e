"""Sum of the correlations of differences (SCD) of Aslantas & Bendes."""

from __future__ import annotations

import numpy as np

from brainfuse.metrics._inputs import as_grey, check_mask, check_same_shape

__all__ = ["scd"]


def _correlation(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation of two equally shaped sets of values; 0 if either is constant."""
    xc, yc = x - x.mean(), y - y.mean()
    denom = np.sqrt((xc * xc).sum() * (yc * yc).sum())
    return float((xc * yc).sum() / denom) if denom > 0 else 0.0


def scd(
    fused: np.ndarray, a: np.ndarray, b: np.ndarray, *, mask: np.ndarray | None = None
) -> float:
    """Sum of the correlations of differences: ``SCD = r(F − B, A) + r(F − A, B)``.

    ``F − B`` is what the fused image holds beyond source B, which should come from A (and
    vice versa); ``r`` is the Pearson correlation over all (or the masked) pixels.

    Parameters
    ----------
    fused, a, b : ndarray, shape (H, W) or (H, W, 3)
        Fused image and the two sources, on the 0–255 scale (colour: BT.601 luminance).
    mask : ndarray of bool, shape (H, W), optional
        Correlate these pixels only.

    Returns
    -------
    float
        SCD in [−2, 2]; higher is better.

    References
    ----------
    V. Aslantas, E. Bendes, "A new image quality metric for image fusion: the sum of the
    correlations of differences", AEU Int. J. Electron. Commun. 69(12):1890–1896, 2015,
    doi:10.1016/j.aeue.2015.09.004.
    """
    f, sa, sb = as_grey(fused, "fused"), as_grey(a, "image A"), as_grey(b, "image B")
    check_same_shape(fused=f, image_a=sa, image_b=sb)
    m = check_mask(mask, f.shape)
    if m is not None:
        f, sa, sb = f[m], sa[m], sb[m]
    return _correlation(f - sb, sa) + _correlation(f - sa, sb)
