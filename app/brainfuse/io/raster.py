"""PNG / TIFF / JPEG / BMP slices through Pillow.

Plain images carry no geometry: ``has_geometry=False``, spacing 1 mm, identity direction. The
modality comes from the file name (``<id>_ct.png``, ``_mri``/``_mr``/``_mr1``, ``_pet``,
``_spect``), else ``OT``. 8-bit grey values are kept as they are (uint8); colour images are kept
as RGB uint8 unless all three channels are equal (then they are grey). Multi-page TIFFs become a
stack of slices.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from PIL import Image, ImageSequence, UnidentifiedImageError

from brainfuse.errors import GeometryMismatchError, InputTooLargeError, UnreadableInputError
from brainfuse.io.budget import require
from brainfuse.io.messages import one_line
from brainfuse.model.image import ImageVolume

__all__ = ["RASTER_SUFFIXES", "load_raster", "modality_from_name"]

RASTER_SUFFIXES = {
    ".png": "PNG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".bmp": "BMP",
}

_NAME_MODALITY = (
    (re.compile(r"^ct\d*$"), "CT"),
    (re.compile(r"^mri?\d*$"), "MR"),
    (re.compile(r"^(t1|t2|pd|flair)\w*$"), "MR"),
    (re.compile(r"^pet\d*$"), "PT"),
    (re.compile(r"^spect\d*$"), "NM"),
)


def modality_from_name(path: Path) -> str:
    """Modality named by a token of the file name (``21009_ct.png`` → ``CT``), else ``OT``."""
    stem = path.name.lower().split(".")[0]
    for token in reversed(re.split(r"[^a-z0-9]+", stem)):
        for pattern, modality in _NAME_MODALITY:
            if pattern.match(token):
                return modality
    return "OT"


def _frame_array(frame: Image.Image) -> tuple[np.ndarray, bool]:
    """One page as ``(y, x)`` grey or ``(y, x, 3)`` uint8 RGB; returns (array, is_rgb)."""
    mode = frame.mode
    if mode in ("1", "L", "I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(frame.convert("L") if mode == "1" else frame)
        if mode.startswith("I;16"):
            arr = arr.astype(np.uint16)
        return arr, False
    if mode == "LA":
        return np.asarray(frame.convert("L")), False
    arr = np.asarray(frame.convert("RGB"))
    if np.array_equal(arr[..., 0], arr[..., 1]) and np.array_equal(arr[..., 0], arr[..., 2]):
        return np.ascontiguousarray(arr[..., 0]), False
    return arr, True


def _check_size(img: Image.Image, path: Path) -> None:
    """Refuse, before decoding, an image whose pages would not fit the memory budget."""
    width, height = img.size
    pages = int(getattr(img, "n_frames", 1) or 1)
    channels = len(img.getbands())
    item = 4 if img.mode in ("I", "F") else 2 if img.mode.startswith("I;16") else 1
    # Pillow's decoded page, our array of it (RGB at most 3 bytes), and the stack.
    need = width * height * pages * (channels * item + 2 * max(item, 3))
    require(need, path, f"{width}×{height} pixels × {pages} page(s), mode {img.mode}")


def load_raster(path: Path, *, modality: str | None = None) -> ImageVolume:
    """Load a PNG/TIFF/JPEG/BMP image as a single slice (or a stack for multi-page TIFF).

    Parameters
    ----------
    path : Path
        Image file.
    modality : str, optional
        Override of the modality taken from the file name.

    Returns
    -------
    ImageVolume
        ``array`` (1, y, x) (or (n, y, x) for multi-page), dtype as stored (uint8 for 8-bit),
        or (n, y, x, 3) uint8 with ``is_rgb=True``; ``has_geometry=False``.

    Raises
    ------
    UnreadableInputError
        Not an image Pillow can decode, or truncated.
    GeometryMismatchError
        Pages of a multi-page TIFF differ in size.
    """
    fmt = RASTER_SUFFIXES.get(path.suffix.lower(), path.suffix.lstrip(".").upper())
    try:
        with Image.open(path) as img:
            _check_size(img, path)
            pages = [_frame_array(frame.copy()) for frame in ImageSequence.Iterator(img)]
    except Image.DecompressionBombError as exc:
        raise InputTooLargeError(
            f"File {path} declares an image too large to open safely ({one_line(exc)}): "
            "Pillow refuses it as a possible decompression bomb."
        ) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise UnreadableInputError(
            f"File {path} is not a readable {fmt} image ({one_line(exc)})."
        ) from exc
    shapes = {a.shape for a, _ in pages}
    if len(shapes) > 1:
        raise GeometryMismatchError(
            f"The pages of {path} have different sizes ({', '.join(map(str, sorted(shapes)))})."
        )
    is_rgb = any(rgb for _, rgb in pages)
    if is_rgb:
        arrays = [a if rgb else np.repeat(a[..., None], 3, axis=2) for a, rgb in pages]
    else:
        arrays = [a for a, _ in pages]
    array = np.stack(arrays, axis=0)
    if is_rgb and array.dtype != np.uint8:
        array = array.astype(np.uint8)
    return ImageVolume(
        array=array,
        modality=(modality or modality_from_name(path)).upper(),
        is_rgb=is_rgb,
        has_geometry=False,
        path=str(path),
        format=fmt,
        description=path.name,
    )
