"""What the window says about a stopped fusion: a recoverable state, never a stuck one.

After Cancel the status bar says ``Cancelled — slices k–n not fused; Fuse again`` (the runs
of slices left, counted from 1), a *Fuse again* button appears next to it, and the viewers
say "Not fused (cancelled)" where a slice is missing. *Fuse again* fuses only the slices left
(:meth:`brainfuse.gui.controller.Controller.start_fusion`).
"""

from __future__ import annotations

from PySide6 import QtWidgets

from brainfuse.gui.controller import Controller
from brainfuse.gui.viewer_grid import ViewerGrid
from brainfuse.gui.workers import TaskRunner

__all__ = ["CancelNote", "not_fused_text"]


def not_fused_text(runs: list[tuple[int, int]]) -> str:
    """``[(0, 15), (25, 39)]`` -> ``"1–16, 26–40"`` (slice numbers from 1)."""
    return ", ".join(f"{a + 1}–{b + 1}" if b > a else f"{a + 1}" for a, b in runs)


class CancelNote:
    """Drives the status message and the Fuse again button around a Cancel.

    Parameters
    ----------
    session : Controller
    runner : TaskRunner
    viewers : ViewerGrid
    status : QStatusBar
    """

    def __init__(
        self,
        session: Controller,
        runner: TaskRunner,
        viewers: ViewerGrid,
        status: QtWidgets.QStatusBar,
    ) -> None:
        self.controller, self.runner, self.viewers, self.status = session, runner, viewers, status
        self.workspace = session.workspace
        self.button = QtWidgets.QPushButton("Fuse again")
        self.button.setToolTip("Fuse the slices the Cancel left")
        self.button.setVisible(False)
        status.addPermanentWidget(self.button)
        self.button.clicked.connect(session.start_fusion)
        runner.cancel_button.clicked.connect(self.cancelled)
        # a slice in flight at the Cancel may still land: say it again when the worker ends
        runner.ended.connect(lambda kind: self.say() if kind == "fuse" else None)
        session.fusion_finished.connect(lambda: self.button.setVisible(False))
        self.workspace.sources_changed.connect(lambda: self.button.setVisible(False))

    def cancelled(self) -> None:
        """Handle a cancel: mark the fusion and say so (again when the worker ends).

        The worker may end while this runs (its ``finished`` already emitted from its own
        thread): a connection made here would miss it, the runner's ``ended``, delivered in
        this thread afterwards, does not.
        """
        self.workspace.cancel_fusion()
        self.say()

    def say(self) -> None:
        """Show the status message and button for the slices still not fused."""
        ws = self.workspace
        if ws.fusion_cancelled:
            runs = not_fused_text(ws.not_fused())
            self.status.showMessage(f"Cancelled — slices {runs} not fused; Fuse again", 0)
            self.button.setVisible(True)
            self.viewers.refresh_images()
