"""The project's one rule between ``[0, 1]`` intensities and the 0–255 scale.

Metrics, PNG and the window's panels all go through :func:`to_255`, so the average of two
8-bit images is the integer average ``np.round((a + b) / 2)`` whatever float path led there.
"""

from __future__ import annotations

import numpy as np

__all__ = ["from_uint8", "to_255", "to_uint8"]

#: A value of ``255 * x`` this close to a half step is a tie (float32 error of an exact half).
_TIE = 1e-4


def to_255(image01: np.ndarray) -> np.ndarray:
    """``[0, 1]`` -> float64 whole numbers 0-255: ``np.round(255 * x)``, clipped.

    Values within float32 rounding (:data:`_TIE`) of a half step are exact halves and round
    half to even like ``np.round`` on integers, so the average of two 8-bit images comes
    back as ``np.round((a + b) / 2)`` however the float path rounded ``a / 255``.
    """
    y = 255.0 * np.clip(np.asarray(image01, dtype=np.float64), 0.0, 1.0)
    out = np.round(y)
    low = np.floor(y)
    tie = np.abs(y - low - 0.5) < _TIE
    out[tie] = np.round(low[tie] + 0.5)
    return out


def to_uint8(image01: np.ndarray) -> np.ndarray:
    """``[0, 1]`` -> ``uint8`` by :func:`to_255`: the project's one rule."""
    return to_255(image01).astype(np.uint8)


def from_uint8(image: np.ndarray) -> np.ndarray:
    """0-255 values -> float32 ``x / 255`` (exact inverse of :func:`to_uint8` on uint8)."""
    return np.asarray(image).astype(np.float32) / np.float32(255.0)
