"""Read one DICOM file and decode its pixels to physical values.

Decoding goes through pydicom's pixel handlers: RLE (pydicom / pylibjpeg-rle), JPEG 2000
(pylibjpeg-openjpeg), JPEG-LS (pyjpegls), JPEG baseline/extended (Pillow, GDCM for 12-bit) and
JPEG Lossless Process 14 (python-gdcm; the GPL pylibjpeg-libjpeg plugin is deliberately not
used). A transfer syntax with no installed decoder (e.g. MPEG/HEVC video) is refused with an
:class:`~brainfuse.errors.UnsupportedInputError` naming the syntax. The modality LUT (Rescale
Slope/Intercept, per frame for enhanced multi-frame) is applied; MONOCHROME1 values are kept
(display inverts them); palette and RGB/YBR colour become RGB uint8.
"""

from __future__ import annotations

import contextlib
import logging
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.encaps import generate_frames
from pydicom.errors import InvalidDicomError
from pydicom.pixels import apply_color_lut, apply_modality_lut, get_decoder

from brainfuse._runtime.quiet import native_stderr_to_log
from brainfuse.errors import UnreadableInputError, UnsupportedInputError
from brainfuse.io.budget import require
from brainfuse.io.codestream import codestream_size
from brainfuse.io.messages import one_line

log = logging.getLogger(__name__)

__all__ = [
    "PixelFrames",
    "decode_frames",
    "first_number",
    "frame_value",
    "read_dicom",
    "read_header",
]

_COLOUR = ("RGB", "YBR_FULL", "YBR_FULL_422", "YBR_RCT", "YBR_ICT", "YBR_PARTIAL_420")


def _read(path: Path, *, stop_before_pixels: bool, force: bool) -> Dataset:
    try:
        return pydicom.dcmread(str(path), stop_before_pixels=stop_before_pixels, force=force)
    except InvalidDicomError as exc:
        raise UnreadableInputError(f"File {path} is not a DICOM file.") from exc
    except (
        OSError,
        EOFError,
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        struct.error,
        zlib.error,
    ) as exc:
        raise UnreadableInputError(
            f"File {path} is a damaged or truncated DICOM file ({type(exc).__name__}: {one_line(exc)})."
        ) from exc


# Objects with rows that are not images to fuse: a Segmentation (our own decision map SEG,
# written beside the fused slices) is a label map over another series.
_NOT_IMAGES = {"1.2.840.10008.5.1.4.1.1.66.4"}  # Segmentation Storage


def read_header(path: Path) -> Dataset | None:
    """Header of a DICOM image file (no pixels), or ``None`` if it is not a DICOM image.

    Used to scan folders cheaply: files without the ``DICM`` prefix, unreadable files and
    DICOM objects without rows (reports, DICOMDIR, RT plans) and segmentations give ``None``.
    """
    try:
        ds = pydicom.dcmread(str(path), stop_before_pixels=True)
    except Exception:  # anything that is not a DICOM file is simply skipped in a folder
        return None
    if str(ds.get("SOPClassUID", "")) in _NOT_IMAGES:
        return None
    return ds if "Rows" in ds else None


def read_dicom(path: Path) -> Dataset:
    """Read a whole DICOM file, with a clear error if it is not one.

    Files without the 128-byte preamble and ``DICM`` prefix are tried once more with
    ``force=True`` and accepted only if they then look like an image.
    """
    if path.stat().st_size == 0:
        raise UnreadableInputError(f"File {path} is empty (0 bytes).")
    try:
        return _read(path, stop_before_pixels=False, force=False)
    except UnreadableInputError as first:
        if "not a DICOM file" not in str(first):
            raise
        try:
            ds = _read(path, stop_before_pixels=False, force=True)
        except UnreadableInputError:
            raise first from None
        if "SOPClassUID" in ds and ("PixelData" in ds or "Rows" in ds):
            if "TransferSyntaxUID" not in ds.file_meta:
                ds.file_meta.TransferSyntaxUID = (
                    pydicom.uid.ImplicitVRLittleEndian
                    if ds.is_implicit_VR
                    else pydicom.uid.ExplicitVRLittleEndian
                )
            return ds
        raise first from None


