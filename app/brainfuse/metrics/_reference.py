"""Full-reference similarity of a fused image to its sources: SSIM and PSNR.

Conventions (those of the fusion literature's MATLAB-derived evaluators, checked against
independently measured values on the 131 CT–MRI development pairs):

* SSIM: Wang et al. 2004 with a Gaussian window σ = 1.5 (11×11), K1 = 0.01, K2 = 0.03,
  population (not sample) covariances, data range 255; the score of a pair is the mean of the
  SSIM map without its 5-pixel border (where the window leaves the image), as in
  scikit-image and the MATLAB reference code. The fusion score is the mean of SSIM(F, A) and SSIM(F, B).
* PSNR: 10·log10(255² / MSE) with MSE = mean(MSE(F, A), MSE(F, B)); infinite when F equals
  both sources.
"""

from __future__ import annotations

import numpy as np
from skimage.metrics import structural_similarity

from brainfuse.errors import UnsupportedInputError
from brainfuse.metrics._inputs import as_grey, check_mask, check_same_shape

__all__ = ["psnr", "psnr_source", "ssim", "ssim_source"]

DATA_RANGE = 255.0
_BORDER = 5  # half of the 11×11 window that σ = 1.5 gives: map values there are not scored


def _ssim_map(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    _, smap = structural_similarity(
        x,
        y,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=DATA_RANGE,
        full=True,
    )
    return smap


def ssim_source(fused: np.ndarray, source: np.ndarray, *, mask: np.ndarray | None = None) -> float:
    """Structural similarity of the fused image to one source.

    Parameters
    ----------
    fused, source : ndarray, shape (H, W) or (H, W, 3)
        Images on the 0–255 scale; colour images are scored on their BT.601 luminance.
    mask : ndarray of bool, shape (H, W), optional
        Average the SSIM map over these pixels only (default: every pixel); NaN if the mask
        lies wholly in the unscored border.

    Returns
    -------
    float
        Mean SSIM, in [-1, 1]; 1 for identical images.

    References
    ----------
    Z. Wang, A. C. Bovik, H. R. Sheikh, E. P. Simoncelli, "Image quality assessment: from
    error visibility to structural similarity", IEEE TIP 13(4):600–612, 2004,
    doi:10.1109/TIP.2003.819861.
    """
    f, s = as_grey(fused, "fused"), as_grey(source, "source")
    check_same_shape(fused=f, source=s)
    m = check_mask(mask, f.shape)
    if min(f.shape) < 2 * _BORDER + 1:
        raise UnsupportedInputError(
            f"SSIM needs images of at least {2 * _BORDER + 1}×{2 * _BORDER + 1} pixels, "
            f"got {f.shape[0]}×{f.shape[1]}."
        )
    inner = (slice(_BORDER, -_BORDER),) * 2
    smap = _ssim_map(f, s)[inner]
    if m is None:
        return float(smap.mean())
    m = m[inner]
    return float(smap[m].mean()) if m.any() else float("nan")


def ssim(
    fused: np.ndarray, a: np.ndarray, b: np.ndarray, *, mask: np.ndarray | None = None
) -> float:
    """Fusion SSIM: the mean of SSIM(F, A) and SSIM(F, B) (see :func:`ssim_source`).

    Parameters
    ----------
    fused, a, b : ndarray, shape (H, W) or (H, W, 3)
        Fused image and the two sources, on the 0–255 scale.
    mask : ndarray of bool, shape (H, W), optional
        Score only these pixels.

    Returns
    -------
    float
        Mean SSIM in [-1, 1].
    """
    return 0.5 * (ssim_source(fused, a, mask=mask) + ssim_source(fused, b, mask=mask))


def _mse(f: np.ndarray, s: np.ndarray, m: np.ndarray | None) -> float:
    d2 = (f - s) ** 2
    return float(d2.mean() if m is None else d2[m].mean())


def _psnr_from_mse(mse: float) -> float:
    if mse == 0.0:
        return float("inf")
    return float(10.0 * np.log10(DATA_RANGE**2 / mse))


def psnr_source(fused: np.ndarray, source: np.ndarray, *, mask: np.ndarray | None = None) -> float:
    """Peak signal-to-noise ratio of the fused image against one source, in dB.

    ``10·log10(255² / MSE(F, S))``; ``inf`` for identical images. Inputs as for
    :func:`ssim_source`.
    """
    f, s = as_grey(fused, "fused"), as_grey(source, "source")
    check_same_shape(fused=f, source=s)
    return _psnr_from_mse(_mse(f, s, check_mask(mask, f.shape)))


def psnr(
    fused: np.ndarray, a: np.ndarray, b: np.ndarray, *, mask: np.ndarray | None = None
) -> float:
    """Fusion PSNR in dB: ``10·log10(255² / ((MSE(F, A) + MSE(F, B)) / 2))``.

    Note that every hard 0/1 decision map gives the same PSNR and pixel averaging the highest,
    so PSNR does not rank decision-map methods; report it next to :func:`qabf`.

    Parameters
    ----------
    fused, a, b : ndarray, shape (H, W) or (H, W, 3)
        Fused image and the two sources, on the 0–255 scale.
    mask : ndarray of bool, shape (H, W), optional
        Average the squared errors over these pixels only.

    Returns
    -------
    float
        PSNR in dB; ``inf`` when F equals both sources.
    """
    f, sa, sb = as_grey(fused, "fused"), as_grey(a, "image A"), as_grey(b, "image B")
    check_same_shape(fused=f, image_a=sa, image_b=sb)
    m = check_mask(mask, f.shape)
    return _psnr_from_mse(0.5 * (_mse(f, sa, m) + _mse(f, sb, m)))
