"""The reader's mouse tools on the viewers: decision-map brush, ruler, ellipse/rectangle region.

:class:`ToolController` filters the mouse events of the viewer grid's viewport. With the
*navigate* tool every event goes on to the viewers (crosshair, pan, window/level); with a
tool, a left press-drag-release paints or measures on the panel under the mouse and the
viewers do not see it. Everything it does is a call on the
:class:`~brainfuse.reading.workspace.Workspace` (``paint``/``begin_stroke``/``end_stroke``,
``add_measurement``); it draws from the workspace's signals (:mod:`brainfuse.gui.tool_items`).

A stroke is one undo step (``Ctrl+Z``). Between two mouse positions of a drag the brush dabs
every half radius, so a fast stroke leaves no gap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6 import QtCore, QtGui

from brainfuse.gui.tool_items import PanelTools
from brainfuse.model.image import ImageVolume
from brainfuse.model.planes import lps_to_plane, plane_to_lps
from brainfuse.reading.measure import Region, Ruler

if TYPE_CHECKING:
    from brainfuse.gui.main_window import MainWindow

__all__ = ["TOOLS", "ToolController"]

#: The mouse tools: navigate (the viewers' own bindings), brush, ruler, two region shapes.
TOOLS = ("navigate", "brush", "ruler", "ellipse", "rectangle")

_Ev = QtCore.QEvent.Type
_LEFT = QtCore.Qt.MouseButton.LeftButton


class ToolController(QtCore.QObject):
    """Turns mouse drags on the viewers into edits and measurements of the workspace.

    Signals
    -------
    tool_changed(name) : the active tool (one of :data:`TOOLS`).
    """

    tool_changed = QtCore.Signal(str)

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.ws = ws = window.workspace
        self.viewers = window.viewers
        self.panels = {
            name: PanelTools(p.box, lambda: self.ws.has_grid)
            for name, p in self.viewers.panels.items()
        }
        self.tool = "navigate"
        self._press: tuple[str, float, float] | None = None  # panel, scene x, y (mm)
        self._last: tuple[float, float] | None = None
        viewport = self.viewers.viewport()
        viewport.setMouseTracking(True)
        viewport.installEventFilter(self)
        ws.edits_changed.connect(self._edits_changed)
        ws.slice_changed.connect(lambda _k: self.redraw())
        ws.cursor_changed.connect(lambda _mm: self.redraw())  # the other planes' views move
        ws.plane_changed.connect(self.redraw)
        ws.grid_changed.connect(self.redraw)
        ws.fusion_changed.connect(lambda _k: self.redraw_outline())
        ws.measurements_changed.connect(self.redraw)
        ws.overlay_changed.connect(self.redraw_outline)

    # ------------------------------------------------------------------ tool
    def set_tool(self, name: str) -> None:
        """Choose the mouse tool (one of :data:`TOOLS`).

        Raises
        ------
        ValueError
            For an unknown tool.
        """
        if name not in TOOLS:
            raise ValueError(f"unknown tool {name!r}; use one of {TOOLS}")
        self.tool = name
        self._press = None
        for p in self.panels.values():
            p.hide_circle()
            p.show_draft(None, [])
        self.viewers.viewport().setCursor(
            QtCore.Qt.CursorShape.ArrowCursor
            if name == "navigate"
            else QtCore.Qt.CursorShape.CrossCursor
        )
        self.tool_changed.emit(name)

    # ------------------------------------------------------------------ coordinates
    def locate(self, pos: QtCore.QPointF) -> tuple[str, float, float] | None:
        """``(panel, x_mm, y_mm)`` of a viewport point, ``None`` outside every panel."""
        scene_pt = self.viewers.mapToScene(pos.toPoint())
        for name, panel in self.viewers.panels.items():
            if panel.box.sceneBoundingRect().contains(scene_pt):
                p = panel.box.mapSceneToView(scene_pt)
                return name, p.x(), p.y()
        return None

    def plane_of(self, panel: str) -> str:
        """Return the plane panel ``panel`` shows."""
        return self.viewers.panels[panel].plane

    def viewport_pos(self, panel: str, lps_mm) -> QtCore.QPoint:
        """Where an LPS point (mm) of the view on screen lies in the viewport of the grid."""
        x, y = self.ws.mm_to_scene(np.asarray(lps_mm, float), self.plane_of(panel))
        box = self.viewers.panels[panel].box
        return self.viewers.mapFromScene(box.mapViewToScene(QtCore.QPointF(x, y)))

    def _to_plane(self, plane: str, x: float, y: float) -> tuple[int, float, float]:
        """(view index, row, col) on the grid of a scene point of the view of ``plane``."""
        lps = self.ws.scene_to_mm(x, y, plane)
        index, row, col = lps_to_plane(self._grid(), plane, lps)
        return round(index), float(row), float(col)

    def _to_scene(self, plane: str, index: int, rc: tuple[float, float]) -> tuple[float, float]:
        return self.ws.mm_to_scene(plane_to_lps(self._grid(), plane, index, *rc), plane)

    def _grid(self) -> ImageVolume:
        grid = self.ws.mri_grid
        if grid is None:  # the tools act only on a pair on one grid
            raise RuntimeError("no grid to measure or edit on")
        return grid

    def eventFilter(self, obj: QtCore.QObject, ev: QtCore.QEvent) -> bool:  # noqa: N802
        """Route the viewport's mouse events to the active tool; True when one used the event."""
        if self.tool == "navigate" or not self.ws.has_grid:
            return False
        kind = ev.type()
        if isinstance(ev, QtGui.QMouseEvent):
            if kind == _Ev.MouseMove:
                return self._moved(ev.position())
            if kind == _Ev.MouseButtonPress and ev.button() == _LEFT:
                return self._pressed(ev.position())
            if kind == _Ev.MouseButtonRelease and ev.button() == _LEFT and self._press is not None:
                return self._released(ev.position())
        if kind == _Ev.Leave:
            for p in self.panels.values():
                p.hide_circle()
        return False

    def _pressed(self, pos: QtCore.QPointF) -> bool:
        where = self.locate(pos)
        if where is None:
            return False
        self._press = where
        _, x, y = where
        if self.tool == "brush":
            self.ws.begin_stroke()
            self._dab(x, y)
        return True

    def _moved(self, pos: QtCore.QPointF) -> bool:
        where = self.locate(pos)
        if self.tool == "brush":
            for name, p in self.panels.items():
                if where is None or self.plane_of(name) != self.plane_of(where[0]):
                    p.hide_circle()
                else:
                    p.show_circle(where[1], where[2], self.ws.brush_radius_mm, self.ws.brush_mode)
        if self._press is None:
            return False
        if where is not None:
            _, x, y = where
            if self.tool == "brush":
                self._dab(x, y)
            else:
                m = self._measurement(x, y)
                points = [self._press[1:], (x, y)]
                plane = self.plane_of(self._press[0])
                for name, p in self.panels.items():
                    p.show_draft(m if self.plane_of(name) == plane else None, points)
        return True

    def _released(self, pos: QtCore.QPointF) -> bool:
        where = self.locate(pos)
        if self.tool == "brush":
            if where is not None:
                self._dab(where[1], where[2])
            self.ws.end_stroke()
        else:
            for p in self.panels.values():
                p.show_draft(None, [])
            if where is not None:
                m = self._measurement(where[1], where[2])
                if m is not None and np.hypot(*np.subtract(m.start, m.end)) >= 1.0:
                    self.ws.add_measurement(m)
        self._press = None
        self._last = None
        return True

    def _dab(self, x: float, y: float) -> None:
        """Paint at (x, y), and every half radius from the previous dab of the stroke."""
        step = max(self.ws.brush_radius_mm / 2.0, 0.5)
        points = [(x, y)]
        if self._last is not None:
            n = int(np.hypot(x - self._last[0], y - self._last[1]) // step)
            points = [
                (self._last[0] + (x - self._last[0]) * t, self._last[1] + (y - self._last[1]) * t)
                for t in np.linspace(0.0, 1.0, n + 2)[1:]
            ]
        plane = self.plane_of(self._press[0]) if self._press else self.ws.view_plane
        for px, py in points:
            self.ws.paint(self.ws.scene_to_mm(px, py, plane), plane)
        self._last = (x, y)

    def _measurement(self, x: float, y: float) -> Ruler | Region | None:
        if self._press is None:
            return None
        plane = self.plane_of(self._press[0])
        index, r0, c0 = self._to_plane(plane, *self._press[1:])
        _, r1, c1 = self._to_plane(plane, x, y)
        if self.tool == "ruler":
            return Ruler(plane, index, (r0, c0), (r1, c1))
        return Region(plane, index, self.tool, (r0, c0), (r1, c1))

    # ------------------------------------------------------------------ drawing
    def _edits_changed(self, _box) -> None:
        self.viewers.refresh_images()
        self.redraw_outline()

    def redraw_outline(self) -> None:
        """Edges of the edited regions on the map and, with the overlay on, the fused image."""
        ws = self.ws
        for name, p in self.panels.items():
            panel = self.viewers.panels[name]
            shown = panel.layer == "map" or (panel.layer == "fused" and ws.overlay_visible)
            if not (shown and ws.has_grid):
                p.show_outline(None, QtCore.QRectF())
                continue
            edges = ws.edit_outline(panel.plane, ws.plane_index(panel.plane))
            p.show_outline(edges, QtCore.QRectF(*ws.scene_rect(panel.plane)))

    def redraw(self) -> None:
        """Measurements of the views on screen, the outlines and the scale bars."""
        ws = self.ws
        for p in self.panels.values():
            p.clear_measurements()
            p.place_scale_bar()
        self.redraw_outline()
        if not ws.has_grid:
            return
        sources = ws.measurement_sources()
        for n, m in enumerate(ws.measurements, start=1):
            shown = [
                p
                for name, p in self.panels.items()
                if self.plane_of(name) == m.plane and ws.plane_index(m.plane) == m.index
            ]
            if not shown:
                continue
            a, b = (self._to_scene(m.plane, m.index, rc) for rc in (m.start, m.end))
            text = label_text(n, m, sources)
            for p in shown:
                p.add_measurement(m, [a, b], text)


def label_text(n: int, m: Ruler | Region, sources: dict) -> str:
    """Write the label beside measurement ``n``: a length, or the area and the CT mean ± SD."""
    grid = next(iter(sources.values()))
    if isinstance(m, Ruler):
        return f"{n}: {m.length_mm(grid):.1f} mm"
    stats = m.stats(sources)
    first = stats[0]
    # two short lines, so that the label fits beside the region in a quarter of the screen
    return (
        f"{n}: {first.area_mm2:.0f} mm²\n"
        f"{first.source.upper()} {first.mean:.1f} ± {first.sd:.1f} {first.units}"
    )
