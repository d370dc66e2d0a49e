"""Qt-free state of one BrainFuse session: sources, common grid, slice, mm cursor, windows, result.

The window (:mod:`brainfuse.gui`) is a projection of a :class:`Workspace`: it draws what the
workspace holds and turns user actions into calls on it; it never keeps state of its own. The
workspace holds no Qt object, so everything here is testable without a display (the model-view
split of napari's ``ViewerModel`` and ndv's models, see ``../shared/reference/style.md``).

Coordinates
-----------
* Voxel indices follow :class:`~brainfuse.image.ImageVolume`: ``array[k, j, i]``.
* *Scene* coordinates are what the viewers draw in: millimetres along the columns and rows of
  the reference grid, ``(i * spacing_x, j * spacing_y)``, so that a pixel has its true aspect.
* The *cursor* is a point in patient coordinates (LPS, mm), shared by every viewer, as in
  3D Slicer's crosshair.

References
----------
.. [1] N. Sofroniew et al., napari: a multi-dimensional image viewer for Python,
   doi:10.5281/zenodo.3555620 (model-view split followed here).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from psygnal import Signal

from brainfuse.image import ImageVolume
from brainfuse.intensity import CT_PRESETS, Window, WindowSpec, default_window, is_eight_bit
from brainfuse.overlay import COLORMAPS, DEFAULT_COLORMAP
from brainfuse.workspace_tools import ReaderTools

if TYPE_CHECKING:  # the workspace holds an alignment and a fusion; it never runs them
    from brainfuse.grid import AlignedPair
    from brainfuse.pipeline import PairFusion

__all__ = ["CT_PRESETS", "LAYERS", "REGISTER_MODES", "Window", "Workspace"]

#: How a pair can be put on one grid (``brainfuse.grid.align_pair``'s ``register``).
REGISTER_MODES = ("auto", "geometry", "rigid", "none")

#: The four panels, in display order.
LAYERS = ("mri", "ct", "map", "fused")


class Workspace(ReaderTools):
    """Everything one session shows: the pair, the common grid, slice, cursor, windows, result.

    The evented model of the window (psygnal signals; a view connects to them and never
    keeps state of its own). Signals: ``sources_changed()``, ``grid_changed()``,
    ``slice_changed(k)``, ``cursor_changed(mm)``, ``windows_changed()``,
    ``fusion_changed(k)`` (``k`` is ``None`` for the whole volume), ``overlay_changed()``.
    Every field is written through a method that emits the matching signal. The reader's
    edits and measurements (and their signals) come from
    :class:`~brainfuse.workspace_tools.ReaderTools`.
    """

    sources_changed = Signal()
    grid_changed = Signal()
    slice_changed = Signal(int)
    cursor_changed = Signal(object)
    windows_changed = Signal()
    fusion_changed = Signal(object)
    overlay_changed = Signal()

    def __init__(self) -> None:
        self.ct: ImageVolume | None = None
        self.mri: ImageVolume | None = None
        self.is_demo = False
        self.ct_grid: ImageVolume | None = None
        self.mri_grid: ImageVolume | None = None
        self.register_mode = "auto"  # asked for (as brainfuse fuse --register)
        self.alignment: AlignedPair | None = None  # the pair on its grid, as aligned
        self.slice_index = 0
        self.cursor_mm = np.zeros(3)
        self.ct_window: Window = CT_PRESETS["brain"]
        self.ct_preset: str | None = "brain"
        self.mr_window: Window | None = None  # None = the source's default (auto)
        self._mr_auto: Window | None = None
        self.overlay_visible = True
        self.overlay_opacity = 0.4
        self.overlay_colormap = DEFAULT_COLORMAP
        self.soft_map = False
        self.fusion: PairFusion | None = None
        self.slice_ms: float | None = None
        self._init_tools()

    # ------------------------------------------------------------------ sources and grid
    def set_sources(
        self,
        ct: ImageVolume | None = None,
        mri: ImageVolume | None = None,
        *,
        demo: bool = False,
    ) -> None:
        """Replace the CT and/or the MRI as loaded; the common grid is dropped until re-aligned."""
        if ct is not None:
            self.ct = ct
            if ct.window and ct.modality == "CT" and self.ct_preset is None:
                self.ct_window = Window(*ct.window, kind="manual", units=ct.units)
        if mri is not None:
            self.mri = mri
        self.is_demo = demo
        self.ct_grid = self.mri_grid = None
        self.alignment = None
        self.fusion = None
        self._reset_tools(None)
        self.sources_changed.emit()

    @property
    def has_pair(self) -> bool:
        """True when both sources are loaded."""
        return self.ct is not None and self.mri is not None

    @property
    def has_grid(self) -> bool:
        """True when the pair has been put on one grid."""
        return self.ct_grid is not None and self.mri_grid is not None

    def set_grid(
        self,
        ct: ImageVolume,
        mri: ImageVolume,
        *,
        mr_auto: Window | None = None,
        alignment: AlignedPair | None = None,
    ) -> None:
        """Store the pair resampled on one grid; the slice and cursor go to the volume centre.

        ``alignment`` is the :class:`~brainfuse.grid.AlignedPair` the grid came from (what a
        fusion starts from; its ``mode`` is :attr:`registration`). ``mr_auto`` is the MRI's
        default window (:func:`brainfuse.intensity.default_window`)
        if already computed (a worker can do it: on a large volume it takes a noticeable
        fraction of a second). An 8-bit CT gets the 8-bit window (never a HU preset).

        Raises
        ------
        ValueError
            If the two volumes do not have the same shape.
        """
        if ct.shape != mri.shape:
            raise ValueError(f"aligned CT {ct.shape} and MRI {mri.shape} differ in shape")
        self.ct_grid, self.mri_grid = ct, mri
        self.alignment = alignment
        self._mr_auto = mr_auto or default_window(mri)
        if not self.ct_in_hu:
            self.ct_preset, self.ct_window = None, default_window(ct)
        elif self.ct_window.kind == "8-bit":
            self.ct_preset, self.ct_window = "brain", CT_PRESETS["brain"]
        self.fusion = None
        z, y, x = mri.shape
        self.slice_index = z // 2
        self.cursor_mm = self.index_to_mm(((x - 1) / 2.0, (y - 1) / 2.0, z // 2))
        self._reset_tools(mri)
        self.grid_changed.emit()
        self.slice_changed.emit(self.slice_index)
        self.cursor_changed.emit(self.cursor_mm)
        self.windows_changed.emit()

    def set_register_mode(self, mode: str) -> None:
        """How the next alignment puts the pair on one grid: ``auto``, ``geometry``, ``rigid``
        or ``none`` (as ``brainfuse fuse --register``).

        Raises
        ------
        ValueError
            For another mode.
        """
        if mode not in REGISTER_MODES:
            raise ValueError(f"unknown alignment {mode!r}; use one of {REGISTER_MODES}")
        self.register_mode = mode

    @property
    def registration(self) -> str:
        """What the alignment did: ``geometry``, ``rigid`` or ``none``."""
        return "none" if self.alignment is None else self.alignment.mode

    @property
    def ct_in_hu(self) -> bool:
        """True when the CT on the grid is in Hounsfield units (HU presets apply)."""
        ct = self.ct_grid if self.ct_grid is not None else self.ct
        return ct is not None and not is_eight_bit(ct)

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(z, y, x)`` of the common grid, ``(0, 0, 0)`` before alignment."""
        return self.mri_grid.shape if self.mri_grid is not None else (0, 0, 0)

    @property
    def n_slices(self) -> int:
        """Slices of the common grid (0 before alignment)."""
        return self.shape[0]

    # ------------------------------------------------------------------ geometry
    def index_to_mm(self, ijk: tuple[float, float, float]) -> np.ndarray:
        """LPS position (mm) of the voxel index ``(i, j, k)`` (column, row, slice)."""
        ref = self._require_grid()
        return (ref.affine @ np.array([*ijk, 1.0]))[:3]

    def mm_to_index(self, mm: np.ndarray | tuple[float, float, float]) -> np.ndarray:
        """Voxel index ``(i, j, k)`` (float) of an LPS position in mm."""
        ref = self._require_grid()
        return (np.linalg.inv(ref.affine) @ np.array([*np.asarray(mm, float), 1.0]))[:3]

    def scene_rect(self) -> tuple[float, float, float, float]:
        """``(x0, y0, width, height)`` in scene mm covering the slice's pixels edge to edge."""
        ref = self._require_grid()
        sx, sy, _ = ref.spacing
        _, ny, nx = ref.shape
        return (-0.5 * sx, -0.5 * sy, nx * sx, ny * sy)

    def scene_to_mm(self, sx_mm: float, sy_mm: float) -> np.ndarray:
        """LPS mm of a scene point on the current slice."""
        ref = self._require_grid()
        return self.index_to_mm((sx_mm / ref.spacing[0], sy_mm / ref.spacing[1], self.slice_index))

    def mm_to_scene(self, mm: np.ndarray) -> tuple[float, float]:
        """Scene point ``(x, y)`` (mm) where an LPS position projects on the slice plane."""
        ref = self._require_grid()
        i, j, _ = self.mm_to_index(mm)
        return (float(i * ref.spacing[0]), float(j * ref.spacing[1]))

    def screen_labels(self) -> dict[str, str]:
        """Orientation letters at the screen's ``left/right/top/bottom`` in radiological display.

        The viewer puts row 0 at the top and flips columns when needed so that the patient's
        right is on the screen's left (radiological convention, as in Horos and 3D Slicer).
        """
        code = self._require_grid().orientation  # letters the +i, +j index axes point to
        opposite = {"L": "R", "R": "L", "A": "P", "P": "A", "S": "I", "I": "S"}
        flip = self.flip_columns()
        right_letter = opposite[code[0]] if flip else code[0]
        return {
            "left": opposite[right_letter],
            "right": right_letter,
            "top": opposite[code[1]],
            "bottom": code[1],
        }

    def flip_columns(self) -> bool:
        """True when the columns must be mirrored to show the patient's right on the left."""
        return self._require_grid().orientation[0] == "R"

    # ------------------------------------------------------------------ slice and cursor
    def set_slice(self, k: int) -> None:
        """Show slice ``k`` (clamped to the volume); the cursor moves with it."""
        if not self.has_grid:
            return
        k = int(np.clip(k, 0, self.n_slices - 1))
        if k == self.slice_index:
            return
        self.slice_index = k
        i, j, _ = self.mm_to_index(self.cursor_mm)
        self.cursor_mm = self.index_to_mm((i, j, k))
        self.slice_changed.emit(k)
        self.cursor_changed.emit(self.cursor_mm)

    def set_cursor_mm(self, mm: np.ndarray | tuple[float, float, float]) -> None:
        """Move the crosshair to an LPS point (mm); the slice follows the point."""
        if not self.has_grid:
            return
        self.cursor_mm = np.asarray(mm, dtype=float)
        k = int(np.clip(round(float(self.mm_to_index(self.cursor_mm)[2])), 0, self.n_slices - 1))
        if k != self.slice_index:
            self.slice_index = k
            self.slice_changed.emit(k)
        self.cursor_changed.emit(self.cursor_mm)

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

    # ------------------------------------------------------------------ windows
    @property
    def mr_display_window(self) -> Window:
        """The MR window in use: the user's, or the automatic one."""
        return self.mr_window or self._mr_auto or Window(0.5, 1.0)

    def set_ct_window(self, window: Window | str) -> None:
        """Set the CT window: a preset name from :data:`CT_PRESETS` or a :class:`Window`.

        Raises
        ------
        KeyError
            For an unknown preset name.
        ValueError
            For a preset on a CT without Hounsfield units (an 8-bit picture).
        """
        if isinstance(window, str):
            if window not in CT_PRESETS:
                raise KeyError(f"unknown CT window preset {window!r}; use {sorted(CT_PRESETS)}")
            if self.ct_grid is not None and not self.ct_in_hu:
                raise ValueError(f"the CT has no Hounsfield units: preset {window!r} does not apply")
            self.ct_preset, self.ct_window = window, CT_PRESETS[window]
        else:
            self.ct_preset, self.ct_window = None, window
        self.windows_changed.emit()

    def set_mr_window(self, window: Window | None) -> None:
        """Set the MR window; ``None`` returns to the automatic window."""
        self.mr_window = window
        self.windows_changed.emit()

    def reset_windows(self) -> None:
        """The sources' defaults: brain window for CT in HU (8-bit as is), automatic MR."""
        if self.ct_grid is not None and not self.ct_in_hu:
            self.ct_preset, self.ct_window = None, default_window(self.ct_grid)
        else:
            self.ct_preset, self.ct_window = "brain", CT_PRESETS["brain"]
        self.mr_window = None
        self.windows_changed.emit()

    def fusion_windows(self) -> tuple[WindowSpec, WindowSpec]:
        """``(ct_window, mr_window)`` to fuse with (:func:`brainfuse.pipeline.prepare`).

        ``None`` where the source's default is in use (8-bit as is, MR automatic), the
        preset's name, or the window on screen.
        """
        if self.ct_window.kind == "8-bit":
            ct: WindowSpec = None
        elif self.ct_preset is not None:
            ct = self.ct_preset
        else:
            ct = (self.ct_window.center, self.ct_window.width)
        mr = None if self.mr_window is None else (self.mr_window.center, self.mr_window.width)
        return ct, mr

    def windows_changed_since_fusion(self) -> bool:
        """True when the windows on screen are not those the fused images were made with."""
        if self.fusion is None:
            return False
        used = self.fusion.prepared.windows
        ct = (self.ct_window.center, self.ct_window.width)
        if ct != (used["ct"].center, used["ct"].width):
            return True
        if self.mr_window is None:
            return used["mri"].kind == "manual"
        return (self.mr_window.center, self.mr_window.width) != (
            used["mri"].center,
            used["mri"].width,
        )

    # ------------------------------------------------------------------ fusion result
    def start_fusion(self, fusion: PairFusion) -> None:
        """A new fusion of the pair on the grid begins (no slice done yet)."""
        if fusion.prepared.mri01.shape != self.shape:
            raise ValueError(f"fusion of {fusion.prepared.mri01.shape} != grid {self.shape}")
        self.fusion = fusion
        self.fusion_changed.emit(None)

    def invalidate_fusion(self) -> None:
        """Forget every fused slice; the views show "not fused yet"."""
        self.fusion = None
        self.fusion_changed.emit(None)

    def slice_fused(self, k: int, ms: float | None = None) -> None:
        """Slice ``k`` of the current fusion is done (``ms``: its wall time)."""
        self.slice_ms = ms
        self.fusion_changed.emit(k)

    def is_fused(self, k: int | None = None) -> bool:
        """True when slice ``k`` (default: all slices) has been fused."""
        if self.fusion is None:
            return False
        done = self.fusion.done
        return bool(done.all() if k is None else done[k])

    @property
    def device(self) -> str:
        """The fusion's device in words (``""`` before a fusion)."""
        return "" if self.fusion is None else self.fusion.fuser.device

    def unit_slice(self, role: str, k: int | None = None) -> np.ndarray | None:
        """Slice ``k`` of a source (``"ct"`` or ``"mri"``) as fused, in [0, 1]; None before."""
        if self.fusion is None:
            return None
        k = self.slice_index if k is None else int(k)
        p = self.fusion.prepared
        return (p.ct01 if role == "ct" else p.mri01)[k]

    def slice_image(self, layer: str, k: int | None = None) -> np.ndarray | None:
        """The 2-D array a viewer shows for ``layer`` at slice ``k`` (default: current).

        ``mri`` and ``ct`` are the resampled sources in their own units, ``map`` the hard
        (uint8) or soft (float32) decision map, ``fused`` float32 in [0, 1] (``(Y, X, 3)``
        for a colour image 1); ``None`` when the layer is not available yet.
        """
        if layer not in LAYERS:
            raise KeyError(f"unknown layer {layer!r}; use one of {LAYERS}")
        if not self.has_grid:
            return None
        k = self.slice_index if k is None else int(k)
        if layer == "mri":
            return self.mri_grid.array[k]
        if layer == "ct":
            return self.ct_grid.array[k]
        if not self.is_fused(k):
            return None
        edited = self.edited_slice(k)  # the reader's edits, the automatic maps kept apart
        if edited is not None:
            return edited.fused if layer == "fused" else edited.soft if self.soft_map else edited.hard
        if layer == "fused":
            return self.fusion.fused[k]
        return self.fusion.soft_map[k] if self.soft_map else self.fusion.decision_map[k]

    # ------------------------------------------------------------------ overlay
    def set_overlay(
        self,
        *,
        visible: bool | None = None,
        opacity: float | None = None,
        colormap: str | None = None,
        soft: bool | None = None,
    ) -> None:
        """Change how the decision map is drawn over the fused image (``opacity`` in [0, 1])."""
        if visible is not None:
            self.overlay_visible = bool(visible)
        if opacity is not None:
            self.overlay_opacity = float(np.clip(opacity, 0.0, 1.0))
        if colormap is not None:
            self.overlay_colormap = colormap if colormap in COLORMAPS else DEFAULT_COLORMAP
        if soft is not None:
            self.soft_map = bool(soft)
        self.overlay_changed.emit()

    def _require_grid(self) -> ImageVolume:
        if self.mri_grid is None:
            raise RuntimeError("no common grid yet: load and align a CT and an MRI first")
        return self.mri_grid
