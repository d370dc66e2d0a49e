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

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from brainfuse.image import ImageVolume
from brainfuse.resources import resource_path

__all__ = [
    "CT_PRESETS",
    "Event",
    "LAYERS",
    "SliceFusion",
    "Window",
    "Workspace",
    "auto_window",
    "load_ct_presets",
]

#: The four panels, in display order.
LAYERS = ("mri", "ct", "map", "fused")


@dataclass(frozen=True)
class Window:
    """A display window (window/level) in the image's units.

    Parameters
    ----------
    center : float
        Window centre (level), e.g. HU for CT.
    width : float
        Window width, > 0, same units.
    """

    center: float
    width: float

    @property
    def levels(self) -> tuple[float, float]:
        """``(low, high)`` display limits: ``center ∓ width / 2``."""
        return (self.center - self.width / 2.0, self.center + self.width / 2.0)

    def dragged(self, d_width: float, d_center: float) -> Window:
        """The window after a mouse drag: width and centre moved, width kept ≥ 1."""
        return Window(self.center + d_center, max(1.0, self.width + d_width))


def load_ct_presets(path: Path | None = None) -> dict[str, Window]:
    """CT window presets (HU) from ``resources/presets/ct_windows.json``, in menu order.

    Raises
    ------
    ValueError
        If an entry has no positive ``width``.
    """
    if path is None:
        path = resource_path("resources") / "presets" / "ct_windows.json"
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    presets = {}
    for name, entry in raw.items():
        if name.startswith("_"):
            continue
        if float(entry.get("width", 0)) <= 0:
            raise ValueError(f"{path}: preset {name!r} needs a positive width, got {entry}")
        presets[name] = Window(float(entry["center"]), float(entry["width"]))
    return presets


#: CT window presets in HU (centre, width): brain 40/80, subdural 75/215, bone 500/2000.
CT_PRESETS: dict[str, Window] = load_ct_presets()


