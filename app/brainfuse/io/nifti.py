"""NIfTI-1 / NIfTI-2 loader (``.nii``, ``.nii.gz``) through nibabel.

NIfTI world coordinates are RAS; they are converted to LPS here (and only here) by negating
the first two rows of the affine. ``scl_slope``/``scl_inter`` are applied by nibabel's array
proxy. A trailing singleton 4th dimension is squeezed; a true 4-D file needs ``volume=N``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import nibabel as nib
import numpy as np

from brainfuse.errors import UnreadableInputError, UnsupportedInputError
from brainfuse.io.budget import format_size, require
from brainfuse.io.messages import one_line
from brainfuse.io.raster import modality_from_name
from brainfuse.io.reorient import geometry_from_affine, to_canonical_lps
from brainfuse.model.image import ImageVolume, orientation_code

__all__ = ["guess_modality_from_values", "is_nifti_path", "load_nifti"]

_MAX_HU = 4095.0
_RAS_TO_LPS = np.diag([-1.0, -1.0, 1.0, 1.0])


def is_nifti_path(path: Path) -> bool:
    """Tell ``.nii``, ``.nii.gz`` and NIfTI pair ``.hdr``/``.img`` names (any case)."""
    name = path.name.lower()
    return name.endswith((".nii", ".nii.gz", ".hdr", ".img", ".hdr.gz", ".img.gz"))


def guess_modality_from_values(array: np.ndarray) -> str:
    """``"CT"`` when values look like Hounsfield units, else ``"MR"``.

    HU-like means min ≲ −500 (air) and 1000 < max ≤ 4095 (bone, 12-bit CT range); MR
    intensities that dip below −500 after scaling but reach tens of thousands are not HU.

    Parameters
    ----------
    array : ndarray
        Voxel values after scl_slope/scl_inter.
    """
    if array.size == 0:
        return "MR"
    lo, hi = float(np.nanmin(array)), float(np.nanmax(array))
    return "CT" if lo <= -500 and 1000 < hi <= _MAX_HU else "MR"


def _shape_text(shape) -> str:
    return "×".join(str(int(s)) for s in shape)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(" ".join(record.getMessage().split()))


@contextmanager
def _header_repairs() -> Iterator[list[str]]:
    """Collect what nibabel repairs in a header while reading it (it logs each repair)."""
    logger = logging.getLogger("nibabel.global")
    handler = _Collect()
    logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)


def _check_declared_size(img, path: Path) -> None:
    """Refuse invalid dimensions, voxels the file cannot hold, or more than the budget.

    Works on the header alone, before any voxel is read: ``dim[0]`` must be 1..7 and every
    used dimension positive; an uncompressed file must be long enough for the voxels it
    declares; the 3-D volume that will be read must fit the memory budget.
    """
    dim = [int(v) for v in np.asarray(img.header["dim"]).ravel()]
    ndim = dim[0]
    if not 1 <= ndim <= 7:
        raise UnreadableInputError(
            f"File {path} has an invalid NIfTI header: dim[0] is {ndim} (must be 1 to 7)."
        )
    dims = dim[1 : ndim + 1]
    if any(d < 0 for d in dims):
        raise UnreadableInputError(
            f"File {path} has an invalid NIfTI header: negative dimension(s) ({_shape_text(dims)})."
        )
    if any(d == 0 for d in dims):
        return  # reported with the shape below
    item = np.dtype(img.header.get_data_dtype()).itemsize
    total = int(np.prod([float(d) for d in dims])) * item
    volume_3d = int(np.prod([float(d) for d in dims[:3]]))
    what = f"{_shape_text(dims)} voxels of {item} byte(s)"
    image_file = Path(img.file_map["image"].filename or path)
    if not image_file.name.lower().endswith(".gz"):  # compressed sizes say nothing
        offset = int(img.header.get("vox_offset", 0) or 0)
        try:
            held = image_file.stat().st_size - offset
        except OSError:
            held = None
        if held is not None and total > held:
            raise UnreadableInputError(
                f"File {path} declares {what} ({format_size(total)}) but holds only "
                f"{format_size(max(held, 0))} of voxels: it is truncated or its header is wrong."
            )
    # The volume read, nibabel's scaled float64 copy, our float32 and reoriented copies.
    require(volume_3d * (item + 16), path, what)


def _lps_geometry(img, path: Path, warnings: list[str]):
    """Spacing, origin, direction of the file in LPS, or a placeholder with a warning.

    A header whose affine is not finite or is degenerate (NaN/inf/zero pixdim with qform
    and sform codes 0) gives 1 mm voxels, identity orientation and ``has_geometry=False``.
    """
    affine = _RAS_TO_LPS @ np.asarray(img.affine, dtype=float)
    usable = bool(np.isfinite(affine).all())
    if usable:
        spacing, origin, direction = geometry_from_affine(affine)
        usable = all(s > 0 for s in spacing) and abs(np.linalg.det(direction)) > 1e-6
    if usable:
        return spacing, origin, direction, True
    zooms = ", ".join(f"{float(z):g}" for z in np.asarray(img.header["pixdim"])[1:4])
    warnings.append(
        f"the header's voxel size or orientation is not usable (pixdim {zooms}): shown with "
        "placeholder geometry (1 mm voxels), so it can only be paired with an image of the "
        "same size"
    )
    return (1.0, 1.0, 1.0), (0.0, 0.0, 0.0), np.eye(3), False


def _rgb_channels(data: np.ndarray, path: Path, warnings: list[str]) -> np.ndarray:
    """NIfTI RGB24/RGBA32 (a structured dtype) as a ``(..., 3)`` uint8 array."""
    names = [n.upper() for n in data.dtype.names or ()]
    if names[:3] != ["R", "G", "B"]:
        raise UnsupportedInputError(
            f"File {path} stores voxels of an unsupported compound type ({data.dtype})."
        )
    fields = data.dtype.names or ()
    rgb = np.stack([np.asarray(data[f], dtype=np.uint8) for f in fields[:3]], axis=-1)
    if len(fields) > 3:
        warnings.append("RGBA colour NIfTI: the alpha channel was dropped")
    return rgb


def load_nifti(
    path: Path, *, volume: int | None = None, modality: str | None = None
) -> ImageVolume:
    """Load a NIfTI file as an :class:`ImageVolume` in canonical LPS orientation.

    Parameters
    ----------
    path : Path
        ``.nii`` or ``.nii.gz`` file (NIfTI-1 or NIfTI-2, any byte order).
    volume : int, optional
        0-based index of the volume to take from a 4-D file.
    modality : str, optional
        Override of the modality guess: the file name's modality token (``head_ct.nii.gz``,
        ``t1_mri.nii``), else ``CT`` when values look like HU, else ``MR``.

    Returns
    -------
    ImageVolume
        ``array`` (z, y, x) with scl_slope/scl_inter applied (integers kept as integers when
        the file has no scaling), ``units="HU"`` for CT.

    Raises
    ------
    UnreadableInputError
        The file is not a readable NIfTI or has a zero-length dimension.
    UnsupportedInputError
        A true 4-D (or higher) file without ``volume``, or ``volume`` out of range.
    """
    try:
        with _header_repairs() as repairs:
            img = nib.load(str(path), mmap=False)
    except Exception as exc:  # nibabel raises many types for corrupt headers
        raise UnreadableInputError(
            f"File {path} is not a readable NIfTI image ({one_line(exc)})."
        ) from exc
    if not isinstance(img, nib.Nifti1Pair):  # NIfTI-1/2 single files and pairs
        raise UnsupportedInputError(
            f"File {path} is a {type(img).__name__} (e.g. Analyze 7.5 without a reliable "
            "orientation), not a NIfTI image; convert it to NIfTI."
        )
    _check_declared_size(img, path)
    shape = tuple(int(s) for s in img.shape)
    if any(s == 0 for s in shape) or len(shape) == 0:
        raise UnreadableInputError(
            f"File {path} has a zero-length dimension ({_shape_text(shape)}): it holds no image."
        )
    # Drop trailing singleton dimensions beyond the third (e.g. 128×128×10×1).
    keep = len(shape)
    while keep > 3 and shape[keep - 1] == 1:
        keep -= 1
    extra = shape[3:keep]
    if len(extra) > 1:
        raise UnsupportedInputError(
            f"File {path} is a {len(shape)}-D NIfTI ({_shape_text(shape)}): only 3-D images "
            "or 4-D series (with --volume) are supported."
        )
    warnings: list[str] = []
    if repairs:
        warnings.append("header repaired on reading: " + "; ".join(dict.fromkeys(repairs)))
    if extra:
        n_vol = extra[0]
        if volume is None:
            raise UnsupportedInputError(
                f"File {path} is a 4-D NIfTI ({_shape_text(shape)}): choose a volume with "
                f"--volume (0 to {n_vol - 1})."
            )
        if not 0 <= volume < n_vol:
            raise UnsupportedInputError(
                f"File {path} has {n_vol} volumes (0 to {n_vol - 1}); --volume {volume} "
                "is out of range."
            )
        index = (slice(None),) * 3 + (volume,) + (0,) * (len(shape) - 4)
        warnings.append(f"volume {volume} of {n_vol} taken from a 4-D file")
    else:
        if volume not in (None, 0):
            raise UnsupportedInputError(
                f"File {path} is a single 3-D volume ({_shape_text(shape[:3])}); "
                f"--volume {volume} does not apply."
            )
        index = (slice(None),) * min(len(shape), 3) + (0,) * max(len(shape) - 3, 0)
    try:
        data = np.asanyarray(img.dataobj[index])
    except (OSError, EOFError, ValueError) as exc:
        raise UnreadableInputError(
            f"Could not read the voxels of {path} (the file may be truncated): {one_line(exc)}"
        ) from exc
    data = np.asarray(data)
    data = data.reshape(data.shape + (1,) * (3 - data.ndim))
    is_rgb = data.dtype.names is not None
    if is_rgb:
        data = _rgb_channels(data, path, warnings)
    if not data.dtype.isnative:  # e.g. ">i2"; "<i2" is native here and needs no copy
        data = data.astype(data.dtype.newbyteorder("="))
    if data.dtype == np.float64:
        data = data.astype(np.float32)

    spacing, origin, direction, has_geometry = _lps_geometry(img, path, warnings)
    header = img.header
    descrip = header.get("descrip")
    description = ""
    if descrip is not None:
        description = bytes(np.asarray(descrip).item()).decode("latin-1").strip("\x00 ").strip()
    named = modality_from_name(path)
    guessed = "OT" if is_rgb else guess_modality_from_values(data)
    mod = (modality or (named if named != "OT" else guessed)).upper()
    window = None
    cal_min, cal_max = float(header.get("cal_min", 0) or 0), float(header.get("cal_max", 0) or 0)
    if np.isfinite([cal_min, cal_max]).all() and cal_max > cal_min:
        window = ((cal_min + cal_max) / 2.0, cal_max - cal_min)
    stored = ImageVolume(
        array=np.transpose(data, (2, 1, 0) + ((3,) if is_rgb else ())),  # a view: copied once below
        spacing=spacing,
        origin=origin,
        direction=direction,
        modality=mod,
        units="HU" if mod == "CT" else "",
        window=window,
        path=str(path),
        format="NIfTI-2" if isinstance(img.header, nib.Nifti2Header) else "NIfTI-1",
        description=description or path.name,
        warnings=warnings,
        stored_orientation=orientation_code(direction),
        is_rgb=is_rgb,
        has_geometry=has_geometry,
    )
    loaded = to_canonical_lps(stored) if has_geometry else stored
    if not loaded.array.flags.c_contiguous:  # one copy of the voxels, in their final order
        loaded.array = np.ascontiguousarray(loaded.array)
    return loaded
