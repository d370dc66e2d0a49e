"""Side-panel controls: slice, window/level, decision-map overlay.

The widgets only move values between the user and the :class:`~brainfuse.reading.workspace.Workspace`
(3D Slicer's ``updateGUIFromParameterNode`` / ``updateParameterNodeFromGUI``); echoes are
blocked with :func:`superqt.utils.signals_blocked`.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets
from superqt import QLabeledSlider
from superqt.utils import signals_blocked

from brainfuse.gui.layout import along_normal
from brainfuse.gui.settings import preset_of
from brainfuse.model.overlay import COLORMAPS
from brainfuse.model.planes import PLANES
from brainfuse.reading.workspace import CT_PRESETS, Workspace

__all__ = ["OverlayControl", "SliceControl", "WindowControl"]
_HORIZONTAL = QtCore.Qt.Orientation.Horizontal


class SliceControl(QtWidgets.QGroupBox):
    """View slider of the plane shown, with ``k / n · position mm``; plane and layout choices.

    Page Up/Down and the mouse wheel in a viewer move the slider too.
    """

    def __init__(self, workspace: Workspace, parent=None) -> None:
        super().__init__("Slice", parent)
        self.workspace = workspace
        self.slider = QtWidgets.QSlider(_HORIZONTAL)
        self.slider.setRange(0, 0)
        self.slider.setEnabled(False)
        self.slider.setToolTip("Slice in the plane shown (Page Up / Page Down, mouse wheel)")
        self.label = QtWidgets.QLabel("–")
        self.label.setObjectName("slice_position")
        self.label.setToolTip(
            "Slice number / slices in this plane · where the slice lies, in mm from the "
            "scanner's origin, lettered as the crosshair's position is (R/L for sagittal, "
            "A/P for coronal, S/I for axial)"
        )
        self.plane = QtWidgets.QComboBox()
        for plane in PLANES:
            self.plane.addItem(plane.capitalize(), plane)
        self.plane.setToolTip("Plane of the four panels (keys 1, 2, 3)")
        self.three = QtWidgets.QCheckBox("Fused in three planes (T)")
        self.three.setToolTip("One panel in axial, coronal and sagittal views, linked in mm")
        layout = QtWidgets.QGridLayout(self)  # two rows: the panel fits a 1280x800 screen
        layout.addWidget(self.slider, 0, 0)
        layout.addWidget(self.label, 0, 1)
        layout.addWidget(self.plane, 1, 0)
        layout.addWidget(self.three, 1, 1)
        layout.setColumnStretch(0, 1)
        self.slider.valueChanged.connect(workspace.set_plane_index)
        self.plane.activated.connect(lambda i: workspace.set_plane(self.plane.itemData(i)))
        self.three.toggled.connect(lambda on: workspace.set_layout("three" if on else "four"))

    def update_from_workspace(self) -> None:
        """Show the workspace's slice count and current slice (no signal back)."""
        ws = self.workspace
        n = ws.plane_count()
        with signals_blocked(self.slider):
            self.slider.setRange(0, max(n - 1, 0))
            self.slider.setValue(ws.plane_index() if n else 0)
        self.slider.setEnabled(n > 1)
        with signals_blocked(self.plane):
            self.plane.setCurrentIndex(PLANES.index(ws.plane))
        with signals_blocked(self.three):
            self.three.setChecked(ws.layout == "three")
        if n:
            k = ws.plane_index()
            where = along_normal(ws.plane, ws.plane_position_mm())
            self.label.setText(f"{k + 1} / {n} · {where}")
        else:
            self.label.setText("–")


