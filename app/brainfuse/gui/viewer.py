"""A scriptable BrainFuse window, as napari's ``Viewer``: open, wait, read what is shown.

>>> from brainfuse.gui import Viewer                        # doctest: +SKIP
>>> v = Viewer(show=False)                                  # doctest: +SKIP
>>> v.open_pair("ct_folder", "mri.nii.gz")                  # doctest: +SKIP
>>> v.wait(timeout=120)                                     # doctest: +SKIP
>>> v.slice_index = 40                                      # doctest: +SKIP
>>> fused = v.fused_slice()                                 # doctest: +SKIP
>>> v.screenshot("window.png")                              # doctest: +SKIP

It drives the same :class:`~brainfuse.gui.main_window.MainWindow` a person uses (same
workers, same workspace), so what a script reads is what the panels draw.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtWidgets

from brainfuse.errors import BrainFuseError
from brainfuse.gui.app import application
from brainfuse.gui.main_window import MainWindow
from brainfuse.gui.settings import Settings
from brainfuse.model.image import ImageVolume
from brainfuse.reading.workspace import Workspace

__all__ = ["Viewer"]


def _private_settings() -> Settings:
    """Preferences in a temporary file, so a script never changes the user's."""
    folder = Path(tempfile.mkdtemp(prefix="brainfuse-viewer-"))
    ini = QtCore.QSettings(str(folder / "brainfuse.ini"), QtCore.QSettings.Format.IniFormat)
    return Settings(ini)


