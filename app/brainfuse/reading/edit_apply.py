"""Applying the reader's edit labels: to a soft and hard map, to a fusion result, and files.

The labels (:class:`~brainfuse.reading.edits.EditVolume`: ``0`` automatic, ``1`` force CT, ``2``
force MRI) replace the automatic soft map ``W`` by
``W_edited = where(label == 1, 1, where(label == 2, 0, W))``; the fused image recomposes
without the encoder (:func:`recompose`, the engine's blend, so unedited voxels stay bit for
bit). :func:`save_edits` / :func:`load_edits` store the labels as NIfTI with the grid's affine
(``brainfuse fuse --edits``), refusing a file saved on another grid.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from brainfuse.errors import GeometryMismatchError, UnreadableInputError
from brainfuse.model.image import ImageVolume
from brainfuse.model.results import FORCE_CT, FORCE_MRI
from brainfuse.model.results import describe_edits as describe
from brainfuse.reading.edits import EditVolume, checked_labels

__all__ = [
    "apply_edits",
    "apply_edits_file",
    "apply_to_result",
    "edited_hard_map",
    "load_edits",
    "recompose",
    "save_edits",
]


def apply_edits(soft: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Apply the edits to a soft map: 1 where forced to CT, 0 where forced to MRI.

    Parameters
    ----------
    soft : float array, any shape
        The automatic weight of the CT in [0, 1].
    labels : uint8 array, same shape
        0 automatic, 1 CT, 2 MRI.

    Returns
    -------
    float32 ndarray
        ``where(labels == 1, 1, where(labels == 2, 0, soft))``.
    """
    soft = np.asarray(soft, dtype=np.float32)
    labels = np.asarray(labels)
    if labels.shape != soft.shape:
        raise GeometryMismatchError(
            f"edit labels {labels.shape} do not match the decision map {soft.shape}"
        )
    return np.where(
        labels == FORCE_CT, np.float32(1.0), np.where(labels == FORCE_MRI, np.float32(0.0), soft)
    ).astype(np.float32, copy=False)


