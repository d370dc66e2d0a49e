"""Fixtures for window tests: a small crop of the demo pair and a window with private settings."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")


def crop(volume, k0: int, k1: int, rows: slice = slice(None), cols: slice = slice(None)):
    """Slices ``k0:k1`` (and a row/column window) of a volume, origin moved to match."""
    j0 = rows.start or 0
    i0 = cols.start or 0
    origin = volume.affine @ np.array([i0, j0, k0, 1.0])
    return volume.with_array(volume.array[k0:k1, rows, cols].copy(), origin=tuple(origin[:3]))


@pytest.fixture(scope="session")
def demo():
    """The shipped demo pair (CT in HU, MRI), full size."""
    from brainfuse.io import demo_pair

    return demo_pair()


@pytest.fixture(scope="session")
def small_pair(demo):
    """Six mid-brain slices of the demo pair, in-plane as shipped (fast to fuse)."""
    ct, mri = demo
    k = ct.n_slices // 2
    return crop(ct, k - 3, k + 3), crop(mri, k - 3, k + 3)


@pytest.fixture
def settings(tmp_path):
    from PySide6 import QtCore

    from brainfuse.gui.settings import Settings

    return Settings(QtCore.QSettings(str(tmp_path / "brainfuse.ini"), QtCore.QSettings.IniFormat))


@pytest.fixture
def window(qtbot, settings):
    from brainfuse.gui.app import apply_dark_theme
    from brainfuse.gui.main_window import MainWindow

    apply_dark_theme(qtbot_app())
    win = MainWindow(settings=settings)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.runner.cancel_all()
    qtbot.waitUntil(lambda: not win.runner.is_running(), timeout=30000)


def qtbot_app():
    from PySide6 import QtWidgets

    return QtWidgets.QApplication.instance()


@pytest.fixture
def fused_window(qtbot, window, small_pair):
    """A window showing the small pair, fully fused."""
    with qtbot.waitSignal(window.fusion_finished, timeout=120000):
        window.set_pair(*small_pair)
    return window
