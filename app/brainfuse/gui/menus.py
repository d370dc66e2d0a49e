"""The main window's menu bar: File, Edit, Tools, View, Fusion and Help.

A :class:`Menus` the window owns builds them once and keeps the entries the window uses
again. The checkable Fusion entries follow the workspace (its ``engine_changed`` and
``register_mode_changed`` signals), whoever changed it; the Edit and Tools menus and the
Reader tools dock are a :class:`~brainfuse.gui.reader_panel.ReaderMenus`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6 import QtGui, QtWidgets

from brainfuse.gui.about import show_about, show_guide, show_shortcuts
from brainfuse.gui.file_actions import PacsActions
from brainfuse.gui.reader_panel import ReaderMenus
from brainfuse.gui.session_actions import SessionActions
from brainfuse.gui.settings import cuda_problem
from brainfuse.gui.view_image import add_view_image_action
from brainfuse.model.planes import PLANES
from brainfuse.reading.workspace import CT_PRESETS, DEVICES, REGISTER_MODES, RULES, Workspace

if TYPE_CHECKING:
    from brainfuse.gui.main_window import MainWindow

__all__ = ["Menus", "offer_devices"]

#: Keys of the CT window presets, in the presets' order (as F-keys on a reading console).
PRESET_KEYS = ("F5", "F6", "F7", "F8")

_RULE_TITLES = {
    "anatomy": "Anatomy (CT bone, MRI brain, stronger edges or the network elsewhere)",
    "sesf": "SESF (the network's map everywhere)",
}
_REGISTER_TITLES = {
    "auto": "Auto (file geometry when both have it)",
    "geometry": "File geometry",
    "rigid": "Rigid registration (mutual information)",
    "none": "None (same-size images as they are)",
}


def _plane_shower(ws: Workspace, plane: str) -> Callable[[], None]:
    return lambda: ws.set_plane(plane)


class Menus:
    """Every menu of a :class:`~brainfuse.gui.main_window.MainWindow`.

    Attributes
    ----------
    action_open_ct, action_open_mri, action_export, action_save_view : QAction
    action_overlay, action_three : QAction (View, checkable)
    action_fuse_again : QAction
    action_keep_register : QAction (Fusion › Alignment › Use for every pair, checkable)
    plane_actions, device_actions, rule_actions, register_actions : dict of str to QAction
    recent_menu, device_menu, view_menu : QMenu
    pacs : PacsActions
    sessions : SessionActions
    reader : ReaderMenus
        The Edit and Tools menus, the mouse tools and the Reader tools dock.
    """

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.workspace = window.workspace
        bar = window.menuBar()
        self._file_menu(bar.addMenu("&File"))
        self.view_menu = bar.addMenu("&View")
        self._view_menu(self.view_menu)
        self._fusion_menu(bar.addMenu("F&usion"))
        help_menu = bar.addMenu("&Help")
        help_menu.addAction("&Keyboard shortcuts", lambda: show_shortcuts(window)).setShortcut(
            QtGui.QKeySequence("F1")
        )
        help_menu.addAction("&User guide", lambda: show_guide(window))
        help_menu.addAction("&About BrainFuse", lambda: show_about(window))
        self.reader = ReaderMenus(window, before=self.view_menu.menuAction())

    def _file_menu(self, menu: QtWidgets.QMenu) -> None:
        w = self.window
        self.action_open_ct = menu.addAction("Open &CT…", lambda: w.open_ct())
        self.action_open_ct.setShortcut(QtGui.QKeySequence("Ctrl+O"))
        self.action_open_mri = menu.addAction("Open &MRI…", lambda: w.open_mri())
        self.action_open_mri.setShortcut(QtGui.QKeySequence("Ctrl+Shift+O"))
        menu.addAction("Open CT DICOM &folder…", lambda: w.open_ct(folder=True))
        menu.addAction("Open MRI DICOM f&older…", lambda: w.open_mri(folder=True))
        menu.addAction("Open &demo pair", w.open_demo)
        self.pacs = PacsActions(w, menu)
        self.recent_menu = menu.addMenu("&Recent files")
        self.recent_menu.aboutToShow.connect(w.fill_recent)
        menu.addSeparator()
        self.action_export = menu.addAction("&Export…", lambda: w.export())
        self.action_export.setShortcut(QtGui.QKeySequence("Ctrl+E"))
        self.action_save_view = add_view_image_action(w, menu)
        menu.addSeparator()
        self.sessions = SessionActions(w, menu)
        menu.addSeparator()
        menu.addAction("&Quit", w.close).setShortcut(QtGui.QKeySequence("Ctrl+Q"))

    def _view_menu(self, view: QtWidgets.QMenu) -> None:
        w, ws = self.window, self.workspace
        self.action_overlay = view.addAction("Decision-map &overlay")
        self.action_overlay.setCheckable(True)
        self.action_overlay.setShortcut(QtGui.QKeySequence("O"))
        self.action_overlay.toggled.connect(lambda on: ws.set_overlay(visible=on))
        view.addAction("&Reset windows", ws.reset_windows).setShortcut(QtGui.QKeySequence("R"))
        presets = view.addMenu("CT &window")
        self.preset_actions: dict[str, QtGui.QAction] = {}
        for n, (name, window) in enumerate(CT_PRESETS.items()):
            act = presets.addAction(
                f"{name.capitalize()} {window.center:g}/{window.width:g} HU",
                functools.partial(_preset_chooser, w, name),
            )
            if n < len(PRESET_KEYS):
                act.setShortcut(QtGui.QKeySequence(PRESET_KEYS[n]))
            self.preset_actions[name] = act
        view.addAction("&Fit images", w.viewers.refresh_geometry).setShortcut(
            QtGui.QKeySequence("F")
        )
        nxt = view.addAction("Next slice", lambda: w.step_slice(1))
        nxt.setShortcuts([QtGui.QKeySequence("PgUp"), QtGui.QKeySequence("Up")])
        prv = view.addAction("Previous slice", lambda: w.step_slice(-1))
        prv.setShortcuts([QtGui.QKeySequence("PgDown"), QtGui.QKeySequence("Down")])
        view.addSeparator()
        planes = QtGui.QActionGroup(w)
        self.plane_actions: dict[str, QtGui.QAction] = {}
        for n, plane in enumerate(PLANES):
            act = view.addAction(plane.capitalize(), _plane_shower(ws, plane))
            act.setShortcut(QtGui.QKeySequence(str(n + 1)))
            act.setCheckable(True)
            act.setChecked(plane == ws.plane)
            planes.addAction(act)
            self.plane_actions[plane] = act
        self.action_three = view.addAction("&Layout: one panel in three planes")
        self.action_three.setCheckable(True)
        self.action_three.setShortcut(QtGui.QKeySequence("T"))
        self.action_three.toggled.connect(lambda on: ws.set_layout("three" if on else "four"))

    def _fusion_menu(self, fusion: QtWidgets.QMenu) -> None:
        w, ws = self.window, self.workspace
        controller = w.controller
        self.action_fuse_again = fusion.addAction("Fuse again", controller.fuse_again)
        self.action_fuse_again.setToolTip("Fuse the pair again (after Cancel: the slices left)")
        check = fusion.addAction("&Check alignment…", w.show_check_view)
        check.setShortcut(QtGui.QKeySequence("Ctrl+K"))
        self.device_menu = fusion.addMenu("&Device")
        titles = {d: d.upper() if d != "auto" else "Auto (GPU if any)" for d in DEVICES}
        self.device_actions = self._choices(
            self.device_menu, titles, ws.fusion_device, controller.set_device
        )
        self.device_menu.aboutToShow.connect(lambda: offer_devices(self.device_actions))
        self.device_menu.setToolTipsVisible(True)
        rules = {r: _RULE_TITLES[r] for r in RULES}
        self.rule_actions = self._choices(
            fusion.addMenu("&Rule"), rules, ws.fusion_rule, controller.set_rule
        )
        for rule, act in self.rule_actions.items():
            act.setObjectName(f"rule_{rule}")
        modes = {m: _REGISTER_TITLES[m] for m in REGISTER_MODES}
        alignment = fusion.addMenu("&Alignment")
        self.register_actions = self._choices(
            alignment, modes, ws.register_mode, controller.set_register_mode
        )
        alignment.addSeparator()
        self.action_keep_register = alignment.addAction("Use for every pair")
        self.action_keep_register.setCheckable(True)
        self.action_keep_register.setToolTip("Otherwise a new pair is aligned with Auto")
        self.action_keep_register.toggled.connect(
            lambda on: setattr(controller, "keep_register_mode", on)
        )
        grids = {
            "auto": "Auto (the finer in-plane, both fields of view)",
            "ct": "The CT's",
            "mri": "The MRI's",
        }
        self.grid_actions = self._choices(
            fusion.addMenu("Result &grid"), grids, w.settings.reference(), controller.set_reference
        )
        for ref, act in self.grid_actions.items():
            act.setObjectName(f"grid_{ref}")
        ws.engine_changed.connect(self._follow_engine)
        ws.register_mode_changed.connect(lambda mode: self.register_actions[mode].setChecked(True))

    def _choices(
        self,
        menu: QtWidgets.QMenu,
        titles: dict[str, str],
        current: str,
        choose: Callable[[str], None],
    ) -> dict[str, QtGui.QAction]:
        """One checkable entry per choice, exclusive; triggering one calls ``choose(key)``."""
        group = QtGui.QActionGroup(self.window)
        actions = {}
        for key, title in titles.items():
            act = menu.addAction(title)
            act.setCheckable(True)
            act.setChecked(key == current)
            act.triggered.connect(lambda _=False, k=key: choose(k))
            group.addAction(act)
            actions[key] = act
        return actions

    def _follow_engine(self) -> None:
        """Check the rule and device the workspace holds, however they were chosen."""
        ws = self.workspace
        self.rule_actions[ws.fusion_rule].setChecked(True)
        self.device_actions[ws.fusion_device].setChecked(True)


def offer_devices(actions: dict[str, QtGui.QAction]) -> None:
    """Grey out CUDA when this machine has no usable GPU, saying why in its tooltip."""
    problem = cuda_problem()
    act = actions["cuda"]
    act.setEnabled(problem is None)
    act.setToolTip(problem or "NVIDIA GPU through CUDA")
    act.setText("CUDA" if problem is None else f"CUDA (unavailable: {problem})")


def _preset_chooser(window: MainWindow, name: str) -> None:
    """Apply CT preset ``name``; on a CT without HU say why in the status bar."""
    try:
        window.workspace.set_ct_window(name)
    except ValueError as exc:
        window.statusBar().showMessage(str(exc).capitalize() + ".", 8000)
