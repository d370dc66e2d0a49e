"""The alignment check view: checkerboard, CT/MRI blend and flicker of the pair on its grid.

As in 3D Slicer's and ITK-SNAP's registration checks: the two sources through their display
windows, cut in squares of an adjustable size (an edge that runs on across a square border
is aligned), blended with a slider, or flickered (one mode among the three). The wheel and
Page Up/Down move through slices and Ctrl+wheel zooms, as in the viewers. Accept fuses on this alignment; Redo aligns
again with the chosen method; the rigid transform can be saved to and loaded from an ITK
``.tfm`` file (as ``brainfuse fuse --save-transform``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from brainfuse.gui.viewer_grid import SliceViewBox
from brainfuse.model.alignment import alignment_report, blend, checkerboard, report_text

if TYPE_CHECKING:
    from brainfuse.gui.main_window import MainWindow

__all__ = ["CheckView", "unit"]

_MODES = (("rigid", "Rigid registration"), ("geometry", "File geometry"), ("none", "None"))


def unit(image: np.ndarray, levels: tuple[float, float]) -> np.ndarray:
    """Put an image through a display window, float32 in [0, 1] (colour: mean of RGB)."""
    image = np.asarray(image, np.float32)
    if image.ndim == 3:
        image = image.mean(axis=2)
    lo, hi = levels
    return np.clip((image - lo) / max(hi - lo, 1e-6), 0.0, 1.0)


class CheckView(QtWidgets.QDialog):
    """Check the alignment on screen, then Accept or Redo; save/load the transform.

    Parameters
    ----------
    window : MainWindow
        Whose workspace and session are checked and driven.
    """

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.setWindowTitle("Check the alignment")
        self.main = window
        self.workspace = ws = window.workspace
        self.plot = pg.GraphicsLayoutWidget()
        self.plot.setBackground("k")
        # a viewer's mouse: wheel = slice, Ctrl+wheel = zoom, middle-drag pans
        self.box = SliceViewBox(lockAspect=True, invertY=True)
        self.plot.addItem(self.box)
        self.box.slice_step.connect(lambda k: ws.step(k))
        self.slice_label = QtWidgets.QLabel()
        self.slice_label.setObjectName("check_slice")
        self.image = pg.ImageItem(axisOrder="row-major")
        self.box.addItem(self.image)
        self.mode = QtWidgets.QComboBox()
        self.mode.addItems(["Checkerboard", "Blend", "Flicker"])
        self.square = QtWidgets.QSpinBox()
        self.square.setRange(2, 200)
        self.square.setValue(20)
        self.square.setSuffix(" mm")
        self.square.setToolTip("Size of the checkerboard's squares")
        self.blend = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.blend.setRange(0, 100)
        self.blend.setValue(50)
        self.blend.setToolTip("Blend: 0 = MRI only, 100 = CT only")
        self.report = QtWidgets.QLabel()
        self.report.setWordWrap(True)
        self.redo_mode = QtWidgets.QComboBox()
        for mode, text in _MODES:
            self.redo_mode.addItem(text, mode)
        buttons = {
            name: QtWidgets.QPushButton(name)
            for name in ("Accept", "Redo", "Save transform…", "Load transform…")
        }
        self.buttons = buttons
        controls = QtWidgets.QFormLayout()
        controls.addRow("Show", self.mode)
        controls.addRow("Squares", self.square)
        controls.addRow("MRI ↔ CT", self.blend)
        controls.addRow("Slice", self.slice_label)
        hint = QtWidgets.QLabel("Wheel or Page Up/Down: slice · Ctrl+wheel: zoom")
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        controls.addRow(hint)
        controls.addRow(self.report)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(buttons["Accept"])
        row.addWidget(self.redo_mode)
        row.addWidget(buttons["Redo"])
        row.addStretch(1)
        row.addWidget(buttons["Save transform…"])
        row.addWidget(buttons["Load transform…"])
        layout = QtWidgets.QVBoxLayout(self)
        top = QtWidgets.QHBoxLayout()
        top.addWidget(self.plot, 1)
        side = QtWidgets.QWidget()
        side.setLayout(controls)
        side.setMaximumWidth(280)
        top.addWidget(side)
        layout.addLayout(top, 1)
        layout.addLayout(row)
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(500)
        self.timer.timeout.connect(self._flip)
        self._showing_ct = True
        self.square.valueChanged.connect(self.refresh)
        self.blend.valueChanged.connect(self.refresh)
        self.mode.currentIndexChanged.connect(self._mode_changed)
        for key, n in (("PgUp", 1), ("PgDown", -1), ("Up", 1), ("Down", -1)):
            shortcut = QtGui.QShortcut(QtGui.QKeySequence(key), self)
            shortcut.activated.connect(lambda n=n: ws.step(n))
        buttons["Accept"].clicked.connect(self.accept_alignment)
        buttons["Redo"].clicked.connect(self.redo)
        buttons["Save transform…"].clicked.connect(lambda: self.save_transform())
        buttons["Load transform…"].clicked.connect(lambda: self.load_transform())
        ws.grid_changed.connect(self._refresh_if_shown)
        ws.slice_changed.connect(self._refresh_if_shown)
        ws.cursor_changed.connect(self._refresh_if_shown)
        ws.windows_changed.connect(self._refresh_if_shown)
        self.resize(900, 620)

    def _refresh_if_shown(self, *_: object) -> None:
        if self.isVisible():
            self.refresh()

    # ------------------------------------------------------------------ picture
    def sources(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Return the CT and MRI views on screen through their display windows, in [0, 1]."""
        ws = self.workspace
        if not ws.has_grid:
            return None
        ct, mri = ws.plane_image("ct"), ws.plane_image("mri")
        if ct is None or mri is None:
            return None
        return unit(ct, ws.ct_window.levels), unit(mri, ws.mr_display_window.levels)

    def picture(self) -> np.ndarray | None:
        """Return what the check view draws now (checkerboard, blend or one flicker phase)."""
        pair = self.sources()
        if pair is None:
            return None
        ct, mri = pair
        mode = self.mode.currentText()
        if mode == "Flicker":
            return ct if self._showing_ct else mri
        if mode == "Blend":
            return blend(ct, mri, self.blend.value() / 100.0)
        _, _, w, h = self.workspace.scene_rect()
        rows, cols = ct.shape
        size = float(self.square.value())
        return checkerboard(ct, mri, (size * rows / h, size * cols / w))

    def refresh(self) -> None:
        """Draw the picture and the alignment report."""
        ws = self.workspace
        picture = self.picture()
        if picture is None:
            self.image.clear()
            self.report.setText(ws.problem or "No aligned pair.")
            return
        self.image.setImage(picture, levels=(0.0, 1.0))
        n = ws.plane_count()
        self.slice_label.setText(
            f"{ws.plane} {ws.plane_index() + 1} / {n} · {ws.plane_position_mm():.1f} mm"
        )
        self.image.setRect(QtCore.QRectF(*ws.scene_rect()))
        state = "accepted" if ws.alignment_accepted else "waiting for Accept"
        text = report_text(alignment_report(ws.alignment)) if ws.alignment else ws.registration
        self.report.setText(f"Aligned by {text} ({state}).")
        self.buttons["Accept"].setEnabled(not ws.alignment_accepted)
        self.buttons["Save transform…"].setEnabled(
            ws.alignment is not None and ws.alignment.transform is not None
        )

    def showEvent(self, event) -> None:  # noqa: N802
        """Draw the check view when it appears."""
        super().showEvent(event)
        self.refresh()
        if self.workspace.has_grid:
            self.box.autoRange(padding=0.02)

    def _mode_changed(self) -> None:
        """Flicker runs its timer only while chosen; the other modes are still pictures."""
        flicker = self.mode.currentText() == "Flicker"
        if flicker:
            self.timer.start()
        else:
            self.timer.stop()
        self.square.setEnabled(self.mode.currentText() == "Checkerboard")
        self.blend.setEnabled(self.mode.currentText() == "Blend")
        self.refresh()

    def _flip(self) -> None:
        self._showing_ct = not self._showing_ct
        self.refresh()

    # ------------------------------------------------------------------ decisions
    def accept_alignment(self) -> None:
        """Fuse on the alignment shown and close the check (the viewers show the fusion)."""
        self.main.controller.accept_alignment()
        self.refresh()
        self.hide()

    def redo(self) -> None:
        """Align again with the method chosen next to Redo."""
        self.main.controller.set_register_mode(self.redo_mode.currentData())

    def save_transform(self, path: str | None = None) -> None:
        """Write the alignment's transform to an ITK ``.tfm`` file (ask where when ``None``)."""
        from brainfuse.errors import BrainFuseError
        from brainfuse.pipeline.transform import save_transform

        ws = self.workspace
        if ws.alignment is None or ws.alignment.transform is None:
            return
        if path is None:
            path, _ = QtWidgets.QFileDialog.getSaveFileName(
                self, "Save transform", "ct_to_mri.tfm", "ITK transform (*.tfm)"
            )
            if not path:
                return
        try:
            save_transform(path, ws.alignment.transform)
        except BrainFuseError as exc:
            self.main.show_failure("save-transform", exc)
            return
        self.report.setText(self.report.text() + f"\nSaved to {path}.")

    def load_transform(self, path: str | None = None) -> None:
        """Align the pair by a transform read from a ``.tfm`` file (ask which when ``None``)."""
        from brainfuse.errors import BrainFuseError
        from brainfuse.pipeline.transform import load_transform

        if path is None:
            path, _ = QtWidgets.QFileDialog.getOpenFileName(
                self, "Load transform", "", "ITK transform (*.tfm *.txt)"
            )
            if not path:
                return
        try:
            transform = load_transform(path)
        except BrainFuseError as exc:
            self.main.show_failure("load-transform", exc)
            return
        self.main.controller.apply_transform(transform)

    def hideEvent(self, event) -> None:  # noqa: N802
        """Stop the flicker when the check view is hidden (it shows the checkerboard again)."""
        self.timer.stop()
        self.mode.setCurrentText("Checkerboard")
        super().hideEvent(event)
