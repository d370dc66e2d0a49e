"""File › Save view as image: the four panels (or one) as drawn, with a one-line caption, PNG.

The picture is the viewers as on screen (orientation letters, crosshair, scale bars, edit
outlines and measurements included) over a caption strip: sources, fusion rule, windows,
slice. For a report or a teaching file.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6 import QtCore, QtGui, QtWidgets

from brainfuse.errors import BrainFuseError

if TYPE_CHECKING:
    from brainfuse.gui.main_window import MainWindow
    from brainfuse.reading.workspace import Workspace

__all__ = ["add_view_image_action", "save_view_image", "view_caption"]


def view_caption(ws: Workspace) -> str:
    """One line: sources, rule, windows, slice (e.g. for the caption of a saved view)."""
    names = " + ".join(_short(v.name) for v in (ws.ct, ws.mri) if v is not None) or "no images"
    rule = "CNN decision map"
    if ws.has_edits:
        rule += " (edited by hand)"
    if ws.device:
        rule += f" on {ws.device}"
    return (
        f"{names} | {rule} | CT {ws.ct_window.describe()}, MRI "
        f"{ws.mr_display_window.describe()} | {ws.view_plane} slice {ws.slice_index + 1}/"
        f"{ws.n_slices}" + (" | demo: templates, not one patient" if ws.is_demo else "")
    )


def _short(name: str, limit: int = 28) -> str:
    """Cut a source name to ``limit`` characters (with an ellipsis) to keep the caption one line."""
    return name if len(name) <= limit else name[: limit - 1].rstrip() + "…"


def save_view_image(window: MainWindow, path: str | Path, panel: str | None = None) -> Path:
    """Write the view (every panel, or ``panel``: ``mri``, ``ct``, ``map``, ``fused``) as PNG.

    Raises
    ------
    BrainFuseError
        Nothing to show yet, an unknown panel, or the file cannot be written.
    """
    ws = window.workspace
    if not ws.has_grid:
        raise BrainFuseError("Open a CT and an MRI before saving the view.")
    viewers = window.viewers
    QtWidgets.QApplication.processEvents()
    if panel is None:
        picture = viewers.grab()
    elif panel in viewers.panels:
        box = viewers.panels[panel].box
        picture = viewers.grab(viewers.mapFromScene(box.sceneBoundingRect()).boundingRect())
    else:
        raise BrainFuseError(f"Unknown panel {panel!r}; use one of {sorted(viewers.panels)}.")
    caption = view_caption(ws)
    font = QtGui.QFont()
    for size in (10, 9, 8, 7):  # the largest type that keeps the caption on one line
        font.setPointSize(size)
        if QtGui.QFontMetrics(font).horizontalAdvance(caption) <= picture.width() - 12:
            break
    metrics = QtGui.QFontMetrics(font)
    caption = metrics.elidedText(caption, QtCore.Qt.TextElideMode.ElideMiddle, picture.width() - 12)
    height = metrics.height() + 10
    image = QtGui.QImage(
        picture.width(), picture.height() + height, QtGui.QImage.Format.Format_RGB32
    )
    image.fill(QtGui.QColor(0, 0, 0))
    painter = QtGui.QPainter(image)
    painter.drawPixmap(0, 0, picture)
    painter.setFont(font)
    painter.setPen(QtGui.QColor(230, 230, 230))
    strip = QtCore.QRect(6, picture.height(), picture.width() - 12, height)
    flags = QtCore.Qt.AlignmentFlag.AlignVCenter | QtCore.Qt.AlignmentFlag.AlignLeft
    painter.drawText(strip, int(flags), caption)
    painter.end()
    path = Path(path).with_suffix(".png") if Path(path).suffix.lower() != ".png" else Path(path)
    if not image.save(str(path)):  # PNG, from the suffix
        raise BrainFuseError(f"Could not write the view image to '{path}'.")
    return path


def add_view_image_action(window: MainWindow, menu: QtWidgets.QMenu) -> QtGui.QAction:
    """Add ``Save view as image…`` to ``menu`` (all panels, or the one chosen); return it."""

    def ask() -> None:
        choices = ["All four panels", "MRI", "CT", "Decision map", "Fused"]
        keys = [None, "mri", "ct", "map", "fused"]
        choice, ok = QtWidgets.QInputDialog.getItem(
            window, "Save view as image", "Panels:", choices, 0, False
        )
        if not ok:
            return
        start = window.settings.last_folder("export")
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            window, "Save view as image", start, "PNG image (*.png)"
        )
        if not path:
            return
        try:
            written = save_view_image(window, path, keys[choices.index(choice)])
        except BrainFuseError as exc:
            QtWidgets.QMessageBox.critical(window, "BrainFuse", str(exc))
            return
        window.statusBar().showMessage(f"Saved view: {written}", 8000)

    return menu.addAction("Save &view as image…", ask)
