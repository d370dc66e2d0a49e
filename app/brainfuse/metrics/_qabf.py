"""Xydeas–Petrović gradient-based edge-transfer metric Q^{AB/F}."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from brainfuse.metrics._inputs import as_grey, check_mask, check_same_shape

__all__ = ["qabf"]

# Sigmoid constants of Xydeas & Petrović (2000): strength (g) and orientation (alpha).
GAMMA_G, KAPPA_G, SIGMA_G = 0.9994, -15.0, 0.5
GAMMA_A, KAPPA_A, SIGMA_A = 0.9879, -22.0, 0.8
L_EXPONENT = 1.0

_SOBEL_X = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])


def _strength_orientation(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sobel edge strength g and orientation α = arctan(s_y / s_x) in [−π/2, π/2]."""
    sx = ndi.correlate(x, _SOBEL_X, mode="reflect")
    sy = ndi.correlate(x, _SOBEL_X.T, mode="reflect")
    g = np.hypot(sx, sy)
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = np.arctan(sy / sx)
    # sx == 0: vertical gradient (±π/2), or no gradient at all (0).
    alpha = np.where(sx == 0, np.where(sy == 0, 0.0, np.sign(sy) * np.pi / 2), alpha)
    return g, alpha


def _preservation(g_s: np.ndarray, a_s: np.ndarray, g_f: np.ndarray, a_f: np.ndarray) -> np.ndarray:
    """Edge preservation Q^{SF} = Q_g · Q_α of one source S in the fused image F."""
    big = np.maximum(g_s, g_f)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(big > 0, np.minimum(g_s, g_f) / big, 1.0)
    a_sf = 1.0 - np.abs(a_s - a_f) / (np.pi / 2)
    q_g = GAMMA_G / (1.0 + np.exp(KAPPA_G * (ratio - SIGMA_G)))
    q_a = GAMMA_A / (1.0 + np.exp(KAPPA_A * (a_sf - SIGMA_A)))
    return q_g * q_a


def qabf(
    fused: np.ndarray, a: np.ndarray, b: np.ndarray, *, mask: np.ndarray | None = None
) -> float:
    """Edge transfer Q^{AB/F} (Xydeas & Petrović) of sources A and B into the fused image F.

    Sobel gradients (3×3, symmetric border extension) give edge strength g and orientation α
    of each image. For each source S the relative strength G = min(g_S, g_F) / max(g_S, g_F)
    (1 where both are 0) and orientation agreement A = 1 − |α_S − α_F| / (π/2) pass through
    sigmoids with the standard constants Γg = 0.9994, κg = −15, σg = 0.5, Γα = 0.9879,
    κα = −22, σα = 0.8; Q^{SF} = Q_g·Q_α. The score is
    ``Σ (Q^{AF}·w_A + Q^{BF}·w_B) / Σ (w_A + w_B)`` with weights ``w = g^L``, L = 1.

    Parameters
    ----------
    fused, a, b : ndarray, shape (H, W) or (H, W, 3)
        Fused image and the two sources, on the 0–255 scale (colour: BT.601 luminance).
    mask : ndarray of bool, shape (H, W), optional
        Sum over these pixels only.

    Returns
    -------
    float
        Q^{AB/F} in [0, 1) (the constants cap a perfect transfer just below 1); 0 if the
        sources have no edges at all.

    References
    ----------
    C. S. Xydeas, V. Petrović, "Objective image fusion performance measure", Electronics
    Letters 36(4):308–309, 2000, doi:10.1049/el:20000267.
    """
    f, sa, sb = as_grey(fused, "fused"), as_grey(a, "image A"), as_grey(b, "image B")
    check_same_shape(fused=f, image_a=sa, image_b=sb)
    m = check_mask(mask, f.shape)
    g_f, a_f = _strength_orientation(f)
    num = den = 0.0
    for source in (sa, sb):
        g_s, a_s = _strength_orientation(source)
        w = g_s**L_EXPONENT
        q = _preservation(g_s, a_s, g_f, a_f) * w
        if m is not None:
            q, w = q[m], w[m]
        num += float(q.sum())
        den += float(w.sum())
    return num / den if den > 0 else 0.0
