"""Validation of the images a metric is given, and the luminance of colour images.

Every metric works on one grey image per input, on the 0–255 scale (uint8 or float). Colour
images ``(H, W, 3)`` are scored on their luminance Y = 0.299 R + 0.587 G + 0.114 B
(ITU-R BT.601, the Y of the YCbCr transform the fusion engine uses for colour images).
"""

from __future__ import annotations

import numpy as np

from brainfuse.errors import GeometryMismatchError, UnsupportedInputError

__all__ = ["as_grey", "check_mask", "check_same_shape", "to_levels"]

_BT601 = np.array([0.299, 0.587, 0.114])


def as_grey(image: np.ndarray, name: str = "image") -> np.ndarray:
    """Return ``image`` as a 2-D float64 array on the 0–255 scale.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, 3)
        Grey or RGB image on the 0–255 scale (any real dtype).
    name : str
        Name used in error messages (``"fused"``, ``"image A"``...).

    Raises
    ------
    UnsupportedInputError
        If the image is not 2-D grey or RGB, is empty, holds NaN/inf or values outside 0–255.
    """
    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[-1] == 3:
        arr = arr.astype(np.float64) @ _BT601
    elif arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim != 2 or arr.size == 0:
        raise UnsupportedInputError(
            f"{name}: expected a 2-D grey (H, W) or colour (H, W, 3) slice, got shape "
            f"{np.shape(image)}."
        )
    if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise UnsupportedInputError(f"{name}: pixel type {arr.dtype} is not a real number type.")
    arr = arr.astype(np.float64, copy=False)
    if not np.all(np.isfinite(arr)):
        raise UnsupportedInputError(f"{name}: the image holds NaN or infinite values.")
    lo, hi = float(arr.min()), float(arr.max())
    if lo < -1e-6 or hi > 255.0 + 1e-6:
        raise UnsupportedInputError(
            f"{name}: values {lo:g}..{hi:g} are outside the 0–255 scale the metrics use "
            "(scale [0, 1] images by 255 first)."
        )
    return arr


def check_same_shape(**images: np.ndarray) -> None:
    """Raise :class:`GeometryMismatchError` unless every named 2-D image has one shape."""
    shapes = {name: np.shape(img) for name, img in images.items()}
    if len(set(shapes.values())) > 1:
        listed = ", ".join(f"{name} {shape[0]}×{shape[1]}" for name, shape in shapes.items())
        raise GeometryMismatchError(f"the images to compare differ in size: {listed}.")


def check_mask(mask: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray | None:
    """Return ``mask`` as a boolean array of ``shape`` (or None), rejecting empty masks."""
    if mask is None:
        return None
    m = np.asarray(mask, dtype=bool)
    if m.shape != tuple(shape):
        raise GeometryMismatchError(
            f"the mask is {m.shape[0]}×{m.shape[1] if m.ndim > 1 else 1} but the images are "
            f"{shape[0]}×{shape[1]}."
        )
    if not m.any():
        raise UnsupportedInputError("the mask selects no pixel; nothing to score.")
    return m


def to_levels(image: np.ndarray) -> np.ndarray:
    """Grey levels 0..255 as intp for histograms: values rounded to the nearest integer."""
    return np.clip(np.rint(image), 0, 255).astype(np.intp)
