"""Regenerate docs/reader_brush.png, docs/reader_measure.png and docs/reader_view.png (issue 15).

The window with the demo pair (templates, never atlas data) under a virtual display: a brush
stroke forcing the CT with the circle of the next brush (force MRI) under the mouse and the
edit outlined; a 40 mm ruler and an ellipse region with the measurement table; the view saved
by File > Save view as image. Real mouse events (QTest) drive the tools, as a reader would.

Usage::

    Xvfb :98 -screen 0 1600x1000x24 &
    DISPLAY=:98 python scripts/reader_screenshots.py docs
"""

import subprocess
import sys
import time

import numpy as np
from PySide6 import QtCore, QtTest
from scipy import ndimage

from brainfuse.gui.viewer import Viewer

out = sys.argv[1] if len(sys.argv) > 1 else "docs"
v = Viewer(show=True)
w = v.window
w.resize(1560, 960)
w.move(0, 0)
v.window.open_demo()
v.wait(timeout=300)
ws = v.workspace
app = v.app


def pump(n=30):
    """Process the Qt application's events ``n`` times, sleeping 20 ms after each."""
    for _ in range(n):
        app.processEvents()
        time.sleep(0.02)


def shot(name):
    """Let the window settle, then save the screen to ``<out>/reader_<name>.png``."""
    pump()
    subprocess.run(["import", "-window", "root", f"{out}/reader_{name}.png"], check=True)


k = ws.slice_index
# find an MRI-taken region near the centre

dm = ws.fusion.decision_map[k]
yy, xx = np.mgrid[-9:10, -9:10]
er = ndimage.binary_erosion(dm == 0, structure=(xx**2 + yy**2) <= 81)
rows, cols = np.nonzero(er)
y, x = ws.shape[1:]
n = np.argmin((rows - y * 0.45) ** 2 + (cols - x / 2) ** 2)
r, c = int(rows[n]), int(cols[n])
w.tools.set_tool("brush")
ws.set_brush(mode="ct", radius_mm=8.0)
vp = w.viewers.viewport()
pts = [ws.index_to_mm((c + d, r, k)) for d in (-6, -3, 0, 3, 6)]
LEFT, NONE = QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.KeyboardModifier.NoModifier


def drag(panel, points):
    """Press on the first point, move through the others, release on the last (LPS mm)."""
    QtTest.QTest.mousePress(vp, LEFT, NONE, w.tools.viewport_pos(panel, points[0]))
    for p in points[1:]:
        QtTest.QTest.mouseMove(vp, w.tools.viewport_pos(panel, p))
        pump(3)
    QtTest.QTest.mouseRelease(vp, LEFT, NONE, w.tools.viewport_pos(panel, points[-1]))


drag("fused", pts)
ws.set_brush(mode="mri", radius_mm=6.0)
QtTest.QTest.mouseMove(vp, w.tools.viewport_pos("fused", ws.index_to_mm((c - 25, r + 20, k))))
shot("brush")
print("edited", ws.edits.counts())

w.tools.set_tool("ruler")
a = ws.index_to_mm((x * 0.25, y * 0.7, k))
b = ws.index_to_mm((x * 0.25 + 40 / 1.5, y * 0.7, k))
drag("ct", [a, (a + b) / 2, b])
w.tools.set_tool("ellipse")
a = ws.index_to_mm((x * 0.55, y * 0.55, k))
b = ws.index_to_mm((x * 0.7, y * 0.68, k))
drag("ct", [a, (a + b) / 2, b])
w.tools.set_tool("navigate")
shot("measure")
print(w.reader_dock.table_text())
p = v.save_view(f"{out}/reader_view.png")
print("saved", p)
v.close()
