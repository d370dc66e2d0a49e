"""No-reference statistics of one image: SD, spatial frequency SF and average gradient AG."""

from __future__ import annotations

import numpy as np

from brainfuse.metrics._inputs import as_grey, check_mask

__all__ = ["average_gradient", "spatial_frequency", "standard_deviation"]


def standard_deviation(image: np.ndarray, *, mask: np.ndarray | None = None) -> float:
    """Compute the grey values' standard deviation SD (contrast), population form (÷ N).

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, 3)
        Image on the 0–255 scale (colour: BT.601 luminance).
    mask : ndarray of bool, shape (H, W), optional
        Pixels to include (default: all).

    Returns
    -------
    float
        SD in grey levels.

    References
    ----------
    J. Ma, Y. Ma, C. Li, "Infrared and visible image fusion methods and applications: a
    survey", Information Fusion 45:153–178, 2019, doi:10.1016/j.inffus.2018.02.004 (SD as a
    fusion metric).
    """
    x = as_grey(image)
    m = check_mask(mask, x.shape)
    return float(x.std() if m is None else x[m].std())


def _pair_masks(m: np.ndarray | None) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Masks of horizontal and vertical neighbour pairs lying wholly inside ``m``."""
    if m is None:
        return None, None
    return m[:, 1:] & m[:, :-1], m[1:, :] & m[:-1, :]


def spatial_frequency(image: np.ndarray, *, mask: np.ndarray | None = None) -> float:
    """Spatial frequency SF = sqrt(RF² + CF²), in grey levels per pixel.

    RF² is the mean of the squared differences between horizontal neighbours and CF² that
    between vertical neighbours, each averaged over the number of differences
    (M·(N−1) and (M−1)·N), not over M·N.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, 3)
        Image on the 0–255 scale (colour: BT.601 luminance).
    mask : ndarray of bool, shape (H, W), optional
        Use only neighbour pairs with both pixels inside the mask.

    Returns
    -------
    float
        SF (≥ 0).

    References
    ----------
    A. M. Eskicioglu, P. S. Fisher, "Image quality measures and their performance",
    IEEE Trans. Commun. 43(12):2959–2965, 1995, doi:10.1109/26.477498.
    """
    x = as_grey(image)
    m = check_mask(mask, x.shape)
    rows, cols = np.diff(x, axis=1) ** 2, np.diff(x, axis=0) ** 2
    mr, mc = _pair_masks(m)
    rf2 = rows.mean() if mr is None else (rows[mr].mean() if mr.any() else 0.0)
    cf2 = cols.mean() if mc is None else (cols[mc].mean() if mc.any() else 0.0)
    return float(np.sqrt(rf2 + cf2))


def average_gradient(image: np.ndarray, *, mask: np.ndarray | None = None) -> float:
    """Average gradient AG = mean of sqrt((ΔxF² + ΔyF²) / 2), in grey levels per pixel.

    ΔxF and ΔyF are forward differences, so the mean runs over the (M−1)·(N−1) pixels that
    have both a right and a lower neighbour.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, 3)
        Image on the 0–255 scale (colour: BT.601 luminance).
    mask : ndarray of bool, shape (H, W), optional
        Use only pixels whose right and lower neighbours are inside the mask too.

    Returns
    -------
    float
        AG (≥ 0).

    References
    ----------
    G. Cui, H. Feng, Z. Xu, Q. Li, Y. Chen, "Detail preserved fusion of visible and infrared
    images using regional saliency extraction and multi-scale image decomposition",
    Optics Communications 341:199–209, 2015, doi:10.1016/j.optcom.2014.12.032.
    """
    x = as_grey(image)
    m = check_mask(mask, x.shape)
    if min(x.shape) < 2:
        return 0.0
    dx = x[:-1, 1:] - x[:-1, :-1]
    dy = x[1:, :-1] - x[:-1, :-1]
    g = np.sqrt((dx**2 + dy**2) / 2.0)
    if m is None:
        return float(g.mean())
    inside = m[:-1, :-1] & m[:-1, 1:] & m[1:, :-1]
    return float(g[inside].mean()) if inside.any() else 0.0
