"""Qt-free state of one BrainFuse session: sources, common grid, slice, mm cursor, windows, result.

The window (:mod:`brainfuse.gui`) is a projection of a :class:`Workspace`: it draws what the
workspace holds and turns user actions into calls on it; it never keeps state of its own. The
workspace holds no Qt object, so everything here is testable without a display (the model-view
split of napari's ``ViewerModel`` and ndv's models, see ``../shared/reference/style.md``).

References
----------
.. [1] N. Sofroniew et al., napari: a multi-dimensional image viewer for Python,
   doi:10.5281/zenodo.3555620 (model-view split followed here).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from psygnal import Signal

from brainfuse.model import planes
from brainfuse.model.image import ImageVolume
from brainfuse.model.intensity import CT_PRESETS, Window, WindowSpec, default_window
from brainfuse.model.overlay import COLORMAPS, DEFAULT_COLORMAP
from brainfuse.reading.tools import ReaderTools
from brainfuse.reading.views import LAYERS, WorkspaceViews

if TYPE_CHECKING:  # the workspace holds an alignment and a fusion; it never runs them
    from brainfuse.grid import AlignedPair
    from brainfuse.pipeline import PairFusion

__all__ = [
    "CT_PRESETS",
    "DEVICES",
    "LAYERS",
    "LAYOUTS",
    "REFERENCES",
    "REGISTER_MODES",
    "RULES",
    "Window",
    "Workspace",
]

#: Devices the fusion can run on (``brainfuse.fusion.Fuser(device=...)``).
DEVICES = ("auto", "cpu", "cuda")
#: Result grids (as brainfuse fuse --reference): the finer in-plane, the CT's, the MRI's.
REFERENCES = ("auto", "ct", "mri")
#: Fusion rules of the CNN method (``brainfuse.fusion.FusionSettings(rule=...)``), default first.
RULES = ("anatomy", "sesf")

#: How a pair can be put on one grid (``brainfuse.grid.align_pair``'s ``register``).
REGISTER_MODES = ("auto", "geometry", "rigid", "none")

#: ``four``: the four layers in one plane; ``three``: one layer in axial, coronal, sagittal.
LAYOUTS = ("four", "three")


class Workspace(ReaderTools, WorkspaceViews):
    """Everything one session shows: the pair, the common grid, slice, cursor, windows, result.

    The evented model of the window (psygnal signals; a view connects to them and never
    keeps state of its own). Signals: ``sources_changed()``, ``grid_changed()``,
    ``slice_changed(k)``, ``cursor_changed(mm)``, ``windows_changed()``,
    ``fusion_changed(k)`` (``k`` is ``None`` for the whole volume), ``overlay_changed()``,
    ``plane_changed()`` (plane or layout), ``register_mode_changed(mode)``,
    ``engine_changed()`` (the rule or device chosen for the next fusion).
    Every field is written through a method that emits the matching signal. The reader's
    edits and measurements (and their signals) come from
    :class:`~brainfuse.reading.tools.ReaderTools`; what each view shows (scene geometry, plane
    indices, layer images) from :class:`~brainfuse.reading.views.WorkspaceViews`.
    """

    sources_changed = Signal()
    grid_changed = Signal()
    slice_changed = Signal(int)
    cursor_changed = Signal(object)
    windows_changed = Signal()
    fusion_changed = Signal(object)
    overlay_changed = Signal()
    plane_changed = Signal()
    register_mode_changed = Signal(str)
    engine_changed = Signal()

    def __init__(self) -> None:
        self.ct: ImageVolume | None = None
        self.mri: ImageVolume | None = None
        self.is_demo = False
        self.ct_grid: ImageVolume | None = None
        self.mri_grid: ImageVolume | None = None
        self.register_mode = "auto"  # asked for (as brainfuse fuse --register)
        self.fusion_rule = RULES[0]  # for the next fusion (as brainfuse fuse --rule)
        self.fusion_device = "auto"  # for the next fusion (as brainfuse fuse --device)
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
        self.plane = "axial"  # of the four panels
        self.layout = "four"
        self.three_layer = "fused"  # shown in three planes by the "three" layout
        self.fusion_cancelled = False  # the last fusion was stopped by the user
        self.alignment_accepted = False  # the user accepted the alignment (fusion may run)
        self.problem: str | None = None  # why the pair is not on one grid (alignment failed)
        self._init_tools()

    # ------------------------------------------------------------------ sources and grid
    def set_sources(
        self,
        ct: ImageVolume | None = None,
        mri: ImageVolume | None = None,
        *,
        demo: bool = False,
    ) -> None:
        """Replace the CT and/or the MRI as loaded; the common grid is dropped until re-aligned.

        One source loaded over the demo pair drops the demo's other template: a scan is never
        fused with a template it was not opened with.
        """
        if self.is_demo and not demo and (ct is None) != (mri is None):
            self.ct = self.mri = None  # the given one is set below; the other is asked for
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
        self.fusion_cancelled = False
        self.problem = None
        self._reset_tools(None)
        self.sources_changed.emit()

    def set_problem(self, message: str) -> None:
        """Record that the pair could not be put on one grid: no grid, no fusion, ``message``."""
        self.problem = message
        self.ct_grid = self.mri_grid = None
        self.alignment = None
        self.fusion = None
        self.fusion_cancelled = False
        self._reset_tools(None)
        self.grid_changed.emit()
        self.fusion_changed.emit(None)

    @property
    def has_pair(self) -> bool:
        """True when both sources are loaded."""
        return self.ct is not None and self.mri is not None

    def set_grid(
        self,
        ct: ImageVolume,
        mri: ImageVolume,
        *,
        mr_auto: Window | None = None,
        alignment: AlignedPair | None = None,
        accepted: bool = True,
    ) -> None:
        """Store the pair resampled on one grid; the slice and cursor go to the volume centre.

        ``alignment`` is the :class:`~brainfuse.grid.AlignedPair` the grid came from (what a
        fusion starts from; its ``mode`` is :attr:`registration`). ``mr_auto`` is the MRI's
        default window (:func:`brainfuse.model.intensity.default_window`)
        if already computed (a worker can do it: on a large volume it takes a noticeable
        fraction of a second). An 8-bit CT gets the 8-bit window (never a HU preset).
        ``accepted`` False holds the fusion until :meth:`accept_alignment` (a rigid
        registration waiting to be checked).

        Raises
        ------
        ValueError
            If the two volumes do not have the same shape.
        """
        if ct.shape != mri.shape:
            raise ValueError(f"aligned CT {ct.shape} and MRI {mri.shape} differ in shape")
        self.ct_grid, self.mri_grid = ct, mri
        self.alignment = alignment
        self.alignment_accepted = accepted
        self.problem = None
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
        """Choose how the next alignment puts the pair on one grid.

        ``auto``, ``geometry``, ``rigid`` or ``none``, as ``brainfuse fuse --register``.

        Raises
        ------
        ValueError
            For another mode.
        """
        if mode not in REGISTER_MODES:
            raise ValueError(f"unknown alignment {mode!r}; use one of {REGISTER_MODES}")
        if mode != self.register_mode:
            self.register_mode = mode
            self.register_mode_changed.emit(mode)

    def set_engine(self, *, rule: str | None = None, device: str | None = None) -> None:
        """Choose the fusion rule and/or device of the next fusion (None: keep it).

        Emits ``engine_changed`` when either changes; the fusion on screen stays until a
        shell fuses again.

        Raises
        ------
        ValueError
            For a rule not in :data:`RULES` or a device not in :data:`DEVICES`.
        """
        rule = self.fusion_rule if rule is None else rule
        device = self.fusion_device if device is None else device
        if rule not in RULES:
            raise ValueError(f"unknown fusion rule {rule!r}; use one of {RULES}")
        if device not in DEVICES:
            raise ValueError(f"unknown device {device!r}; use one of {DEVICES}")
        if (rule, device) != (self.fusion_rule, self.fusion_device):
            self.fusion_rule, self.fusion_device = rule, device
            self.engine_changed.emit()

    @property
    def registration(self) -> str:
        """What the alignment did: ``geometry``, ``rigid`` or ``none``."""
        return "none" if self.alignment is None else self.alignment.mode

    # ------------------------------------------------------------------ planes
    def set_plane(self, plane: str) -> None:
        """Show the four panels in ``plane`` (``axial``, ``coronal`` or ``sagittal``).

        Raises
        ------
        ValueError
            For another name.
        """
        if plane not in planes.PLANES:
            raise ValueError(f"unknown plane {plane!r}; use one of {planes.PLANES}")
        if plane != self.plane:
            self.plane = plane
            self.plane_changed.emit()

    def set_layout(self, layout: str, layer: str | None = None) -> None:
        """Choose the layout: ``"four"`` layers in one plane, or one layer in ``"three"`` planes.

        ``"four"``: the four layers in :attr:`plane`; ``"three"``: ``layer`` (default:
        :attr:`three_layer`) in axial, coronal and sagittal views.

        Raises
        ------
        ValueError
            For another layout or layer.
        """
        if layout not in LAYOUTS:
            raise ValueError(f"unknown layout {layout!r}; use one of {LAYOUTS}")
        if layer is not None:
            if layer not in LAYERS:
                raise ValueError(f"unknown layer {layer!r}; use one of {LAYERS}")
            self.three_layer = layer
        self.layout = layout
        self.plane_changed.emit()

    def set_plane_index(self, index: int, plane: str | None = None) -> None:
        """Show view ``index`` of ``plane`` (clamped); the cursor moves along the normal."""
        plane = self._plane(plane)
        if not self.has_grid:
            return
        ref = self._require_grid()
        index = int(np.clip(index, 0, self.plane_count(plane) - 1))
        if planes.plane_layout(ref, plane).normal == 0:  # the views are the array's slices
            self.set_slice(index)
            return
        _, row, col = planes.lps_to_plane(ref, plane, self.cursor_mm)
        self.set_cursor_mm(planes.plane_to_lps(ref, plane, index, row, col))

    def step(self, n: int, plane: str | None = None) -> None:
        """Move ``n`` views of ``plane`` (default :attr:`plane`) along its normal."""
        if self.has_grid:
            plane = self._plane(plane)
            self.set_plane_index(self.plane_index(plane) + int(n), plane)

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

    # ------------------------------------------------------------------ windows
    @property
    def mr_auto_window(self) -> Window | None:
        """The MRI's automatic window on the current grid (None before a pair is aligned)."""
        return self._mr_auto

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
                raise ValueError(
                    f"the CT has no Hounsfield units: preset {window!r} does not apply"
                )
            self.ct_preset, self.ct_window = window, CT_PRESETS[window]
        else:
            self.ct_preset, self.ct_window = None, window
        self.windows_changed.emit()

    def set_mr_window(self, window: Window | None) -> None:
        """Set the MR window; ``None`` returns to the automatic window."""
        self.mr_window = window
        self.windows_changed.emit()

    def reset_windows(self) -> None:
        """Reset to the sources' defaults: brain window for CT in HU (8-bit as is), automatic MR."""
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
        """Tell whether the windows on screen differ from those the fused images were made with."""
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
        """Begin a new fusion of the pair on the grid (no slice done yet)."""
        if fusion.prepared.mri01.shape != self.shape:
            raise ValueError(f"fusion of {fusion.prepared.mri01.shape} != grid {self.shape}")
        self.fusion = fusion
        self.fusion_cancelled = False
        self.fusion_changed.emit(None)

    def invalidate_fusion(self) -> None:
        """Forget every fused slice; the views show "not fused yet"."""
        self.fusion = None
        self.fusion_cancelled = False
        self.fusion_changed.emit(None)

    def accept_alignment(self) -> None:
        """Accept the alignment on the grid: a fusion may run on it."""
        self.alignment_accepted = True
        self.grid_changed.emit()

    def resume_fusion(self) -> None:
        """Resume a cancelled fusion (its fused slices are kept)."""
        self.fusion_cancelled = False
        self.fusion_changed.emit(None)

    def cancel_fusion(self) -> None:
        """Stop the fusion: slices not fused stay so until "Fuse again"."""
        if self.fusion is not None and not self.is_fused():
            self.fusion_cancelled = True
            self.fusion_changed.emit(None)

    def not_fused(self) -> list[tuple[int, int]]:
        """List the runs ``(first, last)`` (0-based, inclusive) of slices not fused, in order."""
        if not self.has_grid:
            return []
        done = np.zeros(self.n_slices, bool) if self.fusion is None else self.fusion.done
        runs: list[tuple[int, int]] = []
        for k in np.flatnonzero(~done):
            if runs and runs[-1][1] == k - 1:
                runs[-1] = (runs[-1][0], int(k))
            else:
                runs.append((int(k), int(k)))
        return runs

    def fusion_note(self) -> str:
        """Say what a viewer shows where the fused image is missing (``""``: nothing missing)."""
        if not self.has_grid:
            return self.problem or ""
        if not self.alignment_accepted:
            return "Not fused: Accept the alignment first"
        if self.fusion_cancelled:
            return "Not fused (cancelled): Fusion › Fuse again"
        return "Fusing…"

    def slice_fused(self, k: int, ms: float | None = None) -> None:
        """Slice ``k`` of the current fusion is done (``ms``: its wall time)."""
        self.slice_ms = ms
        self.fusion_changed.emit(k)

    @property
    def device(self) -> str:
        """The fusion's device in words (``""`` before a fusion)."""
        return "" if self.fusion is None else self.fusion.fuser.device

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
