"""What is under the mouse: the status bar's position (L/P/S mm) and each panel's value.

The readout follows the mouse *and* the workspace: a wheel step, Page Down, an arrow key or
a hard/soft switch changes what lies under a still mouse, so the last hovered scene point is
read again whenever the slice, the cursor, the fusion or the overlay changes.
"""

from __future__ import annotations

import math

from PySide6 import QtWidgets

from brainfuse.gui.layout import format_position
from brainfuse.gui.viewer_grid import ViewerGrid
from brainfuse.reading.workspace import LAYERS, Workspace

__all__ = ["PointerReadout"]


class PointerReadout:
    """Keeps the position label and the panels' value texts true for the last mouse point.

    Parameters
    ----------
    workspace : Workspace
    viewers : ViewerGrid
    label : QLabel
        The status bar's position label.
    """

    def __init__(self, workspace: Workspace, viewers: ViewerGrid, label: QtWidgets.QLabel):
        self.workspace = workspace
        self.viewers = viewers
        self.label = label
        self.point: tuple[float, float] | None = None  # scene mm on viewers.hover_panel
        viewers.hovered.connect(self.hovered)
        for signal in (
            workspace.slice_changed,
            workspace.cursor_changed,
            workspace.fusion_changed,
            workspace.overlay_changed,
            workspace.plane_changed,
            workspace.grid_changed,
        ):
            signal.connect(lambda *_: self.refresh())

    def hovered(self, x: float, y: float) -> None:
        """Follow the mouse to ``(x, y)`` of :attr:`ViewerGrid.hover_panel` (NaN: off)."""
        self.point = None if math.isnan(x) else (x, y)
        self.refresh()

    def refresh(self) -> None:
        """Read the values at the remembered point again (e.g. after a slice step)."""
        ws = self.workspace
        if not ws.has_grid or self.point is None:
            self.viewers.set_readouts({})
            self.label.setText("")
            return
        plane = self.viewers.panels[self.viewers.hover_panel].plane
        mm = ws.scene_to_mm(*self.point, plane=plane)
        texts = {}
        for layer in LAYERS:
            value = ws.value_at(layer, mm)
            if value is not None:
                unit = ws.units(layer)
                texts[layer] = f"{value:.0f} {unit}".strip() if unit else f"{value:.3g}"
        self.viewers.set_readouts(texts)
        ct = f"   CT {texts['ct']}" if "ct" in texts else ""
        mr = f"   MRI {texts['mri']}" if "mri" in texts else ""
        self.label.setText(format_position(mm) + ct + mr)
