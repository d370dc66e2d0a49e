"""Four linked slice viewers (MRI, CT, decision map, fused) in one pyqtgraph layout.

One :class:`pyqtgraph.GraphicsLayoutWidget` holds a :class:`SliceViewBox` and an
:class:`~pyqtgraph.ImageItem` per panel (pyqtgraph's ``imageAnalysis`` example), panned and
zoomed together through ``setXLink``/``setYLink``. Images are placed in millimetres with
``ImageItem.setRect`` and the boxes lock their aspect, so pixels keep the true proportions of
the grid spacing. Row 0 is drawn at the top (``invertY``) and the patient's right on the
screen's left (radiological convention, as in Horos, 3D Slicer and ITK-SNAP).

Mouse, as in ITK-SNAP / 3D Slicer: left click or drag moves the crosshair, middle drag pans,
right drag changes window (horizontal) and level (vertical), the wheel steps through slices
and Ctrl + wheel zooms.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from brainfuse.export.render import overlay_decision_map
from brainfuse.overlay import overlay_lut
from brainfuse.workspace import LAYERS, Workspace

__all__ = ["SliceViewBox", "Panel", "ViewerGrid", "TITLES"]

pg.setConfigOptions(imageAxisOrder="row-major", antialias=True)

#: Levels for [0, 1] images. pyqtgraph truncates ``255 * (x - low) / (high - low)``; shifted
#: by half a step it rounds, so the screen shows :func:`brainfuse.intensity.to_uint8` (and
#: the overlay's table index :func:`brainfuse.overlay.lut_index`), as exports write them.
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
    """

    clicked = QtCore.Signal(float, float)
    window_dragged = QtCore.Signal(float, float)
    slice_step = QtCore.Signal(int)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.setMenuEnabled(False)

    def mouseClickEvent(self, ev) -> None:  # noqa: N802 (Qt naming)
        if ev.button() == QtCore.Qt.MouseButton.LeftButton:
            ev.accept()
            p = self.mapSceneToView(ev.scenePos())
            self.clicked.emit(p.x(), p.y())
        else:
            ev.ignore()

    def mouseDragEvent(self, ev, axis=None) -> None:  # noqa: N802
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


class Panel:
    """One viewer: a box, its image, its crosshair and its on-screen labels."""

    def __init__(self, name: str, box: SliceViewBox) -> None:
        self.name = name
        self.box = box
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
        self.message = _ScreenText(box, _TEXT_COLOR, 11)
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
        w, h = size(self.message)
        self.message.setPos(r.width() / 2 - w / 2, r.height() / 2 - h / 2)

    def set_message(self, text: str) -> None:
        """Centred note such as "Fusing…" (empty to hide)."""
        self.message.setText(text)
        self.place_labels()


