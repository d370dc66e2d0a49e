"""The reader's tools in the workspace: decision-map edits and measurements (Qt-free).

A mixin of :class:`brainfuse.reading.workspace.Workspace`. Edits live here as a label volume on the
fusion grid (:class:`brainfuse.reading.edits.EditVolume`: 0 automatic, 1 CT, 2 MRI); the fusion keeps
the automatic maps untouched and :meth:`ReaderTools.edited_slice` recomposes an edited slice
from them without the encoder (:func:`brainfuse.reading.edit_apply.recompose`, the engine's blend), so the
two stay apart. Measurements are :mod:`brainfuse.reading.measure` rulers and regions.

Signals: ``edits_changed(box)`` (the changed voxel box, ``None`` for all), ``brush_changed()``,
``measurements_changed()``, ``unsaved_changed(bool)``.

:attr:`ReaderTools.unsaved` is True from the first change of the edits or the measurements
until :meth:`ReaderTools.mark_saved` (a session saved, or restored: the caller says so); a
new grid starts clean. Quitting or opening another pair while it is True must ask first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from psygnal import Signal

from brainfuse.model.image import ImageVolume
from brainfuse.model.planes import slice_at
from brainfuse.reading.edit_apply import apply_edits, apply_to_result, edited_hard_map, recompose
from brainfuse.reading.edits import MODES, EditVolume, outline
from brainfuse.reading.measure import Region, Ruler

if TYPE_CHECKING:  # the fusion is the Workspace's, this mixin only reads it
    from brainfuse.pipeline import PairFusion

__all__ = ["EditedSlice", "ReaderTools"]

Box = tuple[slice, slice, slice]


@dataclass(frozen=True)
class EditedSlice:
    """One axial slice with the edits applied: fused image, soft weight and hard map."""

    fused: np.ndarray
    soft: np.ndarray
    hard: np.ndarray


class ReaderTools:
    """Mixin: brush state, edit volume with undo/redo, measurements (see module docstring)."""

    edits_changed = Signal(object)
    brush_changed = Signal()
    measurements_changed = Signal()
    unsaved_changed = Signal(bool)

    def _init_tools(self) -> None:
        self.unsaved = False  # edits or measurements changed since the last save
        self.edits: EditVolume | None = None
        self.brush_mode = "ct"  # "ct", "mri" or "auto" (back to automatic)
        self.brush_radius_mm = 10.0
        self.brush_ball = False  # a ball through neighbouring slices, not a disk
        self.measurements: list[Ruler | Region] = []
        self._edited: dict[int, EditedSlice] = {}  # cache for the fusion below
        self._edited_for: object = None
        self._edits_version = 0  # bumped at every change of the labels
        self._has_edits: tuple[object, bool] = (None, False)  # ((edits, version), any label)
        self._volumes: dict[str, tuple[tuple, np.ndarray]] = {}  # edited volumes, by layer
        self._stroke: Any = None

    def _reset_tools(self, grid: ImageVolume | None) -> None:
        """Start over on a new grid (or none): no edit, no measurement."""
        self.edits = None if grid is None else EditVolume(grid)
        self._volumes.clear()
        self.measurements = []
        self._edits_touched(None)
        self.measurements_changed.emit()
        self._set_unsaved(False)

    # ------------------------------------------------------------------ unsaved work
    def _set_unsaved(self, value: bool) -> None:
        if self.unsaved != value:
            self.unsaved = value
            self.unsaved_changed.emit(value)

    def mark_saved(self) -> None:
        """Record that the edits and measurements are saved (or were just restored)."""
        self._set_unsaved(False)

    # ------------------------------------------------------------------ brush
    def set_brush(
        self, *, mode: str | None = None, radius_mm: float | None = None, ball: bool | None = None
    ) -> None:
        """Brush mode (``ct``, ``mri``, ``auto``), radius (mm, > 0) and disk/ball.

        Raises
        ------
        ValueError
            For an unknown mode or a radius not above 0.
        """
        if mode is not None:
            if mode not in MODES:
                raise ValueError(f"unknown brush mode {mode!r}; use one of {sorted(MODES)}")
            self.brush_mode = mode
        if radius_mm is not None:
            if not radius_mm > 0:
                raise ValueError(f"brush radius must be above 0 mm, not {radius_mm}")
            self.brush_radius_mm = float(radius_mm)
        if ball is not None:
            self.brush_ball = bool(ball)
        self.brush_changed.emit()

    @property
    def view_plane(self) -> str:
        """The plane the viewers show (``axial`` unless the workspace says otherwise)."""
        return str(getattr(self, "plane", "axial"))

    def begin_stroke(self) -> None:
        """Mouse press: the dabs until :meth:`end_stroke` are one undo step."""
        if self.edits is not None and self._stroke is None:
            self._stroke = self.edits.stroke()
            self._stroke.__enter__()

    def end_stroke(self) -> None:
        """Mouse release: close the stroke opened by :meth:`begin_stroke`."""
        if self._stroke is not None:
            stroke, self._stroke = self._stroke, None
            stroke.__exit__(None, None, None)
            self.edits_changed.emit(None)  # undo/redo availability changed

    def paint(self, lps_mm: Iterable[float], plane: str | None = None) -> Box | None:
        """One dab of the brush at an LPS point (mm); returns the changed box (or ``None``).

        A disk on the view of ``plane`` (default: the panels' plane) or, with
        :attr:`brush_ball`, a ball through neighbouring slices.
        """
        if self.edits is None:
            return None
        plane = None if self.brush_ball else (plane or self.view_plane)
        box = self.edits.paint(lps_mm, self.brush_radius_mm, self.brush_mode, plane=plane)
        if box is not None:
            self._edits_touched(box)
        return box

    def paint_slice_mask(self, mask: np.ndarray, mode: str, k: int) -> Box | None:
        """Paint a boolean mask on axial slice ``k`` of the grid in ``mode``, as one stroke.

        Raises
        ------
        ValueError
            ``mask`` is not the shape of a slice of the grid.
        """
        if self.edits is None:
            return None
        shape = self.edits.grid.shape[1:]
        if np.shape(mask) != shape:
            raise ValueError(f"the mask is {np.shape(mask)}, the slice on screen {shape}")
        box = (slice(k, k + 1), slice(None), slice(None))
        with self.edits.stroke():
            changed = self.edits.paint_box(box, np.asarray(mask, bool)[None], mode)
        self.edits_changed.emit(None)  # undo availability
        return self._edits_touched(changed)

    def undo(self) -> Box | None:
        """Undo the last stroke (Ctrl+Z); returns its box."""
        return self._edits_touched(None if self.edits is None else self.edits.undo())

    def redo(self) -> Box | None:
        """Redo the last undone stroke (Ctrl+Shift+Z); returns its box."""
        return self._edits_touched(None if self.edits is None else self.edits.redo())

    def clear_edits(self) -> Box | None:
        """Every voxel back to automatic (one undo step)."""
        return self._edits_touched(None if self.edits is None else self.edits.clear())

    def set_edit_labels(self, labels: np.ndarray) -> None:
        """Replace the edits by a label volume on the grid (loaded edits, a session).

        Raises
        ------
        RuntimeError
            No grid yet.
        GeometryMismatchError
            ``labels`` is not on the grid.
        """
        grid = self._require_grid()  # type: ignore[attr-defined]
        self.edits = EditVolume(grid, labels)
        self._edits_touched((slice(None), slice(None), slice(None)))

    @property
    def has_edits(self) -> bool:
        """True when any voxel is forced to a source.

        Kept per edit volume and change (a scan of a 512 x 512 x 300 label volume is
        milliseconds, and the window asks on every redraw).
        """
        if self.edits is None:
            return False
        key = (self.edits, self._edits_version)
        if self._has_edits[0] != key:
            self._has_edits = (key, bool(self.edits.labels.any()))
        return self._has_edits[1]

    def _edits_touched(self, box: Box | None) -> Box | None:
        if box is not None or self.edits is None:
            self._edited.clear()
            self._edits_version += 1
        if box is not None:
            self._set_unsaved(True)
        self.edits_changed.emit(box)
        return box

    # ------------------------------------------------------------------ edited images
    def edited_slice(self, k: int) -> EditedSlice | None:
        """Axial slice ``k`` with the edits applied; ``None`` when it has no edit or is not fused.

        The automatic soft map, hard map and fused image of the fusion stay untouched.
        """
        fusion: PairFusion | None = getattr(self, "fusion", None)  # the Workspace's
        if self.edits is None or fusion is None or not fusion.done[k]:
            return None
        labels = self.edits.labels[k]
        if not labels.any():
            return None
        if self._edited_for is not fusion:  # a new fusion: nothing cached applies
            self._edited.clear()
            self._edited_for = fusion
        if k in self._edited:
            return self._edited[k]
        soft = apply_edits(fusion.soft_map[k], labels)
        p = fusion.prepared
        edited = EditedSlice(
            recompose(soft, p.ct01[k], p.mri01[k]),
            soft,
            edited_hard_map(fusion.decision_map[k], labels),
        )
        self._edited[k] = edited
        return edited

    def edit_outline(self, plane: str, index: int) -> np.ndarray | None:
        """Return the edges of the edited regions on view ``index`` of ``plane`` (1 CT, 2 MRI).

        As the view is displayed (:func:`brainfuse.model.planes.slice_at`); ``None`` when it has
        none.
        """
        if self.edits is None:
            return None
        labels = slice_at(self.edits.grid.with_array(self.edits.labels), plane, index).image
        return outline(labels) if labels.any() else None

    def edited_volume(self, array: np.ndarray, kind: str) -> np.ndarray:
        """Apply the edits to the fusion's ``fused``, ``soft`` or ``hard`` volume.

        ``array`` itself when there is no edit; otherwise a copy (kept until the edits or
        the fused slices change) whose edited slices come from :meth:`edited_slice`.
        """
        fusion: PairFusion | None = getattr(self, "fusion", None)
        if self.edits is None or not self.has_edits or fusion is None:
            return array
        key = (id(fusion), int(fusion.done.sum()), self._edits_version)
        cached = self._volumes.get(kind)
        if cached is not None and cached[0] == key:
            return cached[1]
        out = array.copy()
        for k in np.flatnonzero(self.edits.labels.any(axis=(1, 2))):
            edited = self.edited_slice(int(k))
            if edited is not None:
                out[k] = getattr(edited, kind)
        self._volumes[kind] = (key, out)
        return out

    def edited_result(self, result: Any) -> Any:
        """Apply the edits to ``result`` (a :class:`~brainfuse.model.results.PairResult`)."""
        if self.edits is None or not self.has_edits:
            return result
        return apply_to_result(result, self.edits)

    # ------------------------------------------------------------------ measurements
    def measurement_sources(self) -> dict[str, ImageVolume]:
        """Return the sources on the grid by role, as regions measure them (HU for CT)."""
        ct, mri = getattr(self, "ct_grid", None), getattr(self, "mri_grid", None)
        return {r: v for r, v in (("ct", ct), ("mri", mri)) if v is not None}

    def add_measurement(self, item: Ruler | Region) -> None:
        """Keep a ruler or a region (drawn, listed in the table, saved with the session)."""
        self.measurements.append(item)
        self.measurements_changed.emit()
        self._set_unsaved(True)

    def set_measurements(self, items: Iterable[Ruler | Region]) -> None:
        """Replace every measurement (``[]`` clears them; a restore then calls :meth:`mark_saved`)."""
        self.measurements = list(items)
        self.measurements_changed.emit()
        self._set_unsaved(True)