def edited_hard_map(hard: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Apply the edits to the hard (0/1, 1 = CT) decision map; uint8."""
    hard = np.asarray(hard)
    return np.where(labels == FORCE_CT, 1, np.where(labels == FORCE_MRI, 0, hard)).astype(np.uint8)


def recompose(weight: np.ndarray, ct01: np.ndarray, mri01: np.ndarray) -> np.ndarray:
    """Fused image from a (possibly edited) CT weight, without the encoder.

    Parameters
    ----------
    weight : float32 (..., H, W)
        Weight of the CT in [0, 1] (the soft map).
    ct01 : float32 (..., H, W), or (..., H, W, 3) for a colour image 1, in [0, 1]
    mri01 : float32 (..., H, W), in [0, 1]

    Returns
    -------
    float32 ndarray in [0, 1]
        ``W * CT + (1 - W) * MRI``: :func:`brainfuse.fusion.compose.compose`, the engine's
        own blend (so unedited voxels equal the engine's output bit for bit; a colour
        image 1 is fused through its luminance and keeps its chroma).
    """
    from brainfuse.fusion.compose import compose  # the fusion package loads torch: lazily

    return compose(weight, np.asarray(ct01, dtype=np.float32), mri01)


def apply_to_result(result: Any, labels: np.ndarray | EditVolume) -> Any:
    """Return a fusion result with the edits applied (no encoder run).

    Parameters
    ----------
    result : brainfuse.pipeline.PairResult
        Uses ``soft_map``, ``decision_map``, ``ct01``, ``mri01`` and ``fused``.
    labels : (Z, Y, X) uint8 ndarray or EditVolume
        On the result's grid.

    Returns
    -------
    PairResult
        A copy whose ``soft_map``, ``decision_map`` and ``fused`` carry the edits; the
        automatic maps stay in ``result.fusion`` (``soft_map``, ``decision_map``) untouched,
        and a warning line records the edits. With no edit the result is returned as is.

    Raises
    ------
    GeometryMismatchError
        The labels are not on the result's grid.
    """
    arr = labels.labels if isinstance(labels, EditVolume) else labels
    arr = checked_labels(arr, result.fused.shape, "The edit labels")
    if not arr.any():
        return result
    soft = apply_edits(result.soft_map, arr)
    fused = recompose(soft, result.ct01, result.mri01)
    if result.fused.is_rgb:
        fused = np.round(fused * 255).astype(np.uint8)
    hard = edited_hard_map(result.decision_map.array, arr)
    return dataclasses.replace(
        result,
        soft_map=soft,
        fused=result.fused.with_array(fused, description=result.fused.description + " (edited)"),
        decision_map=result.decision_map.with_array(hard),
        warnings=[*result.warnings, describe(arr)],
        edits=arr.copy(),
    )


def apply_edits_file(result: Any, path: str | os.PathLike[str]) -> Any:
    """Apply the edit volume saved at ``path`` to a fusion result (``fuse --edits``).

    Raises
    ------
    UnreadableInputError, GeometryMismatchError, BrainFuseError
        See :func:`load_edits`: missing file, another grid, values other than 0/1/2.
    """
    return apply_to_result(result, load_edits(path, result.fused))


# ---------------------------------------------------------------------- files
def save_edits(
    path: str | os.PathLike[str],
    labels: np.ndarray | EditVolume,
    grid: ImageVolume,
    *,
    overwrite: bool = False,
    sources: Iterable[str | os.PathLike[str]] = (),
) -> Path:
    """Write the edit labels as NIfTI (uint8, 0/1/2) with the grid's affine.

    Parameters
    ----------
    path : path
        ``.nii`` or ``.nii.gz``.
    labels : (Z, Y, X) uint8 ndarray or EditVolume
    grid : ImageVolume
        The fusion grid the labels lie on.
    overwrite : bool
        Replace an existing file.
    sources : iterable of paths
        Source files the output may not replace.

    Raises
    ------
    ExportError, GeometryMismatchError
    """
    from brainfuse.export.nifti import write_nifti

    arr = labels.labels if isinstance(labels, EditVolume) else labels
    arr = checked_labels(arr, grid.shape, "The edit labels")
    return write_nifti(grid, path, array=arr, overwrite=overwrite, sources=sources)


def load_edits(path: str | os.PathLike[str], grid: ImageVolume) -> np.ndarray:
    """Read an edit volume written by :func:`save_edits` and check it lies on ``grid``.

    Returns
    -------
    (Z, Y, X) uint8 ndarray
        Labels on ``grid`` (0 automatic, 1 CT, 2 MRI).

    Raises
    ------
    UnreadableInputError
        Missing or unreadable file.
    GeometryMismatchError
        The file's grid (shape or affine, 1 µm tolerance) is not ``grid``.
    BrainFuseError
        Values other than 0, 1 and 2.
    """
    from brainfuse.io.nifti import is_nifti_path, load_nifti

    p = Path(path)
    if not p.is_file():
        raise UnreadableInputError(f"Edit volume '{p}' does not exist.")
    if not is_nifti_path(p):
        raise UnreadableInputError(f"Edit volume '{p}' must be a NIfTI file (.nii or .nii.gz).")
    vol = load_nifti(p, modality="OT")
    if vol.shape != grid.shape or not np.allclose(vol.affine, grid.affine, atol=1e-3):
        raise GeometryMismatchError(
            f"Edit volume '{p.name}' ({'x'.join(map(str, vol.shape))} voxels, origin "
            f"{_mm(vol.origin)}, spacing {_mm(vol.spacing)}) is not on the fusion grid "
            f"({'x'.join(map(str, grid.shape))}, origin {_mm(grid.origin)}, spacing "
            f"{_mm(grid.spacing)}): it was saved for another pair or reference grid."
        )
    return checked_labels(vol.array, grid.shape, f"Edit volume '{p.name}'")


def _mm(values: Iterable[float]) -> str:
    return "(" + ", ".join(f"{v:g}" for v in values) + ") mm"
