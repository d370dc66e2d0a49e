"""What each view of a workspace shows: scene geometry, plane indices, layer images (no Qt).

Coordinates
-----------
* Voxel indices follow :class:`~brainfuse.model.image.ImageVolume`: ``array[k, j, i]``.
* *Scene* coordinates are what the viewers draw in: millimetres along the columns and rows of
  the reference grid, ``(i * spacing_x, j * spacing_y)``, so that a pixel has its true aspect.
* The *cursor* is a point in patient coordinates (LPS, mm), shared by every viewer, as in
  3D Slicer's crosshair.

:class:`WorkspaceViews` is the part of :class:`~brainfuse.reading.workspace.Workspace` that
only reads its state (the grid, the plane, the cursor, the fusion and the reader's edits) to
answer a viewer: where a scene point is in the patient, which view of a plane goes through
the cursor, the 2-D array each layer shows there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from brainfuse.model import planes
from brainfuse.model.image import ImageVolume
from brainfuse.model.intensity import is_eight_bit

if TYPE_CHECKING:
    from brainfuse.pipeline import PairFusion
    from brainfuse.reading.tools import EditedSlice

__all__ = ["LAYERS", "WorkspaceViews"]

#: The four panels, in display order.
LAYERS = ("mri", "ct", "map", "fused")


class WorkspaceViews:
    """Mixin of :class:`~brainfuse.reading.workspace.Workspace`: the views' read-only answers."""

    ct: ImageVolume | None
    ct_grid: ImageVolume | None
    mri_grid: ImageVolume | None
    plane: str
    cursor_mm: np.ndarray
    slice_index: int
    soft_map: bool
    fusion: PairFusion | None

    @property
    def has_grid(self) -> bool:
        """True when the pair has been put on one grid."""
        return self.ct_grid is not None and self.mri_grid is not None

    def _require_grid(self) -> ImageVolume:
        if self.mri_grid is None:
            raise RuntimeError("no common grid yet: load and align a CT and an MRI first")
        return self.mri_grid

    def is_fused(self, k: int | None = None) -> bool:
        """Tell whether slice ``k`` (default: all slices) has been fused."""
        if self.fusion is None:
            return False
        done = self.fusion.done
        return bool(done.all() if k is None else done[k])

    if TYPE_CHECKING:  # provided by ReaderTools, the Workspace's other part

        def edited_slice(self, k: int) -> EditedSlice | None:
            """Return slice ``k`` with the reader's edits applied (None without edits)."""

        def edited_volume(self, array: np.ndarray, kind: str) -> np.ndarray:
            """Return a whole fused layer with the reader's edits applied."""

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(z, y, x)`` of the common grid, ``(0, 0, 0)`` before alignment."""
        return self.mri_grid.shape if self.mri_grid is not None else (0, 0, 0)

    @property
    def n_slices(self) -> int:
        """Slices of the common grid (0 before alignment)."""
        return self.shape[0]

    @property
    def ct_in_hu(self) -> bool:
        """True when the CT on the grid is in Hounsfield units (HU presets apply)."""
        ct = self.ct_grid if self.ct_grid is not None else self.ct
        return ct is not None and not is_eight_bit(ct)

    def index_to_mm(self, ijk: tuple[float, float, float]) -> np.ndarray:
        """LPS position (mm) of the voxel index ``(i, j, k)`` (column, row, slice)."""
        ref = self._require_grid()
        return (ref.affine @ np.array([*ijk, 1.0]))[:3]

    def mm_to_index(self, mm: np.ndarray | tuple[float, float, float]) -> np.ndarray:
        """Voxel index ``(i, j, k)`` (float) of an LPS position in mm."""
        ref = self._require_grid()
        return (np.linalg.inv(ref.affine) @ np.array([*np.asarray(mm, float), 1.0]))[:3]

    def _plane(self, plane: str | None) -> str:
        return self.plane if plane is None else plane

    def scene_rect(self, plane: str | None = None) -> tuple[float, float, float, float]:
        """``(x0, y0, width, height)`` in scene mm covering a view's pixels edge to edge.

        Scene coordinates of a view of ``plane`` (default: :attr:`plane`) are millimetres
        along its displayed columns and rows (:func:`brainfuse.model.planes.slice_at`), so a pixel
        keeps its true aspect.
        """
        ref = self._require_grid()
        plane = self._plane(plane)
        _, rows, cols = planes.plane_shape(ref, plane)
        rs, cs = planes.slice_at(ref, plane, 0).pixel_spacing
        return (-0.5 * cs, -0.5 * rs, cols * cs, rows * rs)

    def _pixel_spacing(self, plane: str) -> tuple[float, float]:
        return planes.slice_at(self._require_grid(), plane, 0).pixel_spacing

    def scene_to_mm(self, sx_mm: float, sy_mm: float, plane: str | None = None) -> np.ndarray:
        """LPS mm of a scene point on the view of ``plane`` through the cursor."""
        ref = self._require_grid()
        plane = self._plane(plane)
        rs, cs = self._pixel_spacing(plane)
        return planes.plane_to_lps(ref, plane, self.plane_index(plane), sy_mm / rs, sx_mm / cs)

    def mm_to_scene(self, mm: np.ndarray, plane: str | None = None) -> tuple[float, float]:
        """Scene point ``(x, y)`` (mm) where an LPS position projects on a view of ``plane``."""
        ref = self._require_grid()
        plane = self._plane(plane)
        rs, cs = self._pixel_spacing(plane)
        _, row, col = planes.lps_to_plane(ref, plane, mm)
        return (float(col * cs), float(row * rs))

    def screen_labels(self, plane: str | None = None) -> dict[str, str]:
        """Orientation letters at the screen's ``left/right/top/bottom`` of a view.

        Radiological display (:mod:`brainfuse.model.planes`): the patient's right on the screen's
        left, anterior (axial) or superior (coronal, sagittal) at the top, whatever the
        grid's voxel order.
        """
        return planes.plane_layout(self._require_grid(), self._plane(plane)).letters

    def plane_count(self, plane: str | None = None) -> int:
        """Count the views of ``plane`` (0 before alignment)."""
        if not self.has_grid:
            return 0
        return planes.plane_shape(self._require_grid(), self._plane(plane))[0]

    def plane_index(self, plane: str | None = None) -> int:
        """Index of the view of ``plane`` through the cursor (its voxel along the normal)."""
        plane = self._plane(plane)
        index, _, _ = planes.lps_to_plane(self._require_grid(), plane, self.cursor_mm)
        return int(np.clip(np.floor(index + 0.5), 0, self.plane_count(plane) - 1))

    def plane_position_mm(self, plane: str | None = None, index: int | None = None) -> float:
        """Position (mm, LPS coordinate along the plane's normal) of a view of ``plane``."""
        ref = self._require_grid()
        plane = self._plane(plane)
        index = self.plane_index(plane) if index is None else index
        normal = {"axial": 2, "coronal": 1, "sagittal": 0}[plane]
        return float(planes.plane_to_lps(ref, plane, index, 0, 0)[normal])

    def layer_volume(self, layer: str) -> ImageVolume | None:
        """Return ``layer`` as a volume on the grid.

        Fused layers are ``None`` until a slice is fused; slices not fused are zero.
        """
        grid = self.mri_grid
        if not self.has_grid or grid is None:
            return None
        if layer == "mri":
            return grid
        if layer == "ct":
            return self.ct_grid
        if self.fusion is None or not self.fusion.done.any():
            return None
        if layer == "fused":  # with the reader's edits (the automatic maps stay apart)
            array = self.edited_volume(self.fusion.fused, "fused")
        elif self.soft_map:
            array = self.edited_volume(self.fusion.soft_map, "soft")
        else:
            array = self.edited_volume(self.fusion.decision_map, "hard")
        return grid.with_array(array, is_rgb=array.ndim == 4)

    def plane_image(self, layer: str, plane: str | None = None) -> np.ndarray | None:
        """Return the 2-D array a viewer of ``plane`` shows for ``layer`` through the cursor.

        Every view comes from :func:`brainfuse.model.planes.slice_at` (radiological display, no
        interpolation); a view across the fused slices shows zeros where a slice is not
        fused, a view along them is ``None`` until its slice is fused.
        """
        plane = self._plane(plane)
        volume = self.layer_volume(layer)
        if volume is None:
            return None
        index = self.plane_index(plane)
        along = planes.plane_layout(volume, plane).normal == 0
        if layer in ("map", "fused") and along and not self.is_fused(index):
            return None
        return planes.slice_at(volume, plane, index).image

    def value_at(self, layer: str, mm: np.ndarray | None = None) -> float | None:
        """Voxel value of ``layer`` at an LPS point (nearest voxel), ``None`` outside/not ready.

        CT values are in HU, MRI in the scanner's units, ``map`` and ``fused`` in [0, 1].
        """
        if not self.has_grid:
            return None
        i, j, k = np.rint(self.mm_to_index(self.cursor_mm if mm is None else mm)).astype(int)
        z, y, x = self.shape
        if not (0 <= i < x and 0 <= j < y and 0 <= k < z):
            return None
        image = self.slice_image(layer, int(k))
        return None if image is None else float(np.mean(image[j, i]))  # colour: mean of RGB

    def units(self, layer: str) -> str:
        """Units of ``layer``'s values for readouts (``HU`` for CT)."""
        if layer == "ct" and self.ct_grid is not None:
            return self.ct_grid.units
        if layer == "mri" and self.mri_grid is not None:
            return self.mri_grid.units
        return ""

    def unit_slice(self, role: str, k: int | None = None) -> np.ndarray | None:
        """Slice ``k`` of a source (``"ct"`` or ``"mri"``) as fused, in [0, 1]; None before."""
        if self.fusion is None:
            return None
        k = self.slice_index if k is None else int(k)
        p = self.fusion.prepared
        return (p.ct01 if role == "ct" else p.mri01)[k]

    def slice_image(self, layer: str, k: int | None = None) -> np.ndarray | None:
        """Return the 2-D array a viewer shows for ``layer`` at slice ``k`` (default: current).

        ``mri`` and ``ct`` are the resampled sources in their own units, ``map`` the hard
        (uint8) or soft (float32) decision map, ``fused`` float32 in [0, 1] (``(Y, X, 3)``
        for a colour image 1); ``None`` when the layer is not available yet.
        """
        if layer not in LAYERS:
            raise KeyError(f"unknown layer {layer!r}; use one of {LAYERS}")
        ct, mri, fusion = self.ct_grid, self.mri_grid, self.fusion
        if ct is None or mri is None:
            return None
        k = self.slice_index if k is None else int(k)
        if layer == "mri":
            return mri.array[k]
        if layer == "ct":
            return ct.array[k]
        if fusion is None or not self.is_fused(k):
            return None
        edited = self.edited_slice(k)  # the reader's edits, the automatic maps kept apart
        if edited is not None:
            return (
                edited.fused if layer == "fused" else edited.soft if self.soft_map else edited.hard
            )
        if layer == "fused":
            return fusion.fused[k]
        return fusion.soft_map[k] if self.soft_map else fusion.decision_map[k]
