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
patches. Applying the labels to maps and results, and their files, are in
:mod:`brainfuse.reading.edit_apply`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from brainfuse.errors import BrainFuseError, GeometryMismatchError
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
    "brush_mask",
    "checked_labels",
    "describe",
    "edit_counts",
    "outline",
    "provenance_fields",
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
            self._labels = checked_labels(labels, grid.shape, "the edit labels")
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
        return self.paint_box(box, mask, value)

    def paint_box(self, box: Box, mask: np.ndarray, mode: str | int) -> Box | None:
        """Set the voxels of ``mask`` (boolean, the shape of ``box``) to ``mode``.

        One brush dab of any shape, e.g. a mask drawn on the slice on screen; it joins the
        open stroke (one undo step). Returns ``box``, or ``None`` when nothing changed.
        """
        value = _mode_value(mode)
        before = self._labels[box].copy()
        after = np.where(np.asarray(mask, bool), np.uint8(value), before)
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


def checked_labels(labels: Any, shape: tuple[int, ...], what: str) -> np.ndarray:
    """Return ``labels`` as a uint8 copy after checking their shape and values (0, 1, 2).

    Raises
    ------
    GeometryMismatchError
        Not of ``shape`` (the fusion grid); ``what`` names them in the message.
    BrainFuseError
        Values other than 0 (automatic), 1 (force CT) and 2 (force MRI).
    """
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
