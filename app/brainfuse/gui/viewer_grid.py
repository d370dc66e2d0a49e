"""Linked slice viewers (MRI, CT, decision map, fused; axial, coronal, sagittal) in one layout.

One :class:`pyqtgraph.GraphicsLayoutWidget` holds a :class:`SliceViewBox` and an
:class:`~pyqtgraph.ImageItem` per panel (pyqtgraph's ``imageAnalysis`` example), panned and
zoomed together through ``setXLink``/``setYLink``. Images are placed in millimetres with
``ImageItem.setRect`` and the boxes lock their aspect, so pixels keep the true proportions of
the grid spacing. Each view comes from :func:`brainfuse.model.planes.slice_at`, already in
radiological display (patient's right on the screen's left, as in Horos, 3D Slicer and
ITK-SNAP); row 0 is drawn at the top (``invertY``).

Mouse, as in ITK-SNAP / 3D Slicer: left click or drag moves the crosshair, middle drag pans,
right drag changes window (horizontal) and level (vertical), the wheel steps through slices
and Ctrl + wheel zooms.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from brainfuse.model.overlay import overlay_decision_map, overlay_lut
from brainfuse.reading.workspace import LAYERS, Workspace

__all__ = ["TITLES", "Panel", "SliceViewBox", "ViewerGrid"]

pg.setConfigOptions(imageAxisOrder="row-major", antialias=True)

#: Levels for [0, 1] images. pyqtgraph truncates ``255 * (x - low) / (high - low)``; shifted
#: by half a step it rounds, so the screen shows :func:`brainfuse.model.intensity.to_uint8` (and
#: the overlay's table index :func:`brainfuse.model.overlay.lut_index`), as exports write them.
UNIT_LEVELS = (-0.5 / 255.0, 254.5 / 255.0)

TITLES = {"mri": "MRI", "ct": "CT", "map": "Decision map (1 = CT)", "fused": "Fused"}
_LABEL_COLOR = QtGui.QColor(255, 210, 80)
_TEXT_COLOR = QtGui.QColor(220, 220, 220)


class SliceViewBox(pg.ViewBox):
    """A ViewBox with clinical-viewer mouse bindings.

    Signals
    -------
    clicked(x_mm, y_mm) : float, float
        Left click or drag at a scene point (crosshair).
    window_dragged(dx, dy) : float, float
        Right-drag step in screen pixels (window/level).
    slice_step(n) : int
        Wheel steps (+1 = next slice).
    double_clicked()
        Left double-click (maximise the viewer, or back).
    """

    clicked = QtCore.Signal(float, float)
    window_dragged = QtCore.Signal(float, float)
    slice_step = QtCore.Signal(int)
    double_clicked = QtCore.Signal()

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.setMenuEnabled(False)
        self._last_click = QtCore.QElapsedTimer()

    def _is_second_click(self, ev) -> bool:
        """Tell a double-click, by pyqtgraph or by two clicks within the system's interval."""
        if ev.double():
            self._last_click.invalidate()
            return True
        quick = (
            self._last_click.isValid()
            and self._last_click.elapsed() < QtWidgets.QApplication.doubleClickInterval()
        )
        if quick:
            self._last_click.invalidate()
        else:
            self._last_click.start()
        return quick

    def mouseClickEvent(self, ev) -> None:  # noqa: N802 (Qt naming)
        """Left click: move the crosshair there; double-click: maximise the panel."""
        if ev.button() == QtCore.Qt.MouseButton.LeftButton and self._is_second_click(ev):
            ev.accept()
            self.double_clicked.emit()
        elif ev.button() == QtCore.Qt.MouseButton.LeftButton:
            ev.accept()
            p = self.mapSceneToView(ev.scenePos())
            self.clicked.emit(p.x(), p.y())
        else:
            ev.ignore()

    def mouseDragEvent(self, ev, axis=None) -> None:  # noqa: N802
        """Left drag: crosshair; middle drag: pan; right drag: window/level."""
        button = ev.button()
        if button == QtCore.Qt.MouseButton.LeftButton:
            ev.accept()
            p = self.mapSceneToView(ev.scenePos())
            self.clicked.emit(p.x(), p.y())
        elif button == QtCore.Qt.MouseButton.MiddleButton:
            ev.accept()
            delta = self.mapSceneToView(ev.lastScenePos()) - self.mapSceneToView(ev.scenePos())
            self.translateBy(x=delta.x(), y=delta.y())
        elif button == QtCore.Qt.MouseButton.RightButton:
            ev.accept()
            d = ev.screenPos() - ev.lastScreenPos()
            self.window_dragged.emit(d.x(), d.y())
        else:
            ev.ignore()

    def wheelEvent(self, ev, axis=None) -> None:  # noqa: N802
        """Wheel: next/previous slice (:attr:`slice_step`); Ctrl+wheel: zoom."""
        if ev.modifiers() & QtCore.Qt.KeyboardModifier.ControlModifier:
            super().wheelEvent(ev, axis)
            return
        delta = ev.delta() if hasattr(ev, "delta") else ev.angleDelta().y()
        if delta:
            self.slice_step.emit(1 if delta > 0 else -1)
        ev.accept()