def first_number(value) -> float | None:
    """First value of a (possibly multi-valued) numeric DICOM element, or ``None``."""
    if value is None or value == "":
        return None
    if isinstance(value, list | tuple | pydicom.multival.MultiValue):
        if len(value) == 0:
            return None
        value = value[0]
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def frame_value(ds: Dataset, frame: int, sequence: str, keyword: str):
    """Value of ``keyword`` in functional group ``sequence`` for one frame of an enhanced file.

    Looks in the Per-frame Functional Groups first, then in the Shared ones, then at the top
    level of the dataset (classic files). Returns ``None`` where absent.
    """
    per_frame = ds.get("PerFrameFunctionalGroupsSequence")
    groups = []
    if per_frame is not None and frame < len(per_frame):
        groups.append(per_frame[frame])
    shared = ds.get("SharedFunctionalGroupsSequence")
    if shared:
        groups.append(shared[0])
    for group in groups:
        seq = group.get(sequence)
        if seq and keyword in seq[0]:
            return seq[0][keyword].value
    return ds.get(keyword)


@dataclass
class PixelFrames:
    """Decoded frames of one DICOM file.

    Attributes
    ----------
    array : (n, rows, cols) ndarray, or (n, rows, cols, 3) uint8 when ``is_rgb``
        Values after the modality LUT (e.g. HU for CT).
    is_rgb : bool
    monochrome1 : bool
    units : str
        ``"HU"`` for CT unless Rescale Type says otherwise.
    window : (center, width) or None
    warnings : list of str
    """

    array: np.ndarray
    is_rgb: bool
    monochrome1: bool
    units: str
    window: tuple[float, float] | None
    warnings: list[str]


def _check_decoder(ds: Dataset, path: Path) -> None:
    tsyntax = ds.file_meta.get("TransferSyntaxUID")
    if tsyntax is None:
        return
    uid = pydicom.uid.UID(tsyntax)
    if not uid.is_transfer_syntax:
        raise UnsupportedInputError(
            f"File {path} names '{uid}' as its Transfer Syntax UID, which is not a transfer "
            "syntax BrainFuse knows: its pixels cannot be decoded."
        )
    if not uid.is_compressed:
        return
    name = uid.name if uid.is_valid else str(uid)
    try:
        decoder = get_decoder(uid)
    except NotImplementedError:
        decoder = None
    if decoder is None or not decoder.is_available:
        raise UnsupportedInputError(
            f"File {path} is compressed with '{name}' ({uid}), which BrainFuse cannot decode; "
            "convert it to an uncompressed or JPEG 2000/JPEG-LS/RLE transfer syntax "
            "(e.g. with dcmdjpeg or gdcmconv) and load it again."
        )


def _declared(ds: Dataset, path: Path) -> tuple[int, int, int, int, int]:
    """``(rows, columns, frames, samples, bits allocated)`` from the header, checked."""

    def number(keyword: str, default: int | None) -> int:
        value = first_number(ds.get(keyword))
        if value is None:
            if default is None:
                raise UnreadableInputError(f"DICOM file {path} has no {keyword}.")
            return default
        if not float(value).is_integer() or value < 1:
            raise UnreadableInputError(
                f"DICOM file {path} has an invalid {keyword} ({ds.get(keyword)!s}): the "
                "header cannot describe its pixels."
            )
        return int(value)

    rows, cols = number("Rows", None), number("Columns", None)
    frames = number("NumberOfFrames", 1) if "NumberOfFrames" in ds else 1
    samples = number("SamplesPerPixel", 1)
    bits = number("BitsAllocated", None)
    if bits != 1 and bits % 8:
        raise UnreadableInputError(f"DICOM file {path} has an invalid Bits Allocated ({bits}).")
    return rows, cols, frames, samples, bits


