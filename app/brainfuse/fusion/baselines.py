"""Classical fusion baselines (pure numpy/scipy), the yardsticks our CNN method is judged by.

Each takes two co-registered float32 images in [0, 1] of shape (H, W) and returns
``(fused, decision_map)``: ``fused`` float32 (H, W); ``decision_map`` float32 (H, W) with 1
where image ``a`` is taken, or ``None`` for methods that blend rather than choose.
:class:`brainfuse.fusion.Fuser` dispatches ``method="average" | "laplacian" | "pixel-sf"`` here.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from brainfuse.errors import GeometryMismatchError, UnsupportedInputError

__all__ = ["average", "fuse_stack", "laplacian_pyramid", "pixel_sf"]

# Burt & Adelson's 5-tap generating kernel (a = 0.375), separable.
_BURT = np.array([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0


def _pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(a, dtype=np.float32)
    b = np.asarray(b, dtype=np.float32)
    if a.ndim != 2 or b.ndim != 2:
        raise UnsupportedInputError(
            f"the baselines fuse 2-D grey slices; got shapes {a.shape} and {b.shape}."
        )
    if a.shape != b.shape:
        raise GeometryMismatchError(
            f"the two images differ in size: {a.shape[0]}×{a.shape[1]} and "
            f"{b.shape[0]}×{b.shape[1]}; put them on one grid first."
        )
    return a, b


def average(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, None]:
    """Pixel-wise mean ``(A + B) / 2``: no decision map.

    Parameters
    ----------
    a, b : ndarray, float32 in [0, 1], shape (H, W)
        The two co-registered images.

    Returns
    -------
    fused : ndarray, float32, shape (H, W)
    decision_map : None
    """
    a, b = _pair(a, b)
    return (0.5 * (a + b)).astype(np.float32), None


def _reduce(x: np.ndarray) -> np.ndarray:
    """Low-pass with the Burt kernel (symmetric borders) and keep every other pixel."""
    y = ndi.correlate1d(
        ndi.correlate1d(x, _BURT, axis=0, mode="reflect"), _BURT, axis=1, mode="reflect"
    )
    return y[::2, ::2]


def _expand(x: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Upsample by 2 to ``shape`` (zero insertion, Burt kernel ×2 per axis)."""
    up = np.zeros(shape, dtype=np.float64)
    up[::2, ::2] = x[: (shape[0] + 1) // 2, : (shape[1] + 1) // 2]
    k = 2.0 * _BURT
    return ndi.correlate1d(
        ndi.correlate1d(up, k, axis=0, mode="reflect"), k, axis=1, mode="reflect"
    )


def _laplacian(x: np.ndarray, levels: int) -> list[np.ndarray]:
    """Laplacian pyramid: ``levels`` detail layers (fine to coarse), then the base layer."""
    pyramid, g = [], x
    for _ in range(levels):
        smaller = _reduce(g)
        pyramid.append(g - _expand(smaller, g.shape))
        g = smaller
    pyramid.append(g)
    return pyramid


def laplacian_pyramid(a: np.ndarray, b: np.ndarray, *, levels: int = 4) -> tuple[np.ndarray, None]:
    """Laplacian-pyramid fusion: max-absolute detail coefficients, averaged base.

    Both images are decomposed into ``levels`` band-pass layers and a low-pass base (Burt &
    Adelson 5-tap kernel, a = 0.375, symmetric borders). At each detail layer the coefficient
    of larger magnitude is kept; the bases are averaged; the pyramid is collapsed. Fewer
    levels are used if the image is too small (the base is kept at least 4 pixels wide).

    Parameters
    ----------
    a, b : ndarray, float32 in [0, 1], shape (H, W)
        The two co-registered images.
    levels : int
        Number of detail layers (default 4).

    Returns
    -------
    fused : ndarray, float32, shape (H, W), clipped to [0, 1]
    decision_map : None
        Coefficient selection varies by level, so there is no single pixel map.

    References
    ----------
    P. J. Burt, E. H. Adelson, "The Laplacian pyramid as a compact image code", IEEE Trans.
    Commun. 31(4):532–540, 1983, doi:10.1109/TCOM.1983.1095851; P. J. Burt, R. J. Kolczynski,
    "Enhanced image capture through fusion", Proc. ICCV 1993, doi:10.1109/ICCV.1993.378222.
    """
    a, b = _pair(a, b)
    if levels < 0:
        raise ValueError(f"levels must be ≥ 0, got {levels}")
    n = 0
    while n < levels and min(a.shape) / 2 ** (n + 1) >= 4:
        n += 1
    pa = _laplacian(a.astype(np.float64), n)
    pb = _laplacian(b.astype(np.float64), n)
    fused = 0.5 * (pa[-1] + pb[-1])
    for la, lb in zip(reversed(pa[:-1]), reversed(pb[:-1]), strict=True):
        detail = np.where(np.abs(la) >= np.abs(lb), la, lb)
        fused = _expand(fused, detail.shape) + detail
    return np.clip(fused, 0.0, 1.0).astype(np.float32), None


def _block_activity(x: np.ndarray, block: int) -> np.ndarray:
    """Spatial frequency RF² + CF² of each ``block``×``block`` tile (differences inside it)."""
    h, w = x.shape
    dh = np.zeros_like(x)
    dv = np.zeros_like(x)
    dh[:, 1:] = np.diff(x, axis=1) ** 2
    dv[1:, :] = np.diff(x, axis=0) ** 2
    dh[:, ::block] = 0.0  # a difference across a tile boundary belongs to no tile
    dv[::block, :] = 0.0
    rows, cols = np.arange(0, h, block), np.arange(0, w, block)
    sum_h = np.add.reduceat(np.add.reduceat(dh, rows, axis=0), cols, axis=1)
    sum_v = np.add.reduceat(np.add.reduceat(dv, rows, axis=0), cols, axis=1)
    th = np.diff(np.append(rows, h))[:, None].astype(np.float64)  # tile heights
    tw = np.diff(np.append(cols, w))[None, :].astype(np.float64)  # tile widths
    rf2 = sum_h / np.maximum(th * (tw - 1), 1.0)
    cf2 = sum_v / np.maximum((th - 1) * tw, 1.0)
    return np.sqrt(rf2 + cf2)


def pixel_sf(
    a: np.ndarray, b: np.ndarray, *, block: int = 8, consistency: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Block spatial-frequency fusion on raw pixels (Li, Kwok & Wang).

    The images are cut into ``block``×``block`` tiles; each tile of the result is copied from
    the source whose tile has the larger spatial frequency sqrt(RF² + CF²) (ties go to A).
    With ``consistency=True`` the tile decisions are cleaned by a 3×3 majority filter over
    neighbouring tiles (the paper's consistency verification); the default leaves it out, as
    in the project's reference figures (``../shared/reference/method.md``: SSIM .701,
    Qabf .643 on the 131 CT–MRI pairs; with it, SSIM .725, Qabf .615). The map is hard, so
    seams follow tile edges.

    Parameters
    ----------
    a, b : ndarray, float32 in [0, 1], shape (H, W)
        The two co-registered images.
    block : int
        Tile size in pixels (default 8).
    consistency : bool
        Apply the 3×3 majority filter to the tile decisions.

    Returns
    -------
    fused : ndarray, float32, shape (H, W)
    decision_map : ndarray, float32, shape (H, W)
        1 where A is taken, 0 where B is taken.

    References
    ----------
    S. Li, J. T. Kwok, Y. Wang, "Combination of images with diverse focuses using the spatial
    frequency", Information Fusion 2(3):169–176, 2001, doi:10.1016/S1566-2535(01)00038-0.
    """
    a, b = _pair(a, b)
    if block < 2:
        raise ValueError(f"block must be at least 2 pixels, got {block}")
    sa = _block_activity(a.astype(np.float64), block)
    sb = _block_activity(b.astype(np.float64), block)
    tiles = (sa >= sb).astype(np.float32)
    if consistency:
        tiles = (ndi.uniform_filter(tiles, size=3, mode="nearest") > 0.5).astype(np.float32)
    dm = np.repeat(np.repeat(tiles, block, axis=0), block, axis=1)[: a.shape[0], : a.shape[1]]
    fused = dm * a + (1.0 - dm) * b
    return fused.astype(np.float32), dm


def fuse_stack(
    name: str | None, a: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fuse two ``(N, H, W)`` stacks slice by slice with the baseline function ``name``.

    Returns
    -------
    fused : float32 (N, H, W), clipped to [0, 1]
    decision : uint8 (N, H, W), the baseline's map above 0.5 (zeros without a map)
    soft : float32 (N, H, W), the baseline's map (0.5 without one)
    """
    func = globals()[str(name)]
    fused = np.empty(a.shape, np.float32)
    dm = np.zeros(a.shape, np.uint8)
    soft = np.full(a.shape, 0.5, np.float32)
    for k in range(a.shape[0]):
        f, m = func(a[k], b[k])
        fused[k] = np.clip(f, 0.0, 1.0)
        if m is not None:
            dm[k] = (np.asarray(m) > 0.5).astype(np.uint8)
            soft[k] = np.asarray(m, dtype=np.float32)
    return fused, dm, soft
