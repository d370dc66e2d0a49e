"""Map source intensities to the fusion engine's [0, 1] range through a stated window.

* CT (Hounsfield units): a window ``center/width`` in HU, default the brain window 40/80;
  presets ``brain`` (40/80), ``subdural`` (75/215) and ``bone`` (500/2000), the usual
  radiology presets.
* MR and other scans without physical units: robust percentiles (0.5 % and 99.5 % of the
  voxels above the volume's minimum, i.e. ignoring the zero background).
* Plain 8-bit images (PNG/JPEG slices, RGB pseudo-colour): used as they are, 0-255 -> 0-1,
  so that a fused PNG written on the 0-255 scale compares with its sources.

The window used is returned with the data (:class:`WindowUsed`) so exports can record it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from brainfuse.errors import BrainFuseError
from brainfuse.image import ImageVolume

__all__ = ["WindowUsed", "CT_PRESETS", "parse_window", "to_unit", "apply_window"]

CT_PRESETS: dict[str, tuple[float, float]] = {
    "brain": (40.0, 80.0),
    "subdural": (75.0, 215.0),
    "bone": (500.0, 2000.0),
}
MR_PERCENTILES = (0.5, 99.5)


class WindowError(BrainFuseError, ValueError):
    """A window was given in a form that cannot be read."""


@dataclass(frozen=True)
class WindowUsed:
    """How a source was mapped to [0, 1]: ``low`` -> 0, ``high`` -> 1 (clipped outside).

    ``kind`` is ``"preset:<name>"``, ``"manual"``, ``"percentile"`` or ``"8-bit"``;
    ``units`` those of the source (``"HU"`` for CT).
    """

    center: float
    width: float
    kind: str
    units: str = ""

    @property
    def low(self) -> float:
        return self.center - self.width / 2.0

    @property
    def high(self) -> float:
        return self.center + self.width / 2.0

    def describe(self) -> str:
        u = f" {self.units}" if self.units else ""
        return f"{self.kind} C{self.center:g}/W{self.width:g}{u}"


def parse_window(spec: str | tuple[float, float] | None) -> tuple[float, float] | str | None:
    """``"40/80"`` -> (40, 80); a preset name stays a name; tuples pass through."""
    if spec is None or isinstance(spec, tuple):
        return spec
    text = str(spec).strip().lower()
    if text in CT_PRESETS:
        return text
    m = re.fullmatch(r"\s*(-?\d+(?:\.\d+)?)\s*[/,:]\s*(\d+(?:\.\d+)?)\s*", text)
    if not m or float(m.group(2)) <= 0:
        raise WindowError(
            f"window '{spec}' is not understood: give CENTER/WIDTH (e.g. 40/80, width > 0) "
            f"or one of the presets {', '.join(CT_PRESETS)}"
        )
    return float(m.group(1)), float(m.group(2))


def apply_window(array: np.ndarray, low: float, high: float) -> np.ndarray:
    """Linear map ``low -> 0``, ``high -> 1``, clipped, float32."""
    scale = 1.0 / max(high - low, 1e-12)
    out = (np.asarray(array, dtype=np.float32) - np.float32(low)) * np.float32(scale)
    return np.clip(out, 0.0, 1.0, out=out)


_PLAIN_FORMATS = {"PNG", "JPEG", "JPG", "TIFF", "TIF", "BMP"}


def _is_eight_bit(volume: ImageVolume) -> bool:
    """Colour, or a plain 8-bit picture (PNG/JPEG/TIFF or no patient geometry)."""
    plain = volume.format.upper() in _PLAIN_FORMATS or not volume.has_geometry
    return volume.is_rgb or (volume.array.dtype == np.uint8 and plain and volume.units != "HU")


def to_unit(
    volume: ImageVolume, window: str | tuple[float, float] | None = None
) -> tuple[np.ndarray, WindowUsed]:
    """Source voxels -> float32 in [0, 1] plus the window used.

    Parameters
    ----------
    volume : ImageVolume
    window : None, preset name, ``"C/W"`` text or ``(center, width)``
        ``None`` picks the default for the source: 8-bit as is, CT brain window, MR
        robust percentiles.

    Returns
    -------
    array01 : float32 array shaped like ``volume.array``
    window : WindowUsed
    """
    spec = parse_window(window)
    units = volume.units
    if spec is None and _is_eight_bit(volume):
        return volume.array.astype(np.float32) / np.float32(255.0), WindowUsed(
            127.5, 255.0, "8-bit", units
        )
    if volume.is_rgb:
        raise WindowError(
            f"{volume.name or 'colour image'}: colour (RGB) images are used as they are; "
            "a window cannot be applied to them"
        )
    if spec is None and (volume.modality == "CT" or units == "HU"):
        spec = "brain"
    if isinstance(spec, str):
        center, width = CT_PRESETS[spec]
        used = WindowUsed(center, width, f"preset:{spec}", units)
    elif spec is not None:
        used = WindowUsed(spec[0], spec[1], "manual", units)
    else:
        a = volume.array
        fg = a[a > a.min()]
        lo, hi = np.percentile(fg if fg.size else a, MR_PERCENTILES)
        if hi <= lo:
            lo, hi = float(a.min()), float(a.max()) if a.max() > a.min() else float(a.min()) + 1
        used = WindowUsed((lo + hi) / 2.0, float(hi - lo), "percentile", units)
    return apply_window(volume.array, used.low, used.high), used
