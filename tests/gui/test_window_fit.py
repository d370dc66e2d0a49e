"""The window at 1280x800: viewers, controls and readouts seen without scrolling; the Reader
tools dock only while a tool is in use; the active tool checked; a table without side-scrolling."""

from __future__ import annotations

from PySide6 import QtCore

from .conftest import settle
from .test_window_brush import _press_release


def _inside(widget, area) -> bool:
    """Tell whether ``widget`` lies wholly inside ``area``'s visible rectangle."""
    top_left = widget.mapTo(area, QtCore.QPoint(0, 0))
    return area.rect().contains(QtCore.QRect(top_left, widget.size()))


def test_controls_and_readouts_are_seen_without_scrolling_at_1280x800(qtbot, window, small_pair):
    window.resize(1280, 800)
    with qtbot.waitSignal(window.fusion_finished, timeout=120000):
        window.set_pair(*small_pair, demo=True)  # the demo's note makes the Images box longest
    settle()
    qtbot.waitUntil(lambda: window.readouts.labels["ssim"].text() != "–", timeout=30000)
    viewport = window.side_panel.viewport()
    shown = [
        window.slice_control.slider,
        window.window_control.preset,
        window.overlay_control.kind,
        *window.readouts.labels.values(),
        window.readouts.extra_button,
    ]
    assert all(_inside(w, viewport) for w in shown), [w.objectName() for w in shown]
    assert window.side_panel.verticalScrollBar().maximum() == 0  # nothing below the fold
    assert not window.reader_dock.isVisible()  # no empty dock beside the viewers
    assert window.viewers.width() >= 800  # the four viewers keep most of the width


def test_the_tools_dock_comes_with_a_tool_and_the_tool_is_checked(fused_window, qtbot):
    window, ws = fused_window, fused_window.workspace
    actions = window.menus.reader.tool_actions
    assert actions["navigate"].isChecked() and not window.reader_dock.isVisible()
    toolbar = window.menus.reader.toolbar
    assert all(a in toolbar.actions() for a in actions.values())  # one click away
    actions["ruler"].trigger()
    assert window.tools.tool == "ruler" and actions["ruler"].isChecked()
    assert window.reader_dock.isVisible()
    actions["navigate"].trigger()
    assert not window.reader_dock.isVisible()  # nothing measured: the dock goes again

    # a region's statistics fit the dock's width (no horizontal scrolling)
    _, y, x = ws.shape
    k = ws.slice_index
    sx, sy, _ = ws.mri_grid.spacing
    window.tools.set_tool("ellipse")
    a = ws.index_to_mm((x / 2 - 8 / sx, y / 2 - 8 / sy, k))
    b = ws.index_to_mm((x / 2 + 8 / sx, y / 2 + 8 / sy, k))
    _press_release(qtbot, window, a, panel="fused", moves=[b])
    assert len(ws.measurements) == 1
    table = window.reader_dock.table
    assert table.rowCount() == 2  # the CT's HU and the MRI's values
    assert "HU" in table.item(0, 2).text() and "mean" in table.item(0, 2).text()
    assert table.horizontalHeader().length() <= table.viewport().width()
    # a ruler ending near the top-right corner: its label opens inwards, inside the viewer
    window.tools.set_tool("ruler")
    corner = ws.index_to_mm((x * 0.97, y * 0.03, k))
    _press_release(qtbot, window, ws.index_to_mm((x / 2, y / 2, k)), panel="ct", moves=[corner])
    box = window.viewers.panels["ct"].box
    label = window.tools.panels["ct"].drawn[-1]
    assert box.sceneBoundingRect().contains(label.sceneBoundingRect())
    window.tools.set_tool("navigate")
    assert window.reader_dock.isVisible()  # measurements are there to read


def test_the_status_bar_says_one_line_per_export(window, tmp_path):
    series = tmp_path / "series"
    paths = [series / f"{k:04d}.dcm" for k in range(1, 189)] + [series / "decision_map_seg.dcm"]
    window.controller.exported.emit(paths)
    message = window.statusBar().currentMessage()
    assert message == f"Exported: 189 DICOM files to {series}"


def test_empty_viewers_show_no_crosshair_and_no_scale_bar(window, qtbot, small_pair):
    from PySide6 import QtWidgets

    QtWidgets.QApplication.processEvents()
    for name, panel in window.viewers.panels.items():
        assert not panel.vline.isVisible() and not panel.hline.isVisible(), name
        assert window.tools.panels[name].scale_bar_mm() is None, name
    with qtbot.waitSignal(window.fusion_finished, timeout=120000):
        window.set_pair(*small_pair)
    QtWidgets.QApplication.processEvents()
    for name, panel in window.viewers.panels.items():
        assert panel.vline.isVisible(), name
        assert window.tools.panels[name].scale_bar_mm() is not None, name
