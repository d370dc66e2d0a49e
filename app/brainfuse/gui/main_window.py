"""The BrainFuse main window: a projection of a :class:`~brainfuse.workspace.Workspace`.

It only shows and asks. Loading (:func:`brainfuse.io.load`, :func:`brainfuse.io.demo_pair`),
alignment (:func:`brainfuse.grid.align_pair`), windowing
(:func:`brainfuse.fusion.intensity.to_unit`), fusion (:class:`brainfuse.fusion.Fuser`, created
once), metrics and export are the core's; each long call runs in a worker
(:mod:`brainfuse.gui.workers`). Flow: load both → align → fuse the slice on screen first →
the rest of the volume in the background → re-fuse (debounced) when a window changes.

Conventions (3D Slicer, ITK-SNAP, FSLeyes, Horos): radiological display (patient right on the
screen's left), orientation letters on every edge, linked pan/zoom and crosshair, wheel and
Page Up/Down step slices, right-drag for window/level, CT presets brain 40/80, subdural
75/215, bone 500/2000, readout in HU under the mouse.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets
from superqt.utils import qdebounced

from brainfuse.errors import AmbiguousInputError, BrainFuseError
from brainfuse.gui.about import show_about
from brainfuse.gui.controls import OverlayControl, SliceControl, WindowControl
from brainfuse.gui.export_dialog import ExportDialog, ExportOptions
from brainfuse.gui.readouts import ReadoutPanel, slice_metrics
from brainfuse.gui.settings import DEVICES, Settings
from brainfuse.gui.viewers import ViewerGrid
from brainfuse.gui.workers import TaskRunner, fuse_slices, fuser_for, window_in_slabs
from brainfuse.image import ImageVolume
from brainfuse.workspace import SliceFusion, Window, Workspace, auto_window

__all__ = ["MainWindow", "format_position"]

_DEMO_NOTE = "Demo: <b>templates</b> of different people, not one patient. Not for diagnosis."


def format_position(mm: np.ndarray) -> str:
    """LPS millimetres as clinicians read them, e.g. ``R 12.0  A 30.5  S 10.0 mm``."""
    x, y, z = (float(v) for v in mm)
    return (
        f"{'L' if x >= 0 else 'R'} {abs(x):.1f}  {'P' if y >= 0 else 'A'} {abs(y):.1f}  "
        f"{'S' if z >= 0 else 'I'} {abs(z):.1f} mm"
    )


def _load_task(path: str, series: Any = None, *, cancel=None) -> ImageVolume:
    from brainfuse.io import load

    return load(path, series=series) if series is not None else load(path)


def _demo_task(*, cancel=None) -> tuple[ImageVolume, ImageVolume]:
    from brainfuse.io import demo_pair

    return demo_pair()


def _align_task(ct: ImageVolume, mri: ImageVolume, *, cancel=None) -> tuple[Any, Window]:
    from brainfuse.grid import align_pair

    aligned = align_pair(ct, mri, cancel=cancel)
    return aligned, auto_window(aligned.mri.array[::2, ::4, ::4])


def _export_task(
    pair_result: Any,
    options: ExportOptions,
    slice_index: int | None,
    opacity: float,
    *,
    cancel=None,
) -> Any:
    from brainfuse.export import export_result

    return export_result(
        pair_result,
        options.path,
        format=options.format,
        overlay=options.overlay,
        opacity=opacity,
        anonymize=options.anonymize,
        overwrite=options.overwrite,
        slice_index=slice_index,
    )


class MainWindow(QtWidgets.QMainWindow):
    """Four linked viewers, a side panel of controls and readouts, menus, status bar.

    Parameters
    ----------
    workspace : Workspace, optional
        State to show (a new one by default).
    settings : Settings, optional
        Preferences store (the user's QSettings by default).
    """

    fusion_finished = QtCore.Signal()
    #: SSIM/PSNR (and Qabf/MI) of the slice on screen were written to the readouts
    readouts_updated = QtCore.Signal(dict)

    def __init__(self, workspace: Workspace | None = None, settings: Settings | None = None):
        super().__init__()
        self.workspace = ws = workspace or Workspace()
        self.settings = settings or Settings()
        self.fuser: Any = None
        self.is_demo = False
        self._pending: dict[str, str] = {}
        self.setWindowTitle("BrainFuse")
        self.setAcceptDrops(True)

        self.viewers = ViewerGrid(ws)
        self.slice_control = SliceControl(ws)
        self.window_control = WindowControl(ws)
        self.overlay_control = OverlayControl(ws)
        self.readouts = ReadoutPanel()
        self.sources_label = QtWidgets.QLabel("No images loaded.")
        self.sources_label.setWordWrap(True)
        self.sources_label.setTextFormat(QtCore.Qt.TextFormat.RichText)
        sources = QtWidgets.QGroupBox("Images")
        QtWidgets.QVBoxLayout(sources).addWidget(self.sources_label)

        side = QtWidgets.QWidget()
        column = QtWidgets.QVBoxLayout(side)
        column.setContentsMargins(6, 6, 6, 6)
        for widget in (
            sources,
            self.slice_control,
            self.window_control,
            self.overlay_control,
            self.readouts,
        ):
            column.addWidget(widget)
        column.addStretch(1)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidget(side)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(300)
        scroll.setMaximumWidth(340)

        central = QtWidgets.QSplitter()
        central.addWidget(self.viewers)
        central.addWidget(scroll)
        central.setStretchFactor(0, 1)
        central.setCollapsible(0, False)
        self.setCentralWidget(central)

        self.position_label = QtWidgets.QLabel("")
        self.progress = QtWidgets.QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setMaximumWidth(240)
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        status = self.statusBar()
        status.addPermanentWidget(self.position_label)
        status.addPermanentWidget(self.progress)
        status.addPermanentWidget(self.cancel_button)
        self.runner = TaskRunner(self.progress, self.cancel_button)
        self.runner.errored.connect(self._task_failed)

        self._build_menus()
        self._connect()
        self.settings.restore(ws)
        self._refresh_all()
        self.resize(1280, 800)
        self.warm_up()

    # ------------------------------------------------------------------ construction
    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self.action_open_ct = file_menu.addAction("Open &CT…", lambda: self.open_ct())
        self.action_open_ct.setShortcut(QtGui.QKeySequence("Ctrl+O"))
        self.action_open_mri = file_menu.addAction("Open &MRI…", lambda: self.open_mri())
        self.action_open_mri.setShortcut(QtGui.QKeySequence("Ctrl+Shift+O"))
        file_menu.addAction("Open CT DICOM &folder…", lambda: self.open_ct(folder=True))
        file_menu.addAction("Open MRI DICOM f&older…", lambda: self.open_mri(folder=True))
        file_menu.addAction("Open &demo pair", self.open_demo)
        self.recent_menu = file_menu.addMenu("&Recent files")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        file_menu.addSeparator()
        self.action_export = file_menu.addAction("&Export…", lambda: self.export())
        self.action_export.setShortcut(QtGui.QKeySequence("Ctrl+E"))
        file_menu.addSeparator()
        file_menu.addAction("&Quit", self.close).setShortcut(QtGui.QKeySequence.StandardKey.Quit)

        view = bar.addMenu("&View")
        self.action_overlay = view.addAction("Decision-map &overlay")
        self.action_overlay.setCheckable(True)
        self.action_overlay.setShortcut(QtGui.QKeySequence("O"))
        self.action_overlay.toggled.connect(lambda on: self.workspace.set_overlay(visible=on))
        view.addAction("&Reset windows", self.workspace.reset_windows).setShortcut(
            QtGui.QKeySequence("R")
        )
        view.addAction("&Fit images", self.viewers.refresh_geometry).setShortcut(
            QtGui.QKeySequence("F")
        )
        nxt = view.addAction("Next slice", lambda: self.step_slice(1))
        nxt.setShortcuts([QtGui.QKeySequence("PgUp"), QtGui.QKeySequence("Up")])
        prv = view.addAction("Previous slice", lambda: self.step_slice(-1))
        prv.setShortcuts([QtGui.QKeySequence("PgDown"), QtGui.QKeySequence("Down")])

        fusion = bar.addMenu("F&usion")
        fusion.addAction("Fuse again", self.start_fusion)
        device_menu = fusion.addMenu("&Device")
        group = QtGui.QActionGroup(self)
        for device in DEVICES:
            act = device_menu.addAction(device.upper() if device != "auto" else "Auto (GPU if any)")
            act.setCheckable(True)
            act.setChecked(device == self.settings.device())
            act.triggered.connect(lambda _=False, d=device: self.set_device(d))
            group.addAction(act)

        help_menu = bar.addMenu("&Help")
        help_menu.addAction("&About BrainFuse", lambda: show_about(self))

    def _connect(self) -> None:
        ws = self.workspace
        ws.sources_changed.connect(self._sources_changed)
        ws.grid_changed.connect(self._grid_changed)
        ws.slice_changed.connect(self._slice_changed)
        ws.cursor_changed.connect(lambda _mm: self.viewers.refresh_cursor())
        ws.windows_changed.connect(self._windows_changed)
        ws.fusion_changed.connect(self._fusion_changed)
        ws.overlay_changed.connect(self._overlay_changed)
        self.viewers.hovered.connect(self._hovered)
        self.viewers.files_dropped.connect(self._files_dropped)
        for name, panel in self.viewers.panels.items():
            panel.box.clicked.connect(self._clicked)
            panel.box.slice_step.connect(self.step_slice)
            panel.box.window_dragged.connect(lambda dx, dy, n=name: self.drag_window(n, dx, dy))
        self.readouts.extra_button.clicked.connect(lambda: self.update_readouts(extra=True))
        self._refuse_later = qdebounced(self.start_fusion, timeout=400)

    # ------------------------------------------------------------------ opening
    def open_ct(self, path: str | None = None, *, folder: bool = False) -> None:
        """Load a CT from ``path`` (ask with a file dialog when ``None``)."""
        self._open("ct", path, folder)

    def open_mri(self, path: str | None = None, *, folder: bool = False) -> None:
        """Load an MRI from ``path`` (ask with a file dialog when ``None``)."""
        self._open("mri", path, folder)

    def _open(self, role: str, path: str | None, folder: bool, series: Any = None) -> None:
        if path is None:
            path = self._ask_path(role, folder)
            if not path:
                return
        self.settings.set_last_folder(role, str(Path(path).parent))
        self.statusBar().showMessage(f"Loading {role.upper()} {path}…")
        self.runner.start(
            f"load-{role}",
            _load_task,
            str(path),
            series,
            label=f"Loading {role.upper()}",
            on_return=lambda volume: self._loaded(role, str(path), volume),
        )
        self._pending[role] = str(path)  # for the series chooser

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

    def _loaded(self, role: str, path: str, volume: ImageVolume) -> None:
        self.is_demo = False
        self.settings.add_recent(role, path)
        if role == "ct":
            self.workspace.set_sources(ct=volume)
        else:
            self.workspace.set_sources(mri=volume)
        self.statusBar().showMessage(f"Loaded {role.upper()}: {path}", 5000)
        if self.workspace.has_pair:
            self.align()

    def open_demo(self) -> None:
        """Load the built-in demo pair (CT and MRI templates on one grid)."""
        self.runner.start(
            "load-demo", _demo_task, label="Loading demo", on_return=lambda p: self.set_pair(*p)
        )
        self.is_demo = True

    def set_pair(self, ct: ImageVolume, mri: ImageVolume, *, demo: bool | None = None) -> None:
        """Show a CT–MRI pair already in memory: align, then fuse."""
        if demo is not None:
            self.is_demo = demo
        self.workspace.set_sources(ct=ct, mri=mri)
        self.align()

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        entries = self.settings.recent()
        if not entries:
            self.recent_menu.addAction("(none)").setEnabled(False)
        for role, path in entries:
            self.recent_menu.addAction(
                f"{role.upper()}: {path}", lambda r=role, p=path: self._open(r, p, False)
            )

    def _files_dropped(self, paths: list, panel: str) -> None:
        if panel in ("ct", "mri"):
            self._open(panel, paths[0], False)
        elif len(paths) >= 2:
            self.open_ct(paths[0])
            self.open_mri(paths[1])
        else:
            self.statusBar().showMessage(
                "Drop a CT on the CT viewer and an MRI on the MRI viewer.", 6000
            )

    # ------------------------------------------------------------------ align and fuse
    def align(self) -> None:
        """Put the pair on one grid (worker), then fuse."""
        ws = self.workspace
        self.progress.setRange(0, 0)
        self.runner.start(
            "align",
            _align_task,
            ws.ct,
            ws.mri,
            label="Aligning",
            on_return=self._aligned,
        )

    def _aligned(self, result: tuple[Any, Window]) -> None:
        aligned, mr_auto = result
        self.progress.setRange(0, 1000)
        self.workspace.set_grid(aligned.ct, aligned.mri, aligned.transform, mr_auto=mr_auto)
        for warning in getattr(aligned, "warnings", []) or []:
            self.statusBar().showMessage(warning, 8000)
        self.start_fusion()

    def set_device(self, device: str) -> None:
        """Choose the fusion device (``auto``, ``cpu``, ``cuda``); applies to the next fusion."""
        self.settings.set_device(device)
        self.fuser = None

    def _get_fuser(self) -> Any:
        if self.fuser is None:
            self.fuser = fuser_for(self.settings.device())
        return self.fuser

    def warm_up(self) -> None:
        """Load the fusion model in the background now, not when the first pair arrives."""
        self.runner.start("model", lambda *, cancel: self._get_fuser(), label="Loading model")

    def start_fusion(self) -> None:
        """Fuse the slice on screen first, then every other slice, in one worker."""
        ws = self.workspace
        if not ws.has_grid:
            return
        self.progress.setRange(0, 1000)
        ct_window = (ws.ct_window.center, ws.ct_window.width)
        mr_window = None if ws.mr_window is None else (ws.mr_window.center, ws.mr_window.width)
        ws.invalidate_fusion()
        self.readouts.clear()
        self.runner.start(
            "fuse",
            self._fusion_task,
            ws.ct_grid,
            ws.mri_grid,
            ct_window,
            mr_window,
            ws.slice_index,
            label="Fusing",
            on_yield=self._fusion_step,
            on_return=lambda _: self._fusion_done(),
        )

    def _fusion_task(self, ct, mri, ct_window, mr_window, first, *, cancel):
        """Worker body: window both sources, then fuse slice by slice (one yield each)."""
        fuser = self._get_fuser()
        ct01, ct_used = yield from window_in_slabs(ct, ct_window, cancel=cancel)
        mri01, mr_used = yield from window_in_slabs(mri, mr_window, cancel=cancel)
        yield 0.0, ("unit", ct01, mri01, {"ct": ct_used, "mri": mr_used})
        n = ct.shape[0]
        order = sorted(range(n), key=lambda k: (abs(k - first), k))
        for fraction, item in fuse_slices(
            fuser, ct01, mri01, order, cancel=cancel, make_slice=self._as_slice
        ):
            yield fraction, ("slice", *item)

    @staticmethod
    def _as_slice(result: Any) -> SliceFusion:
        return SliceFusion(
            np.asarray(result.fused, np.float32),
            np.asarray(result.decision_map, np.uint8),
            np.asarray(result.soft_map, np.float32),
        )

    def _fusion_step(self, payload: tuple) -> None:
        ws = self.workspace
        if payload[0] == "prepare":
            return
        if payload[0] == "unit":
            _, ct01, mri01, windows = payload
            ws.set_unit(ct01, mri01)
            ws.windows = windows
            ws.set_auto_mr_window(Window(windows["mri"].center, windows["mri"].width))
            return
        _, k, fused, result, ms = payload
        ws.device = str(getattr(result, "device", ""))
        ws.fusion_ms = ms
        ws.store_slice(k, fused)

    def _fusion_done(self) -> None:
        self.statusBar().showMessage(
            f"Fused {self.workspace.n_slices} slices on {self.workspace.device}.", 6000
        )
        self.fusion_finished.emit()

    # ------------------------------------------------------------------ export
    def export(self, options: ExportOptions | None = None) -> None:
        """Export the fused result (ask with the dialog when ``options`` is ``None``).

        PNG writes the slice on screen; DICOM and NIfTI write the whole fused volume.
        """
        ws = self.workspace
        if not (ws.has_grid and ws.is_fused(ws.slice_index)):
            QtWidgets.QMessageBox.information(self, "Export", "Nothing has been fused yet.")
            return
        if options is None:
            dialog = ExportDialog(
                self.settings.last_folder("export"), overlay=ws.overlay_visible, parent=self
            )
            if dialog.exec() != QtWidgets.QDialog.DialogCode.Accepted:
                return
            options = dialog.options()
        slice_index = ws.slice_index if options.format == "png" else None
        if slice_index is None and not ws.is_fused():
            QtWidgets.QMessageBox.information(
                self, "Export", "The fusion of the whole volume is not finished yet."
            )
            return
        self.settings.set_last_folder("export", str(options.path.parent))
        self.runner.start(
            "export",
            _export_task,
            self.pair_result(),
            options,
            slice_index,
            ws.overlay_opacity,
            label="Exporting",
            on_return=lambda written: self._exported(written, options),
        )

    def pair_result(self) -> Any:
        """The workspace's fused volume as a :class:`brainfuse.pipeline.PairResult`.

        Built like :func:`brainfuse.pipeline.fuse_pair` builds it (reference-grid geometry,
        no source identity on the derived volumes), from the slices the workers fused.
        """
        from brainfuse.fusion import FusionResult
        from brainfuse.image import SourceIdentity
        from brainfuse.pipeline import PairResult

        ws = self.workspace
        ref = ws.mri_grid
        method = getattr(self.fuser, "method", "cnn")
        geometry = {"source": SourceIdentity(), "path": "", "window": None, "units": ""}
        fused = ref.with_array(
            ws.fused.copy(),
            modality="OT",
            description=f"BrainFuse fusion ({method}) of {ws.ct.name} and {ws.mri.name}",
            **geometry,
        )
        decision_map = ref.with_array(
            ws.decision_map.copy(), modality="OT", description="decision map (1 = CT)", **geometry
        )
        fusion = FusionResult(
            fused=fused.array,
            decision_map=decision_map.array,
            soft_map=ws.soft,
            method=method,
            device=ws.device,
        )
        return PairResult(
            ct=ws.ct_grid,
            mri=ws.mri_grid,
            ct01=ws.ct01,
            mri01=ws.mri01,
            fused=fused,
            decision_map=decision_map,
            soft_map=ws.soft.copy(),
            fusion=fusion,
            windows=dict(ws.windows),
            transform=ws.transform,
            reference="mri",
            weights_sha256=getattr(self.fuser, "model_sha256", None),
        )

    def _exported(self, written: Any, options: ExportOptions) -> None:
        paths = written if isinstance(written, list | tuple) else [written or options.path]
        text = ", ".join(str(p) for p in paths)
        self.statusBar().showMessage(f"Exported {options.format.upper()}: {text}", 15000)

    # ------------------------------------------------------------------ user actions
    def step_slice(self, n: int) -> None:
        """Move ``n`` slices (positive: towards higher slice numbers)."""
        self.workspace.set_slice(self.workspace.slice_index + int(n))

    def drag_window(self, panel: str, dx: float, dy: float) -> None:
        """Right-drag on ``panel``: horizontal changes the width, vertical the level."""
        ws = self.workspace
        if panel == "mri":
            w = ws.mr_display_window
            ws.set_mr_window(w.dragged(dx * w.width / 200.0, -dy * w.width / 200.0))
        else:
            w = ws.ct_window
            ws.set_ct_window(w.dragged(dx * w.width / 200.0, -dy * w.width / 200.0))

    def _clicked(self, x: float, y: float) -> None:
        if self.workspace.has_grid:
            self.workspace.set_cursor_mm(self.workspace.scene_to_mm(x, y))

    def _hovered(self, x: float, y: float) -> None:
        ws = self.workspace
        if not ws.has_grid or np.isnan(x):
            self.viewers.set_readouts({})
            self.position_label.setText("")
            return
        mm = ws.scene_to_mm(x, y)
        texts = {}
        for layer in ("mri", "ct", "map", "fused"):
            value = ws.value_at(layer, mm)
            if value is not None:
                unit = ws.units(layer)
                texts[layer] = f"{value:.0f} {unit}".strip() if unit else f"{value:.3g}"
        self.viewers.set_readouts(texts)
        ct = f"   CT {texts['ct']}" if "ct" in texts else ""
        mr = f"   MRI {texts['mri']}" if "mri" in texts else ""
        self.position_label.setText(format_position(mm) + ct + mr)

    # ------------------------------------------------------------------ workspace → view
    def _refresh_all(self) -> None:
        self.slice_control.update_from_workspace()
        self.window_control.update_from_workspace()
        self.overlay_control.update_from_workspace()
        self.action_overlay.blockSignals(True)
        self.action_overlay.setChecked(self.workspace.overlay_visible)
        self.action_overlay.blockSignals(False)
        self.viewers.refresh_images()

    def _sources_changed(self) -> None:
        ws = self.workspace
        for kind in ("align", "fuse", "metrics", "export"):
            self.runner.cancel(kind)  # their results belong to the previous pair
        lines = []
        for role, volume in (("CT", ws.ct), ("MRI", ws.mri)):
            if volume is None:
                lines.append(f"<b>{role}</b>: not loaded")
                continue
            z, y, x = volume.shape
            sx, sy, sz = volume.spacing
            lines.append(
                f"<b>{role}</b>: {volume.name}<br>{x}×{y}×{z}, {sx:.2g}×{sy:.2g}×{sz:.2g} mm"
            )
        if self.is_demo:
            lines.append(f"<span style='color:#ffc850'>{_DEMO_NOTE}</span>")
        self.sources_label.setText("<br>".join(lines))
        title = "BrainFuse"
        if self.is_demo:
            title += " — demo pair (templates, not one patient)"
        elif ws.ct is not None or ws.mri is not None:
            title += " — " + " + ".join(v.name for v in (ws.ct, ws.mri) if v is not None)
        self.setWindowTitle(title)
        self._refresh_all()

    def _grid_changed(self) -> None:
        self.viewers.refresh_geometry()
        self._refresh_all()

    def _slice_changed(self, _k: int) -> None:
        self.slice_control.update_from_workspace()
        self.viewers.refresh_images()
        self.update_readouts()

    def _windows_changed(self) -> None:
        self.window_control.update_from_workspace()
        self.viewers.refresh_images()
        if self._windows_differ_from_fusion():
            self._refuse_later()

    def _windows_differ_from_fusion(self) -> bool:
        """True when the windows on screen are not those the fused images were made with."""
        ws = self.workspace
        used = ws.windows
        if not ws.has_grid or not used:
            return False
        if (ws.ct_window.center, ws.ct_window.width) != (used["ct"].center, used["ct"].width):
            return True
        if ws.mr_window is None:
            return used["mri"].kind == "manual"
        return (ws.mr_window.center, ws.mr_window.width) != (used["mri"].center, used["mri"].width)

    def _fusion_changed(self, k: int | None) -> None:
        if k is None or k == self.workspace.slice_index:
            self.viewers.refresh_images()
            self.update_readouts()

    def _overlay_changed(self) -> None:
        self.overlay_control.update_from_workspace()
        self.action_overlay.blockSignals(True)
        self.action_overlay.setChecked(self.workspace.overlay_visible)
        self.action_overlay.blockSignals(False)
        self.viewers.refresh_images()

    def update_readouts(self, extra: bool = False) -> None:
        """SSIM/PSNR (and Qabf/MI when ``extra``) of the slice on screen."""
        ws = self.workspace
        k = ws.slice_index
        if ws.ct01 is None or not ws.is_fused(k):
            self.readouts.clear()
            return
        self.readouts.show_run(ws.fusion_ms, ws.device)
        self.runner.start(
            "metrics",
            lambda f, a, b, *, cancel: slice_metrics(f, a, b, extra=extra),
            ws.fused[k].copy(),
            ws.ct01[k],
            ws.mri01[k],
            quiet=True,
            on_return=self._show_metrics,
        )

    def _show_metrics(self, values: dict[str, float]) -> None:
        self.readouts.show_metrics(values)
        self.readouts_updated.emit(values)

    # ------------------------------------------------------------------ errors and closing
    def _task_failed(self, kind: str, exc: BaseException) -> None:
        self.progress.setRange(0, 1000)
        if isinstance(exc, AmbiguousInputError) and exc.choices and kind.startswith("load-"):
            self._choose_series(kind[5:], exc)
            return
        what = {
            "load-ct": "The CT could not be opened",
            "load-mri": "The MRI could not be opened",
            "load-demo": "The demo pair could not be opened",
            "model": "The fusion model could not be loaded",
            "align": "The CT and MRI could not be put on one grid",
            "fuse": "The fusion failed",
            "export": "The export failed",
        }.get(kind, "An operation failed")
        detail = str(exc) if isinstance(exc, BrainFuseError) else f"{type(exc).__name__}: {exc}"
        self.statusBar().showMessage(what, 8000)
        QtWidgets.QMessageBox.critical(self, "BrainFuse", f"{what}.\n\n{detail}")

    def _choose_series(self, role: str, exc: AmbiguousInputError) -> None:
        path = self._pending.get(role)
        choice, ok = QtWidgets.QInputDialog.getItem(
            self, "Choose a series", str(exc), exc.choices, 0, False
        )
        if ok and path:
            self._open(role, path, False, series=exc.choices.index(choice))

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:  # noqa: N802
        self.settings.store(self.workspace)
        self.runner.cancel_all()
        super().closeEvent(event)
