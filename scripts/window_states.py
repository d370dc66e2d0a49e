"""Put the window in a documented state, for screenshots under Xvfb.

Run it on a display (``Xvfb :98 -screen 0 1280x800x24 &``, ``DISPLAY=:98``) with a state name
and the screen size; the window fills the screen (no window manager: no title bar), prints
``READY`` when it shows the state and stays open until killed, so that ``import -window root``
takes the picture (scripts/window_shots.sh does both). Demo pair only (templates, not one
patient). Real mouse events (QTest) drive the tools, as a reader would.

    python scripts/window_states.py fused|planes|check|brush|roi|shortcuts|cancelled 1280x800
"""

from __future__ import annotations

import sys
import time

import numpy as np
from PySide6 import QtCore, QtTest

from brainfuse.gui import Viewer

LEFT, NONE = QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.KeyboardModifier.NoModifier


def _spin(v: Viewer, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        v.app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 50)
        time.sleep(0.02)


def _drag(v: Viewer, panel: str, points: list) -> None:
    """Press on the first point, move through the others, release on the last (LPS mm)."""
    w = v.window
    vp = w.viewers.viewport()
    QtTest.QTest.mousePress(vp, LEFT, NONE, w.tools.viewport_pos(panel, points[0]))
    for p in points[1:]:
        QtTest.QTest.mouseMove(vp, w.tools.viewport_pos(panel, p))
        _spin(v, 0.05)
    QtTest.QTest.mouseRelease(vp, LEFT, NONE, w.tools.viewport_pos(panel, points[-1]))


def main(state: str, size: str) -> None:
    """Show the window in ``state`` at ``size`` (``WxH`` px), print ``READY``, stay open 1 h."""
    width, height = (int(n) for n in size.split("x"))
    v = Viewer(show=True)
    w = v.window
    w.move(0, 0)
    w.resize(width, height)
    ws = v.workspace
    w.open_demo()
    v.wait(600)
    k = ws.slice_index
    _, y, x = ws.shape
    if state == "fused":
        ws.set_cursor_mm(ws.index_to_mm((x * 0.42, y * 0.45, k)))
    elif state == "check":
        w.controller.set_register_mode("rigid")  # held for the check view
        v.wait(600)
        view = w.show_check_view()
        view.move(width // 2 - 450, max(height // 2 - 330, 0))
        view.square.setValue(16)
    elif state == "planes":
        ws.set_cursor_mm(ws.index_to_mm((x * 0.5, y * 0.55, k)))
        ws.set_layout("three", "fused")
    elif state == "brush":
        w.tools.set_tool("brush")
        ws.set_brush(mode="ct", radius_mm=8.0)
        r, c = int(y * 0.45), int(x * 0.5)
        _drag(v, "fused", [ws.index_to_mm((c + d, r, k)) for d in (-6, -3, 0, 3, 6)])
        ws.set_brush(mode="mri", radius_mm=6.0)
        vp = w.viewers.viewport()
        QtTest.QTest.mouseMove(vp, w.tools.viewport_pos("fused", ws.index_to_mm((c, r + 20, k))))
    elif state == "roi":
        w.tools.set_tool("ruler")
        sx = ws.mri_grid.spacing[0]
        a = ws.index_to_mm((x * 0.3, y * 0.84, k))
        b = ws.index_to_mm((x * 0.3 + 40 / sx, y * 0.84, k))
        _drag(v, "ct", [a, (a + b) / 2, b])
        w.tools.set_tool("ellipse")
        a = ws.index_to_mm((x * 0.55, y * 0.55, k))
        b = ws.index_to_mm((x * 0.72, y * 0.7, k))
        _drag(v, "ct", [a, (a + b) / 2, b])
        w.tools.set_tool("navigate")
    elif state == "shortcuts":
        from brainfuse.gui.about import show_shortcuts

        dialog = show_shortcuts(w)
        dialog.resize(560, min(720, height - 60))
        dialog.move(width // 2 - 280, 30)
    elif state == "cancelled":
        ws.set_ct_window("subdural")
        w.flush_pending()
        while ws.fusion is None or ws.fusion.done.sum() < 12:
            _spin(v, 0.05)
        w.cancel()
        v.wait(60)
        v.slice_index = ws.slice_index + 25  # a slice the cancel left
    else:
        raise SystemExit(f"unknown state {state!r}")
    _spin(v, 2.0)
    assert np.isfinite(ws.cursor_mm).all()
    print("READY", flush=True)
    _spin(v, 3600)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "1280x800")
