"""The window's side of :mod:`brainfuse.reading.recovery`: autosave while work changes, offer it back.

A :class:`RecoveryKeeper` notes every change of the edits and measurements, and a timer
writes the recovery file (at most every 30 s, the first change within a few seconds) while
there is unsaved work; a save, a discard or a clean quit removes it. At start the window
offers the work a crashed BrainFuse left (its sources' SHA-256 checked first): the pair is
opened again and the edits and measurements are put back on the same grid.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6 import QtCore, QtWidgets

from brainfuse.errors import BrainFuseError
from brainfuse.reading.recovery import Autosaver, Recovery, pending_recovery
from brainfuse.reading.session import SourceRecord

if TYPE_CHECKING:
    from brainfuse.gui.main_window import MainWindow

__all__ = ["TICK_MS", "RecoveryKeeper"]

#: How often the timer asks whether the recovery file is due (ms).
TICK_MS = 2000


class RecoveryKeeper(QtCore.QObject):
    """Autosave of one window's unsaved edits and measurements, and their restore.

    Attributes
    ----------
    autosaver : Autosaver
    timer : QTimer
        Calls :meth:`tick` every :data:`TICK_MS` ms.
    """

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.autosaver = Autosaver(self._snapshot)
        self._records: tuple[tuple[object, object], dict[str, SourceRecord]] | None = None
        ws = window.workspace
        ws.edits_changed.connect(self._changed)
        ws.measurements_changed.connect(self._changed)
        ws.unsaved_changed.connect(self._unsaved_changed)
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self.tick)
        self.timer.start()

    def _changed(self, *_: object) -> None:
        if self.window.workspace.unsaved:
            self.autosaver.changed()

    def _unsaved_changed(self, unsaved: bool) -> None:
        if unsaved:
            self.autosaver.changed()
        else:
            self.autosaver.saved()  # saved, restored-and-saved, or a new pair: nothing to keep

    def _sources(self) -> dict[str, SourceRecord]:
        """Return the pair's source records, hashed once per pair (not at every autosave)."""
        ws = self.window.workspace
        if ws.ct is None or ws.mri is None:
            raise BrainFuseError("no pair is open")
        cached = self._records
        if cached is None or cached[0][0] is not ws.ct or cached[0][1] is not ws.mri:
            records = {"ct": SourceRecord.of_volume(ws.ct), "mri": SourceRecord.of_volume(ws.mri)}
            cached = self._records = ((ws.ct, ws.mri), records)
        return cached[1]

    def _snapshot(self) -> dict[str, Any]:
        ws = self.window.workspace
        return {
            "sources": self._sources(),
            "edits": None if ws.edits is None else ws.edits.labels,
            "grid": ws.mri_grid,
            "measurements": list(ws.measurements),
        }

    def tick(self) -> None:
        """Write the recovery file when changes wait and the interval has passed."""
        ws = self.window.workspace
        if not ws.unsaved or not ws.has_grid:
            return
        try:
            self.autosaver.tick()
        except (BrainFuseError, OSError) as exc:  # a pair without files (the demo): say so once
            self.timer.stop()
            self.window.statusBar().showMessage(f"Unsaved work is not autosaved: {exc}", 15000)

    def discard(self) -> None:
        """Remove this window's recovery file (a clean quit or a Discard)."""
        self.autosaver.saved()

    # ------------------------------------------------------------------ restore
    def offer(self) -> Recovery | None:
        """Offer the work a crashed BrainFuse left; restore it when the user agrees.

        Returns the recovery restored (its pair loading in the workers), else None.
        """
        found = pending_recovery()
        if found is None:
            return None
        if not found.ok:
            QtWidgets.QMessageBox.warning(self.window, "Recover unsaved work", found.describe())
            found.discard()
            return None
        box = QtWidgets.QMessageBox(self.window)
        box.setIcon(QtWidgets.QMessageBox.Icon.Question)
        box.setWindowTitle("Recover unsaved work")
        box.setText("<b>BrainFuse ended without saving your work.</b>")
        paths = "\n".join(f"{r.upper()}: {s.path}" for r, s in found.sources.items())
        box.setInformativeText(f"{found.describe()}\n{paths}\n\nRestore it?")
        restore = box.addButton("Restore", QtWidgets.QMessageBox.ButtonRole.AcceptRole)
        box.addButton("Discard", QtWidgets.QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(restore)
        box.exec()
        if box.clickedButton() is not restore:
            found.discard()
            return None
        self.restore(found)
        return found

    def restore(self, found: Recovery) -> None:
        """Open the recovery's pair and put its edits and measurements back on the grid.

        The recovery file is removed once the work is back (it stays unsaved: the window
        autosaves it under its own file and asks before it is lost).
        """
        window = self.window
        ws = window.workspace

        def back() -> None:
            ws.grid_changed.disconnect(back)
            if ws.mri_grid is None:
                return
            edits = found.edits_on(ws.mri_grid)
            if edits is not None:
                ws.set_edit_labels(edits)
            ws.set_measurements(found.measurements)
            found.discard()
            window.statusBar().showMessage("Unsaved work restored.", 8000)

        ws.grid_changed.connect(back)
        window.open_ct(str(found.sources["ct"].path))
        window.open_mri(str(found.sources["mri"].path))
