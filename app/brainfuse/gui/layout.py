"""The main window's layout and menus (built once, from its widgets)."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from brainfuse.gui.about import show_about, show_guide, show_shortcuts
from brainfuse.gui.file_actions import add_pacs_actions
from brainfuse.gui.reader_panel import build_reader_tools
from brainfuse.gui.session_actions import add_session_actions
from brainfuse.gui.settings import DEVICES, RULES, cuda_problem
from brainfuse.gui.view_image import add_view_image_action
from brainfuse.model.alignment import alignment_report, report_text
from brainfuse.model.planes import PLANES

if TYPE_CHECKING:
    from brainfuse.gui.main_window import MainWindow
    from brainfuse.reading.workspace import Workspace

__all__ = [
    "build_central",
    "build_menus",
    "elide",
    "format_position",
    "sources_text",
    "window_title",
]

#: Longest file name the Images box shows whole (characters); longer ones are elided in the
#: middle and the full paths are in the box's tooltip.
NAME_CHARS = 34

_DEMO_NOTE = "Demo: <b>templates</b> of different people, not one patient. Not for diagnosis."


def format_position(mm: np.ndarray) -> str:
    """LPS millimetres as clinicians read them, e.g. ``R 12.0  A 30.5  S 10.0 mm``."""
    x, y, z = (float(v) for v in mm)
    return (
        f"{'L' if x >= 0 else 'R'} {abs(x):.1f}  {'P' if y >= 0 else 'A'} {abs(y):.1f}  "
        f"{'S' if z >= 0 else 'I'} {abs(z):.1f} mm"
    )


def elide(text: str, limit: int = NAME_CHARS) -> str:
    """``text`` cut in the middle with an ellipsis when longer than ``limit`` characters.

    >>> elide("a_very_long_file_name_of_a_template.nii.gz", 20)
    'a_very_lon…e.nii.gz'
    """
    if len(text) <= limit:
        return text
    tail = (limit - 1) // 2
    return text[: limit - 1 - tail] + "…" + text[len(text) - tail :]


def sources_text(ws: Workspace) -> str:
    """Write the rich text of the Images box.

    Each source's name (elided), size and spacing, and the alignment's report (or why there
    is none).
    """
    lines = []
    for role, volume in (("CT", ws.ct), ("MRI", ws.mri)):
        if volume is None:
            lines.append(f"<b>{role}</b>: not loaded")
            continue
        z, y, x = volume.shape
        sx, sy, sz = volume.spacing
        name = html.escape(elide(volume.name))
        lines.append(f"<b>{role}</b>: {name}<br>{x}×{y}×{z}, {sx:.2g}×{sy:.2g}×{sz:.2g} mm")
    if ws.has_grid and ws.alignment is not None:
        report = html.escape(report_text(alignment_report(ws.alignment)))
        wait = "" if ws.alignment_accepted else " — check it, then Accept"
        lines.append(f"Aligned by {report} ({ws.register_mode} asked){wait}")
    elif ws.has_grid:
        lines.append(f"Aligned by {ws.registration} ({ws.register_mode} asked)")
    elif ws.problem:
        lines.append(f"<span style='color:#ff7070'>Not aligned: {html.escape(ws.problem)}</span>")
    if ws.is_demo:
        lines.append(f"<span style='color:#ffc850'>{_DEMO_NOTE}</span>")
    return "<br>".join(lines)


def window_title(ws: Workspace) -> str:
    """``BrainFuse — <ct> + <mri>`` (or the demo's warning)."""
    title = "BrainFuse"
    if ws.is_demo:
        title += " — demo pair (templates, not one patient)"
    elif ws.ct is not None or ws.mri is not None:
        title += " — " + " + ".join(elide(v.name) for v in (ws.ct, ws.mri) if v is not None)
    return title


def build_central(self: MainWindow) -> QtWidgets.QWidget:
    """Build the viewers and the scrollable side panel of controls, side by side."""
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
    scroll.setVerticalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAsNeeded)
    scroll.setMinimumWidth(300)
    scroll.setMaximumWidth(340)
    self.side_scroll = scroll
    central = QtWidgets.QSplitter()
    central.addWidget(self.viewers)
    central.addWidget(scroll)
    central.setStretchFactor(0, 1)
    central.setCollapsible(0, False)
    return central


def _plane_shower(ws: Workspace, plane: str) -> Callable[[], None]:
    return lambda: ws.set_plane(plane)


