"""Visual information fidelity: pixel-domain multi-scale VIF (VIFP) of Sheikh & Bovik."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from brainfuse.metrics._inputs import as_grey, check_mask, check_same_shape

__all__ = ["vif", "vif_source"]

SIGMA_N2 = 2.0  # variance of the visual-noise model (HVS noise), grey levels²
_EPS = 1e-10
SCALES = 4


def _gaussian_window(n: int) -> np.ndarray:
    """1-D factor of the normalised n×n Gaussian window with σ = n / 5 (it is separable)."""
    r = np.arange(n) - (n - 1) / 2
    k = np.exp(-(r**2) / (2 * (n / 5.0) ** 2))
    return k / k.sum()


def _valid(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Filter with the separable window ``outer(w, w)``, keeping the 'valid' region only."""
    h = (w.size - 1) // 2
    y = ndi.correlate1d(ndi.correlate1d(x, w, axis=0), w, axis=1)
    return y[h : y.shape[0] - h, h : y.shape[1] - h]


def _scale_terms(ref: np.ndarray, dist: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel information terms (numerator, denominator) at one scale, 'valid' region."""
    mu1, mu2 = _valid(ref, w), _valid(dist, w)
    s1 = np.maximum(_valid(ref * ref, w) - mu1 * mu1, 0.0)
    s2 = np.maximum(_valid(dist * dist, w) - mu2 * mu2, 0.0)
    s12 = _valid(ref * dist, w) - mu1 * mu2
    g = s12 / (s1 + _EPS)
    sv = s2 - g * s12
    flat_ref = s1 < _EPS
    g[flat_ref], sv[flat_ref], s1[flat_ref] = 0.0, s2[flat_ref], 0.0
    flat_dist = s2 < _EPS
    g[flat_dist], sv[flat_dist] = 0.0, 0.0
    negative = g < 0
    sv[negative], g[negative] = s2[negative], 0.0
    sv = np.maximum(sv, _EPS)
    num = np.log10(1.0 + g * g * s1 / (sv + SIGMA_N2))
    den = np.log10(1.0 + s1 / SIGMA_N2)
    return num, den


def vif_source(fused: np.ndarray, source: np.ndarray, *, mask: np.ndarray | None = None) -> float:
    """Pixel-domain multi-scale VIF of the fused image F taken as a distorted copy of S.

    Four scales; at scale k (1..4) local statistics use an N×N Gaussian window,
    N = 2^(5−k) + 1 (17, 9, 5, 3), σ = N/5, over the 'valid' region, and the images are
    low-passed with that window and decimated by 2 before scales 2..4. The Gaussian-scale-
    mixture channel model gives a gain g and noise σ_v² per pixel; visual noise σ_n² = 2.
    ``VIF = Σ log10(1 + g²σ_S²/(σ_v² + σ_n²)) / Σ log10(1 + σ_S²/σ_n²)`` over pixels and
    scales. VIF(S, S) = 1; blur, noise and contrast loss lower it; contrast enhancement can
    raise it above 1.

    Parameters
    ----------
    fused, source : ndarray, shape (H, W) or (H, W, 3)
        Images on the 0–255 scale (colour: BT.601 luminance); scales that the image is too
        small for are skipped.
    mask : ndarray of bool, shape (H, W), optional
        Sum only terms centred on these pixels (the mask is cropped and decimated alongside
        the images).

    Returns
    -------
    float
        VIF (≥ 0); 0 if the source is flat everywhere.

    References
    ----------
    H. R. Sheikh, A. C. Bovik, "Image information and visual quality", IEEE TIP
    15(2):430–444, 2006, doi:10.1109/TIP.2005.859378.
    """
    d, r = as_grey(fused, "fused"), as_grey(source, "source")
    check_same_shape(fused=d, source=r)
    m = check_mask(mask, r.shape)
    num = den = 0.0
    for k in range(1, SCALES + 1):
        n = 2 ** (SCALES - k + 1) + 1
        w = _gaussian_window(n)
        if min(r.shape) < n:
            break
        if k > 1:
            r, d = _valid(r, w)[::2, ::2], _valid(d, w)[::2, ::2]
            if m is not None:
                h = (n - 1) // 2
                m = m[h : m.shape[0] - h, h : m.shape[1] - h][::2, ::2]
            if min(r.shape) < n:
                break
        t_num, t_den = _scale_terms(r, d, w)
        if m is not None:
            h = (n - 1) // 2
            inside = m[h : m.shape[0] - h, h : m.shape[1] - h]
            t_num, t_den = t_num[inside], t_den[inside]
        num += float(t_num.sum())
        den += float(t_den.sum())
    return num / den if den > 0 else 0.0


def vif(
    fused: np.ndarray, a: np.ndarray, b: np.ndarray, *, mask: np.ndarray | None = None
) -> float:
    """Compute the fusion VIF, ``VIF(A → F) + VIF(B → F)``.

    Pixel-domain multi-scale VIFP (see :func:`vif_source`), the sum used by the fusion
    literature's evaluators.

    Parameters
    ----------
    fused, a, b : ndarray, shape (H, W) or (H, W, 3)
        Fused image and the two sources, on the 0–255 scale.
    mask : ndarray of bool, shape (H, W), optional
        Score only these pixels.

    Returns
    -------
    float
        Sum of the two VIFs (each 1 for a perfect copy of its source).
    """
    return vif_source(fused, a, mask=mask) + vif_source(fused, b, mask=mask)
