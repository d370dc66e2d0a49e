"""Edit and Tools menus and the Reader tools dock: brush, undo/redo, edits files, measurements.

A :class:`ReaderMenus` the main window owns builds them once.
The dock holds the tool buttons, the brush (mode, radius in mm, disk or ball) and the
measurement table (:func:`brainfuse.reading.measure.table`, copyable as tab-separated text).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6 import QtGui, QtWidgets

from brainfuse.errors import BrainFuseError
from brainfuse.gui.tools import ToolController
from brainfuse.reading.edit_apply import load_edits, save_edits
from brainfuse.reading.measure import table

if TYPE_CHECKING:
    from brainfuse.gui.main_window import MainWindow
    from brainfuse.reading.workspace import Workspace

__all__ = ["ReaderDock", "ReaderMenus", "load_edits_from", "save_edits_to"]

_TOOL_TEXT = {
    "navigate": "&Navigate (crosshair, pan)",
    "brush": "Decision-map &brush",
    "ruler": "&Ruler",
    "ellipse": "Region: &ellipse",
    "rectangle": "Region: rec&tangle",
}
_TOOL_TIPS = {
    "navigate": "Click to move the crosshair, drag to pan, wheel for slices (Esc)",
    "brush": "Paint the decision map: force CT, force MRI or back to automatic (B)",
    "ruler": "Drag to measure a distance in mm (M)",
    "ellipse": "Drag an ellipse: mean, SD, min, max (HU on the CT) and area",
    "rectangle": "Drag a rectangle: mean, SD, min, max (HU on the CT) and area",
}
_MODE_TEXT = {"ct": "Force &CT", "mri": "Force &MRI", "auto": "Back to &automatic"}


def save_edits_to(window: MainWindow, path: str | Path) -> Path:
    """Write the window's edits as NIfTI on the fusion grid (``brainfuse fuse --edits``)."""
    ws = window.workspace
    if ws.edits is None or ws.mri_grid is None:
        raise BrainFuseError("There are no edits to save: open and fuse a pair first.")
    return save_edits(path, ws.edits, ws.mri_grid, overwrite=True)


def load_edits_from(window: MainWindow, path: str | Path) -> None:
    """Replace the window's edits by an edit volume saved for this grid."""
    ws = window.workspace
    if not ws.has_grid or ws.mri_grid is None:
        raise BrainFuseError("Open and fuse a pair before loading its edits.")
    ws.set_edit_labels(load_edits(path, ws.mri_grid))


def _ask_file(window: MainWindow, save: bool) -> str:
    start = window.settings.last_folder("export")
    kind = "Edit volume (*.nii.gz *.nii)"
    if save:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(window, "Save edits", start, kind)
        if path and not path.endswith((".nii", ".nii.gz")):
            path += ".nii.gz"
        return path
    return QtWidgets.QFileDialog.getOpenFileName(window, "Load edits", start, kind)[0]


def _run_file_action(window: MainWindow, save: bool) -> None:
    path = _ask_file(window, save)
    if not path:
        return
    try:
        (save_edits_to if save else load_edits_from)(window, path)
    except BrainFuseError as exc:
        QtWidgets.QMessageBox.critical(window, "BrainFuse", str(exc))
        return
    window.statusBar().showMessage(f"{'Saved' if save else 'Loaded'} edits: {path}", 8000)