class _ScreenText(QtWidgets.QGraphicsSimpleTextItem):
    """Text fixed on the screen (child of the ViewBox, not of the view)."""

    def __init__(self, parent, color: QtGui.QColor, size: int = 10, bold: bool = False) -> None:
        super().__init__(parent)
        font = QtGui.QFont()
        font.setPointSize(size)
        font.setBold(bold)
        self.setFont(font)
        self.setBrush(QtGui.QBrush(color))
        self.setZValue(100)


class _WrappedText(QtWidgets.QGraphicsTextItem):
    """A centred note fixed on the screen that wraps inside the viewer (an error, "Fusing…")."""

    def __init__(self, parent, color: QtGui.QColor, size: int = 11) -> None:
        super().__init__(parent)
        font = QtGui.QFont()
        font.setPointSize(size)
        self.setFont(font)
        self.setDefaultTextColor(color)
        option = self.document().defaultTextOption()
        option.setAlignment(QtCore.Qt.AlignmentFlag.AlignHCenter)
        option.setWrapMode(QtGui.QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.document().setDefaultTextOption(option)
        self.setZValue(100)

    def text(self) -> str:
        """Return the note shown."""
        return self.toPlainText()


class Panel:
    """One viewer: a box, its image, its crosshair and its on-screen labels.

    ``layer`` and ``plane`` say what it shows (set by :meth:`ViewerGrid.arrange`).
    """

    def __init__(self, name: str, box: SliceViewBox, title: pg.LabelItem) -> None:
        self.name = name
        self.layer = name
        self.plane = "axial"
        self.box = box
        self.title = title
        self.image = pg.ImageItem(axisOrder="row-major")
        box.addItem(self.image)
        pen = pg.mkPen(color=(255, 200, 0, 160), width=1, style=QtCore.Qt.PenStyle.DashLine)
        self.vline = pg.InfiniteLine(angle=90, movable=False, pen=pen)
        self.hline = pg.InfiniteLine(angle=0, movable=False, pen=pen)
        for line in (self.vline, self.hline):
            line.setZValue(20)
            box.addItem(line, ignoreBounds=True)
        self.overlay: pg.ImageItem | None = None
        self.orient = {
            side: _ScreenText(box, _LABEL_COLOR, 11, True)
            for side in ("left", "right", "top", "bottom")
        }
        self.readout = _ScreenText(box, _TEXT_COLOR, 9)
        self.message = _WrappedText(box, _TEXT_COLOR, 11)
        box.sigResized.connect(self.place_labels)

    def place_labels(self) -> None:
        """Keep the orientation letters at the middle of each edge, the readout bottom-left."""
        r = self.box.boundingRect()
        pad = 4.0

        def size(item):
            b = item.boundingRect()
            return b.width(), b.height()

        w, h = size(self.orient["left"])
        self.orient["left"].setPos(pad, r.height() / 2 - h / 2)
        w, h = size(self.orient["right"])
        self.orient["right"].setPos(r.width() - w - pad, r.height() / 2 - h / 2)
        w, h = size(self.orient["top"])
        self.orient["top"].setPos(r.width() / 2 - w / 2, pad)
        w, h = size(self.orient["bottom"])
        self.orient["bottom"].setPos(r.width() / 2 - w / 2, r.height() - h - pad)
        w, h = size(self.readout)
        self.readout.setPos(pad, r.height() - h - pad)
        self.message.setTextWidth(max(r.width() - 4 * pad, 40.0))  # wraps inside the viewer
        w, h = size(self.message)
        self.message.setPos(r.width() / 2 - w / 2, r.height() / 2 - h / 2)

    def set_message(self, text: str) -> None:
        """Centred note such as "Fusing…" (empty to hide)."""
        self.message.setPlainText(text)
        self.place_labels()


class ViewerGrid(pg.GraphicsLayoutWidget):
    """The grid of linked viewers projecting a :class:`~brainfuse.reading.workspace.Workspace`.

    Layout ``four`` (:attr:`Workspace.layout`): MRI, CT, decision map and fused image in the
    workspace's plane, panned and zoomed together. Layout ``three``: one layer in axial,
    coronal and sagittal views. A double-click maximises a viewer (and back).

    Signals
    -------
    hovered(x_mm, y_mm) : scene point under the mouse (NaN when outside every image); the
        panel it is on is :attr:`hover_panel`.
    files_dropped(paths, panel) : list of paths dropped onto panel ``panel``.
    """

    hovered = QtCore.Signal(float, float)
    files_dropped = QtCore.Signal(list, str)

    def __init__(self, workspace: Workspace, parent=None) -> None:
        super().__init__(parent=parent)
        self.workspace = workspace
        self.setBackground("k")
        self.setAcceptDrops(True)
        self.ci.setSpacing(4)
        self.ci.setContentsMargins(2, 2, 2, 2)
        self.panels: dict[str, Panel] = {}
        #: panel the mouse was last over (its plane turns scene points into mm)
        self.hover_panel: str = LAYERS[0]
        #: the maximised panel (``None``: all shown)
        self.maximized: str | None = None
        self._columns = 2
        for name in LAYERS:
            title = pg.LabelItem(TITLES[name], color="#dcdcdc", size="10pt", bold=True)
            box = SliceViewBox(lockAspect=True, invertY=True, enableMenu=False)
            box.setBackgroundColor((0, 0, 0))
            box.setBorder(pg.mkPen((70, 70, 70)))
            self.panels[name] = Panel(name, box, title)
            box.double_clicked.connect(lambda n=name: self.toggle_maximized(n))
        self.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self._fitted = False
        self.arrange()

    # ------------------------------------------------------------------ arrangement
    def shown(self) -> list[Panel]:
        """Return the panels on screen, in reading order."""
        return [p for p in self.panels.values() if p.box.scene() is not None]

    def arrange(self) -> None:
        """Place the panels for the workspace's layout and plane (and the maximised one)."""
        ws = self.workspace
        if ws.layout == "three":
            cells = list(zip(LAYERS[:3], ("axial", "coronal", "sagittal"), strict=True))
            content = {name: (ws.three_layer, plane) for name, plane in cells}
            # the fourth quadrant: the decision map beside the fused image's three planes
            # (or the fused image beside another layer's), axial
            content[LAYERS[3]] = ("map" if ws.three_layer != "map" else "fused", "axial")
        else:
            content = {name: (name, ws.plane) for name in LAYERS}
        if self.maximized not in content:
            self.maximized = None
        order = [self.maximized] if self.maximized else list(content)
        for panel in self.panels.values():
            for item in (panel.title, panel.box):
                if item.scene() is not None:
                    self.ci.removeItem(item)
        self._columns = 1 if len(order) == 1 else 2
        for n, name in enumerate(order):
            panel = self.panels[name]
            panel.layer, panel.plane = content[name]
            text = TITLES[panel.layer]
            if ws.layout == "three" or panel.plane != "axial":
                text += f" — {panel.plane}"
            panel.title.setText(text)
            row, col = 2 * (n // self._columns), n % self._columns
            self.ci.addItem(panel.title, row=row, col=col)
            self.ci.addItem(panel.box, row=row + 1, col=col)
            self.ci.layout.setRowStretchFactor(row + 1, 1)
        linked = ws.layout == "four" and not self.maximized
        first = self.panels[order[0]].box
        for panel in self.panels.values():
            target = first if linked and panel.box is not first else None
            panel.box.setXLink(target)
            panel.box.setYLink(target)
        self._set_column_widths()
        self.refresh_geometry()
        self.refresh_images()

    def toggle_maximized(self, name: str) -> None:
        """Show panel ``name`` alone, or all panels again when it already is."""
        self.maximized = None if self.maximized == name else name
        self.arrange()

    def resizeEvent(self, ev) -> None:  # noqa: N802
        """Keep the columns equally wide (the aspect-locked boxes would not share)."""
        if getattr(self, "ci", None) is not None:  # runs inside the base constructor too
            self._set_column_widths()
        super().resizeEvent(ev)

    def _set_column_widths(self) -> None:
        columns = getattr(self, "_columns", 2)
        width = max((self.width() - 12) / columns, 50.0)
        for col in range(columns):
            self.ci.layout.setColumnFixedWidth(col, width)
        if columns == 1:
            self.ci.layout.setColumnFixedWidth(1, 0.0)

    # ------------------------------------------------------------------ drawing
    def box(self, name: str) -> SliceViewBox:
        """Return the ViewBox of panel ``name`` (``mri``, ``ct``, ``map``, ``fused``)."""
        return self.panels[name].box

    def refresh_geometry(self) -> None:
        """Place images in mm (radiological display), write orientation letters, fit."""
        ws = self.workspace
        if not ws.has_grid:
            return
        fitted = set()
        for panel in self.shown():
            x0, y0, w, h = ws.scene_rect(panel.plane)
            panel.box.setLimits(
                xMin=x0 - w, xMax=x0 + 2 * w, yMin=y0 - h, yMax=y0 + 2 * h, minXRange=5.0
            )
            for side, item in panel.orient.items():
                item.setText(ws.screen_labels(panel.plane)[side])
            panel.place_labels()
            if panel.box.linkedView(0) is None:  # the lead box of a linked group, or alone
                panel.box.setRange(QtCore.QRectF(x0, y0, w, h), padding=0.02)
                fitted.add(panel.name)
        self._fitted = bool(fitted)

    def refresh_images(self, layers: tuple[str, ...] | None = None) -> None:
        """Draw the panels' views through the cursor with the workspace's windows and overlay.

        ``layers`` limits the redraw to the panels showing those layers (a fused slice
        changes ``map`` and ``fused`` only: at 512 x 512 each panel is milliseconds of the
        window's own thread); ``None`` redraws every panel.
        """
        ws = self.workspace
        if not ws.has_grid:
            note = ws.problem or "Open a CT and an MRI (File menu)"
            for panel in self.panels.values():
                panel.image.clear()
                panel.set_message(note)
                panel.vline.setVisible(False)  # no crosshair on an empty viewer
                panel.hline.setVisible(False)
            return
        for panel in self.shown():
            if layers is None or panel.layer in layers:
                self._draw(panel)
        self.refresh_cursor()

    def _draw(self, panel: Panel) -> None:
        ws = self.workspace
        layer, plane = panel.layer, panel.plane
        image = ws.plane_image(layer, plane)
        if layer == "mri":
            self._show(panel, image, ws.mr_display_window.levels)
        elif layer == "ct":
            self._show(panel, image, ws.ct_window.levels)
        elif layer == "map":
            table = overlay_lut(ws.overlay_colormap)
            table[:, 3] = 255
            self._show(panel, image, UNIT_LEVELS, lut=table)
        else:
            dmap = ws.plane_image("map", plane)
            if image is not None and dmap is not None and ws.overlay_visible:
                # the decision map burned in by the function exports use: the same picture
                picture = overlay_decision_map(
                    image, dmap, opacity=ws.overlay_opacity, colormap=ws.overlay_colormap
                )
                self._show(panel, picture, (0.0, 255.0))
            else:
                self._show(panel, image, UNIT_LEVELS)

    def _show(self, panel: Panel, image, levels, lut=None) -> None:
        if image is None:
            panel.image.clear()
            panel.set_message(self.workspace.fusion_note())
            return
        panel.set_message("")
        panel.image.setImage(np.asarray(image, np.float32), levels=levels, lut=lut)
        # the scale depends on the image size: set after
        panel.image.setRect(QtCore.QRectF(*self.workspace.scene_rect(panel.plane)))

    def refresh_cursor(self) -> None:
        """Move every crosshair to the workspace's mm cursor."""
        ws = self.workspace
        if not ws.has_grid:
            return
        for panel in self.shown():
            x, y = ws.mm_to_scene(ws.cursor_mm, panel.plane)
            panel.vline.setPos(x)
            panel.hline.setPos(y)
            panel.vline.setVisible(True)
            panel.hline.setVisible(True)

    def set_readouts(self, texts: dict[str, str]) -> None:
        """Bottom-left text of each panel (value of its layer under the mouse)."""
        for panel in self.panels.values():
            panel.readout.setText(texts.get(panel.layer, ""))
            panel.place_labels()

    def drawn_image(self, name: str) -> np.ndarray | None:
        """Return the array panel ``name`` currently shows (``None`` when empty)."""
        return self.panels[name].image.image

    # ------------------------------------------------------------------ mouse and drops
    def _on_mouse_moved(self, pos) -> None:
        for panel in self.shown():
            if panel.box.sceneBoundingRect().contains(pos):
                self.hover_panel = panel.name
                p = panel.box.mapSceneToView(pos)
                self.hovered.emit(p.x(), p.y())
                return
        self.hovered.emit(float("nan"), float("nan"))

    def panel_at(self, pos: QtCore.QPointF) -> str:
        """Name of the panel under a widget point (``mri`` when none)."""
        scene_pos = self.mapToScene(pos.toPoint())
        for panel in self.shown():
            if panel.box.sceneBoundingRect().contains(scene_pos):
                return panel.name
        return "mri"

    def dragEnterEvent(self, ev) -> None:  # noqa: N802
        """Accept dragged files (for opening)."""
        if ev.mimeData().hasUrls():
            ev.acceptProposedAction()
        else:
            super().dragEnterEvent(ev)

    def dragMoveEvent(self, ev) -> None:  # noqa: N802
        """Keep accepting dragged files over every panel."""
        if ev.mimeData().hasUrls():
            ev.acceptProposedAction()
        else:
            super().dragMoveEvent(ev)

    def dropEvent(self, ev) -> None:  # noqa: N802
        """Open dropped files in the panel under the mouse (:attr:`files_dropped`)."""
        urls = ev.mimeData().urls() if ev.mimeData().hasUrls() else []
        paths = [u.toLocalFile() for u in urls if u.isLocalFile()]
        if paths:
            ev.acceptProposedAction()
            self.files_dropped.emit(paths, self.panel_at(ev.position()))
        else:
            super().dropEvent(ev)
