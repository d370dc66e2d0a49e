"""PNG export: a fused slice as displayed, a decision map, or a volume as numbered slices.

PNGs carry no patient data. Each file has ``tEXt`` chunks: ``Software`` (BrainFuse and its
version), ``Description`` (one line: method, windows, model SHA-256) and ``BrainFuse``
(the full provenance record as JSON), written with Pillow's ``PngInfo``.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from brainfuse.export.atomic import write_bytes_atomic, write_folder_atomic
from brainfuse.export.provenance import provenance_json, provenance_text
from brainfuse.export.render import as_uint8_rgb, to_uint8, to_uint16

__all__ = ["PNG_TEXT_KEY", "encode_png", "write_png", "write_png_slices"]

PNG_TEXT_KEY = "BrainFuse"


def encode_png(
    image: np.ndarray,
    *,
    provenance: Mapping[str, Any] | None = None,
    bit_depth: int = 8,
    window: tuple[float, float] | None = None,
) -> bytes:
    """Encode one 2-D picture as PNG bytes.

    Parameters
    ----------
    image : (H, W) ndarray of float in [0, 1], or (H, W, 3) ndarray (uint8, or float in [0, 1])
        A grey slice (fused image or decision map) or an RGB picture (colour fusion,
        burned-in overlay). Grey ``uint8`` input is stored as it is.
    provenance : mapping, optional
        Provenance record (see :mod:`brainfuse.export.provenance`) for the text chunks.
    bit_depth : {8, 16}
        16 keeps the fused values (``np.round(65535 * x)``); grey float input only.
    window : (low, high), optional
        Display window in ``[0, 1]`` units for 8-bit grey output.

    Returns
    -------
    bytes
        The PNG file.
    """
    image = np.asarray(image)
    if bit_depth not in (8, 16):
        raise ValueError(f"PNG bit depth must be 8 or 16; got {bit_depth}")
    if image.ndim == 3 and image.shape[-1] == 3:
        if bit_depth == 16:
            raise ValueError("16-bit PNG export is for grey images; this one is RGB")
        picture = Image.fromarray(as_uint8_rgb(image))
    elif image.ndim == 2:
        if bit_depth == 16:
            picture = Image.fromarray(to_uint16(image))
        elif image.dtype == np.uint8 and window is None:
            picture = Image.fromarray(np.ascontiguousarray(image))
        else:
            picture = Image.fromarray(to_uint8(image, window))
    else:
        raise ValueError(f"a PNG needs an (H, W) or (H, W, 3) image; got shape {image.shape}")
    info = PngInfo()
    if provenance:
        info.add_text("Software", str(provenance.get("software", "BrainFuse")))
        info.add_text("Description", provenance_text(provenance))
        info.add_text(PNG_TEXT_KEY, provenance_json(provenance))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def write_png(
    image: np.ndarray,
    out: str | os.PathLike[str],
    *,
    provenance: Mapping[str, Any] | None = None,
    bit_depth: int = 8,
    window: tuple[float, float] | None = None,
    overwrite: bool = False,
    sources: Iterable[str | os.PathLike[str]] = (),
) -> Path:
    """Write one picture (see :func:`encode_png`) atomically to ``out``.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    brainfuse.errors.ExportError
        ``out`` exists (without ``overwrite``), is a source, or could not be written.
    """
    data = encode_png(image, provenance=provenance, bit_depth=bit_depth, window=window)
    return write_bytes_atomic(out, data, overwrite=overwrite, sources=sources)


def write_png_slices(
    images: np.ndarray | Iterable[np.ndarray],
    out_folder: str | os.PathLike[str],
    *,
    provenance: Mapping[str, Any] | None = None,
    bit_depth: int = 8,
    window: tuple[float, float] | None = None,
    prefix: str = "slice_",
    overwrite: bool = False,
    sources: Iterable[str | os.PathLike[str]] = (),
) -> list[Path]:
    """Write a volume as numbered PNGs ``<prefix>0001.png``, ... in a new folder.

    Parameters
    ----------
    images : (Z, H, W) or (Z, H, W, 3) ndarray, or iterable of 2-D pictures
        Slices in order; numbering starts at 1.
    out_folder : path
        Folder to create (replaced as a whole with ``overwrite``).

    Returns
    -------
    list of Path
        The files written.
    """
    images = list(images)
    digits = max(4, len(str(len(images))))

    def files() -> Iterator[tuple[str, bytes]]:
        for k, image in enumerate(images):
            data = encode_png(image, provenance=provenance, bit_depth=bit_depth, window=window)
            yield f"{prefix}{k + 1:0{digits}d}.png", data

    return write_folder_atomic(
        out_folder, files(), overwrite=overwrite, sources=sources, replaceable=(".png",)
    )