class ReaderDock(QtWidgets.QDockWidget):
    """Tool buttons, brush settings and the measurement table."""

    def __init__(self, window: MainWindow, tools: ToolController) -> None:
        super().__init__("Reader tools", window)
        self.setObjectName("reader-tools")
        self.ws = ws = window.workspace
        body = QtWidgets.QWidget()
        column = QtWidgets.QVBoxLayout(body)
        brush = QtWidgets.QHBoxLayout()
        self.mode = QtWidgets.QComboBox()
        for mode, text in _MODE_TEXT.items():
            self.mode.addItem(text.replace("&", ""), mode)
        self.mode.currentIndexChanged.connect(lambda i: ws.set_brush(mode=self.mode.itemData(i)))
        self.radius = QtWidgets.QDoubleSpinBox()
        self.radius.setRange(0.5, 100.0)
        self.radius.setSuffix(" mm")
        self.radius.setDecimals(1)
        self.radius.setValue(ws.brush_radius_mm)
        self.radius.valueChanged.connect(lambda r: ws.set_brush(radius_mm=r))
        self.ball = QtWidgets.QCheckBox("Ball")
        self.ball.setToolTip("Paint a ball through neighbouring slices, not a disk on this slice")
        self.ball.toggled.connect(lambda on: ws.set_brush(ball=on))
        for w in (self.mode, self.radius, self.ball):
            brush.addWidget(w)
        column.addLayout(brush)
        self.table = QtWidgets.QTableWidget(0, 0)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setWordWrap(True)
        self.table.setHorizontalScrollBarPolicy(QtGui.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        column.addWidget(self.table, 1)
        buttons = QtWidgets.QHBoxLayout()
        copy = QtWidgets.QPushButton("Copy table")
        copy.clicked.connect(self.copy)
        clear = QtWidgets.QPushButton("Clear")
        clear.clicked.connect(lambda: ws.set_measurements([]))
        buttons.addWidget(copy)
        buttons.addWidget(clear)
        column.addLayout(buttons)
        self.setWidget(body)
        ws.brush_changed.connect(self.update_from_workspace)
        ws.measurements_changed.connect(self.fill_table)

    def update_from_workspace(self) -> None:
        """Show the workspace's brush settings (without echoing them back)."""
        for w in (self.mode, self.radius, self.ball):
            w.blockSignals(True)
        self.mode.setCurrentIndex(self.mode.findData(self.ws.brush_mode))
        self.radius.setValue(self.ws.brush_radius_mm)
        self.ball.setChecked(self.ws.brush_ball)
        for w in (self.mode, self.radius, self.ball):
            w.blockSignals(False)

    def table_text(self) -> str:
        """Write the measurements as tab-separated text with a header (``""`` when none)."""
        sources = self.ws.measurement_sources()
        if not self.ws.measurements or not sources:
            return ""
        return table(self.ws.measurements, sources)

    def fill_table(self) -> None:
        """One row per ruler, one per source of each region, in three columns that fit the dock.

        The dock shows "what" and "value" (wrapped, no horizontal scrolling); Copy table gives
        every column of :func:`brainfuse.reading.measure.table` for a report or spreadsheet.
        """
        lines = [line.split("\t") for line in self.table_text().splitlines()]
        self.table.clear()
        self.table.setRowCount(max(len(lines) - 1, 0))
        self.table.setColumnCount(3)
        self.table.setHorizontalHeaderLabels(["#", "Where", "Value"])
        for r, cells in enumerate(lines[1:]):
            row = dict(zip(lines[0], cells, strict=False))
            for c, text in enumerate((row["#"], _where(row), _value(row))):
                self.table.setItem(r, c, QtWidgets.QTableWidgetItem(text))
        self.table.resizeColumnToContents(0)
        self.table.resizeColumnToContents(1)
        self.table.resizeRowsToContents()

    def copy(self) -> None:
        """Put the table on the clipboard (paste into a report or a spreadsheet)."""
        QtWidgets.QApplication.clipboard().setText(self.table_text())


def _where(row: dict[str, str]) -> str:
    """``ellipse, axial 62`` and the source (``CT``) of one measurement row."""
    source = f"\n{row['source'].upper()}" if row.get("source") else ""
    return f"{row['tool']}, {row['plane']} {row['slice']}{source}"


def _value(row: dict[str, str]) -> str:
    """Write the ruler's length, or a region's mean ± SD, range and area, in their units."""
    if row.get("length (mm)"):
        return f"{row['length (mm)']} mm"
    units = row.get("units", "")
    return (
        f"mean {row['mean']} ± {row['SD']} {units}\n"
        f"min {row['min']}, max {row['max']} {units}\n"
        f"area {row['area (mm²)']} mm² ({row['pixels']} px)"
    )


class ReaderMenus:
    """The Edit and Tools menus, the mouse tools and the Reader tools dock of a window.

    Parameters
    ----------
    window : MainWindow
        The window whose menu bar and right dock area get them.
    before : QAction
        The menu bar entry the Edit and Tools menus go before (the View menu's).

    Attributes
    ----------
    tools : ToolController
    dock : ReaderDock
    action_undo, action_redo : QAction
    brush_actions : dict of str to QAction, brush mode -> action
    tool_actions : dict of str to QAction, tool name -> action
    """

    def __init__(self, window: MainWindow, before: QtGui.QAction) -> None:
        ws = self.ws = window.workspace
        self.tools = tools = ToolController(window)
        self.dock = ReaderDock(window, tools)
        window.addDockWidget(QtGui.Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        self.dock.hide()  # shown when a tool is picked or a measurement exists
        tools.tool_changed.connect(lambda _name: self.fit_dock())
        ws.measurements_changed.connect(self.fit_dock)
        bar = window.menuBar()
        edit = QtWidgets.QMenu("&Edit", window)
        bar.insertMenu(before, edit)
        self.action_undo = edit.addAction("&Undo edit", ws.undo)
        self.action_undo.setShortcut(QtGui.QKeySequence("Ctrl+Z"))
        self.action_redo = edit.addAction("&Redo edit", ws.redo)
        self.action_redo.setShortcut(QtGui.QKeySequence("Ctrl+Shift+Z"))
        edit.addSeparator()
        modes = QtGui.QActionGroup(window)
        self.brush_actions: dict[str, QtGui.QAction] = {}
        for mode, text in _MODE_TEXT.items():
            act = edit.addAction(f"Brush: {text}")
            act.setCheckable(True)
            act.setChecked(mode == ws.brush_mode)
            act.triggered.connect(_brush_in(ws, tools, mode))
            modes.addAction(act)
            self.brush_actions[mode] = act
        self.ball = edit.addAction("Brush: ball through slices")
        self.ball.setCheckable(True)
        self.ball.toggled.connect(lambda on: ws.set_brush(ball=on))
        edit.addAction("Brush radius…", lambda: _ask_radius(window))
        edit.addSeparator()
        edit.addAction("C&lear edits", ws.clear_edits)
        edit.addAction("&Save edits…", lambda: _run_file_action(window, True))
        edit.addAction("L&oad edits…", lambda: _run_file_action(window, False))
        ws.edits_changed.connect(lambda _box: self.sync())
        ws.brush_changed.connect(self.sync)
        self.sync()
        self.tool_actions = self._tools_menu(window, before)

    def fit_dock(self) -> None:
        """Show the Reader tools dock while a reading tool is picked or measurements exist.

        Navigating with nothing measured gives its width back to the viewers (a 1280-pixel
        screen holds four viewers and the side panel, not an empty dock besides).
        """
        wanted = self.tools.tool != "navigate" or bool(self.ws.measurements)
        self.dock.setVisible(wanted)

    def sync(self) -> None:
        """Enable Undo/Redo and check the brush entries as the workspace says."""
        ws = self.ws
        self.action_undo.setEnabled(ws.edits is not None and ws.edits.can_undo)
        self.action_redo.setEnabled(ws.edits is not None and ws.edits.can_redo)
        self.brush_actions[ws.brush_mode].setChecked(True)
        self.ball.blockSignals(True)
        self.ball.setChecked(ws.brush_ball)
        self.ball.blockSignals(False)

    def _tools_menu(self, window: MainWindow, before: QtGui.QAction) -> dict[str, QtGui.QAction]:
        menu = QtWidgets.QMenu("&Tools", window)
        window.menuBar().insertMenu(before, menu)
        group = QtGui.QActionGroup(window)
        actions: dict[str, QtGui.QAction] = {}
        keys = {"navigate": "Esc", "brush": "B", "ruler": "M"}
        tools = self.tools
        for name, text in _TOOL_TEXT.items():
            act = menu.addAction(text)
            act.setCheckable(True)
            act.setChecked(name == tools.tool)
            if name in keys:
                act.setShortcut(QtGui.QKeySequence(keys[name]))
            act.triggered.connect(lambda _=False, n=name: tools.set_tool(n))
            group.addAction(act)
            actions[name] = act
        tools.tool_changed.connect(lambda n: actions[n].setChecked(True))
        # the same actions one click away, the active one checked; in the menu bar's corner,
        # so that the viewers and the side panel keep their height
        bar = QtWidgets.QToolBar("Tools", window)
        bar.setObjectName("reader-toolbar")
        window.menuBar().setCornerWidget(bar, QtGui.Qt.Corner.TopRightCorner)
        for name, act in actions.items():
            act.setToolTip(_TOOL_TIPS[name])
            bar.addAction(act)
        self.toolbar = bar
        menu.addAction(self.dock.toggleViewAction())
        menu.addSeparator()
        copy = menu.addAction("&Copy measurements", self.dock.copy)
        copy.setShortcut(QtGui.QKeySequence("Ctrl+Shift+C"))
        menu.addAction("Clear &measurements", lambda: self.ws.set_measurements([]))
        return actions


def _brush_in(ws: Workspace, tools: ToolController, mode: str) -> Callable[..., None]:
    """Make the slot that picks brush ``mode`` (and the brush tool) from a menu entry."""

    def pick(*_: object) -> None:
        ws.set_brush(mode=mode)
        tools.set_tool("brush")

    return pick


def _ask_radius(window: MainWindow) -> None:
    ws = window.workspace
    r, ok = QtWidgets.QInputDialog.getDouble(
        window, "Brush radius", "Radius (mm):", ws.brush_radius_mm, 0.5, 100.0, 1
    )
    if ok:
        ws.set_brush(radius_mm=r)
