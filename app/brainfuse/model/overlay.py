"""The decision-map overlay, in one place: colour tables and the blend (no Qt).

The window draws the decision map over the fused image with :func:`overlay_lut` (a colour
table whose alpha rises with the map: transparent where the MRI was taken, coloured where
the CT was, in between for a soft map) at the workspace's opacity; exports burn in the same
picture with :func:`blend_overlay`. One registry of colour tables (:data:`COLORMAPS`,
matplotlib's perceptually uniform maps) serves both, so the exported overlay looks like the
screen.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from brainfuse.model import intensity

__all__ = [
    "COLORMAPS",
    "DEFAULT_COLORMAP",
    "OverlayStyle",
    "as_uint8_rgb",
    "blend_overlay",
    "colormap_lut",
    "lut_index",
    "overlay_decision_map",
    "overlay_lut",
    "windowed_uint8",
]

#: Colour tables offered for the decision map (matplotlib names), default first.
COLORMAPS = ("viridis", "inferno", "plasma", "cividis", "turbo")
DEFAULT_COLORMAP = COLORMAPS[0]


@dataclass(frozen=True)
class OverlayStyle:
    """How the decision map is burned in: as the window shows it.

    Attributes
    ----------
    opacity : float in [0, 1]
    colormap : str, one of :data:`COLORMAPS`
    soft : bool, the soft map (True) or the hard map (False)
    legend : bool, draw the colour bar with its labels in the lower-left corner
    """

    opacity: float = 0.4
    colormap: str = DEFAULT_COLORMAP
    soft: bool = False
    legend: bool = True


def colormap_lut(name: str = DEFAULT_COLORMAP) -> np.ndarray:
    """``(256, 3)`` uint8 colour table of a matplotlib colormap.

    Raises
    ------
    ValueError
        ``name`` is not a matplotlib colormap.
    """
    import matplotlib  # lazily: only overlays need it

    try:
        cmap = matplotlib.colormaps[name]
    except KeyError:
        raise ValueError(f"unknown colormap '{name}'") from None
    return np.round(255.0 * cmap(np.linspace(0.0, 1.0, 256))[:, :3]).astype(np.uint8)


def overlay_lut(name: str = DEFAULT_COLORMAP) -> np.ndarray:
    """``(256, 4)`` uint8 RGBA table of the overlay: :func:`colormap_lut` with alpha 0..255."""
    alpha = np.round(np.linspace(0.0, 255.0, 256)).astype(np.uint8)
    return np.concatenate([colormap_lut(name), alpha[:, None]], axis=1)


def lut_index(decision_map: np.ndarray) -> np.ndarray:
    """Table index of each map value in [0, 1]: ``np.round(255 * clip(m, 0, 1))``."""
    return np.round(255.0 * np.clip(np.asarray(decision_map, np.float64), 0.0, 1.0)).astype(np.intp)


def blend_overlay(
    base_rgb8: np.ndarray,
    decision_map: np.ndarray,
    *,
    opacity: float = 0.4,
    colormap: str = DEFAULT_COLORMAP,
) -> np.ndarray:
    """Burn the overlay into a picture as the window draws it.

    ``out = base + a * (colour - base)`` with ``a = opacity * alpha(m) / 255`` and
    ``(colour, alpha) = overlay_lut(colormap)[lut_index(m)]``: a hard map (0/1) colours the
    CT's pixels at ``opacity`` and leaves the MRI's untouched. The formula is evaluated once
    for each of the 256 x 256 (table index, base value) pairs and looked up per pixel (the
    same numbers; 512 x 512 in a few ms, which the window needs on every fused slice).

    Parameters
    ----------
    base_rgb8 : (H, W, 3) uint8, the fused slice as shown, or (H, W) uint8 (grey: R = G = B)
    decision_map : (H, W) float or uint8 in [0, 1] (hard or soft, as shown)
    opacity : float in [0, 1]
    colormap : str, one of :data:`COLORMAPS` (any matplotlib name works)

    Returns
    -------
    (H, W, 3) uint8

    Raises
    ------
    ValueError
        Opacity outside [0, 1] or shapes that differ.
    """
    if not 0.0 <= float(opacity) <= 1.0:
        raise ValueError(f"overlay opacity must be between 0 and 1; got {opacity}")
    base = np.asarray(base_rgb8)
    if np.shape(decision_map) != base.shape[:2]:
        raise ValueError(
            f"decision map shape {np.shape(decision_map)} differs from the image's {base.shape[:2]}"
        )
    m = np.asarray(decision_map)
    if m.dtype in (np.uint8, np.bool_):  # a hard map: lut_index without the float copy
        index = np.minimum(m, 1).astype(np.intp) * 255
    else:
        index = lut_index(m)
    if base.dtype != np.uint8:  # not a picture as shown: the formula itself
        base = base[..., None] if base.ndim == 2 else base
        rgba = overlay_lut(colormap)[index].astype(np.float64)
        a = float(opacity) * rgba[..., 3:] / 255.0
        return np.round(base + a * (rgba[..., :3] - base)).astype(np.uint8)
    table = _blend_table(colormap, float(opacity))  # [256 * i + b, channel]
    index *= 256
    if base.ndim == 2:
        return np.take(table, index + base, axis=0)
    out = np.empty(base.shape, np.uint8)
    for c in range(3):
        out[..., c] = np.take(table[:, c], index + base[..., c])
    return out


@functools.lru_cache(maxsize=8)
def _blend_table(colormap: str, opacity: float) -> np.ndarray:
    """``(65536, 3)`` uint8: table entry ``i`` blended over base value ``b`` at ``256 * i + b``."""
    rgba = overlay_lut(colormap).astype(np.float64)
    a = opacity * rgba[:, None, 3:] / 255.0
    base = np.arange(256, dtype=np.float64)[None, :, None]
    table = np.round(base + a * (rgba[:, None, :3] - base)).astype(np.uint8).reshape(-1, 3)
    table.flags.writeable = False  # shared by every call (cached)
    return table


def windowed_uint8(image01: np.ndarray, window: tuple[float, float] | None = None) -> np.ndarray:
    """Scale a ``[0, 1]`` image to ``uint8`` through a display window.

    :func:`brainfuse.model.intensity.to_uint8` of the windowed values.

    Parameters
    ----------
    image01 : ndarray of float
        Values in ``[0, 1]`` (clipped outside).
    window : (low, high), optional
        Display window in the same ``[0, 1]`` units; values are stretched from ``low`` to
        ``high`` before scaling. ``None`` shows the full range.

    Returns
    -------
    ndarray of uint8
        ``np.round(255 * x)``, same shape.
    """
    x = np.asarray(image01, dtype=np.float64)
    if window is not None:
        low, high = float(window[0]), float(window[1])
        if not high > low:
            raise ValueError(f"display window must have high > low; got ({low}, {high})")
        x = (x - low) / (high - low)
    return intensity.to_uint8(x)


def as_uint8_rgb(rgb: np.ndarray) -> np.ndarray:
    """Colour pixels ``(..., 3)`` as uint8: kept if already 8-bit, else ``[0, 1]`` scaled."""
    rgb = np.asarray(rgb)
    if rgb.dtype == np.uint8:
        return np.ascontiguousarray(rgb)
    return windowed_uint8(rgb)


def _as_8bit(image: np.ndarray, window: tuple[float, float] | None) -> np.ndarray:
    """Return the picture as shown: (H, W, 3) uint8 colour, or (H, W) uint8 grey."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 3:
        return as_uint8_rgb(image)
    return windowed_uint8(image, window)


def overlay_decision_map(
    image: np.ndarray,
    decision_map: np.ndarray,
    *,
    opacity: float = 0.4,
    colormap: str = DEFAULT_COLORMAP,
    window: tuple[float, float] | None = None,
) -> np.ndarray:
    """Burn the decision map into a fused slice as the window shows it.

    Parameters
    ----------
    image : (H, W) ndarray of float in [0, 1], or (H, W, 3) uint8
        The fused slice (grey or RGB).
    decision_map : (H, W) ndarray
        1 (or the soft weight) where image 1 (CT) was taken, 0 where image 2 (MRI) was.
    opacity : float
        Overlay opacity, 0 (invisible) to 1.
    colormap : str
        One of :data:`brainfuse.model.overlay.COLORMAPS`; its top end marks image 1.
    window : (low, high), optional
        Display window applied to a grey ``image`` (see :func:`windowed_uint8`).

    Returns
    -------
    (H, W, 3) ndarray of uint8
        :func:`brainfuse.model.overlay.blend_overlay` of the picture (alpha rising with the map).
    """
    return blend_overlay(_as_8bit(image, window), decision_map, opacity=opacity, colormap=colormap)
