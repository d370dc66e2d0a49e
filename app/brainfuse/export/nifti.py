"""NIfTI-1 export of a fused volume or a decision map on the reference grid.

Inside BrainFuse geometry is LPS (see :mod:`brainfuse.model.image`); NIfTI is RAS, so this edge
flips the first two rows of the affine: ``affine_ras = diag(-1, -1, 1, 1) @ affine_lps``.
The array ``(z, y, x)`` is stored as NIfTI's ``(i, j, k) = (x, y, z)``. Both the qform and
the sform hold the affine (code 1, scanner coordinates; 0 for images without geometry).
NIfTI files carry no patient data; ``descrip`` holds a short provenance line.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np

from brainfuse._runtime.threads import choose_threads
from brainfuse.errors import ExportError
from brainfuse.export.atomic import write_stream_atomic
from brainfuse.export.nifti_stream import can_stream, stream_nifti
from brainfuse.export.render import as_uint8_rgb
from brainfuse.model.image import ImageVolume

__all__ = ["GZIP_LEVEL", "LPS_TO_RAS", "nifti_image", "write_nifti"]

LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])
#: gzip level of ``.nii.gz``: fused float32 voxels compress little; on a 512x512x300 fused
#: volume level 6 took 25 % longer than level 1 for a file 1 % smaller (nibabel's default is 1).
GZIP_LEVEL = 1
#: Volumes of this many bytes or more are composed and compressed on worker threads.
THREADED_BYTES = 32 << 20


def nifti_image(
    volume: ImageVolume,
    *,
    array: np.ndarray | None = None,
    provenance: Mapping[str, Any] | None = None,
) -> nib.Nifti1Image:
    """Build a ``Nifti1Image`` of ``volume`` (or of ``array`` on ``volume``'s grid).

    Parameters
    ----------
    volume : ImageVolume
        Supplies the grid (affine) and, unless ``array`` is given, the voxels.
    array : (Z, Y, X) or (Z, Y, X, 3) ndarray, optional
        Voxels on the same grid, e.g. the decision map.
    provenance : mapping, optional
        Its method and software go into the 80-character ``descrip`` field.

    Returns
    -------
    nibabel.Nifti1Image
        float32 for float data, uint8 for 8-bit (RGB as ``RGB24``), the dtype otherwise.
    """
    data = np.asarray(volume.array if array is None else array)
    if data.shape[:3] != volume.shape:
        raise ExportError(
            f"Array of shape {data.shape} does not lie on the grid of '{volume.name}' "
            f"({volume.shape}); cannot write it as NIfTI."
        )
    if data.ndim == 4:
        if data.shape[-1] != 3:
            raise ExportError(f"Cannot write an array of shape {data.shape} as NIfTI.")
        rgb = np.ascontiguousarray(np.transpose(as_uint8_rgb(data), (2, 1, 0, 3)))
        data_xyz = rgb.view([("R", "u1"), ("G", "u1"), ("B", "u1")])[..., 0]
    else:
        if data.dtype == bool:
            data = data.astype(np.uint8)
        elif np.issubdtype(data.dtype, np.floating):
            data = data.astype(np.float32, copy=False)
        data_xyz = np.transpose(data, (2, 1, 0))  # a view: NIfTI's x-fastest order on disk
    affine = LPS_TO_RAS @ volume.affine
    image = nib.Nifti1Image(data_xyz, affine)
    code = 1 if volume.has_geometry else 0
    image.set_qform(affine, code=code)
    image.set_sform(affine, code=code)
    image.header.set_xyzt_units("mm")
    if provenance:
        rule = f" {provenance['rule']}" if provenance.get("rule") else ""
        text = (
            f"{provenance.get('software', 'BrainFuse')} {provenance.get('method', '')}{rule} fusion"
        )
        if provenance.get("edits"):
            text += ", edited by hand"
        if provenance.get("different_patients_allowed"):  # first: never cut off
            text = "DIFFERENT PATIENTS fused on override; " + text
        image.header["descrip"] = text.encode("ascii", "replace")[:79]
    return image


def write_nifti(
    volume: ImageVolume,
    out: str | os.PathLike[str],
    *,
    array: np.ndarray | None = None,
    provenance: Mapping[str, Any] | None = None,
    overwrite: bool = False,
    sources: Iterable[str | os.PathLike[str]] = (),
) -> Path:
    """Write ``volume`` (or ``array`` on its grid) atomically as ``.nii`` or ``.nii.gz``.

    Parameters
    ----------
    volume, array, provenance
        See :func:`nifti_image`.
    out : path
        Ends in ``.nii`` or ``.nii.gz`` (gzip level :data:`GZIP_LEVEL`, with a fixed
        timestamp so equal inputs give equal files). The voxels are streamed to the file
        slab by slab (no copy of the volume is made, even for ``.nii.gz``); float32 and
        uint8 volumes, also one composed when read, are read and compressed on worker
        threads (:mod:`brainfuse.export.nifti_stream`).
    overwrite : bool
        Replace an existing ``out``.
    sources : iterable of paths
        Source files the output may not replace.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    ExportError
        Wrong suffix, ``out`` exists or is a source, or the write failed.
    """
    name = Path(out).name.lower()
    if not (name.endswith(".nii") or name.endswith(".nii.gz")):
        raise ExportError(f"A NIfTI file name must end in .nii or .nii.gz; got '{out}'.")
    data = volume.array if array is None else array
    if can_stream(data):  # slab by slab: no whole copy, even of a volume composed when read
        stand_in = np.broadcast_to(np.zeros((), data.dtype), data.shape)  # header only
        image = nifti_image(volume, array=stand_in, provenance=provenance)
        level = GZIP_LEVEL if name.endswith(".gz") else None
        big = int(np.prod(data.shape)) * data.dtype.itemsize >= THREADED_BYTES
        threads = choose_threads() if big else 1
        return write_stream_atomic(
            out,
            lambda fh: stream_nifti(image, data, fh, gzip_level=level, threads=threads),
            overwrite=overwrite,
            sources=sources,
        )
    image = nifti_image(volume, array=array, provenance=provenance)

    def produce(fh) -> None:
        if not name.endswith(".gz"):
            image.to_file_map({"image": nib.FileHolder(fileobj=fh)})
            return
        with gzip.GzipFile(fileobj=fh, mode="wb", compresslevel=GZIP_LEVEL, mtime=0) as gz:
            image.to_file_map({"image": nib.FileHolder(fileobj=gz)})

    return write_stream_atomic(out, produce, overwrite=overwrite, sources=sources)
