"""The reader's corrections of the decision map: an edit label volume on the fusion grid.

No Qt, no torch. An edit volume is a uint8 array on the fusion (reference) grid, the same
shape as the fused image: ``0`` automatic (the fusion's own soft map), ``1`` force the CT
(image 1), ``2`` force the MRI. Applying it to the automatic soft map ``W`` gives

    ``W_edited = where(label == 1, 1, where(label == 2, 0, W))``

and the fused image recomposes from the windowed sources without the encoder:
``F = W_edited * CT01 + (1 - W_edited) * MRI01`` (:func:`recompose`, the same float32
arithmetic as :class:`brainfuse.fusion.Fuser`, so unedited voxels stay bit for bit).

:class:`EditVolume` paints disks (on one plane) and balls (through neighbouring slices) of a
radius in mm, honouring anisotropic voxel spacing, and keeps an undo/redo stack of exact
patches. :func:`save_edits` / :func:`load_edits` store it as NIfTI with the grid's affine
(``brainfuse fuse --edits``), refusing a file saved on another grid.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from brainfuse.errors import BrainFuseError, GeometryMismatchError, UnreadableInputError
from brainfuse.model.image import ImageVolume
from brainfuse.model.planes import plane_layout
from brainfuse.model.results import AUTO, FORCE_CT, FORCE_MRI, edit_counts
from brainfuse.model.results import describe_edits as describe
from brainfuse.model.results import edit_provenance as provenance_fields

__all__ = [
    "AUTO",
    "FORCE_CT",
    "FORCE_MRI",
    "MODES",
    "EditVolume",
    "apply_edits",
    "apply_edits_file",
    "apply_to_result",
    "brush_mask",
    "describe",
    "edit_counts",
    "edited_hard_map",
    "load_edits",
    "outline",
    "provenance_fields",
    "recompose",
    "save_edits",
]

#: Brush mode names (as in the window and the session file) and their label values.
MODES = {"auto": AUTO, "ct": FORCE_CT, "mri": FORCE_MRI}

Box = tuple[slice, slice, slice]


def _mode_value(mode: str | int) -> int:
    if isinstance(mode, str):
        if mode.lower() not in MODES:
            raise BrainFuseError(f"Unknown brush mode '{mode}'; choose auto, ct or mri.")
        return MODES[mode.lower()]
    if int(mode) not in MODES.values():
        raise BrainFuseError(f"Unknown brush mode {mode}; use 0 (auto), 1 (CT) or 2 (MRI).")
    return int(mode)


def brush_mask(
    shape: tuple[int, int, int],
    spacing: tuple[float, float, float],
    center: tuple[float, float, float],
    radius_mm: float,
    *,
    normal: int | None = 0,
) -> tuple[Box, np.ndarray] | None:
    """Voxels whose centres lie within ``radius_mm`` of ``center``.

    Parameters
    ----------
    shape : (Z, Y, X)
        Array shape of the grid.
    spacing : (sx, sy, sz), mm
        Voxel size in :class:`~brainfuse.model.image.ImageVolume` order (x, y, z).
    center : (k, j, i)
        Brush centre as (fractional) voxel indices in array order.
    radius_mm : float
        Brush radius, mm (> 0).
    normal : int or None
        Array axis held fixed for a disk (0 axial, 1 coronal, 2 sagittal for a canonical
        LPS grid): the disk lies on the voxel plane nearest ``center`` along it. ``None``
        paints a ball through neighbouring slices.

    Returns
    -------
    (box, mask) or None
        ``box`` the bounding slices in array order, ``mask`` a bool array of the box's shape;
        ``None`` when no voxel of the grid is inside.
    """
    if not radius_mm > 0:
        raise BrainFuseError(f"The brush radius must be positive; got {radius_mm} mm.")
    step = np.asarray(spacing, dtype=float)[::-1]  # (z, y, x) mm
    c = np.asarray(center, dtype=float)
    lo = np.empty(3, int)
    hi = np.empty(3, int)
    for a in range(3):
        if a == normal:
            lo[a] = int(np.floor(c[a] + 0.5))
            hi[a] = lo[a] + 1
        else:
            reach = radius_mm / step[a]
            lo[a] = int(np.ceil(c[a] - reach - 1e-9))
            hi[a] = int(np.floor(c[a] + reach + 1e-9)) + 1
    lo = np.maximum(lo, 0)
    hi = np.minimum(hi, shape)
    if np.any(hi <= lo):
        return None
    axes = [(np.arange(lo[a], hi[a]) - c[a]) * step[a] for a in range(3)]
    if normal is not None:
        axes[normal] = np.zeros(1)
    dz, dy, dx = np.meshgrid(*axes, indexing="ij", sparse=True)
    mask = dz * dz + dy * dy + dx * dx <= radius_mm * radius_mm * (1 + 1e-9)
    if not mask.any():
        return None
    box = (slice(lo[0], hi[0]), slice(lo[1], hi[1]), slice(lo[2], hi[2]))
    return box, mask


@dataclasses.dataclass(frozen=True)
class _Patch:
    box: Box
    before: np.ndarray
    after: np.ndarray


class EditVolume:
    """Edit labels on a grid, painted with a brush, with undo and redo.

    Parameters
    ----------
    grid : ImageVolume
        The fusion grid (e.g. ``PairResult.fused``); its shape, spacing and affine are used.
    labels : (Z, Y, X) uint8 ndarray, optional
        Start from these labels (copied); default all automatic.
    max_undo : int
        Strokes kept for undo.

    Notes
    -----
    A *stroke* (mouse press to release) groups every dab painted inside
    ``with edits.stroke():`` into one undo step; a dab outside a stroke is a step of its own.
    Undo and redo write back the exact stored values (bit for bit).
    """

    def __init__(
        self, grid: ImageVolume, labels: np.ndarray | None = None, *, max_undo: int = 100
    ) -> None:
        self.grid = grid
        if labels is None:
            self._labels = np.zeros(grid.shape, np.uint8)
        else:
            self._labels = _checked_labels(labels, grid.shape, "the edit labels")
        self.max_undo = int(max_undo)
        self._undo: list[list[_Patch]] = []
        self._redo: list[list[_Patch]] = []
        self._open: list[_Patch] | None = None

    # ------------------------------------------------------------------ state
    @property
    def labels(self) -> np.ndarray:
        """The label array (read-only view; paint through :meth:`paint`)."""
        view = self._labels.view()
        view.flags.writeable = False
        return view

    @property
    def can_undo(self) -> bool:
        """Whether there is a stroke (finished or still open) to undo."""
        return bool(self._undo) or bool(self._open)

    @property
    def can_redo(self) -> bool:
        """Whether there is an undone stroke to redo."""
        return bool(self._redo)

    def counts(self) -> dict[str, int]:
        """Edited voxels per mode: ``{"ct": n, "mri": n}``."""
        return edit_counts(self._labels)

    def describe(self) -> str:
        """One line for provenance (see :func:`describe`)."""
        return describe(self._labels)

    # ------------------------------------------------------------------ painting
    @contextmanager
    def stroke(self) -> Iterator[EditVolume]:
        """Group the dabs painted inside the ``with`` block into one undo step."""
        outer = self._open is None
        if outer:
            self._open = []
        try:
            yield self
        finally:
            if outer:
                patches, self._open = self._open, None
                if patches:
                    self._push(patches)

    def paint_voxel(
        self,
        center: tuple[float, float, float],
        radius_mm: float,
        mode: str | int,
        *,
        plane: str | None = "axial",
    ) -> Box | None:
        """Paint around a voxel position.

        Parameters
        ----------
        center : (k, j, i)
            Brush centre, (fractional) voxel indices in array order.
        radius_mm : float
            Radius, mm.
        mode : {"ct", "mri", "auto"} or {1, 2, 0}
        plane : {"axial", "coronal", "sagittal"} or None
            Paint a disk on this plane's slice through ``center``; ``None`` paints a ball.

        Returns
        -------
        tuple of slice or None
            The box of voxels that changed (array order; recompose the slices
            ``box[0]``), ``None`` when nothing changed.
        """
        value = _mode_value(mode)
        normal = None if plane is None else plane_layout(self.grid, plane).normal
        found = brush_mask(self.grid.shape, self.grid.spacing, center, radius_mm, normal=normal)
        if found is None:
            return None
        box, mask = found
        before = self._labels[box].copy()
        after = np.where(mask, np.uint8(value), before)
        if np.array_equal(before, after):
            return None
        self._labels[box] = after
        patch = _Patch(box, before, after)
        if self._open is not None:
            self._open.append(patch)
        else:
            self._push([patch])
        return box

    def paint(
        self,
        lps_mm: Iterable[float],
        radius_mm: float,
        mode: str | int,
        *,
        plane: str | None = "axial",
    ) -> Box | None:
        """Paint around a point in patient coordinates (LPS, mm), e.g. the mouse position.

        See :meth:`paint_voxel` for the parameters and the return value.
        """
        ijk = np.linalg.solve(self.grid.affine, np.array([*np.asarray(lps_mm, float)[:3], 1.0]))
        return self.paint_voxel(tuple(ijk[2::-1]), radius_mm, mode, plane=plane)

    def clear(self) -> Box | None:
        """Every voxel back to automatic (one undo step)."""
        if not self._labels.any():
            return None
        box = (slice(None), slice(None), slice(None))
        patch = _Patch(box, self._labels.copy(), np.zeros_like(self._labels))
        self._labels[...] = 0
        self._push([patch])
        return box

    def _push(self, patches: list[_Patch]) -> None:
        self._undo.append(patches)
        del self._undo[: -self.max_undo]
        self._redo.clear()

    # ------------------------------------------------------------------ undo / redo
    def undo(self) -> Box | None:
        """Undo the last stroke; returns the box it covered, ``None`` if nothing to undo."""
        if not self._undo:
            return None
        patches = self._undo.pop()
        for p in reversed(patches):
            self._labels[p.box] = p.before
        self._redo.append(patches)
        return _union([p.box for p in patches], self._labels.shape)

    def redo(self) -> Box | None:
        """Redo the last undone stroke; returns its box, ``None`` if nothing to redo."""
        if not self._redo:
            return None
        patches = self._redo.pop()
        for p in patches:
            self._labels[p.box] = p.after
        self._undo.append(patches)
        return _union([p.box for p in patches], self._labels.shape)


def _union(boxes: list[Box], shape: tuple[int, ...]) -> Box:
    lo = [min(b[a].indices(shape[a])[0] for b in boxes) for a in range(3)]
    hi = [max(b[a].indices(shape[a])[1] for b in boxes) for a in range(3)]
    return (slice(lo[0], hi[0]), slice(lo[1], hi[1]), slice(lo[2], hi[2]))


def _checked_labels(labels: Any, shape: tuple[int, ...], what: str) -> np.ndarray:
    arr = np.asarray(labels)
    if arr.shape != tuple(shape):
        raise GeometryMismatchError(
            f"{what} ({'x'.join(map(str, arr.shape))}) are not on the fusion grid "
            f"({'x'.join(map(str, shape))})."
        )
    if arr.dtype.kind not in "uib" or (arr.size and (arr.min() < 0 or arr.max() > 2)):
        raise BrainFuseError(
            f"{what} hold values other than 0 (automatic), 1 (force CT) and 2 (force MRI)."
        )
    return arr.astype(np.uint8, copy=True)


def outline(labels2d: np.ndarray) -> np.ndarray:
    """Return the edge of each edited region of one displayed slice, for drawing over a view.

    Parameters
    ----------
    labels2d : (rows, cols) uint8
        Edit labels of one view (e.g. ``planes.slice_at(grid.with_array(labels), ...).image``).

    Returns
    -------
    (rows, cols) uint8
        The label (1 CT, 2 MRI) on the pixels of a region that touch (4-neighbourhood) a pixel
        with another label or the border of the view; 0 elsewhere.
    """
    lab = np.asarray(labels2d)
    padded = np.pad(lab, 1, mode="constant", constant_values=255)
    centre = padded[1:-1, 1:-1]
    edge = (
        (padded[:-2, 1:-1] != centre)
        | (padded[2:, 1:-1] != centre)
        | (padded[1:-1, :-2] != centre)
        | (padded[1:-1, 2:] != centre)
    )
    return np.where(edge & (lab != AUTO), lab, 0).astype(np.uint8)


# ---------------------------------------------------------------------- applying edits
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
    arr = _checked_labels(arr, result.fused.shape, "The edit labels")
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
    arr = _checked_labels(arr, grid.shape, "The edit labels")
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
    return _checked_labels(vol.array, grid.shape, f"Edit volume '{p.name}'")


def _mm(values: Iterable[float]) -> str:
    return "(" + ", ".join(f"{v:g}" for v in values) + ") mm"
