"""Fixtures for window tests: a small crop of the demo pair and a window with private settings."""

from __future__ import annotations

import threading

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
    # closing asks about unsaved edits; when the test has ended, there is no one to answer
    qtbot.addWidget(win, before_close_func=lambda w: w.workspace.mark_saved())
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.runner.cancel_all()
    qtbot.waitUntil(lambda: not win.runner.is_running(), timeout=30000)
    _thaw()


def _thaw() -> None:
    """Undo the window's once-per-process ``gc.freeze`` (made when its model has loaded).

    A window process freezes the long-lived objects once; in a test session the next tests'
    objects would otherwise form cycles through frozen ones that no collection examines, and
    a test that counts what a finished task leaves behind would see them held.
    """
    import gc

    from brainfuse._runtime import heap

    gc.unfreeze()
    heap._frozen = False


def qtbot_app():
    from PySide6 import QtWidgets

    return QtWidgets.QApplication.instance()


@pytest.fixture
def fused_window(qtbot, window, small_pair):
    """A window showing the small pair, fully fused."""
    with qtbot.waitSignal(window.fusion_finished, timeout=120000):
        window.set_pair(*small_pair)
    return window


class FusionGate:
    """Holds fusion workers after ``after`` slices until the test releases them.

    The test, not the scheduler, decides when a worker goes on. Every call of
    :meth:`brainfuse.pipeline.PairFusion.steps` is a run (a fusion, a re-fusion, a resume),
    counted from 1; the runs in ``hold`` (default the first) are held: ``reached(run)`` is
    set once that worker waits, ``done[run]`` is how many slices its fusion had by then,
    and it goes on when the test calls ``release(run)``.
    """

    def __init__(self, runs: int = 8) -> None:
        self.after = 2
        self.hold = {1}
        self.runs = 0
        self.done: dict[int, int] = {}
        self._reached = {r: threading.Event() for r in range(1, runs + 1)}
        self._release = {r: threading.Event() for r in range(1, runs + 1)}

    def reached(self, run: int = 1) -> bool:
        """Tell whether the worker of ``run`` is held now (or was)."""
        return self._reached[run].is_set()

    def release(self, run: int = 1) -> None:
        """Let the worker of ``run`` go on."""
        self._release[run].set()

    def release_all(self) -> None:
        for event in self._release.values():
            event.set()

    def wrap(self, original):
        """``PairFusion.steps`` that waits at the gate."""

        def steps(fusion, first=None, *, cancel=None):
            self.runs += 1
            run = self.runs
            for i, step in enumerate(original(fusion, first, cancel=cancel), 1):
                yield step
                if run in self.hold and i == self.after:
                    self.done[run] = int(fusion.done.sum())
                    self._reached[run].set()
                    assert self._release[run].wait(60), "the test never released the fusion"

        return steps


@pytest.fixture
def fusion_gate(monkeypatch):
    """A :class:`FusionGate` on every fusion of the test (released at the end)."""
    from brainfuse.pipeline import PairFusion

    gate = FusionGate()
    monkeypatch.setattr(PairFusion, "steps", gate.wrap(PairFusion.steps))
    yield gate
    gate.release_all()


def settle(timeout_ms: int = 30000) -> None:
    """Return once every worker has ended and everything it sent has been delivered.

    Workers run on Qt's global thread pool and reach the window through queued signals:
    once the pool is idle and the posted events are handled, nothing more can arrive, so a
    test can check that something did not happen without sleeping.
    """
    from PySide6 import QtCore

    pool = QtCore.QThreadPool.globalInstance()
    for _ in range(10):  # a delivered result may start a follow-up task: settle it too
        assert pool.waitForDone(timeout_ms), "a worker did not end"
        QtCore.QCoreApplication.sendPostedEvents()
        QtCore.QCoreApplication.processEvents()
        if pool.activeThreadCount() == 0:
            return
    raise AssertionError("workers kept starting one another")
