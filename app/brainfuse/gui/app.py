"""Start the Qt application: dark clinical theme, main window, optional pair from the CLI."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from PySide6 import QtCore, QtGui, QtWidgets

from brainfuse._runtime.heap import one_malloc_arena
from brainfuse._runtime.startup import startup_mark

__all__ = ["application", "apply_dark_theme", "run_app"]

_STYLE = """
QLabel#hint { color: #9a9a9a; font-size: 9pt; }
QGroupBox { font-weight: bold; border: 1px solid #3c3c3c; border-radius: 4px;
            margin-top: 1.2em; padding-top: 0.3em; }
QGroupBox::title { subcontrol-origin: margin; left: 8px; padding: 0 3px; }
QStatusBar QLabel { padding: 0 6px; }
"""


def apply_dark_theme(app: QtWidgets.QApplication) -> None:
    """Fusion style with a dark palette, as radiology workstations use around images."""
    app.setStyle("Fusion")
    p = QtGui.QPalette()
    c = QtGui.QColor
    roles = QtGui.QPalette.ColorRole
    for role, colour in (
        (roles.Window, c(37, 37, 38)),
        (roles.WindowText, c(220, 220, 220)),
        (roles.Base, c(25, 25, 26)),
        (roles.AlternateBase, c(45, 45, 48)),
        (roles.ToolTipBase, c(50, 50, 50)),
        (roles.ToolTipText, c(230, 230, 230)),
        (roles.Text, c(220, 220, 220)),
        (roles.Button, c(50, 50, 52)),
        (roles.ButtonText, c(220, 220, 220)),
        (roles.BrightText, c(255, 80, 80)),
        (roles.Highlight, c(42, 130, 218)),
        (roles.HighlightedText, c(255, 255, 255)),
        (roles.Link, c(90, 160, 230)),
    ):
        p.setColor(role, colour)
    p.setColor(QtGui.QPalette.ColorGroup.Disabled, roles.Text, c(120, 120, 120))
    p.setColor(QtGui.QPalette.ColorGroup.Disabled, roles.ButtonText, c(120, 120, 120))
    app.setPalette(p)
    app.setStyleSheet(_STYLE)


def application() -> QtWidgets.QApplication:
    """Return the running QApplication, created (and themed) on first use.

    Creating it is where a window process starts (:func:`run_app`, or a script's
    :class:`~brainfuse.gui.viewer.Viewer`), so the window's one allocator setting is made
    here, before Qt or the fusion start a worker thread: every thread allocates from glibc's
    main arena, so that :func:`brainfuse._runtime.heap.return_free_memory` reaches all free
    pages after each fusion (:mod:`brainfuse._runtime.heap` says why).
    """
    running = QtWidgets.QApplication.instance()
    if isinstance(running, QtWidgets.QApplication):
        return running
    if running is not None:
        raise RuntimeError("a non-GUI QCoreApplication is running; the window needs QApplication")
    one_malloc_arena()
    # high-DPI screens: Qt 6 scales by the screen's factor; keep fractional factors (150 %)
    # as they are instead of rounding them to 1 or 2, so text and viewers keep their size
    QtGui.QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
        QtCore.Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
    )
    app = QtWidgets.QApplication(sys.argv[:1])
    app.setApplicationName("BrainFuse")
    app.setOrganizationName("BrainFuse")
    apply_dark_theme(app)
    icon = _icon_path()
    if icon is not None:
        app.setWindowIcon(QtGui.QIcon(str(icon)))
    return app


def _icon_path():
    """``resources/icons/brainfuse.svg`` if installed (the window works without it)."""
    from brainfuse._runtime.resources import resource_path

    try:
        path = resource_path("resources") / "icons" / "brainfuse.svg"
    except FileNotFoundError:
        return None
    return path if path.is_file() else None


def run_app(
    argv: Sequence[str] = (), *, ct: str | None = None, mri: str | None = None, demo: bool = False
) -> int:
    """Open the window (with a CT/MRI pair or the demo pair) and run the event loop.

    Parameters
    ----------
    argv : sequence of str
        Extra Qt arguments (unused today; kept for ``brainfuse`` with no subcommand).
    ct, mri : str, optional
        Files or DICOM folders to open at start.
    demo : bool
        Open the built-in demo pair.

    Returns
    -------
    int
        The event loop's exit status.
    """
    app = application()
    from brainfuse.gui.main_window import MainWindow

    window = MainWindow()
    window.show()
    QtCore.QTimer.singleShot(0, startup_mark("window-shown"))  # once the loop has shown it
    window.fusion_finished.connect(startup_mark("first-fusion"))
    if window.recovery.offer() is not None:  # a crashed BrainFuse left unsaved work
        return int(app.exec())
    if demo:
        window.open_demo()
    else:
        if ct:
            window.open_ct(ct)
        if mri:
            window.open_mri(mri)
    return int(app.exec())
