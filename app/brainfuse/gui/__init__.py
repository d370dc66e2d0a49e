"""The BrainFuse window (PySide6 + pyqtgraph + superqt): shows and asks, the core works.

State lives in the Qt-free :class:`brainfuse.workspace.Workspace`; this package is its view.
"""

from __future__ import annotations

# first: PySide6 6.12.0's emit() loses a reference to True; importing the guard fixes it
from brainfuse.gui import qt_guard  # noqa: F401
from brainfuse.gui.app import run_app
from brainfuse.gui.main_window import MainWindow
from brainfuse.gui.viewer import Viewer

__all__ = ["MainWindow", "Viewer", "run_app"]
