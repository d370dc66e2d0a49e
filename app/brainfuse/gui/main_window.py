"""The BrainFuse main window: a projection of a :class:`~brainfuse.reading.workspace.Workspace`.

It only shows and asks. Opening, alignment, fusion and export go through a
:class:`~brainfuse.gui.controller.Controller`, whose workers wrap the core (the fusion is
:class:`brainfuse.pipeline.PairFusion`, as on the command line). Flow: load both → align →
fuse the slice on screen first → the rest of the volume in the background → re-fuse
(debounced) when a window changes. The window composes its parts: a
:class:`~brainfuse.gui.layout.SidePanel`, :class:`~brainfuse.gui.menus.Menus` (with the reader's
:class:`~brainfuse.gui.reader_panel.ReaderMenus`), the viewers, a :class:`Controller`.

Conventions (3D Slicer, ITK-SNAP, FSLeyes, Horos): radiological display (patient right on the
screen's left), orientation letters on every edge, linked pan/zoom and crosshair, wheel and
Page Up/Down step slices, right-drag for window/level, CT presets brain 40/80, subdural
75/215, bone 500/2000, readout in HU under the mouse.
"""

from __future__ import annotations

import functools
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets
from superqt.utils import qdebounced

from brainfuse.errors import (
    AmbiguousInputError,
    BrainFuseError,
    DifferentPatientsError,
    InternalError,
)
from brainfuse.gui.check_view import CheckView
from brainfuse.gui.controller import Controller
from brainfuse.gui.controls import OverlayControl, SliceControl, WindowControl
from brainfuse.gui.export_dialog import ExportOptions, export_from_window
from brainfuse.gui.fusion_state import CancelNote
from brainfuse.gui.layout import SidePanel, side_by_side, sources_text, window_title
from brainfuse.gui.menus import Menus
from brainfuse.gui.pointer import PointerReadout
from brainfuse.gui.readouts import ReadoutPanel
from brainfuse.gui.recovery import RecoveryKeeper
from brainfuse.gui.safety import NoticeBar, ask_unsaved, confirm_different_patients
from brainfuse.gui.settings import Settings
from brainfuse.gui.viewer_grid import ViewerGrid
from brainfuse.gui.words import for_window
from brainfuse.gui.workers import TaskRunner, show_internal_error
from brainfuse.model.image import ImageVolume
from brainfuse.model.patient import PatientCheck
from brainfuse.reading.readout_board import Readouts
from brainfuse.reading.readouts import readout_inputs
from brainfuse.reading.workspace import Workspace

__all__ = ["MainWindow"]

_FAILURES = {
    "load-ct": "The CT could not be opened",
    "load-mri": "The MRI could not be opened",
    "load-demo": "The demo pair could not be opened",
    "model": "The fusion model could not be loaded",
    "align": "The CT and MRI could not be put on one grid",
    "fuse": "The fusion failed",
    "export": "The export failed",
    "save-transform": "The transform could not be saved",
    "load-transform": "The transform could not be loaded",
}


def _stacked(top: QtWidgets.QWidget, below: QtWidgets.QWidget) -> QtWidgets.QWidget:
    """``top`` above ``below`` (which takes the height), without margins."""
    box = QtWidgets.QWidget()
    column = QtWidgets.QVBoxLayout(box)
    column.setContentsMargins(0, 0, 0, 0)
    column.setSpacing(0)
    column.addWidget(top)
    column.addWidget(below, 1)
    return box


