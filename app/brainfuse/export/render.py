"""Turn fused images and decision maps into 8-bit pictures as the viewer shows them.

Shared by the PNG exporter and by DICOM exports with a burned-in overlay. Values in
``[0, 1]`` map to ``0-255`` by :func:`brainfuse.model.intensity.to_uint8` (``np.round(255 * x)``),
so 8-bit sources come back exactly; the overlay is :func:`brainfuse.model.overlay.blend_overlay`,
the picture the window shows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from brainfuse.model.overlay import (
    DEFAULT_COLORMAP,
    as_uint8_rgb,
    colormap_lut,
    overlay_decision_map,
)
from brainfuse.model.overlay import windowed_uint8 as to_uint8

__all__ = [
    # as_uint8_rgb, colormap_lut, overlay_decision_map, to_uint8: from brainfuse.model.overlay
    "as_uint8_rgb",
    "colormap_lut",
    "draw_legend",
    "overlay_decision_map",
    "to_uint8",
    "to_uint16",
]


def to_uint16(image01: np.ndarray) -> np.ndarray:
    """Scale a ``[0, 1]`` image to ``uint16`` (``np.round(65535 * x)``), keeping precision."""
    x = np.clip(np.asarray(image01, dtype=np.float64), 0.0, 1.0)
    return np.round(65535.0 * x).astype(np.uint16)


def draw_legend(
    rgb: np.ndarray,
    *,
    labels: Sequence[str] = ("MRI", "CT"),
    colormap: str = DEFAULT_COLORMAP,
    opacity: float = 1.0,
) -> np.ndarray:
    """Draw a small colour bar with its two end labels in the lower-left corner.

    Parameters
    ----------
    rgb : (H, W, 3) ndarray of uint8
        Picture to draw on (not modified).
    labels : (str, str)
        Text at the low (decision map 0) and high (1) ends of the bar.
    colormap : str
        The overlay's colormap.
    opacity : float
        Overlay opacity, so the bar shows the colours as they were blended.

    Returns
    -------
    (H, W, 3) ndarray of uint8
        A copy with the legend drawn.
    """
    picture = Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8))
    height, width = rgb.shape[:2]
    font = ImageFont.load_default()
    draw = ImageDraw.Draw(picture)
    text_h = max(draw.textbbox((0, 0), label, font=font)[3] for label in labels)
    label_w = [draw.textbbox((0, 0), label, font=font)[2] for label in labels]
    bar_w = max(16, min(96, width // 4), label_w[0] + label_w[1] + 6)  # labels never overlap
    bar_h = max(3, min(8, height // 40))
    margin = max(2, min(6, width // 64))
    y0 = height - margin - bar_h - text_h - 2
    if y0 < 0 or bar_w + 2 * margin > width:
        return _picture_array(picture)  # image too small for a legend
    lut = colormap_lut(colormap)
    grey = np.full((bar_h, bar_w, 3), 128.0)
    bar = (1.0 - opacity) * grey + opacity * lut[np.linspace(0, 255, bar_w).astype(np.intp)][None]
    picture.paste(Image.fromarray(np.round(bar).astype(np.uint8)), (margin, y0))
    draw.text((margin, y0 + bar_h + 1), labels[0], fill=(255, 255, 255), font=font)
    draw.text(
        (margin + bar_w - label_w[1], y0 + bar_h + 1), labels[1], fill=(255, 255, 255), font=font
    )
    return _picture_array(picture)


def _picture_array(picture: Image.Image) -> np.ndarray:
    """Convert a Pillow RGB image to an ``(H, W, 3)`` uint8 array."""
    return np.asarray(picture, dtype=np.uint8).copy()