class ViewerGrid(pg.GraphicsLayoutWidget):
    """The 2×2 grid of linked viewers projecting a :class:`~brainfuse.workspace.Workspace`.

    Signals
    -------
    hovered(x_mm, y_mm) : scene point under the mouse (NaN when outside every image).
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
        for n, name in enumerate(LAYERS):
            row, col = 2 * (n // 2), n % 2
            self.addLabel(TITLES[name], row=row, col=col, color="#dcdcdc", size="10pt", bold=True)
            box = SliceViewBox(lockAspect=True, invertY=True, enableMenu=False)
            box.setBackgroundColor((0, 0, 0))
            box.setBorder(pg.mkPen((70, 70, 70)))
            self.addItem(box, row=row + 1, col=col)
            self.panels[name] = Panel(name, box)
        grid = self.ci.layout
        for row in (1, 3):
            grid.setRowStretchFactor(row, 1)
        first = self.panels[LAYERS[0]].box
        for name in LAYERS[1:]:
            self.panels[name].box.setXLink(first)
            self.panels[name].box.setYLink(first)
        self.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self._fitted = False

    def resizeEvent(self, ev) -> None:  # noqa: N802
        """Keep the two columns equally wide (the aspect-locked boxes would not share)."""
        ci = getattr(self, "ci", None)  # resizeEvent runs inside the base constructor too
        if ci is not None:
            half = max((self.width() - 12) / 2.0, 50.0)
            for col in (0, 1):
                ci.layout.setColumnFixedWidth(col, half)
        super().resizeEvent(ev)

    # ------------------------------------------------------------------ drawing
    def box(self, name: str) -> SliceViewBox:
        """The ViewBox of panel ``name`` (``mri``, ``ct``, ``map``, ``fused``)."""
        return self.panels[name].box

    def refresh_geometry(self) -> None:
        """Place images in mm, flip for radiological display, write orientation letters."""
        ws = self.workspace
        if not ws.has_grid:
            return
        x0, y0, w, h = ws.scene_rect()
        rect = QtCore.QRectF(x0, y0, w, h)
        labels = ws.screen_labels()
        flip = ws.flip_columns()
        for panel in self.panels.values():
            panel.box.invertX(flip)
            panel.box.setLimits(
                xMin=x0 - w, xMax=x0 + 2 * w, yMin=y0 - h, yMax=y0 + 2 * h, minXRange=5.0
            )
            for side, item in panel.orient.items():
                item.setText(labels[side])
            panel.place_labels()
        self.box("mri").setRange(rect, padding=0.02)
        self._fitted = True

    def refresh_images(self) -> None:
        """Draw the current slice of every layer with the workspace's windows and overlay."""
        ws = self.workspace
        if not ws.has_grid:
            for panel in self.panels.values():
                panel.image.clear()
                panel.set_message("Open a CT and an MRI (File menu)")
            return
        ct_lo, ct_hi = ws.ct_window.levels
        mr_lo, mr_hi = ws.mr_display_window.levels
        self._show("mri", ws.slice_image("mri"), (mr_lo, mr_hi))
        self._show("ct", ws.slice_image("ct"), (ct_lo, ct_hi))
        fused = ws.slice_image("fused")
        dmap = ws.slice_image("map")
        table = overlay_lut(ws.overlay_colormap)
        table[:, 3] = 255
        self._show("map", dmap, UNIT_LEVELS, lut=table)
        if fused is not None and dmap is not None and ws.overlay_visible:
            # the decision map burned in by the function exports use: the same picture
            picture = overlay_decision_map(
                fused, dmap, opacity=ws.overlay_opacity, colormap=ws.overlay_colormap
            )
            self._show("fused", picture, (0.0, 255.0))
        else:
            self._show("fused", fused, UNIT_LEVELS)
        self.refresh_cursor()

    def _show(self, name: str, image, levels, lut=None) -> None:
        panel = self.panels[name]
        if image is None:
            panel.image.clear()
            panel.set_message("Fusing…" if self.workspace.has_grid else "")
            return
        panel.set_message("")
        panel.image.setImage(np.asarray(image, np.float32), levels=levels, lut=lut)
        panel.image.setRect(self._rect())  # the scale depends on the image size: set after

    def _rect(self) -> QtCore.QRectF:
        return QtCore.QRectF(*self.workspace.scene_rect())

    def refresh_cursor(self) -> None:
        """Move every crosshair to the workspace's mm cursor."""
        ws = self.workspace
        if not ws.has_grid:
            return
        x, y = ws.mm_to_scene(ws.cursor_mm)
        for panel in self.panels.values():
            panel.vline.setPos(x)
            panel.hline.setPos(y)

    def set_readouts(self, texts: dict[str, str]) -> None:
        """Bottom-left text of each panel (value under the mouse)."""
        for name, panel in self.panels.items():
            panel.readout.setText(texts.get(name, ""))
            panel.place_labels()

    def drawn_image(self, name: str) -> np.ndarray | None:
        """The array panel ``name`` currently shows (``None`` when empty)."""
        return self.panels[name].image.image

    # ------------------------------------------------------------------ mouse and drops
    def _on_mouse_moved(self, pos) -> None:
        for panel in self.panels.values():
            if panel.box.sceneBoundingRect().contains(pos):
                p = panel.box.mapSceneToView(pos)
                self.hovered.emit(p.x(), p.y())
                return
        self.hovered.emit(float("nan"), float("nan"))

    def panel_at(self, pos: QtCore.QPointF) -> str:
        """Name of the panel under a widget point (``mri`` when none)."""
        scene_pos = self.mapToScene(pos.toPoint())
        for name, panel in self.panels.items():
            if panel.box.sceneBoundingRect().contains(scene_pos):
                return name
        return "mri"

    def dragEnterEvent(self, ev) -> None:  # noqa: N802
        if ev.mimeData().hasUrls():
            ev.acceptProposedAction()
        else:
            super().dragEnterEvent(ev)

    def dragMoveEvent(self, ev) -> None:  # noqa: N802
        if ev.mimeData().hasUrls():
            ev.acceptProposedAction()
        else:
            super().dragMoveEvent(ev)

    def dropEvent(self, ev) -> None:  # noqa: N802
        urls = ev.mimeData().urls() if ev.mimeData().hasUrls() else []
        paths = [u.toLocalFile() for u in urls if u.isLocalFile()]
        if paths:
            ev.acceptProposedAction()
            self.files_dropped.emit(paths, self.panel_at(ev.position()))
        else:
            super().dropEvent(ev)