class Viewer:
    """The BrainFuse window under script control.

    Parameters
    ----------
    show : bool
        Show the window on screen; ``False`` keeps it hidden (it still lays out and draws,
        so :meth:`screenshot` works).
    settings : Settings, optional
        Preferences (default: a private temporary store when hidden, the user's otherwise).
    """

    def __init__(self, show: bool = True, *, settings: Settings | None = None):
        self.app: QtWidgets.QApplication = application()
        if settings is None and not show:
            settings = _private_settings()
        self.window = MainWindow(settings=settings, interactive=show)
        self.window.resize(1280, 800)
        if show:
            self.window.show()

    @property
    def workspace(self) -> Workspace:
        """The window's model: everything it shows."""
        return self.window.workspace

    # ------------------------------------------------------------------ opening and waiting
    def open_pair(self, ct: str | Path | ImageVolume, mri: str | Path | ImageVolume) -> None:
        """Open a CT (or PET/SPECT) and an MRI: files/DICOM folders, or volumes in memory.

        Returns at once; the window loads, aligns and fuses in its workers (:meth:`wait`).
        """
        if isinstance(ct, ImageVolume) and isinstance(mri, ImageVolume):
            self.window.set_pair(ct, mri)
            return
        if isinstance(ct, ImageVolume) or isinstance(mri, ImageVolume):
            raise TypeError("give two paths or two ImageVolumes")
        self.window.open_ct(str(ct))
        self.window.open_mri(str(mri))

    def wait(self, timeout: float = 120.0) -> None:
        """Process events until every worker is idle (loading, aligning, fusing, exporting).

        Raises
        ------
        TimeoutError
            Work is still running after ``timeout`` seconds.
        BrainFuseError
            A task failed (the first failure, as the window would have shown it).
        """
        deadline = time.monotonic() + timeout
        runner = self.window.runner
        idle_rounds = 0
        while idle_rounds < 3:  # idle over a few rounds: no result is still queued
            self.app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 50)
            # finished workers are deleteLater()ed: without an event loop (a script) they,
            # and the fusion their generator holds, would wait for a deferred delete forever
            QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)
            self.window.flush_pending()
            idle_rounds = 0 if runner.is_running() else idle_rounds + 1
            if self.window.errors:
                kind, exc = self.window.errors.pop(0)
                if isinstance(exc, BrainFuseError):
                    raise exc
                raise BrainFuseError(f"{kind} failed: {type(exc).__name__}: {exc}") from exc
            if time.monotonic() > deadline:
                running = ", ".join(runner.tasks)
                raise TimeoutError(f"still running after {timeout:g} s: {running}")
            time.sleep(0.01)

    def allow_different_patients(self) -> None:
        """Fuse the pair although its images are of two patients (the window's confirmation).

        Recorded as an override in every export; returns at once (:meth:`wait`).
        """
        self.window.controller.allow_different_patients()

    # ------------------------------------------------------------------ what is shown
    @property
    def unsaved(self) -> bool:
        """True while brush edits or measurements are not saved in a session."""
        return bool(self.workspace.unsaved)

    def paint(self, mask: np.ndarray, source: str) -> None:
        """Paint a boolean mask on the axial slice on screen as one brush stroke.

        ``source`` is ``"ct"`` or ``"mri"`` (the source the fused image takes there) or
        ``"auto"`` (back to the decision map). The fused slice is recomposed at once.

        Raises
        ------
        ValueError
            ``mask`` is not the shape of the slice, or the view is not axial.
        """
        if self.plane != "axial":
            raise ValueError("paint() draws on the axial slice: set plane = 'axial' first")
        self.workspace.paint_slice_mask(mask, source, self.slice_index)
        self.app.processEvents()

    def readouts(self) -> dict:
        """Return the numbers beside the fused image as shown.

        Keys ``ssim``, ``psnr``, ``bone_kept``, ``brain_kept``, ``fusion_ms`` (ms per slice,
        the fusion's own), each None while ``pending`` lists it (:meth:`wait` for them).
        """
        return self.window.board.shown()

    def notices(self) -> list[str]:
        """Return the warnings that stay above the viewers (patient data, alignment)."""
        return self.window.notices.notices()

    @property
    def slice_index(self) -> int:
        """The slice on screen (set it to move there, as the slider does)."""
        return self.workspace.slice_index

    @slice_index.setter
    def slice_index(self, k: int) -> None:
        self.workspace.set_slice(int(k))
        self.app.processEvents()

    @property
    def plane(self) -> str:
        """The plane shown, ``"axial"``, ``"coronal"`` or ``"sagittal"``.

        Set it to change; :meth:`fused_slice` and :meth:`decision_slice` follow it.
        """
        return self.workspace.plane

    @plane.setter
    def plane(self, plane: str) -> None:
        self.workspace.set_plane(plane)
        self.app.processEvents()

    def align(self, mode: str = "rigid", timeout: float = 300.0) -> dict:
        """Align the pair again, accept it, fuse on it, and return the report.

        ``mode`` is ``auto``, ``geometry``, ``rigid`` or ``none``; the alignment is accepted
        as the check view's Accept does.

        Returns
        -------
        dict
            ``mode``, ``translation_mm`` (3), ``rotation_deg`` (3), ``metric``, ``overlap``
            (:func:`brainfuse.model.alignment.alignment_report`).
        """
        from brainfuse.model.alignment import alignment_report

        session = self.window.controller
        session.set_register_mode(mode)
        self.wait(timeout)
        if not self.workspace.alignment_accepted:
            session.accept_alignment()
            self.wait(timeout)
        if self.workspace.alignment is None:
            raise BrainFuseError("there is no pair to align: open a CT and an MRI first")
        return alignment_report(self.workspace.alignment)

    def fused_slice(self) -> np.ndarray:
        """Return the fused view on screen in :attr:`plane`, float32 in [0, 1].

        ``(H, W)``, or ``(H, W, 3)`` for a colour image 1.

        Exactly the array the fused panel draws before its colour table.

        Raises
        ------
        RuntimeError
            The slice is not fused yet (call :meth:`wait`).
        """
        return self._shown("fused")

    def decision_slice(self) -> np.ndarray:
        """Return the decision map on screen, float32 ``(H, W)``: hard (0/1) or soft, as drawn."""
        return self._shown("map")

    def _shown(self, layer: str) -> np.ndarray:
        image = self.workspace.plane_image(layer)
        if image is None:
            raise RuntimeError(
                f"slice {self.slice_index} is not fused yet: call wait() after open_pair()"
            )
        return np.array(image, dtype=np.float32)  # what the panel gets (copied)

    @property
    def measurements(self) -> list:
        """The rulers and regions drawn (:mod:`brainfuse.reading.measure`), in drawing order."""
        return list(self.workspace.measurements)

    def save_session(self, path: str | Path) -> Path:
        """Save what the window shows as a ``.brainfuse`` session; returns the file."""
        from brainfuse.gui.session_actions import save_session_from

        return save_session_from(self.window, path)

    def open_session(self, path: str | Path) -> None:
        """Open a ``.brainfuse`` session (returns at once; :meth:`wait` for the fusion).

        Raises
        ------
        brainfuse.reading.session.SessionSourceError
            A source is missing or has changed (named in the message); nothing was loaded.
        """
        from brainfuse.gui.session_actions import open_session_in

        open_session_in(self.window, path)

    def send_current(self, node: object, *, anonymize: bool = False) -> dict:
        """Send the fusion on screen (edits applied) to a PACS node, as File › Send to PACS.

        ``node`` is a configured node's name or a :class:`brainfuse.pacs.Node`. The result is
        exported afresh to a temporary folder and sent; ``anonymize`` (the script's explicit
        choice) sends it without a patient.

        Returns
        -------
        dict
            ``study`` and ``series`` (Instance UIDs), ``instances`` (stored), ``failed``.
        """
        from brainfuse.pacs import Node, connect, get_node
        from brainfuse.pipeline.send import send_result

        resolved = node if isinstance(node, Node) else get_node(str(node))
        return send_result(
            self.window.controller.pair_result(),
            connect(resolved),
            anonymize=anonymize,
            confirmed_without_patient=anonymize,
        )

    def save_view(self, path: str | Path, panel: str | None = None) -> Path:
        """Save the view (all panels, or one) with its caption as PNG; returns the file."""
        from brainfuse.gui.view_image import save_view_image

        return save_view_image(self.window, path, panel)

    def screenshot(self, path: str | Path) -> Path:
        """Save a picture of the whole window (PNG by the suffix) and return its path."""
        self.app.processEvents()
        path = Path(path)
        if not self.window.grab().save(str(path)):
            raise BrainFuseError(f"could not write the screenshot to '{path}'")
        return path

    def close(self) -> None:
        """Cancel running work and close the window."""
        self.window.runner.cancel_all()
        self.window.close()
