"""``load(path)``: recognise what a path is and hand it to the right reader.

A path may be a DICOM file or folder, a NIfTI file, or a PNG/TIFF/JPEG image.
"""

from __future__ import annotations

from pathlib import Path

from brainfuse.errors import (
    UnreadableInputError,
    UnsupportedInputError,
    as_user_error,
    is_internal_error,
)
from brainfuse.io.checks import replace_non_finite
from brainfuse.io.dicom_series import load_dicom_file, load_dicom_folder
from brainfuse.io.nifti import is_nifti_path, load_nifti
from brainfuse.io.raster import RASTER_SUFFIXES, load_raster
from brainfuse.model.image import MODALITIES, ImageVolume

__all__ = ["load"]

_DICOM_MAGIC_OFFSET = 128


def _looks_like_dicom(path: Path) -> bool:
    with path.open("rb") as fh:
        head = fh.read(_DICOM_MAGIC_OFFSET + 4)
    return head[_DICOM_MAGIC_OFFSET:] == b"DICM"


def load(
    path: str | Path,
    *,
    series: str | int | None = None,
    volume: int | None = None,
    modality: str | None = None,
) -> ImageVolume:
    """Load an image file or a DICOM folder as an :class:`~brainfuse.model.image.ImageVolume`.

    Parameters
    ----------
    path : str or Path
        A DICOM file, a folder of DICOM files (searched recursively), a NIfTI-1/2 file
        (``.nii``/``.nii.gz``), or a PNG/TIFF/JPEG/BMP image.
    series : str or int, optional
        For a folder holding several series: SeriesInstanceUID or index (see
        :func:`brainfuse.io.list_series`).
    volume : int, optional
        For a 4-D NIfTI: 0-based index of the volume to load.
    modality : str, optional
        Override the modality (``CT``, ``MR``, ``PT``, ``NM``, ``OT``); for NIfTI and plain
        images, whose files do not say it.

    Returns
    -------
    ImageVolume
        Volumes of ≥ 2 slices in canonical LPS orientation; CT in HU (``units="HU"``).

    Raises
    ------
    UnreadableInputError
        Missing, empty, truncated or unrecognised file; folder without DICOM images.
    UnsupportedInputError
        4-D NIfTI without ``volume``, compressed DICOM without a decoder, bad ``modality``.
    AmbiguousInputError
        Several series in a folder and none chosen.
    InputTooLargeError
        Decoding would take more memory than :func:`brainfuse.io.budget.memory_budget`.

    Notes
    -----
    This is an error boundary: any other failure of a decoder or library (Rust panics
    included) becomes an :class:`~brainfuse.errors.UnreadableInputError` naming ``path``
    (:func:`brainfuse.errors.as_user_error`); a bug of BrainFuse's own reading code passes
    through unchanged (:func:`brainfuse.errors.is_internal_error` with ``in_decoder``). Voxels that are NaN or ±infinite are set to
    the lowest finite value, with one warning (:func:`brainfuse.io.checks.replace_non_finite`).
    """
    path = Path(path)
    try:
        loaded = _load(path, series=series, volume=volume, modality=modality)
    except BaseException as exc:
        if is_internal_error(exc, in_decoder=True):
            raise
        raise as_user_error(exc, path=path) from exc
    return replace_non_finite(loaded)


def _load(
    path: Path, *, series: str | int | None, volume: int | None, modality: str | None
) -> ImageVolume:
    if modality is not None and modality.upper() not in MODALITIES:
        raise UnsupportedInputError(
            f"Unknown modality '{modality}'; use one of {', '.join(MODALITIES)}."
        )
    if not path.exists():
        raise UnreadableInputError(f"{path} does not exist.")
    if path.is_dir():
        result = load_dicom_folder(path, series=series)
    else:
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise UnreadableInputError(f"Cannot read {path}: {exc.strerror or exc}.") from exc
        if size == 0:
            raise UnreadableInputError(f"File {path} is empty (0 bytes).")
        if is_nifti_path(path):
            return load_nifti(path, volume=volume, modality=modality)
        if path.suffix.lower() in RASTER_SUFFIXES and not _looks_like_dicom(path):
            return load_raster(path, modality=modality)
        result = load_dicom_file(path)
    if modality is not None:
        result.modality = modality.upper()
    return result
