"""The BrainFuse window (PySide6 + pyqtgraph + superqt): shows and asks, the core works.

State lives in the Qt-free :class:`brainfuse.reading.workspace.Workspace`; this package is its view.
Importing it changes no process setting: :func:`run_app` applies the window's own.
"""

from __future__ import annotations

from brainfuse.gui.app import run_app
from brainfuse.gui.main_window import MainWindow
from brainfuse.gui.viewer import Viewer

__all__ = ["MainWindow", "Viewer", "run_app"]
