"""NIfTI-1 / NIfTI-2 loader (``.nii``, ``.nii.gz``) through nibabel.

NIfTI world coordinates are RAS; they are converted to LPS here (and only here) by negating
the first two rows of the affine. ``scl_slope``/``scl_inter`` are applied by nibabel's array
proxy. A trailing singleton 4th dimension is squeezed; a true 4-D file needs ``volume=N``.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np

from brainfuse.errors import UnreadableInputError, UnsupportedInputError
from brainfuse.image import ImageVolume, orientation_code
from brainfuse.io.messages import one_line
from brainfuse.io.raster import modality_from_name
from brainfuse.io.reorient import geometry_from_affine, to_canonical_lps

__all__ = ["load_nifti", "is_nifti_path", "guess_modality_from_values"]

_MAX_HU = 4095.0
_RAS_TO_LPS = np.diag([-1.0, -1.0, 1.0, 1.0])


def is_nifti_path(path: Path) -> bool:
    """True for ``.nii``, ``.nii.gz`` and NIfTI pair ``.hdr``/``.img`` names (any case)."""
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
        img = nib.load(str(path))
    except Exception as exc:  # nibabel raises many types for corrupt headers
        raise UnreadableInputError(
            f"File {path} is not a readable NIfTI image ({one_line(exc)})."
        ) from exc
    if not isinstance(img, nib.Nifti1Pair):  # NIfTI-1/2 single files and pairs
        raise UnsupportedInputError(
            f"File {path} is a {type(img).__name__} (e.g. Analyze 7.5 without a reliable "
            "orientation), not a NIfTI image; convert it to NIfTI."
        )
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
    if data.dtype.byteorder not in ("=", "|"):
        data = data.astype(data.dtype.newbyteorder("="))
    if data.dtype == np.float64:
        data = data.astype(np.float32)

    affine = _RAS_TO_LPS @ img.affine
    spacing, origin, direction = geometry_from_affine(affine)
    header = img.header
    descrip = header.get("descrip")
    description = ""
    if descrip is not None:
        description = bytes(np.asarray(descrip).item()).decode("latin-1").strip("\x00 ").strip()
    named = modality_from_name(path)
    mod = (modality or (named if named != "OT" else guess_modality_from_values(data))).upper()
    window = None
    cal_min, cal_max = float(header.get("cal_min", 0) or 0), float(header.get("cal_max", 0) or 0)
    if cal_max > cal_min:
        window = ((cal_min + cal_max) / 2.0, cal_max - cal_min)
    stored = ImageVolume(
        array=np.ascontiguousarray(np.transpose(data, (2, 1, 0))),
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
    )
    return to_canonical_lps(stored)
