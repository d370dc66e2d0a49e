"""Help made from the window's own actions: the shortcut list and the guide's menu names.

Help › Keyboard shortcuts lists every action of the window that has a key, under the menu
path a user finds it by; the guide names menu entries and keys through the same actions.
Renaming an entry or changing a key changes the help with it: they cannot drift apart.
"""

from __future__ import annotations

import html

from PySide6 import QtGui, QtWidgets

from brainfuse.gui.words import GUIDE_END, MOUSE

__all__ = ["action_paths", "guide_html", "keys_of", "shortcut_rows", "shortcuts_html"]

_NATIVE = QtGui.QKeySequence.SequenceFormat.NativeText


def _plain(text: str) -> str:
    """Menu text as read: no mnemonic ampersand, no trailing ellipsis."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip("…").strip()


def action_paths(window: QtWidgets.QMainWindow) -> dict[QtGui.QAction, str]:
    """Every menu action of ``window`` with its path, e.g. ``View › Reset windows``."""
    paths: dict[QtGui.QAction, str] = {}

    def walk(menu: QtWidgets.QMenu, prefix: str) -> None:
        for act in menu.actions():
            if act.isSeparator():
                continue
            path = f"{prefix} › {_plain(act.text())}" if prefix else _plain(act.text())
            sub = act.menu()
            if isinstance(sub, QtWidgets.QMenu):
                walk(sub, path)
            else:
                paths.setdefault(act, path)

    for top in window.menuBar().actions():
        sub = top.menu()
        if isinstance(sub, QtWidgets.QMenu):
            walk(sub, _plain(top.text()))
    return paths


def keys_of(action: QtGui.QAction) -> str:
    """Write the action's keys as the platform does (``Ctrl+K``; several joined by /)."""
    return " / ".join(k.toString(_NATIVE) for k in action.shortcuts() if not k.isEmpty())


def shortcut_rows(window: QtWidgets.QMainWindow) -> list[tuple[str, str]]:
    """(keys, what) for every action of ``window`` with a key, then the mouse's gestures.

    Actions outside the menus (added to the window itself) are listed by their text.
    """
    paths = action_paths(window)
    rows: list[tuple[str, str]] = []
    seen: set[QtGui.QAction] = set()
    for act in [*paths, *window.findChildren(QtGui.QAction)]:
        if act in seen or not keys_of(act):
            continue
        seen.add(act)
        rows.append((keys_of(act), paths.get(act, _plain(act.text()))))
    return rows + list(MOUSE)


def shortcuts_html(window: QtWidgets.QMainWindow) -> str:
    """Write Help › Keyboard shortcuts as an HTML table, from the window's actions."""
    rows = "".join(
        f"<tr><td><b>{html.escape(k)}</b></td><td>{html.escape(v)}</td></tr>"
        for k, v in shortcut_rows(window)
    )
    return f"<table cellspacing='4'>{rows}</table>"


def guide_html(window: QtWidgets.QMainWindow) -> str:
    """Write Help › User guide: every workflow, naming the window's menu entries and keys."""
    paths = action_paths(window)
    by_text = {path.split(" › ")[-1]: act for act, path in paths.items()}

    def say(name: str) -> str:
        act = by_text.get(name)
        if act is None:  # an entry the guide names is gone: say so rather than mislead
            return f"<i>{html.escape(name)}</i>"
        keys = keys_of(act)
        return f"<b>{html.escape(paths[act])}</b>" + (f" ({html.escape(keys)})" if keys else "")

    presets = ", ".join(
        say(_plain(a.text())) for a, p in paths.items() if p.startswith("View › CT window ›")
    )
    steps = (
        f"<b>Open</b> a CT with {say('Open CT')} (or a DICOM folder: {say('Open CT DICOM folder')})"
        f" and an MRI with {say('Open MRI')}, or drop the files on the CT and MRI viewers. "
        f"{say('Open from PACS')} queries a configured node ({say('PACS nodes')}). "
        f"{say('Open demo pair')} shows two templates (not one patient).",
        "<b>Alignment.</b> Files that carry patient geometry are put on the MRI's grid by it. "
        f"Scans from different sessions need {say('Rigid registration (mutual information)')}. "
        f"Check it with {say('Check alignment')}: the wheel moves through slices, Ctrl+wheel "
        "zooms, checkerboard, blend or flicker show the overlap; the report gives the shift "
        "in mm and the rotation about each axis. Accept (the check closes) or Redo; save "
        "the transform (.tfm) for the command line.",
        "<b>Fusion</b> starts by itself, the slice on screen first. Cancel (status bar) stops "
        f"it; {say('Fuse again')} finishes the slices left. The decision map (1 = CT chosen) "
        "never depends on the display windows.",
        "<b>Read.</b> The four panels show MRI, CT, the decision map and the fused image; "
        "one crosshair in mm links them. Keys 1, 2, 3 change the plane; "
        f"{say('Layout: one panel in three planes')} shows the fused image in three planes "
        "with the decision map in the fourth quadrant.",
        f"<b>Windows.</b> CT presets: {presets}; right-drag on an image sets width (↔) and "
        "level (↕). After a finished fusion a new window only recomposes the fused image from "
        "the same decision map (after a short pause); during a fusion, the fusion starts "
        "again with the new window and the progress bar says so. SSIM and PSNR are computed "
        "on the windowed images, so they change with the window.",
        f"<b>Brush.</b> {say('Decision-map brush')} paints the decision map: Force CT, Force "
        f"MRI or Back to automatic, radius in mm, a disk or a ball through slices. "
        f"{say('Undo edit')} and {say('Redo edit')}; {say('Save edits')} writes them for "
        "<code>brainfuse fuse --edits</code>.",
        f"<b>Measure.</b> {say('Ruler')} gives a length in mm; {say('Region: ellipse')} and "
        f"{say('Region: rectangle')} give mean, SD, min, max (HU on the CT) and area. The "
        f"table sits in the Reader tools panel; {say('Copy measurements')} copies every "
        f"column for a report. {say('Navigate (crosshair, pan)')} goes back to moving.",
        f"<b>Sessions.</b> {say('Save session')} keeps the pair, alignment, windows, edits "
        f"and measurements; {say('Open session')} brings them back.",
        f"<b>Export and PACS.</b> {say('Export')}: PNG of the slice, DICOM or NIfTI of the "
        "volume, with the alignment and windows recorded (DICOM also carries the decision "
        f"map as a Segmentation). {say('Send to PACS')} sends the fusion on screen to a node.",
        "<b>Safety.</b> The patients of the CT and MRI are compared before fusing: two "
        "patients are refused (a confirmation naming both overrides it, and every export "
        "says so); a source without patient data, or an alignment the check doubts by more "
        "than 5 mm or 5°, stays in a red band above the viewers. Send to PACS sends the "
        "fusion on screen, after saying patient, study and instance count. Quitting or "
        "opening another pair with unsaved edits asks first; they are autosaved to the "
        "recovery folder of your user data folder (offered back after a crash).",
        GUIDE_END,
    )
    return "<h3>BrainFuse in brief</h3><ol>" + "".join(f"<li>{s}</li>" for s in steps) + "</ol>"
