"""What the reader's tools draw on a viewer: brush circle, edit outline, measurements, scale bar.

Items live in a panel's ViewBox in scene millimetres (the viewers' coordinates, see
:mod:`brainfuse.reading.workspace`), so they pan, zoom and mirror with the image; the scale bar is
fixed on the screen (a child of the box, like the orientation letters).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from brainfuse.reading.measure import Region, Ruler, scale_bar

__all__ = ["OUTLINE_COLOURS", "PanelTools", "outline_rgba"]

#: Outline colours (RGBA) of regions forced to the CT (label 1) and to the MRI (label 2).
OUTLINE_COLOURS = {1: (255, 150, 0, 255), 2: (0, 210, 255, 255)}
_BRUSH_COLOURS = {"ct": (255, 150, 0), "mri": (0, 210, 255), "auto": (230, 230, 230)}
_MEASURE_COLOUR = QtGui.QColor(120, 255, 120)
_TEXT = QtGui.QColor(230, 230, 230)


def outline_rgba(edges: np.ndarray) -> np.ndarray:
    """Draw an (H, W, 4) uint8 picture of edit edges (1 CT, 2 MRI), transparent elsewhere."""
    table = np.zeros((256, 4), np.uint8)
    for label, colour in OUTLINE_COLOURS.items():
        table[label] = colour
    return table[np.asarray(edges, np.uint8)]


def _pen(colour, width: float = 1.5, style=QtCore.Qt.PenStyle.SolidLine) -> QtGui.QPen:
    pen = QtGui.QPen(QtGui.QColor(*colour) if isinstance(colour, tuple) else colour)
    pen.setCosmetic(True)  # width in screen pixels at any zoom
    pen.setWidthF(width)
    pen.setStyle(style)
    return pen


class PanelTools:
    """The tool items of one panel (a :class:`~brainfuse.gui.viewer_grid.SliceViewBox`)."""

    def __init__(self, box: pg.ViewBox, has_images: Callable[[], bool] = lambda: True) -> None:
        self.box = box
        self.has_images = has_images  # False while no pair is open: no scale bar
        self.circle = QtWidgets.QGraphicsEllipseItem()
        self.circle.setZValue(40)
        self.circle.setVisible(False)
        box.addItem(self.circle, ignoreBounds=True)
        self.outline = pg.ImageItem(axisOrder="row-major")
        self.outline.setZValue(15)
        box.addItem(self.outline, ignoreBounds=True)
        self.drawn: list[QtWidgets.QGraphicsItem] = []  # measurements on this slice
        self.draft: QtWidgets.QGraphicsItem | None = None  # the one being drawn
        self.bar = QtWidgets.QGraphicsLineItem(box)
        self.bar.setPen(_pen((255, 255, 255), 2.0))
        self.bar.setZValue(100)
        self.bar_text = QtWidgets.QGraphicsSimpleTextItem(box)
        font = QtGui.QFont()
        font.setPointSize(9)
        self.bar_text.setFont(font)
        self.bar_text.setBrush(QtGui.QBrush(_TEXT))
        self.bar_text.setZValue(100)
        box.sigTransformChanged.connect(self.place_scale_bar)
        box.sigResized.connect(self.place_scale_bar)

    # ------------------------------------------------------------------ brush and outline
    def show_circle(self, x: float, y: float, radius_mm: float, mode: str) -> None:
        """Draw the brush under the cursor: a circle of ``radius_mm`` at scene point (x, y)."""
        self.circle.setRect(
            QtCore.QRectF(x - radius_mm, y - radius_mm, 2 * radius_mm, 2 * radius_mm)
        )
        self.circle.setPen(_pen(_BRUSH_COLOURS.get(mode, (230, 230, 230)), 1.5))
        self.circle.setVisible(True)

    def hide_circle(self) -> None:
        """Hide the brush circle."""
        self.circle.setVisible(False)

    def show_outline(self, edges: np.ndarray | None, rect: QtCore.QRectF) -> None:
        """Edges of the edited regions (``None``: none), placed like the images."""
        if edges is None or not edges.any():
            self.outline.clear()
            return
        self.outline.setImage(outline_rgba(edges), levels=(0, 255), autoLevels=False)
        self.outline.setRect(rect)

    # ------------------------------------------------------------------ measurements
    def clear_measurements(self) -> None:
        """Remove every drawn measurement."""
        for item in self.drawn:
            self.box.removeItem(item)
        self.drawn = []

    def add_measurement(
        self, m: Ruler | Region, points: list[tuple[float, float]], text: str
    ) -> None:
        """Draw a measurement whose end points / corners are ``points`` (scene mm)."""
        item = _shape_item(m, points, _pen(_MEASURE_COLOUR, 2.0))
        label = pg.TextItem(text, color=(120, 255, 120), anchor=self._anchor(points[-1]))
        label.setPos(*points[-1])
        for it in (item, label):
            it.setZValue(45)
            self.box.addItem(it, ignoreBounds=True)
            self.drawn.append(it)
        view, box = self.box.sceneBoundingRect(), label.sceneBoundingRect()
        if box.left() < view.left():  # cut at the left edge: open to the right instead
            label.setAnchor((0.0, label.anchor.y()))
        elif box.right() > view.right():
            label.setAnchor((1.0, label.anchor.y()))

    def _anchor(self, point: tuple[float, float]) -> tuple[float, float]:
        """Anchor a label so it opens towards the middle of the view (never cut at an edge).

        Right of the middle the text ends at the point, left of it starts there; in the top
        fifth of the view (y grows downwards) it hangs below the point, else sits above it.
        """
        (x0, x1), (y0, y1) = self.box.viewRange()
        ax = 1.0 if point[0] > (x0 + x1) / 2 else 0.0
        ay = 0.0 if point[1] < y0 + (y1 - y0) / 5 else 1.0
        return ax, ay

    def show_draft(self, m: Ruler | Region | None, points: list[tuple[float, float]]) -> None:
        """Draw the ruler or region being dragged (``None`` removes it)."""
        if self.draft is not None:
            self.box.removeItem(self.draft)
            self.draft = None
        if m is not None:
            style = QtCore.Qt.PenStyle.DashLine
            self.draft = _shape_item(m, points, _pen(_MEASURE_COLOUR, 1.5, style))
            self.draft.setZValue(45)
            self.box.addItem(self.draft, ignoreBounds=True)

    # ------------------------------------------------------------------ scale bar
    def place_scale_bar(self, *_args) -> None:
        """Place a round length (1, 2 or 5 × 10^n mm), at most a quarter of the view, bottom right."""
        r = self.box.boundingRect()
        mm_per_px = abs(self.box.viewPixelSize()[0])
        if not (mm_per_px > 0 and r.width() > 20 and self._shows_an_image()):
            self.bar.setVisible(False)
            self.bar_text.setVisible(False)
            return
        mm, px = scale_bar(mm_per_px, r.width() / 4.0)
        pad = 8.0
        x1, y = r.width() - pad, r.height() - pad - 18.0
        self.bar.setLine(x1 - px, y, x1, y)
        self.bar_text.setText(f"{mm:g} mm")
        w = self.bar_text.boundingRect().width()
        self.bar_text.setPos(x1 - px / 2 - w / 2, y + 2)
        self.bar.setVisible(True)
        self.bar_text.setVisible(True)

    def _shows_an_image(self) -> bool:
        """Tell whether the panel has images to show (an empty viewer gets no scale bar)."""
        return self.has_images()

    def scale_bar_mm(self) -> float | None:
        """Return the length the scale bar shows, mm (``None`` while hidden)."""
        if not self.bar.isVisible():
            return None
        return float(self.bar_text.text().split()[0])


def _shape_item(
    m: Ruler | Region, points: list[tuple[float, float]], pen: QtGui.QPen
) -> QtWidgets.QGraphicsItem:
    (x0, y0), (x1, y1) = points[0], points[-1]
    if isinstance(m, Ruler):
        item: QtWidgets.QAbstractGraphicsShapeItem | QtWidgets.QGraphicsLineItem
        item = QtWidgets.QGraphicsLineItem(x0, y0, x1, y1)
        item.setPen(pen)
        return item
    rect = QtCore.QRectF(QtCore.QPointF(x0, y0), QtCore.QPointF(x1, y1)).normalized()
    if m.shape == "ellipse":
        item = QtWidgets.QGraphicsEllipseItem(rect)
    else:
        item = QtWidgets.QGraphicsRectItem(rect)
    item.setPen(pen)
    return item