def auto_window(array: np.ndarray, *, low: float = 0.5, high: float = 99.5) -> Window:
    """Window spanning robust percentiles of an image (the "auto" MR window).

    Parameters
    ----------
    array : ndarray
        Voxel values, any shape.
    low, high : float
        Percentiles (0–100) mapped to the bottom and top of the window.

    Returns
    -------
    Window
        ``center`` and ``width`` (≥ 1e-6) in the array's units.
    """
    finite = np.asarray(array, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return Window(0.5, 1.0)
    lo, hi = np.percentile(finite, [low, high])
    width = float(hi - lo) or 1e-6
    return Window(float(lo + hi) / 2.0, width)


class Event:
    """A minimal Qt-free signal: ``connect(callback)`` and ``emit(*args)``."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[..., Any]] = []

    def connect(self, callback: Callable[..., Any]) -> None:
        """Call ``callback(*args)`` on every :meth:`emit`."""
        self._callbacks.append(callback)

    def disconnect(self, callback: Callable[..., Any]) -> None:
        """Stop calling ``callback``; unknown callbacks are ignored."""
        if callback in self._callbacks:
            self._callbacks.remove(callback)

    def emit(self, *args: Any) -> None:
        """Call every connected callback in connection order."""
        for callback in list(self._callbacks):
            callback(*args)


@dataclass(frozen=True)
class SliceFusion:
    """Fusion of one axial slice of the common grid.

    Parameters
    ----------
    fused : (Y, X) ndarray of float32
        Fused image in [0, 1].
    decision_map : (Y, X) ndarray of uint8
        Hard map, 1 where the CT was taken.
    soft_map : (Y, X) ndarray of float32
        Soft (refined) map in [0, 1].
    """

    fused: np.ndarray
    decision_map: np.ndarray
    soft_map: np.ndarray


class Workspace:
    """Everything one session shows: the pair, the common grid, slice, cursor, windows, result.

    Events (each an :class:`Event`) tell a view what changed: ``sources_changed()``,
    ``grid_changed()``, ``slice_changed(k)``, ``cursor_changed(mm)``,
    ``windows_changed()``, ``fusion_changed(k)`` (``k`` is ``None`` for the whole volume),
    ``overlay_changed()``.
    """

    def __init__(self) -> None:
        self.ct: ImageVolume | None = None
        self.mri: ImageVolume | None = None
        self.ct_grid: ImageVolume | None = None
        self.mri_grid: ImageVolume | None = None
        self.transform: Any = None
        self.slice_index = 0
        self.cursor_mm = np.zeros(3)
        self.ct_window = CT_PRESETS["brain"]
        self.ct_preset: str | None = "brain"
        self.mr_window: Window | None = None  # None = auto
        self.overlay_visible = True
        self.overlay_opacity = 0.4
        self.overlay_colormap = "viridis"
        self.soft_map = False
        self.fused: np.ndarray | None = None
        self.decision_map: np.ndarray | None = None
        self.soft: np.ndarray | None = None
        self.fused_done: np.ndarray | None = None
        self.device = ""
        self.method = "cnn"
        self.fusion_ms: float | None = None
        self.pair_result: Any = None
        self.ct01: np.ndarray | None = None
        self.windows: dict[str, Any] = {}
        self.mri01: np.ndarray | None = None
        self._mr_auto: Window | None = None
        self.sources_changed = Event()
        self.grid_changed = Event()
        self.slice_changed = Event()
        self.cursor_changed = Event()
        self.windows_changed = Event()
        self.fusion_changed = Event()
        self.overlay_changed = Event()

    # ------------------------------------------------------------------ sources and grid
    def set_sources(self, ct: ImageVolume | None = None, mri: ImageVolume | None = None) -> None:
        """Replace the CT and/or the MRI as loaded; the common grid is dropped until re-aligned."""
        if ct is not None:
            self.ct = ct
            if ct.window and ct.modality == "CT" and self.ct_preset is None:
                self.ct_window = Window(*ct.window)
        if mri is not None:
            self.mri = mri
        self.ct_grid = self.mri_grid = None
        self._clear_fusion()
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
        transform: Any = None,
        *,
        mr_auto: Window | None = None,
    ) -> None:
        """Store the pair resampled on one grid; the slice and cursor go to the volume centre.

        ``mr_auto`` is the automatic MR window if already computed (a worker can do it: on a
        large volume it takes a noticeable fraction of a second).

        Raises
        ------
        ValueError
            If the two volumes do not have the same shape.
        """
        if ct.shape != mri.shape:
            raise ValueError(f"aligned CT {ct.shape} and MRI {mri.shape} differ in shape")
        self.ct_grid, self.mri_grid, self.transform = ct, mri, transform
        self._mr_auto = mr_auto or auto_window(mri.array)
        self._clear_fusion()
        z, y, x = mri.shape
        self.slice_index = z // 2
        self.cursor_mm = self.index_to_mm(((x - 1) / 2.0, (y - 1) / 2.0, z // 2))
        self.grid_changed.emit()
        self.slice_changed.emit(self.slice_index)
        self.cursor_changed.emit(self.cursor_mm)

    @property
    def reference(self) -> ImageVolume | None:
        """The grid every viewer shows (the MRI's after alignment)."""
        return self.mri_grid

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(z, y, x)`` of the common grid, ``(0, 0, 0)`` before alignment."""
        return self.mri_grid.shape if self.mri_grid is not None else (0, 0, 0)

    @property
    def n_slices(self) -> int:
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
        return None if image is None else float(image[j, i])

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
        """
        if isinstance(window, str):
            if window not in CT_PRESETS:
                raise KeyError(f"unknown CT window preset {window!r}; use {sorted(CT_PRESETS)}")
            self.ct_preset, self.ct_window = window, CT_PRESETS[window]
        else:
            self.ct_preset, self.ct_window = None, window
        self.windows_changed.emit()

    def set_auto_mr_window(self, window: Window) -> None:
        """The automatic MR window chosen by the core (``to_unit``'s percentiles)."""
        self._mr_auto = window
        if self.mr_window is None:
            self.windows_changed.emit()

    def set_mr_window(self, window: Window | None) -> None:
        """Set the MR window; ``None`` returns to the automatic window."""
        self.mr_window = window
        self.windows_changed.emit()

    def reset_windows(self) -> None:
        """Brain window for CT, automatic window for MR."""
        self.ct_preset, self.ct_window, self.mr_window = "brain", CT_PRESETS["brain"], None
        self.windows_changed.emit()

    # ------------------------------------------------------------------ fusion result
    def _clear_fusion(self) -> None:
        self.fused = self.decision_map = self.soft = self.fused_done = None
        self.fusion_ms = None
        self.pair_result = None
        self.ct01 = self.mri01 = None
        if self.mri_grid is not None:
            shape = self.mri_grid.shape
            self.fused = np.zeros(shape, np.float32)
            self.decision_map = np.zeros(shape, np.uint8)
            self.soft = np.zeros(shape, np.float32)
            self.fused_done = np.zeros(shape[0], bool)

    def set_unit(self, ct01: np.ndarray, mri01: np.ndarray) -> None:
        """The windowed pair in [0, 1] that the fusion ran on (for the readouts and export).

        Raises
        ------
        ValueError
            If the arrays do not have the grid's shape.
        """
        if ct01.shape != self.shape or mri01.shape != self.shape:
            raise ValueError(f"windowed arrays {ct01.shape}, {mri01.shape} != grid {self.shape}")
        self.ct01, self.mri01 = ct01, mri01

    def invalidate_fusion(self) -> None:
        """Forget every fused slice (the windows changed); the views show "not fused yet"."""
        self._clear_fusion()
        self.fusion_changed.emit(None)

    def store_slice(self, k: int, result: SliceFusion) -> None:
        """Keep the fusion of slice ``k``."""
        if self.fused is None:
            raise RuntimeError("no common grid: align the pair before storing fused slices")
        self.fused[k] = result.fused
        self.decision_map[k] = result.decision_map
        self.soft[k] = result.soft_map
        self.fused_done[k] = True
        self.fusion_changed.emit(k)

    def is_fused(self, k: int | None = None) -> bool:
        """True when slice ``k`` (default: all slices) has been fused."""
        if self.fused_done is None:
            return False
        return bool(self.fused_done.all() if k is None else self.fused_done[k])

    def slice_image(self, layer: str, k: int | None = None) -> np.ndarray | None:
        """The 2-D ``(Y, X)`` array a viewer shows for ``layer`` at slice ``k`` (default: current).

        ``mri`` and ``ct`` are the resampled sources in their own units, ``map`` the hard
        (uint8) or soft (float32) decision map, ``fused`` float32 in [0, 1]; ``None`` when the
        layer is not available yet.
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
        if layer == "fused":
            return self.fused[k]
        return self.soft[k] if self.soft_map else self.decision_map[k]

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
            self.overlay_colormap = colormap
        if soft is not None:
            self.soft_map = bool(soft)
        self.overlay_changed.emit()

    def _require_grid(self) -> ImageVolume:
        if self.mri_grid is None:
            raise RuntimeError("no common grid yet: load and align a CT and an MRI first")
        return self.mri_grid