def check_pixel_header(ds: Dataset, path: Path) -> list[str]:
    """Check the image header against the pixel data and the memory budget, before decoding.

    * Native (uncompressed) data must hold the bytes that Rows × Columns × Number of
      Frames × Samples per Pixel × Bits Allocated describe. Fewer, or a whole frame more
      or beyond, means the header misdescribes the pixels (refused); trailing padding
      shorter than a frame is ignored with a warning (one byte, the even-length pad,
      silently).
    * An RLE frame must have as many segments as the header implies (one per byte of
      each sample).
    * A JPEG / JPEG-LS / JPEG 2000 frame must declare the image size of the DICOM header
      (:func:`~brainfuse.io.codestream.codestream_size`): a decoder allocates what the codestream says.
    * Decoding must fit :func:`brainfuse.io.budget.memory_budget`.

    Returns
    -------
    list of str
        Warnings (trailing padding).

    Raises
    ------
    UnreadableInputError
        The header and the pixel data disagree.
    InputTooLargeError
        Decoding would exceed the memory budget.
    """
    if "PixelData" not in ds:
        return []
    rows, cols, frames, samples, bits = _declared(ds, path)
    values = rows * cols * frames * samples
    item = max(bits // 8, 1)
    # Peak while decoding: the decoder's buffer and the stored array (stored bytes each)
    # and the rescaled output (float32 at most): 8 bytes per 16-bit pixel, above the peak
    # found on a large RLE slice (docs/decisions.md, "Memory budget of a DICOM decode").
    need = values * (2 * item + 4)
    what = f"{cols}×{rows} pixels × {frames} frame(s) × {samples} sample(s) of {bits} bits"
    require(need, path, what)
    tsyntax = ds.file_meta.get("TransferSyntaxUID")
    encapsulated = tsyntax is not None and pydicom.uid.UID(tsyntax).is_encapsulated
    if not encapsulated:
        stored = values
        if str(ds.get("PhotometricInterpretation", "")).upper() == "YBR_FULL_422":
            stored = rows * cols * frames * 2  # two chroma samples shared by each pixel pair
        expected = (stored * bits + 7) // 8
        actual = len(ds.PixelData)
        if actual < expected or actual - expected >= max(expected // frames, 2):
            raise UnreadableInputError(
                f"DICOM file {path} holds {actual} bytes of pixel data where its header "
                f"({what}) describes {expected}: the file is damaged or truncated, or its "
                "header is wrong."
            )
        if actual - expected > 1:  # one byte pads odd lengths to even
            return [f"{actual - expected} bytes of padding after the pixel data ignored"]
        return []
    try:
        first = next(generate_frames(ds.PixelData, number_of_frames=frames), b"")
    except (ValueError, KeyError, struct.error) as exc:  # broken items: the decoder says more
        log.debug("could not split the pixel data of %s into frames: %s", path, exc)
        return []
    if tsyntax != pydicom.uid.RLELossless:
        size = codestream_size(first)
        if size is not None and size != (cols, rows):
            raise UnreadableInputError(
                f"DICOM file {path} is damaged: its compressed data declare {size[0]}×"
                f"{size[1]} pixels where its header says {cols}×{rows}."
            )
    else:
        n_segments = struct.unpack("<I", first[:4])[0] if len(first) >= 64 else 0
        if n_segments != samples * item:
            raise UnreadableInputError(
                f"DICOM file {path} is damaged: its RLE data have {n_segments} segment(s) "
                f"where {samples * item} are needed for {samples} sample(s) of {bits} bits."
            )
    return []


def _rescale_pairs(ds: Dataset, n: int) -> list[tuple[float, float]]:
    pairs = []
    for f in range(n):
        slope = first_number(frame_value(ds, f, "PixelValueTransformationSequence", "RescaleSlope"))
        inter = first_number(
            frame_value(ds, f, "PixelValueTransformationSequence", "RescaleIntercept")
        )
        pairs.append((1.0 if slope in (None, 0.0) else slope, 0.0 if inter is None else inter))
    return pairs


_BLOCK = 1 << 20  # values per float64 work block of the rescale (8 MB)


def _rescaled_dtype(raw: np.ndarray, pairs: list[tuple[float, float]]) -> type[np.number]:
    """int16 or int32 when every rescaled value is an integer that fits, else float32."""
    if not all(float(s).is_integer() and float(i).is_integer() for s, i in pairs):
        return np.float32
    ends = [0.0]
    for f, (slope, inter) in enumerate(pairs):
        if raw[f].size:
            ends += [slope * float(raw[f].min()) + inter, slope * float(raw[f].max()) + inter]
    for dtype in (np.int16, np.int32):
        info = np.iinfo(dtype)
        if info.min <= min(ends) and max(ends) <= info.max:
            return dtype
    return np.float32


def _apply_rescale(raw: np.ndarray, pairs: list[tuple[float, float]]) -> np.ndarray:
    """Per-frame ``slope * stored + intercept``; integers stay integers where exact.

    Computed in float64 blocks of :data:`_BLOCK` values written straight into the output,
    so the peak memory is the stored frames plus the output, whatever the image size.
    """
    if all(s == 1.0 and i == 0.0 for s, i in pairs):
        return raw
    out = np.empty(raw.shape, dtype=_rescaled_dtype(raw, pairs))
    flat_raw, flat_out = raw.reshape(len(pairs), -1), out.reshape(len(pairs), -1)
    for f, (slope, inter) in enumerate(pairs):
        for a in range(0, flat_raw.shape[1], _BLOCK):
            flat_out[f, a : a + _BLOCK] = (
                flat_raw[f, a : a + _BLOCK].astype(np.float64) * slope + inter
            )
    return out


def _padding_mask(ds: Dataset, raw: np.ndarray) -> np.ndarray | None:
    """Mark stored pixels equal to Pixel Padding Value (or in its range); else ``None``."""
    pad = first_number(ds.get("PixelPaddingValue"))
    if pad is None:
        return None
    limit = first_number(ds.get("PixelPaddingRangeLimit"))
    if limit is None:
        return raw == pad
    lo, hi = min(pad, limit), max(pad, limit)
    return (raw >= lo) & (raw <= hi)


def _to_uint8_rgb(rgb: np.ndarray, bits: int) -> np.ndarray:
    if rgb.dtype == np.uint8:
        return rgb
    scale = (2**bits - 1) / 255.0 if bits > 8 else 1.0
    return np.clip(np.round(rgb / scale), 0, 255).astype(np.uint8)


def decode_frames(ds: Dataset, path: Path) -> PixelFrames:
    """Decode all frames of ``ds`` and apply its modality LUT.

    Parameters
    ----------
    ds : pydicom Dataset
        A full dataset (read with pixels).
    path : Path
        For messages.

    Raises
    ------
    UnreadableInputError
        No pixel data, or the pixel data are truncated/corrupt.
    UnsupportedInputError
        No decoder for the transfer syntax.
    """
    if not any(k in ds for k in ("PixelData", "FloatPixelData", "DoubleFloatPixelData")):
        sop = ds.get("SOPClassUID")
        if sop is not None and sop.is_valid and "Image" not in sop.name:
            reason = f"it is a {sop.name}, not an image"
        else:
            reason = "the file may be truncated or damaged"
        raise UnreadableInputError(f"DICOM file {path} has no pixel data ({reason}).")
    _check_decoder(ds, path)
    header_warnings = check_pixel_header(ds, path)
    tsyntax = ds.file_meta.get("TransferSyntaxUID")
    compressed = tsyntax is not None and pydicom.uid.UID(tsyntax).is_compressed
    try:
        # C/Rust decoders of compressed syntaxes print to stderr themselves.
        with native_stderr_to_log() if compressed else contextlib.nullcontext():
            raw = ds.pixel_array
    except NotImplementedError as exc:
        name = tsyntax.name if tsyntax is not None else "unknown transfer syntax"
        raise UnsupportedInputError(
            f"File {path}: cannot decode '{name}' ({one_line(exc)})."
        ) from exc
    except BaseException as exc:  # corrupt data: many types, Rust panics (BaseException) too
        if isinstance(exc, KeyboardInterrupt | SystemExit | GeneratorExit):
            raise
        raise UnreadableInputError(
            f"The pixel data of {path} are damaged or truncated ({type(exc).__name__}: "
            f"{one_line(exc, limit=200)})."
        ) from exc
    n = int(first_number(ds.get("NumberOfFrames")) or 1)
    rows, cols = int(ds.Rows), int(ds.Columns)
    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).upper()
    warnings: list[str] = list(header_warnings)
    if raw.dtype.byteorder not in ("=", "|"):
        raw = raw.astype(raw.dtype.newbyteorder("="))

    if photometric == "PALETTE COLOR":
        try:
            rgb = apply_color_lut(raw, ds)
        except Exception as exc:
            raise UnreadableInputError(
                f"DICOM file {path} is PALETTE COLOR but its colour lookup table is missing "
                f"or damaged ({one_line(exc)})."
            ) from exc
        bits = 16 if rgb.dtype != np.uint8 and rgb.max() > 255 else 8
        rgb = _to_uint8_rgb(rgb, bits).reshape(n, rows, cols, 3)
        return PixelFrames(rgb, True, False, "", None, warnings)
    if samples == 3 or photometric in _COLOUR:
        bits = int(ds.get("BitsStored", 8) or 8)
        rgb = _to_uint8_rgb(raw, bits).reshape(n, rows, cols, 3)
        return PixelFrames(rgb, True, False, "", None, warnings)

    raw = raw.reshape(n, rows, cols)
    padding = _padding_mask(ds, raw)
    if "ModalityLUTSequence" in ds:
        try:
            values = np.asarray(apply_modality_lut(raw, ds))
        except Exception as exc:
            raise UnreadableInputError(
                f"DICOM file {path} has a damaged Modality LUT ({one_line(exc)})."
            ) from exc
    else:
        values = _apply_rescale(raw, _rescale_pairs(ds, n))
    modality = str(ds.get("Modality", "")).upper()
    if padding is not None and padding.any() and not padding.all():
        # Padding marks "outside the patient": show it as air for CT, the minimum otherwise.
        fill = values[~padding].min()
        if modality == "CT":
            fill = max(min(fill, -1024), np.iinfo(np.int16).min)
        values = values.copy()
        values[padding] = fill
    rescale_type = frame_value(ds, 0, "PixelValueTransformationSequence", "RescaleType")
    rescale_type = str(rescale_type).strip().upper() if rescale_type else ""
    if modality == "CT":
        units = "HU" if rescale_type in ("", "HU") else ""
        if units != "HU":
            image_type = "\\".join(str(v) for v in ds.get("ImageType", []))
            warnings.append(
                f"CT values are not Hounsfield units (Rescale Type {rescale_type}; "
                f"Image Type {image_type})"
            )
    else:
        units = rescale_type if rescale_type not in ("", "US") else ""
    center = first_number(frame_value(ds, 0, "FrameVOILUTSequence", "WindowCenter"))
    width = first_number(frame_value(ds, 0, "FrameVOILUTSequence", "WindowWidth"))
    window = (center, width) if center is not None and width is not None and width > 0 else None
    return PixelFrames(values, False, photometric == "MONOCHROME1", units, window, warnings)
