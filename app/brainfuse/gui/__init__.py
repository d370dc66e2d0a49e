"""The BrainFuse window (PySide6 + pyqtgraph + superqt): shows and asks, the core works.

State lives in the Qt-free :class:`brainfuse.reading.workspace.Workspace`; this package is its view.
"""

from __future__ import annotations

from brainfuse._runtime.heap import one_malloc_arena

# first: PySide6 6.12.0's emit() loses a reference to True; importing the guard fixes it
from brainfuse.gui import qt_guard  # noqa: F401

# before any worker thread allocates: one malloc arena, so that return_free_memory reaches
# every free page after each fusion (issue 17; brainfuse/heap.py says why)
one_malloc_arena()

from brainfuse.gui.app import run_app  # noqa: E402
from brainfuse.gui.main_window import MainWindow  # noqa: E402
from brainfuse.gui.viewer import Viewer  # noqa: E402

__all__ = ["MainWindow", "Viewer", "run_app"]