class MainWindow(QtWidgets.QMainWindow):
    """Four linked viewers, a side panel of controls and readouts, menus, status bar.

    Parameters
    ----------
    workspace : Workspace, optional
        State to show (a new one by default).
    settings : Settings, optional
        Preferences store (the user's QSettings by default).
    interactive : bool
        Show failures in message boxes (a person is there); otherwise they are kept in
        :attr:`errors` for a script (:class:`~brainfuse.gui.viewer.Viewer`).
    """

    #: SSIM/PSNR (and Qabf/MI) of the slice on screen were written to the readouts
    readouts_updated = QtCore.Signal(dict)

    def __init__(
        self,
        workspace: Workspace | None = None,
        settings: Settings | None = None,
        *,
        interactive: bool = True,
    ):
        super().__init__()
        self.interactive = interactive
        #: (task kind, exception) of failures, when not interactive
        self.errors: list[tuple[str, BaseException]] = []
        self.workspace = ws = workspace or Workspace()
        self.settings = settings or Settings()
        self._pending: dict[str, str] = {}  # role -> folder being opened (series chooser)
        self.setWindowTitle("BrainFuse")
        self.setAcceptDrops(True)
        self.viewers = ViewerGrid(ws)
        self.slice_control = SliceControl(ws)
        self.window_control = WindowControl(ws)
        self.overlay_control = OverlayControl(ws)
        self.readouts = ReadoutPanel()
        self.board = Readouts()  # which readouts describe the picture on screen
        self.sources_label = QtWidgets.QLabel("No images loaded.")
        self.sources_label.setWordWrap(True)
        self.sources_label.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.side_panel = SidePanel(
            self.sources_label,
            self.slice_control,
            self.window_control,
            self.overlay_control,
            self.readouts,
        )
        self.notices = NoticeBar()
        self.setCentralWidget(side_by_side(_stacked(self.notices, self.viewers), self.side_panel))
        self.position_label = QtWidgets.QLabel("")
        self.progress = QtWidgets.QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setMaximumWidth(240)
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        status = self.statusBar()
        status.addPermanentWidget(self.position_label)
        status.addPermanentWidget(self.progress)
        status.addPermanentWidget(self.cancel_button)
        self.pointer = PointerReadout(ws, self.viewers, self.position_label)
        self.runner = TaskRunner(self.progress, self.cancel_button)
        self.runner.errored.connect(self._task_failed)
        self.controller = Controller(ws, self.settings, self.runner)
        self.controller.confirm_rigid = interactive  # a person checks a registration first
        self.recovery = RecoveryKeeper(self)  # autosave of unsaved edits and measurements
        self.cancel_note = CancelNote(self.controller, self.runner, self.viewers, status)
        self.fuse_again_button = self.cancel_note.button
        self.check_view: CheckView | None = None
        self.fusion_finished = self.controller.fusion_finished
        self.menus = Menus(self)
        self.tools = self.menus.reader.tools  # the mouse tools on the viewers
        self.reader_dock = self.menus.reader.dock
        self._connect()
        self.settings.restore(ws)
        self._refresh_all()
        self.resize(1280, 800)
        self.controller.warm_up()

    @property
    def last_dicom_export(self) -> str | None:
        """Folder of the window's last DICOM export; None before."""
        return self.menus.pacs.last_dicom_export

    # ------------------------------------------------------------------ construction
    def _connect(self) -> None:
        ws = self.workspace
        ws.sources_changed.connect(self._sources_changed)
        ws.grid_changed.connect(self._grid_changed)
        ws.slice_changed.connect(self._slice_changed)
        ws.cursor_changed.connect(self._cursor_changed)
        ws.plane_changed.connect(self._plane_changed)
        ws.windows_changed.connect(self._windows_changed)
        ws.fusion_changed.connect(self._fusion_changed)
        ws.overlay_changed.connect(self._overlay_changed)
        ws.edits_changed.connect(self._edits_changed)
        s = self.controller
        s.loaded.connect(self._loaded)
        s.aligned.connect(self._aligned)
        s.exported.connect(self._exported)
        s.fusion_finished.connect(self._fusion_done)
        s.check_requested.connect(self.show_check_view)
        s.identity_checked.connect(lambda check: self.notices.put("identity", check.notice()))
        s.different_patients.connect(self._different_patients)
        self.viewers.files_dropped.connect(self._files_dropped)
        for name, panel in self.viewers.panels.items():
            panel.box.clicked.connect(lambda x, y, n=name: self._clicked(n, x, y))
            panel.box.slice_step.connect(lambda k, p=panel: self.workspace.step(k, p.plane))
            panel.box.window_dragged.connect(lambda dx, dy, n=name: self.drag_window(n, dx, dy))
        self.readouts.extra_button.clicked.connect(lambda: self.update_readouts(extra=True))
        self._refuse_later = qdebounced(self.controller.refuse_if_windows_changed, timeout=400)

    def _say(self, text: str, ms: int) -> None:
        self.statusBar().showMessage(text, ms)

    # ------------------------------------------------------------------ opening
    def open_ct(self, path: str | None = None, *, folder: bool = False) -> None:
        """Load a CT from ``path`` (ask with a file dialog when ``None``)."""
        self._open("ct", path, folder)

    def open_mri(self, path: str | None = None, *, folder: bool = False) -> None:
        """Load an MRI from ``path`` (ask with a file dialog when ``None``)."""
        self._open("mri", path, folder)

    def _open(self, role: str, path: str | None, folder: bool, series: int | None = None) -> None:
        if not self.may_drop_work(f"opening another {'CT' if role == 'ct' else 'MRI'}"):
            return
        if path is None:
            path = self._ask_path(role, folder)
            if not path:
                return
        self.settings.set_last_folder(role, str(Path(path).parent))
        self._say(f"Loading {role.upper()} {path}…", 0)
        self._pending[role] = str(path)
        self.controller.open(role, str(path), series)

    def _ask_path(self, role: str, folder: bool) -> str:
        title = f"Open {'CT' if role == 'ct' else 'MRI'}"
        start = self.settings.last_folder(role)
        if folder:
            return QtWidgets.QFileDialog.getExistingDirectory(self, title + " DICOM folder", start)
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self,
            title,
            start,
            "Images (*.dcm *.nii *.nii.gz *.png *.tif *.tiff *.jpg *.jpeg *.ima);;All files (*)",
        )
        return path

    def open_demo(self) -> None:
        """Load the built-in demo pair (CT and MRI templates on one grid)."""
        if self.may_drop_work("opening the demo"):
            self.controller.open_demo()

    def set_pair(self, ct: ImageVolume, mri: ImageVolume, *, demo: bool = False) -> None:
        """Show a CT–MRI pair already in memory: align, then fuse."""
        self.controller.set_pair(ct, mri, demo=demo)

    def fill_recent(self) -> None:
        """List the recent files in File › Recent files (when that menu opens)."""
        recent = self.menus.recent_menu
        recent.clear()
        entries = self.settings.recent()
        if not entries:
            recent.addAction("(none)").setEnabled(False)
        for role, path in entries:
            recent.addAction(
                f"{role.upper()}: {path}", functools.partial(self._open, role, path, False)
            )

    def _files_dropped(self, paths: list, panel: str) -> None:
        if panel in ("ct", "mri"):
            self._open(panel, paths[0], False)
        elif len(paths) >= 2:
            self.open_ct(paths[0])
            self.open_mri(paths[1])
        else:
            self._say("Drop a CT on the CT viewer and an MRI on the MRI viewer.", 6000)

    def _loaded(self, role: str, path: str) -> None:
        ws = self.workspace
        other = "MRI" if role == "ct" else "CT"
        missing = (ws.mri if role == "ct" else ws.ct) is None
        wait = f" — now open the {other} to fuse with it" if missing else ""
        self._say(f"Loaded {role.upper()}: {path}{wait}", 0 if missing else 5000)

    def _aligned(self, warnings: list) -> None:
        ws = self.workspace
        self.sources_label.setText(sources_text(ws))
        self._say(f"Aligned by {ws.registration}.", 6000)
        self.notices.put("alignment", "\n".join(for_window(w) for w in warnings))

    def _different_patients(self, check: PatientCheck) -> None:
        """Refuse a pair of two patients, unless the user confirms naming both."""
        self.notices.put("identity", check.notice())
        if not self.interactive:
            self.errors.append(("align", DifferentPatientsError(check.refusal(), check)))
            return
        if confirm_different_patients(self, check):
            self.controller.allow_different_patients()

    # ------------------------------------------------------------------ unsaved work
    def may_drop_work(self, before: str) -> bool:
        """Tell whether the reader's edits and measurements may go (saved, discarded, none).

        With unsaved ones a person is asked Save / Discard / Cancel (``before``: what they
        asked for, e.g. ``"quitting"``); a script (not interactive) is never asked.
        """
        if not self.workspace.unsaved or not self.interactive:
            return True
        answer = ask_unsaved(self, before)
        if answer == "save":
            from brainfuse.gui.session_actions import ask_save

            return ask_save(self)
        return answer == "discard"

    def _fusion_done(self) -> None:
        ws = self.workspace
        if ws.fusion is not None:  # a recompose's timings leave the fusion's time as it was
            self.board.fusion_time(ws.fusion.timings, ws.n_slices)
            self._show_run()
        self._say(f"Fused {ws.n_slices} slices on {ws.device}.", 6000)

    def cancel(self) -> None:
        """Stop every running task, as the Cancel button does."""
        self.runner.cancel_all()
        self.cancel_note.cancelled()

    def show_check_view(self) -> CheckView:
        """Open the alignment check (checkerboard, blend, flicker; Accept or Redo)."""
        if self.check_view is None:
            self.check_view = CheckView(self)
        self.check_view.show()
        self.check_view.raise_()
        return self.check_view

    # ------------------------------------------------------------------ export
    def export(self, options: ExportOptions | None = None) -> None:
        """Export the fused result (ask with the dialog when ``options`` is ``None``).

        PNG writes the slice on screen; DICOM and NIfTI write the whole fused volume. An
        overlay is burned in as it is drawn (colour table, opacity, hard/soft map).
        """
        export_from_window(self, options)

    def _exported(self, paths: list) -> None:
        from brainfuse.model.written import summarize_written

        lines = summarize_written(paths)  # one line per output, not one per DICOM file
        self._say("Exported: " + "; ".join(line.removeprefix("wrote ") for line in lines), 15000)

    # ------------------------------------------------------------------ user actions
    def step_slice(self, n: int) -> None:
        """Move ``n`` views in the plane shown (positive: towards higher slice numbers)."""
        self.workspace.step(int(n))

    def drag_window(self, panel: str, dx: float, dy: float) -> None:
        """Right-drag on ``panel``: horizontal changes the width, vertical the level."""
        ws = self.workspace
        if panel == "mri":
            w = ws.mr_display_window
            ws.set_mr_window(w.dragged(dx * w.width / 200.0, -dy * w.width / 200.0))
        else:
            w = ws.ct_window
            ws.set_ct_window(w.dragged(dx * w.width / 200.0, -dy * w.width / 200.0))

    def _clicked(self, name: str, x: float, y: float) -> None:
        ws = self.workspace
        if ws.has_grid:
            ws.set_cursor_mm(ws.scene_to_mm(x, y, plane=self.viewers.panels[name].plane))

    # ------------------------------------------------------------------ workspace → view
    def _refresh_all(self) -> None:
        self.slice_control.update_from_workspace()
        self.window_control.update_from_workspace()
        self.overlay_control.update_from_workspace()
        self.menus.action_overlay.blockSignals(True)
        self.menus.action_overlay.setChecked(self.workspace.overlay_visible)
        self.menus.action_overlay.blockSignals(False)
        self.menus.action_fuse_again.setEnabled(self.workspace.has_pair)  # re-aligns if needed
        self.viewers.refresh_images()

    def _sources_changed(self) -> None:
        ws = self.workspace
        self.sources_label.setText(sources_text(ws))
        self.sources_label.setToolTip("\n".join(v.path for v in (ws.ct, ws.mri) if v and v.path))
        self.setWindowTitle(window_title(ws))
        self.notices.put("identity", None)  # checked again when the pair is complete
        self.notices.put("alignment", None)
        self.readouts.clear()
        self._refresh_all()

    def _grid_changed(self) -> None:
        self.sources_label.setText(sources_text(self.workspace))
        self.viewers.refresh_geometry()
        self._refresh_all()

    def _plane_changed(self) -> None:
        self.viewers.arrange()
        self.slice_control.update_from_workspace()

    def _cursor_changed(self, _mm) -> None:
        ws = self.workspace
        if ws.layout == "three" or ws.plane != "axial":
            self.viewers.refresh_images()  # the other views through the cursor
            self.slice_control.update_from_workspace()
        else:
            self.viewers.refresh_cursor()

    def _slice_changed(self, _k: int) -> None:
        self.slice_control.update_from_workspace()
        self.viewers.refresh_images()
        self.update_readouts()

    def _windows_changed(self) -> None:
        self.window_control.update_from_workspace()
        self.viewers.refresh_images()
        self.update_readouts()  # scored against the windowed sources: not current any more
        if self.workspace.windows_changed_since_fusion():
            self._refuse_later()

    def _fusion_changed(self, k: int | None) -> None:
        ws = self.workspace
        if k is None or k == ws.slice_index or ws.layout == "three" or ws.plane != "axial":
            self.viewers.refresh_images(("map", "fused"))  # the sources' panels stay as they are
            self.update_readouts()

    def _edits_changed(self, box: object) -> None:
        if box is not None:  # voxels changed (not only undo availability): a new picture
            self.update_readouts()

    def _overlay_changed(self) -> None:
        self.overlay_control.update_from_workspace()
        self.menus.action_overlay.blockSignals(True)
        self.menus.action_overlay.setChecked(self.workspace.overlay_visible)
        self.menus.action_overlay.blockSignals(False)
        self.viewers.refresh_images()

    def update_readouts(self, extra: bool = False) -> None:
        """SSIM/PSNR (and Qabf/MI when ``extra``) of the slice on screen, in a worker.

        Until they arrive the readouts show as pending ("…"); a result computed for a
        picture that has changed since is dropped (:class:`~brainfuse.reading.readout_board.Readouts`).
        """
        ws = self.workspace
        picture = self.board.invalidate()
        inputs = readout_inputs(ws)
        if inputs is None:
            self.readouts.clear()
            return
        self.readouts.show_pending(self.board.pending)
        self._show_run()

        def done(values: dict[str, float]) -> None:
            board = {k: v for k, v in values.items() if k in self.board.names}
            if self.board.put(picture, board):
                self._show_metrics(values)

        self.runner.start(
            "metrics",
            lambda *, cancel: inputs.metrics(extra),
            quiet=True,
            on_return=done,
        )

    def _show_run(self) -> None:
        ws = self.workspace
        rule = ws.fusion.rule if ws.fusion is not None else None
        self.readouts.show_run(self.board.shown()["fusion_ms"], ws.device, rule)

    def _show_metrics(self, values: dict[str, float]) -> None:
        self.readouts.show_metrics(values)
        self.readouts_updated.emit(values)

    # ------------------------------------------------------------------ errors and closing
    def flush_pending(self) -> None:
        """Run a debounced re-fusion now instead of after its delay (for scripts)."""
        self._refuse_later.flush()

    def _task_failed(self, kind: str, exc: BaseException) -> None:
        what = _FAILURES.get(kind, "An operation failed")
        detail = str(exc) if isinstance(exc, BrainFuseError) else f"{type(exc).__name__}: {exc}"
        if kind == "align":  # one consistent state: no grid, no numbers, the reason shown
            self.workspace.set_problem(f"{what}: {for_window(detail)}")
            self.readouts.clear()
        if not self.interactive:
            self.errors.append((kind, exc))
            return
        if isinstance(exc, AmbiguousInputError) and exc.choices and kind.startswith("load-"):
            self._choose_series(kind[5:], exc)
            return
        self.show_failure(kind, exc)

    def show_failure(self, kind: str, exc: BaseException) -> None:
        """Show a failure in the window's words (menu names, not command-line options)."""
        what = _FAILURES.get(kind, "An operation failed")
        if isinstance(exc, InternalError):  # a bug: its own dialog, with the log and details
            self._say(what, 8000)
            show_internal_error(self, what, exc)
            return
        detail = str(exc) if isinstance(exc, BrainFuseError) else f"{type(exc).__name__}: {exc}"
        self._say(what, 8000)
        QtWidgets.QMessageBox.critical(self, "BrainFuse", f"{what}.\n\n{for_window(detail)}")

    def _choose_series(self, role: str, exc: AmbiguousInputError) -> None:
        path = self._pending.get(role)
        choice, ok = QtWidgets.QInputDialog.getItem(
            self, "Choose a series", str(exc), exc.choices, 0, False
        )
        if ok and path:
            self._open(role, path, False, series=exc.choices.index(choice))

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:  # noqa: N802
        """Ask about unsaved work, store the preferences and cancel running work, then close."""
        if not self.may_drop_work("quitting"):
            event.ignore()
            return
        self.recovery.discard()  # saved or discarded on purpose: nothing to recover
        self.settings.store(self.workspace)
        self.runner.cancel_all()
        super().closeEvent(event)