def build_menus(self: MainWindow) -> None:
    """File, Edit, View, Tools, Fusion and Help menus of the window."""
    bar = self.menuBar()
    file_menu = bar.addMenu("&File")
    self.action_open_ct = file_menu.addAction("Open &CT…", lambda: self.open_ct())
    self.action_open_ct.setShortcut(QtGui.QKeySequence("Ctrl+O"))
    self.action_open_mri = file_menu.addAction("Open &MRI…", lambda: self.open_mri())
    self.action_open_mri.setShortcut(QtGui.QKeySequence("Ctrl+Shift+O"))
    file_menu.addAction("Open CT DICOM &folder…", lambda: self.open_ct(folder=True))
    file_menu.addAction("Open MRI DICOM f&older…", lambda: self.open_mri(folder=True))
    file_menu.addAction("Open &demo pair", self.open_demo)
    add_pacs_actions(self, file_menu)
    self.recent_menu = file_menu.addMenu("&Recent files")
    self.recent_menu.aboutToShow.connect(self._fill_recent)
    file_menu.addSeparator()
    self.action_export = file_menu.addAction("&Export…", lambda: self.export())
    self.action_export.setShortcut(QtGui.QKeySequence("Ctrl+E"))
    add_view_image_action(self, file_menu)
    file_menu.addSeparator()
    add_session_actions(self, file_menu)
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
    view.addSeparator()
    planes = QtGui.QActionGroup(self)
    self.plane_actions = {}
    for n, plane in enumerate(PLANES):
        act = view.addAction(plane.capitalize(), _plane_shower(self.workspace, plane))
        act.setShortcut(QtGui.QKeySequence(str(n + 1)))
        act.setCheckable(True)
        act.setChecked(plane == self.workspace.plane)
        planes.addAction(act)
        self.plane_actions[plane] = act
    self.action_three = view.addAction("&Layout: one panel in three planes")
    self.action_three.setCheckable(True)
    self.action_three.setShortcut(QtGui.QKeySequence("T"))
    self.action_three.toggled.connect(
        lambda on: self.workspace.set_layout("three" if on else "four")
    )
    _fusion_menu(self, bar)
    help_menu = bar.addMenu("&Help")
    help_menu.addAction("&Keyboard shortcuts", lambda: show_shortcuts(self))
    help_menu.addAction("&User guide", lambda: show_guide(self))
    help_menu.addAction("&About BrainFuse", lambda: show_about(self))
    build_reader_tools(self)  # Edit and Tools menus, the mouse tools, the Reader tools dock


def _fusion_menu(self: MainWindow, bar: QtWidgets.QMenuBar) -> None:
    fusion = bar.addMenu("F&usion")
    self.action_fuse_again = fusion.addAction("Fuse again", self.controller.start_fusion)
    self.action_fuse_again.setToolTip("Fuse the pair again (after Cancel: the slices left)")
    check = fusion.addAction("&Check alignment…", self.show_check_view)
    check.setShortcut(QtGui.QKeySequence("Ctrl+K"))
    self.device_menu = fusion.addMenu("&Device")
    group = QtGui.QActionGroup(self)
    self.device_actions = {}
    for device in DEVICES:
        act = self.device_menu.addAction(
            device.upper() if device != "auto" else "Auto (GPU if any)"
        )
        act.setCheckable(True)
        act.setChecked(device == self.settings.device())
        act.triggered.connect(lambda _=False, d=device: self.controller.set_device(d))
        group.addAction(act)
        self.device_actions[device] = act
    self.device_menu.aboutToShow.connect(lambda: offer_devices(self.device_actions))
    self.device_menu.setToolTipsVisible(True)
    rule_menu = fusion.addMenu("&Rule")
    rules = QtGui.QActionGroup(self)
    titles = {
        "anatomy": "Anatomy (CT bone, MRI brain, stronger edges or the network elsewhere)",
        "sesf": "SESF (the network's map everywhere)",
    }
    for rule in RULES:
        act = rule_menu.addAction(titles[rule])
        act.setObjectName(f"rule_{rule}")
        act.setCheckable(True)
        act.setChecked(rule == self.settings.rule())
        act.triggered.connect(lambda _=False, r=rule: self.controller.set_rule(r))
        rules.addAction(act)
    grid_menu = fusion.addMenu("Result &grid")
    grids = QtGui.QActionGroup(self)
    for ref, text in (
        ("auto", "Auto (the finer in-plane, both fields of view)"),
        ("ct", "The CT's"),
        ("mri", "The MRI's"),
    ):
        act = grid_menu.addAction(text)
        act.setObjectName(f"grid_{ref}")
        act.setCheckable(True)
        act.setChecked(ref == self.settings.reference())
        act.triggered.connect(lambda _=False, r=ref: self.controller.set_reference(r))
        grids.addAction(act)
    align_menu = fusion.addMenu("&Alignment")
    modes = QtGui.QActionGroup(self)
    for mode, text in (
        ("auto", "Auto (file geometry when both have it)"),
        ("geometry", "File geometry"),
        ("rigid", "Rigid registration (mutual information)"),
        ("none", "None (same-size images as they are)"),
    ):
        act = align_menu.addAction(text)
        act.setCheckable(True)
        act.setChecked(mode == self.workspace.register_mode)
        act.triggered.connect(lambda _=False, m=mode: self.controller.set_register_mode(m))
        modes.addAction(act)


def offer_devices(actions: dict[str, QtGui.QAction]) -> None:
    """Grey out CUDA when this machine has no usable GPU, saying why in its tooltip."""
    problem = cuda_problem()
    act = actions["cuda"]
    act.setEnabled(problem is None)
    act.setToolTip(problem or "NVIDIA GPU through CUDA")
    act.setText("CUDA" if problem is None else f"CUDA (unavailable: {problem})")