class WindowControl(QtWidgets.QGroupBox):
    """CT presets (brain 40/80, subdural 75/215, bone 500/2000), MR auto, reset."""

    def __init__(self, workspace: Workspace, parent=None) -> None:
        super().__init__("Window / level", parent)
        self.workspace = workspace
        self.preset = QtWidgets.QComboBox()
        for name, window in CT_PRESETS.items():
            self.preset.addItem(f"{name.capitalize()}  {window.center:g}/{window.width:g}", name)
        self.preset.addItem("Custom", None)
        self.preset.setToolTip("CT window presets (centre/width, HU)")
        self.ct_label = QtWidgets.QLabel()
        self.mr_label = QtWidgets.QLabel()
        self.mr_auto = QtWidgets.QPushButton("Auto")
        self.mr_auto.setToolTip("Automatic MR window (0.5–99.5 percentiles)")
        self.reset = QtWidgets.QPushButton("Reset")
        self.reset.setToolTip("Brain window for CT, automatic window for MR")
        self.setToolTip(
            "Right-drag on an image: left–right changes the width, up–down the level. "
            "CT presets: keys F5 brain, F6 subdural, F7 bone."
        )
        form = QtWidgets.QGridLayout(self)  # three rows: the panel fits a 1280x800 screen
        form.addWidget(QtWidgets.QLabel("CT"), 0, 0)
        form.addWidget(self.preset, 0, 1, 1, 2)
        form.addWidget(self.ct_label, 1, 1)
        form.addWidget(self.reset, 1, 2)
        form.addWidget(QtWidgets.QLabel("MR"), 2, 0)
        form.addWidget(self.mr_label, 2, 1)
        form.addWidget(self.mr_auto, 2, 2)
        form.setColumnStretch(1, 1)
        self.preset.activated.connect(self._preset_chosen)
        self.mr_auto.clicked.connect(lambda: workspace.set_mr_window(None))
        self.reset.clicked.connect(workspace.reset_windows)

    def _preset_chosen(self, index: int) -> None:
        name = self.preset.itemData(index)
        if name:
            self.workspace.set_ct_window(name)

    def update_from_workspace(self) -> None:
        """Show the workspace's CT preset and window (no signal back)."""
        ws = self.workspace
        with signals_blocked(self.preset):
            name = ws.ct_preset or preset_of(ws.ct_window)  # a preset's values read as it
            index = self.preset.findData(name) if name else -1
            self.preset.setCurrentIndex(index if index >= 0 else self.preset.count() - 1)
        self.preset.setEnabled(ws.ct_in_hu or ws.ct is None)  # HU presets: CT in HU only
        unit = f" {ws.ct_window.units}" if ws.ct_window.units else ""
        kind = " (8-bit, as is)" if ws.ct_window.kind == "8-bit" else ""
        self.ct_label.setText(
            f"C {ws.ct_window.center:.0f} / W {ws.ct_window.width:.0f}{unit}{kind}"
        )
        mr = ws.mr_display_window
        mode = "auto" if ws.mr_window is None else "manual"
        self.mr_label.setText(f"C {mr.center:.0f} / W {mr.width:.0f} ({mode})")


class OverlayControl(QtWidgets.QGroupBox):
    """Decision-map overlay on the fused image: toggle (O), opacity, colormap, soft/hard."""

    def __init__(self, workspace: Workspace, parent=None) -> None:
        super().__init__("Decision map", parent)
        self.workspace = workspace
        self.visible = QtWidgets.QCheckBox("Overlay on fused image  (O)")
        self.opacity = QLabeledSlider(_HORIZONTAL)
        self.opacity.setRange(0, 100)
        self.opacity.setToolTip("Overlay opacity, %")
        self.colormap = QtWidgets.QComboBox()
        self.colormap.addItems(COLORMAPS)
        self.kind = QtWidgets.QComboBox()
        self.kind.addItem("Hard map (0/1)", False)
        self.kind.addItem("Soft map (refined)", True)
        self.kind.setToolTip(
            "Display only: which decision map is drawn (map panel and overlay). "
            "The fusion itself does not change."
        )
        self.colormap.setToolTip("Colours of the decision map (display only)")
        form = QtWidgets.QFormLayout(self)  # three rows: the panel fits a 1280x800 screen
        form.addRow(self.visible)
        form.addRow("Opacity", self.opacity)
        looks = QtWidgets.QHBoxLayout()
        looks.addWidget(self.colormap)
        looks.addWidget(self.kind)
        form.addRow("Show", looks)
        self.visible.toggled.connect(lambda on: workspace.set_overlay(visible=on))
        self.opacity.valueChanged.connect(lambda v: workspace.set_overlay(opacity=v / 100.0))
        self.colormap.currentTextChanged.connect(lambda c: workspace.set_overlay(colormap=c))
        self.kind.currentIndexChanged.connect(
            lambda i: workspace.set_overlay(soft=bool(self.kind.itemData(i)))
        )

    def update_from_workspace(self) -> None:
        """Show the workspace's overlay settings (no signal back)."""
        ws = self.workspace
        with signals_blocked(self.visible):
            self.visible.setChecked(ws.overlay_visible)
        with signals_blocked(self.opacity):
            self.opacity.setValue(round(100 * ws.overlay_opacity))
        with signals_blocked(self.colormap):
            self.colormap.setCurrentText(ws.overlay_colormap)
        with signals_blocked(self.kind):
            self.kind.setCurrentIndex(1 if ws.soft_map else 0)
